//! aichat: `~/.config/aichat/config.yaml`, a list of `clients`, each with a
//! `type`, an optional `name`, `api_base` and `api_key`. A client without
//! `api_key` reads `{CLIENT}_API_KEY` (the client's name, else its type,
//! upper-cased, `-` as `_`); the config's value wins over the variable.
//! docs/tools.md#aichat.

use super::*;

pub static TOOL: Tool = Tool {
    name: "aichat",
    display: "aichat",
    home_files: &[FileRule { pattern: ".config/aichat/config.yaml", kind: FileKind::Doc(Format::Yaml) }],
    other_os: &[
        "$AICHAT_CONFIG_DIR/config.yaml",
        "$AICHAT_CONFIG_FILE",
        "~/Library/Application Support/aichat/config.yaml",
        "%APPDATA%\\aichat\\config.yaml",
    ],
    env_vars: &["AICHAT_CONFIG_DIR", "AICHAT_CONFIG_FILE", "AICHAT_PLATFORM", "{CLIENT}_API_KEY", "{CLIENT}_API_BASE"],
    fixes: Fixes {
        placeholder: &[
            "replace the example value of api_key in ~/.config/aichat/config.yaml with the key itself, or delete the api_key line so aichat reads {var_upper}",
        ],
        no_key: &[],
        header: &[],
    },
    process_family: &["aichat"],
    trims_key: false,
    extract,
    ..BASE
};

/// The variable aichat reads for a client's `field` (`api_key` →
/// `OPENROUTER_API_KEY` for a client named openrouter).
fn client_var(client: &str, field: &str) -> String {
    format!("{client}_{field}").replace('-', "_").to_ascii_uppercase()
}

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    // `model: CLIENT:MODEL` picks the default client.
    let default = str_at(doc, "model").and_then(|m| m.split_once(':'));
    let Some(clients) = doc.get("clients") else { return Vec::new() };
    let mut out = Vec::new();
    for (i, c) in clients.items().iter().enumerate() {
        let Some(kind) = str_at(c, "type") else { continue };
        let client = str_at(c, "name").unwrap_or(kind);
        let base = str_at(c, "api_base");
        let named = match kind {
            "openai-compatible" => client,
            "claude" => "anthropic",
            "azure-openai" => "azure",
            other => other,
        };
        let p = provider_for(Some(named), base);
        let var = client_var(client, "api_key");
        let key = match c.get("api_key").and_then(Node::scalar_text) {
            Some(text) => ctx.key_from_text(&text, p),
            None => KeyRef::env(&var, Some("client_env"))
                .with_note(format!("no api_key for client {client}: aichat reads {var}")),
        };
        let model = default.filter(|(name, _)| *name == client).map(|(_, m)| m.to_string());
        out.push(
            Draft::new(c.key_line("api_key").or(c.key_line("type")).unwrap_or(c.line), p, key)
                .pointer(pointer(&["clients", &i.to_string()]))
                .model(model)
                .base(base, "config"),
        );
    }
    out
}
