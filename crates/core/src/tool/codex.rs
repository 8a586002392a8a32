//! OpenAI Codex CLI: `~/.codex/config.toml` (`env_key` holds a variable
//! *name*), `auth.json`. docs/tools.md#codex.

use super::*;

pub static TOOL: Tool = Tool {
    name: "codex",
    display: "Codex CLI",
    home_files: &[
        FileRule { pattern: ".codex/config.toml", kind: FileKind::Doc(Format::Toml) },
        FileRule { pattern: ".codex/auth.json", kind: FileKind::Doc(Format::Json) },
    ],
    sniff: &[Sniff::Toml],
    other_os: &["$CODEX_HOME/config.toml", "%USERPROFILE%\\.codex\\config.toml"],
    // `codex exec` reads CODEX_API_KEY before auth.json (docs/tools.md#codex).
    key_vars: &[("CODEX_API_KEY", "openai")],
    env_vars: &["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL"],
    // `codex login` saves an API key or a ChatGPT login in auth.json; whichever
    // it holds is what Codex uses for OpenAI, never OPENAI_API_KEY (which only
    // `codex login --with-api-key` reads). CODEX_API_KEY, read by `codex exec`,
    // beats both. `forced_login_method` logs a mismatched login out; it does
    // not change the order (docs/tools.md#codex).
    log_in: "codex login --with-api-key",
    stores: &[
        Store {
            path: "~/.codex/auth.json",
            format: Format::Json,
            key_at: "/OPENAI_API_KEY",
            kind: StoreKind::ApiKey,
            beats_env: true,
            fix: "codex logout, then printenv OPENAI_API_KEY | codex login --with-api-key",
        },
        Store {
            path: "~/.codex/auth.json",
            format: Format::Json,
            key_at: "/tokens/access_token",
            kind: StoreKind::Login,
            beats_env: true,
            fix: "codex logout to use OPENAI_API_KEY instead of the ChatGPT login",
        },
    ],
    process_family: &["codex", "node_modules/@openai/codex"],
    extract,
    ..BASE
};

const BUILT_IN: &[&str] = &["openai", "oss", "ollama", "lmstudio"];

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    if ctx.path.ends_with("auth.json") {
        let p = provider::get("openai").expect("catalogue");
        return match doc.get("OPENAI_API_KEY").filter(|k| k.as_str().is_some()) {
            Some(k) => vec![Draft::new(
                doc.key_line("OPENAI_API_KEY").unwrap_or(1),
                p,
                ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
            )
            .pointer(pointer(&["OPENAI_API_KEY"]))],
            None if doc.get("tokens").is_some() => vec![Draft::new(1, p, KeyRef::store("codex-chatgpt-login"))],
            None => Vec::new(),
        };
    }
    let mut out = Vec::new();
    // `profile = "name"` selects `[profiles.name]`, whose keys beat the top level.
    let profile = str_at(doc, "profile").and_then(|n| doc.get("profiles").and_then(|p| p.get(n)));
    let pick = |k: &str| profile.and_then(|p| str_at(p, k)).or_else(|| str_at(doc, k));
    let active = pick("model_provider");
    let model = pick("model").map(str::to_string);
    for (id, line, prov) in doc.get("model_providers").map(Node::entries).unwrap_or_default() {
        let base = str_at(prov, "base_url");
        let p = provider_for(Some(id), base);
        let (kline, key) = match prov.get("env_key").and_then(Node::as_str) {
            Some(name) if name.starts_with("sk-") || name.len() > 40 => (
                prov.key_line("env_key").unwrap_or(*line),
                // A key pasted where a variable name belongs: codex looks up a variable of that name.
                KeyRef::placeholder(
                    "(a key pasted into env_key)",
                    None,
                    "env_key takes the NAME of a variable, not the key: codex fails with a missing-env error".into(),
                ),
            ),
            Some(name) => (
                prov.key_line("env_key").unwrap_or(*line),
                KeyRef::env(name, Some("env_key")).with_note(format!(
                    "unset or empty, {name} stops Codex before any request: \"Missing environment variable: `{name}`\""
                )),
            ),
            None => (*line, KeyRef::none()),
        };
        let mut d = Draft::new(kline, p, key).pointer(pointer(&["model_providers", id])).base(base, "config");
        if active == Some(id.as_str()) {
            d = d.model(model.clone());
        } else {
            // `codex --profile NAME` with a profile that names this provider.
            let by_profile = doc.get("profiles").map(Node::entries).unwrap_or_default().iter().find_map(|(_, _, p)| {
                (str_at(p, "model_provider") == Some(id.as_str()))
                    .then(|| str_at(p, "model").map(str::to_string))
                    .flatten()
            });
            d = d.model(by_profile);
        }
        // wire_api "responses" (the default) posts to {base}/responses.
        if str_at(prov, "wire_api").unwrap_or("responses") == "responses" && p.name == "openai-compatible" {
            if let Some(b) = base {
                add_note(&mut d.key, format!(
                    "wire_api \"responses\": Codex posts to {}/responses; a server without it answers 404 — write wire_api = \"chat\" for /chat/completions",
                    b.trim_end_matches('/')
                ));
            }
        }
        if BUILT_IN.contains(&id.as_str()) {
            add_note(
                &mut d.key,
                format!(
                    "[model_providers.{id}] overrides a built-in provider and is silently ignored: use OPENAI_BASE_URL"
                ),
            );
        }
        out.push(d);
    }
    out
}

/// Add a sentence to the key's note, after any there.
fn add_note(key: &mut KeyRef, note: String) {
    key.note = Some(match key.note.take() {
        Some(n) => format!("{n}; {note}"),
        None => note,
    });
}
