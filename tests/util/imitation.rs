//! A loopback imitation of the providers, as docs/wire.md
//! describes them (status, body, headers), started by the tests. It records
//! every request it receives (method, path, header names, and the credential
//! values so a test can assert what arrived — kept in memory, never printed).
//! Like the real APIs it keeps HTTP/1.1 connections open between requests,
//! unless the client asks to close; the fault routes end theirs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use keyhole_core::provider::{self, ErrorBody};

#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
    /// The client asked to close the connection after this answer.
    pub fn wants_close(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// The most of a request body the test servers read.
pub const BODY_MAX: usize = 1 << 20;

/// One HTTP/1.1 request off a connection, for the test servers: the request
/// line, headers (names in lower case, values trimmed) and the body (up to
/// [`BODY_MAX`]); `None` at the end of the connection. Also the body's
/// declared length, so a server can close a connection whose body it did not
/// read whole.
pub fn read_request(r: &mut BufReader<TcpStream>) -> Option<(Seen, Vec<u8>, usize)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
            break;
        }
        if let Some((k, v)) = l.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let s = Seen { method, path, headers };
    let len: usize = s.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len.min(BODY_MAX)];
    let _ = r.read_exact(&mut body);
    Some((s, body, len))
}

pub struct Imitation {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Connections accepted so far (requests share them when kept alive).
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Imitation {
    /// `known_key`: the one OpenRouter key this imitation accepts.
    /// `other_port`: where `/redirect-away/…` sends clients (another origin).
    pub fn start(known_key: &str, other_port: Option<u16>) -> Imitation {
        Imitation::start_with(vec![known_key.to_string()], other_port, true)
    }

    /// Several accepted keys; `record: false` keeps no log of requests (a
    /// benchmark's stand-in, which must not grow).
    pub fn start_with(known_keys: Vec<String>, other_port: Option<u16>, record: bool) -> Imitation {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let keys = Arc::new(known_keys);
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = connections.clone();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let seen = s2.clone();
                let keys = keys.clone();
                thread::spawn(move || {
                    let _ = conn.set_nodelay(true);
                    let Ok(read_half) = conn.try_clone() else { return };
                    let mut r = BufReader::new(read_half);
                    let seen = if record { Some(&*seen) } else { None };
                    while handle(&mut r, &conn, seen, &keys, port, other_port) {}
                });
            }
        });
        Imitation { port, seen, connections }
    }
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A forwarding proxy that strips `Authorization` (what a misconfigured
/// corporate proxy or gateway does). It serves CONNECT tunnels carrying plain
/// HTTP and absolute-form requests alike, and counts what it forwarded.
pub struct StrippingProxy {
    pub port: u16,
    pub stripped: Arc<Mutex<usize>>,
}

impl StrippingProxy {
    pub fn start() -> StrippingProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let stripped = Arc::new(Mutex::new(0));
        let st = stripped.clone();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let st = st.clone();
                thread::spawn(move || {
                    let _ = proxy_one(conn, &st);
                });
            }
        });
        StrippingProxy { port, stripped }
    }
}

fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<(String, Vec<String>)> {
    let mut first = String::new();
    r.read_line(&mut first)?;
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l)? == 0 || l == "\r\n" {
            break;
        }
        headers.push(l.trim_end().to_string());
    }
    Ok((first.trim_end().to_string(), headers))
}

