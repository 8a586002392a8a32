//! Base URLs that are not API roots, told from the URL alone before any
//! request (docs/wire.md#base-urls-that-are-not-api-roots): no scheme, a
//! listen address, the full endpoint path, a doubled `/v1`, `/v1` given to a
//! client that adds it itself, and a path that lacks the provider's prefix
//! (`openrouter.ai/v1` for `openrouter.ai/api/v1`). Each comes with the
//! corrected URL.

use crate::provider::{self, Provider};
use crate::tool::UrlJoin;

/// Endpoint paths a tool appends itself, longest first.
const ENDPOINTS: &[&str] = &["/chat/completions", "/completions", "/messages", "/responses", "/embeddings", "/models"];

/// Listen addresses: where a server listens, never where a client connects.
const LISTEN: &[&str] = &["0.0.0.0", "[::]"];

/// What is wrong with a base URL, in words, and the URL that is right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadBase {
    pub what: Vec<String>,
    pub fixed: String,
}

/// The problems of `base` as a tool joining paths with `join` uses it for
/// `provider`; `None` when it is an API root as far as the URL shows.
/// Providers whose URLs carry deployments (Azure) are not judged here.
pub fn check(base: &str, provider: Option<&Provider>, join: Option<UrlJoin>) -> Option<BadBase> {
    if provider.is_some_and(|p| p.name.starts_with("azure")) {
        return None;
    }
    let raw = base.trim();
    if raw.is_empty() {
        return None;
    }
    let mut what = Vec::new();
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => {
            let host = raw.split('/').next().unwrap_or("");
            let local = host.starts_with("localhost")
                || host.starts_with("127.")
                || LISTEN.iter().any(|l| host.starts_with(l))
                || host.starts_with("[::1]");
            what.push("it has no scheme (http:// or https://): clients fail to connect, some hang".to_string());
            (if local { "http" } else { "https" }.to_string(), raw.to_string())
        }
    };
    let (mut authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a.to_string(), format!("/{p}")),
        None => (rest.clone(), String::new()),
    };
    let (query, mut path) = match path.split_once('?') {
        Some((p, q)) => (format!("?{q}"), p.to_string()),
        None => (String::new(), path),
    };
    if let Some(l) = LISTEN.iter().find(|l| authority == **l || authority.starts_with(&format!("{l}:"))) {
        what.push(format!("{l} is the address a server listens on, not one a client connects to"));
        authority = authority.replacen(l, "127.0.0.1", 1);
    }
    let trimmed = path.trim_end_matches('/').to_string();
    if let Some(e) = ENDPOINTS.iter().find(|e| trimmed.ends_with(**e)) {
        what.push(format!("it ends with the endpoint path {e}, which the tool appends itself"));
        path = trimmed[..trimmed.len() - e.len()].to_string();
    }
    while path.contains("/v1/v1") {
        if !what.iter().any(|w| w.contains("doubles")) {
            what.push("it doubles /v1".to_string());
        }
        path = path.replacen("/v1/v1", "/v1", 1);
    }
    if join == Some(UrlJoin::AnthropicSdk) && path.trim_end_matches('/').ends_with("/v1") {
        what.push("the tool adds /v1 itself (…/v1/v1/messages)".to_string());
        let t = path.trim_end_matches('/');
        path = t[..t.len() - 3].to_string();
    }
    // A path that lacks the front of the provider's own API path on its own host.
    let host = authority.rsplit_once('@').map_or(authority.as_str(), |(_, h)| h).to_ascii_lowercase();
    let owner = provider.filter(|p| default_host(p) == Some(host.clone())).or_else(|| {
        provider::by_url(&format!("{scheme}://{authority}/")).filter(|p| default_host(p) == Some(host.clone()))
    });
    if let Some(p) = owner {
        let want = default_path(p);
        let have = path.trim_end_matches('/');
        if !have.is_empty() && have != want && want.ends_with(have) && join != Some(UrlJoin::AnthropicSdk) {
            let missing = &want[..want.len() - have.len()];
            what.push(format!("it lacks {missing}: {}'s API root is {}", p.display, p.base_url));
            path = want.to_string();
        }
    }
    if what.is_empty() {
        return None;
    }
    Some(BadBase { what, fixed: format!("{scheme}://{authority}{path}{query}") })
}

fn default_host(p: &Provider) -> Option<String> {
    let rest = p.base_url.split_once("://")?.1;
    Some(rest.split('/').next()?.to_ascii_lowercase())
}

fn default_path(p: &Provider) -> &'static str {
    let rest = p.base_url.split_once("://").map_or("", |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..]).trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(base: &str, p: &str, join: Option<UrlJoin>) -> Option<String> {
        check(base, provider::get(p), join).map(|b| b.fixed)
    }

    #[test]
    fn api_roots_pass() {
        for (b, p) in [
            ("https://openrouter.ai/api/v1", "openrouter"),
            ("https://openrouter.ai/api/v1/", "openrouter"),
            ("https://api.openai.com/v1", "openai"),
            ("http://localhost:11434/v1", "ollama"),
            ("http://localhost:4000", "litellm"),
            ("https://api.anthropic.com", "anthropic"),
            ("https://myres.openai.azure.com/openai/deployments/x/chat/completions", "azure"),
            ("https://generativelanguage.googleapis.com/v1beta/openai", "gemini"),
            ("https://api.deepseek.com", "deepseek"),
        ] {
            assert_eq!(check(b, provider::get(p), Some(UrlJoin::TrimAndAppend)), None, "{b}");
        }
        assert_eq!(check("https://api.anthropic.com", provider::get("anthropic"), Some(UrlJoin::AnthropicSdk)), None);
    }

    #[test]
    fn each_kind_is_told_with_the_corrected_url() {
        let t = Some(UrlJoin::TrimAndAppend);
        assert_eq!(fixed("https://openrouter.ai/v1", "openrouter", t).as_deref(), Some("https://openrouter.ai/api/v1"));
        assert_eq!(fixed("https://api.groq.com/v1", "groq", t).as_deref(), Some("https://api.groq.com/openai/v1"));
        assert_eq!(fixed("https://api.openai.com/v1/v1", "openai", t).as_deref(), Some("https://api.openai.com/v1"));
        assert_eq!(
            fixed("https://openrouter.ai/api/v1/chat/completions", "openrouter", t).as_deref(),
            Some("https://openrouter.ai/api/v1")
        );
        assert_eq!(fixed("openrouter.ai/api/v1", "openrouter", t).as_deref(), Some("https://openrouter.ai/api/v1"));
        assert_eq!(fixed("localhost:1234/v1", "lmstudio", t).as_deref(), Some("http://localhost:1234/v1"));
        assert_eq!(fixed("http://0.0.0.0:4000", "litellm", t).as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(
            fixed("https://api.anthropic.com/v1", "anthropic", Some(UrlJoin::AnthropicSdk)).as_deref(),
            Some("https://api.anthropic.com")
        );
        // Several at once: every reason, one corrected URL.
        let b = check("0.0.0.0:8000/v1/v1/chat/completions", provider::get("vllm"), t).unwrap();
        assert_eq!(b.fixed, "http://127.0.0.1:8000/v1");
        assert_eq!(b.what.len(), 4, "{:?}", b.what);
    }
}
