//! keyhole-capture: point a tool's base URL here, make one request, and see
//! exactly which credential header arrived — as a fingerprint or the literal
//! placeholder text, never the key — while the tool gets the answer the real
//! provider would give (its error body, or a minimal completion with
//! `--reply ok`, streaming too). With `--forward URL` it is a transparent hop
//! that records what arrived and what the upstream answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keyhole_core::diagnose;
use keyhole_core::error::{Error, Result};
use keyhole_core::jsonl::note;
use keyhole_core::provider::{self, Arrived, Provider};
use keyhole_core::record::{Capture, CapturedAuth, Extra, Record, Upstream, VERSION};
use keyhole_core::secret::{redact_key_shapes, Fingerprint};
use keyhole_core::stage::{self, Output};
use keyhole_core::Status;
use serde::Deserialize;
use serde_json::Value;

pub const TOOL_NAME: &str = "keyhole-capture";
const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The provider's real error for what arrived (missing, unknown key).
    Error,
    /// A minimal valid answer (completion, streaming when asked).
    Ok,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub provider: &'static Provider,
    pub reply: Reply,
    pub forward: Option<String>,
    pub timeout: Duration,
}

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l)? == 0 || l == "\r\n" || l == "\n" {
            break;
        }
        if let Some((k, v)) = l.trim_end_matches(['\r', '\n']).split_once(':') {
            headers.push((k.trim().to_string(), v.trim_start().to_string()));
        }
    }
    let mut req = Request { method, path, headers, body: Vec::new() };
    if req.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                let _ = r.read_line(&mut end);
                break;
            }
            let mut chunk = vec![0; n.min(MAX_BODY)];
            r.read_exact(&mut chunk)?;
            req.body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = req.header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        let mut body = vec![0; n.min(MAX_BODY)];
        r.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(Some(req))
}

/// Substitution text, a fixed text some tool sends for an unset key (from
/// the catalogue), or what a runtime prints for a missing value.
fn looks_like_placeholder(v: &str) -> bool {
    keyhole_core::syntax::detect(v).is_some()
        || keyhole_core::tool::TOOLS.iter().flat_map(|t| t.stand_ins).any(|s| *s == v)
        || ["undefined", "null", "None"].contains(&v)
}

/// What arrived, as `capture.auth` (docs/records.md#capture-records);
/// `None` when no credential did.
pub fn auth_of(req: &Request, p: &Provider) -> Option<CapturedAuth> {
    let auth = |header: &str, scheme: &str, value: &str| {
        let (fp, placeholder) = if looks_like_placeholder(value) {
            (None, Some(value.to_string()))
        } else {
            (Some(Fingerprint::of(value.as_bytes(), Some(p))), None)
        };
        Some(CapturedAuth { header: header.into(), scheme: scheme.into(), fp, placeholder, extra: Extra::new() })
    };
    for name in ["authorization", "x-api-key", "api-key", "x-goog-api-key"] {
        let Some(v) = req.header(name) else { continue };
        let (scheme, value) = if name == "authorization" {
            match v.split_once(' ') {
                Some((s, rest)) if s.eq_ignore_ascii_case("bearer") => ("bearer", rest),
                None if v.eq_ignore_ascii_case("bearer") => ("bearer", ""),
                _ => ("raw", v),
            }
        } else {
            ("raw", v)
        };
        return auth(name, scheme, value);
    }
    if let Some(q) = req.path.split_once('?').and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("key="))) {
        // A key in the query is fingerprinted whatever it looks like.
        let fp = Some(Fingerprint::of(q.as_bytes(), Some(p)));
        return Some(CapturedAuth {
            header: "query:key".into(),
            scheme: "raw".into(),
            fp,
            placeholder: None,
            extra: Extra::new(),
        });
    }
    None
}

fn respond(w: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        502 => "Bad Gateway",
        _ => "Error",
    };
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    w.write_all(body)?;
    w.flush()
}

