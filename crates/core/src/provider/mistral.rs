//! Mistral: OpenAI-compatible, keys without a prefix. A refused key is a
//! bare `Unauthorized` that does not say why (a Codestral key is refused
//! at api.mistral.ai, and a new key takes minutes to work).

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "mistral",
    display: "Mistral",
    aliases: &["mistralai"],
    base_url: "https://api.mistral.ai/v1",
    hosts: &["api.mistral.ai"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &[],
    key_len: None,
    // 32 letters and digits, no prefix.
    key_body: Some(KeyBody { lens: &[32], alphabet: Alphabet::Alnum, ends: "" }),
    key_page: "https://console.mistral.ai/api-keys",
    key_pattern: None,
    key_vars: &["MISTRAL_API_KEY"],
    base_vars: &["MISTRAL_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "mistral-small-latest",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "mistral/",
    answers: &[ErrorBody {
        id: "unauthorized",
        status: 401,
        body: r#"{"detail":"Unauthorized"}"#,
        message: "Unauthorized",
        code: None,
        means: Meaning::Refused,
        seen: "GET /v1/models and POST /v1/chat/completions with a refused key: nextcloud/integration_openai#332, agent0ai/agent-zero#539",
    },
    ErrorBody {
        id: "unauthorized-request-id",
        status: 401,
        body: r#"{"message":"Unauthorized","request_id":"c61f2f15feca71626a990e3740f99245"}"#,
        message: "Unauthorized",
        code: None,
        means: Meaning::Refused,
        seen: "a Codestral key sent to api.mistral.ai (the Codestral endpoint has keys of its own): cline/cline#1734",
    }],
};
