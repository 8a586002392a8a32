//! llama.cpp's `llama-server`: OpenAI-compatible on port 8080, no key
//! unless started with `--api-key`. docs/wire.md#local-servers.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "llamacpp",
    display: "llama.cpp server",
    aliases: &["llama-cpp", "llama.cpp", "llama-server"],
    base_url: "http://localhost:8080/v1",
    hosts: &["localhost:8080", "127.0.0.1:8080"],
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
    base_vars: &["LLAMA_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("a local server: no account"),
    extra_headers: &[],
    model_prefix: "llamacpp/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}"#,
        message: "Invalid API Key",
        code: Some("authentication_error"),
        means: Meaning::Refused,
        seen: "llama-server started with --api-key, a request without it or with another: ggml-org/llama.cpp#14352, #22232",
    }],
};
