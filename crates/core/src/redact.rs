//! The one redaction boundary (docs/records.md#redaction) and what reaches a
//! terminal (docs/records.md#terminal-output).
//!
//! Everything keyhole prints passes this module: every record, as it is
//! serialized ([`to_writer`], which the JSON-lines writer calls, so no stage
//! can write around it): each string value and each member name; reports
//! ([`words`]); notes and error messages on stderr ([`human`]). What it
//! removes is written as a marker that still compares:
//! `sk-or-v1-…9c23 (redacted, sha8 0011aabb)` — the known prefix, the last
//! four characters of a value of 20 bytes or more, and the `sha8` a
//! fingerprint of the same bytes carries.
//!
//! What it knows:
//! - every provider's key shape, and the other services' of
//!   [`provider::OTHER_KEY_SHAPES`] (anywhere in any text);
//! - URL userinfo, with or without a scheme, passwords holding `/` or `@`;
//! - credential positions: assignments, headers, JSON members and query
//!   parameters named like a key, token, secret, password or authorization
//!   (`api_key=`, `"token": "…"`, `Authorization: Bearer …`, `?key=`,
//!   `&api-key=`): a value that looks random there, any value after a
//!   password's name or in a query;
//! - shell defaults `${X:-…}`, `${X-…}`, `${X:=…}` (`?`, `+` too): the
//!   default of a credential variable, or one that looks random;
//! - `$(…)` and backtick bodies: each random-looking word in them;
//! - in records, the fields that hold a credential's text (`key.text`,
//!   `key.var`, `key.cmd`, a capture's `placeholder`…): each random-looking
//!   word; and member names that look random (a key echoed as a name).
//!
//! It runs before anything is cut ([`text_at`] maps a position for a cut
//! made afterwards).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::ser::{self, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::provider;

/// What a marker says after the value's tail: how to recognise one.
const MARK: &str = " (redacted, sha8 ";

/// The form a redacted value is written in: the known prefix, `…`, the last
/// four characters when the value has 20 bytes or more (as a fingerprint's
/// `last4`), and the first 8 hex digits of the SHA-256 of its bytes (as a
/// fingerprint's `sha8`: equal sha8, equal bytes).
pub fn marker(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut sha8 = String::with_capacity(8);
    for b in &digest[..4] {
        sha8.push_str(&format!("{b:02x}"));
    }
    let last4: String = if secret.len() >= 20 {
        let tail: Vec<char> = secret.chars().rev().take(4).collect();
        tail.into_iter()
            .rev()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.~+/=".contains(c) { c } else { '?' })
            .collect()
    } else {
        String::new()
    };
    format!("{}…{last4}{MARK}{sha8})", shown_prefix(secret))
}

/// The public prefix a marker keeps: a provider's (`sk-or-v1-`) or another
/// service's (`pplx-`).
fn shown_prefix(secret: &str) -> &'static str {
    if let Some((_, p)) = provider::known_prefix(secret) {
        return p;
    }
    provider::OTHER_KEY_SHAPES.iter().map(|(p, _)| *p).find(|p| secret.starts_with(p)).unwrap_or("")
}

/// Free text (a message, a log line, a body, a report) with every secret in
/// it replaced by its [`marker`].
pub fn text(s: &str) -> Cow<'_, str> {
    if cannot_hold_secret(s) {
        return Cow::Borrowed(s);
    }
    let mut sp = Spans::new(s);
    sp.rules();
    sp.apply()
}

/// [`text`], and where byte `at` of `s` is in the result (the start of the
/// marker when `at` falls inside a redacted value): for a window cut around a
/// position after redaction.
pub fn text_at(s: &str, at: usize) -> (Cow<'_, str>, usize) {
    let mut sp = Spans::new(s);
    sp.rules();
    let merged = sp.merged();
    let mut shift: isize = 0;
    let mut mapped = None;
    for r in &merged {
        if at < r.start {
            break;
        }
        if at < r.end {
            mapped = Some((r.start as isize + shift) as usize);
            break;
        }
        shift += marker(&s[r.clone()]).len() as isize - r.len() as isize;
    }
    let at = mapped.unwrap_or((at as isize + shift).max(0) as usize);
    (replace(s, &merged), at)
}

/// [`text`] after replacing the exact values in `known` (credentials a
/// tool holds, such as the one a request carried), whatever their shape.
pub fn text_knowing<'a>(s: &'a str, known: &[&str]) -> Cow<'a, str> {
    let mut sp = Spans::new(s);
    for k in known.iter().map(|k| k.trim()).filter(|k| k.len() >= 8) {
        for (i, _) in s.match_indices(k) {
            sp.shape(i..i + k.len());
        }
    }
    sp.rules();
    sp.apply()
}

/// A message for people (a note, an error): redacted, and made safe for a
/// terminal on one line.
pub fn human(s: &str) -> String {
    terminal(&text(s)).into_owned()
}

/// Words for people over several lines (a report, a usage message):
/// redacted, and made safe for a terminal; newlines and tabs kept, and with
/// `keep_sgr` the colour sequences (`ESC [ … m`) a report writes itself.
pub fn words(s: &str, keep_sgr: bool) -> String {
    let red = text(s);
    let mut out = String::with_capacity(red.len());
    let mut rest = red.as_ref();
    while let Some(c) = rest.chars().next() {
        if keep_sgr && c == '\x1b' {
            if let Some(n) = sgr_len(rest) {
                out.push_str(&rest[..n]);
                rest = &rest[n..];
                continue;
            }
        }
        if c == '\n' || c == '\t' || !is_terminal_unsafe(c) {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of a colour sequence `ESC [ digits/; m` at the start of `s`.
fn sgr_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 3 || b[1] != b'[' {
        return None;
    }
    let n = b[2..].iter().position(|c| !(c.is_ascii_digit() || *c == b';'))?;
    (b[2 + n] == b'm').then_some(3 + n)
}

/// Whether `c` must never reach a terminal as it is: control characters
/// (C0, DEL, C1: escape sequences start with them), bidirectional
/// overrides, embeddings, isolates and marks (text shown in another order
/// than it is), zero-width and invisible characters, line and paragraph
/// separators, the BOM, tag characters.
pub fn is_terminal_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.extend(c.escape_unicode());
    }
}