/// The provider's own answer to what arrived (docs/wire.md#providers).
fn imitate(req: &Request, auth: Option<&CapturedAuth>, o: &Options) -> (u16, &'static str, Vec<u8>) {
    let path = req.path.split('?').next().unwrap_or("");
    let json_ct = "application/json";
    if path.ends_with("/models") && req.method == "GET" {
        return (200, json_ct, br#"{"data":[{"id":"anthropic/claude-sonnet-4.5","object":"model"}]}"#.to_vec());
    }
    let fp = auth.and_then(|a| a.fp.as_ref());
    let well_formed = fp.is_some_and(|f| f.flaws.is_empty() && f.len > 0);
    // --reply ok lets the tool go on whatever key it sent (not a placeholder, not empty).
    let any_key = fp.is_some_and(|f| f.len > 0);
    if o.reply == Reply::Ok && any_key {
        return ok_answer(req, o.provider);
    }
    let prefix = fp.map_or("", |f| f.prefix.as_str());
    let arrived = match () {
        _ if auth.is_none() => Arrived::Nothing,
        _ if well_formed => Arrived::Key { prefix },
        _ => Arrived::Text,
    };
    // A provider that echoes the credential (OpenAI) gets it masked, as it masks it.
    let shown = match auth.and_then(|a| a.placeholder.as_deref()) {
        Some(t) => t.to_string(),
        None => format!("{prefix}****{}", fp.map_or("", |f| f.last4.as_str())),
    };
    match o.provider.answer_to(arrived) {
        Some(a) => (a.status, a.content_type(), a.render(&shown).into_bytes()),
        None => (401, json_ct, Vec::new()),
    }
}

/// The fields of a chat request that shape a minimal answer.
#[derive(Deserialize, Default)]
struct ChatRequest {
    #[serde(default)]
    model: Value,
    #[serde(default)]
    stream: Value,
}

/// A minimal valid answer (`--reply ok`) in the wire shape of the request:
/// Anthropic's messages or an OpenAI-style completion, streamed when asked.
fn ok_answer(req: &Request, p: &Provider) -> (u16, &'static str, Vec<u8>) {
    let body: ChatRequest = serde_json::from_slice(&req.body).unwrap_or_default();
    let model = serde_json::to_string(body.model.as_str().unwrap_or("keyhole/capture")).unwrap_or_default();
    let fill = |t: &str| t.replace("{model}", &model);
    let stream = body.stream == Value::Bool(true);
    if p.name == "anthropic" || req.path.contains("/messages") {
        if stream {
            let events = [
                ("message_start", fill(ANTHROPIC_START)),
                (
                    "content_block_start",
                    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.into(),
                ),
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"4"}}"#.into(),
                ),
                ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#.into()),
                (
                    "message_delta",
                    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}"#.into(),
                ),
                ("message_stop", r#"{"type":"message_stop"}"#.to_string()),
            ];
            let s: String = events.iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect();
            return (200, "text/event-stream", s.into_bytes());
        }
        return (200, "application/json", fill(ANTHROPIC_MESSAGE).into_bytes());
    }
    if stream {
        let (chunk, end) = (fill(OPENAI_CHUNK), fill(OPENAI_END));
        return (200, "text/event-stream", format!("data: {chunk}\n\ndata: {end}\n\ndata: [DONE]\n\n").into_bytes());
    }
    (200, "application/json", fill(OPENAI_COMPLETION).into_bytes())
}

/// The answers of [`ok_answer`]; `{model}` is the model asked for, as JSON.
const ANTHROPIC_START: &str = r#"{"type":"message_start","message":{"id":"msg_keyhole","type":"message","role":"assistant","model":{model},"content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":0}}}"#;
const ANTHROPIC_MESSAGE: &str = r#"{"id":"msg_keyhole","type":"message","role":"assistant","model":{model},"content":[{"type":"text","text":"4"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
const OPENAI_CHUNK: &str = r#"{"id":"gen-keyhole","object":"chat.completion.chunk","created":1700000000,"model":{model},"choices":[{"index":0,"delta":{"role":"assistant","content":"4"},"finish_reason":null}]}"#;
const OPENAI_END: &str = r#"{"id":"gen-keyhole","object":"chat.completion.chunk","created":1700000000,"model":{model},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
const OPENAI_COMPLETION: &str = r#"{"id":"gen-keyhole","object":"chat.completion","created":1700000000,"model":{model},"choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;

/// The error message of an upstream's JSON answer (`error.message`).
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorMessage,
}

#[derive(Deserialize)]
struct ErrorMessage {
    message: String,
}

/// Pass the request on to `base` + path, as it arrived (hop-by-hop headers dropped).
fn forward(req: &Request, base: &str, o: &Options) -> (u16, String, Vec<u8>, Upstream) {
    let url = format!("{}{}", base.trim_end_matches('/'), req.path);
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(o.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    );
    let mut b = ureq::http::Request::builder().method(req.method.as_str()).uri(&url);
    for (k, v) in &req.headers {
        let lk = k.to_ascii_lowercase();
        if [
            "host",
            "connection",
            "content-length",
            "transfer-encoding",
            "keep-alive",
            "proxy-authorization",
            "accept-encoding",
        ]
        .contains(&lk.as_str())
        {
            continue;
        }
        b = b.header(k.as_str(), v.as_str());
    }
    let result =
        b.body(req.body.clone()).map_err(|e| e.to_string()).and_then(|r| agent.run(r).map_err(|e| e.to_string()));
    match result {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_string();
            let mut body = Vec::new();
            let _ = resp.body_mut().as_reader().take(MAX_BODY as u64).read_to_end(&mut body);
            let summary = serde_json::from_slice::<ErrorEnvelope>(&body)
                .ok()
                .map(|v| redact_key_shapes(&v.error.message).into_owned());
            let up = Upstream {
                url: base.into(),
                status: Some(status),
                message: Some(summary),
                error: None,
                extra: Extra::new(),
            };
            (status, ct, body, up)
        }
        Err(e) => {
            let msg = redact_key_shapes(&e).into_owned();
            let text = serde_json::to_string(&format!("keyhole-capture could not reach the upstream: {msg}"));
            let body = format!(r#"{{"error":{{"message":{},"code":502}}}}"#, text.unwrap_or_default());
            let up = Upstream { url: base.into(), status: None, message: None, error: Some(msg), extra: Extra::new() };
            (502, "application/json".into(), body.into_bytes(), up)
        }
    }
}

