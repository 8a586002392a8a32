//! keyhole-probe: for each `site`, resolve the key again from its reference
//! (never from the stream), send the request the tool would send, and add
//! the `probe` object of docs/records.md#probe.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use keyhole_core::fsread;
use keyhole_core::jsonl::{line_with, parse_line, InputItem};
use keyhole_core::provider::{self, Provider};
use keyhole_core::record::ErrorRecord;
use keyhole_core::scan;
use keyhole_core::secret::{Fingerprint, Secret};
use keyhole_core::tool::{self, Tool, UrlJoin};
use serde_json::{json, Map, Value};

pub mod dispatch;
pub mod pool;

pub use dispatch::Dispatch;
use pool::Pool;

pub const TOOL_NAME: &str = "keyhole-probe";
/// Response bodies are read up to this many bytes (docs/records.md#probe).
pub const BODY_CAP: u64 = 1024 * 1024;
const MAX_HOPS: usize = 10;

/// Agents keyed by (proxy, https).
pub type AgentCache = HashMap<(Option<String>, bool), ureq::Agent>;

#[derive(Clone, Debug)]
pub struct Options {
    pub home: PathBuf,
    /// The analysed environment: `--env-file`, else the probe's own.
    pub env: BTreeMap<String, Vec<u8>>,
    pub timeout: Duration,
    pub completion: bool,
    pub provider_urls: BTreeMap<String, String>,
    /// Where running processes are read from (`env.effective` may name one).
    pub proc_root: PathBuf,
    /// `--cacert` files.
    pub cacert: Vec<PathBuf>,
    /// Trusted roots, loaded on the first https request (`None` inside = Mozilla's).
    pub roots: Arc<OnceLock<Option<Vec<ureq::tls::Certificate<'static>>>>>,
    /// Show progress on stderr (a terminal) when a run takes over a second.
    pub progress: bool,
    /// Agents by proxy, shared by the probe threads.
    pub agents: Arc<Mutex<AgentCache>>,
    /// Probes in flight at once (`--jobs`).
    pub jobs: usize,
    /// The run's requests, sent as soon as planned: an identical request
    /// (in this batch or a later one) is sent once, at most `jobs` at a time.
    pub dispatch: Arc<Dispatch>,
}

/// What the tool will put in its credential header.
#[derive(Debug)]
pub enum KeyToSend {
    Value(Secret),
    /// The tool sends no credential header at all.
    NoHeader(String),
}

/// Resolve the key a site's tool will send, from the site's reference.
pub fn resolve_key(site: &Value, opts: &Options) -> Result<KeyToSend, String> {
    let key = &site["key"];
    let from = key["from"].as_str().unwrap_or("");
    let tool_name = site["tool"].as_str().unwrap_or("");
    let syntax = key["syntax"].as_str();
    match from {
        "literal" => literal_again(site, opts).map(KeyToSend::Value),
        "placeholder" => Ok(KeyToSend::Value(Secret::new(key["text"].as_str().unwrap_or("").as_bytes()))),
        "env" if site.get("env").is_some_and(|e| e.get("effective").is_some()) => {
            let var = key["var"].as_str().unwrap_or("");
            match from_effective(site, var, opts)? {
                Some(v) => Ok(KeyToSend::Value(Secret::new(v))),
                None => Ok(match tool::unset_sends(tool_name, syntax, var) {
                    tool::Unset::NoHeader => KeyToSend::NoHeader(format!(
                        "keyhole-env found no value of {var} for {tool_name}: it sends no credential header"
                    )),
                    tool::Unset::Text(t) => KeyToSend::Value(Secret::new(t.into_bytes())),
                }),
            }
        }
        "env" => {
            let var = key["var"].as_str().unwrap_or("");
            match opts.env.get(var) {
                Some(v) if !(v.is_empty() && syntax == Some("secrets")) => Ok(KeyToSend::Value(Secret::new(v.clone()))),
                _ => Ok(match tool::unset_sends(tool_name, syntax, var) {
                    tool::Unset::NoHeader => KeyToSend::NoHeader(format!(
                        "{var} is unset in the analysed environment: {tool_name} sends no credential header"
                    )),
                    tool::Unset::Text(t) => KeyToSend::Value(Secret::new(t.into_bytes())),
                }),
            }
        }
        "file" => {
            let path = key["path"].as_str().unwrap_or("");
            fsread::read_bytes(Path::new(path), 64 * 1024)
                .map(|b| KeyToSend::Value(Secret::new(b)))
                .map_err(|e| format!("{path} {e}"))
        }
        "none" => Ok(match tool::unset_sends(tool_name, None, "") {
            tool::Unset::Text(t) => KeyToSend::Value(Secret::new(t.into_bytes())),
            tool::Unset::NoHeader => KeyToSend::NoHeader("no key is configured".into()),
        }),
        "command" => Err(format!(
            "the key comes from a helper command ({}); keyhole-probe does not run it",
            key["cmd"].as_str().unwrap_or("?")
        )),
        "store" => Err(format!(
            "the key is in {} which keyhole cannot read: verify with keyhole-capture",
            key["store"].as_str().unwrap_or("a store")
        )),
        other => Err(format!("unknown key.from {other:?}")),
    }
}

