//! Ollama: docs/wire.md#ollama. No authentication at all: a 401 from an
//! Ollama URL comes from a reverse proxy in front of it.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "ollama",
    display: "Ollama",
    aliases: &[],
    base_url: "http://localhost:11434/v1",
    hosts: &["localhost:11434", "127.0.0.1:11434"],
    auth_header: AuthHeader::None,
    scheme: Scheme::Raw,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &[],
    key_len: None,
    key_body: None,
    key_page: "",
    key_pattern: None,
    key_vars: &[],
    base_vars: &["OLLAMA_HOST", "OLLAMA_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("a local server: no account"),
    extra_headers: &[],
    model_prefix: "ollama/",
    answers: &[],
};
