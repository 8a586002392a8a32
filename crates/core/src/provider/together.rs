//! Together AI: OpenAI-compatible under /v1, Bearer keys (older ones 64
//! hex characters, newer ones starting tgp_v1_). docs/wire.md#the-long-tail.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "together",
    display: "Together AI",
    aliases: &["together-ai", "togetherai"],
    base_url: "https://api.together.xyz/v1",
    hosts: &["api.together.xyz", "api.together.ai"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["tgp_v1_"],
    key_len: None,
    key_body: None,
    key_page: "https://api.together.xyz/settings/api-keys",
    key_pattern: Some(r"tgp_v1_[A-Za-z0-9_-]{16,}"),
    key_vars: &["TOGETHER_API_KEY", "TOGETHERAI_API_KEY"],
    base_vars: &["TOGETHER_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "meta-llama/Llama-3.2-3B-Instruct-Turbo",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "together_ai/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"message":"Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        message: "Invalid API key provided. You can find your API key at https://api.together.xyz",
        code: Some("invalid_api_key"),
        means: Meaning::InvalidKey,
        seen: "a wrong key, quoted in harshitv804/LawGPT#4",
    }],
};