/// One line of untrusted text (a file name, a field of a record) made safe
/// for a terminal: every character of [`is_terminal_unsafe`] shown escaped
/// (`\u{1b}`, `\n`, `\u{202e}`); a tab is kept.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\t' && is_terminal_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c != '\t' && is_terminal_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------- the rules

/// Whether no rule can find anything in `s`: shorter than the shortest key
/// shape or random-looking word (12 bytes), and without any of the
/// characters a position rule starts from (`@ : = $` and the backtick).
fn cannot_hold_secret(s: &str) -> bool {
    s.len() < 12 && !s.bytes().any(|b| matches!(b, b'@' | b':' | b'=' | b'$' | b'`'))
}

/// The words a credential's name ends with (`OPENROUTER_API_KEY`,
/// `apiKey`, `x-api-key`, `access_token`, `client_secret`, `password`,
/// `Authorization`), and those after which any value is a secret,
/// random-looking or not.
const CRED_WORDS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "credential",
    "credentials",
    "authorization",
    "auth",
    "bearer",
    "signature",
];
const STRONG_WORDS: &[&str] = &["secret", "password", "passwd", "passphrase", "pwd", "authorization"];

fn ends_with_ci(name: &str, words: &[&str]) -> bool {
    let b = name.as_bytes();
    words.iter().any(|w| b.len() >= w.len() && b[b.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes()))
}

/// A few literals, looked for in one pass over a text: a table by first
/// byte, so that most bytes cost one lookup.
struct Literals {
    first: [bool; 256],
    by_first: Vec<Vec<(usize, &'static [u8])>>,
    case_insensitive: bool,
}

impl Literals {
    fn new<'w>(words: impl IntoIterator<Item = &'w &'static str>, case_insensitive: bool) -> Self {
        let mut by_first = vec![Vec::new(); 256];
        let mut first = [false; 256];
        for (i, w) in words.into_iter().enumerate() {
            let b = w.as_bytes();
            if let Some(&f) = b.first() {
                by_first[usize::from(f)].push((i, b));
                first[usize::from(f)] = true;
                if case_insensitive && f.is_ascii_alphabetic() {
                    by_first[usize::from(f ^ 0x20)].push((i, b));
                    first[usize::from(f ^ 0x20)] = true;
                }
            }
        }
        Literals { first, by_first, case_insensitive }
    }

    /// Which literals occur in `s`, as bits (the first 64).
    fn hits(&self, s: &str) -> u64 {
        let b = s.as_bytes();
        let mut found = 0u64;
        for (i, &c) in b.iter().enumerate() {
            if !self.first[usize::from(c)] {
                continue;
            }
            for &(k, w) in &self.by_first[usize::from(c)] {
                let here = b.len() - i >= w.len()
                    && b[i + 1..i + w.len()].iter().zip(&w[1..]).all(|(x, y)| {
                        if self.case_insensitive {
                            x.eq_ignore_ascii_case(y)
                        } else {
                            x == y
                        }
                    });
                if here && k < 64 {
                    found |= 1 << k;
                }
            }
        }
        found
    }
}

/// The credential words and `bearer`, looked for in one pass.
static CRED_LITERALS: LazyLock<Literals> = LazyLock::new(|| Literals::new(CRED_WORDS, true));

/// Where `needle` (lower case ASCII) starts in `hay` at or after `from`,
/// whatever the case.
fn find_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (from..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// An assignment, a header, a JSON member or a query parameter with a
/// credential's name, up to where its value starts.
static ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)[A-Za-z0-9_.\-]*(?:key|token|secret|passw(?:or)?d|passphrase|pwd|credentials?|authorization|auth|bearer|signature)["']?[ \t]*(?:=>|:=|=|:)[ \t]*"#,
    )
    .expect("assignment regex")
});

/// The length of the scheme word and blanks before a credential in a
/// header value (`Bearer `, `Basic `, `token `), or 0.
fn scheme_word(t: &str) -> usize {
    for w in ["bearer", "basic", "token", "bot", "apikey"] {
        let b = t.as_bytes();
        if b.len() > w.len() && b[..w.len()].eq_ignore_ascii_case(w.as_bytes()) && matches!(b[w.len()], b' ' | b'\t') {
            return w.len() + t[w.len()..].len() - t[w.len()..].trim_start_matches([' ', '\t']).len();
        }
    }
    0
}

/// One key shape, the literal it starts with, and its regex, compiled the
/// first time its literal turns up (most runs never need most shapes).
struct Shape {
    pattern: &'static str,
    literal: &'static str,
    re: std::sync::OnceLock<Regex>,
}

impl Shape {
    fn re(&self) -> &Regex {
        self.re.get_or_init(|| Regex::new(self.pattern).expect("key shape"))
    }
}

/// The literals the key shapes start with, looked for in one pass (bit `k`:
/// shape `k`'s literal occurs).
static SHAPE_LITERALS: LazyLock<Literals> = LazyLock::new(|| {
    let words: Vec<&'static str> = SHAPES.iter().map(|s| s.literal).collect();
    Literals::new(&words, false)
});

