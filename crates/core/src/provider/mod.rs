//! The provider catalogue (docs/catalogue.md): one file per API, each a
//! [`Provider`] entry of data — its URLs, key shapes, the headers it reads,
//! its free key check, and every error body it is known to answer.
//!
//! Adding a provider means adding one file here and one line in
//! [`PROVIDERS`]; nothing else in the code names a provider's URL, key shape
//! or error text. keyhole-classify's rules (`{{openrouter.user-not-found}}`),
//! keyhole-capture's and the tests' imitations read the bodies from here.

use std::sync::LazyLock;

use serde::Serialize;

mod anthropic;
mod azure;
mod cerebras;
mod dashscope;
mod deepseek;
mod fireworks;
mod gemini;
mod groq;
mod litellm;
mod llamacpp;
/// A gateway's wrapped upstream error (docs/wire.md#gateways).
pub use litellm::wrapped_upstream;
mod lmstudio;
mod mistral;
mod moonshot;
mod ollama;
mod openai;
mod openai_compatible;
mod openrouter;
mod perplexity;
pub mod policy;
mod together;
mod vllm;
mod xai;
mod zai;

/// Where the key travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthHeader {
    Authorization,
    XApiKey,
    ApiKey,
    XGoogApiKey,
    /// Azure API Management's subscription key header.
    OcpApimSubscriptionKey,
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
            AuthHeader::OcpApimSubscriptionKey => "ocp-apim-subscription-key",
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
            "ocp-apim-subscription-key" => AuthHeader::OcpApimSubscriptionKey,
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

/// The characters a key body is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alphabet {
    /// `0-9a-f`.
    LowerHex,
    /// `A-Za-z0-9`.
    Alnum,
    /// `A-Za-z0-9`, `_` and `-`.
    Base64Url,
}

impl Alphabet {
    pub fn has(self, b: u8) -> bool {
        match self {
            Alphabet::LowerHex => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            Alphabet::Alnum => b.is_ascii_alphanumeric(),
            Alphabet::Base64Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
        }
    }
}

/// A key's body: what follows its prefix (the whole key where there is none).
#[derive(Clone, Copy, Debug)]
pub struct KeyBody {
    /// Its possible lengths, in characters.
    pub lens: &'static [usize],
    pub alphabet: Alphabet,
    /// The characters every body ends with (`AA` for Anthropic's), or "".
    pub ends: &'static str,
}

impl KeyBody {
    /// Is `s` exactly a body of this shape?
    pub fn fits(&self, s: &str) -> bool {
        self.lens.contains(&s.len()) && s.ends_with(self.ends) && s.bytes().all(|b| self.alphabet.has(b))
    }
    /// The longest body length.
    pub fn max_len(&self) -> usize {
        self.lens.iter().copied().max().unwrap_or(0)
    }
}

/// The free request that tells whether a key works.
#[derive(Clone, Copy, Debug)]
pub struct KeyCheck {
    pub method: &'static str,
    /// Joined to the base URL.
    pub path: &'static str,
}

/// A value of a key's account state (docs/records.md#probe, `account`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountValue {
    /// The key's own spending limit (null: none).
    Limit,
    /// What the key may still spend under its own limit.
    LimitRemaining,
    /// What the key has spent.
    Usage,
    /// The account never bought credits.
    IsFreeTier,
    /// Every credit the account bought.
    CreditsTotal,
    /// Every credit the account spent.
    CreditsUsed,
    /// What the account can still spend, where the API says it itself.
    Balance,
    /// The API says whether the balance allows requests at all.
    Available,
    /// Requests a day to free models, and what is left of them today.
    FreeDailyLimit,
    FreeDailyRemaining,
}

impl AccountValue {
    /// Its name in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountValue::Limit => "limit",
            AccountValue::LimitRemaining => "limit_remaining",
            AccountValue::Usage => "usage",
            AccountValue::IsFreeTier => "is_free_tier",
            AccountValue::CreditsTotal => "credits_total",
            AccountValue::CreditsUsed => "credits_used",
            AccountValue::Balance => "balance",
            AccountValue::Available => "available",
            AccountValue::FreeDailyLimit => "free_daily_limit",
            AccountValue::FreeDailyRemaining => "free_daily_remaining",
        }
    }
}

/// One free request that reads account state with the key itself.
#[derive(Clone, Copy, Debug)]
pub struct AccountRead {
    /// Joined to the base URL as the key check is (a path that starts with
    /// `/` is taken from the origin).
    pub path: &'static str,
    /// Where each value is in the answer: a JSON pointer (a number may come
    /// as a string).
    pub values: &'static [(AccountValue, &'static str)],
}

