//! Mistral: OpenAI-compatible, keys without a prefix. No error body of its
//! own is catalogued yet.

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
    answers: &[],
};