/// The value keyhole-env said the tool really gets (`env.effective`), read
/// again from where it lives: a `.env` file and line, a running process's
/// environment, or the analysed environment; checked against its fingerprint.
fn from_effective(site: &Value, var: &str, opts: &Options) -> Result<Option<Vec<u8>>, String> {
    let eff = &site["env"]["effective"];
    if eff.is_null() {
        return Ok(None);
    }
    let from = eff["from"].as_str().unwrap_or("");
    let value: Option<Vec<u8>> = if from == "environment" {
        opts.env.get(var).cloned()
    } else if let Some(pid) = from.strip_prefix("process:") {
        let path = opts.proc_root.join(pid).join("environ");
        let bytes =
            fsread::read_bytes(&path, 4 * 1024 * 1024).map_err(|e| format!("process {pid}: its environment {e}"))?;
        keyhole_core::envfile::parse(&bytes).remove(var)
    } else {
        let line = eff["line"].as_u64().unwrap_or(0) as u32;
        let text = fsread::read_text(Path::new(from), fsread::DEFAULT_CAP).map_err(|e| format!("{from} {e}"))?;
        let flavor = tool::get(site["tool"].as_str().unwrap_or(""))
            .and_then(|t| t.dotenv.first().map(|r| r.flavor))
            .unwrap_or(keyhole_core::dotenv::Flavor::Python);
        keyhole_core::dotenv::parse(&text, flavor)
            .into_iter()
            .find(|e| e.name == var && e.line == line)
            .map(|e| e.value.into_bytes())
    };
    let want = eff["fp"]["sha8"].as_str().unwrap_or("");
    match value {
        Some(v) if Fingerprint::of(&v, None).sha8 == want => Ok(Some(v)),
        Some(_) | None => Err(format!("the value of {var} at {from} changed since keyhole-env ran; run it again")),
    }
}

/// Read the site's file again and take the literal whose fingerprint the record names.
fn literal_again(site: &Value, opts: &Options) -> Result<Secret, String> {
    let file = site["source"]["file"].as_str().ok_or("the site has no source.file")?;
    let line = site["source"]["line"].as_u64().unwrap_or(0);
    let want = site["key"]["fp"]["sha8"].as_str().ok_or("the literal key has no fingerprint")?;
    let name = site["tool"].as_str().unwrap_or("");
    // A tool whose sites another entry's reader finds is read again through it.
    let t: &'static Tool = tool::get(name).map(Tool::reader).ok_or(format!("unknown tool {name:?}"))?;
    let path = Path::new(file);
    let kind = scan::kind_for(t, path, &opts.home).ok_or(format!("{file} is not a file {name} reads"))?;
    let ex =
        scan::extract_file(path, kind, &[t], &opts.home, fsread::DEFAULT_CAP, false).map_err(|e| format!("{e:?}"))?;
    ex.secrets.into_iter().find_map(|(s, sha8)| (sha8 == want).then_some(s)).ok_or_else(|| {
        format!("the key at {file}:{line} changed since keyhole-find ran (sha8 {want} is gone); run keyhole-find again")
    })
}