/// What a key's account can still do, where the API tells it for free
/// (docs/records.md#account-state).
#[derive(Clone, Copy, Debug)]
pub struct Account {
    /// The requests that read it, in order; the key check's own answer is
    /// read too when its path is one of them (no second request).
    pub reads: &'static [AccountRead],
    /// Why nothing is read, where the API has no free account endpoint.
    pub none: &'static str,
    /// Where a person raises or removes a key's own limit.
    pub limit_page: &'static str,
    /// Where a person buys credits.
    pub credits_page: &'static str,
    /// The currency the values are in, as a person writes it (`$`).
    pub currency: &'static str,
    /// A balance (or what a key's limit leaves) under this is low.
    pub low: f64,
    /// The end of a model id that costs nothing (`:free`), or "".
    pub free_suffix: &'static str,
    /// What the free tier allows, for the warning ("" when there is none).
    pub free_tier: &'static str,
}

impl Account {
    /// No free account endpoint: `why`.
    pub const fn none(why: &'static str) -> Account {
        Account {
            reads: &[],
            none: why,
            limit_page: "",
            credits_page: "",
            currency: "",
            low: 0.0,
            free_suffix: "",
            free_tier: "",
        }
    }
}

/// What an error answer says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// No credential arrived at all (never set, or dropped on the way).
    NoCredentials,
    /// A credential header arrived, but its value is not a key of this API
    /// (empty, a placeholder, another vendor's key, a key that lost its prefix).
    NotAKey,
    /// A well-formed key the API does not know (typo, deleted, revoked, expired).
    InvalidKey,
    /// The credential was refused; the answer does not say why.
    Refused,
    /// A header the API requires besides the credential is missing.
    MissingHeader,
    /// The key's own spending limit is reached.
    KeyLimit,
    /// The account has no credits or quota left for the request.
    NoCredits,
    /// Too many requests.
    RateLimited,
    /// An upstream provider's error, passed on.
    Upstream,
    /// The model does not exist or has no endpoint the request may use.
    ModelNotFound,
    /// No endpoint of the model supports the tools the request asks for.
    NoToolSupport,
    /// No such path: the base URL is wrong.
    NoSuchPath,
}

/// One error answer of a provider, as it arrives on the wire.
#[derive(Debug)]
pub struct ErrorBody {
    /// Unique within its provider; elsewhere it is `provider.id`
    /// (`openrouter.user-not-found`, as keyhole-classify's rules write it).
    pub id: &'static str,
    pub status: u16,
    /// The body as the provider sends it. `{key}` stands for the credential
    /// the provider echoes back (OpenAI does, masked).
    pub body: &'static str,
    /// The words that identify this answer, a substring of `body`: what a
    /// rule matches.
    pub message: &'static str,
    /// The machine-readable code or type in the body, where it identifies
    /// the answer (`invalid_api_key`, `API_KEY_INVALID`).
    pub code: Option<&'static str>,
    pub means: Meaning,
    /// Where the body was seen: measured, a public issue, the provider's docs.
    pub seen: &'static str,
}

impl ErrorBody {
    /// The body with `{key}` replaced by `shown` (JSON-escaped): what a
    /// provider that echoes the credential would answer.
    pub fn render(&self, shown: &str) -> String {
        if !self.body.contains("{key}") {
            return self.body.to_string();
        }
        let quoted = serde_json::to_string(shown).unwrap_or_default();
        self.body.replace("{key}", quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(""))
    }

    /// `text/html` for a page, `application/json` otherwise.
    pub fn content_type(&self) -> &'static str {
        if self.body.trim_start().starts_with('<') {
            "text/html"
        } else {
            "application/json"
        }
    }
}

