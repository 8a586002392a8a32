//! opencode: `opencode.json(c)` with `{env:X}` and `{file:p}`, and the
//! credentials in `auth.json`. docs/tools.md#opencode;
//! docs/wire.md#opencode (1.18.33: `{env:X}` unset → empty Bearer).

use super::*;

pub static TOOL: Tool = Tool {
    name: "opencode",
    display: "opencode",
    home_files: &[
        FileRule { pattern: ".config/opencode/opencode.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/opencode/opencode.jsonc", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/opencode/config.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".local/share/opencode/auth.json", kind: FileKind::Doc(Format::Json) },
    ],
    workspace_files: &[
        FileRule { pattern: "opencode.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: "opencode.jsonc", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".opencode/opencode.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".opencode/opencode.jsonc", kind: FileKind::Doc(Format::Json) },
    ],
    sniff: &[Sniff::Json],
    other_os: &["$OPENCODE_CONFIG", "$XDG_DATA_HOME/opencode/auth.json", "/etc/opencode/opencode.json"],
    expands: &["brace_env", "brace_file"],
    env_vars: &["OPENROUTER_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"],
    unset_sends: &[
        // measured, opencode 1.18.33: {env:X} of an unset variable becomes ""
        WhenUnset { syntax: Some("brace_env"), any_syntax: false, sends: "" },
    ],
    // `opencode auth login` saves the key; it beats the variable (docs/tools.md#opencode).
    log_in: "opencode auth login",
    stores: &[Store {
        path: "~/.local/share/opencode/auth.json",
        format: Format::Json,
        key_at: "/{provider}/key",
        kind: StoreKind::ApiKey,
        beats_env: true,
        fix: "opencode auth logout (then opencode auth login with the key that works), or set options.apiKey in opencode.json",
    }],
    strips_newline: true,
    process_family: &["opencode", "node_modules/opencode-ai"],
    fixes: Fixes { placeholder: &["write \"apiKey\": \"{env:{var}}\""], no_key: &[], header: &[] },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Bun,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    if ctx.path.ends_with("auth.json") {
        return auth_json(ctx, doc);
    }
    config(ctx, doc)
}

/// Shared with Kilo Code, an opencode fork with the same config shape.
pub(super) fn config(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let top_model = str_at(doc, "model");
    let mut configured = Vec::new();
    for (id, line, prov) in doc.get("provider").map(Node::entries).unwrap_or_default() {
        configured.push(id.as_str());
        let opts = prov.get("options");
        let base = opts.and_then(|o| str_at(o, "baseURL"));
        let p = provider::normalize(id).unwrap_or_else(|| provider_for(Some(id), base));
        let model = top_model.and_then(|m| m.strip_prefix(&format!("{id}/"))).map(str::to_string);
        let (kline, key) = match opts.and_then(|o| o.get("apiKey")) {
            Some(k) => (
                opts.and_then(|o| o.key_line("apiKey")).unwrap_or(*line),
                ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
            ),
            None => (*line, implicit(p)),
        };
        out.push(Draft::new(kline, p, key).pointer(pointer(&["provider", id])).model(model).base(base, "config"));
    }
    // `model: "openrouter/…"` with no provider block: the key comes from auth.json or the env.
    if let Some(m) = top_model {
        if let Some((id, rest)) = m.split_once('/') {
            if !configured.contains(&id) {
                if let Some(p) = provider::normalize(id) {
                    out.push(
                        Draft::new(doc.key_line("model").unwrap_or(1), p, implicit(p))
                            .pointer(pointer(&["model"]))
                            .model(Some(rest.to_string())),
                    );
                }
            }
        }
    }
    out
}

fn implicit(p: &Provider) -> KeyRef {
    match p.key_vars.first() {
        Some(v) => KeyRef::env(v, None).with_note("a key stored by `auth login` in auth.json comes first"),
        None => KeyRef::none(),
    }
}

pub(super) fn auth_json(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    for (id, line, entry) in doc.entries() {
        let p = provider::normalize(id).unwrap_or_else(|| provider_for(Some(id), None));
        let kind = str_at(entry, "type").unwrap_or("");
        let key = match kind {
            "api" => ctx.key_from_node(entry.get("key"), p).unwrap_or_else(KeyRef::none),
            other => {
                KeyRef::store(&format!("{}-auth-{}", ctx.tool.name, if other.is_empty() { "unknown" } else { other }))
            }
        };
        let kline = entry.key_line("key").unwrap_or(*line);
        out.push(Draft::new(kline, p, key).pointer(pointer(&[id])));
    }
    out
}
