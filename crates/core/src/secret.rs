//! Secrets and their fingerprints (docs/records.md#fingerprints).
//!
//! A [`Secret`] can be sent, compared and fingerprinted, but never printed or
//! serialized: it has no `Display`, no `Serialize`, and its `Debug` is redacted.
//! The [`Fingerprint`] is the only form in which a key ever leaves a process.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::provider::{self, Provider};

/// A credential value exactly as found (bytes, flaws included).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    /// The raw bytes, for the one place that needs them: the HTTP request.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Fingerprint against the provider the key will be sent to (for
    /// `wrong_length` and `foreign_prefix`); `None` skips those two flaws.
    pub fn fingerprint(&self, expected: Option<&Provider>) -> Fingerprint {
        Fingerprint::of(&self.0, expected)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(redacted, {} bytes)", self.0.len())
    }
}

/// What is wrong with a value itself, independent of where it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flaw {
    LeadingWhitespace,
    TrailingWhitespace,
    TrailingNewline,
    InnerWhitespace,
    Quoted,
    Bom,
    NonAscii,
    ControlChar,
    BearerPrefix,
    Empty,
    WrongLength,
    ForeignPrefix,
}

impl Flaw {
    pub fn as_str(self) -> &'static str {
        match self {
            Flaw::LeadingWhitespace => "leading_whitespace",
            Flaw::TrailingWhitespace => "trailing_whitespace",
            Flaw::TrailingNewline => "trailing_newline",
            Flaw::InnerWhitespace => "inner_whitespace",
            Flaw::Quoted => "quoted",
            Flaw::Bom => "bom",
            Flaw::NonAscii => "non_ascii",
            Flaw::ControlChar => "control_char",
            Flaw::BearerPrefix => "bearer_prefix",
            Flaw::Empty => "empty",
            Flaw::WrongLength => "wrong_length",
            Flaw::ForeignPrefix => "foreign_prefix",
        }
    }
}

/// docs/records.md#fingerprints: `{"prefix","last4","len","sha8","flaws"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fingerprint {
    pub prefix: String,
    pub last4: String,
    pub len: usize,
    pub sha8: String,
    pub flaws: Vec<Flaw>,
}

const QUOTE_PAIRS: &[(char, char)] = &[('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’'), ('`', '`')];

/// The value with what a person would not count as "the key" removed:
/// BOM, surrounding whitespace, one level of quotes, a `Bearer ` prefix.
/// Used only to recognise the prefix and the length; never written out.
fn core_of(s: &str) -> &str {
    let mut c = s.trim_start_matches('\u{feff}').trim();
    for (open, close) in QUOTE_PAIRS {
        if c.len() >= 2 && c.starts_with(*open) && c.ends_with(*close) {
            c = c[open.len_utf8()..c.len() - close.len_utf8()].trim();
            break;
        }
    }
    // Byte-wise: a multi-byte character near the start must not split a slice.
    if c.len() > 7 && c.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
        c = c[7..].trim_start();
    }
    c
}

impl Fingerprint {
    pub fn of(bytes: &[u8], expected: Option<&Provider>) -> Fingerprint {
        let digest = Sha256::digest(bytes);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let sha8: String = digest[..4]
            .iter()
            .flat_map(|b| [HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char])
            .collect();
        let text = String::from_utf8_lossy(bytes);
        // The last four characters (not bytes), of a value long enough that they do not give it away.
        let last4 = match text.char_indices().rev().nth(3) {
            Some((at, _)) if bytes.len() >= 20 => text[at..].to_string(),
            _ => String::new(),
        };
        let core = core_of(&text);
        let known = provider::known_prefix(core);
        let mut flaws = Vec::new();
        if bytes.is_empty() {
            flaws.push(Flaw::Empty);
        }
        let after_bom = text.strip_prefix('\u{feff}');
        if after_bom.is_some() {
            flaws.push(Flaw::Bom);
        }
        let body = after_bom.unwrap_or(&text);
        if body.starts_with(|c: char| c.is_whitespace()) {
            flaws.push(Flaw::LeadingWhitespace);
        }
        let without_eol = body.trim_end_matches(['\n', '\r']);
        if without_eol.len() != body.len() {
            flaws.push(Flaw::TrailingNewline);
        }
        if without_eol.ends_with(|c: char| c.is_whitespace()) {
            flaws.push(Flaw::TrailingWhitespace);
        }
        let trimmed = body.trim();
        if core.chars().any(char::is_whitespace) {
            flaws.push(Flaw::InnerWhitespace);
        }
        if QUOTE_PAIRS
            .iter()
            .any(|(o, c)| trimmed.chars().count() >= 2 && trimmed.starts_with(*o) && trimmed.ends_with(*c))
        {
            flaws.push(Flaw::Quoted);
        }
        if !body.is_ascii() || std::str::from_utf8(bytes).is_err() {
            flaws.push(Flaw::NonAscii);
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\t') {
            flaws.push(Flaw::ControlChar);
        }
        let unquoted = trimmed.trim_matches(|c| matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’'));
        if unquoted.len() > 7 && unquoted.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
            flaws.push(Flaw::BearerPrefix);
        }
        if let Some(p) = expected {
            if let Some((owner, pre)) = known {
                if !p.key_prefixes.is_empty() && !p.key_prefixes.contains(&pre) && owner != p.name {
                    flaws.push(Flaw::ForeignPrefix);
                }
            }
            if let Some(len) = p.key_len {
                let own = known.is_some_and(|(owner, _)| owner == p.name);
                if own && core.len() != len {
                    flaws.push(Flaw::WrongLength);
                }
            }
        }
        flaws.sort();
        flaws.dedup();
        Fingerprint {
            prefix: known.map(|(_, p)| p.to_string()).unwrap_or_default(),
            last4,
            len: bytes.len(),
            sha8,
            flaws,
        }
    }

