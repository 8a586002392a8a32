//! `probe`: what the API answered to the request the tool would send
//! (docs/records.md#probe).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{is_false, Extra};
use crate::secret::Fingerprint;

/// Why no HTTP answer came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Dns,
    Connect,
    Tls,
    Timeout,
    Proxy,
    TooLarge,
    Protocol,
    /// keyhole could not work out what to send (no key-check endpoint, a key that changed…).
    Unresolved,
    /// The send policy keeps the credential from this host (README.md#security): nothing was sent.
    NotAllowed,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Proxy => "proxy",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Unresolved => "unresolved",
            ErrorKind::NotAllowed => "not_allowed",
        }
    }

    /// The diagnosis code for this failure (`net.KIND`).
    pub fn code(self) -> super::Code {
        use super::Code;
        match self {
            ErrorKind::Dns => Code::NetDns,
            ErrorKind::Connect => Code::NetConnect,
            ErrorKind::Tls => Code::NetTls,
            ErrorKind::Timeout => Code::NetTimeout,
            ErrorKind::Proxy => Code::NetProxy,
            ErrorKind::TooLarge => Code::NetTooLarge,
            ErrorKind::Protocol => Code::NetProtocol,
            ErrorKind::Unresolved => Code::NetUnresolved,
            ErrorKind::NotAllowed => Code::NetNotAllowed,
        }
    }
}

impl PartialEq<&str> for ErrorKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The request as sent (the key only as its fingerprint).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    pub method: String,
    /// The URL, credentials in it redacted.
    pub url: String,
    /// The header the key went in, or `none`.
    pub auth_header: String,
    pub fp: Option<Fingerprint>,
    /// The other credential headers sent in the same request (`site.also`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub also: Vec<SentAuth>,
    /// The key holds a byte no HTTP header may carry: it was not sent.
    #[serde(skip_serializing_if = "is_false", default)]
    pub header_invalid: bool,
    /// The trust store the server's certificate was verified against, the
    /// site's tool's (docs/wire.md#trust-stores): `system`, `node`, `bun`, `certifi`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trust: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One more credential header a request carried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SentAuth {
    pub header: String,
    pub fp: Option<Fingerprint>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One redirect hop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hop {
    pub status: u16,
    pub from: String,
    pub to: String,
    /// Whether the key went on to the next hop.
    pub auth_kept: bool,
    /// Client family → whether it keeps the credential header on this hop.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clients: Option<IndexMap<String, bool>>,
    /// The method after a 301/302/303 that turns a POST into a GET.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method_after: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The HTTP answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HttpAnswer {
    pub status: u16,
    /// The headers that matter for a diagnosis (content type, rate limits…).
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// JSON when it parses, else text; keys redacted.
    #[serde(default)]
    pub body: Value,
    #[serde(skip_serializing_if = "is_false", default)]
    pub body_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub body_error: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl HttpAnswer {
    /// The message of an error body: `error.message` (OpenAI's shape, which
    /// OpenRouter and Anthropic share) or a top-level `message`.
    pub fn error_message(&self) -> Option<&str> {
        self.body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .or_else(|| self.body.pointer("/message").and_then(Value::as_str))
    }
}

/// Why no HTTP answer came, in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeError {
    pub kind: ErrorKind,
    pub message: String,
    /// `not_allowed`: the host (`HOST` or `HOST:PORT`) that `--allow-host` would open.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host: Option<Box<str>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProbeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProbeError { kind, message: message.into(), host: None, extra: Extra::new() }
    }

    /// The send policy kept the credential from `host`: `message` says so.
    pub fn not_allowed(message: impl Into<String>, host: impl Into<String>) -> Self {
        ProbeError { host: Some(host.into().into_boxed_str()), ..ProbeError::new(ErrorKind::NotAllowed, message) }
    }
}

/// One leg of the proxy/direct comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Leg {
    /// `proxy` or `direct`.
    pub via: String,
    pub key_sent: bool,
    pub status: Option<u16>,
    pub error: Option<ProbeError>,
    pub no_credentials: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The whole `probe` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Probe {
    /// The proxy in effect (credentials redacted), or null.
    #[serde(default)]
    pub proxy: Option<String>,
    /// With a proxy that seems to strip the key: the same request via the proxy and direct.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub differential: Option<Vec<Leg>>,
    /// `proxy` when the direct request kept the key, else `unknown`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stripped_by: Option<String>,
    /// null: nothing was sent.
    #[serde(default)]
    pub request: Option<Request>,
    #[serde(default)]
    pub redirects: Vec<Hop>,
    #[serde(default)]
    pub response: Option<HttpAnswer>,
    #[serde(default)]
    pub error: Option<ProbeError>,
    #[serde(default)]
    pub elapsed_ms: u64,
    /// The values the tool does not send (`env.resolution`'s shadowed and
    /// overridden candidates), each sent the same way: which one would work.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub alternatives: Vec<Alternative>,
    /// The fix for `error` in the site's tool's own terms, when the probe
    /// knows it: a CA the system trusts and the tool's trust store does not
    /// (docs/wire.md#trust-stores).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fix: Option<Box<str>>,
    /// What the key's account can still do, read from the provider's free
    /// account endpoints after the key worked (docs/records.md#probe).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account: Option<Box<Account>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A key's account state (docs/records.md#probe, `account`): each value as
/// the provider answered it, and the URL it came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    /// The key's own spending limit (null: the key has none, or it was not read).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit_remaining: Option<f64>,
    /// What the key has spent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub usage: Option<f64>,
    /// The account never bought credits.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub is_free_tier: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credits_total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credits_used: Option<f64>,
    /// What the account can still spend: the provider's own figure, else
    /// `credits_total - credits_used` when those can be believed (not the
    /// zeros a key that has paid sometimes gets: docs/records.md#account-state).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub balance: Option<f64>,
    /// The provider says whether the balance allows requests at all.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub available: Option<bool>,
    /// Requests a day to free models, and what is left of them today.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub free_daily_limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub free_daily_remaining: Option<f64>,
    /// Value name → the URL it was read from (credentials redacted).
    #[serde(default)]
    pub from: IndexMap<String, String>,
    /// Account requests that gave nothing to read: why, per URL.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub unread: Vec<Unread>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An account request whose answer gave nothing to read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Unread {
    pub url: String,
    #[serde(default)]
    pub status: Option<u16>,
    pub why: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A number, or a number written as a string (DeepSeek's balances).
fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).filter(|n: &f64| n.is_finite())
}

