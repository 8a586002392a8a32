//! Hermes Agent (NousResearch): `~/.hermes/config.yaml` with `${VAR}`,
//! `key_env` names, `~/.hermes/.env`, and the `auth.json` pool.
//! docs/tools.md#hermes-agent.

use super::*;

pub static TOOL: Tool = Tool {
    name: "hermes",
    display: "Hermes Agent",
    home_files: &[
        FileRule { pattern: ".hermes/config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".hermes/.env", kind: FileKind::Dotenv(Flavor::Python) },
        FileRule { pattern: ".hermes/profiles/*/config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".hermes/profiles/*/.env", kind: FileKind::Dotenv(Flavor::Python) },
    ],
    expands: &["dollar_brace"],
    env_vars: &["OPENROUTER_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"],
    // PR #1434: startup loads ~/.hermes/.env over stale shell exports.
    dotenv: &[DotenvRule { path: "~/.hermes/.env", flavor: Flavor::Python, overrides_env: true }],
    // Measured on Hermes 0.19: a custom provider's unresolved key_env sends the
    // stand-in `no-key-required`; an unset ${VAR} in config.yaml is sent as its text.
    unset_sends: &[
        WhenUnset { syntax: Some("key_env"), any_syntax: false, sends: "no-key-required" },
        WhenUnset { syntax: Some("dollar_brace"), any_syntax: false, sends: "${{var}}" },
    ],
    stand_ins: &["no-key-required"],
    // The credential pool caches a key per provider, and goes stale after a .env edit.
    stores: &[Store {
        path: "~/.hermes/auth.json",
        format: Format::Json,
        key_at: "/credential_pool/{provider}/0/key",
        kind: StoreKind::ApiKey,
        beats_env: true,
        fix: "remove the provider's entry under credential_pool in ~/.hermes/auth.json (hermes rebuilds it from .env)",
    }],
    refuses_flawed_header: Some(
        "httpx refuses the header (\"Illegal header value\"), and the tool says \"Connection error.\"",
    ),
    process_family: &["hermes", "site-packages/hermes_cli", ".hermes/hermes-agent"],
    fixes: Fixes {
        placeholder: &["set key_env to the name of the variable that holds the key, or api_key to the key"],
        no_key: &[],
        header: &[],
    },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Dotenv(entries) => env_pair_sites(ctx, &pairs_from_dotenv(entries)),
        Parsed::Doc(doc) => {
            let mut out = Vec::new();
            if let Some(m) = doc.get("model").filter(|m| m.is_map()) {
                out.extend(entry(ctx, m, &["model"], str_at(m, "default")));
            }
            for (i, c) in doc.get("custom_providers").map(Node::items).unwrap_or_default().iter().enumerate() {
                out.extend(entry(ctx, c, &["custom_providers", &i.to_string()], str_at(c, "model")));
            }
            out
        }
        _ => Vec::new(),
    }
}

fn entry(ctx: &FileCtx, m: &Node, ptr: &[&str], model: Option<&str>) -> Option<Draft> {
    let base = str_at(m, "base_url");
    let named = str_at(m, "provider").or_else(|| str_at(m, "name"));
    let p = match base.and_then(provider::by_url) {
        Some(p) => p,
        None => named.and_then(provider::normalize).unwrap_or_else(|| provider_for(named, base)),
    };
    let (line, key) = if let Some(k) = m.get("api_key").filter(|k| k.as_str().is_some_and(|s| !s.is_empty())) {
        (m.key_line("api_key").unwrap_or(m.line), ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none))
    } else if let Some((field, k)) = m.get_any(&["key_env", "api_key_env"]) {
        let var = k.as_str().unwrap_or("");
        let line = m.key_line(field).unwrap_or(m.line);
        if var.is_empty() {
            (
                line,
                KeyRef::placeholder(
                    "no-key-required",
                    None,
                    "an empty key_env makes hermes send the text no-key-required (#67453)".into(),
                ),
            )
        } else {
            (
                line,
                KeyRef::env(var, Some("key_env"))
                    .with_note("some hermes versions never resolve key_env and send an empty key (#74561)"),
            )
        }
    } else {
        (m.line, p.key_vars.first().map_or_else(KeyRef::none, |v| KeyRef::env(v, None)))
    };
    Some(Draft::new(line, p, key).pointer(pointer(ptr)).model(model.map(str::to_string)).base(base, "config"))
}
