//! Z.ai (Zhipu GLM): OpenAI-style chat completions under /api/paas/v4
//! (api.z.ai; open.bigmodel.cn for the China platform), Bearer keys of the
//! form `<32 hex>.<16 letters and digits>`. No free key check;
//! its refusal is `token expired or incorrect`. docs/wire.md#the-long-tail.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "zai",
    display: "Z.ai (GLM)",
    aliases: &["z-ai", "zhipu", "zhipuai", "glm", "bigmodel"],
    base_url: "https://api.z.ai/api/paas/v4",
    hosts: &["api.z.ai", "open.bigmodel.cn"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &[],
    key_len: None,
    key_body: None,
    key_page: "https://z.ai/manage-apikey/apikey-list",
    key_pattern: Some(r"\b[0-9a-f]{32}\.[A-Za-z0-9]{16}\b"),
    key_vars: &["ZAI_API_KEY", "ZHIPUAI_API_KEY", "GLM_API_KEY"],
    base_vars: &["ZAI_API_BASE"],
    check: None,
    completion_path: "chat/completions",
    default_model: "glm-4.5-flash",
    account: Account::none("no free account endpoint"),
    extra_headers: &[],
    model_prefix: "zai/",
    answers: &[ErrorBody {
        id: "token-expired-or-incorrect",
        status: 401,
        body: r#"{"error":{"code":"401","message":"token expired or incorrect"}}"#,
        message: "token expired or incorrect",
        code: None,
        means: Meaning::InvalidKey,
        seen: "a refused key at api.z.ai: autohandai/code-cli#206, #383; the envelope as open.bigmodel.cn writes it (\"令牌已过期或验证不正确\"): zhipuai/zhipuai-sdk-python#25",
    }],
};
