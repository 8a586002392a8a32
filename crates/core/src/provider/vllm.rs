//! vLLM's OpenAI-compatible server (`vllm serve`, port 8000): no key
//! unless it was started with `--api-key` (or `VLLM_API_KEY` in its
//! environment); then a Bearer token equal to that value. Any key a tool
//! sends to a server without one is ignored. docs/wire.md#local-servers.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "vllm",
    display: "vLLM",
    aliases: &["hosted-vllm"],
    base_url: "http://localhost:8000/v1",
    hosts: &["localhost:8000", "127.0.0.1:8000"],
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
    key_vars: &["HOSTED_VLLM_API_KEY"],
    base_vars: &["HOSTED_VLLM_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("a local server: no account"),
    extra_headers: &[],
    model_prefix: "hosted_vllm/",
    answers: &[ErrorBody {
        id: "unauthorized",
        status: 401,
        body: r#"{"error":"Unauthorized"}"#,
        message: "Unauthorized",
        code: None,
        means: Meaning::Refused,
        seen: "a server started with --api-key or VLLM_API_KEY, on /v1/models without the token or with another: modal-labs/modal-examples#1105, vllm-project/vllm#22407",
    }],
};
