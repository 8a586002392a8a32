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
            if let Some((p, rest, via_base)) = model_provider(m, openai_base) {
                // openai-api-base: LiteLLM sends an OpenAI model there with OPENAI_API_KEY.
                let base = openai_base.filter(|_| via_base);
                let var = match base {
                    Some(_) => Some("OPENAI_API_KEY"),
                    None => p.key_vars.first().copied(),
                };
                if let Some(var) = var {
                    out.push(
                        Draft::new(doc.key_line("model").unwrap_or(1), p, KeyRef::env(var, None))
                            .pointer(pointer(&["model"]))
                            .model(Some(rest))
                            .base(base, "config"),
                    );
                }
            }
        }
    }
    out
}

/// Aider's own short names (`aider/models.py` MODEL_ALIASES; docs/tools.md#aider).
const ALIASES: &[(&str, &str)] = &[
    ("sonnet", "claude-sonnet-4-6"),
    ("haiku", "claude-haiku-4-5"),
    ("opus", "claude-opus-4-7"),
    ("4", "gpt-4-0613"),
    ("4o", "gpt-4o"),
    ("4-turbo", "gpt-4-1106-preview"),
    ("35turbo", "gpt-3.5-turbo"),
    ("35-turbo", "gpt-3.5-turbo"),
    ("3", "gpt-3.5-turbo"),
    ("deepseek", "deepseek/deepseek-chat"),
    ("flash", "gemini/gemini-flash-latest"),
    ("flash-lite", "gemini/gemini-2.5-flash-lite"),
    ("quasar", "openrouter/openrouter/quasar-alpha"),
    ("r1", "deepseek/deepseek-reasoner"),
    ("gemini-2.5-pro", "gemini/gemini-2.5-pro"),
    ("gemini-3-pro-preview", "gemini/gemini-3-pro-preview"),
    ("gemini", "gemini/gemini-3-pro-preview"),
    ("gemini-exp", "gemini/gemini-2.5-pro-exp-03-25"),
    ("grok3", "xai/grok-3-beta"),
    ("optimus", "openrouter/openrouter/optimus-alpha"),
];

/// The provider aider (through LiteLLM) sends a model to, and the id it
/// sends: an alias first, then a `provider/` prefix, then a bare name
/// LiteLLM knows (`gpt-…`, `o1…`, `claude-…`). With `openai-api-base` set,
/// a bare OpenAI name goes to that base (an OpenAI-compatible server), and
/// so does any other bare name: LiteLLM sends it as an OpenAI model there.
fn model_provider(model: &str, openai_base: Option<&str>) -> Option<(&'static Provider, String, bool)> {
    let m = ALIASES.iter().find(|(a, _)| *a == model).map_or(model, |(_, full)| full);
    if let Some((p, rest)) = provider::by_model_prefix(m) {
        let via_base = p.name == "openai" && openai_base.is_some();
        let p = if via_base { provider_for(None, openai_base) } else { p };
        return Some((p, rest.to_string(), via_base));
    }
    let openai_bare = ["gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-"].iter().any(|x| m.starts_with(x));
    let anthropic_bare = m.starts_with("claude-");
    if m.contains('/') {
        return None;
    }
    if openai_base.is_some() && !anthropic_bare {
        return Some((provider_for(None, openai_base), m.to_string(), true));
    }
    let name = if openai_bare {
        "openai"
    } else if anthropic_bare {
        "anthropic"
    } else {
        return None;
    };
    provider::get(name).map(|p| (p, m.to_string(), false))
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
