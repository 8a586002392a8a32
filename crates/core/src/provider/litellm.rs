//! The LiteLLM proxy: docs/wire.md#litellm-proxy. Its own keys (a master
//! key, virtual keys) as Bearer; an OpenAI-style envelope whose `code` is a
//! string. A gateway: its clients' hop is checked with `GET models`, which
//! needs no database, and an upstream's refusal comes back wrapped in its
//! exception text (docs/wire.md#gateways).

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "litellm",
    display: "LiteLLM proxy",
    aliases: &["litellm-proxy"],
    base_url: "http://localhost:4000",
    hosts: &[],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    // Anthropic- and Azure-style clients' headers are read too (docs/wire.md#gateways).
    also_accepts: &[AuthHeader::XApiKey, AuthHeader::ApiKey],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["sk-"],
    key_len: None,
    key_body: None,
    key_page: "",
    key_pattern: Some(SK_KEY),
    key_vars: &["LITELLM_MASTER_KEY", "LITELLM_PROXY_API_KEY", "LITELLM_API_KEY"],
    base_vars: &["LITELLM_PROXY_API_BASE"],
    // `key/info` needs the proxy's database (500 without one); the model
    // list checks the master key and virtual keys alike (docs/wire.md#gateways).
    check: Some(KeyCheck { method: "GET", path: "models" }),
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
        ErrorBody {
            id: "upstream-auth",
            status: 401,
            body: r#"{"error":{"message":"litellm.AuthenticationError: AuthenticationError: OpenrouterException - {\"error\":{\"message\":\"User not found.\",\"code\":401}}\nReceived Model Group=claude-sonnet\nAvailable Model Group Fallbacks=None","type":"auth_error","param":"None","code":"401"}}"#,
            message: "litellm.AuthenticationError",
            code: None,
            means: Meaning::Upstream,
            seen: "the upstream refused the proxy's own key for it, passed on to the client: the proxy measured (docs/wire.md#measured-clients), aider's capture of OpenrouterException - User not found.",
        },
        ErrorBody {
            id: "no-db",
            status: 500,
            body: r#"{"error":{"message":"Database not connected. Connect a database to your proxy - https://docs.litellm.ai/docs/simple_proxy#managing-auth---virtual-keys","type":"internal_server_error","param":"None","code":"500"}}"#,
            message: "Database not connected",
            code: None,
            means: Meaning::NoSuchPath,
            seen: "/key/info of a proxy without a database (older proxies); newer ones say DB not connected",
        },
        ErrorBody {
            id: "no-db-short",
            status: 500,
            body: r#"{"error":{"message":"DB not connected","type":"internal_server_error","param":"None","code":"500"}}"#,
            message: "DB not connected",
            code: None,
            means: Meaning::NoSuchPath,
            seen: "the proxy's CommonProxyErrors.db_not_connected_error, from any key or spend route without a database",
        },
    ],
};

/// The proxy's log line for a request it passed on to one model group and
/// gave up on; its evidence names the group (docs/wire.md#litellm-proxy).
pub const RELAY: Relay = Relay {
    pattern: r"model group '([^']+)' failed",
    evidence: "the LiteLLM proxy passed this on for model group '{group}' (no fallback)",
};

/// The exception text the proxy wraps an upstream's refusal in:
/// `litellm.AuthenticationError: …OpenrouterException - {…}` (docs/wire.md#gateways).
const WRAPPED: &str = r"litellm\.(?:exceptions\.)?AuthenticationError:.*?\b([A-Za-z]+)Exception - (.*)";

/// The upstream a proxy's wrapped error names (`OpenrouterException` →
/// OpenRouter), and the upstream's own words after it.
pub fn wrapped_upstream(text: &str) -> Option<(&'static Provider, &str)> {
    static RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(WRAPPED).expect("the wrapped-error pattern"));
    let c = RE.captures(text)?;
    let name = c.get(1)?.as_str();
    let upstream = super::normalize(name).filter(|p| p.name != PROVIDER.name)?;
    Some((upstream, c.get(2).map_or("", |m| m.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_upstream_refusal_names_the_upstream() {
        let a = super::super::answer("litellm.upstream-auth").unwrap();
        let (p, inner) = wrapped_upstream(a.body).unwrap();
        assert_eq!(p.name, "openrouter");
        assert!(inner.contains("User not found."), "{inner}");
        let old = "litellm.exceptions.AuthenticationError: OpenAIException - Error code: 401 - {'error': {}}";
        assert_eq!(wrapped_upstream(old).unwrap().0.name, "openai");
        assert!(wrapped_upstream("Authentication Error, No api key passed in.").is_none());
    }
}
