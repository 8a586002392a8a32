//! Any OpenAI-compatible endpoint keyhole does not know by name: the base
//! URL comes from the config, the key is a Bearer token.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "openai-compatible",
    display: "OpenAI-compatible endpoint",
    aliases: &["custom", "openai-like"],
    base_url: "",
    hosts: &[],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &[],
    key_len: None,
    key_body: None,
    key_page: "",
    key_pattern: None,
    key_vars: &[],
    base_vars: &[],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("a self-hosted or unknown server: no account endpoint known"),
    extra_headers: &[],
    model_prefix: "",
    answers: &[],
};
