//! The HTTP side of keyhole-capture, bounded (docs/records.md#capture-records):
//! each request is read within size limits and one deadline, answered with a
//! clear 4xx when it is over them, and connections are served by a fixed pool
//! of worker threads behind a bounded queue (a connection that finds the
//! queue full is answered 503), so no client can make capture hold more than
//! a few megabytes or start a thread.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyhole_core::record::Record;

use crate::{handle, Options, Request};

/// The request line (`GET /path HTTP/1.1`), CRLF included.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// One header line, CRLF included.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// All header lines together (and the trailers of a chunked body).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How many header lines.
pub const MAX_HEADERS: usize = 128;
/// A body, by Content-Length or chunk by chunk.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// A chunk-size line (`1f4;ext=…`).
const MAX_CHUNK_LINE: usize = 1024;
/// The whole request must arrive within this, and the answer leave within it.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(20);
/// Connections served at once.
pub const WORKERS: usize = 16;
/// Connections accepted and waiting for a worker; one more is answered 503.
pub const QUEUE: usize = 64;

/// A request that is not served, and the status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub why: String,
}

impl Refusal {
    fn new(status: u16, why: impl Into<String>) -> Self {
        Refusal { status, why: why.into() }
    }
}

/// Why no request came out of a connection.
#[derive(Debug)]
pub enum Stop {
    /// Closed, reset or timed out before a whole request: nothing to answer.
    Closed,
    Refused(Refusal),
}

impl From<io::Error> for Stop {
    fn from(_: io::Error) -> Self {
        Stop::Closed
    }
}

/// Reads from a socket that end at one deadline, however the bytes trickle.
struct Deadline<'a> {
    s: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.s.set_read_timeout(Some(left))?;
        (&mut &*self.s).read(buf)
    }
}

/// Read one request from `s` within [`REQUEST_DEADLINE`] and the size limits.
pub fn read(s: &TcpStream) -> Result<Request, Stop> {
    read_request(&mut BufReader::new(Deadline { s, until: Instant::now() + REQUEST_DEADLINE }))
}

/// One line of at most `cap` bytes, CRLF included (`None`: the stream ended first).
fn line(r: &mut impl BufRead, cap: usize, too_long: impl FnOnce() -> Refusal) -> Result<Option<String>, Stop> {
    let mut buf = Vec::new();
    if Read::take(&mut *r, cap as u64 + 1).read_until(b'\n', &mut buf)? == 0 {
        return Ok(None);
    }
    if buf.len() > cap {
        return Err(Stop::Refused(too_long()));
    }
    String::from_utf8(buf).map(Some).map_err(|_| Stop::Refused(Refusal::new(400, "the request head is not UTF-8")))
}

fn headers_too_large() -> Refusal {
    Refusal::new(
        431,
        format!(
            "request headers over the limits ({MAX_HEADERS} lines, {} KiB each, {} KiB in all)",
            MAX_HEADER_LINE / 1024,
            MAX_HEADER_BYTES / 1024
        ),
    )
}

fn body_too_large() -> Refusal {
    Refusal::new(413, format!("request body over {} MiB", MAX_BODY >> 20))
}

/// Header lines up to the blank line (or the end of the stream), within the limits.
fn header_lines(r: &mut impl BufRead) -> Result<Vec<(String, String)>, Stop> {
    let mut headers = Vec::new();
    let (mut lines, mut bytes) = (0, 0);
    while let Some(l) = line(r, MAX_HEADER_LINE, headers_too_large)? {
        if l == "\r\n" || l == "\n" {
            break;
        }
        lines += 1;
        bytes += l.len();
        if lines > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
            return Err(Stop::Refused(headers_too_large()));
        }
        if let Some((k, v)) = l.trim_end_matches(['\r', '\n']).split_once(':') {
            headers.push((k.trim().to_string(), v.trim_start().to_string()));
        }
    }
    Ok(headers)
}