/// The URL a tool requests for `path`, joined its way.
pub fn join(base: &str, join: UrlJoin, path: &str) -> String {
    match join {
        UrlJoin::TrimAndAppend => format!("{}/{}", base.trim_end_matches('/'), path),
        UrlJoin::Naive => format!("{base}/{path}"),
        UrlJoin::AnthropicSdk => format!("{}/v1/{}", base.trim_end_matches('/'), path),
    }
}

fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let auth = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?.to_ascii_lowercase();
    let default = if scheme.eq_ignore_ascii_case("https") { ":443" } else { ":80" };
    let auth = if auth.contains(':') && !auth.ends_with(']') { auth } else { format!("{auth}{default}") };
    Some(format!("{}://{auth}", scheme.to_ascii_lowercase()))
}

fn resolve_location(from: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let o =
        from.split_once("://").map(|(s, r)| format!("{s}://{}", r.split('/').next().unwrap_or(""))).unwrap_or_default();
    if loc.starts_with('/') {
        format!("{o}{loc}")
    } else {
        let dir = from.rsplit_once('/').map(|(d, _)| d).unwrap_or(from);
        format!("{dir}/{loc}")
    }
}

/// The proxy the tool would use for `url`, from the analysed environment.
pub fn proxy_for(url: &str, env: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    let get = |k: &str| {
        env.get(k)
            .or_else(|| env.get(&k.to_ascii_lowercase()))
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = provider::url_host(url)?;
    if let Some(no) = get("NO_PROXY") {
        for pat in no.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let pat = pat.trim_start_matches('.').split(':').next().unwrap_or("");
            if pat == "*" || host == pat || host.ends_with(&format!(".{pat}")) {
                return None;
            }
        }
    }
    if url.starts_with("https://") { get("HTTPS_PROXY") } else { get("HTTP_PROXY") }.or_else(|| get("ALL_PROXY"))
}

fn redact_url(u: &str) -> String {
    match u.split_once("://") {
        Some((s, rest)) if rest.split('/').next().unwrap_or("").contains('@') => {
            let after = rest.split_once('@').map(|(_, a)| a).unwrap_or(rest);
            format!("{s}://(credentials redacted)@{after}")
        }
        _ => u.to_string(),
    }
}

