//! Kilo Code: the current opencode fork (`~/.config/kilo/`) and the legacy
//! Roo-style extension whose keys sit in VS Code SecretStorage.
//! docs/tools.md#kilo-code.

use super::*;

pub static TOOL: Tool = Tool {
    name: "kilo",
    display: "Kilo Code",
    home_files: &[
        FileRule { pattern: ".config/kilo/config.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/kilo/kilo.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/kilo/kilo.jsonc", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/kilo/opencode.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/kilo/opencode.jsonc", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".local/share/kilo/auth.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/Code/User/globalStorage/kilocode.kilo-code", kind: FileKind::Marker },
        FileRule { pattern: ".config/Cursor/User/globalStorage/kilocode.kilo-code", kind: FileKind::Marker },
        FileRule { pattern: ".vscode-server/data/User/globalStorage/kilocode.kilo-code", kind: FileKind::Marker },
        FileRule { pattern: ".config/Windsurf/User/globalStorage/kilocode.kilo-code", kind: FileKind::Marker },
        FileRule { pattern: ".config/VSCodium/User/globalStorage/kilocode.kilo-code", kind: FileKind::Marker },
        FileRule { pattern: ".cursor-server/data/User/globalStorage/kilocode.kilo-code", kind: FileKind::Marker },
    ],
    workspace_files: &[
        FileRule { pattern: "kilo.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: "kilo.jsonc", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".kilocode/kilo.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".kilo/kilo.json", kind: FileKind::Doc(Format::Json) },
    ],
    other_os: &["$XDG_DATA_HOME/kilo/auth.json", "/etc/kilo", "%ProgramData%\\kilo"],
    expands: &["brace_env", "brace_file"],
    env_vars: &["KILO_AUTH_CONTENT", "OPENROUTER_API_KEY"],
    unset_sends: &[
        // as opencode, whose config code it shares
        WhenUnset { syntax: Some("brace_env"), any_syntax: false, sends: "" },
    ],
    log_in: "kilo auth login",
    stores: &[Store {
        path: "~/.local/share/kilo/auth.json",
        format: Format::Json,
        key_at: "/{provider}/key",
        kind: StoreKind::ApiKey,
        beats_env: true,
        fix: "kilo auth logout (then kilo auth login with the key that works), or set options.apiKey in kilo.json",
    }],
    process_family: &["kilo", "kilocode", "node_modules/@kilocode/cli", "extensions/kilocode.kilo-code"],
    in_extension_host: true,
    fixes: Fixes { placeholder: &["write \"apiKey\": \"{env:{var}}\""], no_key: &[], header: &[] },
    extract,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        // The legacy extension's secret names, from state.vscdb (docs/tools.md#vs-code-secretstorage).
        Parsed::Marker => crate::vscdb::secret_drafts(ctx, &[], "openrouter").unwrap_or_else(|| vec![Draft::new(1, provider_for(Some("openrouter"), None), KeyRef::store("vscode-secretstorage")
            .with_note("the legacy Kilo Code extension keeps its keys in VS Code SecretStorage (state.vscdb, encrypted): verify with keyhole-capture"))]),
        Parsed::Doc(doc) if ctx.path.ends_with("auth.json") => super::opencode::auth_json(ctx, doc),
        Parsed::Doc(doc) => super::opencode::config(ctx, doc),
        _ => Vec::new(),
    }
}
