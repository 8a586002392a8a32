//! Lines of a file as keyhole-fix shows them (docs/records.md#fix): every
//! key replaced by its redaction marker, including a value that does not
//! look like a key when it is assigned to a credential's name.

use std::borrow::Cow;
use std::sync::LazyLock;

use keyhole_core::redact;
use regex::Regex;

/// An assignment: `NAME=value`, `export NAME="value"`, `Environment="NAME=value"`,
/// `name: value`, `"name": "value",`.
static ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^[\s+\- ]*(?:export\s+|Environment=\s*"?|set\s+-gx\s+|setenv\s+)?["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*(?:=|:|\s)\s*(.*?)\s*$"#)
        .expect("a valid regex")
});

/// Names of credentials: the value assigned to one is a key whatever it looks like.
static CREDENTIAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(key|token|secret|pass|auth|credential)").expect("a valid regex"));

/// The value a credential assignment in `line` holds, unquoted (None when
/// the line assigns no credential, or assigns a reference such as `${X}`).
pub fn credential_value(line: &str) -> Option<&str> {
    let c = ASSIGN.captures(line)?;
    let (name, value) = (c.get(1)?.as_str(), c.get(2)?.as_str());
    if !CREDENTIAL.is_match(name) {
        return None;
    }
    // A comment after the value (` # …`) is not part of it: no key holds " #".
    let value = value.split(" #").next().unwrap_or(value).trim();
    let v = value.trim_end_matches(',').trim().trim_matches(|ch| ch == '"' || ch == '\'').trim();
    let v = v.trim_start_matches("Bearer ").trim();
    let reference = v.contains('$') || v.contains("{env:") || v.starts_with("os.environ/") || v.contains("secrets.");
    (!v.is_empty() && !reference).then_some(v)
}

/// `line` with every key as its marker.
pub fn line(line: &str) -> String {
    let known: Vec<&str> = credential_value(line).into_iter().collect();
    knowing(line, &known).into_owned()
}

/// `line` with every key and every value of `known` as its marker.
pub fn knowing<'a>(line: &'a str, known: &[&str]) -> Cow<'a, str> {
    let mut all: Vec<&str> = known.to_vec();
    all.extend(credential_value(line));
    redact::text_knowing(line, &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_value_is_masked_whatever_its_shape() {
        let l = line("export OPENROUTER_API_KEY=\"hunter2hunter2\"");
        assert!(!l.contains("hunter2hunter2"), "{l}");
        let l = line("  apiKey: ${{ secrets.OPENROUTER_API_KEY }}");
        assert!(l.contains("secrets.OPENROUTER_API_KEY"), "{l}");
        let l = line("OPENAI_BASE_URL=https://openrouter.ai/api/v1");
        assert!(l.contains("https://openrouter.ai/api/v1"), "{l}");
        let l = line("Environment=\"OPENROUTER_API_KEY=hunter2hunter2\"");
        assert!(!l.contains("hunter2hunter2"), "{l}");
    }
}
