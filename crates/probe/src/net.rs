//! Sending a [`Plan`] and recording what came back (docs/records.md#probe):
//! nothing to an origin the send policy does not allow ([`Gate`]), every
//! redirect hop followed by hand (the key only ever goes to the first
//! origin), one deadline for a request and all its redirects, the proxy in
//! effect, the answer redacted, and, when a proxy seems to strip the key,
//! the same request sent directly.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use keyhole_core::error::{Error, Result};
use keyhole_core::fsread;
use keyhole_core::provider::policy;
use keyhole_core::provider::{self, Provider};
use keyhole_core::record::probe::{ErrorKind, Hop, HttpAnswer, Leg, Probe, ProbeError, Request, SentAuth};
use keyhole_core::record::Extra;
use keyhole_core::secret::Secret;
use keyhole_core::weburl;
use serde_json::Value;

use crate::gate::Gate;
use crate::{Options, Plan};

/// Response bodies are read up to this many bytes (docs/records.md#probe).
pub const BODY_CAP: u64 = 1024 * 1024;
const MAX_HOPS: usize = 10;

type Roots = Option<Vec<ureq::tls::Certificate<'static>>>;

/// Sends plans: the run's options, its trusted roots (loaded on the first
/// https request) and one agent per proxy setting, shared by every thread.
#[derive(Debug)]
pub struct Client {
    opts: Options,
    gate: Gate,
    roots: OnceLock<Roots>,
    /// Agents keyed by (proxy, https).
    agents: Mutex<HashMap<(Option<String>, bool), ureq::Agent>>,
}

