//! Groq: OpenAI-compatible under /openai/v1, keys starting gsk_. A refused
//! key is OpenAI's envelope with `Invalid API Key`.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "groq",
    display: "Groq",
    aliases: &[],
    base_url: "https://api.groq.com/openai/v1",
    hosts: &["api.groq.com"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["gsk_"],
    key_len: None,
    key_body: None,
    key_page: "https://console.groq.com/keys",
    key_pattern: Some(r"gsk_[A-Za-z0-9]{16,}"),
    key_vars: &["GROQ_API_KEY"],
    base_vars: &["GROQ_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "llama-3.1-8b-instant",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "groq/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        message: "Invalid API Key",
        code: Some("invalid_api_key"),
        means: Meaning::InvalidKey,
        seen:
            "a wrong key (an xAI key among them): ag5826000/resume-commentor#4 with Groq's headers, nark/WiredSwift#44",
    }],
};