fn read_request(r: &mut impl BufRead) -> Result<Request, Stop> {
    let too_long = || Refusal::new(414, format!("request line over {} KiB", MAX_REQUEST_LINE / 1024));
    let Some(first) = line(r, MAX_REQUEST_LINE, too_long)? else { return Err(Stop::Closed) };
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let headers = header_lines(r)?;
    let mut req = Request { method, path, headers, body: Vec::new() };
    if req.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let too_long = || Refusal::new(400, "a chunk-size line over 1 KiB");
            let size = line(r, MAX_CHUNK_LINE, too_long)?.unwrap_or_default();
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if n == 0 {
                header_lines(r)?; // trailers
                break;
            }
            if n > MAX_BODY - req.body.len() {
                return Err(Stop::Refused(body_too_large()));
            }
            let start = req.body.len();
            req.body.resize(start + n, 0);
            r.read_exact(&mut req.body[start..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = req.header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        if n > MAX_BODY {
            return Err(Stop::Refused(body_too_large()));
        }
        req.body = vec![0; n];
        r.read_exact(&mut req.body)?;
    }
    Ok(req)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Write one answer and close (keep-alive is not offered).
pub fn respond(w: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Answer a refused request with its status and a JSON error, then let the
/// client's unread bytes drain for a moment (at most a second and 16 MiB,
/// never kept) so that closing does not reset the answer away.
pub fn refuse(mut s: TcpStream, r: &Refusal) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let msg = serde_json::to_string(&format!("keyhole-capture: {}", r.why)).unwrap_or_default();
    let body = format!(r#"{{"error":{{"message":{msg},"code":{}}}}}"#, r.status);
    if respond(&mut s, r.status, "application/json", body.as_bytes()).is_err() {
        return;
    }
    let _ = s.shutdown(Shutdown::Write);
    let mut drain = Deadline { s: &s, until: Instant::now() + Duration::from_secs(1) };
    let _ = io::copy(&mut Read::take(&mut drain, 16 * 1024 * 1024), &mut io::sink());
}

/// Serve until `count` requests were recorded or `duration` passed: one
/// thread accepts, [`WORKERS`] threads serve, at most [`QUEUE`] connections
/// wait. A thread that cannot start is an error when it is the first of
/// its kind, never a panic.
pub fn serve(
    listener: TcpListener,
    o: Options,
    count: Option<usize>,
    duration: Option<Duration>,
    emit: Arc<dyn Fn(Record) + Send + Sync>,
) -> io::Result<()> {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (work_tx, work_rx) = mpsc::sync_channel::<TcpStream>(QUEUE);
    let work_rx = Arc::new(Mutex::new(work_rx));
    for i in 0..WORKERS {
        let (rx, o, emit, done) = (work_rx.clone(), o.clone(), emit.clone(), done_tx.clone());
        let worker = std::thread::Builder::new().name(format!("capture-{i}")).spawn(move || loop {
            let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok(s) = next else { return };
            // A bug in one request's work costs that request, not the worker.
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(s, &o, &|rec| emit(rec))));
            if handled.unwrap_or(false) {
                let _ = done.send(());
            }
        });
        match worker {
            Ok(_) => {}
            Err(e) if i == 0 => return Err(e),
            Err(_) => break, // fewer workers, as many as could start
        }
    }
    drop(done_tx);
    // A blocking accept loop: no polling delay on the first request.
    std::thread::Builder::new().name("capture-accept".into()).spawn(move || {
        for s in listener.incoming() {
            let s = match s {
                Ok(s) => s,
                Err(_) => {
                    // Out of descriptors, or the like: try again shortly, not in a busy loop.
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            match work_tx.try_send(s) {
                Ok(()) => {}
                Err(TrySendError::Full(mut s)) => {
                    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                    let body = br#"{"error":{"message":"keyhole-capture: busy, try again","code":503}}"#;
                    let _ = respond(&mut s, 503, "application/json", body);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    })?;
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
            Err(RecvTimeoutError::Timeout) if duration.is_some() => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// A JSON value from a request body, kept only when it is a string or a
/// boolean: an array or an object is skipped as it is read, never built (an
/// 8 MiB body of `[0,0,0,…]` built as JSON values is 300 MB).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Loose {
    Str(String),
    Bool(bool),
    #[default]
    Other,
}

impl Loose {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Str(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
                Ok(Loose::Bool(v))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_unit<E>(self) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Loose, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Loose, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Request, Stop> {
        read_request(&mut &bytes[..])
    }

    fn refused(bytes: &[u8]) -> u16 {
        match parse(bytes) {
            Err(Stop::Refused(r)) => r.status,
            Err(Stop::Closed) => panic!("closed"),
            Ok(r) => panic!("read: {} {}", r.method, r.path),
        }
    }

    #[test]
    fn loose_values_keep_strings_and_booleans_only() {
        let v: Vec<Loose> = serde_json::from_str(r#"["m", true, 1, null, [0, [0]], {"a": {"b": 1}}]"#).unwrap();
        assert_eq!(
            v,
            [Loose::Str("m".into()), Loose::Bool(true), Loose::Other, Loose::Other, Loose::Other, Loose::Other]
        );
    }

    #[test]
    fn requests_within_the_limits_are_read() {
        let r = parse(b"POST /v1/x HTTP/1.1\r\nAuthorization: Bearer k\r\nContent-Length: 3\r\n\r\nabc").unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str(), r.body.as_slice()), ("POST", "/v1/x", &b"abc"[..]));
        assert_eq!(r.header("authorization"), Some("Bearer k"));
        let r =
            parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n")
                .unwrap();
        assert_eq!(r.body, b"abcde");
        // The end of the stream ends the headers, as before.
        assert_eq!(parse(b"GET /m HTTP/1.1\r\nX-Api-Key: k").unwrap().header("x-api-key"), Some("k"));
        assert!(matches!(parse(b""), Err(Stop::Closed)));
    }

    #[test]
    fn requests_over_the_limits_are_refused_with_their_status() {
        let long = |n: usize| "a".repeat(n);
        assert_eq!(refused(format!("GET /{} HTTP/1.1\r\n\r\n", long(MAX_REQUEST_LINE)).as_bytes()), 414);
        assert_eq!(refused(format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", long(MAX_HEADER_LINE)).as_bytes()), 431);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X: 1\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(refused(many.as_bytes()), 431);
        let big = format!("GET / HTTP/1.1\r\n{}\r\n", format!("X: {}\r\n", long(4000)).repeat(20));
        assert_eq!(refused(big.as_bytes()), 431);
        let cl = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert_eq!(refused(cl.as_bytes()), 413);
        let mut chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..9 {
            chunked.extend(format!("{:x}\r\n", 1024 * 1024).as_bytes());
            chunked.extend(std::iter::repeat_n(b'x', 1024 * 1024));
            chunked.extend(b"\r\n");
        }
        assert_eq!(refused(&chunked), 413);
        let huge_chunk = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
        assert_eq!(refused(huge_chunk), 413);
    }
}
