//! Google Gemini: docs/wire.md#google-gemini. A bad key is a 400 and a
//! missing one a 403: the status alone decides nothing.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "gemini",
    display: "Google Gemini",
    aliases: &["google", "google-gemini", "googleai", "google-ai-studio"],
    base_url: "https://generativelanguage.googleapis.com/v1beta",
    hosts: &["generativelanguage.googleapis.com"],
    auth_header: AuthHeader::XGoogApiKey,
    scheme: Scheme::Raw,
    also_accepts: &[],
    reads_first: None,
    openai_base: "https://generativelanguage.googleapis.com/v1beta/openai",
    key_prefixes: &["AIza"],
    key_len: Some(39),
    key_body: Some(KeyBody { lens: &[35], alphabet: Alphabet::Base64Url, ends: "" }),
    key_page: "https://aistudio.google.com/app/apikey",
    key_pattern: Some(r"AIza[0-9A-Za-z_\-]{16,}"),
    key_vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    base_vars: &["GEMINI_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "gemini-2.0-flash",
    account: Account::none("no account endpoint: quota shows only as a 429 on a completion"),
    extra_headers: &[],
    model_prefix: "gemini/",
    answers: &[
        ErrorBody {
            id: "invalid-key",
            status: 400,
            body: r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}"#,
            message: "API key not valid",
            code: Some("API_KEY_INVALID"),
            means: Meaning::InvalidKey,
            seen: "a wrong key: continuedev/continue#10290",
        },
        ErrorBody {
            id: "key-not-found",
            status: 400,
            body: r#"{"error":{"code":400,"message":"API Key not found. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#,
            message: "API Key not found",
            code: Some("API_KEY_INVALID"),
            means: Meaning::InvalidKey,
            seen: "a deleted key, newer text: google-gemini/gemini-cli#25198 (message and reason)",
        },
        ErrorBody {
            id: "no-key",
            status: 403,
            body: r#"{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}"#,
            message: "Method doesn't allow unregistered callers",
            code: Some("PERMISSION_DENIED"),
            means: Meaning::NoCredentials,
            seen: "no key: a test fixture measured against generativelanguage.googleapis.com",
        },
    ],
};
