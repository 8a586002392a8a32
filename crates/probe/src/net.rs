//! Sending a [`Plan`] and recording what came back (docs/records.md#probe):
//! nothing to an origin the send policy does not allow ([`Gate`]), every
//! redirect hop followed by hand (the key only ever goes to the first
//! origin), each hop with the proxy and the trust store of its own scheme
//! and the site's tool (docs/wire.md#trust-proxies-and-redirects), one
//! deadline for the whole probe, the answer redacted, and, when a proxy
//! seems to strip the key, the same request sent directly.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use keyhole_core::error::{Error, Result};
use keyhole_core::fsread;
use keyhole_core::provider::policy;
use keyhole_core::provider::{self, Provider};
use keyhole_core::record::probe::{ErrorKind, Hop, HttpAnswer, Leg, Probe, ProbeError, Request, SentAuth};
use keyhole_core::record::Extra;
use keyhole_core::secret::Secret;
use keyhole_core::tool::{Roots, Trust};
use keyhole_core::weburl;
use serde_json::Value;

use crate::gate::Gate;
use crate::proxy::{self, proxy_of};
use crate::{Options, Plan};

/// Response bodies are read up to this many bytes (docs/records.md#probe).
pub const BODY_CAP: u64 = 1024 * 1024;
const MAX_HOPS: usize = 10;

type Certs = Arc<Vec<ureq::tls::Certificate<'static>>>;

/// One set of roots an agent verifies with: a trust store is one or more
/// (Node's bundled roots, then NODE_EXTRA_CA_CERTS), a chain is accepted
/// when it leads to any of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RootSet {
    /// Mozilla's roots as clients bundle them.
    Bundled,
    /// The certificates in these files (the system's bundle, a file a
    /// variable names), and the `--cacert` roots.
    Files(Vec<PathBuf>),
    /// The `--cacert` roots alone.
    Cacert,
}

/// What an agent is built for: the proxy, https or not, the roots.
type AgentKey = (Option<String>, bool, RootSet);

/// Sends plans: the run's options, the `--cacert` roots, the root files
/// parsed once, and one agent per (proxy, scheme, roots), shared by every
/// thread.
#[derive(Debug)]
pub struct Client {
    opts: Options,
    gate: Gate,
    cacert: Vec<ureq::tls::Certificate<'static>>,
    files: Mutex<HashMap<Vec<PathBuf>, Option<Certs>>>,
    agents: Mutex<HashMap<AgentKey, ureq::Agent>>,
    overrides: Arc<Overrides>,
}

