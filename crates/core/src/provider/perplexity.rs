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
    answers: &[],
};
