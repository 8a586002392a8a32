//! The proxy a tool uses for a URL, read from the analysed environment as
//! curl reads it, and the absolute-form transport ureq lacks
//! (docs/wire.md#trust-proxies-and-redirects).
//!
//! - `http_proxy` / `HTTP_PROXY` for `http://` URLs, `https_proxy` /
//!   `HTTPS_PROXY` for `https://`, then `all_proxy` / `ALL_PROXY` (the
//!   lower-case name first, as curl, python-requests and undici read them).
//! - `NO_PROXY`: `*`; host names matched as suffixes at a dot (`example.com`
//!   and `.example.com` both match `api.example.com`); IP addresses and
//!   CIDR ranges (`127.0.0.0/8`, `10.0.0.0/8`, `::1`, `[::1]`, `fd00::/8`)
//!   matched against an IP-address host; an entry with a `:PORT` matches
//!   that port only.
//! - An `http://` proxy carries an `http://` URL's request in absolute form
//!   (RFC 9112 §3.2.2) without CONNECT, as curl does; ureq only tunnels, so
//!   [`AbsoluteFormConnector`] rewrites the request line on a connection to
//!   the proxy. `https://` URLs go through a CONNECT tunnel (RFC 9110 §9.3.6),
//!   SOCKS proxies through ureq's SOCKS connector.

use std::collections::BTreeMap;
use std::net::IpAddr;

use keyhole_core::weburl;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// The proxy the tool would use for `url`, from the analysed environment.
pub fn proxy_of(url: &weburl::Url, env: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    let get = |k: &str| {
        env.get(&k.to_ascii_lowercase())
            .or_else(|| env.get(k))
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = weburl::host_of(url)?;
    let port = url.port_or_known_default().unwrap_or(0);
    if get("NO_PROXY").is_some_and(|no| no_proxy_matches(&no, &host, port)) {
        return None;
    }
    if url.scheme() == "https" { get("HTTPS_PROXY") } else { get("HTTP_PROXY") }.or_else(|| get("ALL_PROXY"))
}

/// Whether `NO_PROXY`'s value exempts `host` (lower case, IPv6 without
/// brackets) on `port`.
pub fn no_proxy_matches(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    no_proxy.split([',', ' ', '\t']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let (pattern, want_port) = split_port(entry);
        if want_port.is_some_and(|p| p != port) {
            return false;
        }
        let pattern = pattern.trim_start_matches('[').trim_end_matches(']');
        if let Some((net, bits)) = cidr(pattern) {
            return ip.is_some_and(|ip| in_net(ip, net, bits));
        }
        let pattern = pattern.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
        let pattern = pattern.to_ascii_lowercase();
        !pattern.is_empty()
            && (host == pattern
                || (ip.is_none() && host.ends_with(&pattern) && host[..host.len() - pattern.len()].ends_with('.')))
    })
}

