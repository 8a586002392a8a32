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

/// Flaws that say what the value is instead of a key: its diagnosis comes
/// first, and whitespace or quotes around it no longer matter.
const WHAT_IT_IS: &[Flaw] =
    &[Flaw::VariableName, Flaw::Template, Flaw::Url, Flaw::PrefixMissing, Flaw::PrefixDoubled, Flaw::PrefixMangled];

/// `key.placeholder`, `key.malformed` and `key.wrong_provider`: what the
/// key's fingerprint says is wrong with it, for the API `p` it goes to —
/// what the value is when it is no key (the variable's name, template
/// text, a URL, a key that lost or doubled its prefix), another provider's
/// key, then the flaws of the value itself (docs/records.md#fingerprints).
/// What the tool does with the value decides what a flaw does
/// (catalogue `trims_key`, `strips_newline`, `refuses_flawed_header`): a flaw
/// the tool removes is harmless (a warning, not an error); one its client
/// refuses never reaches the wire, and the summary says what the user sees.
pub fn key_flaws(
    fp: &Fingerprint,
    p: Option<&Provider>,
    who: &str,
    handling: ValueHandling,
    evidence: &[String],
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let shown = format!("{}…{} ({} bytes)", fp.prefix, fp.last4.escape_debug(), fp.len);
    let to = p.map_or("this API", |p| p.display);
    let what = WHAT_IT_IS.iter().copied().find(|f| fp.flaws.contains(f));
    if let Some(f) = what {
        out.push(what_it_is(f, fp, p, who, &shown).evidence(evidence.to_vec()));
    }
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
    if what.is_some_and(|f| matches!(f, Flaw::VariableName | Flaw::Template | Flaw::Url)) {
        return out;
    }
    let bad: Vec<Flaw> =
        fp.flaws.iter().copied().filter(|f| *f != Flaw::ForeignPrefix && !WHAT_IT_IS.contains(f)).collect();
    if bad.is_empty() {
        return out;
    }
    let harmless = |f: &Flaw| handling.harmless.contains(f);
    let all_harmless = bad.iter().all(harmless);
    let severity = if bad == [Flaw::WrongLength] || all_harmless { Severity::Warning } else { Severity::Error };
    let mut fix: Vec<String> = bad.iter().map(|f| flaw_fix(*f, p)).collect();
    fix.dedup();
    let at_ends = |f: &Flaw| matches!(f, Flaw::LeadingWhitespace | Flaw::TrailingWhitespace | Flaw::TrailingNewline);
    let tail = if all_harmless {
        format!("; harmless for {who}, which removes it before sending")
    } else if let Some(r) = handling.refuses.filter(|_| bad.iter().any(|f| at_ends(f) && !harmless(f))) {
        format!("; {who} never sends it: {r}")
    } else {
        String::new()
    };
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

/// What a tool does with a key's value before it sends it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValueHandling<'a> {
    /// Flaws the tool removes (whitespace it trims, a newline it strips).
    pub harmless: &'a [Flaw],
    /// The tool's client refuses a value with whitespace at its ends: what the user sees.
    pub refuses: Option<&'a str>,
}

impl ValueHandling<'static> {
    /// Sent exactly as found.
    pub const AS_IS: ValueHandling<'static> = ValueHandling { harmless: &[], refuses: None };

    /// The catalogue's word for `tool` (as is, when unknown).
    pub fn of(tool: Option<&'static crate::tool::Tool>) -> ValueHandling<'static> {
        tool.map_or(ValueHandling::AS_IS, |t| ValueHandling {
            harmless: t.harmless_flaws(),
            refuses: t.refuses_flawed_header,
        })
    }
}

/// "from https://…/keys", or where the key was made when the catalogue has no page.
fn from_page(p: Option<&Provider>) -> String {
    match p.map(|p| p.key_page).filter(|u| !u.is_empty()) {
        Some(u) => format!("from {u}"),
        None => "from where it was made".into(),
    }
}

/// The variable a variable-name value names (`OPENROUTER_API_KEY` in
/// `${env:OPENROUTER_API_KEY}`): its last run of name characters.
fn var_in(text: &str) -> &str {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let end = text.rfind(is_name).map_or(0, |i| i + 1);
    let start = text[..end].rfind(|c: char| !is_name(c)).map_or(0, |i| i + 1);
    &text[start..end]
}

