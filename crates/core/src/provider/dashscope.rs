//! Alibaba Cloud DashScope (Model Studio / Bailian): OpenAI-compatible
//! under `/compatible-mode/v1`, Bearer `sk-` keys. Keys are regional: a key
//! from the China (Beijing) console works only at `dashscope.aliyuncs.com`,
//! one from the international (Singapore) console only at
//! `dashscope-intl.aliyuncs.com`; the other host answers 401
//! `InvalidApiKey`. docs/wire.md#dashscope.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "dashscope",
    display: "Alibaba Cloud DashScope",
    aliases: &["aliyun", "bailian", "model-studio", "modelstudio", "alibaba"],
    base_url: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    // The China (Beijing) console's host, then the international
    // (Singapore) console's: a key works only at its own region's.
    hosts: &["dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &["sk-"],
    key_len: None,
    key_body: None,
    key_page: "https://bailian.console.aliyun.com/?tab=model#/api-key (China); https://modelstudio.console.alibabacloud.com/?tab=playground#/api-key (international)",
    key_pattern: Some(SK_KEY),
    key_vars: &["DASHSCOPE_API_KEY"],
    base_vars: &["DASHSCOPE_API_BASE", "DASHSCOPE_BASE_URL"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "qwen-plus",
    account: Account::none("no balance endpoint for API keys"),
    extra_headers: &[],
    model_prefix: "dashscope/",
    answers: &[
        ErrorBody {
            id: "invalid-key",
            status: 401,
            body: r#"{"error":{"message":"Incorrect API key provided. For details, see: https://www.alibabacloud.com/help/en/model-studio/error-code#apikey-error","type":"invalid_request_error","param":null,"code":"invalid_api_key"},"request_id":"00000000-0000-0000-0000-000000000000"}"#,
            // OpenAI's words, then DashScope's own link: the link tells them apart.
            message: "model-studio/error-code#apikey-error",
            code: Some("invalid_api_key"),
            means: Meaning::InvalidKey,
            seen: "the compatible-mode API, a key of the other region or a wrong key: Aider-AI/aider#4712 (via LiteLLM), BerriAI/litellm#12571 (a China key on the international host)",
        },
        ErrorBody {
            id: "invalid-key-native",
            status: 401,
            body: r#"{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"00000000-0000-0000-0000-000000000000"}"#,
            message: "Invalid API-key provided.",
            code: Some("InvalidApiKey"),
            means: Meaning::InvalidKey,
            seen: "the native API (/api/v1): dinoanderson/qwen_cli_coder#1, QwenLM/Qwen-Agent#448 (an international key on the China host)",
        },
    ],
};
