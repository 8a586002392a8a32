//! The LiteLLM proxy: docs/wire.md#litellm-proxy. Its own keys (a master
//! key, virtual keys) as Bearer; an OpenAI-style envelope whose `code` is a
//! string.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "litellm",
    display: "LiteLLM proxy",
    aliases: &["litellm-proxy"],
    base_url: "http://localhost:4000",
    hosts: &[],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["sk-"],
    key_len: None,
    key_body: None,
    key_page: "",
    key_pattern: Some(SK_KEY),
    key_vars: &["LITELLM_MASTER_KEY", "LITELLM_PROXY_API_KEY", "LITELLM_API_KEY"],
    base_vars: &["LITELLM_PROXY_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "key/info" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("key/info holds a virtual key's spend and budget only with the proxy's database: not read"),
    extra_headers: &[],
    model_prefix: "litellm_proxy/",
    answers: &[
        ErrorBody {
            id: "no-key",
            status: 401,
            body: r#"{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}"#,
            message: "No api key passed in",
            code: None,
            means: Meaning::NoCredentials,
            seen: "no Authorization header: LiteLLM's own tests (MissingAPIKeyError) and a proxy's 401",
        },
        ErrorBody {
            id: "malformed-key",
            status: 401,
            body: r#"{"error":{"message":"Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.","type":"auth_error","param":"None","code":"401"}}"#,
            message: "Malformed API Key passed in",
            code: None,
            means: Meaning::NotAKey,
            seen: "a header without Bearer, or an empty bearer: LiteLLM's own tests (the message)",
        },
        ErrorBody {
            id: "unknown-key",
            status: 401,
            body: r#"{"error":{"message":"Authentication Error, Invalid proxy server token passed. key=<sha256 of key>, not found in db. Create key via `/key/generate` call.","type":"token_not_found_in_db","param":"key","code":"401"}}"#,
            message: "Invalid proxy server token passed",
            code: Some("token_not_found_in_db"),
            means: Meaning::InvalidKey,
            seen: "a virtual key the proxy's database does not hold: monarch-initiative/ontogpt#516",
        },
    ],
};

/// The proxy's log line for a request it passed on to one model group and
/// gave up on; its evidence names the group (docs/wire.md#litellm-proxy).
pub const RELAY: Relay = Relay {
    pattern: r"model group '([^']+)' failed",
    evidence: "the LiteLLM proxy passed this on for model group '{group}' (no fallback)",
};
