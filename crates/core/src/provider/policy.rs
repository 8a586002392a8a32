//! The send policy (README.md#security, docs/records.md#probe): the origins
//! a credential may be sent to. A key goes only to
//!
//! - (a) a catalogued provider: over https to one of its `hosts` or its
//!   base URL's host (any port);
//! - (b) a gateway configured on this machine — an origin named with
//!   `--provider-url`, or the base URL of a config in the user's own
//!   home-level tool files (the caller adds those with
//!   [`SendPolicy::add_gateway`]; a project's config never makes its base
//!   URL trusted by itself) — or loopback (`127.0.0.0/8`, `::1`,
//!   `localhost`), any scheme and port;
//! - (c) a host the user named with `--allow-host HOST[:PORT]`.
//!
//! Anything else is not contacted at all: [`SendPolicy::refusal`] says why.
//! A redirect keeps the key only to the first request's own origin
//! ([`follow`]). Every decision is made on the URL as the `url` crate
//! parses it, and the request goes out as that parse serializes it, so the
//! host checked is the host connected to.

use std::net::IpAddr;

use url::{Host, Url};

use super::{Provider, PROVIDERS};
use crate::weburl;

/// `--allow-host`: a host name or IP address, with a port or any port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    host: String,
    port: Option<u16>,
}

impl HostPort {
    /// `HOST`, `HOST:PORT`, `[v6]` or `[v6]:PORT`; no scheme, path or userinfo.
    pub fn parse(s: &str) -> Result<HostPort, String> {
        let bad = || format!("{s:?} is not a host (HOST or HOST:PORT, e.g. gateway.example or 10.0.0.5:4000)");
        if s.is_empty()
            || s.contains(['/', '@', '?', '#', '\\'])
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        // Parsed as the authority of a URL: the same rules as the URLs it is compared with.
        let u = Url::parse(&format!("http://{s}/")).map_err(|_| bad())?;
        let host = host_text(&u).ok_or_else(bad)?;
        let explicit = s.rsplit_once(':').is_some_and(|(h, p)| !p.is_empty() && (!h.contains(':') || h.ends_with(']')));
        let port = if explicit { Some(u.port().unwrap_or(80)) } else { None };
        Ok(HostPort { host, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            Some(p) => write!(f, "{h}:{p}"),
            None => f.write_str(&h),
        }
    }
}

/// Why an origin may receive a credential.
#[derive(Clone, Copy, Debug)]
pub enum Allowed {
    /// (a) a catalogued provider's host.
    Provider(&'static Provider),
    /// (b) a configured gateway.
    Gateway,
    /// (b) loopback.
    Loopback,
    /// (c) `--allow-host`.
    UserNamed,
}

/// The origins this run may send a credential to.
#[derive(Clone, Debug, Default)]
pub struct SendPolicy {
    allow: Vec<HostPort>,
    /// Gateway origins (`scheme://host:port`, [`weburl::origin_of`]).
    gateways: Vec<String>,
}

impl SendPolicy {
    pub fn new(allow: Vec<HostPort>) -> SendPolicy {
        SendPolicy { allow, gateways: Vec::new() }
    }

    /// Trust the origin of `url` (a `--provider-url`, a home-level config's
    /// base URL). A URL that does not parse adds nothing.
    pub fn add_gateway(&mut self, url: &str) {
        if let Some(o) = weburl::origin(url) {
            if !self.gateways.contains(&o) {
                self.gateways.push(o);
            }
        }
    }

    /// Whether `url` may receive a credential, and why; `None`: it may not.
    pub fn allows(&self, url: &Url) -> Option<Allowed> {
        self.allows_without_gateways(url).or_else(|| self.is_gateway(url).then_some(Allowed::Gateway))
    }

    /// [`allows`](Self::allows) without the configured gateways: what is
    /// known before any config is read.
    pub fn allows_without_gateways(&self, url: &Url) -> Option<Allowed> {
        let host = host_text(url)?;
        let port = url.port_or_known_default()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        if is_loopback(url) {
            return Some(Allowed::Loopback);
        }
        if self.allow.iter().any(|a| a.matches(&host, port)) {
            return Some(Allowed::UserNamed);
        }
        if url.scheme() == "https" {
            if let Some(p) = provider_of_host(&host, port) {
                return Some(Allowed::Provider(p));
            }
        }
        None
    }

    /// Is `url`'s origin one of the configured gateways?
    pub fn is_gateway(&self, url: &Url) -> bool {
        weburl::origin_of(url).is_some_and(|o| self.gateways.contains(&o))
    }

