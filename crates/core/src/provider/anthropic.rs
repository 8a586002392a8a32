//! Anthropic: docs/wire.md#anthropic. The key travels in `x-api-key`, and
//! every request needs `anthropic-version`.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "anthropic",
    display: "Anthropic",
    aliases: &["claude"],
    base_url: "https://api.anthropic.com/v1",
    hosts: &["api.anthropic.com"],
    auth_header: AuthHeader::XApiKey,
    scheme: Scheme::Raw,
    also_accepts: &[],
    // With both, x-api-key is validated first (docs/wire.md#anthropic).
    reads_first: Some(AuthHeader::XApiKey),
    openai_base: "",
    key_prefixes: &["sk-ant-api03-", "sk-ant-oat01-", "sk-ant-admin01-", "sk-ant-"],
    key_len: None,
    // sk-ant-api03- and 95 characters ending AA: 108 in all.
    key_body: Some(KeyBody { lens: &[95], alphabet: Alphabet::Base64Url, ends: "AA" }),
    key_page: "https://console.anthropic.com/settings/keys",
    key_pattern: Some(SK_KEY),
    key_vars: &["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"],
    base_vars: &["ANTHROPIC_BASE_URL"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "messages",
    default_model: "claude-3-5-haiku-latest",
    // Where a person buys credits (keyhole-fix buy_credits, docs/fix.md#commands).
    account: Account { credits_page: "https://console.anthropic.com/settings/billing", ..Account::none("no free account endpoint: the credit balance shows only on a completion (credit balance is too low) or in the console") },
    extra_headers: &[("anthropic-version", "2023-06-01")],
    model_prefix: "anthropic/",
    answers: &[
        ErrorBody {
            id: "no-key",
            status: 401,
            body: r#"{"type":"error","error":{"type":"authentication_error","message":"x-api-key header is required"}}"#,
            message: "x-api-key header is required",
            code: Some("authentication_error"),
            means: Meaning::NoCredentials,
            seen: "no x-api-key header: karthink/gptel#354 (current answers add a request_id: n8n-io/n8n#37930)",
        },
        ErrorBody {
            id: "invalid-key",
            status: 401,
            body: r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
            message: "invalid x-api-key",
            code: Some("authentication_error"),
            means: Meaning::InvalidKey,
            seen: "a wrong key in x-api-key: eyaltoledano/claude-task-master#222; Good-player/free-claude-api-and-anthropic#14 (with a request_id)",
        },
        ErrorBody {
            id: "invalid-bearer",
            status: 401,
            body: r#"{"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}}"#,
            message: "Invalid bearer token",
            code: Some("authentication_error"),
            means: Meaning::Refused,
            seen: "a Bearer that is not a valid token: openclaw/openclaw#54350 (the message)",
        },
        ErrorBody {
            id: "oauth-not-supported",
            status: 401,
            body: r#"{"type":"error","error":{"type":"authentication_error","message":"OAuth authentication is currently not supported."}}"#,
            message: "OAuth authentication is currently not supported.",
            code: Some("authentication_error"),
            means: Meaning::Refused,
            seen: "an OAuth token as Bearer without the beta header: anthropics/claude-code#6131",
        },
        ErrorBody {
            id: "no-version",
            status: 400,
            body: r#"{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}}"#,
            message: "anthropic-version: header is required",
            code: Some("invalid_request_error"),
            means: Meaning::MissingHeader,
            seen: "a request without the anthropic-version header",
        },
        ErrorBody {
            id: "credits",
            status: 400,
            body: r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}"#,
            message: "credit balance is too low",
            code: Some("invalid_request_error"),
            means: Meaning::NoCredits,
            seen: "an account without credits",
        },
    ],
};
