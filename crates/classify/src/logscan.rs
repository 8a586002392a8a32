//! Scanning tool and proxy logs for API-key failures at close to `rg` speed:
//! a literal prefilter runs over large chunks, and only the lines it hits
//! are parsed. Memory stays flat: one chunk buffer, whatever the file size.

use std::io::{self, Read};
use std::sync::LazyLock;

use regex::bytes::Regex as BytesRegex;
use regex::Regex;
use serde_json::Value;

use crate::rules::Table;

const CHUNK: usize = 256 * 1024;
/// Lines longer than this are cut for parsing (a 10 MB single line stays cheap).
const MAX_LINE: usize = 1024 * 1024;

static STATUS_NEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:Error code:|HTTP/[\d.]+|status(?:_code)?[=: ]+|Error |API Error: |^|\D)\s*([45]\d\d)\b")
        .expect("re")
});
static MODEL_GROUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"model group '([^']+)' failed").expect("re"));

pub struct Prefilter(BytesRegex);

impl Prefilter {
    pub fn new(table: &Table) -> Prefilter {
        // Pure literals (rule messages and keywords): the regex engine runs them as a
        // SIMD multi-literal search. A literal containing another adds nothing.
        let lits = table.literals();
        let minimal: Vec<&String> =
            lits.iter().filter(|l| !lits.iter().any(|o| o != *l && l.contains(o.as_str()))).collect();
        let mut alts: Vec<String> = minimal.iter().map(|l| regex::escape(l)).collect();
        alts.sort();
        alts.dedup();
        Prefilter(BytesRegex::new(&alts.join("|")).expect("prefilter regex from the rules"))
    }
}

/// The JSON error inside a log line, if any (also Python's dict repr).
pub fn json_in(line: &str) -> Option<Value> {
    let start = line.find('{')?;
    let end = line.rfind('}')?;
    if end <= start {
        return None;
    }
    let cand = &line[start..=end];
    if let Ok(v) = serde_json::from_str::<Value>(cand) {
        return Some(v);
    }
    // `Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}`
    let py =
        cand.replace('\'', "\"").replace(": None", ": null").replace(": True", ": true").replace(": False", ": false");
    serde_json::from_str(&py).ok()
}

/// One hit: line number, status, body, and the log rule that matched if no JSON did.
pub struct Hit<'a> {
    pub line: u64,
    pub status: Option<u16>,
    pub body: Value,
    pub log_rule: Option<&'a crate::rules::Rule>,
    pub model_group: Option<String>,
}

fn classify_line<'a>(
    text: &str,
    table: &'a Table,
) -> (Option<u16>, Value, Option<&'a crate::rules::Rule>, Option<String>) {
    let status = STATUS_NEAR.captures(text).and_then(|c| c[1].parse().ok());
    let group = MODEL_GROUP.captures(text).map(|c| c[1].to_string());
    match json_in(text) {
        // LiteLLM's proxy wraps the upstream error as a string inside its own.
        Some(v) => {
            let inner = v["error"]["message"].as_str().and_then(json_in);
            let body = match inner {
                Some(i) if i.get("error").is_some() => i,
                _ => v,
            };
            (status, body, None, group)
        }
        None => {
            let message = text.trim().chars().take(2000).collect::<String>();
            (status, Value::String(message), table.match_log(text), group)
        }
    }
}

/// Scan `r`; call `hit` for every line a rule can match, in order.
pub fn scan<R: Read>(
    mut r: R,
    table: &Table,
    pre: &Prefilter,
    mut hit: impl FnMut(Hit) -> io::Result<bool>,
) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0usize;
    let mut line_base: u64 = 1; // line number of buf[0]
    let mut hits = 0u64;
    loop {
        let n = r.read(&mut buf[filled..])?;
        let eof = n == 0;
        filled += n;
        if filled == 0 && eof {
            return Ok(hits);
        }
        // Work on complete lines; keep the tail for the next read.
        let end = if eof {
            filled
        } else {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(i) => i + 1,
                None if filled == buf.len() => filled, // one huge line: take it as it is
                None => continue,
            }
        };
        let chunk = &buf[..end];
        let mut counted = 0usize;
        let mut line_no = line_base;
        let mut pos = 0usize;
        while let Some(m) = pre.0.find_at(chunk, pos) {
            let ls = memchr::memrchr(b'\n', &chunk[..m.start()]).map_or(0, |i| i + 1);
            let le = memchr::memchr(b'\n', &chunk[m.start()..]).map_or(chunk.len(), |i| m.start() + i);
            line_no += memchr::memchr_iter(b'\n', &chunk[counted..ls]).count() as u64;
            counted = ls;
            let raw = &chunk[ls..le.min(ls + MAX_LINE)];
            let text = String::from_utf8_lossy(raw);
            let (status, body, log_rule, model_group) = classify_line(&text, table);
            hits += 1;
            if !hit(Hit { line: line_no, status, body, log_rule, model_group })? {
                return Ok(hits);
            }
            pos = le.max(m.end()).min(chunk.len());
            if pos >= chunk.len() {
                break;
            }
            pos += 1;
        }
        // Count the rest of the chunk once (the part before `counted` is in line_no already).
        line_base = line_no + memchr::memchr_iter(b'\n', &chunk[counted..]).count() as u64;
        buf.copy_within(end..filled, 0);
        filled -= end;
        if eof {
            return Ok(hits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_and_their_numbers_across_chunks() {
        let table = Table::load(None).unwrap();
        let pre = Prefilter::new(&table);
        let mut log = String::new();
        for i in 0..200_000 {
            log.push_str(&format!("2026-11-23 info request {i} ok\n"));
            if i == 150_000 {
                log.push_str("litellm.AuthenticationError: AuthenticationError: OpenrouterException - {\"error\": {\"message\": \"Missing Authentication header\", \"code\": 401}}\n");
            }
        }
        let mut found = Vec::new();
        scan(log.as_bytes(), &table, &pre, |h| {
            found.push((h.line, h.status, h.body["error"]["message"].as_str().map(str::to_string)));
            Ok(true)
        })
        .unwrap();
        assert_eq!(found, vec![(150_002, Some(401), Some("Missing Authentication header".into()))]);
    }

    #[test]
    fn python_dict_repr() {
        let v = json_in("Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}").unwrap();
        assert_eq!(v["error"]["message"], "User not found.");
    }
}