/// The diagnosis of a value that is not a key at all, or not whole: what
/// it is, and exactly what to do.
fn what_it_is(f: Flaw, fp: &Fingerprint, p: Option<&Provider>, who: &str, shown: &str) -> Diagnosis {
    let canon = p.and_then(|p| p.key_prefixes.first().copied()).unwrap_or("");
    let display = p.map_or("API", |p| p.display);
    let err = |code, summary: String, fix: String| Diagnosis::new(code, Severity::Error, summary).fix(vec![fix]);
    match f {
        Flaw::VariableName => {
            let text = fp.text.as_deref().unwrap_or("");
            let var = var_in(text);
            let summary = if text == var {
                format!("the key is the variable's name {var}, not its value")
            } else {
                format!("the key is the reference {text} as text, not the value of {var}")
            };
            let fix = format!("write the value of {var} there (the key itself), or a reference to it that {who} expands");
            err(Code::KeyPlaceholder, summary, fix)
        }
        Flaw::Template => {
            let text = fp.text.clone().unwrap_or_else(|| format!("{}…", fp.prefix));
            let page = p.map(|p| p.key_page).filter(|u| !u.is_empty()).map(|u| format!(" ({u})")).unwrap_or_default();
            let fix = match p {
                Some(p) => format!("replace the template with your {} key{page}", p.display),
                None => "replace the template with the key itself".into(),
            };
            err(Code::KeyPlaceholder, format!("the key is template text {text}, not a key"), fix)
        }
        Flaw::Url => err(
            Code::KeyMalformed,
            "the key is a URL, not a key".into(),
            format!("the key setting holds a URL: put the URL in the base URL setting, and the {display} key in the key setting"),
        ),
        Flaw::PrefixMissing => err(
            Code::KeyMalformed,
            format!("the key lost its {canon} prefix ({shown})"),
            format!("the key lost its {canon} prefix: copy it again whole {}", from_page(p)),
        ),
        Flaw::PrefixDoubled => {
            let fix = if fp.prefix.is_empty() {
                "remove the repeated prefix at the start of the key".into()
            } else {
                format!("remove the extra {} at the start of the key", fp.prefix)
            };
            err(Code::KeyMalformed, format!("the key carries its prefix twice ({shown})"), fix)
        }
        _ => err(
            Code::KeyMalformed,
            format!("the key's prefix is damaged: {display} keys start with {canon} ({shown})"),
            format!("the key must start with {canon}: copy it again whole {}", from_page(p)),
        ),
    }
}

