//! DeepSeek: OpenAI-compatible, Bearer keys starting sk-. A refused key is
//! `Authentication Fails`, with the key's last four characters echoed.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "deepseek",
    display: "DeepSeek",
    aliases: &[],
    base_url: "https://api.deepseek.com/v1",
    hosts: &["api.deepseek.com"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["sk-"],
    key_len: None,
    key_body: None,
    key_page: "https://platform.deepseek.com/api_keys",
    key_pattern: Some(SK_KEY),
    key_vars: &["DEEPSEEK_API_KEY"],
    base_vars: &["DEEPSEEK_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "deepseek-chat",
    account: Account {
        // GET /user/balance, from the origin (DeepSeek's API reference, "Get User Balance").
        reads: &[AccountRead {
            path: "/user/balance",
            values: &[
                (AccountValue::Available, "/is_available"),
                (AccountValue::Balance, "/balance_infos/0/total_balance"),
            ],
        }],
        none: "",
        limit_page: "",
        credits_page: "https://platform.deepseek.com/top_up",
        currency: "",
        low: 1.0,
        free_suffix: "",
        free_tier: "",
    },
    extra_headers: &[],
    model_prefix: "deepseek/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"message":"Authentication Fails, Your api key: ****{key} is invalid","type":"authentication_error","param":null,"code":"invalid_request_error"}}"#,
        message: "Authentication Fails, Your api key:",
        code: Some("authentication_error"),
        means: Meaning::InvalidKey,
        seen: "a wrong key, its last four characters echoed: continuedev/continue#9378, #11820; the body in FullStackPlayer/claude-code-launcher#3",
    },
    ErrorBody {
        id: "no-such-user",
        status: 401,
        body: r#"{"error":{"message":"Authentication Fails (no such user)","type":"authentication_error","param":null,"code":"invalid_request_error"}}"#,
        message: "Authentication Fails (no such user)",
        code: Some("authentication_error"),
        means: Meaning::InvalidKey,
        seen: "GET /v1/models and POST /chat/completions with a key of no account: nextcloud/integration_openai#182, deepseek-ai/DeepSeek-R1#82",
    }],
};
