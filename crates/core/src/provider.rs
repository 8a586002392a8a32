//! The provider catalogue (docs/catalogue.md): one entry per API, as data.
//!
//! Adding a provider means adding one entry here (and its rows in the test
//! imitation); nothing else in the code names a provider's URL or key shape.

use serde::Serialize;

/// Where the key travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthHeader {
    Authorization,
    XApiKey,
    ApiKey,
    XGoogApiKey,
    #[serde(rename = "query:key")]
    QueryKey,
    None,
}

impl AuthHeader {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthHeader::Authorization => "authorization",
            AuthHeader::XApiKey => "x-api-key",
            AuthHeader::ApiKey => "api-key",
            AuthHeader::XGoogApiKey => "x-goog-api-key",
            AuthHeader::QueryKey => "query:key",
            AuthHeader::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<AuthHeader> {
        Some(match s.to_ascii_lowercase().as_str() {
            "authorization" => AuthHeader::Authorization,
            "x-api-key" => AuthHeader::XApiKey,
            "api-key" => AuthHeader::ApiKey,
            "x-goog-api-key" => AuthHeader::XGoogApiKey,
            "query:key" | "key" => AuthHeader::QueryKey,
            "none" => AuthHeader::None,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Bearer,
    Raw,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "bearer",
            Scheme::Raw => "raw",
        }
    }
}

/// The free request that tells whether a key works.
#[derive(Clone, Copy, Debug)]
pub struct KeyCheck {
    pub method: &'static str,
    /// Joined to the base URL.
    pub path: &'static str,
}

#[derive(Debug)]
pub struct Provider {
    pub name: &'static str,
    pub display: &'static str,
    /// Default API base URL (what OpenAI-style clients call `base_url`).
    pub base_url: &'static str,
    /// Host names that identify this provider in a base URL.
    pub hosts: &'static [&'static str],
    pub auth_header: AuthHeader,
    pub scheme: Scheme,
    /// Key prefixes, most specific first.
    pub key_prefixes: &'static [&'static str],
    /// Fixed key length in bytes, where the provider has one.
    pub key_len: Option<usize>,
    /// Well-known variables that hold this provider's key, most common first.
    pub key_vars: &'static [&'static str],
    /// Well-known variables that hold this provider's base URL.
    pub base_vars: &'static [&'static str],
    pub check: Option<KeyCheck>,
    /// Headers the API requires on every request.
    pub extra_headers: &'static [(&'static str, &'static str)],
    /// Prefix LiteLLM-style model ids use for this provider (`openrouter/…`).
    pub model_prefix: &'static str,
    /// Error messages meaning "the request carried no credential at all"
    /// (docs/wire.md#providers), as opposed to a wrong one.
    pub no_credentials_messages: &'static [&'static str],
}

