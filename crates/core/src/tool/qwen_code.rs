//! Qwen Code (`@qwen-code/qwen-code`, a Gemini CLI fork): `~/.qwen/settings.json`
//! (`modelProviders`, `env`, `security.auth`), `.env` files, and
//! `OPENAI_API_KEY` / `OPENAI_BASE_URL` / `OPENAI_MODEL`. docs/tools.md#qwen-code.

use super::*;

pub static TOOL: Tool = Tool {
    name: "qwen-code",
    display: "Qwen Code",
    home_files: &[
        FileRule { pattern: ".qwen/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".qwen/.env", kind: FileKind::Dotenv(Flavor::Node) },
    ],
    workspace_files: &[
        FileRule { pattern: ".qwen/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".qwen/.env", kind: FileKind::Dotenv(Flavor::Node) },
    ],
    sniff: &[Sniff::Json],
    other_os: &["%USERPROFILE%\\.qwen\\settings.json", "/etc/qwen-code/settings.json (system settings)"],
    env_vars: &[
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "QWEN_MODEL",
        "DASHSCOPE_API_KEY",
        "BAILIAN_CODING_PLAN_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
    ],
    // Gemini CLI's loader: ONE file, the first of <dir>/.qwen/.env, <dir>/.env
    // walking up, else ~/.qwen/.env, else ~/.env; an exported variable wins
    // (qwen-code#119), settings.json's `env` comes last (docs/tools.md#qwen-code).
    dotenv: &[
        DotenvRule { path: ".qwen/.env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: ".env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: "~/.qwen/.env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: "~/.env", flavor: Flavor::Node, overrides_env: false },
    ],
    // settings.json's `env` block: read only for a variable neither the
    // environment nor a .env sets (docs/tools.md#qwen-code).
    stores: &[Store {
        path: "~/.qwen/settings.json",
        format: Format::Json,
        key_at: "/env/{var}",
        kind: StoreKind::ApiKey,
        beats_env: false,
        fix: "change or remove the variable in the env block of ~/.qwen/settings.json",
    }],
    process_family: &["qwen", "node_modules/@qwen-code/qwen-code"],
    fixes: Fixes {
        placeholder: &[],
        no_key: &[
            "export OPENAI_API_KEY (or the model's envKey), or put it in ~/.qwen/.env; settings.json's env block is only the last fallback",
        ],
        header: &[],
    },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::NodeBundled,
    ..BASE
};

const ENV_BLOCK_NOTE: &str =
    "settings.json's env block is the last fallback: an exported variable or a .env line with this name wins";

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Dotenv(entries) => {
            let mut out = env_pair_sites(ctx, &pairs_from_dotenv(entries));
            // OPENAI_BASE_URL beside OPENAI_API_KEY names the API the key goes to.
            for d in &mut out {
                if let Some(p) = d.base_url.as_ref().and_then(|(u, _)| provider::by_url(u)) {
                    d.provider = p;
                }
            }
            out
        }
        Parsed::Doc(doc) => settings(ctx, doc),
        _ => Vec::new(),
    }
}

/// The provider of an OpenAI-protocol entry: by its base URL, else OpenAI.
fn openai_provider(base: Option<&str>) -> &'static Provider {
    match base {
        Some(b) => provider_for(None, Some(b)),
        None => provider::get("openai").expect("catalogue has openai"),
    }
}

fn settings(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let env_block = doc.get("env");
    let top_model = doc.path(&["model", "name"]).and_then(Node::as_str).or_else(|| str_at(doc, "model"));
    // modelProviders: { openai: [ {id, baseUrl, envKey} ], anthropic: […], gemini: […] }
    for (protocol, _, list) in doc.get("modelProviders").map(Node::entries).unwrap_or_default() {
        for (i, m) in list.items().iter().enumerate() {
            let base = str_at(m, "baseUrl");
            let p = match protocol.as_str() {
                "openai" => openai_provider(base),
                other => provider_for(Some(if other == "vertex-ai" { "gemini" } else { other }), base),
            };
            let var = str_at(m, "envKey").or_else(|| p.key_vars.first().copied()).unwrap_or("OPENAI_API_KEY");
            let in_block = env_block.is_some_and(|b| b.get(var).is_some());
            let note = if in_block {
                format!("the key is ${var}; settings.json's env block sets it only when neither the environment nor a .env does")
            } else {
                format!("the key is ${var} (the environment, else the first .env found)")
            };
            let line = m.key_line("envKey").unwrap_or(m.line);
            out.push(
                Draft::new(line, p, KeyRef::env(var, None).with_note(note))
                    .pointer(pointer(&["modelProviders", protocol, &i.to_string()]))
                    .model(str_at(m, "id").map(str::to_string))
                    .base(base, "config"),
            );
        }
    }
    // The older shape: security.auth.{selectedType: "openai", apiKey, baseUrl}.
    if let Some(auth) = doc.path(&["security", "auth"]) {
        if let Some(k) = auth.get("apiKey") {
            let base = str_at(auth, "baseUrl");
            let p = openai_provider(base);
            if let Some(key) = ctx.key_from_node(Some(k), p) {
                out.push(
                    Draft::new(auth.key_line("apiKey").unwrap_or(auth.line), p, key)
                        .pointer(pointer(&["security", "auth", "apiKey"]))
                        .model(top_model.map(str::to_string))
                        .base(base, "config"),
                );
            }
        }
    }
    // Keys written into settings.json's env block.
    if let Some(block) = env_block {
        let pairs: Vec<(String, u32, PairValue)> = block
            .entries()
            .iter()
            .filter_map(|(n, l, v)| v.as_str().map(|s| (n.clone(), *l, PairValue::Text(s.to_string()))))
            .collect();
        for mut d in env_pair_sites(ctx, &pairs) {
            d.key.note = Some(ENV_BLOCK_NOTE.into());
            d.id_suffix = None;
            let var = d.assigns.clone().unwrap_or_default();
            out.push(d.pointer(pointer(&["env", &var])));
        }
    }
    out
}
