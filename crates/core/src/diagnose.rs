//! The checks of one credential, written once: what a tool would send
//! (keyhole-classify, from a site's facts) and what arrived
//! (keyhole-capture, from a real request) — a placeholder sent as the key,
//! a header the API does not read, the key's own flaws, no credential at all
//! (docs/records.md#diagnoses, #capture-records).

use crate::provider::{self, Provider};
use crate::record::{CapturedAuth, Code, Diagnosis, Severity};
use crate::secret::{Fingerprint, Flaw};

/// Who sends the credential, as a summary names them: a tool's name, or
/// [`THE_TOOL`] when keyhole-capture cannot know which tool it is.
pub const THE_TOOL: &str = "the tool";

/// `key.placeholder`: `who` sends substitution text as the key.
pub fn placeholder(who: &str, text: &str, evidence: Vec<String>, fix: Vec<String>) -> Diagnosis {
    Diagnosis::new(Code::KeyPlaceholder, Severity::Error, format!("{who} sends the text {text} as the key"))
        .evidence(evidence)
        .fix(fix)
}

/// Whether `p` reads a credential from `header` (`authorization`,
/// `x-api-key`, … or `none`). An endpoint keyhole does not know by name may
/// read any.
pub fn reads_header(p: &Provider, header: &str) -> bool {
    header == "none" || p.accepts(header) || p.name == "openai-compatible"
}

/// `header.wrong_scheme`: `who` sends the key in a header `p` does not
/// read. `fix` is the tool's own words for it, if it has any.
pub fn wrong_header(
    p: &Provider,
    header: &str,
    who: &str,
    evidence: Vec<String>,
    fix: Option<&str>,
) -> Option<Diagnosis> {
    if reads_header(p, header) {
        return None;
    }
    let reads = p.auth_header.as_str();
    let fix = fix.map_or_else(|| format!("configure {who} to send the key as {reads}"), str::to_string);
    Some(
        Diagnosis::new(
            Code::HeaderWrongScheme,
            Severity::Error,
            format!("{who} sends the key in {header}, but {} reads {reads}", p.display),
        )
        .evidence(evidence)
        .fix(vec![fix]),
    )
}

/// `key.wrong_provider` and `key.malformed`: what the key's fingerprint
/// says is wrong with it, for the API `p` it goes to. Whitespace around the
/// key is harmless when the tool `trims` it (a warning, not an error).
pub fn key_flaws(
    fp: &Fingerprint,
    p: Option<&Provider>,
    who: &str,
    trims: bool,
    evidence: &[String],
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let shown = format!("{}…{} ({} bytes)", fp.prefix, fp.last4.escape_debug(), fp.len);
    let to = p.map_or("this API", |p| p.display);
    if fp.flaws.contains(&Flaw::ForeignPrefix) {
        let owner = provider::known_prefix(&fp.prefix)
            .and_then(|(o, _)| provider::get(o))
            .map_or("another provider's", |o| o.display);
        out.push(
            Diagnosis::new(
                Code::KeyWrongProvider,
                Severity::Error,
                format!("the key is an {owner} key ({shown}), sent to {to}"),
            )
            .evidence(evidence.to_vec())
            .fix(vec![format!("use a key of {to} here")]),
        );
    }
    let bad: Vec<Flaw> = fp.flaws.iter().copied().filter(|f| *f != Flaw::ForeignPrefix).collect();
    if bad.is_empty() {
        return out;
    }
    let harmless =
        |f: &Flaw| trims && matches!(f, Flaw::LeadingWhitespace | Flaw::TrailingWhitespace | Flaw::TrailingNewline);
    let all_harmless = bad.iter().all(harmless);
    let severity = if bad == [Flaw::WrongLength] || all_harmless { Severity::Warning } else { Severity::Error };
    let mut fix: Vec<String> = bad.iter().map(|f| flaw_fix(*f, p)).collect();
    fix.dedup();
    let tail =
        if all_harmless { format!("; harmless for {who}, which trims the key before sending") } else { String::new() };
    let names: Vec<&str> = bad.iter().map(|f| f.as_str()).collect();
    out.push(
        Diagnosis::new(
            Code::KeyMalformed,
            severity,
            format!("the key has flaws: {} ({shown}){tail}", names.join(", ")),
        )
        .evidence(evidence.to_vec())
        .fix(fix),
    );
    out
}

