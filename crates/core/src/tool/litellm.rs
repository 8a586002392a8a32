//! LiteLLM: the proxy's config.yaml (`os.environ/NAME` is its only syntax)
//! and the SDK's environment variables. docs/tools.md#litellm.

use super::*;

pub static TOOL: Tool = Tool {
    name: "litellm",
    display: "LiteLLM",
    home_files: &[
        FileRule { pattern: ".litellm/config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".config/litellm/config.yaml", kind: FileKind::Doc(Format::Yaml) },
    ],
    workspace_files: &[
        FileRule { pattern: "litellm*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: "litellm*.yml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: "*proxy_config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: "config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: "config.yml", kind: FileKind::Doc(Format::Yaml) },
    ],
    sniffed_files: &["config.yaml", "config.yml"],
    sniff: &[Sniff::Yaml],
    other_os: &["$CONFIG_FILE_PATH", "litellm --config PATH"],
    expands: &["os_environ"],
    env_vars: &["OPENROUTER_API_KEY", "OR_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"],
    // load_dotenv() without override, searched upward from the package's own
    // directory, never the working directory (measured, docs/wire.md#measured-clients).
    dotenv: &[DotenvRule { path: "…/.env", flavor: Flavor::Python, overrides_env: false }],
    // The config's environment_variables: are set over the process environment;
    // an os.environ/X reference still reads the value the proxy started with (measured).
    config_env: Some(ConfigEnv { pointer: "/environment_variables", implicit_only: true }),
    refuses_flawed_header: Some(
        "httpx refuses the header (\"Illegal header value\"), and the tool says \"Connection error.\"",
    ),
    process_family: &["litellm", "site-packages/litellm"],
    fixes: Fixes {
        placeholder: &["write api_key: os.environ/{var}", "export {var} in the environment the proxy starts with"],
        no_key: &[],
        header: &[],
    },
    // `litellm --config FILE --port N` (default 4000): docs/wire.md#gateways.
    gateway: Some(Gateway {
        provider: "litellm",
        default_port: 4000,
        config_flags: &["--config", "-c"],
        port_flags: &["--port", "-p"],
        upstreams: "/model_list/",
    }),
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    // A generic config.yaml is LiteLLM's only if it has a model_list.
    let Some(list) = doc.get("model_list") else { return Vec::new() };
    let global_key = doc.path(&["litellm_settings", "api_key"]);
    let mut out = Vec::new();
    for (i, m) in list.items().iter().enumerate() {
        let idx = i.to_string();
        let Some(params) = m.get("litellm_params") else { continue };
        let model = str_at(params, "model").unwrap_or("");
        let base = str_at(params, "api_base");
        let (p, provider_model) = match provider::by_model_prefix(model) {
            Some((p, rest)) if p.name == "openai" && base.is_some_and(|b| provider::by_url(b).is_none()) => {
                (provider_for(None, base), rest.to_string())
            }
            Some((p, rest)) => (p, rest.to_string()),
            None => (provider_for(None, base), model.to_string()),
        };
        let ptr = pointer(&["model_list", &idx]);
        let (line, key) = match params.get("api_key") {
            Some(k) => (
                params.key_line("api_key").unwrap_or(m.line),
                ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
            ),
            None => match global_key {
                Some(g) => (
                    g.line,
                    ctx.key_from_node(Some(g), p).unwrap_or_else(KeyRef::none).with_note(
                        "litellm_settings.api_key applies to every model and shadows the provider's variable",
                    ),
                ),
                None => match p.key_vars.first() {
                    // The SDK reads the provider's variable itself; unset → no header at all (measured).
                    Some(var) => (m.line, KeyRef::env(var, None)),
                    None => (m.line, KeyRef::none()),
                },
            },
        };
        let model_name = str_at(m, "model_name").unwrap_or("");
        out.push(
            Draft::new(line, p, key)
                .pointer(ptr)
                .model(Some(provider_model))
                .base(base, "config")
                .suffix(model_name.to_string()),
        );
    }
    // The proxy's own key (client → proxy): a second key in every chain.
    if let Some(mk) = doc.path(&["general_settings", "master_key"]) {
        let p = provider::get("litellm").expect("catalogue has litellm");
        let gs = doc.get("general_settings").expect("checked");
        let key = ctx.key_from_node(Some(mk), p).unwrap_or_else(KeyRef::none);
        out.push(
            Draft::new(gs.key_line("master_key").unwrap_or(mk.line), p, key)
                .pointer(pointer(&["general_settings", "master_key"])),
        );
    }
    // environment_variables: injected into os.environ at startup.
    if let Some(env) = doc.get("environment_variables") {
        for (name, line, v) in env.entries() {
            let Some(p) = key_var_provider(name) else { continue };
            let Some(text) = v.scalar_text() else { continue };
            let key = ctx.key_from_text(&text, p);
            out.push(Draft::new(*line, p, key).pointer(pointer(&["environment_variables", name])));
        }
    }
    out
}
