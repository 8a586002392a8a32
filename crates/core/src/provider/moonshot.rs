//! Moonshot AI (Kimi): OpenAI-compatible under /v1, Bearer keys starting
//! sk-. Keys are regional: a key from the China console
//! (platform.moonshot.cn) is refused by the international host
//! (api.moonshot.ai) with the same "Invalid Authentication" as a wrong
//! key, and the other way round. docs/wire.md#the-long-tail.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "moonshot",
    display: "Moonshot AI (Kimi)",
    aliases: &["kimi", "moonshotai", "moonshot-ai"],
    base_url: "https://api.moonshot.ai/v1",
    hosts: &["api.moonshot.ai", "api.moonshot.cn"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["sk-"],
    key_len: None,
    key_body: None,
    key_page: "https://platform.moonshot.ai/console/api-keys",
    key_pattern: Some(SK_KEY),
    key_vars: &["MOONSHOT_API_KEY", "KIMI_API_KEY"],
    base_vars: &["MOONSHOT_BASE_URL", "MOONSHOT_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "moonshot-v1-8k",
    account: Account::none("no free account endpoint catalogued"),
    extra_headers: &[],
    model_prefix: "moonshot/",
    answers: &[ErrorBody {
        id: "invalid-authentication",
        status: 401,
        body: r#"{"error":{"message":"Invalid Authentication","type":"invalid_authentication_error"}}"#,
        message: "Invalid Authentication",
        code: Some("invalid_authentication_error"),
        means: Meaning::InvalidKey,
        seen: "a wrong key, or a China-console key sent to api.moonshot.ai: can1357/oh-my-pi#5981, cline/cline#9588",
    }],
};
