//! GitHub Copilot Chat's own keys ("Manage Models", BYOK): the keys in the
//! editor's SecretStorage, the endpoints in `settings.json`
//! (`github.copilot.chat.byok.ollamaEndpoint`, `customOAIModels`).
//! docs/tools.md#github-copilot-byok.

use super::*;

pub static TOOL: Tool = Tool {
    name: "copilot",
    display: "GitHub Copilot Chat",
    home_files: &[
        FileRule { pattern: ".config/Code/User/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/Code - Insiders/User/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/Code/User/globalStorage/github.copilot-chat", kind: FileKind::Marker },
        FileRule { pattern: ".config/Code - Insiders/User/globalStorage/github.copilot-chat", kind: FileKind::Marker },
    ],
    other_os: &[
        "~/Library/Application Support/Code/User/globalStorage/state.vscdb",
        "%APPDATA%\\Code\\User\\globalStorage\\state.vscdb",
    ],
    process_family: &["extensions/github.copilot-chat"],
    in_extension_host: true,
    fixes: Fixes {
        placeholder: &[],
        no_key: &["enter the key in the Chat view's model picker: Manage Models…, then the provider"],
        header: &[],
    },
    extract,
    ..BASE
};

const OLLAMA: &str = "github.copilot.chat.byok.ollamaEndpoint";
const CUSTOM: &str = "github.copilot.chat.customOAIModels";

/// Provider names as they appear in the BYOK secrets' names, and the catalogue's provider.
const PROVIDERS: &[(&str, &str)] = &[
    ("openrouter", "openrouter"),
    ("anthropic", "anthropic"),
    ("openai", "openai"),
    ("gemini", "gemini"),
    ("groq", "groq"),
    ("xai", "xai"),
    ("azure", "azure"),
];

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Marker => stored_keys(ctx),
        Parsed::Doc(doc) => settings(ctx, doc),
        _ => Vec::new(),
    }
}

/// One site per BYOK key the extension stored (`copilot-byok-<Provider>-api-key`).
fn stored_keys(ctx: &FileCtx) -> Vec<Draft> {
    let Some(dir) = ctx.path.parent() else { return Vec::new() };
    let Some(db) = crate::vscdb::StateDb::open(&crate::vscdb::in_global_storage(dir)) else { return Vec::new() };
    let written = db.written().map(|d| format!("state.vscdb last written {d}")).unwrap_or_default();
    let editor = crate::vscdb::editor_of(ctx.path);
    let mut out = Vec::new();
    for s in db.secrets_of("GitHub.copilot-chat") {
        let name = s.key.to_ascii_lowercase();
        if !name.contains("api-key") && !name.contains("apikey") {
            continue;
        }
        let Some(p) = PROVIDERS.iter().find(|(n, _)| name.contains(n)).and_then(|(_, p)| provider::get(p)) else {
            continue;
        };
        let note = format!(
            "GitHub Copilot Chat has {} {} key stored in {editor}'s SecretStorage ({written}), encrypted with the OS keychain's key",
            crate::vscdb::article(p.display),
            p.display
        );
        out.push(Draft::new(1, p, KeyRef::store("vscode-secretstorage").with_note(note)).pointer(pointer(&[&s.key])));
    }
    out
}

fn settings(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    if let Some(url) = str_at(doc, OLLAMA) {
        let p = provider_for(Some("ollama"), Some(url));
        out.push(
            Draft::new(doc.key_line(OLLAMA).unwrap_or(1), p, KeyRef::none())
                .pointer(pointer(&[OLLAMA]))
                .base(Some(url), "config"),
        );
    }
    if let Some(models) = doc.get(CUSTOM) {
        for (id, line, m) in models.entries() {
            let url = str_at(m, "url");
            let p = provider_for(None, url);
            let needs_key = !matches!(m.get("requiresAPIKey").map(|v| &v.kind), Some(crate::doc::Kind::Bool(false)));
            let key = if needs_key {
                KeyRef::store("vscode-secretstorage").with_note(format!(
                    "GitHub Copilot Chat keeps this model's key in {}'s SecretStorage (set with Manage Models…)",
                    crate::vscdb::editor_of(ctx.path)
                ))
            } else {
                KeyRef::none()
            };
            out.push(
                Draft::new(*line, p, key).pointer(pointer(&[CUSTOM, id])).model(Some(id.clone())).base(url, "config"),
            );
        }
    }
    out
}
