//! Home Assistant's OpenRouter integration: UI-only, stored in
//! `.storage/core.config_entries`. docs/tools.md#home-assistant.
//! An entry's `title` can be the key itself, so titles are never written.

use super::*;

pub static TOOL: Tool = Tool {
    name: "home-assistant",
    display: "Home Assistant",
    home_files: &[FileRule {
        pattern: ".homeassistant/.storage/core.config_entries",
        kind: FileKind::Doc(Format::Json),
    }],
    workspace_files: &[FileRule { pattern: ".storage/core.config_entries", kind: FileKind::Doc(Format::Json) }],
    walk_into: &[".homeassistant"],
    other_os: &["/config/.storage/core.config_entries", "/usr/share/hassio/homeassistant/.storage/core.config_entries"],
    process_family: &["hass", "homeassistant", "site-packages/homeassistant"],
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

const DOMAINS: &[(&str, &str)] = &[
    ("open_router", "openrouter"),
    ("openai_conversation", "openai"),
    ("anthropic", "anthropic"),
    ("google_generative_ai_conversation", "gemini"),
];

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    for (i, e) in doc.path(&["data", "entries"]).map(Node::items).unwrap_or_default().iter().enumerate() {
        let domain = str_at(e, "domain").unwrap_or("");
        let Some((_, prov)) = DOMAINS.iter().find(|(d, _)| *d == domain) else { continue };
        let p = provider::get(prov).expect("catalogue");
        let data = e.get("data");
        let key = data.and_then(|d| d.get("api_key"));
        let line = data.and_then(|d| d.key_line("api_key")).unwrap_or(e.line);
        let model = e
            .get("subentries")
            .and_then(|s| s.items().iter().find_map(|s| s.path(&["data", "model"]).and_then(Node::as_str)))
            .map(str::to_string);
        let key = match key {
            Some(k) => ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
            None => KeyRef::none(),
        };
        // The base URL is hard-coded in the integration.
        out.push(Draft::new(line, p, key).pointer(pointer(&["data", "entries", &i.to_string()])).model(model));
    }
    out
}
