//! DeepSeek: OpenAI-compatible, Bearer keys starting sk-. No error body
//! of its own is catalogued yet.

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
    answers: &[],
};
