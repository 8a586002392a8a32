//! LM Studio's local server: OpenAI-compatible on port 1234, no
//! authentication at all. A placeholder key a tool sends anyway is
//! harmless. docs/wire.md#local-servers.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "lmstudio",
    display: "LM Studio",
    aliases: &["lm-studio"],
    base_url: "http://localhost:1234/v1",
    hosts: &["localhost:1234", "127.0.0.1:1234"],
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
    base_vars: &["LM_STUDIO_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("a local server: no account"),
    extra_headers: &[],
    model_prefix: "lm_studio/",
    answers: &[],
};