/// Every key shape: each provider's `key_pattern` (crates/core/src/provider/)
/// and [`provider::OTHER_KEY_SHAPES`].
static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let mut patterns: Vec<&'static str> = Vec::new();
    let other = provider::OTHER_KEY_SHAPES.iter().map(|(_, p)| *p);
    for p in provider::PROVIDERS.iter().filter_map(|p| p.key_pattern).chain(other) {
        if !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    patterns
        .into_iter()
        .map(|p| {
            let n = p.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(p.len());
            Shape { pattern: p, literal: &p[..n], re: std::sync::OnceLock::new() }
        })
        .collect()
});

/// Whether `s` holds a run of `n` ASCII letters and digits: where a key
/// without a literal prefix (Azure's hex) could be.
fn has_alnum_run(s: &str, n: usize) -> bool {
    let mut run = 0;
    s.bytes().any(|b| {
        run = if b.is_ascii_alphanumeric() { run + 1 } else { 0 };
        run >= n
    })
}

/// Compile every pattern the redactor may need now (a tool that wants its
/// first record out fast can do it on a helper thread while it reads).
pub fn warm_up() {
    SHAPES.iter().for_each(|s| {
        s.re();
    });
    LazyLock::force(&ASSIGN);
    LazyLock::force(&SHAPE_LITERALS);
    LazyLock::force(&CRED_LITERALS);
}

/// A marker already written (its prefix is matched separately).
static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"…[^\s]{0,4} \(redacted, sha8 [0-9a-f]{8}\)").expect("marker regex"));

/// A host after `@` in a userinfo without a scheme: a domain or address
/// with a dot, or any host with a port.
static BARE_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|[A-Za-z0-9.-]+:[0-9]+|\[[0-9A-Fa-f:.]+\](?::[0-9]+)?)(?:[/?#]|$)")
        .expect("host regex")
});

/// Member names whose value is the text of a credential reference: each
/// random-looking word in them is a secret (`key.text`, `key.var`,
/// `key.cmd`, `key.store`, a definition's `command`, a capture's
/// `placeholder`, a site `id`, which names the variable).
const CREDENTIAL_TEXT: &[&str] = &["text", "var", "cmd", "command", "store", "placeholder", "id", "model"];

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '=' | '.' | '~')
}

/// Where a token in free text ends.
fn is_delim(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | '|')
}

fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 128];
    let mut n = 0u32;
    for b in s.bytes().filter(u8::is_ascii) {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

/// A piece of a name or a word, not of a random string: a number, a word
/// in one case or in camel case, letters and digits in at most three runs
/// (`v1beta`, `70b`, `gpt4o`).
fn wordy(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    let runs = b.windows(2).filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit()).count();
    let humps = b.windows(2).filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase()).count();
    runs <= 2 && humps * 6 <= b.len()
}

/// Does a token look like a random secret rather than a name, a path, a
/// model, a word? At least 12 token characters, and a piece of 12 or more
/// between `-_./+=~` that is no word and not repetitive (Shannon entropy of
/// 3 bits a character or more); or 32 hex digits and more.
pub fn looks_secret(t: &str) -> bool {
    let t = t.trim_end_matches(['.', ',', ';', ':']);
    if t.len() < 12 || !t.chars().all(is_token_char) || t.starts_with(['/', '~', '.']) {
        return false;
    }
    let hex: Vec<u8> = t.bytes().filter(|b| *b != b'-').collect();
    if hex.len() >= 32
        && hex.iter().all(u8::is_ascii_hexdigit)
        && hex.iter().any(u8::is_ascii_digit)
        && hex.iter().any(u8::is_ascii_alphabetic)
    {
        return true;
    }
    t.split(['-', '_', '.', '/', '+', '=', '~']).any(|seg| seg.len() >= 12 && !wordy(seg) && entropy(seg) >= 3.0)
}

/// A value that names where the credential comes from instead of being one.
fn is_reference(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    v.starts_with(['$', '{', '%', '<', '[', '('])
        || v.contains("${")
        || l.starts_with("os.environ/")
        || l.starts_with("env:")
        || l.starts_with("secrets.")
        || l.starts_with("file:")
        || l.starts_with("cmd:")
        || matches!(
            l.as_str(),
            "null" | "none" | "nil" | "true" | "false" | "undefined" | "empty" | "not-provided" | "no-key-required"
        )
        || v.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '…' | '-' | '_'))
        || (v.len() > 1
            && v.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && v.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
}

/// Where a string sits in a record: what its member's name says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pos {
    Plain,
    /// Under a credential's name; `strong`: any value is a secret.
    Credential {
        strong: bool,
    },
    /// The text of a credential reference.
    CredentialText,
}

impl Pos {
    fn of(name: &str) -> Pos {
        if ends_with_ci(name, CRED_WORDS) {
            Pos::Credential { strong: ends_with_ci(name, STRONG_WORDS) }
        } else if CREDENTIAL_TEXT.contains(&name) {
            Pos::CredentialText
        } else {
            Pos::Plain
        }
    }
}

/// The ranges of one text to redact, as the rules find them.
struct Spans<'a> {
    s: &'a str,
    /// Markers already in the text: a rule never redacts into one.
    markers: Vec<Range<usize>>,
    found: Vec<Range<usize>>,
}

impl<'a> Spans<'a> {
    fn new(s: &'a str) -> Self {
        let markers = if s.contains('…') && s.contains(MARK) {
            MARKER.find_iter(s).map(|m| m.range()).collect()
        } else {
            Vec::new()
        };
        Spans { s, markers, found: Vec::new() }
    }

    /// A value a shape matched: always redacted, but for a bare known
    /// prefix (a fingerprint's `prefix`, `sk-ant-api03-`, is no key).
    fn shape(&mut self, r: Range<usize>) {
        let v = &self.s[r.clone()];
        if !v.is_empty() && shown_prefix(v) != v {
            self.found.push(r);
        }
    }

