//! OpenClaw: `~/.openclaw/openclaw.json` (JSON5), upper-case `${VAR}`,
//! SecretRef objects, per-agent auth profiles, `~/.openclaw/.env`.
//! docs/tools.md#openclaw.

use super::*;

pub static TOOL: Tool = Tool {
    name: "openclaw",
    display: "OpenClaw",
    home_files: &[
        FileRule { pattern: ".openclaw/openclaw.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".openclaw/agents/*/agent/auth-profiles.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".openclaw/agents/*/agent/models.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".openclaw/.env", kind: FileKind::Dotenv(Flavor::Node) },
        FileRule { pattern: ".clawdbot/clawdbot.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".moltbot/moltbot.json", kind: FileKind::Doc(Format::Json) },
    ],
    other_os: &["$OPENCLAW_CONFIG_PATH", "$OPENCLAW_STATE_DIR/openclaw.json", "$OPENCLAW_HOME/.openclaw/openclaw.json"],
    expands: &["dollar_brace_upper"],
    env_vars: &["OPENCLAW_LIVE_OPENROUTER_KEY", "OPENROUTER_API_KEYS", "OPENROUTER_API_KEY"],
    // Never override: process env → ./.env → ~/.openclaw/.env → config env block.
    dotenv: &[
        DotenvRule { path: ".env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: "~/.openclaw/.env", flavor: Flavor::Node, overrides_env: false },
    ],
    unset_sends: &[
        // left "visibly unresolved"
        WhenUnset { syntax: Some("dollar_brace"), any_syntax: false, sends: "${{var}}" },
    ],
    process_family: &["openclaw", "clawdbot", "moltbot", "node_modules/openclaw"],
    fixes: Fixes { placeholder: &["use an upper-case name: ${{var_upper}}"], no_key: &[], header: &[] },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::NodeBundled,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Dotenv(entries) => env_pair_sites(ctx, &pairs_from_dotenv(entries)),
        Parsed::Doc(doc) if ctx.path.ends_with("auth-profiles.json") => profiles(ctx, doc),
        Parsed::Doc(doc) => config(ctx, doc),
        _ => Vec::new(),
    }
}

fn config(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let providers = doc.path(&["models", "providers"]).or_else(|| doc.get("providers"));
    let base_ptr: &[&str] =
        if doc.path(&["models", "providers"]).is_some() { &["models", "providers"] } else { &["providers"] };
    for (id, line, prov) in providers.map(Node::entries).unwrap_or_default() {
        let base = str_at(prov, "baseUrl").or_else(|| str_at(prov, "baseURL"));
        let p = provider::normalize(id).unwrap_or_else(|| provider_for(Some(id), base));
        let (kline, key) = match prov.get("apiKey") {
            Some(k) => {
                (prov.key_line("apiKey").unwrap_or(*line), ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none))
            }
            None => (*line, p.key_vars.first().map_or_else(KeyRef::none, |v| KeyRef::env(v, None))),
        };
        let mut ptr: Vec<&str> = base_ptr.to_vec();
        ptr.push(id);
        out.push(Draft::new(kline, p, key).pointer(pointer(&ptr)).base(base, "config"));
    }
    // env.vars.X / env.X: applied only when the process lacks X.
    if let Some(env) = doc.get("env") {
        let vars = env.get("vars").unwrap_or(env);
        let ptr_base = if env.get("vars").is_some() { vec!["env", "vars"] } else { vec!["env"] };
        for (name, line, v) in vars.entries() {
            let Some(p) = key_var_provider(name) else { continue };
            let Some(text) = v.as_str() else { continue };
            let mut ptr = ptr_base.clone();
            ptr.push(name);
            out.push(Draft::new(*line, p, ctx.key_from_text(text, p)).pointer(pointer(&ptr)));
        }
    }
    out
}

fn profiles(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let list = doc.get("profiles").unwrap_or(doc);
    for (id, line, prof) in list.entries() {
        let named = str_at(prof, "provider").or_else(|| id.split(':').next());
        let p = named.and_then(provider::normalize).unwrap_or_else(|| provider_for(named, None));
        let (kline, key) = if let Some(k) = prof.get("key").or_else(|| prof.get("token")) {
            let kl = prof.key_line("key").or_else(|| prof.key_line("token")).unwrap_or(*line);
            (kl, ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none))
        } else if let Some(r) = prof.get("keyRef").or_else(|| prof.get("tokenRef")) {
            (prof.key_line("keyRef").unwrap_or(*line), ctx.key_from_node(Some(r), p).unwrap_or_else(KeyRef::none))
        } else {
            (*line, KeyRef::store("openclaw-oauth"))
        };
        out.push(Draft::new(kline, p, key).pointer(pointer(&["profiles", id])));
    }
    out
}