impl Client {
    /// An explicit `--cacert` is checked now, for a clear error; the other
    /// roots load on the first https request.
    pub fn new(opts: Options) -> Result<Client> {
        let roots = OnceLock::new();
        if !opts.cacert.is_empty() {
            let _ = roots.set(load_roots(&opts.cacert, &opts.env)?);
        }
        Ok(Client { gate: Gate::new(&opts), opts, roots, agents: Mutex::default() })
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Where this run may send a credential.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Also allow `url`'s origin: the standalone probe's URL, typed by the user.
    pub fn allow(&mut self, url: &str) {
        self.gate.allow(url);
    }

    /// Send a plan; when a proxy is in effect, the key was sent and the API
    /// says no credentials arrived, send it again directly to pin the hop
    /// that strips it.
    pub fn send(&self, plan: &Plan) -> Probe {
        // Debug builds only: a way for the tests to make one record's work
        // panic (tests/security_send.rs); release builds have no such switch.
        #[cfg(debug_assertions)]
        if std::env::var("KEYHOLE_TEST_PANIC").is_ok_and(|v| !v.is_empty() && plan.url.contains(&v)) {
            panic!("KEYHOLE_TEST_PANIC: a test asked for a panic here");
        }
        let start = Instant::now();
        // The send policy, once more where every request goes out (planning checked it first).
        let parsed = match self.gate.check(&plan.url) {
            Ok(u) => Some(u),
            Err(e) => return Probe { error: Some(e), ..Probe::default() },
        };
        let proxy = parsed.as_ref().and_then(|u| proxy_of(u, &self.opts.env));
        let https = parsed.as_ref().is_some_and(|u| u.scheme() == "https");
        let mut request = Request {
            method: plan.method.into(),
            url: redact(&plan.url, plan.key.as_deref()),
            auth_header: if plan.key.is_some() { plan.header.clone() } else { "none".into() },
            fp: plan.fp.clone(),
            also: plan
                .also
                .iter()
                .map(|a| SentAuth { header: a.header.clone(), fp: Some(a.fp.clone()), extra: Extra::new() })
                .collect(),
            header_invalid: false,
            extra: Extra::new(),
        };
        let hv = header_value(plan);
        let header_ok = hv.as_ref().is_none_or(|v| ureq::http::HeaderValue::from_bytes(v).is_ok())
            && plan.also_values().iter().all(|(_, v)| ureq::http::HeaderValue::from_bytes(v).is_ok());
        let ex = if !header_ok {
            request.header_invalid = true;
            Exchange::failed(ProbeError::new(ErrorKind::Protocol, "the key holds a byte no HTTP header may carry (a newline or control character): the client refuses to send it; the openai SDKs report this as 'Connection error.', curl sends up to the newline"))
        } else {
            match self.agent(proxy.as_deref(), https) {
                Ok(a) => exchange(plan, parsed.as_ref(), hv.as_deref(), &a, self.opts.timeout, proxy.as_deref()),
                Err(e) => Exchange::failed(e),
            }
        };
        let mut probe = Probe { proxy: proxy.as_deref().map(weburl::redact_userinfo), ..Probe::default() };
        if proxy.is_some() && hv.is_some() && says_no_credentials(plan.provider, ex.response.as_ref()) {
            let direct = match self.agent(None, https) {
                Ok(a) => exchange(plan, parsed.as_ref(), hv.as_deref(), &a, self.opts.timeout, None),
                Err(e) => Exchange::failed(e),
            };
            let leg = |via: &str, e: &Exchange| Leg {
                via: via.into(),
                key_sent: true,
                status: e.response.as_ref().map(|r| r.status),
                error: e.error.clone(),
                no_credentials: says_no_credentials(plan.provider, e.response.as_ref()),
                extra: Extra::new(),
            };
            let direct_ok = direct.error.is_none() && !says_no_credentials(plan.provider, direct.response.as_ref());
            probe.differential = Some(vec![leg("proxy", &ex), leg("direct", &direct)]);
            probe.stripped_by = Some(if direct_ok { "proxy" } else { "unknown" }.into());
        }
        probe.request = Some(request);
        probe.redirects = ex.redirects;
        probe.response = ex.response;
        probe.error = ex.error;
        probe.elapsed_ms = start.elapsed().as_millis() as u64;
        probe
    }

    /// One agent per proxy setting, built once: roots are parsed once and
    /// connections are reused across probes.
    fn agent(&self, proxy: Option<&str>, https: bool) -> Result<ureq::Agent, ProbeError> {
        let key = (proxy.map(str::to_string), https);
        let mut cache = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = cache.get(&key) {
            return Ok(a.clone());
        }
        let a = self.build_agent(proxy, https)?;
        cache.insert(key, a.clone());
        Ok(a)
    }

    fn build_agent(&self, proxy: Option<&str>, https: bool) -> Result<ureq::Agent, ProbeError> {
        let opts = &self.opts;
        let proxy = match proxy {
            Some(p) => Some(
                ureq::Proxy::new(p).map_err(|e| ProbeError::new(ErrorKind::Proxy, format!("bad proxy URL: {e}")))?,
            ),
            None => None,
        };
        // Plain-http probes never pay for loading the system bundle.
        let loaded = if https {
            self.roots.get_or_init(|| load_roots(&opts.cacert, &opts.env).ok().flatten()).as_ref()
        } else {
            None
        };
        let roots = match loaded {
            Some(certs) => ureq::tls::RootCerts::new_with_certs(certs),
            None => ureq::tls::RootCerts::WebPki,
        };
        let cfg = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(proxy)
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .user_agent(concat!("keyhole-probe/", env!("CARGO_PKG_VERSION")))
            // ureq's 128 KiB buffers are at malloc's mmap threshold: each connection
            // mapped, faulted in and zeroed 256 KiB (measured: 30% of a 100-site run).
            // 64 KiB still holds ureq's largest response head.
            .input_buffer_size(64 * 1024)
            .output_buffer_size(16 * 1024)
            // Concurrent probes to one API keep their connections.
            .max_idle_connections_per_host(opts.jobs.max(1))
            .build();
        Ok(ureq::Agent::with_parts(cfg, ureq::unversioned::transport::DefaultConnector::default(), Resolver::default()))
    }
}

/// What the first request would otherwise set up on its way, done ahead on
/// a helper thread (see [`crate::pool::Pool::with_warmup`]): the key-shape
/// regex compiled (measured: 0.2–0.3 ms, a tenth of a one-site run) and the
/// URL parser's code paged in.
pub(crate) fn warm_up() {
    std::sync::LazyLock::force(&provider::KEY_SHAPES);
    let _ = weburl::origin("https://warm.example/v1");
}

/// The proxy the tool would use for `url`, from the analysed environment.
pub fn proxy_for(url: &str, env: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    proxy_of(&weburl::parse(url)?, env)
}

fn proxy_of(url: &weburl::Url, env: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    let get = |k: &str| {
        env.get(k)
            .or_else(|| env.get(&k.to_ascii_lowercase()))
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = weburl::host_of(url)?;
    if let Some(no) = get("NO_PROXY") {
        for pat in no.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let pat = pat.trim_start_matches('.').split(':').next().unwrap_or("");
            if pat == "*" || host == pat || host.ends_with(&format!(".{pat}")) {
                return None;
            }
        }
    }
    if url.scheme() == "https" { get("HTTPS_PROXY") } else { get("HTTP_PROXY") }.or_else(|| get("ALL_PROXY"))
}

/// Remove the key, and anything shaped like a key, from text a server echoed.
pub fn redact(text: &str, key: Option<&Secret>) -> String {
    let mut t = std::borrow::Cow::Borrowed(text);
    if let Some(k) = key {
        let s = String::from_utf8_lossy(k.expose());
        let s = s.trim();
        if s.len() >= 8 && t.contains(s) {
            t = t.replace(s, "(redacted key)").into();
        }
    }
    keyhole_core::secret::redact_key_shapes(&t).into_owned()
}

fn redact_json(v: &mut Value, key: Option<&Secret>) {
    match v {
        Value::String(s) => *s = redact(s, key),
        Value::Array(a) => a.iter_mut().for_each(|x| redact_json(x, key)),
        Value::Object(o) => o.values_mut().for_each(|x| redact_json(x, key)),
        _ => {}
    }
}

fn header_value(plan: &Plan) -> Option<Vec<u8>> {
    let k = plan.key.as_ref()?;
    if plan.header == "none" || plan.header == "query:key" {
        return None;
    }
    let mut v = Vec::new();
    if plan.scheme == "bearer" {
        v.extend_from_slice(b"Bearer ");
    }
    v.extend_from_slice(k.expose());
    Some(v)
}

/// ureq's resolver spawns a thread per connection so that a lookup can time
/// out; that thread cost more than the whole request to a loopback or LAN API
/// (measured: ~4 ms of 5). This one answers an IP address without asking
/// anyone, and looks each host up once per run: many sites usually share a
/// host. Lookups still run under ureq's timeout.
#[derive(Debug, Default)]
struct Resolver {
    seen: Mutex<HashMap<String, ureq::unversioned::resolver::ResolvedSocketAddrs>>,
    inner: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16().or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let (Ok(ip), Some(port)) = (host.trim_start_matches('[').trim_end_matches(']').parse(), port) {
            let mut one = self.empty();
            one.push(std::net::SocketAddr::new(ip, port));
            return Ok(one);
        }
        let key = format!("{}://{}:{}", uri.scheme_str().unwrap_or_default(), host, port.unwrap_or(0));
        if let Some(hit) = self.seen.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(hit);
        }
        let found = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut m) = self.seen.lock() {
            m.insert(key, found.clone());
        }
        Ok(found)
    }
}