    /// A value a position says is a credential: trimmed, never into a
    /// marker, and not when all that is left is a known prefix.
    fn credential(&mut self, r: Range<usize>) {
        let s = self.s;
        let mut r = r;
        while r.start < r.end && s[r.start..].starts_with(char::is_whitespace) {
            r.start += s[r.start..].chars().next().map_or(1, char::len_utf8);
        }
        let trimmed = s[r.clone()].trim_end_matches(|c: char| c.is_whitespace() || ".,;:".contains(c));
        r.end = r.start + trimmed.len();
        for m in &self.markers {
            if m.start <= r.start && r.start < m.end {
                return;
            }
            if r.start < m.start && m.start < r.end {
                r.end = m.start;
            }
        }
        let v = &s[r.clone()];
        if v.is_empty() || shown_prefix(v) == v {
            return;
        }
        self.found.push(r);
    }

    /// Every rule for free text.
    fn rules(&mut self) {
        let s = self.s;
        let long_run = s.len() >= 32 && has_alnum_run(s, 32);
        let hits = if s.len() >= 12 { SHAPE_LITERALS.hits(s) } else { 0 };
        for (k, shape) in SHAPES.iter().enumerate() {
            let literal = shape.literal.len();
            let near = if literal > 0 { k < 64 && hits & (1 << k) != 0 } else { long_run };
            if !near {
                continue;
            }
            // Each shape on its own, overlapping matches too: a match that
            // ends inside a key never hides the key's own match.
            let re = shape.re();
            let mut at = 0;
            while let Some(m) = re.find_at(s, at) {
                // A shape with no literal (Azure's hex) needs digits and
                // letters both: a run of `a` or of `0` is no key.
                let t = m.as_str().as_bytes();
                if literal > 0 || (t.iter().any(u8::is_ascii_digit) && t.iter().any(u8::is_ascii_alphabetic)) {
                    self.shape(m.range());
                }
                at = m.end().saturating_sub(literal.saturating_sub(1)).max(m.start() + 1);
                while at < s.len() && !s.is_char_boundary(at) {
                    at += 1;
                }
                if at >= s.len() {
                    break;
                }
            }
        }
        if s.contains('@') {
            self.userinfo();
        }
        let words = CRED_LITERALS.hits(s);
        if words != 0 && s.contains([':', '=']) {
            self.assignments();
        }
        let bearer = CRED_WORDS.iter().position(|w| *w == "bearer").map_or(0, |k| 1u64 << k);
        let mut from = 0;
        while let Some(i) = (words & bearer != 0).then(|| find_ci(s, "bearer", from)).flatten() {
            from = i + 6;
            let word_start = i == 0 || !s.as_bytes()[i - 1].is_ascii_alphanumeric();
            let start = from + s[from..].len() - s[from..].trim_start_matches([' ', '\t']).len();
            if !word_start || start == from {
                continue;
            }
            let end = s[start..].find(is_delim).map_or(s.len(), |p| start + p);
            if looks_secret(&s[start..end]) {
                self.credential(start..end);
            }
        }
        let has_dollar = s.contains('$');
        let dollar = |next: u8| has_dollar && s.as_bytes().windows(2).any(|w| w[0] == b'$' && w[1] == next);
        if dollar(b'{') {
            self.shell_defaults();
        }
        if dollar(b'(') || s.contains('`') {
            self.commands();
        }
    }

