//! Perplexity: OpenAI-style chat completions at the API root (no /v1),
//! Bearer keys starting pplx-. It has no models list, so there is no free
//! key check: only --completion proves a key. docs/wire.md#the-long-tail.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "perplexity",
    display: "Perplexity",
    aliases: &["perplexityai", "pplx"],
    base_url: "https://api.perplexity.ai",
    hosts: &["api.perplexity.ai"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["pplx-"],
    key_len: None,
    key_body: None,
    key_page: "https://www.perplexity.ai/settings/api",
    key_pattern: Some(r"pplx-[A-Za-z0-9]{16,}"),
    key_vars: &["PERPLEXITY_API_KEY", "PERPLEXITYAI_API_KEY", "PPLX_API_KEY"],
    base_vars: &["PERPLEXITY_API_BASE"],
    check: None,
    completion_path: "chat/completions",
    default_model: "sonar",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "perplexity/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"message":"Invalid API key provided. You can find your API key at https://www.perplexity.ai/settings/api.","type":"invalid_api_key","code":401}}"#,
        message: "Invalid API key provided. You can find your API key at https://www.perplexity.ai",
        code: Some("invalid_api_key"),
        means: Meaning::InvalidKey,
        seen: "an OpenRouter key sent to Perplexity's API: openclaw/openclaw#36182",
    },
    ErrorBody {
        id: "authorization-required",
        status: 401,
        body: "<html>\n<head><title>401 Authorization Required</title></head>\n<body>\n<center><h1>401 Authorization Required</h1></center>\n<hr><center>openresty</center>\n</body>\n</html>\n",
        message: "401 Authorization Required",
        code: None,
        means: Meaning::Refused,
        seen: "an HTML page from its front server for a refused key: perplexityai/api-discussion#281, BerriAI/litellm#2584",
    }],
};
