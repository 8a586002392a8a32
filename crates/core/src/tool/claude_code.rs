//! Claude Code: `settings.json` `env` (overrides the shell), `apiKeyHelper`,
//! `ANTHROPIC_AUTH_TOKEN` (Bearer) vs `ANTHROPIC_API_KEY` (x-api-key).
//! docs/tools.md#claude-code; docs/wire.md#claude-code (2.1.328:
//! both set → both headers).

use super::*;

pub static TOOL: Tool = Tool {
    name: "claude-code",
    display: "Claude Code",
    home_files: &[
        FileRule { pattern: ".claude/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".claude/settings.local.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".claude/.credentials.json", kind: FileKind::Marker },
    ],
    workspace_files: &[
        FileRule { pattern: ".claude/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".claude/settings.local.json", kind: FileKind::Doc(Format::Json) },
    ],
    other_os: &[
        "/etc/claude-code/managed-settings.json",
        "%USERPROFILE%\\.claude\\settings.json",
        "$CLAUDE_CONFIG_DIR/settings.json",
    ],
    env_vars: &["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_OAUTH_TOKEN"],
    url_join: UrlJoin::AnthropicSdk,
    // The /login OAuth credentials: used only when no key variable is set.
    stores: &[Store {
        path: "~/.claude/.credentials.json",
        format: Format::Json,
        key_at: "/claudeAiOauth",
        kind: StoreKind::Login,
        beats_env: false,
        fix: "unset ANTHROPIC_API_KEY (and ANTHROPIC_AUTH_TOKEN) to use the /login subscription instead",
    }],
    // ANTHROPIC_AUTH_TOKEN first; unset, Claude Code sends ANTHROPIC_API_KEY as x-api-key (measured).
    key_var_fallback: &[("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", AuthHeader::XApiKey, Scheme::Raw)],
    // Both set, both go in one request; a helper's output goes in both (measured, docs/wire.md#claude-code).
    sends_together: &[
        ("ANTHROPIC_AUTH_TOKEN", AuthHeader::Authorization, Scheme::Bearer),
        ("ANTHROPIC_API_KEY", AuthHeader::XApiKey, Scheme::Raw),
    ],
    // settings.json's env block beats the shell's environment (measured).
    config_env: Some(ConfigEnv { pointer: "/env", implicit_only: false }),
    strips_newline: true,
    process_family: &["claude", "node_modules/@anthropic-ai/claude-code", "extensions/anthropic.claude-code"],
    fixes: Fixes {
        placeholder: &[],
        no_key: &[],
        header: &[
            (Some(AuthHeader::XApiKey), "use ANTHROPIC_API_KEY (sent as x-api-key) instead of ANTHROPIC_AUTH_TOKEN"),
            (None, "use ANTHROPIC_AUTH_TOKEN (sent as Authorization: Bearer) and set ANTHROPIC_API_KEY=\"\""),
        ],
    },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::NodeBundled,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Marker => vec![Draft::new(
            1,
            provider::get("anthropic").expect("catalogue"),
            KeyRef::store("claude-oauth").with_note(
                "a /login OAuth credential; ANTHROPIC_AUTH_TOKEN and ANTHROPIC_API_KEY take precedence over it",
            ),
        )],
        Parsed::Doc(doc) => settings(ctx, doc),
        _ => Vec::new(),
    }
}

fn settings(ctx: &FileCtx, doc: &Node) -> Vec<Draft> {
    let mut out = Vec::new();
    let env = doc.get("env");
    let base = env.and_then(|e| str_at(e, "ANTHROPIC_BASE_URL"));
    let p = base.and_then(provider::by_url).unwrap_or_else(|| provider::get("anthropic").expect("catalogue"));
    let model = env.and_then(|e| str_at(e, "ANTHROPIC_MODEL")).or_else(|| str_at(doc, "model")).map(str::to_string);
    // Base URL for Claude Code has no /v1: the SDK appends /v1/messages.
    let base_for = |d: Draft| d.base(base, "config");
    let token = env.and_then(|e| e.get("ANTHROPIC_AUTH_TOKEN"));
    let api_key = env.and_then(|e| e.get("ANTHROPIC_API_KEY"));
    if let (Some(e), Some(t)) = (env, token) {
        let key = ctx.key_from_node(Some(t), p).unwrap_or_else(KeyRef::none);
        out.push(base_for(
            Draft::new(e.key_line("ANTHROPIC_AUTH_TOKEN").unwrap_or(t.line), p, key)
                .pointer(pointer(&["env", "ANTHROPIC_AUTH_TOKEN"]))
                .model(model.clone())
                .auth(AuthHeader::Authorization, Scheme::Bearer),
        ));
    }
    if let (Some(e), Some(k)) = (env, api_key) {
        // ANTHROPIC_API_KEY="" next to a token is the documented OpenRouter set-up: no site.
        let empty = k.as_str().is_some_and(str::is_empty);
        if !(empty && token.is_some()) {
            let key = ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none);
            out.push(base_for(
                Draft::new(e.key_line("ANTHROPIC_API_KEY").unwrap_or(k.line), p, key)
                    .pointer(pointer(&["env", "ANTHROPIC_API_KEY"]))
                    .model(model.clone())
                    .auth(AuthHeader::XApiKey, Scheme::Raw),
            ));
        }
    }
    if let Some(h) = str_at(doc, "apiKeyHelper") {
        let mut d = Draft::new(doc.key_line("apiKeyHelper").unwrap_or(1), p, KeyRef::command(&resolve_tilde(ctx, h)))
            .pointer(pointer(&["apiKeyHelper"]))
            .model(model.clone());
        d = d.auth(AuthHeader::XApiKey, Scheme::Raw);
        out.push(base_for(d));
    }
    // A base URL with no key in the file: the key comes from the environment.
    if out.is_empty() && base.is_some() {
        let line = env.and_then(|e| e.key_line("ANTHROPIC_BASE_URL")).unwrap_or(1);
        out.push(base_for(
            Draft::new(
                line,
                p,
                KeyRef::env("ANTHROPIC_AUTH_TOKEN", None)
                    .with_note("or ANTHROPIC_API_KEY (sent as x-api-key); both set → both headers"),
            )
            .pointer(pointer(&["env", "ANTHROPIC_BASE_URL"]))
            .model(model)
            .auth(AuthHeader::Authorization, Scheme::Bearer),
        ));
    }
    out
}

/// `~/bin/helper` → an absolute path: records never hold `~`.
fn resolve_tilde(ctx: &FileCtx, cmd: &str) -> String {
    match cmd.strip_prefix("~/") {
        Some(rest) => ctx.home.join(rest).display().to_string(),
        None => cmd.to_string(),
    }
}