fn now_rfc3339() -> String {
    let s = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Handle one connection: one or more requests (keep-alive is closed after each answer).
/// Returns whether a request was recorded.
pub fn handle(stream: TcpStream, o: &Options, emit: &dyn Fn(Record)) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = stream.try_clone() else { return false };
    let mut r = BufReader::new(read_half);
    let mut w = stream;
    let Ok(Some(req)) = read_request(&mut r) else { return false };
    let auth = auth_of(&req, o.provider);
    let mut names: Vec<String> = req.headers.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let mut rec = Capture {
        v: VERSION,
        at: now_rfc3339(),
        method: req.method.clone(),
        path: req.path.split('?').next().unwrap_or("").to_string(),
        auth,
        headers: names,
        user_agent: req.header("user-agent").map(str::to_string),
        as_provider: Some(o.provider.name.to_string()),
        answered: None,
        upstream: None,
        diagnoses: Vec::new(),
        extra: Extra::new(),
    };
    let (status, ct, body) = if let Some(base) = &o.forward {
        let (status, ct, body, upstream) = forward(&req, base, o);
        rec.upstream = Some(upstream);
        (status, ct, body)
    } else {
        let (status, ct, body) = imitate(&req, rec.auth.as_ref(), o);
        rec.answered = Some(status);
        (status, ct.to_string(), body)
    };
    rec.diagnoses = diagnose::arrived(rec.auth.as_ref(), o.provider);
    // The record first: whoever reads the answer may stop the capture at once.
    emit(Record::Capture(rec));
    let _ = respond(&mut w, status, &ct, &body);
    true
}

/// Serve until `count` requests were answered or `duration` passed.
pub fn serve(
    listener: TcpListener,
    o: Options,
    count: Option<usize>,
    duration: Option<Duration>,
    emit: Arc<dyn Fn(Record) + Send + Sync>,
) -> std::io::Result<()> {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // A blocking accept loop: no polling delay on the first request.
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { continue };
            let (o, emit, done) = (o.clone(), emit.clone(), done_tx.clone());
            std::thread::spawn(move || {
                if handle(s, &o, &|rec| emit(rec)) {
                    let _ = done.send(());
                }
            });
        }
    });
    let start = Instant::now();
    let mut seen = 0usize;
    loop {
        let wait = match duration {
            Some(d) => match d.checked_sub(start.elapsed()) {
                Some(left) => left,
                None => return Ok(()),
            },
            None => Duration::from_secs(3600),
        };
        match done_rx.recv_timeout(wait) {
            Ok(()) => {
                seen += 1;
                if count.is_some_and(|c| seen >= c) {
                    return Ok(());
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if duration.is_some() => return Ok(()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

pub fn provider_named(name: &str) -> Option<&'static Provider> {
    provider::normalize(name)
}

/// Listen on `listen` and serve (see [`serve`]), one `capture` record per
/// request on standard output. Exit status 1 when what arrived had an
/// error-severity diagnosis; a reader that went away ends nothing early.
pub fn run(listen: &str, o: Options, count: Option<usize>, duration: Option<Duration>) -> Result<Status> {
    let listener = TcpListener::bind(listen)
        .map_err(|e| Error::failed(format!("cannot listen on {listen}: {e} (pick another --listen port)")))?;
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    note(TOOL_NAME, format!("listening on http://{addr} as {} — point the tool's base URL here", o.provider.name));
    // The worst status so far, and the first write that failed.
    let state = Arc::new(Mutex::new((Status::Ok, None::<Error>)));
    let out = Arc::new(Mutex::new(Output::stdout()));
    let (st, w) = (state.clone(), out.clone());
    let emit = Arc::new(move |rec: Record| {
        let mut st = st.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = st.0.worst(stage::findings(std::slice::from_ref(&rec)));
        if let Err(e) = w.lock().unwrap_or_else(|e| e.into_inner()).write(&rec) {
            st.1.get_or_insert(e);
        }
    });
    serve(listener, o, count, duration, emit).map_err(|e| Error::failed(format!("stopped: {e}")))?;
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    match st.1.take() {
        Some(e) => Err(e),
        None => Ok(st.0),
    }
}
