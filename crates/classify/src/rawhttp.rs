//! Raw HTTP responses as `curl -si` prints them: one or more status lines
//! (HTTP/1.0, 1.1, 2, 3), headers, a blank line, a body.

use serde_json::Value;

pub struct RawResponse {
    /// 1-based line of the status line.
    pub line: u64,
    pub status: u16,
    pub body: Value,
}

/// A status line's code, and whether it is an answer before the answer: a
/// proxy's `200 Connection established` to curl's CONNECT (`curl -si`
/// through a proxy prints it first), or an informational `1xx`.
fn status_of(line: &str) -> Option<(u16, bool)> {
    let rest = line.strip_prefix("HTTP/")?;
    let mut parts = rest.splitn(3, char::is_whitespace);
    let version = parts.next()?;
    if !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let code = parts.next()?;
    let status: u16 = (code.len() == 3).then(|| code.parse().ok()).flatten()?;
    let reason = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let preamble = (100..200).contains(&status) || (status == 200 && reason == "connection established");
    Some((status, preamble))
}

/// Body text → JSON when it is JSON, else the (lossy, capped) text.
pub fn body_value(text: &str) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::Null;
    }
    // Redacted before the cut: a key across it is never half written (docs/records.md#redaction).
    serde_json::from_str(t)
        .unwrap_or_else(|_| Value::String(keyhole_core::redact::text(t).chars().take(4000).collect()))
}

pub fn parse(bytes: &[u8]) -> Vec<RawResponse> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut current: Option<(u64, u16)> = None;
    let mut preamble = false;
    let mut in_body = false;
    let mut body = String::new();
    let flush = |cur: Option<(u64, u16)>, body: &str, out: &mut Vec<RawResponse>| {
        if let Some((line, status)) = cur {
            out.push(RawResponse { line, status, body: body_value(body) });
        }
    };
    for (i, l) in text.split('\n').enumerate() {
        let l = l.strip_suffix('\r').unwrap_or(l);
        if let Some((st, before_the_answer)) = status_of(l) {
            // A preamble is no answer when an answer follows it.
            if !(preamble && body.trim().is_empty()) {
                flush(current, &body, &mut out);
            }
            preamble = before_the_answer;
            current = Some((i as u64 + 1, st));
            in_body = false;
            body.clear();
            continue;
        }
        if current.is_none() {
            continue;
        }
        if !in_body {
            if l.is_empty() {
                in_body = true;
            }
            continue;
        }
        if body.len() < 16 * 1024 * 1024 {
            body.push_str(l);
            body.push('\n');
        }
    }
    flush(current, &body, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_si_with_a_redirect_and_http2() {
        let raw = b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://x/\r\n\r\nHTTP/2 401 \r\ncontent-type: application/json\r\n\r\n{\"error\":{\"message\":\"User not found.\",\"code\":401}}";
        let r = parse(raw);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].status, r[0].line), (301, 1));
        assert_eq!((r[1].status, r[1].line), (401, 4));
        assert_eq!(r[1].body["error"]["message"], "User not found.");
    }

    #[test]
    fn a_proxy_preamble_and_an_interim_answer_are_not_the_answer() {
        let raw = b"HTTP/1.1 200 Connection established\r\nProxy-agent: Squid\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/2 401 \r\n\r\n{}";
        let r = parse(raw);
        assert_eq!(r.iter().map(|r| (r.status, r.line)).collect::<Vec<_>>(), [(401, 6)]);
        // Alone, it is what was seen.
        assert_eq!(parse(b"HTTP/1.1 200 Connection established\r\n\r\n")[0].status, 200);
    }

    #[test]
    fn html_and_garbage_bodies() {
        let r = parse(b"HTTP/1.1 404 Not Found\n\n<!DOCTYPE html><html></html>\n");
        assert!(r[0].body.as_str().unwrap().starts_with("<!DOCTYPE"));
        let r = parse(b"HTTP/1.1 200 OK\n\n\x1f\x8b\x08\x00\xff\xfe");
        assert!(r[0].body.is_string());
        assert!(parse(b"no http here").is_empty());
    }
}
