//! Zed: `settings.json` names the endpoint; the key is in the keychain,
//! keyed by URL, and a non-empty variable wins; an `api_key` written in
//! `settings.json` is never read (`key.ignored`). docs/tools.md#zed.

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

/// An `api_key` in the entry `cfg`: a key Zed does not read.
fn ignored(cfg: &Node, at: &[&str], var: &str, p: &Provider) -> Option<crate::record::IgnoredKey> {
    let text = str_at(cfg, "api_key").filter(|t| !t.trim().is_empty())?;
    let mut parts = at.to_vec();
    parts.push("api_key");
    Some(crate::record::IgnoredKey {
        pointer: pointer(&parts),
        line: cfg.key_line("api_key").unwrap_or(1),
        fp: Fingerprint::of(text.as_bytes(), Some(p)),
        fix: format!(
            "Zed reads no api_key from settings.json: enter the key in the Agent Panel's settings (Zed keeps it in the keychain, keyed by api_url), or export {var} where Zed starts; then delete api_key from settings.json"
        ),
    })
}

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
                let mut key = KeyRef::env(&var, None).with_note("or the keychain entry for this api_url");
                key.ignored = ignored(c, &["language_models", id, name], &var, p);
                out.push(Draft::new(*l2, p, key).pointer(pointer(&["language_models", id, name])).base(base, "config"));
            }
            continue;
        }
        let Some(p) = provider::normalize(id) else { continue };
        let Some(var) = p.key_vars.first() else { continue };
        let base = str_at(cfg, "api_url");
        let mut key = KeyRef::env(var, None)
            .with_note("a non-empty variable beats the keychain entry, which is keyed by api_url");
        key.ignored = ignored(cfg, &["language_models", id], var, p);
        out.push(Draft::new(*line, p, key).pointer(pointer(&["language_models", id])).base(base, "config"));
    }
    out
}
