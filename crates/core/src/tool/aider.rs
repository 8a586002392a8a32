//! Aider: `.aider.conf.yml` (home, git root, cwd; last wins), its `.env`
//! files with override=True, and `.aider.model.settings.yml`.
//! docs/tools.md#aider.

use super::*;

pub static TOOL: Tool = Tool {
    name: "aider",
    display: "Aider",
    home_files: &[
        FileRule { pattern: ".aider.conf.yml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".aider.model.settings.yml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".aider/oauth-keys.env", kind: FileKind::Dotenv(Flavor::Python) },
    ],
    workspace_files: &[
        FileRule { pattern: ".aider.conf.yml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".aider.model.settings.yml", kind: FileKind::Doc(Format::Yaml) },
    ],
    other_os: &["%USERPROFILE%\\.aider.conf.yml"],
    key_vars: &[("AIDER_OPENAI_API_KEY", "openai"), ("AIDER_ANTHROPIC_API_KEY", "anthropic")],
    env_vars: &["OPENROUTER_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AIDER_API_KEY"],
    // Loaded in this order with override=True: the last file wins, and beats the shell.
    dotenv: &[
        DotenvRule { path: ".env", flavor: Flavor::Python, overrides_env: true },
        DotenvRule { path: "~/.env", flavor: Flavor::Python, overrides_env: true },
        DotenvRule { path: "~/.aider/oauth-keys.env", flavor: Flavor::Python, overrides_env: true },
    ],
    refuses_flawed_header: Some(
        "httpx refuses the header (\"Illegal header value\"), and the tool says \"Connection error.\"",
    ),
    process_family: &["aider", "site-packages/aider"],
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Dotenv(entries) => env_pair_sites(ctx, &pairs_from_dotenv(entries)),
        Parsed::Doc(doc) if ctx.path.ends_with(".aider.model.settings.yml") => model_settings(ctx, doc),
        Parsed::Doc(doc) => conf(ctx, doc),
        _ => Vec::new(),
    }
}

fn conf(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let model = str_at(doc, "model").map(str::to_string);
    let openai_base = str_at(doc, "openai-api-base");
    // api-key: [openrouter=sk-…] or a single "provider=key" string.
    if let Some(keys) = doc.get("api-key") {
        let line0 = doc.key_line("api-key").unwrap_or(keys.line);
        let entries: Vec<(u32, String)> = match &keys.kind {
            crate::doc::Kind::Seq(items) => {
                items.iter().filter_map(|n| n.as_str().map(|s| (n.line, s.to_string()))).collect()
            }
            crate::doc::Kind::Str(s) => vec![(line0, s.clone())],
            _ => Vec::new(),
        };
        for (i, (line, e)) in entries.iter().enumerate() {
            let Some((prov, key)) = e.split_once('=') else { continue };
            let p = provider::normalize(prov).unwrap_or_else(|| provider_for(Some(prov), None));
            let m = model.clone().filter(|m| m.starts_with(p.model_prefix));
            out.push(
                Draft::new(*line, p, ctx.key_from_text(key, p))
                    .pointer(pointer(&["api-key", &i.to_string()]))
                    .model(m.map(|m| m[p.model_prefix.len()..].to_string())),
            );
        }
    }
    for (field, prov) in [("openai-api-key", "openai"), ("anthropic-api-key", "anthropic")] {
        if let Some(k) = doc.get(field) {
            let p = provider::get(prov).expect("catalogue");
            let base = if prov == "openai" { openai_base } else { None };
            let p = if prov == "openai" { provider_for(Some("openai"), base) } else { p };
            out.push(
                Draft::new(
                    doc.key_line(field).unwrap_or(k.line),
                    p,
                    ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
                )
                .pointer(pointer(&[field]))
                .base(base, "config"),
            );
        }
    }
    // A model with no key in this file: aider (through LiteLLM) reads the provider's variable.
    if out.is_empty() {
        if let Some(m) = &model {
            if let Some((p, rest)) = provider::by_model_prefix(m) {
                if let Some(var) = p.key_vars.first() {
                    out.push(
                        Draft::new(doc.key_line("model").unwrap_or(1), p, KeyRef::env(var, None))
                            .pointer(pointer(&["model"]))
                            .model(Some(rest.to_string())),
                    );
                }
            }
        }
    }
    out
}

fn model_settings(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    for (i, m) in doc.items().iter().enumerate() {
        let Some(params) = m.get("extra_params") else { continue };
        let Some(k) = params.get("api_key") else { continue };
        let name = str_at(m, "name").unwrap_or("");
        let base = str_at(params, "api_base");
        let p = match provider::by_model_prefix(name) {
            Some((p, _)) => p,
            None => provider_for(None, base),
        };
        out.push(
            Draft::new(
                params.key_line("api_key").unwrap_or(m.line),
                p,
                ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
            )
            .pointer(pointer(&[&i.to_string(), "extra_params", "api_key"]))
            .model(provider::by_model_prefix(name).map(|(_, r)| r.to_string()))
            .base(base, "config"),
        );
    }
    out
}
