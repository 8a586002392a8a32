//! `.env` files, parsed the way the two parsers that matter read them
//! (docs/tools.md#dotenv-files): python-dotenv (Aider, LiteLLM, OpenSpace,
//! Hermes) and motdotla/dotenv (Continue and most Node tools). They disagree
//! on `#`, quotes, escapes and `${VAR}`, and the disagreement changes the key.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// python-dotenv: `#` starts a comment only after whitespace; double-quoted
    /// escapes decoded; `${VAR}` interpolated.
    Python,
    /// motdotla/dotenv: any unquoted `#` starts a comment; only `\n`/`\r`
    /// expanded in double quotes; no interpolation.
    Node,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// The value as the parser returns it (before any interpolation).
    pub value: String,
    pub line: u32,
    pub exported: bool,
    /// `${VAR}` references python-dotenv would interpolate.
    pub interpolates: Vec<String>,
}

pub fn parse(text: &str, flavor: Flavor) -> Vec<Entry> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let normalized;
    let text = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        &normalized
    } else {
        text
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start_line = i as u32 + 1;
        let raw = lines[i];
        i += 1;
        let mut l = raw.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut exported = false;
        if let Some(rest) = l.strip_prefix("export") {
            if rest.starts_with([' ', '\t']) {
                l = rest.trim_start();
                exported = true;
            }
        }
        let (name, rest) = match split_name(l, flavor) {
            Some(x) => x,
            None => continue,
        };
        let rest = rest.trim_start();
        let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\'' | '`'));
        let value = if let Some(q) = quote {
            if flavor == Flavor::Python && q == '`' {
                unquoted(rest, flavor)
            } else {
                // A quoted value may span lines until the closing quote; each
                // line is scanned once (an unclosed quote costs one pass over
                // the rest of the file, not one per line).
                let mut body = rest[1..].to_string();
                let mut scan = CloseScan::default();
                let mut closed = scan.find(&body, q, flavor);
                while closed.is_none() && i < lines.len() {
                    body.push('\n');
                    body.push_str(lines[i]);
                    i += 1;
                    closed = scan.find(&body, q, flavor);
                }
                match closed {
                    Some(end) => unescape(&body[..end], q, flavor),
                    // No closing quote: both parsers fall back to the raw text.
                    None => unquoted(rest, flavor),
                }
            }
        } else {
            unquoted(rest, flavor)
        };
        let interpolates = if flavor == Flavor::Python && quote != Some('\'') { refs(&value) } else { Vec::new() };
        out.push(Entry { name, value, line: start_line, exported, interpolates });
    }
    out
}

fn split_name(l: &str, flavor: Flavor) -> Option<(String, &str)> {
    let end = l.find(|c: char| c == '=' || c == ':' || c.is_whitespace())?;
    let name = &l[..end];
    let mut rest = l[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r;
    } else if flavor == Flavor::Node && rest.starts_with(':') {
        rest = &rest[1..];
    } else {
        return None;
    }
    let ok = !name.is_empty()
        && match flavor {
            Flavor::Node => name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')),
            Flavor::Python => !name.contains('#'),
        };
    ok.then(|| (name.to_string(), rest))
}

/// Where the closing quote is, scanning a body that grows line by line:
/// each call goes on from where the last one stopped.
#[derive(Default)]
struct CloseScan {
    pos: usize,
    escaped: bool,
}

impl CloseScan {
    fn find(&mut self, body: &str, q: char, flavor: Flavor) -> Option<usize> {
        for (i, c) in body[self.pos..].char_indices() {
            let i = self.pos + i;
            if self.escaped {
                self.escaped = false;
                continue;
            }
            if c == '\\' && (flavor == Flavor::Python || q == '"') {
                self.escaped = true;
                continue;
            }
            if c == q {
                return Some(i);
            }
        }
        self.pos = body.len();
        None
    }
}

fn unescape(s: &str, q: char, flavor: Flavor) -> String {
    match (flavor, q) {
        (Flavor::Node, '"') => s.replace("\\n", "\n").replace("\\r", "\r"),
        (Flavor::Node, _) => s.to_string(),
        (Flavor::Python, '\'') => s.replace("\\\\", "\\").replace("\\'", "'"),
        (Flavor::Python, _) => {
            let mut out = String::with_capacity(s.len());
            let mut it = s.chars();
            while let Some(c) = it.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match it.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('a') => out.push('\x07'),
                    Some('b') => out.push('\x08'),
                    Some('f') => out.push('\x0c'),
                    Some('v') => out.push('\x0b'),
                    Some(c @ ('\\' | '\'' | '"')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => out.push('\\'),
                }
            }
            out
        }
    }
}

