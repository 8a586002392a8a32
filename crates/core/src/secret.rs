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
    /// `wrong_length`, `foreign_prefix` and a lost or damaged prefix);
    /// `None` skips those.
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
    PrefixMissing,
    PrefixDoubled,
    PrefixMangled,
    VariableName,
    Url,
    Template,
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
            Flaw::PrefixMissing => "prefix_missing",
            Flaw::PrefixDoubled => "prefix_doubled",
            Flaw::PrefixMangled => "prefix_mangled",
            Flaw::VariableName => "variable_name",
            Flaw::Url => "url",
            Flaw::Template => "template",
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
    /// The value itself, only where it is recognisably no secret: a
    /// variable's name or template text (`variable_name`, `template`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
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

/// Words a variable holding a key ends with (`OPENROUTER_API_KEY`, `HF_TOKEN`).
const KEY_WORDS: &[&str] = &["KEY", "APIKEY", "TOKEN", "SECRET", "PAT", "PASSWORD"];

fn is_ident(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_upper_ident(s: &str) -> bool {
    is_ident(s) && !s.bytes().any(|b| b.is_ascii_lowercase())
}

/// The variable a value names: a key variable's bare name
/// (`OPENROUTER_API_KEY`), or a reference written out and sent as text
/// (`${NAME}`, `$NAME`, `%NAME%`, `{env:NAME}`, `${env:NAME}`,
/// `os.environ/NAME`).
fn names_a_variable(core: &str) -> bool {
    if core.len() > 100 {
        return false;
    }
    let wrapped = [("${env:", "}"), ("{env:", "}"), ("${", "}"), ("$env:", ""), ("os.environ/", "")]
        .iter()
        .find_map(|(open, close)| core.strip_prefix(open).and_then(|r| r.strip_suffix(close)));
    if let Some(inner) = wrapped {
        return is_ident(inner);
    }
    let upper = core
        .strip_prefix('$')
        .or_else(|| core.strip_prefix('%').and_then(|r| r.strip_suffix('%')).filter(|r| !r.is_empty()));
    if let Some(inner) = upper {
        return is_upper_ident(inner) && inner.len() > 1;
    }
    is_upper_ident(core)
        && core.contains('_')
        && (provider::by_key_var(core).is_some() || core.rsplit('_').next().is_some_and(|w| KEY_WORDS.contains(&w)))
}

/// Characters that fill a template where the key would go (`sk-...`, `xxxx`).
fn is_filler(c: char) -> bool {
    matches!(c, 'x' | 'X' | '*' | '.' | '…' | '#' | '?' | '-' | '_')
}

/// Words of a template (`your-api-key-here`, `<YOUR_KEY>`, `REPLACE_ME`)
/// and a known prefix followed by filler only (`sk-...`, `sk-or-v1-xxxx`).
fn is_template(core: &str, prefix: Option<&str>) -> bool {
    let rest = prefix.map_or(core, |p| &core[p.len()..]);
    let filler = rest.chars().all(is_filler) && rest.chars().any(|c| c != '-' && c != '_');
    if filler && (prefix.is_some() || rest.chars().count() >= 3) {
        return true;
    }
    if rest.len() < 3 || rest.len() > 60 {
        return false;
    }
    // A word template has no digits: a real key of this length always has some.
    if !rest.bytes().all(|b| b.is_ascii_alphabetic() || b"-_ .[]{}<>".contains(&b)) {
        return false;
    }
    if rest.starts_with('<') && rest.ends_with('>') {
        return true;
    }
    let n: String = rest
        .chars()
        .filter(|c| !"[]{}".contains(*c))
        .map(|c| if matches!(c, '_' | ' ' | '.') { '-' } else { c.to_ascii_lowercase() })
        .collect();
    let about_key = ["key", "token", "secret"].iter().any(|w| n.contains(w));
    let telling = ["your", "here", "insert", "paste", "enter", "replace", "put-"].iter().any(|w| n.contains(w));
    (about_key && telling)
        || ["changeme", "change-me", "replaceme", "replace-me", "todo", "fixme", "tbd", "placeholder"]
            .contains(&n.as_str())
}

/// What a value is when it is no key at all, whatever API it goes to, and
/// the text that may be shown for it (never when it carries a key prefix).
fn value_kind(core: &str, prefix: Option<&str>) -> Option<(Flaw, Option<String>)> {
    let starts = |w: &str| core.as_bytes().get(..w.len()).is_some_and(|b| b.eq_ignore_ascii_case(w.as_bytes()));
    if starts("http://") || starts("https://") {
        return Some((Flaw::Url, None));
    }
    // Before a variable's name: `YOUR_OPENROUTER_KEY` is a template.
    if is_template(core, prefix) {
        return Some((Flaw::Template, prefix.is_none().then(|| core.to_string())));
    }
    if names_a_variable(core) {
        return Some((Flaw::VariableName, Some(core.to_string())));
    }
    None
}

/// A known prefix written twice: `sk-or-v1-sk-or-v1-…`, or the bare `sk-`
/// in front of a more specific one (`sk-sk-ant-…`, `sk-sk-proj-…`).
fn doubled(core: &str, first: Option<&str>) -> bool {
    let Some(first) = first else { return false };
    let Some((_, second)) = provider::known_prefix(&core[first.len()..]) else { return false };
    second == first || (second.len() > first.len() && second.starts_with(first))
}

/// The expected provider's key body behind something other than its
/// prefix: nothing or the prefix's tail (`v1-…`, the bare hex) is a lost
/// prefix; a short head that starts like the prefix (`sk-or-`, `sk-0r-v1-`),
/// or one that ends with it, a damaged one.
fn prefix_flaw(core: &str, p: &Provider) -> Option<Flaw> {
    let body = p.key_body?;
    let canon = *p.key_prefixes.first()?;
    if p.key_prefixes.iter().any(|pre| core.starts_with(pre)) || core.len() > canon.len() + 3 + body.max_len() {
        return None;
    }
    for &len in body.lens {
        let Some(at) = core.len().checked_sub(len) else { continue };
        let (Some(head), Some(tail)) = (core.get(..at), core.get(at..)) else { continue };
        if !body.fits(tail) {
            continue;
        }
        if canon.ends_with(head) {
            return Some(Flaw::PrefixMissing);
        }
        let alike = head.len() <= canon.len() + 3
            && head.bytes().all(|b| b.is_ascii_graphic())
            && head.as_bytes()[0].eq_ignore_ascii_case(&canon.as_bytes()[0]);
        if alike || head.ends_with(canon) {
            return Some(Flaw::PrefixMangled);
        }
    }
    None
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
        // What the value is, when it is no key at all. An endpoint that takes
        // any token (a local server) is sent template text on purpose.
        let any_token = expected.is_some_and(|p| p.key_prefixes.is_empty() && p.key_body.is_none());
        let mut text = None;
        let kind = value_kind(core, known.map(|(_, p)| p));
        let is_value = kind.is_some();
        match kind {
            Some((f, _)) if any_token && f != Flaw::Url => {}
            Some((f, t)) => {
                flaws.push(f);
                // Never a key's shape, whatever the checks above let through.
                text = t.filter(|t| !provider::KEY_SHAPES.is_match(t));
            }
            None => {}
        }
        if !is_value {
            let prefix_flaw = if doubled(core, known.map(|(_, p)| p)) {
                Some(Flaw::PrefixDoubled)
            } else {
                expected.and_then(|p| prefix_flaw(core, p))
            };
            flaws.extend(prefix_flaw);
            if let (Some(p), Some((owner, pre)), None) = (expected, known, prefix_flaw) {
                // Another provider's prefix, to an API whose keys look otherwise.
                let own_shape = !p.key_prefixes.is_empty() || p.key_body.is_some_and(|b| !b.fits(core));
                if own_shape && !p.key_prefixes.contains(&pre) && owner != p.name {
                    flaws.push(Flaw::ForeignPrefix);
                }
            }
            if let Some((p, len)) = expected.and_then(|p| p.key_len.map(|l| (p, l))) {
                let own = known.is_some_and(|(owner, _)| owner == p.name);
                if own && core.len() != len && prefix_flaw != Some(Flaw::PrefixDoubled) {
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
            text,
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
        let fp = Fingerprint::of(b"sk-ant-api03-ccccccccccccccccTST2", Some(or()));
        assert_eq!(fp.prefix, "sk-ant-api03-");
        assert!(fp.flaws.contains(&Flaw::ForeignPrefix));
        let fp = Fingerprint::of(b"", Some(or()));
        assert_eq!(fp.flaws, vec![Flaw::Empty]);
        assert_eq!(fp.last4, "");
        let fp = Fingerprint::of("\u{feff}abc def".as_bytes(), None);
        assert!(fp.flaws.contains(&Flaw::Bom) && fp.flaws.contains(&Flaw::InnerWhitespace));
    }

    /// Realistic keys of every provider whose keys have a known shape.
    fn real_keys() -> Vec<(&'static str, String)> {
        let r = |chunk: &str, n: usize| chunk.repeat(n / chunk.len() + 1)[..n].to_string();
        vec![
            ("openrouter", format!("sk-or-v1-{}", r("ccccccccccccccc1", 64))),
            ("openai", format!("sk-proj-{}T3BlbkFJ{}", r("cc3_c-c9cc", 74), r("cc7-cc_2c", 74))),
            ("openai", format!("sk-{}T3BlbkFJ{}", r("cc3cc9cc", 20), r("Yt7Lm2Q", 20))),
            ("openai", format!("sk-svcacct-{}", r("cc3_c-c9cc", 150))),
            ("anthropic", format!("sk-ant-api03-{}AA", r("cc3_c-c9cc", 93))),
            ("anthropic", format!("sk-ant-oat01-{}AA", r("cc3_c-c9cc", 93))),
            ("gemini", format!("AIzaSy{}", r("cc3_c-c9cc", 33))),
            ("azure", r("ccccccccccccccc1", 32)),
            ("azure", r("cc3cc9cc", 84)),
            ("azure-apim", r("ccccccccccccccc1", 32)),
            ("deepseek", format!("sk-{}", r("ccccccccccccccc1", 32))),
            ("dashscope", format!("sk-{}", r("ccccccccccccccc1", 32))),
            ("vertex-ai", format!("ya29.{}", r("cc3_c-c9cc", 120))),
            ("groq", format!("gsk_{}WGdyb3FY{}", r("cc3cc9cc", 20), r("Yt7Lm2Q", 24))),
            ("xai", format!("xai-{}", r("cc3cc9cc", 80))),
            ("mistral", r("cc3cc9cct", 32)),
            ("litellm", format!("sk-{}", r("cc3_c-c9cc", 22))),
            ("litellm", "sk-1234".into()),
            ("openai-compatible", format!("pplx-{}", r("cc3cc9cc", 48))),
            ("openai-compatible", "lm-studio".into()),
            ("openai-compatible", "sk-no-key-required".into()),
            ("openai-compatible", "not-needed".into()),
            ("openai-compatible", "EMPTY".into()),
            ("openai-compatible", "dummy".into()),
            ("openai-compatible", "xxx".into()),
            ("openai-compatible", "your-api-key-here".into()),
            ("openai-compatible", r("cc3_c-c9cc", 40)),
            ("ollama", "ollama".into()),
            ("together", r("ccccccccccccccc1", 64)),
            ("together", format!("tgp_v1_{}", r("cc3_c-c9cc", 43))),
            ("fireworks", format!("fw_{}", r("cc3cc9cc", 24))),
            ("cerebras", format!("csk-{}", r("ab3xz9qr", 48))),
            ("perplexity", format!("pplx-{}", r("cc3cc9cc", 48))),
            ("moonshot", format!("sk-{}", r("cc3cc9cc", 48))),
            ("zai", format!("{}.{}", r("ccccccccccccccc1", 32), r("cc3cc9cc", 16))),
            ("lmstudio", "lm-studio".into()),
            ("vllm", "EMPTY".into()),
            ("vllm", "token-abc123".into()),
            ("llamacpp", "sk-no-key-required".into()),
        ]
    }

    fn flaws_to(value: &str, to: &str) -> Vec<Flaw> {
        Fingerprint::of(value.as_bytes(), Some(provider::get(to).unwrap())).flaws
    }

    #[test]
    fn real_keys_of_every_provider_are_not_flagged() {
        let keys = real_keys();
        for p in provider::PROVIDERS {
            assert!(keys.iter().any(|(n, _)| *n == p.name), "no realistic key of {} here", p.name);
        }
        for (to, key) in &keys {
            let fp = Fingerprint::of(key.as_bytes(), Some(provider::get(to).unwrap()));
            assert_eq!((fp.flaws.as_slice(), fp.text), ([].as_slice(), None), "{to}: {key}");
        }
        // Not a key, but no template either: sent where any token goes.
        for v in ["EMPTY", "NONE", "AKIAIOSFODNN7EXAMPLE", "MY_MODEL", "sk-1234", "dummy", "not-needed"] {
            assert_eq!(Fingerprint::of(v.as_bytes(), None).flaws, [], "{v}");
        }
    }

    #[test]
    fn a_lost_doubled_or_damaged_prefix() {
        let hex = "ccccccccccccccc1".repeat(4);
        for v in [format!("v1-{hex}"), format!("or-v1-{hex}"), hex.clone(), format!("-{hex}")] {
            assert_eq!(flaws_to(&v, "openrouter"), [Flaw::PrefixMissing], "{v}");
        }
        let body = format!("{}AA", &"cc3_c-c9cc".repeat(10)[..93]);
        assert_eq!(flaws_to(&body, "anthropic"), [Flaw::PrefixMissing]);
        assert_eq!(flaws_to(&format!("api03-{body}"), "anthropic"), [Flaw::PrefixMissing]);
        assert_eq!(flaws_to(&format!("Sy{}", &"cc3_c-c9cc".repeat(4)[..33]), "gemini"), [Flaw::PrefixMissing]);
        for (v, to) in [
            (format!("sk-or-v1-sk-or-v1-{hex}"), "openrouter"),
            (format!("sk-sk-ant-api03-{body}"), "anthropic"),
            (format!("sk-sk-proj-{}", "cc3_c-c9cc".repeat(15)), "openai"),
            (format!("AIzaAIzaSy{}", &"cc3_c-c9cc".repeat(4)[..33]), "gemini"),
        ] {
            assert_eq!(flaws_to(&v, to), [Flaw::PrefixDoubled], "{v}");
        }
        for v in [format!("sk-or-{hex}"), format!("sk-0r-v1-{hex}"), format!("sk-{hex}"), format!("v1-sk-or-v1-{hex}")]
        {
            assert_eq!(flaws_to(&v, "openrouter"), [Flaw::PrefixMangled], "{v}");
        }
        // Flaws of the value itself still count.
        assert_eq!(flaws_to(&format!("\"v1-{hex}\""), "openrouter"), [Flaw::Quoted, Flaw::PrefixMissing]);
        // The bare hex to another API is no lost OpenRouter prefix.
        assert_eq!(flaws_to(&hex, "openai"), []);
    }

    #[test]
    fn what_a_value_is_when_it_is_no_key() {
        let fp = |v: &str| Fingerprint::of(v.as_bytes(), Some(or()));
        for v in [
            "OPENROUTER_API_KEY",
            "OPENAI_API_KEY",
            "MY_PROXY_TOKEN",
            "${OPENROUTER_API_KEY}",
            "${env:OPENROUTER_API_KEY}",
            "{env:OPENROUTER_API_KEY}",
            "$OPENROUTER_API_KEY",
            "%OPENROUTER_API_KEY%",
            "os.environ/OPENROUTER_API_KEY",
        ] {
            let f = fp(v);
            assert_eq!((f.flaws.as_slice(), f.text.as_deref()), ([Flaw::VariableName].as_slice(), Some(v)), "{v}");
        }
        assert_eq!(fp(" \"OPENROUTER_API_KEY\"\n").text.as_deref(), Some("OPENROUTER_API_KEY"));
        for v in ["https://openrouter.ai/api/v1", "HTTP://localhost:4000"] {
            let f = fp(v);
            assert_eq!((f.flaws.as_slice(), f.text), ([Flaw::Url].as_slice(), None), "{v}");
        }
        for v in [
            "your-api-key-here",
            "<YOUR_KEY>",
            "YOUR_OPENROUTER_KEY",
            "changeme",
            "REPLACE_ME",
            "xxxxxxxx",
            "...",
            "insert-key-here",
        ] {
            let f = fp(v);
            assert_eq!((f.flaws.as_slice(), f.text.as_deref()), ([Flaw::Template].as_slice(), Some(v)), "{v}");
        }
        assert_eq!(fp("insert key here").flaws, [Flaw::InnerWhitespace, Flaw::Template]);
        assert_eq!(fp("<sk-1234567890abcdef>").flaws, [], "a key in brackets is no template");
        assert_eq!(fp("$AKIAIOSFODNN7EXAMPLE").text, None, "a name shaped like a key is not written");
        // A template with a key's prefix: its text is not kept (it looks like a key to the redactor).
        for v in ["sk-...", "sk-or-v1-xxxxxxxxxxxx", "sk-or-v1-.....", "sk-ant-api03-****"] {
            let f = fp(v);
            assert_eq!((f.flaws.as_slice(), f.text), ([Flaw::Template].as_slice(), None), "{v}");
        }
        // An endpoint that takes any token: templates are sent on purpose; a URL is still no key.
        let any = provider::get("openai-compatible").unwrap();
        assert_eq!(Fingerprint::of(b"sk-xxx", Some(any)).flaws, []);
        assert_eq!(Fingerprint::of(b"https://x.example/v1", Some(any)).flaws, [Flaw::Url]);
    }

    #[test]
    fn another_providers_key() {
        let ant = format!("sk-ant-api03-{}AA", &"cc3_c-c9cc".repeat(10)[..93]);
        assert_eq!(flaws_to(&ant, "openai"), [Flaw::ForeignPrefix]);
        assert_eq!(flaws_to(&format!("sk-proj-{}", "cc3_c-c9cc".repeat(15)), "openrouter"), [Flaw::ForeignPrefix]);
        assert_eq!(flaws_to(&format!("gsk_{}", "cc3cc9cc".repeat(7)), "openrouter"), [Flaw::ForeignPrefix]);
        // APIs without a prefix whose keys have a known shape.
        assert_eq!(flaws_to(&format!("sk-proj-{}", "cc3_c-c9cc".repeat(15)), "mistral"), [Flaw::ForeignPrefix]);
        assert_eq!(flaws_to(&format!("sk-or-v1-{}", "ccccccccccccccc1".repeat(4)), "azure"), [Flaw::ForeignPrefix]);
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
