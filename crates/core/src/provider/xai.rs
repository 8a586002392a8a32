//! xAI (Grok): OpenAI-compatible, keys starting xai-. A wrong key is a 400
//! (not 401) `Incorrect API key provided`, the key masked.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "xai",
    display: "xAI",
    aliases: &["grok"],
    base_url: "https://api.x.ai/v1",
    hosts: &["api.x.ai"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["xai-"],
    key_len: None,
    key_body: None,
    key_page: "https://console.x.ai",
    key_pattern: Some(r"xai-[A-Za-z0-9]{16,}"),
    key_vars: &["XAI_API_KEY"],
    base_vars: &["XAI_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "grok-3-mini",
    account: Account::none("no free account endpoint for the balance"),
    extra_headers: &[],
    model_prefix: "xai/",
    answers: &[ErrorBody {
        id: "incorrect-key",
        status: 400,
        body: r#"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: {key}. You can obtain an API key from https://console.x.ai."}"#,
        message: "You can obtain an API key from https://console.x.ai",
        code: Some("Client specified an invalid argument"),
        means: Meaning::InvalidKey,
        seen: "400, not 401, for a wrong key (a Groq key, gs***, among them), masked as xa***ys: continuedev/continue#10778, #11704, autohandai/code-cli#545",
    }],
};
