//! Open WebUI: `OPENAI_API_BASE_URLS` / `OPENAI_API_KEYS`, `;`-separated and
//! matched by position, read from the environment on first start only.
//! docs/tools.md#open-webui.

use super::*;

pub static TOOL: Tool = Tool {
    name: "open-webui",
    display: "Open WebUI",
    other_os: &["$DATA_DIR/webui.db"],
    env_vars: &["OPENAI_API_KEYS", "OPENAI_API_BASE_URLS", "OPENAI_API_KEY", "OPENAI_API_BASE_URL"],
    process_family: &["open-webui", "open_webui", "site-packages/open_webui"],
    found_by: Some("dotenv"),
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

/// Called by the generic `.env` reader when a file sets Open WebUI's variables.
fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Dotenv(entries) = parsed else { return Vec::new() };
    sites(ctx, entries)
}

pub(super) fn sites(ctx: &FileCtx, entries: &[dotenv::Entry]) -> Vec<Draft> {
    let get = |n: &str| entries.iter().rev().find(|e| e.name == n);
    let (Some(urls), Some(keys)) = (get("OPENAI_API_BASE_URLS"), get("OPENAI_API_KEYS")) else { return Vec::new() };
    let urls: Vec<&str> = urls.value.split(';').collect();
    let mut out = Vec::new();
    for (i, key) in keys.value.split(';').enumerate() {
        let url = urls.get(i).copied();
        let p = provider_for(None, url);
        let k = ctx.key_from_text(key, p).with_note(format!(
            "key {} of OPENAI_API_KEYS, paired by position with URL {}",
            i + 1,
            i + 1
        ));
        let mut d = Draft::new(keys.line, p, k).suffix(format!("OPENAI_API_KEYS[{i}]"));
        d.tool = Some("open-webui");
        if let Some(u) = url {
            d = d.base(Some(u), "env:OPENAI_API_BASE_URLS");
        }
        out.push(d);
    }
    out
}