impl Account {
    /// Read the values `read` names from an answer `body` of `url`; true
    /// when at least one was there.
    pub fn take(&mut self, read: &crate::provider::AccountRead, url: &str, body: &Value) -> bool {
        use crate::provider::AccountValue as V;
        let mut any = false;
        for (what, pointer) in read.values {
            let Some(v) = body.pointer(pointer).filter(|v| !v.is_null()) else { continue };
            let set = match what {
                V::IsFreeTier => v.as_bool().map(|b| self.is_free_tier = Some(b)),
                V::Available => v.as_bool().map(|b| self.available = Some(b)),
                _ => number(v).map(|n| {
                    *match what {
                        V::Limit => &mut self.limit,
                        V::LimitRemaining => &mut self.limit_remaining,
                        V::Usage => &mut self.usage,
                        V::CreditsTotal => &mut self.credits_total,
                        V::CreditsUsed => &mut self.credits_used,
                        V::Balance => &mut self.balance,
                        V::FreeDailyLimit => &mut self.free_daily_limit,
                        _ => &mut self.free_daily_remaining,
                    } = Some(n)
                }),
            };
            if set.is_some() {
                self.from.insert(what.as_str().to_string(), url.to_string());
                any = true;
            }
        }
        any
    }

    /// The balance from the credits, once every answer is read. Zeros from
    /// an account that has paid (`is_free_tier: false`) or spent are not
    /// an empty account: OpenRouter's credits answers them for some
    /// inference keys (docs/records.md#account-state); they are left unread.
    pub fn finish(&mut self) {
        if self.balance.is_some() {
            return;
        }
        let (Some(total), Some(used)) = (self.credits_total, self.credits_used) else { return };
        let zeros = total == 0.0 && used == 0.0;
        if zeros && (self.is_free_tier == Some(false) || self.usage.is_some_and(|u| u > 0.0)) {
            let url = self.from.get("credits_total").cloned().unwrap_or_default();
            self.unread.push(Unread {
                url,
                status: Some(200),
                why: "zeros for a key that has paid or spent: not read as an empty account".into(),
                extra: Extra::new(),
            });
            return;
        }
        self.balance = Some(((total - used) * 1e6).round() / 1e6);
        self.from.insert("balance".into(), self.from.get("credits_total").cloned().unwrap_or_default());
    }

    /// Nothing was read.
    pub fn is_empty(&self) -> bool {
        self.from.is_empty() && self.unread.is_empty()
    }
}

/// One value the tool does not send, probed as the tool would send it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alternative {
    /// The candidate's place: a file, `process:PID` or `environment`.
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    /// The value's sha8 (its fingerprint is in `env.resolution`).
    pub sha8: String,
    #[serde(default)]
    pub status: Option<u16>,
    /// The API accepted it (2xx).
    pub works: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ProbeError>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Probe {
    /// A probe that sent nothing because of `error`.
    pub fn failed(kind: ErrorKind, message: impl Into<String>) -> Self {
        Probe { error: Some(ProbeError::new(kind, message)), ..Default::default() }
    }
    /// The HTTP status, when an answer came.
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider;

    #[test]
    fn account_values_by_pointer_and_credits_that_cannot_be_believed() {
        let ds = provider::get("deepseek").unwrap().account.reads[0];
        let mut a = Account::default();
        let body =
            serde_json::json!({"is_available":false,"balance_infos":[{"currency":"CNY","total_balance":"0.00"}]});
        assert!(a.take(&ds, "https://api.deepseek.com/user/balance", &body));
        a.finish();
        assert_eq!((a.available, a.balance), (Some(false), Some(0.0)));
        assert_eq!(a.from["balance"], "https://api.deepseek.com/user/balance");

        let or = provider::get("openrouter").unwrap().account.reads;
        let mut a = Account::default();
        a.take(&or[0], "k", &serde_json::json!({"data":{"is_free_tier":false,"usage":3,"limit":null}}));
        a.take(&or[1], "c", &serde_json::json!({"data":{"total_credits":0,"total_usage":0}}));
        a.finish();
        assert_eq!((a.limit, a.balance, a.unread.len()), (None, None, 1), "zeros for a key that has paid");
    }
}
