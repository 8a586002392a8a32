//! Google Gemini: docs/wire.md#google-gemini. A bad key is a 400 and a
//! missing one a 403: the status alone decides nothing.

use super::*;

pub const PROVIDER: Provider = Provider {
    name: "gemini",
    display: "Google Gemini",
    aliases: &["google", "google-gemini", "googleai", "google-ai-studio"],
    base_url: "https://generativelanguage.googleapis.com/v1beta",
    hosts: &["generativelanguage.googleapis.com"],
    auth_header: AuthHeader::XGoogApiKey,
    scheme: Scheme::Raw,
    also_accepts: &[],
    reads_first: None,
    openai_base: "https://generativelanguage.googleapis.com/v1beta/openai",
    key_prefixes: &["AIza"],
    key_len: Some(39),
    key_body: Some(KeyBody { lens: &[35], alphabet: Alphabet::Base64Url, ends: "" }),
    key_page: "https://aistudio.google.com/app/apikey",
    key_pattern: Some(r"AIza[0-9A-Za-z_\-]{16,}"),
    key_vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    base_vars: &["GEMINI_API_BASE"],
    check: Some(KeyCheck { method: "GET", path: "models" }),
    completion_path: "chat/completions",
    default_model: "gemini-2.0-flash",
    account: Account::none("no account endpoint: quota shows only as a 429 on a completion"),
    extra_headers: &[],
    model_prefix: "gemini/",
    answers: &[
        ErrorBody {
            id: "invalid-key",
            status: 400,
            body: r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}"#,
            message: "API key not valid",
            code: Some("API_KEY_INVALID"),
            means: Meaning::InvalidKey,
            seen: "a wrong key: continuedev/continue#10290",
        },
        ErrorBody {
            id: "key-not-found",
            status: 400,
            body: r#"{"error":{"code":400,"message":"API Key not found. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#,
            message: "API Key not found",
            code: Some("API_KEY_INVALID"),
            means: Meaning::InvalidKey,
            seen: "a deleted key, newer text: google-gemini/gemini-cli#25198 (message and reason)",
        },
        ErrorBody {
            id: "no-key",
            status: 403,
            body: r#"{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}"#,
            message: "Method doesn't allow unregistered callers",
            code: Some("PERMISSION_DENIED"),
            means: Meaning::NoCredentials,
            seen: "no key: a test fixture measured against generativelanguage.googleapis.com",
        },
        ErrorBody {
            id: "bearer-not-oauth",
            status: 401,
            body: r#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.","status":"UNAUTHENTICATED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_TYPE_UNSUPPORTED","metadata":{"service":"generativelanguage.googleapis.com","method":"google.ai.generativelanguage.v1beta.ModelService.ListModels"}}]}}"#,
            message: "Expected OAuth 2 access token",
            code: Some("ACCESS_TOKEN_TYPE_UNSUPPORTED"),
            means: Meaning::NotAKey,
            seen: "an AIza key sent as Authorization: Bearer to the native API (the OpenAI-compatible /openai/ surface takes it): dimetron/pi-go#297 (its header table), NousResearch/hermes-agent#26284",
        },
        ErrorBody {
            id: "both-headers",
            status: 400,
            body: r#"{"error":{"code":400,"message":"Multiple authentication credentials received. Please pass only one.","status":"INVALID_ARGUMENT"}}"#,
            message: "Multiple authentication credentials received",
            code: Some("INVALID_ARGUMENT"),
            means: Meaning::Refused,
            seen: "x-goog-api-key and the OpenAI SDK's Authorization: Bearer in one request: NousResearch/hermes-agent#9247 (the message)",
        },
        ErrorBody {
            id: "both-headers-401",
            status: 401,
            body: r#"{"error":{"code":401,"message":"API key should not be used with other authentication credentials.","status":"UNAUTHENTICATED"}}"#,
            message: "used with other authentication credentials",
            code: Some("UNAUTHENTICATED"),
            means: Meaning::Refused,
            seen: "x-goog-api-key and Authorization: Bearer in one request to the native API: dimetron/pi-go#297 (its header table gives the status and these words; the rest of the sentence inferred)",
        },
    ],
};

/// Vertex AI, where Gemini CLI and Google's SDK go with
/// `GOOGLE_GENAI_USE_VERTEXAI=true`: its project routes take Google Cloud
/// credentials (an OAuth access token as Bearer), not an AI Studio key
/// (docs/wire.md#google-gemini).
pub const VERTEX: Provider = Provider {
    name: "vertex-ai",
    display: "Google Vertex AI",
    aliases: &["vertex", "vertexai", "google-vertex", "vertex_ai"],
    base_url: "https://aiplatform.googleapis.com/v1",
    // The global host; a regional one (us-central1-aiplatform…) is not
    // matched: no `.suffix` names it.
    hosts: &["aiplatform.googleapis.com"],
    auth_header: AuthHeader::Authorization,
    scheme: Scheme::Bearer,
    openai_base: "",
    // An access token from `gcloud auth print-access-token`: no fixed shape
    // keyhole checks.
    key_prefixes: &[],
    key_len: None,
    key_body: None,
    key_page: "https://cloud.google.com/vertex-ai/docs/authentication",
    key_pattern: None,
    key_vars: &[],
    base_vars: &["GOOGLE_VERTEX_BASE_URL"],
    check: None,
    default_model: "gemini-2.5-flash",
    account: Account::none("no account endpoint: quota shows only as a 429 on a completion"),
    model_prefix: "vertex_ai/",
    answers: &[ErrorBody {
        id: "api-keys-not-supported",
        status: 401,
        body: r#"{"error":{"code":401,"message":"API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal. See https://cloud.google.com/docs/authentication","status":"UNAUTHENTICATED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"CREDENTIALS_MISSING","domain":"googleapis.com","metadata":{"service":"aiplatform.googleapis.com","method":"google.cloud.aiplatform.v1.PredictionService.GenerateContent"}}]}}"#,
        message: "API keys are not supported by this API",
        code: Some("CREDENTIALS_MISSING"),
        means: Meaning::Refused,
        seen: "an AI Studio key sent to Vertex AI: Gemini CLI switched there by GOOGLE_GENAI_USE_VERTEXAI=TRUE in a project .env, google-gemini/gemini-cli#2989",
    }],
    ..PROVIDER
};
