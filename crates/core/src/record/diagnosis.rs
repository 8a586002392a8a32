//! `diagnoses`: what keyhole-classify (and keyhole-capture) conclude, root
//! cause first (docs/records.md#diagnoses; the codes: docs/records.md#diagnosis-codes).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Extra;

/// How bad a diagnosis is. `error` makes a stage exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl PartialEq<&str> for Severity {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// A diagnosis code (docs/records.md#diagnosis-codes).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum Code {
            $($(#[doc = $doc])* #[serde(rename = $text)] $variant,)*
        }

        impl Code {
            /// Every code, in the order of the table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }

            pub fn parse(s: &str) -> Option<Code> {
                match s {
                    $($text => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// The key was accepted.
    Ok = "ok",
    /// No key is configured for a provider that needs one.
    KeyNone = "key.none",
    /// The tool sends substitution text as the key.
    KeyPlaceholder = "key.placeholder",
    /// The variable the tool reads is set nowhere the tool can see.
    KeyEnvUnset = "key.env_unset",
    /// The variable is assigned but not exported.
    KeyNotExported = "key.not_exported",
    /// The export sits below an interactive-only guard.
    KeyAfterGuard = "key.after_guard",
    /// The variable is defined in a file this launch context never reads.
    KeyWrongFile = "key.wrong_file",
    /// The running process started without the current definition.
    KeyStaleProcess = "key.stale_process",
    /// A source of higher precedence gives the tool a different key.
    KeyShadowed = "key.shadowed",
    /// The value has flaws (whitespace, quotes, a prefix, the wrong length).
    KeyMalformed = "key.malformed",
    /// The key belongs to another provider.
    KeyWrongProvider = "key.wrong_provider",
    /// The key is in a store keyhole cannot read.
    KeyStore = "key.store",
    /// The site is in a template (`.env.example`): an example no tool loads.
    KeyTemplate = "key.template",
    /// A key is written where the tool never reads it (`key.ignored`).
    KeyIgnored = "key.ignored",
    /// The key travels in a header the API does not read.
    HeaderWrongScheme = "header.wrong_scheme",
    /// A redirect makes the client drop the credential header.
    HeaderDroppedRedirect = "header.dropped_redirect",
    /// Something between the tool and the API strips the credential.
    HeaderDroppedProxy = "header.dropped_proxy",
    /// The base URL is wrong.
    UrlBadBase = "url.bad_base",
    /// The API received no credentials.
    AuthMissing = "auth.missing",
    /// A local server that needs no key: what the tool sends is harmless (info).
    AuthNotNeeded = "auth.not_needed",
    /// The API does not know the key.
    AuthInvalidKey = "auth.invalid_key",
    /// The key exists but is disabled.
    AuthDisabledKey = "auth.disabled_key",
    /// No credits left.
    CreditsInsufficient = "credits.insufficient",
    /// The key's own spending limit is reached.
    LimitKeyLimit = "limit.key_limit",
    /// The account is on the free tier: free models only, with a daily cap.
    LimitFreeTier = "limit.free_tier",
    /// Little is left of the balance or of the key's own limit.
    CreditsLow = "credits.low",
    /// Too many requests.
    RateLimited = "rate.limited",
    /// The model id does not exist or has no endpoint.
    ModelNotFound = "model.not_found",
    /// No endpoint of the model supports tool use.
    ModelNoToolSupport = "model.no_tool_support",
    /// A gateway passes on an upstream provider's 401.
    UpstreamAuth = "upstream.auth",
    /// Another upstream provider error.
    UpstreamError = "upstream.error",
    /// The host name did not resolve.
    NetDns = "net.dns",
    /// No connection.
    NetConnect = "net.connect",
    /// The TLS handshake failed.
    NetTls = "net.tls",
    /// No answer in time.
    NetTimeout = "net.timeout",
    /// The proxy failed.
    NetProxy = "net.proxy",
    /// The answer was larger than keyhole reads.
    NetTooLarge = "net.too_large",
    /// The exchange broke the protocol (or the key cannot be sent at all).
    NetProtocol = "net.protocol",
    /// keyhole could not work out what to send.
    NetUnresolved = "net.unresolved",
    /// The send policy kept the key from a host that is not a known API: nothing was sent.
    NetNotAllowed = "net.not_allowed",
    /// Nothing matched: the evidence is shown as it is.
    Unknown = "unknown",
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: what, how sure, the evidence, the fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Diagnosis {
    pub code: Code,
    pub severity: Severity,
    pub summary: String,
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub fix: Vec<String>,
    /// The id of the table rule that matched, when one did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rule: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Diagnosis {
    pub fn new(code: Code, severity: Severity, summary: impl Into<String>) -> Self {
        Diagnosis {
            code,
            severity,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: Vec::new(),
            rule: None,
            extra: Extra::new(),
        }
    }
    pub fn evidence(mut self, evidence: Vec<String>) -> Self {
        self.evidence = evidence;
        self
    }
    pub fn fix(mut self, fix: Vec<String>) -> Self {
        self.fix = fix;
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_and_write_their_text() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(Code::parse("key.nope"), None);
    }
}