/// `host:port`, `[v6]:port` → (host, port); a bare IPv6 address has no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((addr, after)) = rest.split_once(']') {
            return (addr, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(p) => (h, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// An IP address or a CIDR range: (network, prefix length).
fn cidr(pattern: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match pattern.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (pattern, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    Some((ip, bits.unwrap_or(max).min(max)))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    let mask = |n: u32, width: u32| if n == 0 { 0u128 } else { u128::MAX << (width - n) };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = mask(bits, 32) as u32;
            u32::from(a) & m == u32::from(b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = mask(bits, 128);
            u128::from(a) & m == u128::from(b) & m
        }
        // An IPv4-mapped IPv6 host against an IPv4 range.
        (IpAddr::V6(a), IpAddr::V4(_)) => a.to_ipv4_mapped().is_some_and(|a| in_net(IpAddr::V4(a), net, bits)),
        _ => false,
    }
}

/// Whether `proxy` is an HTTP proxy (`http://…`, or a bare `host:port`, as curl takes it).
pub fn is_http_proxy(proxy: &str) -> bool {
    let p = proxy.to_ascii_lowercase();
    p.starts_with("http://") || !p.contains("://")
}

/// `Proxy-Authorization: Basic …` for a proxy URL's user and password.
pub fn proxy_authorization(proxy: &str) -> Option<String> {
    let with_scheme = if proxy.contains("://") { proxy.to_string() } else { format!("http://{proxy}") };
    let u = weburl::parse(&with_scheme)?;
    if u.username().is_empty() {
        return None;
    }
    let dec = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match (
                bytes[i],
                bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()),
            ) {
                (b'%', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    };
    let mut cred = dec(u.username());
    cred.push(b':');
    cred.extend(dec(u.password().unwrap_or("")));
    Some(format!("Basic {}", base64(&cred)))
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Wraps the TCP connection to an HTTP proxy (the agent's resolver gives
/// the proxy's address for every host) so that each request goes out in
/// absolute form, with the proxy's credentials.
#[derive(Debug)]
pub struct AbsoluteFormConnector {
    /// `Proxy-Authorization` value, when the proxy URL has a user.
    pub auth: Option<String>,
}

impl<In: Transport> Connector<In> for AbsoluteFormConnector {
    type Out = Box<dyn Transport>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(inner) = chained else { return Ok(None) };
        let scheme = details.uri.scheme_str().unwrap_or("http");
        let authority = details.uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        // Userinfo never goes into the request line.
        let authority = authority.rsplit_once('@').map_or(authority.clone(), |(_, a)| a.to_string());
        Ok(Some(Box::new(AbsoluteForm {
            inner: inner.boxed(),
            origin: format!("{scheme}://{authority}"),
            auth: self.auth.clone(),
            at_head: true,
        })))
    }
}

#[derive(Debug)]
struct AbsoluteForm {
    inner: Box<dyn Transport>,
    /// `http://host[:port]` of the request's URL.
    origin: String,
    auth: Option<String>,
    /// The next bytes written start a request.
    at_head: bool,
}

impl Transport for AbsoluteForm {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let mut amount = amount;
        if std::mem::take(&mut self.at_head) {
            let out = self.inner.buffers().output();
            let head = &out[..amount];
            // "METHOD /path HTTP/1.1\r\n…" → "METHOD http://host/path HTTP/1.1\r\nProxy-Authorization: …\r\n…"
            let line_end = head.windows(2).position(|w| w == b"\r\n");
            let target_at = head.iter().position(|&b| b == b' ').map(|i| i + 1);
            if let (Some(end), Some(t)) = (line_end, target_at) {
                if head.get(t) == Some(&b'/') {
                    let mut new = Vec::with_capacity(amount + self.origin.len() + 64);
                    new.extend_from_slice(&head[..t]);
                    new.extend_from_slice(self.origin.as_bytes());
                    new.extend_from_slice(&head[t..end + 2]);
                    if let Some(a) = &self.auth {
                        new.extend_from_slice(b"Proxy-Authorization: ");
                        new.extend_from_slice(a.as_bytes());
                        new.extend_from_slice(b"\r\n");
                    }
                    new.extend_from_slice(&head[end + 2..]);
                    if new.len() > out.len() {
                        return Err(ureq::Error::Io(std::io::Error::other(
                            "the request head is over the output buffer",
                        )));
                    }
                    out[..new.len()].copy_from_slice(&new);
                    amount = new.len();
                }
            }
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        // The request is out: the next write is the next request's head.
        self.at_head = true;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_as_curl_reads_it() {
        let m = no_proxy_matches;
        assert!(m("example.com", "api.example.com", 443));
        assert!(m(".example.com", "api.example.com", 443));
        assert!(m("example.com", "example.com", 443));
        assert!(!m("example.com", "badexample.com", 443));
        assert!(m("127.0.0.0/8", "127.5.6.7", 80));
        assert!(m("10.0.0.0/8", "10.1.2.3", 80));
        assert!(!m("10.0.0.0/8", "11.1.2.3", 80));
        assert!(m("::1", "[::1]", 80));
        assert!(m("[::1]", "::1", 80));
        assert!(m("fd00::/8", "fd12::1", 80));
        assert!(m("*", "anything.example", 80));
        assert!(m("localhost:4000", "localhost", 4000));
        assert!(!m("localhost:4000", "localhost", 4001));
        assert!(m("[::1]:4000", "::1", 4000));
        assert!(m("a.example, B.Example.COM", "api.b.example.com", 443));
        assert!(!m("", "x", 1));
        // A CIDR entry is not a suffix of a host name.
        assert!(!m("10.0.0.0/8", "10.0.0.0.example", 80));
    }

    #[test]
    fn proxy_credentials_become_basic_auth() {
        assert_eq!(proxy_authorization("http://user:p%40ss@proxy:3128").as_deref(), Some("Basic dXNlcjpwQHNz"));
        assert_eq!(proxy_authorization("http://proxy:3128"), None);
        assert!(is_http_proxy("proxy:3128") && is_http_proxy("HTTP://p") && !is_http_proxy("socks5h://p"));
    }
}