#[derive(Debug)]
pub struct Provider {
    pub name: &'static str,
    pub display: &'static str,
    /// Other spellings tools use for it (`open_router`, `claude`, `google`),
    /// lower-case with `-` for `_` and spaces.
    pub aliases: &'static [&'static str],
    /// Default API base URL (what OpenAI-style clients call `base_url`).
    pub base_url: &'static str,
    /// Host names that identify this provider in a base URL (`.suffix`
    /// matches a domain's subdomains, `host:port` the authority).
    pub hosts: &'static [&'static str],
    /// The header the API reads the key from, and how it is written there.
    pub auth_header: AuthHeader,
    pub scheme: Scheme,
    /// Other credential headers the API also reads.
    pub also_accepts: &'static [AuthHeader],
    /// The header the API validates when a request carries several
    /// credential headers (a tool that sends two: docs/wire.md#claude-code).
    pub reads_first: Option<AuthHeader>,
    /// The API's OpenAI-compatible base URL, where an OpenAI-style client's
    /// `Authorization: Bearer` key is read ("" where the API is OpenAI-style
    /// itself or has none).
    pub openai_base: &'static str,
    /// Key prefixes, most specific first.
    pub key_prefixes: &'static [&'static str],
    /// Fixed key length in bytes, where the provider has one.
    pub key_len: Option<usize>,
    /// What follows the prefix in a key, where it is known: recognises a key
    /// that lost or doubled its prefix, and tells a key of this API from
    /// another's (docs/records.md#fingerprints).
    pub key_body: Option<KeyBody>,
    /// The page where a person copies a key again ("" where there is none).
    pub key_page: &'static str,
    /// A regex for the provider's keys as they show in text a server or a
    /// log wrote, masked ones too: what [`crate::secret::redact_key_shapes`]
    /// removes. Long enough that a fingerprint's `sk-or-v1-…` never matches.
    pub key_pattern: Option<&'static str>,
    /// Well-known variables that hold this provider's key, most common first.
    pub key_vars: &'static [&'static str],
    /// Well-known variables that hold this provider's base URL.
    pub base_vars: &'static [&'static str],
    pub check: Option<KeyCheck>,
    /// The completion route joined to the base URL (`--completion`):
    /// `chat/completions` for OpenAI-style APIs, `messages` for Anthropic's.
    pub completion_path: &'static str,
    /// The model a completion names when the site names none: a small one
    /// the API serves; "" for a gateway whose models are the user's own.
    pub default_model: &'static str,
    /// What the account can still do, and where it is read (docs/records.md#account-state).
    pub account: Account,
    /// Headers the API requires on every request.
    pub extra_headers: &'static [(&'static str, &'static str)],
    /// Prefix LiteLLM-style model ids use for this provider (`openrouter/…`).
    pub model_prefix: &'static str,
    /// Every error body the API is known to answer, the current wording
    /// before an older one (docs/wire.md#providers).
    pub answers: &'static [ErrorBody],
}

impl Provider {
    /// Does the API read a credential from this header (`authorization`, `x-api-key`…)?
    pub fn accepts(&self, header: &str) -> bool {
        header == self.auth_header.as_str() || self.also_accepts.iter().any(|h| h.as_str() == header)
    }

    /// Does the API read `header` at this base URL: its own headers, or
    /// `Authorization: Bearer` under its OpenAI-compatible base?
    pub fn reads_at(&self, base_url: &str, header: &str) -> bool {
        self.accepts(header) || (header == "authorization" && self.is_openai_base(base_url))
    }

    /// Is `base_url` the API's OpenAI-compatible base (`…/v1beta/openai/`)?
    pub fn is_openai_base(&self, base_url: &str) -> bool {
        !self.openai_base.is_empty()
            && base_url.trim_end_matches('/').eq_ignore_ascii_case(self.openai_base.trim_end_matches('/'))
    }

    /// Of the credential headers a request carried, the one the API
    /// validates: its `reads_first` when that one was sent, else its own
    /// header, else the first it reads.
    pub fn validates<'a>(&self, sent: &[&'a str]) -> Option<&'a str> {
        let pick = |h: AuthHeader| sent.iter().copied().find(|s| *s == h.as_str());
        self.reads_first
            .and_then(pick)
            .or_else(|| pick(self.auth_header))
            .or_else(|| sent.iter().copied().find(|s| self.accepts(s)))
    }

    /// Does this message text say that no credential arrived at all (as
    /// opposed to a wrong one)?
    pub fn says_no_credentials(&self, text: &str) -> bool {
        self.answers.iter().any(|a| a.means == Meaning::NoCredentials && text.contains(a.message))
    }

    /// The first (most current) answer with this meaning.
    pub fn answer(&self, means: Meaning) -> Option<&'static ErrorBody> {
        self.answers.iter().find(|a| a.means == means)
    }

    /// The error body this provider answers to a request that carried
    /// `arrived`: what an imitation of it sends. A provider keyhole has no
    /// bodies for answers as OpenRouter does, and so does one that lacks the
    /// body for the case (docs/wire.md#openrouter).
    pub fn answer_to(&self, arrived: Arrived) -> Option<&'static ErrorBody> {
        let or = get("openrouter")?;
        let p = if self.answers.is_empty() { or } else { self };
        match arrived {
            Arrived::Nothing => p.answer(Meaning::NoCredentials).or_else(|| or.answer(Meaning::NoCredentials)),
            Arrived::Key { prefix } if p.key_prefixes.contains(&prefix) => {
                p.answer(Meaning::InvalidKey).or_else(|| or.answer(Meaning::InvalidKey))
            }
            _ => p
                .answer(Meaning::NotAKey)
                .or_else(|| p.answer(Meaning::InvalidKey))
                .or_else(|| or.answer(Meaning::NotAKey)),
        }
    }
}