impl Client {
    /// `--cacert` is read now, for a clear error; other roots load on the
    /// first https request that needs them.
    pub fn new(opts: Options) -> Result<Client> {
        let cacert = load_roots(&opts.cacert, &BTreeMap::new())?.unwrap_or_default();
        let overrides = Arc::new(Overrides { resolve: opts.resolve.clone(), connect_to: opts.connect_to.clone() });
        Ok(Client {
            gate: Gate::new(&opts),
            opts,
            cacert,
            files: Mutex::default(),
            agents: Mutex::default(),
            overrides,
        })
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
        // One deadline for the whole probe: every hop, and the direct leg of a differential.
        let deadline = start + self.opts.timeout;
        let proxy = parsed.as_ref().and_then(|u| proxy_of(u, &self.opts.env));
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
            trust: Some(plan.trust.as_str().into()),
            extra: Extra::new(),
        };
        let hv = header_value(plan);
        let header_ok = hv.as_ref().is_none_or(|v| ureq::http::HeaderValue::from_bytes(v).is_ok())
            && plan.also_values().iter().all(|(_, v)| ureq::http::HeaderValue::from_bytes(v).is_ok());
        let ex = if !header_ok {
            request.header_invalid = true;
            Exchange::failed(ProbeError::new(ErrorKind::Protocol, "the key holds a byte no HTTP header may carry (a newline or control character): the client refuses to send it; the openai SDKs report this as 'Connection error.', curl sends up to the newline"))
        } else if let Some(e) = too_large(hv.as_deref(), &plan.also_values()) {
            Exchange::failed(e)
        } else {
            exchange(self, plan, parsed.as_ref(), hv.as_deref(), deadline, true)
        };
        let mut probe = Probe { proxy: proxy.as_deref().map(weburl::redact_userinfo), ..Probe::default() };
        if proxy.is_some() && hv.is_some() && says_no_credentials(plan.provider, ex.response.as_ref()) {
            let direct = exchange(self, plan, parsed.as_ref(), hv.as_deref(), deadline, false);
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
        // The tool's own store refused a CA the system trusts: the fix is the tool's.
        if ex.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Tls && e.message.starts_with(TOOL_STORE_REFUSES)) {
            probe.fix = Some(plan.trust.fix(&self.system_ca_file()).into());
        }
        probe.error = ex.error;
        probe.elapsed_ms = start.elapsed().as_millis() as u64;
        probe
    }

    /// One agent per (proxy, scheme, roots), built once: roots are parsed
    /// once and connections are reused across probes.
    fn agent(&self, proxy: Option<&str>, https: bool, roots: &RootSet) -> Result<Option<ureq::Agent>, ProbeError> {
        let key = (proxy.map(str::to_string), https, roots.clone());
        if let Some(a) = self.agents.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Some(a.clone()));
        }
        let Some(a) = self.build_agent(proxy, https, roots)? else { return Ok(None) };
        self.agents.lock().unwrap_or_else(|e| e.into_inner()).insert(key, a.clone());
        Ok(Some(a))
    }

    /// The certificates of `set`; `None` when it holds none (nothing to try).
    fn certs(&self, set: &RootSet) -> Option<ureq::tls::RootCerts> {
        match set {
            RootSet::Bundled => Some(ureq::tls::RootCerts::WebPki),
            RootSet::Cacert => (!self.cacert.is_empty()).then(|| ureq::tls::RootCerts::new_with_certs(&self.cacert)),
            RootSet::Files(files) => {
                let mut cache = self.files.lock().unwrap_or_else(|e| e.into_inner());
                let certs = cache
                    .entry(files.clone())
                    .or_insert_with(|| {
                        let mut certs = read_pems(files);
                        certs.extend(self.cacert.iter().cloned());
                        (!certs.is_empty()).then(|| Arc::new(certs))
                    })
                    .clone()?;
                Some(ureq::tls::RootCerts::new_with_certs(&certs))
            }
        }
    }

    /// The root sets of `trust` in the analysed environment, in the order tried.
    fn root_sets(&self, trust: Trust) -> Vec<RootSet> {
        let mut sets: Vec<RootSet> = trust
            .roots(&self.opts.env)
            .into_iter()
            .map(|r| match r {
                Roots::Bundled => RootSet::Bundled,
                Roots::SystemBundle => match system_bundle() {
                    Some(p) => RootSet::Files(vec![p]),
                    None => RootSet::Bundled,
                },
                Roots::File(_, p) => RootSet::Files(vec![PathBuf::from(p)]),
            })
            .collect();
        // A --cacert root is a public root: every store holds it (a Files set has it already).
        if !sets.iter().any(|s| matches!(s, RootSet::Files(_))) {
            sets.push(RootSet::Cacert);
        }
        sets
    }

    fn build_agent(
        &self,
        proxy: Option<&str>,
        https: bool,
        roots: &RootSet,
    ) -> Result<Option<ureq::Agent>, ProbeError> {
        let opts = &self.opts;
        let roots = if https {
            match self.certs(roots) {
                Some(r) => r,
                None => return Ok(None),
            }
        } else {
            ureq::tls::RootCerts::WebPki
        };
        // An HTTP proxy takes an http:// URL's request in absolute form, without CONNECT (RFC 9112 §3.2.2).
        let absolute = proxy.filter(|p| !https && proxy::is_http_proxy(p));
        let ureq_proxy = match proxy {
            Some(p) if absolute.is_none() => Some(
                ureq::Proxy::new(p).map_err(|e| ProbeError::new(ErrorKind::Proxy, format!("bad proxy URL: {e}")))?,
            ),
            _ => None,
        };
        let via = match absolute {
            Some(p) => {
                let with_scheme = if p.contains("://") { p.to_string() } else { format!("http://{p}") };
                let uri = with_scheme
                    .parse::<ureq::http::Uri>()
                    .ok()
                    .filter(|u| u.host().is_some())
                    .ok_or_else(|| ProbeError::new(ErrorKind::Proxy, "bad proxy URL: no host"))?;
                Some(uri)
            }
            None => None,
        };
        let cfg = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(ureq_proxy)
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .user_agent(concat!("keyhole-probe/", env!("CARGO_PKG_VERSION")))
            // ureq's 128 KiB buffers are at malloc's mmap threshold: each connection
            // mapped, faulted in and zeroed 256 KiB (measured: 30% of a 100-site run).
            // 64 KiB still holds ureq's largest response head.
            .input_buffer_size(64 * 1024)
            .output_buffer_size(OUTPUT_BUFFER)
            // Concurrent probes to one API keep their connections.
            .max_idle_connections_per_host(opts.jobs.max(1))
            .build();
        let resolver = Resolver { overrides: self.overrides.clone(), via, ..Resolver::default() };
        Ok(Some(match absolute {
            Some(p) => {
                use ureq::unversioned::transport::{Connector, TcpConnector};
                let connector =
                    TcpConnector::default().chain(proxy::AbsoluteFormConnector { auth: proxy::proxy_authorization(p) });
                ureq::Agent::with_parts(cfg, connector, resolver)
            }
            None => ureq::Agent::with_parts(cfg, ureq::unversioned::transport::DefaultConnector::default(), resolver),
        }))
    }

    /// Send one hop: through the proxy for its URL's scheme (unless
    /// `via_proxy` is off), verified against each root set of the tool's
    /// store in turn until one accepts the chain.
    fn send_hop<B: ureq::AsSendBody + Clone>(
        &self,
        r: ureq::http::Request<B>,
        url: &weburl::Url,
        trust: Trust,
        via_proxy: bool,
        deadline: Instant,
    ) -> Result<ureq::http::Response<ureq::Body>, ProbeError> {
        let proxy = if via_proxy { proxy_of(url, &self.opts.env) } else { None };
        let https = url.scheme() == "https";
        let sets = if https { self.root_sets(trust) } else { vec![RootSet::Bundled] };
        let (parts, body) = r.into_parts();
        let mut last = None;
        for set in &sets {
            let agent = match self.agent(proxy.as_deref(), https, set) {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(e) => return Err(e),
            };
            let mut b = ureq::http::Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
            if let Some(h) = b.headers_mut() {
                *h = parts.headers.clone();
            }
            let req = b.body(body.clone()).map_err(|e| ProbeError::new(ErrorKind::Protocol, e.to_string()))?;
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            match agent.run(agent.configure_request(req).timeout_global(Some(left)).build()) {
                Ok(resp) => return Ok(resp),
                Err(e) if unknown_issuer(&e) => last = Some(e),
                Err(e) => return Err(blame_proxy(error_kind(&e), proxy.as_deref())),
            }
        }
        let e = last
            .map(|e| error_kind(&e))
            .unwrap_or_else(|| ProbeError::new(ErrorKind::Tls, tls_hint("no CA roots to verify with (UnknownIssuer)")));
        Err(if trust == Trust::System { e } else { self.tool_trust_error(e, url, trust, proxy.as_deref(), deadline) })
    }

    /// The file that holds the system's CAs: the analysed SSL_CERT_FILE, or the system's bundle.
    fn system_ca_file(&self) -> String {
        self.root_sets(Trust::System)
            .into_iter()
            .find_map(|s| match s {
                RootSet::Files(f) => f.first().map(|p| p.display().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "/path/to/corporate-ca.pem".into())
    }

    /// The tool's store refused the chain: when the system's bundle (or the
    /// analysed environment's SSL_CERT_FILE) accepts it, the failure is the
    /// tool's, with the tool's own fix (docs/wire.md#trust-stores). The check
    /// sends no credential.
    fn tool_trust_error(
        &self,
        e: ProbeError,
        url: &weburl::Url,
        trust: Trust,
        proxy: Option<&str>,
        deadline: Instant,
    ) -> ProbeError {
        for set in self.root_sets(Trust::System) {
            let Ok(Some(agent)) = self.agent(proxy, true, &set) else { continue };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let Ok(req) = ureq::http::Request::get(url.as_str()).body(()) else { continue };
            if agent.run(agent.configure_request(req).timeout_global(Some(left)).build()).is_ok() {
                let ca = self.system_ca_file();
                return ProbeError {
                    message: format!(
                        "{TOOL_STORE_REFUSES} {}, which does not hold the CA of this certificate; the system's CA bundle does (TLS inspection by a corporate proxy, or a private CA): the tool fails here while curl works; fix: {} ({})",
                        trust.describe(),
                        trust.fix(&ca),
                        e.message
                    ),
                    ..e
                };
            }
        }
        e
    }
}

/// How a TLS failure of the tool's own trust store begins (its fix is then `probe.fix`).
const TOOL_STORE_REFUSES: &str = "the site's tool trusts";

/// ureq's output buffer: a request head must fit in it.
const OUTPUT_BUFFER: usize = 16 * 1024;

/// Credential headers too long for any client to send: not sent, and said
/// so (not taken for a server that speaks another protocol).
fn too_large(hv: Option<&[u8]>, also: &[(&str, Vec<u8>)]) -> Option<ProbeError> {
    let n = hv.map_or(0, <[u8]>::len) + also.iter().map(|(h, v)| h.len() + v.len()).sum::<usize>();
    // The rest of the head (request line, host, user agent, provider headers) fits in 2 KiB.
    (n > OUTPUT_BUFFER - 2048).then(|| {
        ProbeError::new(
            ErrorKind::TooLarge,
            format!("the credential header is {n} bytes: no key is that long, and servers refuse headers over 8–16 KiB; nothing was sent"),
        )
    })
}

/// The chain does not lead to a root of this set: the next set may hold it.
fn unknown_issuer(e: &ureq::Error) -> bool {
    let text = match e {
        ureq::Error::Tls(m) => m.to_string(),
        ureq::Error::Rustls(r) => r.to_string(),
        ureq::Error::Io(io) => io.to_string(),
        _ => return false,
    };
    text.contains("UnknownIssuer")
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

/// `--resolve` and `--connect-to`, as curl reads them.
#[derive(Debug, Default)]
struct Overrides {
    resolve: Vec<keyhole_core::cli::Resolve>,
    connect_to: Vec<keyhole_core::cli::ConnectTo>,
}

impl Overrides {
    /// Where to connect for `host:port`: (host, port) after `--connect-to`,
    /// and the addresses `--resolve` gives for it.
    fn apply(&self, host: &str, port: u16) -> (String, u16, Option<Vec<std::net::IpAddr>>) {
        let (mut h, mut p) = (host.to_ascii_lowercase(), port);
        if let Some(c) =
            self.connect_to.iter().find(|c| c.host.as_deref().is_none_or(|x| x == h) && c.port.is_none_or(|x| x == p))
        {
            h = c.to_host.clone().unwrap_or(h);
            p = c.to_port.unwrap_or(p);
        }
        let addrs = self.resolve.iter().find(|r| r.host == h && r.port == p).map(|r| r.addrs.clone());
        (h, p, addrs)
    }
}

/// ureq's resolver spawns a thread per connection so that a lookup can time
/// out; that thread cost more than the whole request to a loopback or LAN API
/// (measured: ~4 ms of 5). This one answers an IP address without asking
/// anyone, and looks each host up once per run: many sites usually share a
/// host. Lookups still run under ureq's timeout. `--resolve` and
/// `--connect-to` apply here: TLS still sees the URL's host.
#[derive(Debug, Default)]
struct Resolver {
    seen: Mutex<HashMap<String, ureq::unversioned::resolver::ResolvedSocketAddrs>>,
    inner: ureq::unversioned::resolver::DefaultResolver,
    overrides: Arc<Overrides>,
    /// An HTTP proxy taking requests in absolute form: every host is reached there.
    via: Option<ureq::http::Uri>,
}

impl ureq::unversioned::resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let uri = self.via.as_ref().unwrap_or(uri);
        let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let (host, port, fixed) = match port {
            Some(p) => {
                let (h, p, a) = self.overrides.apply(host, p);
                (h, Some(p), a)
            }
            None => (host.to_string(), None, None),
        };
        let fixed = fixed.or_else(|| host.parse().ok().map(|ip| vec![ip]));
        if let (Some(ips), Some(port)) = (fixed, port) {
            let mut out = self.empty();
            for ip in ips.into_iter().take(16) {
                out.push(std::net::SocketAddr::new(ip, port));
            }
            return Ok(out);
        }
        let key = format!("{}://{}:{}", uri.scheme_str().unwrap_or_default(), host, port.unwrap_or(0));
        if let Some(hit) = self.seen.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(hit);
        }
        let target = match port {
            Some(p) => {
                let h = if host.contains(':') { format!("[{host}]") } else { host.clone() };
                format!("{}://{h}:{p}", uri.scheme_str().unwrap_or("http"))
                    .parse::<ureq::http::Uri>()
                    .map_err(|_| ureq::Error::HostNotFound)?
            }
            None => uri.clone(),
        };
        let found = self.inner.resolve(&target, config, timeout)?;
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
        // Only an answer that does not parse as HTTP/1.x hints at HTTP/2; a
        // request that did not fit, or a bad header, is said as it is.
        E::Protocol(p) => {
            let text = p.to_string();
            if text.contains("output") && text.contains("overflow") || text.contains("OutputOverflow") {
                (K::TooLarge, format!("the request head is too large to send ({text}); nothing was sent"))
            } else if text.contains("parse") || text.contains("version") {
                (
                    K::Protocol,
                    format!("the answer is not HTTP/1.x ({text}); a server that speaks only HTTP/2 without TLS answers like this"),
                )
            } else {
                (K::Protocol, format!("the request or its answer broke HTTP/1.1 ({text})"))
            }
        }
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

/// `first`: `plan.url` parsed (and allowed by the send policy); `deadline`:
/// the end of the whole probe, every redirect included; `via_proxy`: each
/// hop goes through the proxy the environment names for its scheme.
fn exchange(
    client: &Client,
    plan: &Plan,
    first: Option<&weburl::Url>,
    hv: Option<&[u8]>,
    deadline: Instant,
    via_proxy: bool,
) -> Exchange {
    let timeout = client.opts.timeout;
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
        // Each hop with the proxy and the trust store of its own scheme.
        let result = match &plan.body {
            Some(body) if method == "POST" => b
                .body(body.clone())
                .map_err(|e| e.to_string())
                .map(|r| client.send_hop(r, &url, plan.trust, via_proxy, deadline)),
            _ => {
                b.body(()).map_err(|e| e.to_string()).map(|r| client.send_hop(r, &url, plan.trust, via_proxy, deadline))
            }
        };
        let resp = match result {
            Err(m) => return fail(redirects, ProbeError::new(ErrorKind::Protocol, m)),
            Ok(Err(e)) => return fail(redirects, e),
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

/// The system's CA bundle, the first found.
fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()).map(Path::to_path_buf)
}

/// The certificates in PEM files that can be read (a missing file holds none).
fn read_pems(files: &[PathBuf]) -> Vec<ureq::tls::Certificate<'static>> {
    let mut certs = Vec::new();
    for f in files {
        if let Ok(bytes) = fsread::read(f, 16 * 1024 * 1024) {
            certs.extend(ureq::tls::parse_pem(&bytes).filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            }));
        }
    }
    certs
}

/// The certificates of every `--cacert` (each must hold one) and of the CA
/// files the analysed environment `env` names for tools (`SSL_CERT_FILE`,
/// `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`); `Ok(None)` when there are none.
pub fn load_roots(
    cacert: &[PathBuf],
    env: &BTreeMap<String, Vec<u8>>,
) -> Result<Option<Vec<ureq::tls::Certificate<'static>>>> {
    let mut certs = Vec::new();
    for var in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
        if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
            certs.extend(read_pems(&[PathBuf::from(String::from_utf8_lossy(v).into_owned())]));
        }
    }
    for f in cacert {
        let bytes = fsread::read_arg(f, 16 * 1024 * 1024).map_err(|e| Error::usage(format!("--cacert: {e}")))?;
        let before = certs.len();
        certs.extend(ureq::tls::parse_pem(&bytes).filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        }));
        if certs.len() == before {
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