/// Name the certificate problem in words a person can act on.
fn tls_hint(msg: &str) -> String {
    let hint = if msg.contains("UnknownIssuer") {
        "the certificate is not signed by a CA this probe trusts (a self-signed certificate, or a corporate proxy that re-signs TLS): pass its CA with --cacert FILE"
    } else if msg.contains("Expired") {
        "the server's certificate has expired"
    } else if msg.contains("NotValidForName") {
        "the certificate is for another host name than the base URL's"
    } else {
        "the TLS handshake failed"
    };
    format!("{hint} ({msg})")
}

/// Why a request got no HTTP answer.
fn error_kind(e: &ureq::Error) -> ProbeError {
    use ureq::Error as E;
    use ErrorKind as K;
    let (kind, message) = match e {
        E::HostNotFound => (K::Dns, "the host name does not resolve".into()),
        E::ConnectionFailed => (K::Connect, "the connection was refused or could not be made".into()),
        E::Timeout(t) => (K::Timeout, format!("no answer within the timeout ({t})")),
        E::Tls(m) => (K::Tls, tls_hint(m)),
        E::Rustls(r) => (K::Tls, tls_hint(&r.to_string())),
        E::ConnectProxyFailed(m) => (K::Proxy, format!("the proxy refused the tunnel: {m}")),
        E::InvalidProxyUrl => (K::Proxy, "invalid proxy URL".into()),
        E::BodyExceedsLimit(n) => (K::TooLarge, format!("body over {n} bytes")),
        E::Io(io) => {
            // The kind first: "Connection reset by peer" is a reset, not a TLS failure
            // (a proxy that closes on a dead upstream resets under load).
            let text = io.to_string();
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => (K::Connect, "connection refused".into()),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => (K::Timeout, "timed out".into()),
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::UnexpectedEof => (K::Protocol, format!("the connection was reset: {io}")),
                _ if text.contains("certificate") || text.contains("handshake") => (K::Tls, tls_hint(&text)),
                _ => (K::Connect, text),
            }
        }
        E::Protocol(p) => (
            K::Protocol,
            format!("the answer is not HTTP/1.x ({p}); a server that speaks only HTTP/2 without TLS answers like this"),
        ),
        other => (K::Protocol, other.to_string()),
    };
    ProbeError::new(kind, message)
}

