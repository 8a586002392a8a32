//! Azure OpenAI: docs/wire.md#azure-openai. A base URL per resource, the
//! key in `api-key`, and no free key check.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "azure",
    display: "Azure OpenAI",
    aliases: &["azure-openai", "azureopenai"],
    base_url: "",
    hosts: &[".openai.azure.com"],
    auth_header: AuthHeader::ApiKey,
    scheme: Scheme::Raw,
    also_accepts: &[],
    key_prefixes: &[],
    key_len: Some(32),
    // 32 hex digits, or 84 letters and digits (newer resources); no prefix.
    key_body: Some(KeyBody { lens: &[32, 84], alphabet: Alphabet::Alnum, ends: "" }),
    key_page: "",
    // 32 hex digits as a word of its own; longer hex words go too (keys of
    // 64, a gateway's hash of a key), `req_` + 32 hex, a request id, does not.
    key_pattern: Some(r"(?-u:\b)[0-9a-fA-F]{32,}(?-u:\b)"),
    key_vars: &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"],
    base_vars: &["AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE"],
    check: None,
    completion_path: "chat/completions",
    default_model: "",
    extra_headers: &[],
    model_prefix: "azure/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#,
        message: "Access denied due to invalid subscription key or wrong API endpoint",
        code: None,
        means: Meaning::InvalidKey,
        seen: "a wrong key or regional endpoint: SciSharp/BotSharp#386, microsoft/semantic-kernel#10337 (newer: code \"Unauthorized\", vercel/chatbot#588)",
    }],
};
