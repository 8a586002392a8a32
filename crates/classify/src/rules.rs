//! The diagnosis table: `rules.toml`, embedded, plus a user's `--rules FILE`.
//! Adding an error body is one `[[rule]]` there and one row in its test.

use keyhole_core::doc::{self, Node};
use regex::Regex;
use serde_json::Value;

pub const EMBEDDED: &str = include_str!("rules.toml");

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub code: String,
    pub severity: String,
    pub provider: Option<String>,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub regex: Option<Regex>,
    pub log: Option<Regex>,
    pub summary: String,
    pub fix: Vec<String>,
    pub keywords: Vec<String>,
}

/// What a rule is matched against: one error answer, however it arrived.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub provider: Option<String>,
    pub status: Option<u16>,
    /// The error message (`error.message`, `message`, `detail`…), or the body text.
    pub message: String,
    /// The whole body as text (metadata.raw included).
    pub text: String,
}

impl Answer {
    pub fn from_body(status: Option<u16>, body: &Value, provider: Option<&str>) -> Answer {
        let message = error_message(body).unwrap_or_else(|| match body {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let text = match body {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // OpenRouter puts the HTTP status in error.code too; LiteLLM as a string.
        let status = status.or_else(|| {
            let c = &body["error"]["code"];
            c.as_u64().map(|n| n as u16).or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        });
        Answer { provider: provider.map(str::to_string), status, message, text }
    }
}

/// The human error message of any of the envelopes docs/wire.md names.
pub fn error_message(body: &Value) -> Option<String> {
    let e = &body["error"];
    e["message"]
        .as_str()
        .or_else(|| e.as_str())
        .or_else(|| body["message"].as_str())
        .or_else(|| body["detail"].as_str())
        .or_else(|| body["error"]["error"]["message"].as_str())
        .map(str::to_string)
}

pub struct Table {
    pub rules: Vec<Rule>,
}

fn s(n: &Node, k: &str) -> Option<String> {
    n.get(k).and_then(Node::scalar_text)
}

impl Table {
    /// The embedded table, with `extra` (a user's rules) in front of it.
    pub fn load(extra: Option<&str>) -> Result<Table, String> {
        let mut rules = Vec::new();
        if let Some(x) = extra {
            rules.extend(parse(x).map_err(|e| format!("--rules: {e}"))?);
        }
        rules.extend(parse(EMBEDDED).map_err(|e| format!("embedded rules: {e}"))?);
        Ok(Table { rules })
    }

    /// The first rule matching an answer.
    pub fn match_answer(&self, a: &Answer) -> Option<&Rule> {
        self.rules.iter().filter(|r| r.log.is_none()).find(|r| {
            r.provider.as_ref().is_none_or(|p| a.provider.as_deref() == Some(p))
                && r.status.is_none_or(|st| a.status == Some(st))
                && r.message.as_ref().is_none_or(|m| a.message.contains(m.as_str()) || a.text.contains(m.as_str()))
                && r.regex.as_ref().is_none_or(|re| re.is_match(&a.text) || re.is_match(&a.message))
                && (r.message.is_some() || r.regex.is_some() || r.status.is_some())
        })
    }

    /// The first `log` rule matching a line.
    pub fn match_log(&self, line: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.log.as_ref().is_some_and(|re| re.is_match(line)))
    }

    /// Literal strings at least one of which is in every line a rule can match:
    /// the log scanner's prefilter.
    pub fn literals(&self) -> Vec<String> {
        let mut v: Vec<String> = self.rules.iter().filter_map(|r| r.message.clone()).collect();
        v.extend(self.rules.iter().flat_map(|r| r.keywords.iter().cloned()));
        v
    }
}

fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let root = doc::parse_toml(text).map_err(|e| format!("line {}: {}", e.line.unwrap_or(0), e.message))?;
    let mut out = Vec::new();
    for (i, r) in root.get("rule").map(Node::items).unwrap_or_default().iter().enumerate() {
        let at = |what: &str| format!("rule {} (line {}): {what}", i + 1, r.line);
        let re = |k: &str| -> Result<Option<Regex>, String> {
            match s(r, k) {
                Some(p) => Regex::new(&p).map(Some).map_err(|e| at(&format!("bad {k}: {e}"))),
                None => Ok(None),
            }
        };
        let rule = Rule {
            id: s(r, "id").ok_or_else(|| at("no id"))?,
            code: s(r, "code").ok_or_else(|| at("no code"))?,
            severity: s(r, "severity").unwrap_or_else(|| "error".into()),
            provider: s(r, "provider"),
            status: s(r, "status").and_then(|v| v.parse().ok()),
            message: s(r, "message"),
            regex: re("regex")?,
            log: re("log")?,
            summary: s(r, "summary").ok_or_else(|| at("no summary"))?,
            fix: r.get("fix").map(|f| f.items().iter().filter_map(Node::scalar_text).collect()).unwrap_or_default(),
            keywords: r
                .get("keywords")
                .map(|f| f.items().iter().filter_map(Node::scalar_text).collect())
                .unwrap_or_default(),
        };
        if rule.log.is_some() && rule.keywords.is_empty() {
            return Err(at("a log rule needs keywords (literals for the prefilter)"));
        }
        if !["error", "warning", "info"].contains(&rule.severity.as_str()) {
            return Err(at("severity must be error, warning or info"));
        }
        out.push(rule);
    }
    Ok(out)
}