    /// Each random-looking word of `r`.
    fn secret_words(&mut self, r: Range<usize>) {
        let s = self.s;
        let mut start = None;
        for (i, c) in s[r.clone()].char_indices().map(|(i, c)| (r.start + i, c)).chain([(r.end, ' ')]) {
            match (is_token_char(c) && i < r.end, start) {
                (true, None) => start = Some(i),
                (false, Some(st)) => {
                    if looks_secret(&s[st..i]) {
                        self.credential(st..i);
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }

    /// `scheme://user:password@host`, `user:password@host:port`, a
    /// password with `/` or `@` in it, a token as the user.
    fn userinfo(&mut self) {
        let s = self.s;
        let mut done = 0;
        for (i, _) in s.match_indices('@') {
            if i < done {
                continue;
            }
            let ts = s[..i].char_indices().rev().find(|(_, c)| is_delim(*c)).map_or(0, |(p, c)| p + c.len_utf8());
            let te = s[i..].find(is_delim).map_or(s.len(), |p| i + p);
            done = te;
            let tok = &s[ts..te];
            let (base, scheme) = match tok.find("://") {
                Some(p) => (p + 3, true),
                None => (0, false),
            };
            let rest = &tok[base..];
            let Some(at) = rest.rfind('@') else { continue };
            let host = &rest[at + 1..];
            if !host.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '[') {
                continue;
            }
            let ui = &rest[..at];
            let off = ts + base;
            let user_end = ui.find(':');
            let user = &ui[..user_end.unwrap_or(ui.len())];
            if user.contains(['/', '?', '#']) {
                continue;
            }
            if !scheme && (!BARE_HOST.is_match(host) || ui.contains('#')) {
                continue;
            }
            match user_end {
                Some(c) => {
                    if c + 1 < ui.len() {
                        self.credential(off + c + 1..off + at);
                    }
                    if looks_secret(user) {
                        self.credential(off..off + c);
                    }
                }
                None if scheme && looks_secret(user) => self.credential(off..off + at),
                None => {}
            }
        }
    }

    /// `api_key=…`, `"token": "…"`, `Authorization: Bearer …`, `?key=…`.
    fn assignments(&mut self) {
        let s = self.s;
        for m in ASSIGN.find_iter(s) {
            let name = s[m.range()].trim_end_matches([' ', '\t', ':', '=', '>', '"', '\'']);
            if s[..m.start()].ends_with("${") {
                // `${NAME:-…}`: a shell default, not an assignment.
                continue;
            }
            let query = s[..m.start()].ends_with(['?', '&', ';']);
            let strong = query || ends_with_ci(name, STRONG_WORDS);
            let mut i = m.end();
            let quote = s[i..].chars().next().filter(|c| matches!(c, '"' | '\'' | '`'));
            if let Some(q) = quote {
                i += q.len_utf8();
            }
            i += scheme_word(&s[i..]);
            let end = match quote {
                Some(q) => s[i..].find([q, '\n']).map_or(s.len(), |p| i + p),
                None => s[i..]
                    .find(|c: char| is_delim(c) || matches!(c, ',' | ';' | '&' | ')' | ']' | '}' | '#'))
                    .map_or(s.len(), |p| i + p),
            };
            let v = s[i..end].trim();
            if v.is_empty() || is_reference(v) {
                continue;
            }
            if (strong && v.chars().count() >= 4) || looks_secret(v) {
                self.credential(i..end);
            }
        }
    }

    /// `${NAME:-default}` and its kin: the default of a credential
    /// variable, or one that holds a random-looking word. One line.
    fn shell_defaults(&mut self) {
        let s = self.s;
        let b = s.as_bytes();
        let mut from = 0;
        while let Some(p) = s[from..].find("${").map(|p| from + p) {
            let name_start = p + 2;
            let name_len = b[name_start..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
            from = name_start;
            if name_len == 0 {
                continue;
            }
            let name = &s[name_start..name_start + name_len];
            let op = &s[name_start + name_len..];
            let op_len =
                [":-", ":=", ":?", ":+", "-", "=", "?", "+"].iter().find(|o| op.starts_with(*o)).map(|o| o.len());
            let Some(op_len) = op_len else { continue };
            let body_start = name_start + name_len + op_len;
            let mut depth = 0usize;
            let mut end = s.len();
            for (i, c) in s[body_start..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = body_start + i;
                        break;
                    }
                    '}' => depth -= 1,
                    '\n' => {
                        end = body_start + i;
                        break;
                    }
                    _ => {}
                }
            }
            let body = s[body_start..end].trim();
            if body.is_empty() || is_reference(body) {
                continue;
            }
            if ends_with_ci(name, CRED_WORDS) {
                self.credential(body_start..end);
            } else {
                self.secret_words(body_start..end);
            }
        }
    }

    /// Random-looking words in `$(…)` and backtick bodies.
    fn commands(&mut self) {
        let s = self.s;
        let mut from = 0;
        while let Some(p) = s[from..].find("$(").map(|p| from + p) {
            let start = p + 2;
            let mut depth = 0usize;
            let mut end = s.len();
            for (i, c) in s[start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = start + i;
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            self.secret_words(start..end);
            from = start;
        }
        let ticks: Vec<usize> = s.match_indices('`').map(|(i, _)| i).collect();
        for pair in ticks.chunks(2) {
            let end = pair.get(1).copied().unwrap_or(s.len());
            self.secret_words(pair[0] + 1..end);
        }
    }

    fn merged(&mut self) -> Vec<Range<usize>> {
        let mut v = std::mem::take(&mut self.found);
        v.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut out: Vec<Range<usize>> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                Some(last) if r.start < last.end => last.end = last.end.max(r.end),
                _ => out.push(r),
            }
        }
        out
    }

    fn apply(mut self) -> Cow<'a, str> {
        let merged = self.merged();
        for r in &merged {
            remember(&self.s[r.clone()]);
        }
        replace(self.s, &merged)
    }
}

thread_local! {
    /// While a record is serialized ([`to_writer`]): every value redacted
    /// in it so far.
    static FOUND: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
    /// While a record is serialized a second time: the values redacted
    /// somewhere in it, redacted everywhere in it.
    static KNOWN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether values redacted elsewhere in the record are looked for too.
fn knowing() -> bool {
    KNOWN.with(|k| !k.borrow().is_empty())
}

impl Spans<'_> {
    /// The values redacted elsewhere in the record, wherever they occur.
    fn known(&mut self) {
        let s = self.s;
        KNOWN.with(|k| {
            for secret in k.borrow().iter() {
                for (i, _) in s.match_indices(secret.as_str()) {
                    self.shape(i..i + secret.len());
                }
            }
        });
    }
}

fn remember(secret: &str) {
    FOUND.with(|f| {
        if let Some(v) = f.borrow_mut().as_mut() {
            v.push(secret.to_string());
        }
    });
}

fn replace<'a>(s: &'a str, spans: &[Range<usize>]) -> Cow<'a, str> {
    if spans.is_empty() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + spans.len() * 32);
    let mut at = 0;
    for r in spans {
        out.push_str(&s[at..r.start]);
        out.push_str(&marker(&s[r.clone()]));
        at = r.end;
    }
    out.push_str(&s[at..]);
    Cow::Owned(out)
}

/// A string of a record, by where it sits.
fn string(pos: Pos, s: &str) -> Cow<'_, str> {
    let knowing = knowing();
    if !knowing && pos != (Pos::Credential { strong: true }) && cannot_hold_secret(s) {
        return Cow::Borrowed(s);
    }
    let mut sp = Spans::new(s);
    sp.rules();
    if knowing {
        sp.known();
    }
    match pos {
        Pos::Plain => {}
        Pos::Credential { strong } => {
            let t = s.trim();
            let lead = s.len() - s.trim_start().len();
            let skip = scheme_word(t);
            let v = &t[skip..];
            if !v.is_empty() && !is_reference(v) && ((strong && v.chars().count() >= 4) || looks_secret(v)) {
                sp.credential(lead + skip..lead + t.len());
            }
            sp.secret_words(0..s.len());
        }
        Pos::CredentialText => sp.secret_words(0..s.len()),
    }
    sp.apply()
}