fn unquoted(rest: &str, flavor: Flavor) -> String {
    let v = match flavor {
        Flavor::Node => rest.split('#').next().unwrap_or(""),
        Flavor::Python => {
            // A comment starts at whitespace followed by '#'.
            let b = rest.as_bytes();
            let mut cut = rest.len();
            for i in 1..b.len() {
                if b[i] == b'#' && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
                    cut = i;
                    break;
                }
            }
            if rest.starts_with('#') {
                cut = 0;
            }
            &rest[..cut]
        }
    };
    v.trim().to_string()
}

/// `${VAR}` / `${VAR:-default}` references in a value (python-dotenv).
pub fn refs(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        if let Some(end) = after.find('}') {
            let name = after[..end].split(":-").next().unwrap_or("");
            if !name.is_empty() {
                out.push(name.to_string());
            }
            rest = &after[end + 1..];
        } else {
            break;
        }
    }
    out
}

/// The value python-dotenv hands the program: each `${NAME}` (or
/// `${NAME:-default}`) replaced as `load_dotenv` does. With `override`, the
/// file's earlier lines come before the environment; without, the
/// environment comes first. A name found nowhere becomes its default, or "".
pub fn interpolate(value: &str, earlier: &[Entry], env: &dyn Fn(&str) -> Option<Vec<u8>>, overrides: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, d),
            None => (inner, ""),
        };
        let from_file = || earlier.iter().rev().find(|e| e.name == name).map(|e| e.value.as_bytes().to_vec());
        let found = if overrides { from_file().or_else(|| env(name)) } else { env(name).or_else(from_file) };
        out.extend(found.unwrap_or_else(|| default.as_bytes().to_vec()));
        rest = &after[end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// The value of `entries[i]` as the program gets it: expanded as
/// python-dotenv does (see [`interpolate`]) when it references other names.
pub fn loaded_value(entries: &[Entry], i: usize, env: &dyn Fn(&str) -> Option<Vec<u8>>, overrides: bool) -> Vec<u8> {
    let e = &entries[i];
    if e.interpolates.is_empty() {
        return e.value.as_bytes().to_vec();
    }
    interpolate(&e.value, &entries[..i], env, overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_follows_override() {
        let e = parse("A=file\nKEY=${A}-${B:-dflt}-${C}\n", Flavor::Python);
        let env = |n: &str| (n == "A").then(|| b"env".to_vec());
        assert_eq!(interpolate(&e[1].value, &e[..1], &env, true), b"file-dflt-");
        assert_eq!(interpolate(&e[1].value, &e[..1], &env, false), b"env-dflt-");
    }

    fn one(text: &str, f: Flavor) -> String {
        parse(text, f).pop().unwrap().value
    }

    #[test]
    fn hash_and_quotes_differ_between_parsers() {
        assert_eq!(one("K=ab#c", Flavor::Python), "ab#c");
        assert_eq!(one("K=ab#c", Flavor::Node), "ab");
        assert_eq!(one("K=ab #c", Flavor::Python), "ab");
        assert_eq!(one("K=\"a\\tb\"", Flavor::Python), "a\tb");
        assert_eq!(one("K=\"a\\tb\"", Flavor::Node), "a\\tb");
        assert_eq!(one("export K='v'  ", Flavor::Node), "v");
        assert_eq!(one("K: v", Flavor::Node), "v");
        assert!(parse("K: v", Flavor::Python).is_empty());
        assert_eq!(one("K = spaced ", Flavor::Python), "spaced");
    }

    #[test]
    fn lines_multiline_and_crlf() {
        let e = parse("# c\r\nA=1\r\nB=\"x\ny\"\nC=3\n", Flavor::Python);
        assert_eq!(e.iter().map(|e| (e.name.as_str(), e.line)).collect::<Vec<_>>(), vec![("A", 2), ("B", 3), ("C", 5)]);
        assert_eq!(e[1].value, "x\ny");
    }

    #[test]
    fn an_unclosed_quote_is_read_in_linear_time() {
        for (q, f) in [('"', Flavor::Python), ('\'', Flavor::Node), ('`', Flavor::Node)] {
            let text = format!("K={q}x\\\n{}", "A=b\\\n".repeat(200_000));
            let start = std::time::Instant::now();
            let e = parse(&text, f);
            // Both parsers fall back to the raw text of the line; the rest is the value's.
            assert_eq!((e.len(), e[0].value.as_str()), (1, format!("{q}x\\").as_str()));
            assert!(start.elapsed().as_secs_f64() < 2.0, "{q}: {:?}", start.elapsed());
        }
        // An escaped quote at the end of a line, and an escaped newline, still close later.
        assert_eq!(parse("K=\"a\\\"\nb\"\n", Flavor::Python)[0].value, "a\"\nb");
        assert_eq!(parse("K=\"a\\\nb\"\n", Flavor::Python)[0].value, "a\\\nb");
    }

    #[test]
    fn interpolation_refs() {
        let e = parse("K=${OTHER}\nL='${NOT}'\n", Flavor::Python);
        assert_eq!(e[0].interpolates, vec!["OTHER"]);
        assert!(e[1].interpolates.is_empty());
    }
}