/// What common HTTP clients do with the credential header on this redirect
/// hop (docs/wire.md#redirects): `true` = they send it on.
fn client_rules(from: &str, to: &str, header: &str) -> IndexMap<String, bool> {
    let (f, t) = (weburl::parse(from), weburl::parse(to));
    let same_origin = weburl::origin(from) == weburl::origin(to);
    let (fh, th) = (weburl::host(from).unwrap_or_default(), weburl::host(to).unwrap_or_default());
    // http → https on the same host, both on their default ports.
    let upgrade = fh == th
        && f.as_ref().is_some_and(|u| u.scheme() == "http" && u.port().is_none())
        && t.as_ref().is_some_and(|u| u.scheme() == "https" && u.port().is_none());
    let subdomain = th == fh || th.ends_with(&format!(".{fh}"));
    let is_auth = header == "authorization";
    IndexMap::from([
        ("curl".to_string(), same_origin),
        ("python-requests".to_string(), same_origin || upgrade),
        ("httpx".to_string(), same_origin || upgrade),
        // undici strips only authorization (and cookies) cross-origin; x-api-key is forwarded
        ("node-fetch".to_string(), same_origin || !is_auth),
        ("go".to_string(), subdomain),
    ])
}

/// The API said that no credentials arrived at all (provider catalogue data).
fn says_no_credentials(p: Option<&Provider>, response: Option<&HttpAnswer>) -> bool {
    let Some(r) = response.filter(|r| r.status == 401 || r.status == 403) else { return false };
    let msg = r.error_message().unwrap_or("");
    match p {
        Some(p) => p.says_no_credentials(msg),
        None => provider::PROVIDERS.iter().any(|p| p.says_no_credentials(msg)),
    }
}

/// One exchange: a request and its redirects, followed by hand under one
/// deadline; the key only goes to the first origin.
struct Exchange {
    redirects: Vec<Hop>,
    response: Option<HttpAnswer>,
    error: Option<ProbeError>,
}