/// A member name: the text rules, and a name that is itself random-looking
/// (a key echoed as a name) as a whole.
fn member_name(name: &str) -> Cow<'_, str> {
    let knowing = knowing();
    if !knowing && cannot_hold_secret(name) {
        return Cow::Borrowed(name);
    }
    if looks_secret(name) {
        remember(name);
        return Cow::Owned(marker(name));
    }
    if knowing {
        let mut sp = Spans::new(name);
        sp.rules();
        sp.known();
        return sp.apply();
    }
    text(name)
}

/// A JSON value with every string and member name redacted, as records are
/// (for a value kept in memory, such as a body about to be cut).
pub fn value(v: &mut serde_json::Value) {
    walk(v, Pos::Plain);
}

fn walk(v: &mut serde_json::Value, pos: Pos) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(o) = string(pos, s) {
                *s = o;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, pos)),
        Value::Object(m) => {
            if m.keys().any(|k| matches!(member_name(k), Cow::Owned(_))) {
                let old = std::mem::take(m);
                for (k, mut x) in old {
                    walk(&mut x, Pos::of(&k));
                    m.insert(member_name(&k).into_owned(), x);
                }
            } else {
                for (k, x) in m.iter_mut() {
                    walk(x, Pos::of(k));
                }
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------ the record boundary

/// Serialize `value` as one compact JSON text at the end of `buf`, through
/// the redaction boundary: every string value and member name redacted by
/// where it sits; then what was redacted anywhere in the value redacted
/// everywhere in it (a placeholder's text quoted in a diagnosis); and the
/// characters of [`is_terminal_unsafe`] that JSON allows raw (DEL, C1
/// controls, bidi and zero-width characters) written as `\u` escapes, so
/// that a record on a terminal is as safe as a report.
pub fn to_writer<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    let start = buf.len();
    let outer = FOUND.with(|f| f.borrow_mut().replace(Vec::new()));
    let done = {
        let mut ser = serde_json::Serializer::with_formatter(&mut *buf, SafeJson);
        value.serialize(Redacting { inner: &mut ser, pos: Pos::Plain })
    };
    let mut found = FOUND.with(|f| std::mem::replace(&mut *f.borrow_mut(), outer)).unwrap_or_default();
    done?;
    // What was redacted somewhere is redacted everywhere: a second pass
    // that knows those values (only for a record that held a secret). A
    // value its own marker holds (a short one with its prefix) is left to
    // the rules.
    found.retain(|s| s.len() >= 8 && !marker(s).contains(s.as_str()));
    if found.is_empty() {
        return Ok(());
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    buf.truncate(start);
    let outer_known = KNOWN.with(|k| std::mem::replace(&mut *k.borrow_mut(), found));
    let done = {
        let mut ser = serde_json::Serializer::with_formatter(&mut *buf, SafeJson);
        value.serialize(Redacting { inner: &mut ser, pos: Pos::Plain })
    };
    KNOWN.with(|k| *k.borrow_mut() = outer_known);
    done
}

/// A record as the boundary writes it, for words made of records kept in
/// memory (a report, `keyhole doctor`): redacted as [`to_writer`] does.
/// A record that no longer fits the contract once redacted is kept as an
/// untyped record (left out of words); one that cannot be written becomes
/// an `error` record.
pub fn record(r: &crate::record::Record) -> crate::record::Record {
    use crate::record::{ErrorRecord, Record};
    let mut buf = Vec::new();
    let v = to_writer(&mut buf, r).ok().and_then(|()| serde_json::from_slice::<serde_json::Value>(&buf).ok());
    match v {
        Some(serde_json::Value::Object(m)) => {
            Record::from_value(serde_json::Value::Object(m.clone())).unwrap_or(Record::Unknown(m))
        }
        _ => Record::Error(ErrorRecord::new("keyhole", "a record could not be written")),
    }
}

/// The compact JSON format with the escapes of [`to_writer`].
struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(&mut self, w: &mut W, fragment: &str) -> std::io::Result<()> {
        let b = fragment.as_bytes();
        // Printable ASCII needs no look (the common case, byte by byte).
        if b.iter().all(|&c| c < 0x7f) {
            return w.write_all(b);
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if (c as u32) >= 0x7f && is_terminal_unsafe(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// A serializer that redacts every string and member name on its way to
/// `inner`.
struct Redacting<S> {
    inner: S,
    pos: Pos,
}

/// A value to serialize through [`Redacting`], at a position.
struct At<'a, T: ?Sized>(&'a T, Pos);

impl<T: ?Sized + Serialize> Serialize for At<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Redacting { inner: s, pos: self.1 })
    }
}

impl<S: Serializer> Serializer for Redacting<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Each<S::SerializeSeq>;
    type SerializeTuple = Each<S::SerializeTuple>;
    type SerializeTupleStruct = Each<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Each<S::SerializeTupleVariant>;
    type SerializeMap = Members<S::SerializeMap>;
    type SerializeStruct = Each<S::SerializeStruct>;
    type SerializeStructVariant = Each<S::SerializeStructVariant>;

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.inner.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.inner.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.inner.serialize_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.inner.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.inner.serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.inner.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_str(&string(self.pos, v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.inner.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(&At(v, self.pos))
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(self, name: &'static str, i: u32, variant: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, i, variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, v: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(name, &At(v, self.pos))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        i: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_variant(name, i, variant, &At(v, self.pos))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(Each { inner: self.inner.serialize_seq(len)?, pos: self.pos })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Ok(Each { inner: self.inner.serialize_tuple(len)?, pos: self.pos })
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeTupleStruct, S::Error> {
        Ok(Each { inner: self.inner.serialize_tuple_struct(name, len)?, pos: self.pos })
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        i: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Ok(Each { inner: self.inner.serialize_tuple_variant(name, i, variant, len)?, pos: self.pos })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(Members { inner: self.inner.serialize_map(len)?, next: Pos::Plain })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        Ok(Each { inner: self.inner.serialize_struct(name, len)?, pos: Pos::Plain })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        i: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Ok(Each { inner: self.inner.serialize_struct_variant(name, i, variant, len)?, pos: Pos::Plain })
    }
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The elements of a sequence (at the sequence's position) or the fields
/// of a struct (each at its name's).
struct Each<C> {
    inner: C,
    pos: Pos,
}

/// The sequence-like serializers pass each element on at the same position.
macro_rules! each_element {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<C: ser::$trait> ser::$trait for Each<C> {
            type Ok = C::Ok;
            type Error = C::Error;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), C::Error> {
                self.inner.$method(&At(v, self.pos))
            }
            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    )*};
}

each_element!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<C: ser::SerializeStruct> ser::SerializeStruct for Each<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<(), C::Error> {
        self.inner.serialize_field(key, &At(v, Pos::of(key)))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeStructVariant> ser::SerializeStructVariant for Each<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<(), C::Error> {
        self.inner.serialize_field(key, &At(v, Pos::of(key)))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// The members of a map (flattened structs are maps too): each name
/// redacted, each value at its name's position.
struct Members<C> {
    inner: C,
    next: Pos,
}

impl<C: ser::SerializeMap> ser::SerializeMap for Members<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), C::Error> {
        match serde_json::to_value(key) {
            Ok(serde_json::Value::String(k)) => {
                self.next = Pos::of(&k);
                self.inner.serialize_key(member_name(&k).as_ref())
            }
            _ => {
                self.next = Pos::Plain;
                self.inner.serialize_key(key)
            }
        }
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), C::Error> {
        let pos = std::mem::replace(&mut self.next, Pos::Plain);
        self.inner.serialize_value(&At(v, pos))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tag: &str) -> String {
        format!("sk-or-v1-{}{tag}", "c".repeat(60))
    }
    const PLAIN: &str = "Zq8WmP3xK7vR2nT5yB9cL4hJ";

    fn r(s: &str) -> String {
        text(s).into_owned()
    }

    #[test]
    fn the_marker_compares_with_a_fingerprint() {
        let k = key("9c23");
        let m = marker(&k);
        let fp = crate::secret::Fingerprint::of(k.as_bytes(), None);
        assert_eq!(m, format!("sk-or-v1-…9c23 (redacted, sha8 {})", fp.sha8));
        assert_eq!(
            marker("hunter2"),
            format!("… (redacted, sha8 {})", crate::secret::Fingerprint::of(b"hunter2", None).sha8)
        );
        assert!(marker(&format!("pplx-{PLAIN}")).starts_with("pplx-…"));
        // A marker is left as it is.
        for s in [
            m.clone(),
            format!("key={m}"),
            format!("?api-key={m}"),
            format!("${{OPENAI_API_KEY:-{m}}}"),
            format!("http://me:{}@proxy.example:3128", marker("pw")),
        ] {
            assert_eq!(r(&s), s);
        }
    }

    #[test]
    fn shapes_anywhere() {
        let k = key("AAAA");
        for s in [
            k.clone(),
            format!("model: {k}"),
            format!("${{{{ secrets.{k} }}}}"),
            format!("x{k}y"),
            format!("https://openrouter.ai/api/v1/{k}"),
            format!("pplx-{PLAIN}"),
            "0c1c2c3c4c5c6c7c8c9cacbcccdcec0f".to_string(),
        ] {
            let out = r(&s);
            assert!(
                !out.contains("cccccccccccc") && !out.contains("K7vR2nT5") && !out.contains("4c5c6c7c8c"),
                "{s} → {out}"
            );
            assert!(out.contains("(redacted, sha8 "), "{out}");
        }
    }

    #[test]
    fn credential_positions() {
        for s in [
            format!("api_key={PLAIN}"),
            format!("OPENROUTER_API_KEY=\"{PLAIN}\""),
            format!(r#"{{"token": "{PLAIN}"}}"#),
            format!("Authorization: Bearer {PLAIN}"),
            format!("curl -H 'x-api-key: {PLAIN}'"),
            format!("https://h.example/v1?api-key={PLAIN}&x=1"),
            "https://h.example/v1?x=1&key=short1".to_string(),
            "password: hunter22".to_string(),
            format!("Bearer {PLAIN}"),
            format!("${{OPENROUTER_API_KEY:-{PLAIN}}}"),
            "${OPENROUTER_API_KEY-hunter22}".to_string(),
            format!("${{X:={PLAIN}}}"),
            format!("$(echo {PLAIN})"),
            format!("`printf %s {PLAIN}`"),
        ] {
            let out = r(&s);
            assert!(!out.contains("K7vR2nT5") && !out.contains("hunter22") && !out.contains("short1"), "{s} → {out}");
        }
        // Names, references, words and paths stay.
        for s in [
            "apiKey: ${{ secrets.OPENROUTER_API_KEY }}",
            "env_key = \"OPENROUTER_API_KEY\"",
            "key: literal key sk-or-v1-…9c23 (73 bytes) flaws: quoted",
            "api_key: os.environ/OPENROUTER_API_KEY",
            "${OPENAI_BASE_URL:-https://api.openai.com/v1}",
            "${OPENROUTER_API_KEY}",
            "model: anthropic/claude-sonnet-4.5 mistralai/Mixtral-8x7B-Instruct-v0.1 gpt-4o-2024-08-06",
            "an empty Bearer is not a key; Bearer not-provided",
            "auth header: authorization (bearer)",
            "$(security find-generic-password -w -s openrouter)",
            "/tmp/keyhole-test-x-1796037672120521535/.continue/config.yaml",
            "dotenv:/h/.env#OPENROUTER_API_KEY@12",
            "git@github.com:owner/repo.git user@example.com",
            "max_tokens: 1024",
        ] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn userinfo_in_every_syntax() {
        for (s, gone) in [
            ("http://me:s3cr3t-pw@proxy.example:3128", "s3cr3t"),
            ("me:s3cr3t-pw@proxy.example:3128", "s3cr3t"),
            ("HTTPS_PROXY=me:s3cr3t-pw@10.0.0.1:3128", "s3cr3t"),
            ("http://me:pa/ss@w0rd@proxy.example:3128/", "ss@w0rd"),
            ("socks5h://u:p@ss@127.0.0.1:1080", "p@ss"),
            (&format!("https://{PLAIN}@github.com/x"), "K7vR2nT5"),
        ] {
            let out = r(s);
            assert!(!out.contains(gone), "{s} → {out}");
            assert!(out.contains("(redacted, sha8 "), "{s} → {out}");
        }
        assert_eq!(
            r("http://me:s3cr3t@proxy.example:3128/"),
            format!("http://me:{}@proxy.example:3128/", marker("s3cr3t"))
        );
    }

    #[test]
    fn positions_in_records() {
        let mut v: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"keys":{{"{PLAIN}":{{"valid":false}}}},"api_key":"{PLAIN}","auth":{{"header":"authorization","placeholder":"{PLAIN}${{{{ secrets.X }}}}"}},"text":"${{env:X}}","n":1}}"#
        ))
        .unwrap();
        value(&mut v);
        let out = v.to_string();
        assert!(!out.contains("K7vR2nT5"), "{out}");
        assert_eq!(v["auth"]["header"], "authorization");
        assert_eq!(v["text"], "${env:X}");
        let mut buf = Vec::new();
        let back: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"type":"mine","{PLAIN}":1,"cmd":"echo {PLAIN}","bidi":"a\u202eb\u0085"}}"#
        ))
        .unwrap();
        to_writer(&mut buf, &back).unwrap();
        let line = String::from_utf8(buf).unwrap();
        assert!(!line.contains("K7vR2nT5") && !line.contains('\u{202e}') && !line.contains('\u{85}'), "{line}");
        assert!(line.contains(r"a\u202eb\u0085"), "{line}");
        let again: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(again["bidi"], "a\u{202e}b\u{85}", "escapes keep the value");
    }

    #[test]
    fn records_without_secrets_are_written_as_they_are_and_twice_is_once() {
        let line = r#"{"type":"site","v":1,"id":"t:/h/c#/0","host":"h","tool":"t","source":{"file":"/h/c","line":3},"provider":"anthropic","model":"claude-sonnet-4-5","base_url":"https://api.anthropic.com/v1","base_url_from":"default","auth":{"header":"x-api-key","scheme":"raw"},"key":{"from":"literal","fp":{"prefix":"sk-ant-api03-","last4":"ANT1","len":108,"sha8":"0011aabb","flaws":[]}},"diagnoses":[{"code":"unknown","severity":"warning","summary":"the key sk-ant-api03-…ANT1 (108 bytes)","evidence":["/h/c:3 apiKey: ${{ secrets.ANTHROPIC_API_KEY }}"],"fix":[]}]}"#;
        let r = crate::record::Record::from_json(line).unwrap();
        let mut buf = Vec::new();
        to_writer(&mut buf, &r).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), line);
        let leaky = line.replace("claude-sonnet-4-5", &key("MOD1"));
        let once = record(&crate::record::Record::from_json(&leaky).unwrap());
        assert_eq!(record(&once), once);
        assert!(!serde_json::to_string(&once).unwrap().contains("cccccccccccc"));
    }

    #[test]
    fn what_is_redacted_somewhere_goes_everywhere_and_the_json_stays_json() {
        // Found by the fuzzer: a value redacted in one member, quoted after
        // a backslash in another, once broke the JSON escape around it.
        let secret = format!("\u{7}{PLAIN}");
        let v = serde_json::json!({"password": secret, "note": format!("a\\{secret} b")});
        let mut buf = Vec::new();
        to_writer(&mut buf, &v).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&buf).expect("JSON");
        assert!(!back.to_string().contains("K7vR2nT5"), "{back}");
    }

    #[test]
    fn a_cut_after_redaction_keeps_its_place() {
        let s = format!("aaaa {} bbbb ERROR 401 cccc", key("AAAA"));
        let at = s.find("ERROR").unwrap();
        let (red, at2) = text_at(&s, at);
        assert!(red[at2..].starts_with("ERROR"), "{red} {at2}");
        let (red, at3) = text_at(&s, 8);
        assert!(red[at3..].starts_with("sk-or-v1-…AAAA"), "{red} {at3}");
    }

    #[test]
    fn known_values_go_whatever_their_shape() {
        assert_eq!(text_knowing("got abcdefgh1", &["abcdefgh1"]), format!("got {}", marker("abcdefgh1")));
    }

    #[test]
    fn terminal_escapes() {
        assert_eq!(terminal("a\x1b[2Jb\u{202e}c\u{200b}\td\n"), "a\\u{1b}[2Jb\\u{202e}c\\u{200b}\td\\n");
        assert_eq!(terminal("plain"), "plain");
        assert_eq!(words("\x1b[1mok\x1b[0m \x1b]0;t\x07\n", true), "\x1b[1mok\x1b[0m \\u{1b}]0;t\\u{7}\n");
        assert_eq!(words("\x1b[1mok\n", false), "\\u{1b}[1mok\n");
    }

    #[test]
    fn secrets_look_random_and_names_do_not() {
        for s in [PLAIN, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "550e8400-e29b-41d4-a716-446655440000aaaa"] {
            assert!(looks_secret(s), "{s}");
        }
        for s in [
            "OPENROUTER_API_KEY",
            "secrets.OPENROUTER_API_KEY",
            "claude-3-5-sonnet-20241022",
            "findGenericPassword",
            "not-provided",
            "aaaaaaaaaaaaaaaaaaaa",
            "/usr/local/bin/thing",
        ] {
            assert!(!looks_secret(s), "{s}");
        }
    }
}
