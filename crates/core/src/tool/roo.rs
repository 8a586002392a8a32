//! Roo Code: all profiles in one SecretStorage entry; a plaintext export
//! can be auto-imported from `roo-cline.autoImportSettingsPath`.
//! docs/tools.md#roo-code.

use super::*;

pub static TOOL: Tool = Tool {
    name: "roo",
    display: "Roo Code",
    home_files: &[
        FileRule { pattern: ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline", kind: FileKind::Marker },
        FileRule { pattern: ".config/Cursor/User/globalStorage/rooveterinaryinc.roo-cline", kind: FileKind::Marker },
        FileRule {
            pattern: ".vscode-server/data/User/globalStorage/rooveterinaryinc.roo-cline",
            kind: FileKind::Marker,
        },
        FileRule { pattern: ".config/Windsurf/User/globalStorage/rooveterinaryinc.roo-cline", kind: FileKind::Marker },
        FileRule { pattern: ".config/VSCodium/User/globalStorage/rooveterinaryinc.roo-cline", kind: FileKind::Marker },
        FileRule {
            pattern: ".cursor-server/data/User/globalStorage/rooveterinaryinc.roo-cline",
            kind: FileKind::Marker,
        },
        FileRule { pattern: ".config/Code/User/settings.json", kind: FileKind::Doc(Format::Json) },
    ],
    workspace_files: &[FileRule { pattern: "roo-code-settings.json", kind: FileKind::Doc(Format::Json) }],
    walk_into: &[".vscode"],
    other_os: &["%APPDATA%\\Code\\User\\globalStorage\\state.vscdb"],
    unset_sends: &[WhenUnset { syntax: None, any_syntax: true, sends: "not-provided" }],
    stand_ins: &["not-provided"],
    process_family: &["extensions/rooveterinaryinc.roo-cline"],
    in_extension_host: true,
    fixes: Fixes { placeholder: &["enter the key in Roo Code's provider profile"], no_key: &[], header: &[] },
    extract,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        // All profiles are one secret (docs/tools.md#vs-code-secretstorage).
        Parsed::Marker => crate::vscdb::secret_drafts(ctx, &[], "openrouter").unwrap_or_else(|| vec![Draft::new(1, provider_for(Some("openrouter"), None), KeyRef::store("vscode-secretstorage")
            .with_note("Roo Code keeps its profiles in VS Code SecretStorage (roo_cline_config_api_config); a missing key is sent as 'not-provided'"))]),
        Parsed::Doc(doc) if ctx.path.ends_with("settings.json") && doc.get("roo-cline.autoImportSettingsPath").is_some() => {
            let Some(path) = str_at(doc, "roo-cline.autoImportSettingsPath") else { return Vec::new() };
            let file = ctx.resolve(path);
            match crate::fsread::read_text(Path::new(&file), crate::fsread::DEFAULT_CAP).ok().and_then(|t| crate::doc::parse_json(&t).ok()) {
                Some(export) => {
                    let inner = FileCtx::new(Path::new(&file), ctx.home, ctx.tool);
                    let sites = profiles(&inner, &export);
                    ctx.seen.borrow_mut().extend(inner.seen.take());
                    sites
                }
                None => Vec::new(),
            }
        }
        Parsed::Doc(doc) => profiles(ctx, doc),
        _ => Vec::new(),
    }
}

fn profiles(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let Some(configs) = doc.path(&["providerProfiles", "apiConfigs"]) else { return out };
    for (name, line, c) in configs.entries() {
        let api = str_at(c, "apiProvider").unwrap_or("openrouter");
        let (key_field, base_field, model_field) = match api {
            "openrouter" => ("openRouterApiKey", "openRouterBaseUrl", "openRouterModelId"),
            "anthropic" => ("apiKey", "anthropicBaseUrl", "apiModelId"),
            _ => ("openAiApiKey", "openAiBaseUrl", "openAiModelId"),
        };
        let base = str_at(c, base_field);
        let p = provider_for(Some(api), base);
        let (kline, key) = match c.get(key_field) {
            Some(k) => {
                (c.key_line(key_field).unwrap_or(*line), ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none))
            }
            None => (
                *line,
                KeyRef::placeholder(
                    "not-provided",
                    None,
                    "roo sends Bearer not-provided when the profile has no key".into(),
                ),
            ),
        };
        out.push(
            Draft::new(kline, p, key)
                .pointer(pointer(&["providerProfiles", "apiConfigs", name]))
                .model(str_at(c, model_field).map(str::to_string))
                .base(base, "config"),
        );
    }
    out
}
