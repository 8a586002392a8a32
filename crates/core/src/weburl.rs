//! URLs through one type (the `url` crate, RFC 3986 and the WHATWG rules
//! that clients follow): host, origin, redirect targets and redaction. No
//! string splitting of URLs anywhere else.

pub use url::Url;

/// Parse an absolute http(s) URL.
pub fn parse(s: &str) -> Option<Url> {
    Url::parse(s.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The host, lower case, without brackets for IPv6.
pub fn host(s: &str) -> Option<String> {
    host_of(&parse(s)?)
}

/// [`host`] of a URL parsed already.
pub fn host_of(u: &Url) -> Option<String> {
    match u.host()? {
        url::Host::Domain(d) => Some(d.to_ascii_lowercase()),
        url::Host::Ipv4(a) => Some(a.to_string()),
        url::Host::Ipv6(a) => Some(a.to_string()),
    }
}

/// `scheme://host:port`, the port always written: two URLs are the same
/// origin when these are equal.
pub fn origin(s: &str) -> Option<String> {
    origin_of(&parse(s)?)
}

/// [`origin`] of a URL parsed already.
pub fn origin_of(u: &Url) -> Option<String> {
    let host = u.host_str()?.to_ascii_lowercase();
    Some(format!("{}://{host}:{}", u.scheme(), u.port_or_known_default()?))
}

/// Where a `Location` answered to a request for `from` points: absolute,
/// protocol-relative (`//other.host/x`), absolute-path or relative, as
/// RFC 3986 §5 resolves them. None when it cannot be resolved.
pub fn resolve(from: &str, location: &str) -> Option<String> {
    let base = Url::parse(from).ok()?;
    base.join(location.trim()).ok().map(String::from)
}

/// The URL with its userinfo (a user, a password, a key) replaced.
pub fn redact_userinfo(s: &str) -> String {
    match Url::parse(s) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            let mut text = String::from(u);
            // The parser writes an empty path as `/`: keep the URL as it was written.
            if !s.trim_end().ends_with('/') && text.ends_with('/') && !text.contains(['?', '#']) {
                text.pop();
            }
            match text.split_once("://") {
                Some((scheme, rest)) => format!("{scheme}://(credentials redacted)@{rest}"),
                None => text,
            }
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_as_rfc_3986_says() {
        let from = "https://openrouter.ai/api/v1/key";
        assert_eq!(resolve(from, "//other.host/x").unwrap(), "https://other.host/x");
        assert_eq!(resolve(from, "/api/v2/key").unwrap(), "https://openrouter.ai/api/v2/key");
        assert_eq!(resolve(from, "models").unwrap(), "https://openrouter.ai/api/v1/models");
        assert_eq!(resolve(from, "http://b.example/").unwrap(), "http://b.example/");
        assert_ne!(origin(from), origin(&resolve(from, "//other.host/x").unwrap()));
    }

    #[test]
    fn origins_hosts_and_redaction() {
        assert_eq!(origin("HTTPS://OpenRouter.ai/api").unwrap(), "https://openrouter.ai:443");
        assert_eq!(origin("http://127.0.0.1:8080/x").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(host("http://[::1]:9/x").unwrap(), "::1");
        assert_eq!(host("https://user:pw@Api.Example.com/").unwrap(), "api.example.com");
        assert!(parse("ftp://x/").is_none());
        let r = redact_userinfo("http://me:s3cr3t@proxy.example:3128");
        assert!(!r.contains("s3cr3t") && r.contains("proxy.example:3128"), "{r}");
        assert_eq!(r, "http://(credentials redacted)@proxy.example:3128");
        assert_eq!(redact_userinfo("http://u:p@h.example/x/"), "http://(credentials redacted)@h.example/x/");
        assert_eq!(redact_userinfo("http://h.example:3128"), "http://h.example:3128");
    }
}
