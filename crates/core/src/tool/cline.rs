//! Cline: three storage generations (VS Code SecretStorage; 4.x
//! `~/.cline/data/{globalState,secrets}.json`; the SDK's
//! `providers.json`). docs/tools.md#cline.

use super::*;

pub static TOOL: Tool = Tool {
    name: "cline",
    display: "Cline",
    home_files: &[
        FileRule { pattern: ".cline/data/settings/providers.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".cline/data/secrets.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/Code/User/globalStorage/saoudrizwan.claude-dev", kind: FileKind::Marker },
        FileRule { pattern: ".config/Cursor/User/globalStorage/saoudrizwan.claude-dev", kind: FileKind::Marker },
        FileRule { pattern: ".vscode-server/data/User/globalStorage/saoudrizwan.claude-dev", kind: FileKind::Marker },
        FileRule { pattern: ".config/Windsurf/User/globalStorage/saoudrizwan.claude-dev", kind: FileKind::Marker },
        FileRule { pattern: ".config/VSCodium/User/globalStorage/saoudrizwan.claude-dev", kind: FileKind::Marker },
        FileRule { pattern: ".cursor-server/data/User/globalStorage/saoudrizwan.claude-dev", kind: FileKind::Marker },
    ],
    other_os: &[
        "$CLINE_DIR/data",
        "$CLINE_PROVIDER_SETTINGS_PATH",
        "%APPDATA%\\Code\\User\\globalStorage\\state.vscdb",
    ],
    env_vars: &["OPENROUTER_API_KEY"],
    trims_key: true,
    process_family: &["cline", "node_modules/cline", "extensions/saoudrizwan.claude-dev"],
    in_extension_host: true,
    extract,
    ..BASE
};

/// Secret names of the classic and 4.x generations, with their provider.
const SECRET_FIELDS: &[(&str, &str)] = &[
    ("openRouterApiKey", "openrouter"),
    ("apiKey", "anthropic"),
    ("openAiApiKey", "openai-compatible"),
    ("openAiNativeApiKey", "openai"),
    ("geminiApiKey", "gemini"),
    ("deepSeekApiKey", "deepseek"),
    ("mistralApiKey", "mistral"),
    ("xaiApiKey", "xai"),
    ("groqApiKey", "groq"),
];

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        // The names of the secrets it stored, from state.vscdb (docs/tools.md#vs-code-secretstorage).
        Parsed::Marker => crate::vscdb::secret_drafts(ctx, SECRET_FIELDS, "openrouter").unwrap_or_else(|| vec![Draft::new(1, provider_for(Some("openrouter"), None), KeyRef::store("vscode-secretstorage")
            .with_note("Cline 3.x keeps its keys in VS Code SecretStorage (state.vscdb, encrypted): verify with keyhole-capture"))]),
        Parsed::Doc(doc) if ctx.path.ends_with("secrets.json") => secrets(ctx, doc),
        Parsed::Doc(doc) => providers(ctx, doc),
        _ => Vec::new(),
    }
}

fn secrets(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    // globalState.json next to secrets.json holds the base URL and model.
    let state = crate::fsread::read_text(&ctx.path.with_file_name("globalState.json"), crate::fsread::DEFAULT_CAP)
        .ok()
        .and_then(|t| crate::doc::parse_json(&t).ok());
    let mut out = Vec::new();
    for (field, prov) in SECRET_FIELDS {
        let Some(k) = doc.get(field) else { continue };
        let p = provider::get(prov).expect("catalogue");
        let (base, model) = match (&state, *prov) {
            (Some(s), "openrouter") => (None, str_at(s, "openRouterModelId").map(str::to_string)),
            (Some(s), "openai-compatible") => {
                (str_at(s, "openAiBaseUrl").map(str::to_string), str_at(s, "openAiModelId").map(str::to_string))
            }
            _ => (None, None),
        };
        out.push(
            Draft::new(
                doc.key_line(field).unwrap_or(k.line),
                p,
                ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
            )
            .pointer(pointer(&[field]))
            .model(model)
            .base(base.as_deref(), "config"),
        );
    }
    out
}

fn providers(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    for (id, line, entry) in doc.get("providers").map(Node::entries).unwrap_or_default() {
        let s = entry.get("settings").unwrap_or(entry);
        let base = str_at(s, "baseUrl");
        let named = str_at(s, "provider").unwrap_or(id);
        let p = provider::normalize(named).unwrap_or_else(|| provider_for(Some(named), base));
        let (kline, key) = match s.get("apiKey").filter(|k| k.as_str().is_some_and(|v| !v.trim().is_empty())) {
            Some(k) => {
                (s.key_line("apiKey").unwrap_or(*line), ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none))
            }
            // Explicit key, then OAuth, then the provider's variable (SDK http.ts).
            // The OpenAI-compatible provider falls back to OPENAI_API_KEY (measured).
            None if p.name == "openai-compatible" => (*line, KeyRef::env("OPENAI_API_KEY", None)),
            None => (*line, p.key_vars.first().map_or_else(KeyRef::none, |v| KeyRef::env(v, None))),
        };
        out.push(
            Draft::new(kline, p, key)
                .pointer(pointer(&["providers", id]))
                .model(str_at(s, "model").map(str::to_string))
                .base(base, "config"),
        );
    }
    out
}
