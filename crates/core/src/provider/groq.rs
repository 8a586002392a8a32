//! Groq: OpenAI-compatible under /openai/v1, keys starting gsk_. No error
//! body of its own is catalogued yet.

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
    answers: &[],
};