    /// What to say for a URL that is not probed (and the `--allow-host`
    /// value that would open it): "not probed: HOST is not a known API
    /// (--allow-host HOST to probe it)".
    pub fn refusal(url: &Url) -> (String, String) {
        let host = host_text(url).unwrap_or_default();
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let name = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let known_host = host_text(url).is_some_and(|h| provider_of_host(&h, 443).is_some());
        let what = if known_host && url.scheme() == "http" {
            format!("{name} over plain http (the key would cross the network unencrypted) is not a known API")
        } else {
            format!("{name} is not a known API")
        };
        (format!("not probed: {what} (--allow-host {name} to probe it)"), name)
    }
}

/// The host as it is compared: lower case, IPv6 without brackets.
fn host_text(u: &Url) -> Option<String> {
    Some(match u.host()? {
        Host::Domain(d) => d.to_ascii_lowercase(),
        Host::Ipv4(a) => a.to_string(),
        Host::Ipv6(a) => a.to_string(),
    })
}

/// `127.0.0.0/8`, `::1` (and IPv4-mapped loopback), `localhost`.
pub fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(Host::Ipv4(a)) => a.is_loopback(),
        Some(Host::Ipv6(a)) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The catalogued provider whose `hosts` (or base URL) name this host:
/// `openrouter.ai` exactly, `.openai.azure.com` any subdomain of it,
/// `localhost:11434` that authority only.
pub fn provider_of_host(host: &str, port: u16) -> Option<&'static Provider> {
    let ip = host.parse::<IpAddr>().is_ok();
    PROVIDERS.iter().find(|p| {
        let base = weburl::parse(p.base_url).and_then(|u| host_text(&u));
        base.as_deref() == Some(host)
            || p.hosts.iter().any(|h| {
                if let Some(dotted) = h.strip_prefix('.') {
                    !ip && host.len() > dotted.len() + 1 && host.ends_with(h)
                } else if let Some((hh, pp)) = h.rsplit_once(':') {
                    hh == host && pp.parse() == Ok(port)
                } else {
                    *h == host
                }
            })
    })
}

/// One redirect hop: where a `Location` answered to a request for `from`
/// points (RFC 3986: `//other.host/x` is another origin, and userinfo is
/// not a host), and whether the credential goes with it — only to
/// `first_origin`, the origin of the request the key was sent to, and only
/// if it went on every hop before. `None`: the Location does not resolve to
/// an http(s) URL.
pub fn follow(from: &Url, location: &str, first_origin: Option<&str>, with_key: bool) -> Option<(Url, bool)> {
    let next = from.join(location.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let same = first_origin.is_some() && weburl::origin_of(&next).as_deref() == first_origin;
    Some((next, with_key && same))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn catalogued_hosts_loopback_gateways_and_named_hosts_only() {
        let mut p =
            SendPolicy::new(vec![HostPort::parse("gw.corp").unwrap(), HostPort::parse("10.0.0.5:4000").unwrap()]);
        p.add_gateway("http://gateway.example:8080/v1");
        let yes = [
            "https://openrouter.ai/api/v1/key",
            "https://OpenRouter.AI:8443/x",
            "https://res.openai.azure.com/openai",
            "https://api.anthropic.com/v1/models",
            "http://127.0.0.1:9/x",
            "http://127.5.6.7/x",
            "http://[::1]:4000/",
            "http://localhost:4000/",
            "http://gw.corp/x",
            "https://gw.corp:9443/x",
            "http://10.0.0.5:4000/",
            "http://gateway.example:8080/other",
        ];
        for u in yes {
            assert!(p.allows(&url(u)).is_some(), "{u}");
        }
        let no = [
            "http://openrouter.ai/api/v1",
            "https://openrouter.ai.evil.example/",
            "https://evilopenrouter.ai/",
            "https://openai.azure.com.evil.example/",
            "https://xopenai.azure.com/",
            "https://openrouter.ai@evil.example/",
            "https://evil.example/openrouter.ai",
            "http://10.0.0.5:4001/",
            "http://gateway.example/v1",
            "https://gateway.example:8080/v1",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
        ];
        for u in no {
            assert!(p.allows(&url(u)).is_none(), "{u}");
        }
        // A backslash is a slash to the URL parser: the host is evil.example.
        assert!(p.allows(&url("https://evil.example\\@openrouter.ai/")).is_none());
    }

    #[test]
    fn the_refusal_names_the_host_and_the_flag() {
        let (msg, name) = SendPolicy::refusal(&url("http://attacker.example/v1"));
        assert_eq!(msg, "not probed: attacker.example is not a known API (--allow-host attacker.example to probe it)");
        assert_eq!(name, "attacker.example");
        let (msg, _) = SendPolicy::refusal(&url("http://[fd00::1]:8080/v1"));
        assert!(msg.contains("--allow-host [fd00::1]:8080 "), "{msg}");
        let (msg, _) = SendPolicy::refusal(&url("http://openrouter.ai/api/v1"));
        assert!(msg.contains("over plain http"), "{msg}");
    }

    #[test]
    fn allow_host_values() {
        assert_eq!(HostPort::parse("Gateway.Example").unwrap().to_string(), "gateway.example");
        assert_eq!(HostPort::parse("gw:4000").unwrap().to_string(), "gw:4000");
        assert_eq!(HostPort::parse("[fd00::1]:80").unwrap().to_string(), "[fd00::1]:80");
        assert_eq!(HostPort::parse("[fd00::1]").unwrap().to_string(), "[fd00::1]");
        for bad in ["", "http://x", "a b", "u@h", "h/x", "h:notaport", "h:99999", "[::1"] {
            assert!(HostPort::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_redirect_keeps_the_key_on_the_first_origin_only() {
        let from = url("http://127.0.0.1:8000/api/v1/key");
        let first = weburl::origin_of(&from);
        let f = |loc: &str| follow(&from, loc, first.as_deref(), true).map(|(u, k)| (u.to_string(), k));
        assert_eq!(f("/x"), Some(("http://127.0.0.1:8000/x".into(), true)));
        assert!(!f("//127.0.0.1:9000/x").unwrap().1);
        assert!(!f("http://127.0.0.1:9000/x").unwrap().1);
        assert!(!f("//openrouter.ai@127.0.0.1:9000/x").unwrap().1);
        assert!(!f("http://127.0.0.1:8000@127.0.0.1:9000/").unwrap().1);
        assert!(!f("/\\127.0.0.1:9000/x").unwrap().1);
        assert!(!f("http://localhost:8000/x").unwrap().1);
        assert!(!f("https://127.0.0.1:8000/x").unwrap().1);
        assert_eq!(f("ftp://127.0.0.1:8000/x"), None);
        assert!(!follow(&from, "/x", first.as_deref(), false).unwrap().1, "once dropped, always dropped");
    }
}
