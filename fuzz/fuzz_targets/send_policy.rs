#![no_main]
//! The send policy (crates/core/src/provider/policy.rs, README.md#security):
//! for any `--allow-host` list, configured gateway, base URL and chain of
//! redirect `Location`s, a credential is only ever attached to a request
//! whose URL the policy allows, on the first request's own origin — and the
//! host a client connects to (`http::Uri`, which ureq sends with) is the
//! host the policy checked.
//!
//! Input: line 1 `--allow-host` values separated by commas, line 2 a gateway
//! base URL, line 3 the base URL, then one `Location` per line.
use keyhole_core::provider::policy::{self, HostPort, SendPolicy};
use keyhole_core::provider::PROVIDERS;
use keyhole_core::weburl::{self, Url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let allow: Vec<HostPort> = lines.next().unwrap_or("").split(',').filter_map(|h| HostPort::parse(h).ok()).collect();
    let gateway = lines.next().unwrap_or("");
    let mut p = SendPolicy::new(allow.clone());
    p.add_gateway(gateway);
    let Some(base) = weburl::parse(lines.next().unwrap_or("")) else { return };
    if p.allows(&base).is_none() {
        let (message, host) = SendPolicy::refusal(&base);
        assert!(message.contains(&format!("--allow-host {host} ")), "{message}");
        return;
    }
    let oracle = Oracle { allow: &allow, gateway: weburl::origin(gateway) };
    oracle.check(&base);
    let first = weburl::origin_of(&base);
    let (mut url, mut with_key) = (base, true);
    for location in lines.take(16) {
        let Some((next, keep)) = policy::follow(&url, location, first.as_deref(), with_key) else { break };
        if keep {
            assert_eq!(weburl::origin_of(&next), first, "the key left the first origin: {next}");
            assert!(p.allows(&next).is_some(), "the key went to a URL the policy refuses: {next}");
            oracle.check(&next);
        }
        assert!(!keep || with_key, "a dropped key came back: {next}");
        (url, with_key) = (next, keep);
    }
});

/// The policy said again from what a client puts on the wire: the request
/// URI as the `http` crate parses the URL's serialization.
struct Oracle<'a> {
    allow: &'a [HostPort],
    gateway: Option<String>,
}

impl Oracle<'_> {
    fn check(&self, u: &Url) {
        // A serialization the client refuses is never sent at all.
        let Ok(uri) = u.as_str().parse::<http::Uri>() else { return };
        let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let scheme = uri.scheme_str().unwrap_or("");
        let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
        // The wire host and port are the parsed URL's.
        let parsed = match u.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => String::new(),
        };
        assert_eq!(host, parsed, "the client would connect to another host than the one checked: {u}");
        assert_eq!(Some(port), u.port_or_known_default(), "another port than the one checked: {u}");
        let ip: Option<std::net::IpAddr> = host.parse().ok();
        let loopback = host == "localhost"
            || ip.is_some_and(|ip| match ip {
                std::net::IpAddr::V4(a) => a.is_loopback(),
                std::net::IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
            });
        let named = self.allow.iter().any(|a| {
            let s = a.to_string();
            let (h, p) = match s.rsplit_once(':') {
                Some((h, p)) if !s.ends_with(']') && (h.ends_with(']') || !h.contains(':')) => {
                    (h, p.parse::<u16>().ok())
                }
                _ => (s.as_str(), None),
            };
            h.trim_start_matches('[').trim_end_matches(']') == host && p.is_none_or(|p| p == port)
        });
        let gateway = self.gateway.as_deref() == Some(format!("{scheme}://{host}:{port}").as_str())
            || self.gateway.as_deref() == Some(format!("{scheme}://[{host}]:{port}").as_str());
        let provider = scheme == "https"
            && PROVIDERS.iter().any(|p| {
                p.hosts.iter().any(|h| match h.strip_prefix('.') {
                    Some(_) => ip.is_none() && host.ends_with(h),
                    None => {
                        *h == host || h.split_once(':').is_some_and(|(hh, pp)| hh == host && pp == port.to_string())
                    }
                }) || weburl::host(p.base_url).as_deref() == Some(host.as_str())
            });
        assert!(loopback || named || gateway || provider, "a credential would go to {u}, which nothing allows");
    }
}
