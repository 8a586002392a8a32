//! The diagnosis table: `rules.toml`, embedded, plus a user's `--rules FILE`.
//! A rule names a provider's error text by reference, `{{openrouter.user-not-found}}`
//! (the answer's message) or `{{openai.quota:code}}` (its code): the words
//! themselves live in the provider's file (crates/core/src/provider/). Adding
//! an error body is one answer there, one `[[rule]]` here and one row in its test.

use keyhole_core::doc::{self, Node};
use keyhole_core::error::{Error, Result};
use keyhole_core::provider;
use keyhole_core::record::{Code, Severity};
use regex::Regex;
use serde_json::Value;

/// The embedded table as written, references and all.
pub const SOURCE: &str = include_str!("rules.toml");

/// The embedded table as `--print-rules` shows it: [`SOURCE`] with every
/// reference replaced by the provider's words, itself a valid `--rules` file.
pub const EMBEDDED: Embedded = Embedded;

pub struct Embedded;

impl std::fmt::Display for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in SOURCE.split_inclusive('\n') {
            let key = line.split_once('=').map(|(k, _)| k.trim()).unwrap_or("");
            match field_kind(key) {
                // The embedded file writes references inside "…" strings only.
                Some(escape) => match expand(line, escape, toml_escape) {
                    Ok(l) => f.write_str(&l)?,
                    Err(_) => f.write_str(line)?,
                },
                None => f.write_str(line)?,
            }
        }
        Ok(())
    }
}

/// The fields that may hold references, and whether theirs is a regex.
fn field_kind(key: &str) -> Option<bool> {
    match key {
        "message" | "keywords" => Some(false),
        "regex" | "log" => Some(true),
        _ => None,
    }
}

/// The text a reference stands for: `provider.answer` is the answer's
/// message, `provider.answer:code` its code.
fn resolve(name: &str) -> Result<&'static str> {
    let (id, part) = name.split_once(':').unwrap_or((name, "message"));
    let a = provider::answer(id).ok_or_else(|| Error::input(format!("no provider answer {{{{{id}}}}}")))?;
    match part {
        "message" => Ok(a.message),
        "code" => a.code.ok_or_else(|| Error::input(format!("{{{{{name}}}}}: the answer has no code"))),
        other => Err(Error::input(format!("{{{{{name}}}}}: unknown part {other:?} (message or code)"))),
    }
}

