//! OpenAI: docs/wire.md#openai. It echoes the key it got, masked, so
//! keyhole redacts response bodies.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "openai",
    display: "OpenAI",
    aliases: &["openai-api"],
    base_url: "https://api.openai.com/v1",
    hosts: &["api.openai.com"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
    key_len: None,
    key_body: None,
    key_page: "https://platform.openai.com/account/api-keys",
    key_pattern: Some(SK_KEY),
    key_vars: &["OPENAI_API_KEY"],
    base_vars: &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "gpt-4o-mini",
    account: Account::none("no free account endpoint: usage and billing need an admin key or the dashboard; only a completion shows insufficient_quota"),
    extra_headers: &[],
    model_prefix: "openai/",
    answers: &[
        ErrorBody {
            id: "no-key",
            status: 401,
            body: r#"{"error":{"message":"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":null}}"#,
            message: "You didn't provide an API key",
            code: None,
            means: Meaning::NoCredentials,
            seen: "no Authorization header, a deployment's log (2026-02)",
        },
        ErrorBody {
            id: "incorrect-key",
            status: 401,
            body: r#"{"error":{"message":"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            message: "Incorrect API key provided",
            code: Some("invalid_api_key"),
            means: Meaning::InvalidKey,
            seen: "a wrong or revoked key, echoed masked (first 8, stars, last 4; short values whole): chatanywhere/GPT_API_free#62, continuedev/continue#10250",
        },
        ErrorBody {
            id: "quota",
            status: 429,
            body: r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
            message: "You exceeded your current quota",
            code: Some("insufficient_quota"),
            means: Meaning::NoCredits,
            seen: "an account out of credit, OpenAI's error-code docs",
        },
    ],
};
