//! A loopback imitation of a LiteLLM proxy without a database
//! (docs/wire.md#gateways): `GET /models` and `/v1/models` answer 200 to
//! the master key or a virtual key it knows and 401 otherwise; `/key/info`
//! answers 500 "Database not connected"; a completion is passed on to the
//! upstream (the provider imitation) with the proxy's own upstream key, and
//! an upstream refusal comes back wrapped in the proxy's exception text.
//! The bodies are the provider files' (crates/core/src/provider/litellm.rs).
#![allow(dead_code)]

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use keyhole_core::provider;

/// What the gateway received: method, path and the credential header's value.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub auth: Option<String>,
}

pub struct Gateway {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// What the upstream received from the gateway, as `Seen`.
    pub forwarded: Arc<Mutex<Vec<Seen>>>,
}

struct Conf {
    keys: Vec<String>,
    upstream: String,
    upstream_key: Option<String>,
}

impl Gateway {
    /// `keys`: the master key and the virtual keys it accepts; `upstream`:
    /// the upstream's base URL (`http://127.0.0.1:P/api/v1`); `upstream_key`:
    /// the key the proxy's own environment gives it for the upstream.
    pub fn start(keys: &[&str], upstream: &str, upstream_key: Option<&str>) -> Gateway {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let conf = Arc::new(Conf {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            upstream: upstream.trim_end_matches('/').to_string(),
            upstream_key: upstream_key.map(str::to_string),
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let (s2, f2) = (seen.clone(), forwarded.clone());
        thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (conf, seen, fwd) = (conf.clone(), s2.clone(), f2.clone());
                thread::spawn(move || {
                    let _ = c.set_nodelay(true);
                    let Ok(rd) = c.try_clone() else { return };
                    let mut r = BufReader::new(rd);
                    while one(&mut r, &c, &conf, &seen, &fwd) {}
                });
            }
        });
        Gateway { port, seen, forwarded }
    }

    pub fn base(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn body_of(id: &str) -> (u16, String) {
    let a = provider::answer(id).unwrap_or_else(|| panic!("no provider answer {id}"));
    (a.status, a.render(""))
}

fn reply(mut c: &TcpStream, status: u16, body: &str, close: bool) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Error",
    };
    let conn = if close { "connection: close\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{conn}\r\n",
        body.len()
    );
    let _ = c.write_all(head.as_bytes());
    let _ = c.write_all(body.as_bytes());
}

/// Answer one request; whether the connection stays open.
fn one(
    r: &mut BufReader<TcpStream>,
    c: &TcpStream,
    conf: &Conf,
    seen: &Mutex<Vec<Seen>>,
    fwd: &Mutex<Vec<Seen>>,
) -> bool {
    let Some((req, body, _)) = super::imitation::read_request(r) else { return false };
    let (method, path) = (req.method.clone(), req.route().to_string());
    let h = |n: &str| req.header(n).map(str::to_string);
    let close = h("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let auth = h("authorization").or_else(|| h("x-api-key"));
    seen.lock().unwrap().push(Seen { method: method.clone(), path: path.clone(), auth: auth.clone() });
    // LiteLLM reads `Bearer KEY` from Authorization, the bare key from x-api-key.
    let key = auth.as_deref().map(|a| a.strip_prefix("Bearer ").unwrap_or(a).to_string());
    let refused = match key.as_deref() {
        None => Some(body_of("litellm.no-key")),
        Some("") | Some("Bearer") => Some(body_of("litellm.malformed-key")),
        Some(k) if !conf.keys.iter().any(|x| x == k) => Some(body_of("litellm.unknown-key")),
        Some(_) => None,
    };
    let (status, text) = match path.as_str() {
        "/key/info" | "/v1/key/info" => body_of("litellm.no-db"),
        "/models" | "/v1/models" => refused.unwrap_or_else(|| {
            (200, r#"{"data":[{"id":"claude-sonnet","object":"model","created":1677610602,"owned_by":"openai"},{"id":"gpt-mini","object":"model","created":1677610602,"owned_by":"openai"}],"object":"list"}"#.to_string())
        }),
        "/chat/completions" | "/v1/chat/completions" => match refused {
            Some(r) => r,
            None => pass_on(conf, &body, fwd),
        },
        _ => (404, r#"{"detail":"Not Found"}"#.to_string()),
    };
    reply(c, status, &text, close);
    !close
}

/// POST the completion upstream with the proxy's own key; an upstream
/// refusal comes back wrapped in the proxy's exception text.
fn pass_on(conf: &Conf, body: &[u8], fwd: &Mutex<Vec<Seen>>) -> (u16, String) {
    let rest = conf.upstream.strip_prefix("http://").expect("an http upstream");
    let (authority, base_path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let path = format!("/{base_path}/chat/completions").replace("//", "/");
    let mut s = TcpStream::connect(authority).expect("the upstream listens");
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(k) = &conf.upstream_key {
        req.push_str(&format!("authorization: Bearer {k}\r\n"));
    }
    req.push_str("\r\n");
    fwd.lock().unwrap().push(Seen {
        method: "POST".into(),
        path: path.clone(),
        auth: conf.upstream_key.as_ref().map(|k| format!("Bearer {k}")),
    });
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let (head, upstream_body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(502);
    if (200..300).contains(&status) {
        return (status, upstream_body.to_string());
    }
    // The proxy's wrapping (crates/core/src/provider/litellm.rs, `upstream-auth`), around this upstream body.
    let inner: String = upstream_body.trim().chars().fold(String::new(), |mut o, c| {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
        o
    });
    let wrapped = format!(
        r#"{{"error":{{"message":"litellm.AuthenticationError: AuthenticationError: OpenrouterException - {inner}\nReceived Model Group=claude-sonnet\nAvailable Model Group Fallbacks=None","type":"auth_error","param":"None","code":"{status}"}}}}"#
    );
    (status, wrapped)
}