/// Remove the key, and anything shaped like a key, from text a server echoed.
pub fn redact(text: &str, key: Option<&Secret>) -> String {
    let mut t = text.to_string();
    if let Some(k) = key {
        let s = String::from_utf8_lossy(k.expose());
        let s = s.trim();
        if s.len() >= 8 {
            t = t.replace(s, "(redacted key)");
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

/// One prepared request: everything that makes two sites' probes identical.
#[derive(Clone, Debug)]
pub struct Plan {
    pub method: &'static str,
    pub url: String,
    pub header: String,
    pub scheme: String,
    pub key: Option<Arc<Secret>>,
    pub extra: Vec<(String, String)>,
    pub body: Option<String>,
    pub fp: Option<Fingerprint>,
    pub provider: Option<&'static Provider>,
}

impl Plan {
    fn dedupe_key(&self) -> String {
        format!(
            "{} {} {} {} {:?} {:?}",
            self.method,
            self.url,
            self.header,
            self.scheme,
            self.fp.as_ref().map(|f| &f.sha8),
            self.body
        )
    }
}

/// Build the request a site's tool would send, or a probe-level error.
pub fn plan(site: &Value, opts: &Options) -> Result<Plan, (String, String)> {
    let pname = site["provider"].as_str().unwrap_or("");
    let p: &'static Provider =
        provider::get(pname).ok_or(("unresolved".to_string(), format!("unknown provider {pname:?}")))?;
    let t = tool::get(site["tool"].as_str().unwrap_or(""));
    let join_rule = t.map_or(UrlJoin::TrimAndAppend, |t| t.url_join);
    let mut base = site["base_url"].as_str().unwrap_or("").to_string();
    if site["base_url_from"] == "default" {
        if let Some(u) = opts.provider_urls.get(pname) {
            base = u.clone();
        }
    }
    if base.is_empty() {
        return Err(("unresolved".into(), format!("{} has no default base URL and the site names none", p.display)));
    }
    let (method, path, body) = if opts.completion {
        let model = site["model"].as_str().unwrap_or("openrouter/auto");
        // Anthropic-style APIs take /messages; every other one the OpenAI chat route.
        let path =
            if p.name == "anthropic" || join_rule == UrlJoin::AnthropicSdk { "messages" } else { "chat/completions" };
        let body = json!({"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]});
        ("POST", path, Some(body.to_string()))
    } else {
        let check = p.check.ok_or((
            "unresolved".to_string(),
            format!("{} has no free key-check endpoint; use --completion", p.display),
        ))?;
        (check.method, check.path, None)
    };
    let mut url = join(&base, join_rule, path);
    let header = site["auth"]["header"].as_str().unwrap_or("authorization").to_string();
    let scheme = site["auth"]["scheme"].as_str().unwrap_or("bearer").to_string();
    let key = match resolve_key(site, opts) {
        // A tool that trims the key sends it trimmed (Continue, measured).
        Ok(KeyToSend::Value(s)) if t.is_some_and(|t| t.trims_key) => {
            let trimmed = String::from_utf8_lossy(s.expose()).trim().as_bytes().to_vec();
            Some(Arc::new(Secret::new(trimmed)))
        }
        Ok(KeyToSend::Value(s)) => Some(Arc::new(s)),
        Ok(KeyToSend::NoHeader(_)) => None,
        Err(m) => return Err(("unresolved".into(), m)),
    };
    if header == "query:key" {
        if let Some(k) = &key {
            let sep = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{sep}key={}", String::from_utf8_lossy(k.expose()));
        }
    }
    let fp = key.as_ref().map(|k| k.fingerprint(Some(p)));
    let mut extra: Vec<(String, String)> =
        p.extra_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if body.is_some() {
        extra.push(("content-type".into(), "application/json".into()));
    }
    Ok(Plan { method, url, header, scheme, key, extra, body, fp, provider: Some(p) })
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

/// One agent per proxy setting, built once: roots are parsed once and
/// connections are reused across probes.
fn agent(opts: &Options, proxy: Option<&str>, https: bool) -> Result<ureq::Agent, String> {
    let key = (proxy.map(str::to_string), https);
    let mut cache = opts.agents.lock().map_err(|_| "agent cache poisoned".to_string())?;
    if let Some(a) = cache.get(&key) {
        return Ok(a.clone());
    }
    let a = build_agent(opts, proxy, https)?;
    cache.insert(key, a.clone());
    Ok(a)
}

fn build_agent(opts: &Options, proxy: Option<&str>, https: bool) -> Result<ureq::Agent, String> {
    let proxy = match proxy {
        Some(p) => Some(ureq::Proxy::new(p).map_err(|e| format!("bad proxy URL: {e}"))?),
        None => None,
    };
    // Plain-http probes never pay for loading the system bundle.
    let loaded = if https {
        opts.roots.get_or_init(|| load_roots(&opts.cacert, &opts.env).ok().flatten()).as_ref()
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

fn error_kind(e: &ureq::Error) -> (&'static str, String) {
    use ureq::Error as E;
    match e {
        E::HostNotFound => ("dns", "the host name does not resolve".into()),
        E::ConnectionFailed => ("connect", "the connection was refused or could not be made".into()),
        E::Timeout(t) => ("timeout", format!("no answer within the timeout ({t})")),
        E::Tls(m) => ("tls", tls_hint(m)),
        E::Rustls(r) => ("tls", tls_hint(&r.to_string())),
        E::ConnectProxyFailed(m) => ("proxy", format!("the proxy refused the tunnel: {m}")),
        E::InvalidProxyUrl => ("proxy", "invalid proxy URL".into()),
        E::BodyExceedsLimit(n) => ("too_large", format!("body over {n} bytes")),
        E::Io(io) => {
            let text = io.to_string();
            if text.contains("certificate") || text.contains("handshake") || text.contains("peer") {
                return ("tls", tls_hint(&text));
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => ("connect", "connection refused".into()),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ("timeout", "timed out".into()),
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::UnexpectedEof => ("protocol", format!("the connection was reset: {io}")),
                _ => ("connect", text),
            }
        }
        E::Protocol(p) => (
            "protocol",
            format!("the answer is not HTTP/1.x ({p}); a server that speaks only HTTP/2 without TLS answers like this"),
        ),
        other => ("protocol", other.to_string()),
    }
}

/// What common HTTP clients do with the credential header on this redirect
/// hop (docs/wire.md#redirects): `true` = they send it on.
fn client_rules(from: &str, to: &str, header: &str) -> Value {
    let (fo, to_o) = (origin(from), origin(to));
    let (fh, th) = (provider::url_host(from).unwrap_or_default(), provider::url_host(to).unwrap_or_default());
    let same_origin = fo == to_o;
    let upgrade = from.starts_with("http://") && to.starts_with("https://") && fh == th && {
        let default_ports = |o: &Option<String>, p: &str| o.as_deref().is_some_and(|o| o.ends_with(p));
        default_ports(&fo, ":80") && default_ports(&to_o, ":443")
    };
    let subdomain = th == fh || th.ends_with(&format!(".{fh}"));
    let is_auth = header == "authorization";
    json!({
        "curl": same_origin,
        "python-requests": same_origin || upgrade,
        "httpx": same_origin || upgrade,
        // undici strips only authorization (and cookies) cross-origin; x-api-key is forwarded
        "node-fetch": same_origin || !is_auth,
        "go": subdomain,
    })
}

/// One exchange: a request and its redirects, followed by hand; the key only
/// goes to the first origin.
struct Exchange {
    redirects: Vec<Value>,
    response: Value,
    error: Value,
}

fn exchange(plan: &Plan, hv: Option<&[u8]>, agent: &ureq::Agent) -> Exchange {
    let first_origin = origin(&plan.url);
    let key = plan.key.as_deref();
    let mut url = plan.url.clone();
    let mut redirects = Vec::new();
    let mut with_key = true;
    let mut method = plan.method;
    let mut seen = vec![url.clone()];
    let fail = |redirects, kind: &str, msg: String| Exchange {
        redirects,
        response: Value::Null,
        error: json!({"kind": kind, "message": redact(&msg, key)}),
    };
    loop {
        let mut b = ureq::http::Request::builder().method(method).uri(&url);
        if with_key {
            if let Some(v) = hv {
                b = b.header(plan.header.as_str(), v);
            }
        }
        for (k, v) in &plan.extra {
            b = b.header(k.as_str(), v.as_str());
        }
        let result = match &plan.body {
            Some(body) if method == "POST" => b.body(body.clone()).map_err(|e| e.to_string()).map(|r| agent.run(r)),
            _ => b.body(()).map_err(|e| e.to_string()).map(|r| agent.run(r)),
        };
        let resp = match result {
            Err(m) => return fail(redirects, "protocol", m),
            Ok(Err(e)) => {
                let (kind, msg) = error_kind(&e);
                return fail(redirects, kind, msg);
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            if let Some(loc) = resp.headers().get("location").and_then(|v| v.to_str().ok()) {
                let next = resolve_location(&url, loc);
                let same = origin(&next) == first_origin;
                let mut hop = json!({
                    "status": status,
                    "from": redact(&url, key),
                    "to": redact(&next, key),
                    "auth_kept": same && with_key && hv.is_some(),
                });
                if hv.is_some() && with_key {
                    hop["clients"] = client_rules(&url, &next, &plan.header);
                }
                // 301/302/303 turn a POST into a GET in most clients.
                if method == "POST" && matches!(status, 301..=303) {
                    hop["method_after"] = json!("GET");
                    method = "GET";
                }
                redirects.push(hop);
                with_key &= same;
                if seen.contains(&next) || redirects.len() >= MAX_HOPS {
                    return fail(redirects, "protocol", format!("redirect loop or more than {MAX_HOPS} redirects"));
                }
                seen.push(next.clone());
                url = next;
                continue;
            }
        }
        return Exchange { redirects, response: read_response(resp, key), error: Value::Null };
    }
}

/// The API said that no credentials arrived at all (provider catalogue data).
fn says_no_credentials(p: Option<&Provider>, response: &Value) -> bool {
    let msg =
        response["body"]["error"]["message"].as_str().or_else(|| response["body"]["message"].as_str()).unwrap_or("");
    let status = response["status"].as_u64().unwrap_or(0);
    (status == 401 || status == 403)
        && p.map_or(provider::PROVIDERS.iter().collect::<Vec<_>>(), |p| vec![p])
            .iter()
            .any(|p| p.says_no_credentials(msg))
}

/// Send a plan; when a proxy is in effect, the key was sent and the API says
/// no credentials arrived, send it again directly to pin the hop that strips it.
pub fn send(plan: &Plan, opts: &Options) -> Value {
    let start = Instant::now();
    let proxy = proxy_for(&plan.url, &opts.env);
    let mut request = Map::new();
    request.insert("method".into(), json!(plan.method));
    request.insert("url".into(), json!(redact(&plan.url, plan.key.as_deref())));
    request.insert("auth_header".into(), json!(if plan.key.is_some() { plan.header.as_str() } else { "none" }));
    request.insert("fp".into(), plan.fp.as_ref().map_or(Value::Null, |f| json!(f)));
    let mut out = Map::new();
    out.insert("proxy".into(), proxy.as_deref().map_or(Value::Null, |p| json!(redact_url(p))));
    let hv = header_value(plan);
    let header_ok = hv.as_ref().is_none_or(|v| ureq::http::HeaderValue::from_bytes(v).is_ok());
    let ex = if !header_ok {
        request.insert("header_invalid".into(), json!(true));
        Exchange {
            redirects: vec![],
            response: Value::Null,
            error: json!({"kind": "protocol", "message": "the key holds a byte no HTTP header may carry (a newline or control character): the client refuses to send it; the openai SDKs report this as 'Connection error.', curl sends up to the newline"}),
        }
    } else {
        match agent(opts, proxy.as_deref(), plan.url.starts_with("https://")) {
            Ok(a) => exchange(plan, hv.as_deref(), &a),
            Err(m) => {
                Exchange { redirects: vec![], response: Value::Null, error: json!({"kind": "proxy", "message": m}) }
            }
        }
    };
    if proxy.is_some() && hv.is_some() && says_no_credentials(plan.provider, &ex.response) {
        let direct = match agent(opts, None, plan.url.starts_with("https://")) {
            Ok(a) => exchange(plan, hv.as_deref(), &a),
            Err(m) => {
                Exchange { redirects: vec![], response: Value::Null, error: json!({"kind": "proxy", "message": m}) }
            }
        };
        let summary = |via: &str, e: &Exchange| {
            json!({"via": via, "key_sent": true, "status": e.response["status"], "error": e.error,
                   "no_credentials": says_no_credentials(plan.provider, &e.response)})
        };
        let direct_ok = direct.error.is_null() && !says_no_credentials(plan.provider, &direct.response);
        out.insert("differential".into(), json!([summary("proxy", &ex), summary("direct", &direct)]));
        out.insert("stripped_by".into(), json!(if direct_ok { "proxy" } else { "unknown" }));
    }
    out.insert("request".into(), Value::Object(request));
    out.insert("redirects".into(), Value::Array(ex.redirects));
    out.insert("response".into(), ex.response);
    out.insert("error".into(), ex.error);
    out.insert("elapsed_ms".into(), json!(start.elapsed().as_millis() as u64));
    Value::Object(out)
}

fn read_response(mut resp: ureq::http::Response<ureq::Body>, key: Option<&Secret>) -> Value {
    let status = resp.status().as_u16();
    let mut headers = Map::new();
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
            headers.insert(name.into(), json!(redact(&String::from_utf8_lossy(v.as_bytes()), key)));
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
            let text = String::from_utf8_lossy(&buf);
            let short: String = text.chars().take(4000).collect();
            Value::String(short)
        }
    };
    redact_json(&mut body, key);
    let mut r = json!({"status": status, "headers": headers, "body": body});
    if truncated {
        r["body_truncated"] = json!(true);
    }
    if let Err(e) = read {
        r["body_error"] = json!(redact(&e.to_string(), key));
    }
    r
}

/// Probe every site of a batch concurrently (at most `opts.jobs` at once);
/// identical requests are sent once. Results keep the input order.
pub fn probe_all(sites: &[&Value], opts: &Options) -> Vec<Value> {
    let opts = Arc::new(opts.clone());
    let planned: Vec<Result<String, (String, String)>> =
        sites.iter().map(|s| submit(s, &opts, sites.len() == 1)).collect();
    planned.iter().map(|p| Arc::unwrap_or_clone(answer(p.as_ref(), &opts))).collect()
}

/// Plan a site's request and submit it to the run's dispatch: it is sent
/// at once unless an identical one was (`alone`: the only site, sent by its
/// waiter). Returns its key, or a probe-level error.
fn submit(site: &Value, opts: &Arc<Options>, alone: bool) -> Result<String, (String, String)> {
    let plan = Arc::new(plan(site, opts)?);
    let key = plan.dedupe_key();
    let o = opts.clone();
    opts.dispatch.submit(key.clone(), move || send(&plan, &o), alone);
    Ok(key)
}

/// The answer to a submitted request (waiting for it), or the probe error.
fn answer(planned: Result<&String, &(String, String)>, opts: &Options) -> Arc<Value> {
    match planned {
        Ok(key) => opts.dispatch.wait(key).unwrap_or_default(),
        Err((kind, msg)) => Arc::new(
            json!({"request": null, "redirects": [], "proxy": null, "response": null, "error": {"kind": kind, "message": msg}, "elapsed_ms": 0}),
        ),
    }
}

/// A line parsed and, for a site, its request planned (and submitted) under its key.
type Planned = (InputItem, Option<Result<String, (String, String)>>);

/// One batch of input lines, owned by the pool's tasks.
struct Batch {
    lines: Vec<(u64, Vec<u8>)>,
    opts: Arc<Options>,
    offline: bool,
    parsed: Vec<OnceLock<Planned>>,
    answers: OnceLock<Vec<Option<Arc<Value>>>>,
    out: Vec<OnceLock<Vec<u8>>>,
}

/// Parse a line and, for a site, plan its request (re-read its key).
struct PlanStep(Arc<Batch>);

impl pool::Task for PlanStep {
    fn count(&self) -> usize {
        self.0.lines.len()
    }
    fn run(&self, i: usize) {
        let b = &self.0;
        let item = parse_line(&b.lines[i].1, TOOL_NAME, b.lines[i].0);
        let planned = match &item {
            InputItem::Record(r) if !b.offline && r["type"] == "site" => Some(submit(r, &b.opts, b.lines.len() == 1)),
            _ => None,
        };
        let _ = b.parsed[i].set((item, planned));
    }
}

/// Serialize a record with its answer (or an input line's error record).
struct WriteStep(Arc<Batch>);

impl pool::Task for WriteStep {
    fn count(&self) -> usize {
        self.0.lines.len()
    }
    fn run(&self, i: usize) {
        let b = &self.0;
        let mut buf = Vec::with_capacity(b.lines[i].1.len() + 1024);
        let answer = b.answers.get().and_then(|a| a[i].as_deref());
        let written = match (b.parsed[i].get(), answer) {
            (Some((InputItem::Record(r), _)), Some(a)) => line_with(&mut buf, r, "probe", a),
            (Some((InputItem::Record(r), _)), None) => serde_json::to_writer(&mut buf, r),
            (Some((InputItem::Bad(e), _)), _) => serde_json::to_writer(&mut buf, e),
            // Its planning panicked (a bug, said on stderr): the line is not lost silently.
            (None, _) => serde_json::to_writer(
                &mut buf,
                &keyhole_core::record::Record::Error(
                    ErrorRecord::new(
                        TOOL_NAME,
                        format!("input line {} could not be probed (internal error); skipped", b.lines[i].0),
                    )
                    .at_input_line(b.lines[i].0),
                ),
            ),
        };
        match written {
            Ok(()) if buf.last() != Some(&b'\n') && !buf.is_empty() => buf.push(b'\n'),
            Ok(()) => {}
            Err(_) => buf.clear(),
        }
        let _ = b.out[i].set(buf);
    }
}

/// The threads a run parses, plans and serializes on: one per CPU, the
/// caller's among them. Start it before reading the input (see [`pool`]).
pub fn cpu_pool() -> Pool {
    Pool::new(cpus() - 1)
}

/// A batch of input lines (numbered, unparsed) probed and serialized: the
/// lines are parsed and planned on every CPU, each distinct request is sent
/// once (at most `opts.jobs` at a time), and the records are serialized on
/// every CPU. Returns the output lines in input order and whether a line was
/// not a record (it becomes an error record in its place). A site's earlier
/// `probe` is replaced; with `offline`, records pass through unchanged.
pub fn probe_lines(pool: &Pool, lines: Vec<(u64, Vec<u8>)>, opts: &Arc<Options>, offline: bool) -> (Vec<u8>, bool) {
    let n = lines.len();
    let batch = Arc::new(Batch {
        lines,
        opts: opts.clone(),
        offline,
        parsed: (0..n).map(|_| OnceLock::new()).collect(),
        answers: OnceLock::new(),
        out: (0..n).map(|_| OnceLock::new()).collect(),
    });
    // A few sites are not worth a helper's wake-up (~50 µs).
    pool.run(Arc::new(PlanStep(batch.clone())), 4);
    let waiting = std::sync::atomic::AtomicBool::new(true);
    let answers = std::thread::scope(|sc| {
        if opts.progress {
            sc.spawn(|| progress(&opts.dispatch, &waiting));
        }
        let a = batch
            .parsed
            .iter()
            .map(|p| p.get().and_then(|(_, planned)| planned.as_ref()).map(|p| answer(p.as_ref(), opts)))
            .collect();
        waiting.store(false, std::sync::atomic::Ordering::SeqCst);
        a
    });
    let _ = batch.answers.set(answers);
    pool.run(Arc::new(WriteStep(batch.clone())), 16);
    let bad = batch.parsed.iter().any(|p| !matches!(p.get(), Some((InputItem::Record(_), _))));
    let mut bytes = Vec::with_capacity(batch.out.iter().filter_map(OnceLock::get).map(Vec::len).sum());
    for o in batch.out.iter().filter_map(OnceLock::get) {
        bytes.extend_from_slice(o);
    }
    (bytes, bad)
}

/// CPUs to plan on (read once: std looks in cgroup files each time).
fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `keyhole-probe: 12/40 probes` on stderr, from the first second of a
/// wait on, until the batch's answers are in.
fn progress(dispatch: &Dispatch, waiting: &std::sync::atomic::AtomicBool) {
    use std::io::Write;
    let start = Instant::now();
    let mut shown = false;
    while waiting.load(std::sync::atomic::Ordering::SeqCst) {
        if start.elapsed() >= Duration::from_secs(1) {
            let (done, total) = dispatch.progress();
            let _ = write!(std::io::stderr(), "\r{TOOL_NAME}: {done}/{total} probes");
            shown = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if shown {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
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
/// `--cacert`. `Ok(None)` when none is found: Mozilla's roots then.
pub fn load_roots(
    cacert: &[PathBuf],
    env: &BTreeMap<String, Vec<u8>>,
) -> Result<Option<Vec<ureq::tls::Certificate<'static>>>, String> {
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
            Err(e) if must => return Err(format!("--cacert {} {e}", f.display())),
            Err(_) => continue,
        };
        let before = certs.len();
        for item in ureq::tls::parse_pem(&bytes) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                certs.push(c);
            }
        }
        if must && certs.len() == before {
            return Err(format!("--cacert {} holds no PEM certificate", f.display()));
        }
    }
    Ok((!certs.is_empty()).then_some(certs))
}