fn proxy_one(c: TcpStream, stripped: &Mutex<usize>) -> std::io::Result<()> {
    let mut r = BufReader::new(c.try_clone()?);
    let (mut first, mut headers) = read_head(&mut r)?;
    let mut w = c;
    let mut parts: Vec<String> = first.split_whitespace().map(str::to_string).collect();
    let target;
    if parts.first().map(String::as_str) == Some("CONNECT") {
        target = parts[1].clone();
        w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        (first, headers) = read_head(&mut r)?;
        parts = first.split_whitespace().map(str::to_string).collect();
    } else {
        let url = parts[1].clone();
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url).to_string();
        let (host, path) =
            rest.split_once('/').map(|(h, p)| (h.to_string(), format!("/{p}"))).unwrap_or((rest.clone(), "/".into()));
        target = if host.contains(':') { host } else { format!("{host}:80") };
        parts[1] = path;
    }
    let mut up = TcpStream::connect(&target)?;
    let mut req = format!("{} {} HTTP/1.1\r\n", parts[0], parts[1]);
    let mut len = 0usize;
    for h in &headers {
        let lower = h.to_ascii_lowercase();
        if lower.starts_with("authorization:") {
            *stripped.lock().unwrap() += 1;
            continue;
        }
        if lower.starts_with("proxy-") || lower.starts_with("connection:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("connection: close\r\n\r\n");
    up.write_all(req.as_bytes())?;
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    up.write_all(&body)?;
    std::io::copy(&mut up, &mut w)?;
    Ok(())
}

/// SO_LINGER 0: closing the connection sends a TCP reset instead of a clean FIN.
fn reset_on_close(c: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket fd and a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(c),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

thread_local! {
    /// The request being answered asked to close the connection.
    static CLOSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn reply(mut c: &TcpStream, status: u16, reason: &str, headers: &[(&str, &str)], body: &str) {
    let mut h = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n", body.len());
    if CLOSE.get() {
        h.push_str("connection: close\r\n");
    }
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.push_str(body);
    let _ = c.write_all(h.as_bytes());
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// A provider's error body, from its file in keyhole-core (the same bodies
/// keyhole-classify's rules and keyhole-capture read).
fn answer(id: &str) -> &'static ErrorBody {
    provider::answer(id).unwrap_or_else(|| panic!("no provider answer {id}"))
}

/// A canary's 4-character tag chooses the account state the imitation answers with.
fn account_state(key: &str) -> Option<&'static ErrorBody> {
    Some(answer(match &key[key.len() - 4..] {
        "C402" => "openrouter.credits",
        "L403" => "openrouter.key-limit",
        "R429" => "openrouter.free-daily-limit",
        "BYOK" => "openrouter.byok-rejected",
        _ => return None,
    }))
}

/// Reply with a provider's error body (`echo` fills a `{key}` it holds).
fn reply_error(c: &TcpStream, a: &ErrorBody, echo: &str) {
    let reason = match a.status {
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let ct = ("content-type", a.content_type());
    let headers: &[(&str, &str)] = if a.status == 429 { &[ct, ("retry-after", "1")] } else { &[ct] };
    reply(c, a.status, reason, headers, &a.render(echo))
}

/// Answer one request on `c`; whether the connection stays open for the next.
fn handle(
    r: &mut BufReader<TcpStream>,
    c: &TcpStream,
    seen: Option<&Mutex<Vec<Seen>>>,
    keys: &[String],
    port: u16,
    other: Option<u16>,
) -> bool {
    let Some((s, body, len)) = read_request(r) else { return false };
    let path = s.path.clone();
    if let Some(seen) = seen {
        seen.lock().unwrap().push(s.clone());
    }
    // A body longer than what was read would be taken for the next request.
    CLOSE.set(s.wants_close() || len > BODY_MAX);
    let known = |b: &str| keys.iter().any(|k| k == b);
    let auth = s.header("authorization").map(str::to_string);
    let bearer =
        auth.as_deref().and_then(|a| a.strip_prefix("Bearer ").or(if a == "Bearer" { Some("") } else { None }));
    let p = path.split('?').next().unwrap_or("");
    match p {
        // Keys whose tag names an account state (docs/wire.md#openrouter bodies).
        "/api/v1/key" | "/api/v1/chat/completions"
            if bearer.is_some_and(|b| {
                b.starts_with("sk-or-v1-") && b.len() == 73 && !known(b) && account_state(b).is_some()
            }) =>
        {
            match account_state(bearer.unwrap_or("")) {
                Some(a) => reply_error(c, a, ""),
                None => reply(c, 500, "Error", &[JSON], ""),
            }
        }
        "/api/v1/chat/completions" if bearer.is_some_and(known) => {
            let text = String::from_utf8_lossy(&body).to_string();
            if text.contains("nonexistent/") {
                reply_error(c, answer("openrouter.invalid-model"), "")
            } else if text.contains("notools/") {
                reply_error(c, answer("openrouter.no-tool-endpoints"), "")
            } else {
                reply(
                    c,
                    200,
                    "OK",
                    &[JSON],
                    r#"{"id":"gen-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}]}"#,
                )
            }
        }
        // OpenRouter key check (docs/wire.md#openrouter)
        "/api/v1/key" | "/api/v1/auth/key" | "/api/v1/chat/completions" => match bearer {
            None if auth.is_none() && s.header("x-api-key").is_none() => {
                reply_error(c, answer("openrouter.no-credentials"), "")
            }
            Some(b) if known(b) => reply(
                c,
                200,
                "OK",
                &[JSON, ("cache-control", "private, no-store")],
                r#"{"data":{"label":"sk-or-v1-c...KEY","usage":25.5,"limit":100,"limit_remaining":74.5,"is_free_tier":false,"is_management_key":false,"rate_limit":{"requests":-1,"interval":"10s"}}}"#,
            ),
            Some(b) if b.starts_with("sk-or-v1-") => reply_error(c, answer("openrouter.user-not-found"), ""),
            _ => reply_error(c, answer("openrouter.missing-auth"), ""),
        },
        // OpenAI echoes the key it got (the real one masks the middle); keyhole must redact it.
        "/openai/v1/models" => reply_error(c, answer("openai.incorrect-key"), bearer.unwrap_or("")),
        // Anthropic without anthropic-version / with a bad key
        "/anthropic/v1/models" => {
            if s.header("anthropic-version").is_none() {
                reply_error(c, answer("anthropic.no-version"), "")
            } else if s.header("x-api-key").is_some_and(known) {
                reply(c, 200, "OK", &[JSON], r#"{"data":[{"type":"model","id":"claude-sonnet-4-5"}],"has_more":false}"#)
            } else {
                reply_error(c, answer("anthropic.invalid-key"), "")
            }
        }
        "/redirect-same/api/v1/key" => reply(c, 301, "Moved", &[("location", "/api/v1/key")], ""),
        "/redirect-away/api/v1/key" => {
            let to = format!("http://127.0.0.1:{}/api/v1/key", other.unwrap_or(port));
            reply(c, 301, "Moved", &[("location", to.as_str())], "")
        }
        // A protocol-relative Location: another origin (RFC 3986 §4.2), not a path on this one.
        "/redirect-relative/api/v1/key" => {
            let to = format!("//127.0.0.1:{}/api/v1/key", other.unwrap_or(port));
            reply(c, 301, "Moved", &[("location", to.as_str())], "")
        }
        "/loop/api/v1/key" => reply(c, 302, "Found", &[("location", "/loop/api/v1/key")], ""),
        "/stall/api/v1/key" => thread::sleep(Duration::from_secs(30)),
        "/reset/api/v1/key" => {
            reset_on_close(c);
        }
        "/big/api/v1/key" => {
            let mut c = c;
            let n: usize = 50 * 1024 * 1024;
            let _ = c.write_all(
                format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {n}\r\n\r\n").as_bytes(),
            );
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < n {
                if c.write_all(&chunk).is_err() {
                    break;
                }
                sent += chunk.len();
            }
        }
        // A server that answers in HTTP/2 only (the server preface: an empty SETTINGS frame).
        "/h2/api/v1/key" => {
            let mut c = c;
            let _ = c.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        }
        // Faults (issue 7): slow headers, a trickling body, a reset mid-body, a long redirect chain, bad chunking.
        "/slowhead/api/v1/key" => {
            thread::sleep(Duration::from_secs(5));
            reply(c, 200, "OK", &[JSON], "{}")
        }
        "/slowbody/api/v1/key" => {
            let mut c = c;
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{");
            for _ in 0..100 {
                thread::sleep(Duration::from_millis(200));
                if c.write_all(b" ").is_err() {
                    break;
                }
            }
        }
        "/resetbody/api/v1/key" => {
            let mut w = c;
            let _ = w.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"data\":",
            );
            reset_on_close(c);
        }
        p if p.starts_with("/hops/") => {
            let n: u32 = p.trim_start_matches("/hops/").split('/').next().unwrap_or("0").parse().unwrap_or(0);
            let to = format!("/hops/{}/api/v1/key", n + 1);
            if n >= 10_000 {
                reply(c, 200, "OK", &[JSON], "{}")
            } else {
                reply(c, 301, "Moved", &[("location", to.as_str())], "")
            }
        }
        "/badchunk/api/v1/key" => {
            let mut c = c;
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nZZZZ\r\nnot a chunk\r\n");
        }
        "/html/api/v1/key" => reply_error(c, answer("openrouter.not-found-html"), ""),
        _ => reply_error(c, answer("openrouter.not-found"), ""),
    }
    // The fault routes end their connection (a reset one with a TCP reset).
    let fault = matches!(
        p,
        "/stall/api/v1/key"
            | "/reset/api/v1/key"
            | "/big/api/v1/key"
            | "/h2/api/v1/key"
            | "/slowbody/api/v1/key"
            | "/resetbody/api/v1/key"
            | "/badchunk/api/v1/key"
    );
    !CLOSE.get() && !fault
}