/// What a request carried as its credential, for [`Provider::answer_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrived<'a> {
    /// No credential at all.
    Nothing,
    /// A value that is no clean key: empty, a placeholder, flawed.
    Text,
    /// A clean key, with the known prefix it starts with (or "").
    Key { prefix: &'a str },
}

/// Every `sk-` key (OpenAI's, and OpenRouter's, Anthropic's, DeepSeek's and
/// LiteLLM's, which share the prefix): `sk-` and at least ten key characters,
/// `*` and `.` of a masked key included.
pub const SK_KEY: &str = r"sk-[A-Za-z0-9_\-*.]{10,}";

/// Every provider, in the order people read them (the first four are the
/// ones keyhole knows best).
/// A gateway's log line saying it passed a request on to a named group of
/// upstreams (and gave up): `pattern` captures the group's name, `evidence`
/// says it in words (`{group}`).
#[derive(Clone, Copy, Debug)]
pub struct Relay {
    pub pattern: &'static str,
    pub evidence: &'static str,
}

/// Every gateway's relay line, for log scanning.
pub static RELAYS: &[Relay] = &[litellm::RELAY];

pub static PROVIDERS: &[Provider] = &[
    openrouter::PROVIDER,
    openai::PROVIDER,
    anthropic::PROVIDER,
    gemini::PROVIDER,
    gemini::VERTEX,
    azure::PROVIDER,
    azure::APIM,
    deepseek::PROVIDER,
    dashscope::PROVIDER,
    groq::PROVIDER,
    mistral::PROVIDER,
    xai::PROVIDER,
    litellm::PROVIDER,
    together::PROVIDER,
    fireworks::PROVIDER,
    cerebras::PROVIDER,
    perplexity::PROVIDER,
    moonshot::PROVIDER,
    zai::PROVIDER,
    ollama::PROVIDER,
    lmstudio::PROVIDER,
    vllm::PROVIDER,
    llamacpp::PROVIDER,
    openai_compatible::PROVIDER,
];

impl Provider {
    /// A server people run on their own machine that needs no key (Ollama,
    /// LM Studio; vLLM and llama.cpp unless started with `--api-key`): its
    /// hosts are loopback and it has no key shape (docs/wire.md#local-servers).
    pub fn is_local_server(&self) -> bool {
        !self.hosts.is_empty()
            && self.hosts.iter().all(|h| h.starts_with("localhost:") || h.starts_with("127.0.0.1:"))
            && self.key_prefixes.is_empty()
            && self.key_pattern.is_none()
    }
}

pub fn get(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name)
}

/// An error body by its full id, `provider.id` (`openrouter.user-not-found`).
pub fn answer(full_id: &str) -> Option<&'static ErrorBody> {
    let (p, id) = full_id.split_once('.')?;
    get(p)?.answers.iter().find(|a| a.id == id)
}

/// Map the many spellings tools use (`open_router`, `OpenRouter`, `google`,
/// `claude`…) to a catalogue entry.
pub fn normalize(name: &str) -> Option<&'static Provider> {
    let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    PROVIDERS.iter().find(|p| p.name == n || p.aliases.contains(&n.as_str()))
}

/// The provider a base URL points at, by host (its OpenAI-compatible base too).
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