pub static PROVIDERS: &[Provider] = &[
    Provider {
        name: "openrouter",
        display: "OpenRouter",
        base_url: "https://openrouter.ai/api/v1",
        hosts: &["openrouter.ai"],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &["sk-or-v1-"],
        key_len: Some(73),
        key_vars: &["OPENROUTER_API_KEY", "OR_API_KEY", "OPENROUTER_KEY"],
        base_vars: &["OPENROUTER_API_BASE", "OPENROUTER_BASE_URL"],
        check: Some(KeyCheck { method: "GET", path: "key" }),
        extra_headers: &[],
        no_credentials_messages: &["No cookie auth credentials found", "No auth credentials found"],
        model_prefix: "openrouter/",
    },
    Provider {
        name: "openai",
        display: "OpenAI",
        base_url: "https://api.openai.com/v1",
        hosts: &["api.openai.com"],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
        key_len: None,
        key_vars: &["OPENAI_API_KEY"],
        base_vars: &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &["You didn't provide an API key"],
        model_prefix: "openai/",
    },
    Provider {
        name: "anthropic",
        display: "Anthropic",
        base_url: "https://api.anthropic.com/v1",
        hosts: &["api.anthropic.com"],
        auth_header: AuthHeader::XApiKey,
        scheme: Scheme::Raw,
        key_prefixes: &["sk-ant-api03-", "sk-ant-oat01-", "sk-ant-admin01-", "sk-ant-"],
        key_len: None,
        key_vars: &["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"],
        base_vars: &["ANTHROPIC_BASE_URL"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[("anthropic-version", "2023-06-01")],
        no_credentials_messages: &["x-api-key header is required"],
        model_prefix: "anthropic/",
    },
    Provider {
        name: "gemini",
        display: "Google Gemini",
        base_url: "https://generativelanguage.googleapis.com/v1beta",
        hosts: &["generativelanguage.googleapis.com"],
        auth_header: AuthHeader::XGoogApiKey,
        scheme: Scheme::Raw,
        key_prefixes: &["AIza"],
        key_len: Some(39),
        key_vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        base_vars: &["GEMINI_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &["Method doesn't allow unregistered callers"],
        model_prefix: "gemini/",
    },
    Provider {
        name: "azure",
        display: "Azure OpenAI",
        base_url: "",
        hosts: &[".openai.azure.com"],
        auth_header: AuthHeader::ApiKey,
        scheme: Scheme::Raw,
        key_prefixes: &[],
        key_len: Some(32),
        key_vars: &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"],
        base_vars: &["AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE"],
        check: None,
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "azure/",
    },
    Provider {
        name: "deepseek",
        display: "DeepSeek",
        base_url: "https://api.deepseek.com/v1",
        hosts: &["api.deepseek.com"],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &["sk-"],
        key_len: None,
        key_vars: &["DEEPSEEK_API_KEY"],
        base_vars: &["DEEPSEEK_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "deepseek/",
    },
    Provider {
        name: "groq",
        display: "Groq",
        base_url: "https://api.groq.com/openai/v1",
        hosts: &["api.groq.com"],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &["gsk_"],
        key_len: None,
        key_vars: &["GROQ_API_KEY"],
        base_vars: &["GROQ_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "groq/",
    },
    Provider {
        name: "mistral",
        display: "Mistral",
        base_url: "https://api.mistral.ai/v1",
        hosts: &["api.mistral.ai"],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &[],
        key_len: None,
        key_vars: &["MISTRAL_API_KEY"],
        base_vars: &["MISTRAL_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "mistral/",
    },
    Provider {
        name: "xai",
        display: "xAI",
        base_url: "https://api.x.ai/v1",
        hosts: &["api.x.ai"],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &["xai-"],
        key_len: None,
        key_vars: &["XAI_API_KEY"],
        base_vars: &["XAI_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "xai/",
    },
    Provider {
        name: "litellm",
        display: "LiteLLM proxy",
        base_url: "http://localhost:4000",
        hosts: &[],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &["sk-"],
        key_len: None,
        key_vars: &["LITELLM_MASTER_KEY", "LITELLM_PROXY_API_KEY", "LITELLM_API_KEY"],
        base_vars: &["LITELLM_PROXY_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "key/info" }),
        extra_headers: &[],
        no_credentials_messages: &["No api key passed in"],
        model_prefix: "litellm_proxy/",
    },
    Provider {
        name: "ollama",
        display: "Ollama",
        base_url: "http://localhost:11434/v1",
        hosts: &["localhost:11434", "127.0.0.1:11434"],
        auth_header: AuthHeader::None,
        scheme: Scheme::Raw,
        key_prefixes: &[],
        key_len: None,
        key_vars: &[],
        base_vars: &["OLLAMA_HOST", "OLLAMA_API_BASE"],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "ollama/",
    },
    Provider {
        name: "openai-compatible",
        display: "OpenAI-compatible endpoint",
        base_url: "",
        hosts: &[],
        auth_header: AuthHeader::Authorization,
        scheme: Scheme::Bearer,
        key_prefixes: &[],
        key_len: None,
        key_vars: &[],
        base_vars: &[],
        check: Some(KeyCheck { method: "GET", path: "models" }),
        extra_headers: &[],
        no_credentials_messages: &[],
        model_prefix: "",
    },
];

pub fn get(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name)
}

/// Map the many spellings tools use (`open_router`, `OpenRouter`, `google`,
/// `claude`…) to a catalogue name.
pub fn normalize(name: &str) -> Option<&'static Provider> {
    let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    let canon = match n.as_str() {
        "open-router" | "openrouter" => "openrouter",
        "openai" | "openai-api" => "openai",
        "anthropic" | "claude" => "anthropic",
        "gemini" | "google" | "google-gemini" | "googleai" | "google-ai-studio" => "gemini",
        "azure" | "azure-openai" | "azureopenai" => "azure",
        "deepseek" => "deepseek",
        "groq" => "groq",
        "mistral" | "mistralai" => "mistral",
        "xai" | "grok" => "xai",
        "litellm" | "litellm-proxy" => "litellm",
        "ollama" => "ollama",
        "openai-compatible" | "custom" | "openai-like" | "lmstudio" | "vllm" => "openai-compatible",
        _ => return None,
    };
    get(canon)
}

/// The provider a base URL points at, by host.
pub fn by_url(url: &str) -> Option<&'static Provider> {
    let host = url_host(url)?;
    PROVIDERS.iter().find(|p| {
        p.hosts.iter().any(|h| {
            if let Some(suffix) = h.strip_prefix('.') {
                host.ends_with(suffix)
            } else if h.contains(':') {
                url_authority(url).as_deref() == Some(*h)
            } else {
                host == *h
            }
        })
    })
}

/// The provider named by a well-known key variable (`OPENROUTER_API_KEY`…).
pub fn by_key_var(var: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.key_vars.contains(&var))
}

/// The provider of a LiteLLM-style model id (`openrouter/anthropic/claude…`),
/// and the id the provider itself sees.
pub fn by_model_prefix(model: &str) -> Option<(&'static Provider, &str)> {
    PROVIDERS
        .iter()
        .filter(|p| !p.model_prefix.is_empty())
        .find_map(|p| model.strip_prefix(p.model_prefix).map(|rest| (p, rest)))
}

/// The longest known prefix a key starts with, and its provider.
pub fn known_prefix(value: &str) -> Option<(&'static str, &'static str)> {
    let mut best: Option<(&'static str, &'static str)> = None;
    for p in PROVIDERS {
        for pre in p.key_prefixes {
            if value.starts_with(pre) && best.is_none_or(|(_, b)| pre.len() > b.len()) {
                best = Some((p.name, pre));
            }
        }
    }
    best
}

fn url_authority(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let auth = rest.split(['/', '?', '#']).next()?;
    let auth = auth.rsplit('@').next()?;
    Some(auth.to_ascii_lowercase())
}

/// The host of a URL, lowercase, without port or credentials.
pub fn url_host(url: &str) -> Option<String> {
    let auth = url_authority(url)?;
    if let Some(v6) = auth.strip_prefix('[') {
        return v6.split(']').next().map(str::to_string);
    }
    Some(auth.split(':').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(by_url("https://openrouter.ai/api/v1/").unwrap().name, "openrouter");
        assert_eq!(by_url("https://x.openai.azure.com/openai").unwrap().name, "azure");
        assert!(by_url("http://127.0.0.1:9/api/v1").is_none());
        assert_eq!(by_url("http://localhost:11434").unwrap().name, "ollama");
        assert_eq!(known_prefix("sk-or-v1-abc"), Some(("openrouter", "sk-or-v1-")));
        assert_eq!(known_prefix("sk-abc").unwrap().1, "sk-");
        assert_eq!(by_model_prefix("openrouter/anthropic/x").unwrap().1, "anthropic/x");
        assert_eq!(normalize("open_router").unwrap().name, "openrouter");
        assert_eq!(by_key_var("GEMINI_API_KEY").unwrap().name, "gemini");
    }
}
