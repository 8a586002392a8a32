//! Zed: `settings.json` names the endpoint; the key is in the keychain,
//! keyed by URL, and a non-empty variable wins. docs/tools.md#zed.

use super::*;

pub static TOOL: Tool = Tool {
    name: "zed",
    display: "Zed",
    home_files: &[FileRule { pattern: ".config/zed/settings.json", kind: FileKind::Doc(Format::Json) }],
    workspace_files: &[FileRule { pattern: ".zed/settings.json", kind: FileKind::Doc(Format::Json) }],
    other_os: &["%APPDATA%\\Zed\\settings.json"],
    env_vars: &["OPENROUTER_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"],
    process_family: &["zed-editor", "zed", "zeditor"],
    extract,
    ..BASE
};

fn extract(_ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    let Some(lm) = doc.get("language_models") else { return out };
    for (id, line, cfg) in lm.entries() {
        if id == "openai_compatible" {
            for (name, l2, c) in cfg.entries() {
                let base = str_at(c, "api_url");
                let p = provider_for(None, base);
                let var = format!("{}_API_KEY", name.to_ascii_uppercase().replace(['-', ' '], "_"));
                out.push(
                    Draft::new(*l2, p, KeyRef::env(&var, None).with_note("or the keychain entry for this api_url"))
                        .pointer(pointer(&["language_models", id, name]))
                        .base(base, "config"),
                );
            }
            continue;
        }
        let Some(p) = provider::normalize(id) else { continue };
        let Some(var) = p.key_vars.first() else { continue };
        let base = str_at(cfg, "api_url");
        out.push(
            Draft::new(
                *line,
                p,
                KeyRef::env(var, None)
                    .with_note("a non-empty variable beats the keychain entry, which is keyed by api_url"),
            )
            .pointer(pointer(&["language_models", id]))
            .base(base, "config"),
        );
    }
    out
}
