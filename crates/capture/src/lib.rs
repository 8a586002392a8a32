//! keyhole-capture: point a tool's base URL here, make one request, and see
//! exactly which credential header arrived — as a fingerprint or the literal
//! placeholder text, never the key — while the tool gets the answer the real
//! provider would give (its error body, or a minimal completion with
//! `--reply ok`, streaming too). With `--forward URL` it is a transparent hop
//! that records what arrived and what the upstream answered. The HTTP side,
//! bounded in size, time and threads, is [`server`].

pub mod server;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyhole_core::diagnose;
use keyhole_core::error::{Error, Result};
use keyhole_core::jsonl::note;
use keyhole_core::provider::{self, Arrived, Provider};
use keyhole_core::record::{Capture, CapturedAuth, Extra, Record, Upstream, VERSION};
use keyhole_core::secret::{redact_key_shapes, Fingerprint, Flaw};
use keyhole_core::stage::{self, Output};
use keyhole_core::Status;
use serde::Deserialize;

pub const TOOL_NAME: &str = "keyhole-capture";
/// The most of an upstream's answer passed on (as much as a request may carry).
const MAX_BODY: usize = server::MAX_BODY;

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

/// Substitution text, a fixed text some tool sends for an unset key (from
/// the catalogue), or what a runtime prints for a missing value.
/// The headers a credential arrives in, in the order they are looked at.
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

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
    for name in CREDENTIAL_HEADERS {
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

/// The provider's own answer to what arrived (docs/wire.md#providers).
fn imitate(req: &Request, auth: Option<&CapturedAuth>, o: &Options) -> (u16, &'static str, Vec<u8>) {
    let path = req.path.split('?').next().unwrap_or("");
    let json_ct = "application/json";
    if path.ends_with("/models") && req.method == "GET" {
        return (200, json_ct, br#"{"data":[{"id":"anthropic/claude-sonnet-4.5","object":"model"}]}"#.to_vec());
    }
    let fp = auth.and_then(|a| a.fp.as_ref());
    let well_formed = fp.is_some_and(|f| f.flaws.is_empty() && f.len > 0);
    // --reply ok lets the tool go on whatever key it sent: not a placeholder,
    // not empty, not template text or a variable's name (`your-api-key-here`,
    // `<YOUR_KEY>`, `sk-...`: the fingerprint's flaws, docs/records.md#fingerprints).
    let any_key =
        fp.is_some_and(|f| f.len > 0 && !f.flaws.iter().any(|x| matches!(x, Flaw::Template | Flaw::VariableName)));
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

/// The fields of a chat request that shape a minimal answer (anything
/// else in them is skipped, not built: see [`server::Loose`]).
#[derive(Deserialize, Default)]
struct ChatRequest {
    #[serde(default)]
    model: server::Loose,
    #[serde(default)]
    stream: server::Loose,
}

/// A minimal valid answer (`--reply ok`) in the wire shape of the request:
/// Anthropic's messages or an OpenAI-style completion, streamed when asked.
fn ok_answer(req: &Request, p: &Provider) -> (u16, &'static str, Vec<u8>) {
    let body: ChatRequest = serde_json::from_slice(&req.body).unwrap_or_default();
    let model = serde_json::to_string(body.model.as_str().unwrap_or("keyhole/capture")).unwrap_or_default();
    let fill = |t: &str| t.replace("{model}", &model);
    let stream = body.stream == server::Loose::Bool(true);
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

/// Where a request is forwarded: `base` with the request's path appended
/// and its query. Only the path and the query come from the request, set
/// on the parsed base URL, so no request target (`@host:port/x`,
/// `//host/x`, `http://host/x`) can change the upstream's scheme, host or
/// port. `None`: `base` is not an http(s) URL.
pub fn forward_url(base: &str, target: &str) -> Option<keyhole_core::weburl::Url> {
    let mut u = keyhole_core::weburl::parse(base)?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let joined = format!("{}{path}", u.path().trim_end_matches('/'));
    u.set_path(&joined);
    u.set_query(query);
    u.set_fragment(None);
    Some(u)
}

/// Pass the request on to `base` + path, as it arrived (hop-by-hop headers dropped).
fn forward(req: &Request, base: &str, o: &Options) -> (u16, String, Vec<u8>, Upstream) {
    let url = forward_url(base, &req.path).map(String::from).unwrap_or_default();
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
            // An upstream that echoes the credential it got, whatever its shape (docs/records.md#redaction).
            let sent: Vec<&str> = CREDENTIAL_HEADERS
                .iter()
                .filter_map(|h| req.header(h))
                .map(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v))
                .collect();
            let summary = serde_json::from_slice::<ErrorEnvelope>(&body)
                .ok()
                .map(|v| keyhole_core::redact::text_knowing(&v.error.message, &sent).into_owned());
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

/// Handle one connection: one request, within the limits of [`server`]
/// (keep-alive is closed after the answer). Returns whether a request was
/// recorded; a refused one is answered with its 4xx and said on stderr.
pub fn handle(stream: TcpStream, o: &Options, emit: &dyn Fn(Record)) -> bool {
    let _ = stream.set_write_timeout(Some(server::REQUEST_DEADLINE));
    let mut w = stream;
    let req = match server::read(&w) {
        Ok(req) => req,
        Err(server::Stop::Closed) => return false,
        Err(server::Stop::Refused(r)) => {
            note(TOOL_NAME, format!("a request was refused with {}: {}", r.status, r.why));
            server::refuse(w, &r);
            return false;
        }
    };
    // Only a path is forwarded: the upstream's host comes from --forward alone.
    if o.forward.is_some() && !req.path.starts_with('/') {
        let r =
            server::Refusal { status: 400, why: "a request target that is not a path (/…) is not forwarded".into() };
        note(TOOL_NAME, format!("a request was refused with {}: {}", r.status, r.why));
        server::refuse(w, &r);
        return false;
    }
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
    let _ = server::respond(&mut w, status, &ct, &body);
    true
}

/// `--duration`: seconds, at most a year, checked when the flags are parsed.
pub fn parse_duration(s: &str) -> std::result::Result<f64, String> {
    keyhole_core::cli::parse_seconds(s, 366.0 * 86_400.0)
}

/// `--forward`: an http(s) base URL, checked when the flags are parsed.
pub fn parse_forward(s: &str) -> std::result::Result<String, String> {
    match keyhole_core::weburl::parse(s) {
        Some(_) => Ok(s.trim().to_string()),
        None => Err("expected an http(s) base URL, e.g. http://127.0.0.1:4000".into()),
    }
}

pub fn provider_named(name: &str) -> Option<&'static Provider> {
    provider::normalize(name)
}

/// Listen on `listen` and serve (see [`server::serve`]), one `capture` record per
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
    server::serve(listener, o, count, duration, emit).map_err(|e| Error::failed(format!("stopped: {e}")))?;
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    match st.1.take() {
        Some(e) => Err(e),
        None => Ok(st.0),
    }
}