    /// `sk-or-v1-…9c23 (73 bytes)`: the form a person reads.
    pub fn short(&self) -> String {
        let mut s = String::new();
        s.push_str(if self.prefix.is_empty() { "" } else { &self.prefix });
        s.push('…');
        s.push_str(&self.last4.escape_debug().to_string());
        s.push_str(&format!(" ({} bytes, sha8 {})", self.len, self.sha8));
        s
    }
}

/// Replace every secret in text a server or a log wrote with its marker:
/// the one redactor, [`crate::redact::text`] (every provider's
/// `key_pattern` and the credential positions; a fingerprint's
/// `sk-or-v1-…9c23` is too short to match).
pub fn redact_key_shapes(text: &str) -> std::borrow::Cow<'_, str> {
    crate::redact::text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn or() -> &'static Provider {
        provider::get("openrouter").unwrap()
    }

    #[test]
    fn fingerprint_of_a_clean_openrouter_key() {
        let key = format!("sk-or-v1-{}", "c".repeat(64));
        let fp = Secret::new(key.as_bytes()).fingerprint(Some(or()));
        assert_eq!(fp.prefix, "sk-or-v1-");
        assert_eq!(fp.last4, "cccc");
        assert_eq!(fp.len, 73);
        assert_eq!(fp.sha8.len(), 8);
        assert!(fp.flaws.is_empty(), "{:?}", fp.flaws);
    }

    #[test]
    fn sha8_is_the_first_four_bytes_of_sha256_and_last4_counts_characters() {
        // SHA-256("abc") = ba7816bf 8f01cfea …
        assert_eq!(Fingerprint::of(b"abc", None).sha8, "ba7816bf");
        assert_eq!(Fingerprint::of(b"abc", None).last4, "", "a short value keeps its last characters");
        let fp = Fingerprint::of("sk-or-v1-cccccccccccccé✓ab".as_bytes(), None);
        assert_eq!(fp.last4, "é✓ab");
        let fp = Fingerprint::of(format!("sk-or-v1-{}N01\n", "c".repeat(61)).as_bytes(), None);
        assert_eq!(fp.last4, "N01\n");
    }

    #[test]
    fn flaws_are_detected() {
        let key = format!("\"sk-or-v1-{}\"\n", "c".repeat(64));
        let fp = Fingerprint::of(key.as_bytes(), Some(or()));
        assert_eq!(fp.flaws, vec![Flaw::TrailingNewline, Flaw::Quoted]);
        let fp = Fingerprint::of(b"Bearer sk-or-v1-abc", Some(or()));
        assert!(fp.flaws.contains(&Flaw::BearerPrefix));
        assert!(fp.flaws.contains(&Flaw::WrongLength));
        assert!(fp.flaws.contains(&Flaw::InnerWhitespace) || fp.flaws.contains(&Flaw::BearerPrefix));
        let fp = Fingerprint::of(b"sk-ant-api03-xxxxxxxxxxxxxxxxxxxx", Some(or()));
        assert_eq!(fp.prefix, "sk-ant-api03-");
        assert!(fp.flaws.contains(&Flaw::ForeignPrefix));
        let fp = Fingerprint::of(b"", Some(or()));
        assert_eq!(fp.flaws, vec![Flaw::Empty]);
        assert_eq!(fp.last4, "");
        let fp = Fingerprint::of("\u{feff}abc def".as_bytes(), None);
        assert!(fp.flaws.contains(&Flaw::Bom) && fp.flaws.contains(&Flaw::InnerWhitespace));
    }

    #[test]
    fn sha8_is_sha256_prefix() {
        // sha256("abc") = ba7816bf...
        assert_eq!(Fingerprint::of(b"abc", None).sha8, "ba7816bf");
    }

    #[test]
    fn multibyte_near_the_start_does_not_panic() {
        // Found by the fuzzer: slicing at byte 7 inside a character.
        let _ = Fingerprint::of("AI\u{feff}c\u{1}xxxxxxxxxxxxxxxxxxxx".as_bytes(), None);
        let _ = Fingerprint::of("béarer xxxxxxxxxxxxxxxxxxxxxxxxxxxx".as_bytes(), None);
        let _ = Fingerprint::of("\"éééé\"".as_bytes(), None);
    }

    #[test]
    fn key_shapes_are_redacted_and_fingerprints_are_not() {
        let r = |t: &str| redact_key_shapes(t).into_owned();
        let m = crate::redact::marker;
        // `.` belongs to a masked key's characters: a sentence's full stop goes with it.
        assert_eq!(
            r("Incorrect API key provided: sk-proj-****abcd. See"),
            format!("Incorrect API key provided: {} See", m("sk-proj-****abcd."))
        );
        let gemini = format!("AIza{}", "x".repeat(16));
        assert_eq!(r(&format!("k={gemini}")), format!("k={}", m(&gemini)));
        let (groq, xai) = (format!("gsk_{}", "a".repeat(16)), format!("xai-{}", "b".repeat(16)));
        assert_eq!(r(&format!("{groq} {xai}")), format!("{} {}", m(&groq), m(&xai)));
        assert_eq!(r("sk-or-v1-…9c23 (73 bytes, sha8 0011aabb)"), "sk-or-v1-…9c23 (73 bytes, sha8 0011aabb)");
        assert_eq!(r("sk-123456789 AIza123"), "sk-123456789 AIza123", "too short to be a key");
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("sk-or-v1-canary");
        assert!(!format!("{s:?}").contains("canary"));
    }
}