impl Exchange {
    fn failed(error: ProbeError) -> Exchange {
        Exchange { redirects: Vec::new(), response: None, error: Some(error) }
    }
}

/// `first`: `plan.url` parsed (and allowed by the send policy); `timeout`:
/// the deadline of the whole exchange, every redirect included; `proxy`: the
/// proxy in effect, which a failed connection is blamed on.
fn exchange(
    plan: &Plan,
    first: Option<&weburl::Url>,
    hv: Option<&[u8]>,
    agent: &ureq::Agent,
    timeout: Duration,
    proxy: Option<&str>,
) -> Exchange {
    let deadline = Instant::now() + timeout;
    let first_origin = first.and_then(weburl::origin_of);
    let key = plan.key.as_deref();
    let Some(mut url) = first.cloned() else {
        return Exchange::failed(ProbeError::new(ErrorKind::Protocol, "not an http(s) URL"));
    };
    let mut redirects = Vec::new();
    let mut with_key = true;
    let mut method = plan.method;
    let mut seen = vec![url.clone()];
    let fail = |redirects, e: ProbeError| Exchange {
        redirects,
        response: None,
        error: Some(ProbeError { message: redact(&e.message, key), ..e }),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let msg = format!("no answer within the timeout ({} s, redirects included)", timeout.as_secs_f64());
            return fail(redirects, ProbeError::new(ErrorKind::Timeout, msg));
        }
        // The URL as parsed is the URL sent: the host the policy checked is the host connected to.
        let mut b = ureq::http::Request::builder().method(method).uri(url.as_str());
        if with_key {
            if let Some(v) = hv {
                b = b.header(plan.header.as_str(), v);
            }
            // The other credential headers of the same request (site.also).
            for (h, v) in plan.also_values() {
                b = b.header(h, v);
            }
        }
        for (k, v) in &plan.extra {
            b = b.header(k.as_str(), v.as_str());
        }
        let result = match &plan.body {
            Some(body) if method == "POST" => {
                b.body(body.clone()).map_err(|e| e.to_string()).map(|r| run(agent, r, left))
            }
            _ => b.body(()).map_err(|e| e.to_string()).map(|r| run(agent, r, left)),
        };
        let resp = match result {
            Err(m) => return fail(redirects, ProbeError::new(ErrorKind::Protocol, m)),
            Ok(Err(e)) => return fail(redirects, blame_proxy(error_kind(&e), proxy)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        // A Location is resolved as RFC 3986 says: `//other.host/x` is another origin.
        let next = (300..400)
            .contains(&status)
            .then(|| resp.headers().get("location").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|loc| policy::follow(&url, loc, first_origin.as_deref(), with_key));
        let Some((next, keep)) = next else {
            return Exchange { redirects, response: Some(read_response(resp, key)), error: None };
        };
        let mut hop = Hop {
            status,
            from: redact(url.as_str(), key),
            to: redact(next.as_str(), key),
            auth_kept: keep && hv.is_some(),
            clients: None,
            method_after: None,
            extra: Extra::new(),
        };
        if hv.is_some() && with_key {
            hop.clients = Some(client_rules(url.as_str(), next.as_str(), &plan.header));
        }
        // 301/302/303 turn a POST into a GET in most clients.
        if method == "POST" && matches!(status, 301..=303) {
            hop.method_after = Some("GET".into());
            method = "GET";
        }
        redirects.push(hop);
        with_key = keep;
        if seen.contains(&next) || redirects.len() >= MAX_HOPS {
            let msg = format!("redirect loop or more than {MAX_HOPS} redirects");
            return fail(redirects, ProbeError::new(ErrorKind::Protocol, msg));
        }
        seen.push(next.clone());
        url = next;
    }
}

/// Send one request with what is left of the exchange's deadline.
fn run(
    agent: &ureq::Agent,
    r: ureq::http::Request<impl ureq::AsSendBody>,
    left: Duration,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    agent.run(agent.configure_request(r).timeout_global(Some(left)).build())
}

/// A connection that failed while a proxy is in effect failed at the proxy
/// (an HTTP proxy, or a SOCKS one: `ALL_PROXY=socks5h://…`).
fn blame_proxy(e: ProbeError, proxy: Option<&str>) -> ProbeError {
    match proxy {
        Some(p) if matches!(e.kind, ErrorKind::Dns | ErrorKind::Connect) => ProbeError::new(
            ErrorKind::Proxy,
            format!("through the proxy {}: {}", weburl::redact_userinfo(p), e.message),
        ),
        _ => e,
    }
}

fn read_response(mut resp: ureq::http::Response<ureq::Body>, key: Option<&Secret>) -> HttpAnswer {
    let status = resp.status().as_u16();
    let mut headers = IndexMap::new();
    for (k, v) in resp.headers() {
        let name = k.as_str();
        if matches!(
            name,
            "content-type"
                | "retry-after"
                | "www-authenticate"
                | "location"
                | "server"
                | "x-ratelimit-limit"
                | "x-ratelimit-remaining"
                | "x-ratelimit-reset"
        ) {
            headers.insert(name.to_string(), redact(&String::from_utf8_lossy(v.as_bytes()), key));
        }
    }
    let mut buf = Vec::new();
    let mut reader = resp.body_mut().as_reader();
    let read = (&mut reader).take(BODY_CAP + 1).read_to_end(&mut buf);
    let truncated = buf.len() as u64 > BODY_CAP;
    buf.truncate(BODY_CAP as usize);
    let mut body = match serde_json::from_slice::<Value>(&buf) {
        Ok(v) if !truncated => v,
        _ => {
            // Redacted before the cut: a key across it is never half written (docs/records.md#redaction).
            let text = redact(&String::from_utf8_lossy(&buf), key);
            Value::String(text.chars().take(4000).collect())
        }
    };
    redact_json(&mut body, key);
    HttpAnswer {
        status,
        headers,
        body,
        body_truncated: truncated,
        body_error: read.err().map(|e| redact(&e.to_string(), key)),
        extra: Extra::new(),
    }
}

/// System CA bundles, first found wins (Debian/Ubuntu, Fedora/RHEL, Alpine, openSUSE).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The roots to trust: the system's bundle (where corporate CAs are
/// installed), the CA files the analysed environment names for tools
/// (`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`), and every
/// `--cacert` (which must hold a certificate). `Ok(None)` when none is
/// found: Mozilla's roots then.
pub fn load_roots(cacert: &[PathBuf], env: &BTreeMap<String, Vec<u8>>) -> Result<Roots> {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(sys) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
        files.push(sys.to_path_buf());
    }
    for var in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
        if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
            files.push(PathBuf::from(String::from_utf8_lossy(v).into_owned()));
        }
    }
    let explicit = cacert.len();
    files.extend(cacert.iter().cloned());
    let mut certs = Vec::new();
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let must = i >= n - explicit;
        let bytes = match fsread::read(f, 16 * 1024 * 1024) {
            Ok(b) => b,
            Err(e) if must => return Err(Error::usage(format!("--cacert {} {e}", f.display()))),
            Err(_) => continue,
        };
        let before = certs.len();
        for item in ureq::tls::parse_pem(&bytes) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                certs.push(c);
            }
        }
        if must && certs.len() == before {
            return Err(Error::usage(format!("--cacert {} holds no PEM certificate", f.display())));
        }
    }
    Ok((!certs.is_empty()).then_some(certs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_by_peer_is_not_a_tls_failure() {
        let reset =
            ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "Connection reset by peer"));
        assert_eq!(error_kind(&reset).kind, ErrorKind::Protocol);
        let cert = ureq::Error::Io(std::io::Error::other("invalid peer certificate: UnknownIssuer"));
        assert_eq!(error_kind(&cert).kind, ErrorKind::Tls);
    }
}