/// Keys of services keyhole does not probe that still turn up in logs and
/// configs next to the catalogued ones, redacted like them: (the prefix a
/// redaction marker shows, the shape). Perplexity, Hugging Face, GitHub,
/// AWS, Slack, GitLab.
pub static OTHER_KEY_SHAPES: &[(&str, &str)] = &[
    ("pplx-", r"pplx-[A-Za-z0-9]{20,}"),
    ("hf_", r"hf_[A-Za-z0-9]{30,}"),
    ("gh", r"gh[pousr]_[A-Za-z0-9]{30,}"),
    ("github_pat_", r"github_pat_[A-Za-z0-9_]{40,}"),
    ("AKIA", r"AKIA[0-9A-Z]{16}"),
    ("xox", r"xox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("glpat-", r"glpat-[A-Za-z0-9_\-]{20,}"),
];

/// Anything shaped like any provider's key: the alternation of every
/// provider's `key_pattern` and of [`OTHER_KEY_SHAPES`].
pub static KEY_SHAPES: LazyLock<regex::Regex> = LazyLock::new(|| {
    let mut patterns: Vec<&str> = Vec::new();
    let other = OTHER_KEY_SHAPES.iter().map(|(_, p)| *p);
    for p in PROVIDERS.iter().filter_map(|p| p.key_pattern).chain(other) {
        if !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    regex::Regex::new(&format!("(?:{})", patterns.join("|"))).expect("provider key patterns")
});

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
        assert_eq!(normalize("Google AI Studio").unwrap().name, "gemini");
        assert_eq!(normalize("lmstudio").unwrap().name, "lmstudio");
        assert_eq!(normalize("openai-like").unwrap().name, "openai-compatible");
        assert!(normalize("nonesuch").is_none());
        assert_eq!(by_key_var("GEMINI_API_KEY").unwrap().name, "gemini");
        assert_eq!(answer("openrouter.user-not-found").unwrap().status, 401);
        assert!(answer("openrouter.nonesuch").is_none() && answer("nonesuch").is_none());
    }

    #[test]
    fn names_aliases_and_answer_ids_are_unique() {
        let mut names: Vec<&str> =
            PROVIDERS.iter().flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied())).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len(), "a name or alias is used twice");
        for p in PROVIDERS {
            let mut ids: Vec<&str> = p.answers.iter().map(|a| a.id).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(n, ids.len(), "{}: an answer id is used twice", p.name);
        }
    }

    #[test]
    fn every_answer_holds_its_message_and_code() {
        for p in PROVIDERS {
            for a in p.answers {
                assert!(a.body.contains(a.message), "{}.{}: message not in body", p.name, a.id);
                if let Some(c) = a.code {
                    assert!(a.body.contains(c), "{}.{}: code not in body", p.name, a.id);
                }
                assert!(!a.message.is_empty() && !a.seen.is_empty(), "{}.{}", p.name, a.id);
                if a.content_type() == "application/json" {
                    let v: Result<serde_json::Value, _> = serde_json::from_str(&a.render("sk-x"));
                    assert!(v.is_ok(), "{}.{}: body is not JSON", p.name, a.id);
                }
            }
        }
    }

    #[test]
    fn no_credentials_texts() {
        let or = get("openrouter").unwrap();
        assert!(or.says_no_credentials("No cookie auth credentials found"));
        assert!(or.says_no_credentials("No auth credentials found"));
        assert!(!or.says_no_credentials("Missing Authentication header"));
        assert!(get("gemini").unwrap().says_no_credentials("Method doesn't allow unregistered callers (…)"));
        assert!(!get("azure").unwrap().answers.iter().any(|a| a.means == Meaning::NoCredentials));
        assert!(or.accepts("x-api-key") && or.accepts("authorization") && !or.accepts("api-key"));
        assert!(!get("openai").unwrap().accepts("x-api-key"));
    }

    #[test]
    fn imitated_answers() {
        let to = |p: &str, a: Arrived| get(p).unwrap().answer_to(a).unwrap().message;
        let key = |prefix| Arrived::Key { prefix };
        assert_eq!(to("openrouter", Arrived::Nothing), "No cookie auth credentials found");
        assert_eq!(to("openrouter", key("sk-or-v1-")), "User not found.");
        assert_eq!(to("openrouter", key("sk-")), "Missing Authentication header");
        assert_eq!(to("openrouter", Arrived::Text), "Missing Authentication header");
        assert_eq!(to("openai", Arrived::Text), "Incorrect API key provided");
        assert_eq!(to("anthropic", Arrived::Nothing), "x-api-key header is required");
        assert_eq!(to("anthropic", Arrived::Text), "invalid x-api-key");
        assert_eq!(to("cerebras", key("csk-")), "Missing Authentication header", "answered as OpenRouter does");
        assert_eq!(to("azure", Arrived::Nothing), "No cookie auth credentials found");
        assert_eq!(get("gemini").unwrap().answer_to(key("AIza")).unwrap().status, 400);
    }

    #[test]
    fn render_escapes_the_echoed_credential() {
        let a = answer("openai.incorrect-key").unwrap();
        let v: serde_json::Value = serde_json::from_str(&a.render("a\"b")).unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains("a\"b"));
    }

    #[test]
    fn key_shapes_cover_every_prefixed_provider() {
        for p in PROVIDERS.iter().filter(|p| p.key_pattern.is_some()) {
            for pre in p.key_prefixes {
                let key = format!("{pre}{}", "A1b2".repeat(10));
                assert!(KEY_SHAPES.is_match(&key), "{}: {pre}", p.name);
            }
        }
        assert!(!KEY_SHAPES.is_match("sk-or-v1-…9c23 (73 bytes)"), "a fingerprint is not a key");
    }
}