/// What to do about one flaw of the value itself.
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
        Flaw::PrefixMissing
        | Flaw::PrefixDoubled
        | Flaw::PrefixMangled
        | Flaw::VariableName
        | Flaw::Url
        | Flaw::Template => format!("copy the key again whole {}", from_page(p)),
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
            out.extend(key_flaws(fp, Some(p), THE_TOOL, ValueHandling::AS_IS, &[]));
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
        let d = arrived(Some(&auth("authorization", "sk-ant-api03-ccccccccccccccccccccccccTST1")), or());
        assert_eq!(codes(&d), ["key.wrong_provider"]);
        let mut ph = auth("authorization", "");
        (ph.fp, ph.placeholder) = (None, Some("${env:X}".into()));
        let d = arrived(Some(&ph), or());
        assert_eq!(
            (codes(&d), d[0].summary.as_str()),
            (vec!["key.placeholder"], "the tool sends the text ${env:X} as the key")
        );
    }

    /// (code, summary, first fix) of each diagnosis of a value sent to `to`.
    fn of(value: &str, to: &str) -> Vec<(String, String, String)> {
        let p = provider::get(to).unwrap();
        let fp = Fingerprint::of(value.as_bytes(), Some(p));
        key_flaws(&fp, Some(p), "opencode", ValueHandling::AS_IS, &["f:1".into()])
            .into_iter()
            .map(|d| (d.code.as_str().to_string(), d.summary, d.fix.first().cloned().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn what_the_value_is_comes_first_with_its_exact_fix() {
        let hex = "ccccccccccccccc1".repeat(4);
        let d = of(&format!("v1-{hex}"), "openrouter");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].0, "key.malformed");
        assert_eq!(d[0].1, "the key lost its sk-or-v1- prefix (…ccc1 (67 bytes))");
        assert_eq!(
            d[0].2,
            "the key lost its sk-or-v1- prefix: copy it again whole from https://openrouter.ai/settings/keys"
        );
        // Whitespace around it is a flaw of its own, after.
        let d = of(&format!(" {hex}"), "openrouter");
        assert_eq!((d[0].0.as_str(), d[1].0.as_str()), ("key.malformed", "key.malformed"));
        assert!(d[1].1.starts_with("the key has flaws: leading_whitespace"), "{d:?}");

        let d = of(&format!("sk-or-v1-sk-or-v1-{hex}"), "openrouter");
        assert_eq!(d.len(), 1, "the doubling explains the length: {d:?}");
        assert_eq!(d[0].2, "remove the extra sk-or-v1- at the start of the key");
        let d = of(&format!("sk-0r-v1-{hex}"), "openrouter");
        assert_eq!(d[0].1, "the key's prefix is damaged: OpenRouter keys start with sk-or-v1- (sk-…ccc1 (73 bytes))");
        assert_eq!(
            d[0].2,
            "the key must start with sk-or-v1-: copy it again whole from https://openrouter.ai/settings/keys"
        );

        let d = of("\"OPENROUTER_API_KEY\"", "openrouter");
        assert_eq!(d.len(), 1, "the quotes around a name do not matter: {d:?}");
        assert_eq!(
            (d[0].0.as_str(), d[0].1.as_str()),
            ("key.placeholder", "the key is the variable's name OPENROUTER_API_KEY, not its value")
        );
        assert_eq!(
            d[0].2,
            "write the value of OPENROUTER_API_KEY there (the key itself), or a reference to it that opencode expands"
        );
        let d = of("${env:OPENAI_API_KEY}", "openai");
        assert_eq!(d[0].1, "the key is the reference ${env:OPENAI_API_KEY} as text, not the value of OPENAI_API_KEY");

        let d = of("your-api-key-here", "anthropic");
        assert_eq!(
            d[0],
            (
                "key.placeholder".into(),
                "the key is template text your-api-key-here, not a key".into(),
                "replace the template with your Anthropic key (https://console.anthropic.com/settings/keys)".into()
            )
        );
        assert_eq!(of("sk-or-v1-xxxxxxxx", "openrouter")[0].1, "the key is template text sk-or-v1-…, not a key");
        let d = of("https://openrouter.ai/api/v1", "openrouter");
        assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("key.malformed", "the key is a URL, not a key"));
        assert_eq!(d[0].2, "the key setting holds a URL: put the URL in the base URL setting, and the OpenRouter key in the key setting");

        let d = of(&format!("sk-ant-api03-{}AA", &"cc3_c-c9cc".repeat(10)[..93]), "openai");
        assert_eq!(d.len(), 1);
        assert!(d[0].1.starts_with("the key is an Anthropic key (sk-ant-api03-…"), "{d:?}");
        // An empty value stays what it was.
        assert_eq!(of("", "openrouter")[0].2, "the value is empty: put the key there");
    }

    #[test]
    fn a_variable_name_arriving_at_the_capture_is_a_placeholder() {
        let d = arrived(Some(&auth("authorization", "OPENROUTER_API_KEY")), or());
        assert_eq!(codes(&d), ["key.placeholder"]);
        let d = arrived(Some(&auth("authorization", &"ccccccccccccccc1".repeat(4))), or());
        assert_eq!(codes(&d), ["key.malformed"]);
    }

    #[test]
    fn flaws_a_trimming_tool_ignores_are_warnings() {
        let fp = Fingerprint::of(format!(" sk-or-v1-{}", "a".repeat(64)).as_bytes(), Some(or()));
        let d = key_flaws(&fp, Some(or()), "cline", ValueHandling::of(crate::tool::get("cline")), &["f:1".into()]);
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(d[0].summary.ends_with("harmless for cline, which removes it before sending"), "{}", d[0].summary);
        let d = key_flaws(&fp, Some(or()), "aider", ValueHandling::AS_IS, &[]);
        assert_eq!(d[0].severity, Severity::Error);
        // Aider's client (httpx) refuses the header: the summary says what the user sees.
        let d = key_flaws(&fp, Some(or()), "aider", ValueHandling::of(crate::tool::get("aider")), &[]);
        assert_eq!(d[0].severity, Severity::Error);
        assert!(d[0].summary.contains("aider never sends it: httpx refuses the header"), "{}", d[0].summary);
        // A newline is harmless for a tool that strips it (Claude Code), spaces are not.
        let nl = Fingerprint::of(format!("sk-or-v1-{}\n", "a".repeat(64)).as_bytes(), Some(or()));
        let d = key_flaws(&nl, Some(or()), "claude-code", ValueHandling::of(crate::tool::get("claude-code")), &[]);
        assert_eq!(d[0].severity, Severity::Warning, "{}", d[0].summary);
        let d = key_flaws(&fp, Some(or()), "claude-code", ValueHandling::of(crate::tool::get("claude-code")), &[]);
        assert_eq!(d[0].severity, Severity::Error);
        let short = Fingerprint::of(b"sk-or-v1-abc", Some(or()));
        let d = key_flaws(&short, Some(or()), "aider", ValueHandling::AS_IS, &[]);
        assert_eq!(
            (d[0].severity, d[0].fix[0].as_str()),
            (Severity::Warning, "check the key was copied whole (OpenRouter keys are 73 characters)")
        );
    }
}
