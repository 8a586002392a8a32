//! Azure OpenAI: docs/wire.md#azure-openai. A base URL per resource, the
//! key in `api-key`, the models listing as the free key check; and Azure
//! API Management in front of it, which reads `Ocp-Apim-Subscription-Key`.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "azure",
    display: "Azure OpenAI",
    aliases: &["azure-openai", "azureopenai"],
    base_url: "",
    hosts: &[".openai.azure.com", ".cognitiveservices.azure.com"],
    auth_header: AuthHeader::ApiKey,
    scheme: Scheme::Raw,
    also_accepts: &[],
    reads_first: None,
    openai_base: "",
    key_prefixes: &[],
    key_len: Some(32),
    // 32 hex digits, or 84 letters and digits (newer resources); no prefix.
    key_body: Some(KeyBody { lens: &[32, 84], alphabet: Alphabet::Alnum, ends: "" }),
    key_page: "",
    // 32 hex digits as a word of its own; longer hex words go too (keys of
    // 64, a gateway's hash of a key), `req_` + 32 hex, a request id, does not.
    key_pattern: Some(r"(?-u:\b)[0-9a-fA-F]{32,}(?-u:\b)"),
    key_vars: &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"],
    base_vars: &["AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE"],
    // The resource's models listing, beside the deployments (`…/openai/deployments/NAME`
    // is what clients join chat/completions to), with the client's api-version.
    check: Some(KeyCheck { method: "GET", path: "/openai/models" }),
    completion_path: "chat/completions",
    default_model: "",
    account: Account::none("no account endpoint with the key: quota is per deployment, in the Azure portal"),
    extra_headers: &[],
    model_prefix: "azure/",
    answers: &[ErrorBody {
        id: "invalid-key",
        status: 401,
        body: r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#,
        message: "Access denied due to invalid subscription key or wrong API endpoint",
        code: None,
        means: Meaning::InvalidKey,
        seen: "a wrong key or regional endpoint: SciSharp/BotSharp#386, microsoft/semantic-kernel#10337 (newer: code \"Unauthorized\", vercel/chatbot#588)",
    }],
};

/// Azure API Management in front of Azure OpenAI (continuedev/continue#4601):
/// its own host, its subscription key in `Ocp-Apim-Subscription-Key` (or
/// `api-key`, as an Azure OpenAI API imported in the portal is set up), the
/// routes of the Azure OpenAI API behind it.
pub const APIM: Provider = Provider {
    name: "azure-apim",
    display: "Azure API Management",
    aliases: &["apim", "azure-api-management"],
    hosts: &[".azure-api.net"],
    auth_header: AuthHeader::OcpApimSubscriptionKey,
    also_accepts: &[AuthHeader::ApiKey],
    key_vars: &[],
    base_vars: &[],
    model_prefix: "",
    answers: &[
        ErrorBody {
            id: "no-key",
            status: 401,
            body: r#"{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API." }"#,
            message: "Access denied due to missing subscription key",
            code: None,
            means: Meaning::NoCredentials,
            seen: "API Management's built-in subscription check, no key in its header: continuedev/continue#4601",
        },
        ErrorBody {
            id: "invalid-key",
            status: 401,
            body: r#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription." }"#,
            message: "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription",
            code: None,
            means: Meaning::InvalidKey,
            seen: "API Management's built-in subscription check, a wrong key",
        },
    ],
    ..PROVIDER
};
