//! Cerebras: OpenAI-compatible under /v1, Bearer keys starting csk-; GET
//! models is its key check. No error body of its own is catalogued yet.
//! docs/wire.md#the-long-tail.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "cerebras",
    display: "Cerebras",
    aliases: &[],
    base_url: "https://api.cerebras.ai/v1",
    hosts: &["api.cerebras.ai"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["csk-"],
    key_len: None,
    key_body: None,
    key_page: "https://cloud.cerebras.ai/platform",
    key_pattern: Some(r"csk-[A-Za-z0-9]{16,}"),
    key_vars: &["CEREBRAS_API_KEY"],
    base_vars: &["CEREBRAS_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "llama3.1-8b",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "cerebras/",
    answers: &[],
};
