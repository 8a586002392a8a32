//! Fireworks AI: OpenAI-compatible under /inference/v1, Bearer keys
//! starting fw_. No error body of its own is catalogued yet.
//! docs/wire.md#the-long-tail.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "fireworks",
    display: "Fireworks AI",
    aliases: &["fireworks-ai", "fireworksai"],
    base_url: "https://api.fireworks.ai/inference/v1",
    hosts: &["api.fireworks.ai"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["fw_"],
    key_len: None,
    key_body: None,
    key_page: "https://fireworks.ai/account/api-keys",
    key_pattern: Some(r"fw_[A-Za-z0-9]{16,}"),
    key_vars: &["FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY"],
    base_vars: &["FIREWORKS_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "accounts/fireworks/models/llama-v3p1-8b-instruct",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "fireworks_ai/",
    answers: &[],
};