/// Replace every `{{provider.answer}}` in `text`; in a regex the words are
/// escaped. `quote` writes the result into its context (identity, or TOML).
fn expand(text: &str, regex: bool, quote: fn(&str) -> String) -> Result<String> {
    let is_ref = |n: &str| {
        n.contains('.') && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._:-".contains(c))
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let Some(len) = rest[i + 2..].find("}}") else { break };
        let name = &rest[i + 2..i + 2 + len];
        if !is_ref(name) {
            out.push_str(&rest[..i + 2]);
            rest = &rest[i + 2..];
            continue;
        }
        let words = resolve(name)?;
        out.push_str(&rest[..i]);
        out.push_str(&quote(&if regex { regex::escape(words) } else { words.to_string() }));
        rest = &rest[i + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Text as it is written inside a TOML basic string ("…").
fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub code: Code,
    pub severity: Severity,
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
    /// The upstream a gateway's wrapped error names (docs/wire.md#gateways).
    pub upstream: Option<&'static provider::Provider>,
}

impl Answer {
    pub fn from_body(status: Option<u16>, body: &Value, provider: Option<&str>) -> Answer {
        let b = Body(body);
        let text = b.text();
        let message = b.message().map_or_else(|| text.clone(), str::to_string);
        // OpenRouter puts the HTTP status in error.code too; LiteLLM as a string.
        let status = status.or_else(|| b.code());
        let upstream = provider::wrapped_upstream(&text).map(|(p, _)| p);
        Answer { provider: provider.map(str::to_string), status, message, text, upstream }
    }
}

/// An answer's body as the rules read it. The body is free-form JSON (or
/// text); this is the one place keyhole-classify looks into it, for the
/// error envelopes docs/wire.md names.
#[derive(Clone, Copy, Debug)]
pub struct Body<'a>(pub &'a Value);

impl<'a> Body<'a> {
    fn str_at(self, pointer: &str) -> Option<&'a str> {
        self.0.pointer(pointer).and_then(Value::as_str)
    }

    /// Whether the body has an `error` member (of any shape).
    pub fn has_error(self) -> bool {
        self.0.pointer("/error").is_some()
    }

    /// `error.message`, when it is text.
    pub fn error_message(self) -> Option<&'a str> {
        self.str_at("/error/message")
    }

    /// The human error message of any of the envelopes: `error.message`, an
    /// `error` string, `message`, `detail`, or `error.error.message`.
    pub fn message(self) -> Option<&'a str> {
        self.error_message()
            .or_else(|| self.str_at("/error"))
            .or_else(|| self.str_at("/message"))
            .or_else(|| self.str_at("/detail"))
            .or_else(|| self.str_at("/error/error/message"))
    }

    /// `error.code` as an HTTP status: a number, or a numeric string.
    pub fn code(self) -> Option<u16> {
        let c = self.0.pointer("/error/code")?;
        c.as_u64().map(|n| n as u16).or_else(|| c.as_str().and_then(|s| s.parse().ok()))
    }

    /// The whole body as text (a string body as it is, else its JSON).
    pub fn text(self) -> String {
        match self.0 {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// The human error message of any of the envelopes docs/wire.md names.
pub fn error_message(body: &Value) -> Option<String> {
    Body(body).message().map(str::to_string)
}

pub struct Table {
    pub rules: Vec<Rule>,
}

fn s(n: &Node, k: &str) -> Option<String> {
    n.get(k).and_then(Node::scalar_text)
}

impl Table {
    /// The embedded table, with `extra` (a user's rules) in front of it.
    pub fn load(extra: Option<&str>) -> Result<Table> {
        let mut rules = Vec::new();
        if let Some(x) = extra {
            rules.extend(parse(x).map_err(|e| Error::input(format!("--rules: {e}")))?);
        }
        rules.extend(parse(SOURCE).map_err(|e| Error::failed(format!("embedded rules: {e}")))?);
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

fn parse(text: &str) -> Result<Vec<Rule>> {
    let root =
        doc::parse_toml(text).map_err(|e| Error::input(format!("line {}: {}", e.line.unwrap_or(0), e.message)))?;
    let mut out = Vec::new();
    for (i, r) in root.get("rule").map(Node::items).unwrap_or_default().iter().enumerate() {
        let at = |what: &str| Error::input(format!("rule {} (line {}): {what}", i + 1, r.line));
        let words = |t: String| expand(&t, false, str::to_string).map_err(|e| at(&e.message));
        let re = |k: &str| -> Result<Option<Regex>> {
            match s(r, k) {
                Some(p) => {
                    let p = expand(&p, true, str::to_string).map_err(|e| at(&e.message))?;
                    Regex::new(&p).map(Some).map_err(|e| at(&format!("bad {k}: {e}")))
                }
                None => Ok(None),
            }
        };
        let id = s(r, "id").ok_or_else(|| at("no id"))?;
        let code = s(r, "code").ok_or_else(|| at("no code"))?;
        let code = Code::parse(&code).ok_or_else(|| {
            at(&format!("rule {id:?} has an unknown code {code:?} (the codes: docs/records.md#diagnosis-codes)"))
        })?;
        let severity = s(r, "severity").unwrap_or_else(|| "error".into());
        let severity = Severity::parse(&severity).ok_or_else(|| at("severity must be error, warning or info"))?;
        let rule = Rule {
            id,
            code,
            severity,
            provider: s(r, "provider"),
            status: s(r, "status").and_then(|v| v.parse().ok()),
            message: s(r, "message").map(words).transpose()?,
            regex: re("regex")?,
            log: re("log")?,
            summary: s(r, "summary").ok_or_else(|| at("no summary"))?,
            fix: r.get("fix").map(|f| f.items().iter().filter_map(Node::scalar_text).collect()).unwrap_or_default(),
            keywords: r
                .get("keywords")
                .map(|f| f.items().iter().filter_map(Node::scalar_text).map(words).collect::<Result<_, _>>())
                .transpose()?
                .unwrap_or_default(),
        };
        if rule.log.is_some() && rule.keywords.is_empty() {
            return Err(at("a log rule needs keywords (literals for the prefilter)"));
        }
        out.push(rule);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(rules: &[Rule]) -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {:?} {:?} {:?} {:?}",
                    r.id,
                    r.message,
                    r.regex.as_ref().map(Regex::as_str),
                    r.log.as_ref().map(Regex::as_str),
                    r.keywords,
                    r.fix
                )
            })
            .collect()
    }

    #[test]
    fn the_printed_table_is_the_embedded_one_with_the_words_filled_in() {
        let printed = EMBEDDED.to_string();
        assert!(printed.lines().all(|l| l.starts_with('#') || !l.contains("{{")), "every reference is expanded");
        assert_eq!(summary(&parse(&printed).unwrap()), summary(&parse(SOURCE).unwrap()));
        assert!(printed.contains(provider::answer("openrouter.no-credentials").unwrap().message));
    }

    #[test]
    fn references_name_provider_answers() {
        let t = parse("[[rule]]\nid = \"x\"\ncode = \"auth.missing\"\nsummary = \"s\"\nmessage = \"{{anthropic.no-key}}\"\nregex = \"a|{{openai.quota:code}}\"\n").unwrap();
        assert_eq!(t[0].message.as_deref(), Some(provider::answer("anthropic.no-key").unwrap().message));
        assert_eq!(t[0].regex.as_ref().unwrap().as_str(), "a|insufficient_quota");
        let bad =
            parse("[[rule]]\nid = \"x\"\ncode = \"unknown\"\nsummary = \"s\"\nmessage = \"{{openrouter.nonesuch}}\"\n");
        assert!(bad.unwrap_err().message.contains("no provider answer"));
        // A regex's own braces are not references.
        let t = parse("[[rule]]\nid = \"x\"\ncode = \"unknown\"\nsummary = \"s\"\nregex = \"a{2}\"\n").unwrap();
        assert_eq!(t[0].regex.as_ref().unwrap().as_str(), "a{2}");
    }

    #[test]
    fn a_gateways_wrapped_upstream_refusal_is_the_upstreams() {
        let t = Table::load(None).unwrap();
        let a = provider::answer("litellm.upstream-auth").unwrap();
        let body: Value = serde_json::from_str(&a.render("")).unwrap();
        let ans = Answer::from_body(Some(401), &body, Some("litellm"));
        assert_eq!(ans.upstream.map(|p| p.name), Some("openrouter"));
        let r = t.match_answer(&ans).unwrap();
        assert_eq!((r.id.as_str(), r.code), ("litellm.upstream-auth", Code::UpstreamAuth));
        // Without a database the proxy's key routes answer 500: no wrong base URL.
        for id in ["litellm.no-db", "litellm.no-db-short"] {
            let body: Value = serde_json::from_str(&provider::answer(id).unwrap().render("")).unwrap();
            let r = t.match_answer(&Answer::from_body(Some(500), &body, Some("litellm"))).unwrap();
            assert_eq!(r.id, "litellm.no-db", "{id}");
        }
        let not_found: Value = serde_json::from_str(r#"{"detail":"Not Found"}"#).unwrap();
        let r = t.match_answer(&Answer::from_body(Some(404), &not_found, Some("litellm"))).unwrap();
        assert_eq!(r.id, "litellm.not-found");
        assert!(!r.fix.concat().contains("openrouter.ai"), "{:?}", r.fix);
    }

    #[test]
    fn codes_and_severities_are_read_at_load() {
        let t = parse("[[rule]]\nid = \"corp.x\"\ncode = \"header.dropped_proxy\"\nseverity = \"warning\"\nsummary = \"s\"\nmessage = \"m\"\n").unwrap();
        assert_eq!((t[0].code, t[0].severity), (Code::HeaderDroppedProxy, Severity::Warning));
        let e = parse("[[rule]]\nid = \"corp.x\"\ncode = \"header.droped\"\nsummary = \"s\"\n").unwrap_err().message;
        assert!(e.contains("\"corp.x\"") && e.contains("unknown code \"header.droped\""), "{e}");
        let e =
            parse("[[rule]]\nid = \"x\"\ncode = \"ok\"\nseverity = \"fatal\"\nsummary = \"s\"\n").unwrap_err().message;
        assert!(e.contains("severity must be"), "{e}");
    }
}