/// What to do about one flaw.
fn flaw_fix(f: Flaw, p: Option<&Provider>) -> String {
    match f {
        Flaw::TrailingNewline => "remove the newline at the end of the key (echo -n, or printf '%s')".into(),
        Flaw::LeadingWhitespace | Flaw::TrailingWhitespace | Flaw::InnerWhitespace => {
            "remove the spaces around or inside the key".into()
        }
        Flaw::Quoted => "remove the quotes that are part of the value".into(),
        Flaw::BearerPrefix => "store the key without 'Bearer ': the tool adds it".into(),
        Flaw::Bom => "save the file without a byte-order mark".into(),
        Flaw::WrongLength => match p.and_then(|p| p.key_len.map(|n| (p.display, n))) {
            Some((name, n)) => format!("check the key was copied whole ({name} keys are {n} characters)"),
            None => "check the key was copied whole".into(),
        },
        Flaw::Empty => "the value is empty: put the key there".into(),
        Flaw::NonAscii | Flaw::ControlChar | Flaw::ForeignPrefix => "remove the odd characters from the key".into(),
    }
}

/// keyhole-capture's diagnoses of what arrived at it, imitating `p`: no
/// credential (`auth.missing`), an empty one (`key.none`), else the checks
/// above; `ok` when none finds anything.
pub fn arrived(auth: Option<&CapturedAuth>, p: &Provider) -> Vec<Diagnosis> {
    let Some(auth) = auth else {
        return vec![Diagnosis::new(Code::AuthMissing, Severity::Error, "no credential header arrived")];
    };
    let mut out = Vec::new();
    if let Some(t) = &auth.placeholder {
        let fix = "write the key itself, or a reference the tool expands (keyhole-find names the forms)";
        out.push(placeholder(THE_TOOL, t, vec![], vec![fix.into()]));
    }
    out.extend(wrong_header(p, &auth.header, THE_TOOL, vec![], None));
    if let Some(fp) = &auth.fp {
        if fp.len == 0 {
            // An empty credential is no credential (`Bearer` and nothing after it).
            out.push(
                Diagnosis::new(
                    Code::KeyNone,
                    Severity::Error,
                    "an empty credential arrived (Bearer with nothing after it)",
                )
                .fix(vec![flaw_fix(Flaw::Empty, Some(p))]),
            );
        } else {
            out.extend(key_flaws(fp, Some(p), THE_TOOL, false, &[]));
        }
    }
    if out.is_empty() {
        out.push(Diagnosis::new(Code::Ok, Severity::Info, "a well-formed credential arrived"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Extra;

    fn or() -> &'static Provider {
        provider::get("openrouter").unwrap()
    }

    fn auth(header: &str, value: &str) -> CapturedAuth {
        CapturedAuth {
            header: header.into(),
            scheme: "bearer".into(),
            fp: Some(Fingerprint::of(value.as_bytes(), Some(or()))),
            placeholder: None,
            extra: Extra::new(),
        }
    }

    fn codes(d: &[Diagnosis]) -> Vec<&str> {
        d.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn what_arrived() {
        let good = format!("sk-or-v1-{}", "a".repeat(64));
        assert_eq!(codes(&arrived(None, or())), ["auth.missing"]);
        assert_eq!(codes(&arrived(Some(&auth("authorization", &good)), or())), ["ok"]);
        assert_eq!(codes(&arrived(Some(&auth("x-api-key", &good)), or())), ["ok"], "OpenRouter reads x-api-key too");
        assert_eq!(codes(&arrived(Some(&auth("api-key", &good)), or())), ["header.wrong_scheme"]);
        assert_eq!(codes(&arrived(Some(&auth("authorization", "")), or())), ["key.none"]);
        let d = arrived(Some(&auth("authorization", &format!("{good}\n"))), or());
        assert_eq!((codes(&d), d[0].severity), (vec!["key.malformed"], Severity::Error));
        let d = arrived(Some(&auth("authorization", "sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxx")), or());
        assert_eq!(codes(&d), ["key.wrong_provider"]);
        let mut ph = auth("authorization", "");
        (ph.fp, ph.placeholder) = (None, Some("${env:X}".into()));
        let d = arrived(Some(&ph), or());
        assert_eq!(
            (codes(&d), d[0].summary.as_str()),
            (vec!["key.placeholder"], "the tool sends the text ${env:X} as the key")
        );
    }

    #[test]
    fn flaws_a_trimming_tool_ignores_are_warnings() {
        let fp = Fingerprint::of(format!(" sk-or-v1-{}", "a".repeat(64)).as_bytes(), Some(or()));
        let d = key_flaws(&fp, Some(or()), "cline", true, &["f:1".into()]);
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(d[0].summary.ends_with("harmless for cline, which trims the key before sending"), "{}", d[0].summary);
        let d = key_flaws(&fp, Some(or()), "aider", false, &[]);
        assert_eq!(d[0].severity, Severity::Error);
        let short = Fingerprint::of(b"sk-or-v1-abc", Some(or()));
        let d = key_flaws(&short, Some(or()), "aider", false, &[]);
        assert_eq!(
            (d[0].severity, d[0].fix[0].as_str()),
            (Severity::Warning, "check the key was copied whole (OpenRouter keys are 73 characters)")
        );
    }
}
