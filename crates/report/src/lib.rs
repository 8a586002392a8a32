//! keyhole-report: records in, words out. Text for a terminal (root cause
//! first, evidence, fix; colour only on a TTY), Markdown safe to paste into a
//! public bug report (fingerprints as prefix, last 4 and length only; the
//! home directory written as ~), or the records passed through
//! (docs/records.md). It reads typed [`Record`]s: sites, responses and
//! captures are shown, errors listed at the end; a record of a type it does
//! not know is passed on in JSON and left out of the words.
//!
//! Every string from a record is [`clean`]ed for the terminal where it is
//! put in the words, and the words as a whole pass the redaction boundary
//! ([`write_words`], docs/records.md#redaction) — records piped in by hand
//! or from elsewhere may hold what keyhole would never write.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use keyhole_core::error::{Error, Result};
use keyhole_core::fsread;
pub mod chain;
mod completion;
pub mod verdict;

use keyhole_core::record::{Record, Severity, Site};
use keyhole_core::secret::Fingerprint;
use keyhole_core::stage::{self, Ctx, Stage};
use keyhole_core::Status;
use serde::Deserialize;
use serde_json::Value;
use verdict::{subjects, unreachable, Reading, Subject, Unreachable};
pub use verdict::{Probing, Verdict};

pub const TOOL_NAME: &str = "keyhole-report";

/// What a report is written as (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    // The records passed through (only the exit status is added).
    Json,
}

pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when `asked` is `Some(true)` (always) or, for `None` (auto),
    /// when stdout is a terminal that is not `dumb`; never with `NO_COLOR`.
    pub fn for_stdout(asked: Option<bool>) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let auto = || io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Style { color: !no_color && asked.unwrap_or_else(auto) }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Untrusted text (file names, tool and provider names, server messages)
/// made safe for a terminal: control, bidi and zero-width characters shown
/// escaped (`\u{1b}`, `\u{202e}`; docs/records.md#terminal-output).
pub fn clean(s: &str) -> String {
    keyhole_core::redact::terminal(s).into_owned()
}

/// `/home/u/x` → `~/x`, for reports that leave the machine.
fn tilde(s: &str, home: &str) -> String {
    if home.len() > 1 {
        s.replace(&format!("{home}/"), "~/")
    } else {
        s.to_string()
    }
}

fn fp_short(fp: Option<&Fingerprint>) -> String {
    let Some(fp) = fp else { return String::new() };
    let mut s = format!("{}…{} ({} bytes)", fp.prefix, fp.last4.escape_debug(), fp.len);
    if !fp.flaws.is_empty() {
        let flaws: Vec<&str> = fp.flaws.iter().map(|f| f.as_str()).collect();
        s.push_str(&format!(" flaws: {}", flaws.join(", ")));
    }
    s
}

fn key_line(site: &Site) -> String {
    use keyhole_core::record::KeySource as K;
    let k = &site.key;
    let or = |s: &Option<String>, d: &'static str| s.clone().unwrap_or_else(|| d.to_string());
    match k.from {
        K::Literal => format!("literal key {}", fp_short(k.fp.as_ref())),
        K::Env => format!("${} ({})", or(&k.var, "?"), or(&k.syntax, "read implicitly")),
        K::Placeholder => format!("placeholder {}", or(&k.text, "")),
        K::File => format!("file {}", or(&k.path, "")),
        K::Command => format!("command {}", or(&k.cmd, "")),
        K::Store => format!("store {}", or(&k.store, "")),
        K::None => k.from.to_string(),
    }
}

/// The mark of a diagnosis shown beside the root cause (an independent
/// problem): its own severity.
fn sev_mark(sev: Severity, st: &Style) -> String {
    match sev {
        Severity::Error => st.paint("1;31", "✗"),
        Severity::Warning => st.paint("1;33", "!"),
        Severity::Info => st.paint("2", "–"),
    }
}

/// `HTTP 401`, or `no status` where the record has none (never `null`).
fn status_words(status: Option<u16>) -> String {
    status.map_or_else(|| "no status".to_string(), |s| format!("HTTP {s}"))
}

/// The key a standalone probe sent, as its fingerprint.
fn sent_key(p: &keyhole_core::record::ProbeRecord) -> String {
    match p.probe.request.as_ref() {
        Some(r) if r.fp.is_some() => format!("{} {}", r.auth_header, fp_short(r.fp.as_ref())),
        Some(r) => format!("{}: none sent", r.auth_header),
        None => "nothing sent".into(),
    }
}

/// What the API answered, in words for a report: the status and the
/// provider's message, or why there was no answer (never `null`).
fn answer_words(p: &keyhole_core::record::probe::Probe) -> String {
    let msg = p.response.as_ref().and_then(|a| body_message(&a.body));
    match (p.status(), &p.error) {
        (Some(s), _) => format!("{s} {}", msg.unwrap_or_default()).trim_end().to_string(),
        (None, Some(e)) => format!("no answer: {}", e.message),
        (None, None) => "no answer".into(),
    }
}

/// Where a site's base URL comes from, in words: a `default` that is not
/// the provider's own base URL was replaced with `--provider-url`
/// (docs/records.md#flags: such sites keep `base_url_from: "default"`).
fn base_url_from(site: &Site) -> String {
    let catalogued = keyhole_core::provider::get(&site.provider).map(|p| p.base_url.trim_end_matches('/'));
    if site.base_url_from == "default" && catalogued.is_some_and(|b| b != site.base_url.trim_end_matches('/')) {
        "--provider-url".into()
    } else {
        site.base_url_from.clone()
    }
}

/// How the report is to be read: what the records alone do not say.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub probing: Probing,
}

impl Default for View {
    fn default() -> Self {
        View { probing: Probing::Unknown }
    }
}

/// The verdict in words, with why nothing was probed (`not probed (offline)`).
fn verdict_words(r: &Reading, view: View) -> String {
    let v = r.verdict();
    match v {
        Verdict::NotProbed if r.no_answer => "not probed (no answer)".into(),
        Verdict::NotProbed if view.probing == Probing::Offline => "not probed (offline)".into(),
        _ => v.word().into(),
    }
}

/// The counts line's parts: `failing` always, every other verdict seen,
/// in [`Verdict::ALL`]'s order; they add up to the number of subjects.
fn count_parts(readings: &[Reading], view: View) -> Vec<String> {
    let mut parts = Vec::new();
    for v in Verdict::ALL {
        let mut words: Vec<String> =
            readings.iter().filter(|r| r.verdict() == v).map(|r| verdict_words(r, view)).collect();
        if words.is_empty() && v == Verdict::Failing {
            parts.push("0 failing".into());
        }
        words.sort();
        words.dedup();
        for w in words {
            let n = readings.iter().filter(|r| r.verdict() == v && verdict_words(r, view) == w).count();
            parts.push(match v {
                Verdict::Warning => format!("{n} with warnings"),
                Verdict::Template if n == 1 => "1 template".into(),
                Verdict::Template => format!("{n} templates"),
                _ => format!("{n} {w}"),
            });
        }
    }
    parts
}

/// The once-only line about the network (docs/records.md#what-the-report-says).
fn unreachable_line(u: &Unreachable) -> String {
    let probes = if u.probes == 1 { "1 probe".to_string() } else { format!("{} probes", u.probes) };
    let hosts = if u.hosts == 1 { "1 host".to_string() } else { format!("{} hosts", u.hosts) };
    format!(
        "no network: the probes could not reach any API ({probes} to {hosts}, no answer); run with --offline to check the configuration alone"
    )
}

/// What the report says for a subject without a root cause.
fn nothing_found(r: &Reading, view: View) -> String {
    match r.verdict() {
        Verdict::Unclassified => "not classified: pipe the records through keyhole-classify".into(),
        Verdict::NotProbed => format!("{}: nothing wrong found in the configuration", verdict_words(r, view)),
        v => format!("{}: nothing wrong found", v.word()),
    }
}

/// How to check a key keyhole cannot read (docs/records.md#what-the-report-says).
const VERIFY_HINT: &str = "check it with keyhole-capture: point the tool's base URL at it and see what the tool sends";

/// The templates, for the one line at the end: `file:line` each.
fn templates<'a>(subjects: &[Subject<'a>], readings: &[Reading]) -> Vec<&'a Site> {
    subjects
        .iter()
        .zip(readings)
        .filter(|(_, r)| r.verdict() == Verdict::Template)
        .filter_map(|(s, _)| match s {
            Subject::Site(site) => Some(*site),
            _ => None,
        })
        .collect()
}

pub fn text(records: &[Record], st: &Style) -> String {
    text_with(records, st, View::default())
}

pub fn text_with(records: &[Record], st: &Style, view: View) -> String {
    let mut out = String::new();
    let subjects = subjects(records);
    let net = unreachable(records);
    let mut readings: Vec<Reading> = subjects.iter().map(|s| s.read(net.as_ref())).collect();
    let chains = chains(&subjects, records, net.as_ref(), &mut readings);
    let _ = writeln!(
        out,
        "{}",
        st.paint("1", &format!("keyhole: {} checked — {}", subjects.len(), count_parts(&readings, view).join(", ")))
    );
    if let Some(u) = &net {
        let _ = writeln!(out, "{} {}", st.paint("1;33", "!"), unreachable_line(u));
    }
    if let Some(line) = completion::cost_line(records) {
        let _ = writeln!(out, "{}", st.paint("2", &line));
    }
    for ((s, r), ch) in subjects.iter().zip(&readings).zip(&chains) {
        if r.verdict() == Verdict::Template {
            continue;
        }
        let _ = writeln!(out);
        let head = match s {
            Subject::Site(r) => format!(
                "{} {}:{}  {} {} {}",
                st.paint("1", &clean(&r.tool)),
                clean(&r.source.file),
                r.source.line,
                clean(&r.provider),
                clean(r.model.as_deref().unwrap_or("")),
                st.paint("2", &clean(&r.base_url))
            ),
            Subject::Capture(c) => format!("{} {} {}", st.paint("1", "capture"), clean(&c.method), clean(&c.path)),
            Subject::Response(r) => format!(
                "{} {}:{} {}",
                st.paint("1", "response"),
                clean(&r.source.file),
                r.source.line,
                status_words(r.status)
            ),
            Subject::Probe(p) => {
                format!("{} {}  {}", st.paint("1", "probe"), clean(&p.url), clean(p.provider.as_deref().unwrap_or("")))
            }
        };
        let _ = writeln!(out, "{head}");
        match s {
            Subject::Site(r) => {
                let _ = writeln!(out, "  key: {}", clean(&key_line(r)));
            }
            Subject::Probe(p) => {
                let _ = writeln!(out, "  key: {}", clean(&sent_key(p)));
            }
            _ => {}
        }
        if let Some(c) = ch {
            chain::write_text(&mut out, c, st);
            if c.later_hop_fails() {
                continue;
            }
        }
        let v = r.verdict();
        let mark = st.paint(v.color(), v.mark());
        let Some(root) = r.root else {
            let _ = writeln!(out, "  {mark} {}", st.paint("2", &nothing_found(r, view)));
            if v == Verdict::NotVerifiable {
                let _ = writeln!(out, "      {} {VERIFY_HINT}", st.paint("36", "fix:"));
            }
            continue;
        };
        let _ = writeln!(out, "  {mark} {} {}", st.paint("1", &clean(root.code.as_str())), clean(&root.summary));
        for ev in &root.evidence {
            let _ = writeln!(out, "      {}", st.paint("2", &clean(ev)));
        }
        for fx in &root.fix {
            let _ = writeln!(out, "      {} {}", st.paint("36", "fix:"), clean(fx));
        }
        if v == Verdict::NotVerifiable && root.fix.is_empty() {
            let _ = writeln!(out, "      {} {VERIFY_HINT}", st.paint("36", "fix:"));
        }
        for d in &r.explained {
            let line = format!("which explains {} {}", clean(d.code.as_str()), clean(&d.summary));
            let _ = writeln!(out, "      {}", st.paint("2", &line));
        }
        for d in &r.related {
            let _ = writeln!(
                out,
                "      {}",
                st.paint("2", &format!("also seen: {} {}", clean(d.code.as_str()), clean(&d.summary)))
            );
        }
        if let Some(d) = r.accepted {
            let _ = writeln!(out, "      {}", st.paint("2", &format!("probe: {}", clean(&d.summary))));
        }
        if let Some(line) = completion::unchecked(s, r) {
            let _ = writeln!(out, "      {}", st.paint("2", &clean(&line)));
        }
        for d in &r.also {
            let _ = writeln!(
                out,
                "  {} also {} {}",
                sev_mark(d.severity, st),
                st.paint("1", &clean(d.code.as_str())),
                clean(&d.summary)
            );
            for ev in &d.evidence {
                let _ = writeln!(out, "      {}", st.paint("2", &clean(ev)));
            }
            for fx in &d.fix {
                let _ = writeln!(out, "      {} {}", st.paint("36", "fix:"), clean(fx));
            }
        }
    }
    for r in records {
        if let Record::Error(e) = r {
            let _ = writeln!(out, "\n{} {}", st.paint("1;31", "could not check:"), clean(&e.message));
        }
    }
    let files: Vec<String> = templates(&subjects, &readings)
        .iter()
        .map(|s| format!("{}:{}", clean(&s.source.file), s.source.line))
        .collect();
    templates_line(&mut out, &files);
    out
}

/// The chain each subject heads (docs/wire.md#gateways); a client whose
/// later hop fails is failing, whatever its own hop says.
fn chains(
    subjects: &[Subject<'_>],
    records: &[Record],
    net: Option<&Unreachable>,
    readings: &mut [Reading<'_>],
) -> Vec<Option<chain::Chain>> {
    let chains: Vec<Option<chain::Chain>> = subjects.iter().map(|s| chain::of(s, records, net)).collect();
    for (r, c) in readings.iter_mut().zip(&chains) {
        if c.as_ref().is_some_and(chain::Chain::later_hop_fails) {
            r.verdict = Some(Verdict::Failing);
        }
    }
    chains
}

/// Non-secret facts maintainers always ask for.
pub fn machine_facts() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let kernel = format!("{} {}", read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/osrelease"));
    let shell = std::env::var("SHELL")
        .ok()
        .and_then(|s| Path::new(&s).file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_default();
    vec![
        ("OS".into(), os),
        ("kernel".into(), kernel.trim().to_string()),
        ("shell".into(), shell),
        ("keyhole".into(), env!("CARGO_PKG_VERSION").to_string()),
    ]
}

/// Text from a record in Markdown: HTML escaped (`<b>` shows as text), and
/// the characters that would end a table cell or open a code span.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s` exactly: fenced with one more backtick than the
/// longest run inside, padded with a space where `s` starts or ends with a
/// backtick (CommonMark's code spans). `|` is escaped in a table cell, where
/// GitHub reads it before the span.
fn md_code(s: &str, in_table: bool) -> String {
    let s = clean(s);
    let s = if in_table { s.replace('|', "\\|") } else { s };
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// The message of a provider's error body, `{"error": {"message": "…"}}`
/// (docs/wire.md), when the body has that shape.
fn body_message(body: &Value) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
    }
    Body::deserialize(body).ok().map(|b| b.error.message)
}

pub fn markdown(records: &[Record], home: &str) -> String {
    markdown_with(records, home, View::default())
}

pub fn markdown_with(records: &[Record], home: &str, view: View) -> String {
    let t = |s: &str| md_escape(&tilde(s, home));
    let code = |s: &str| md_code(&tilde(s, home), false);
    let mut out = String::new();
    let subjects = subjects(records);
    let net = unreachable(records);
    let mut readings: Vec<Reading> = subjects.iter().map(|s| s.read(net.as_ref())).collect();
    let chains = chains(&subjects, records, net.as_ref(), &mut readings);
    let _ = writeln!(out, "## keyhole report\n");
    let _ = writeln!(out, "| fact | value |\n|---|---|");
    for (k, v) in machine_facts() {
        let _ = writeln!(out, "| {k} | {} |", md_escape(&v));
    }
    let _ = writeln!(out, "\n**{} checked — {}**", subjects.len(), count_parts(&readings, view).join(", "));
    if let Some(u) = &net {
        let _ = writeln!(out, "\n> ! {}", unreachable_line(u));
    }
    if let Some(line) = completion::cost_line(records) {
        let _ = writeln!(out, "\n> {}", t(&line));
    }
    for ((s, r), ch) in subjects.iter().zip(&readings).zip(&chains) {
        if r.verdict() == Verdict::Template {
            continue;
        }
        let _ = writeln!(out);
        match s {
            Subject::Site(r) => {
                let at = format!("{}:{}", r.source.file, r.source.line);
                let _ = writeln!(out, "### {} — {}\n", t(&r.tool), code(&at));
                let _ = writeln!(out, "| | |\n|---|---|");
                let _ = writeln!(out, "| provider | {} |", t(&r.provider));
                let _ = writeln!(out, "| model | {} |", t(r.model.as_deref().unwrap_or("")));
                let _ = writeln!(out, "| base URL | {} ({}) |", t(&r.base_url), t(&base_url_from(r)));
                let _ = writeln!(out, "| auth header | {} ({}) |", t(&r.auth.header), t(&r.auth.scheme));
                let _ = writeln!(out, "| key | {} |", t(&key_line(r)));
                if let Some(p) = &r.probe {
                    let _ = writeln!(out, "| API answer | {} |", t(&answer_words(p)));
                }
            }
            Subject::Probe(p) => {
                let _ = writeln!(out, "### probe — {}\n", code(&p.url));
                let _ = writeln!(out, "| | |\n|---|---|");
                let _ = writeln!(out, "| provider | {} |", t(p.provider.as_deref().unwrap_or("")));
                let _ = writeln!(out, "| key | {} |", t(&sent_key(p)));
                let _ = writeln!(out, "| API answer | {} |", t(&answer_words(&p.probe)));
            }
            Subject::Capture(c) => {
                let _ = writeln!(out, "### capture — {} {}\n", t(&c.method), code(&c.path));
                let a = match &c.auth {
                    None => "no credential header".to_string(),
                    Some(a) => match &a.placeholder {
                        Some(p) => format!("placeholder {p}"),
                        None => format!("{} {} {}", a.header, a.scheme, fp_short(a.fp.as_ref())),
                    },
                };
                let ua = c.user_agent.as_deref().unwrap_or("");
                let _ = writeln!(out, "arrived: {}; user agent: {}\n", t(&a), t(ua));
            }
            Subject::Response(r) => {
                let at = format!("{}:{}", r.source.file, r.source.line);
                let _ = writeln!(out, "### response — {} ({})\n", code(&at), status_words(r.status));
            }
        }
        let v = r.verdict();
        if let Some(c) = ch {
            chain::write_markdown(&mut out, c, &t, &code);
            if c.later_hop_fails() {
                let _ = writeln!(out, "\n**Verdict**: {} {}", v.mark(), verdict_words(r, view));
                continue;
            }
        }
        let Some(root) = r.root else {
            let _ = writeln!(out, "\n**Verdict**: {} {}", v.mark(), t(&nothing_found(r, view)));
            if v == Verdict::NotVerifiable {
                let _ = writeln!(out, "- fix: {VERIFY_HINT}");
            }
            continue;
        };
        let _ = writeln!(out, "\n**Verdict**: {} {}", v.mark(), verdict_words(r, view));
        let role = if matches!(v, Verdict::Failing | Verdict::Warning) { "**Root cause**" } else { "**Finding**" };
        let _ =
            writeln!(out, "\n{role}: {} ({}) — {}", code(root.code.as_str()), root.severity.as_str(), t(&root.summary));
        for ev in &root.evidence {
            let _ = writeln!(out, "- evidence: {}", t(ev));
        }
        for fx in &root.fix {
            let _ = writeln!(out, "- fix: {}", t(fx));
        }
        if v == Verdict::NotVerifiable && root.fix.is_empty() {
            let _ = writeln!(out, "- fix: {VERIFY_HINT}");
        }
        for d in &r.explained {
            let _ = writeln!(out, "- which explains: {} — {}", code(d.code.as_str()), t(&d.summary));
        }
        for d in &r.related {
            let _ = writeln!(out, "- also seen: {} — {}", code(d.code.as_str()), t(&d.summary));
        }
        if let Some(d) = r.accepted {
            let _ = writeln!(out, "- probe: {}", t(&d.summary));
        }
        if let Some(line) = completion::unchecked(s, r) {
            let _ = writeln!(out, "- {}", t(&line));
        }
        for d in &r.also {
            let _ = writeln!(out, "\nAlso: {} ({}) — {}", code(d.code.as_str()), d.severity.as_str(), t(&d.summary));
            for ev in &d.evidence {
                let _ = writeln!(out, "- evidence: {}", t(ev));
            }
            for fx in &d.fix {
                let _ = writeln!(out, "- fix: {}", t(fx));
            }
        }
    }
    let files: Vec<String> =
        templates(&subjects, &readings).iter().map(|s| code(&format!("{}:{}", s.source.file, s.source.line))).collect();
    templates_line(&mut out, &files);
    let _ = writeln!(out, "\n<sub>Keys appear only as prefix, last 4 characters and length.</sub>");
    out
}

/// The report as a stage of the stream driver: records pass through (the
/// JSON format writes them), each root cause of error severity makes the
/// status 1, and the records are kept when words are to be written.
struct Collect {
    keep: bool,
    records: Mutex<Vec<Record>>,
}

impl Stage for Collect {
    fn expects(&self) -> stage::Expects {
        stage::Expects { what: "records", from: "keyhole-classify's output" }
    }

    fn apply(&self, _: &mut Record, _: &Ctx) {}

    fn apply_batch(&self, records: &mut [Record], _: &Ctx) {
        if self.keep {
            self.records.lock().unwrap_or_else(|e| e.into_inner()).extend(records.iter().cloned());
        }
    }

    fn status_of(&self, record: &Record) -> Status {
        record_status(record)
    }
}

/// The exit status one record gives: 1 for a failing verdict (a template
/// never fails; a probe without an answer does, docs/records.md#exit-status).
fn record_status(record: &Record) -> Status {
    if verdict::of_record(record) == Some(Verdict::Failing) {
        Status::Found
    } else {
        Status::Ok
    }
}

/// The exit status the verdicts of `records` give (`keyhole doctor`'s, as keyhole-report's).
pub fn status(records: &[Record]) -> Status {
    records.iter().map(record_status).fold(Status::Ok, Status::worst)
}

/// The exit status when nothing is printed (`keyhole doctor --quiet`, a CI
/// preflight): 1 also when something could not be checked — not probed
/// (`--offline`, no network), a key keyhole cannot read, records no
/// keyhole-classify read — as silence must not read as "all is well"
/// (docs/records.md#exit-status).
pub fn quiet_status(records: &[Record]) -> Status {
    let net = unreachable(records);
    let unchecked = subjects(records).iter().any(|s| {
        matches!(s.read(net.as_ref()).verdict(), Verdict::NotProbed | Verdict::NotVerifiable | Verdict::Unclassified)
    });
    status(records).worst(if unchecked { Status::Found } else { Status::Ok })
}

/// The words for `records`, in `format` (not [`Format::Json`]).
/// The records are redacted first, as the boundary writes them
/// (docs/records.md#redaction): `keyhole doctor`'s records, kept in memory,
/// give the same words as the pipeline's.
pub fn render(records: &[Record], format: Format, style: &Style, home: &Path, view: View) -> String {
    let records: Vec<Record> = records.iter().map(keyhole_core::redact::record).collect();
    match format {
        Format::Markdown => markdown_with(&records, &home.display().to_string(), view),
        Format::Text | Format::Json => text_with(&records, style, view),
    }
}

/// keyhole-report's run: the records of `files` (none, or `-`: standard
/// input) to standard output. Status 1 when a site's verdict is failing, 2
/// when an input line was not a record or a file cannot be read.
pub fn run(files: &[PathBuf], format: Format, style: &Style, home: &Path) -> Result<Status> {
    let ctx = Ctx::new(TOOL_NAME);
    let stage = Collect { keep: format != Format::Json, records: Mutex::new(Vec::new()) };
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    // Every file is opened before any is read: a missing one is said at once.
    let inputs = files
        .iter()
        .map(|f| match fsread::is_stdin(f) {
            true => Ok(None),
            false => std::fs::File::open(f).map(Some).map_err(|e| Error::input(fsread::arg_error(f, &e))),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut status = Status::Ok;
    for input in inputs {
        status = status.worst(match (input, format) {
            // The records passed on as they come (`tail -f | keyhole-report --format json`).
            (None, Format::Json) => stage::run(&stage, &ctx)?,
            (Some(file), Format::Json) => stage::run_on(&stage, io::BufReader::new(file), io::stdout(), &ctx)?,
            (Some(file), _) => stage::run_on(&stage, io::BufReader::new(file), io::sink(), &ctx)?,
            (None, _) => {
                stage::hint_if_terminal(TOOL_NAME, stage.expects());
                stage::run_on(&stage, io::stdin().lock(), io::sink(), &ctx)?
            }
        });
    }
    ctx.say_notes(false);
    if format != Format::Json {
        let records = stage.records.into_inner().unwrap_or_else(|e| e.into_inner());
        write_words(&render(&records, format, style, home, View::default()))?;
    }
    Ok(status)
}

/// Words to standard output, through the redaction boundary and made safe
/// for a terminal (docs/records.md#redaction): the only colour sequences
/// left are the ones [`Style`] wrote, as every string from a record was
/// [`clean`]ed. A closed reader is not a failure (the caller's
/// [`keyhole_core::error::exit`] says so).
pub fn write_words(words: &str) -> Result<()> {
    io::stdout().lock().write_all(keyhole_core::redact::words(words, true).as_bytes())?;
    Ok(())
}

/// "3 templates skipped: …", once at the end, in either format.
fn templates_line(out: &mut String, files: &[String]) {
    if files.is_empty() {
        return;
    }
    let n = files.len();
    let what = if n == 1 { "1 template".to_string() } else { format!("{n} templates") };
    let _ = writeln!(out, "\n{what} skipped: {} (examples no tool loads)", files.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(key: &str, diagnoses: &str) -> Record {
        Record::from_json(&format!(
            r#"{{"type":"site","v":1,"id":"t:/h/c#/0","host":"h","tool":"t","source":{{"file":"/h/c","line":3}},"provider":"p","model":null,"base_url":"u","base_url_from":"default","auth":{{"header":"authorization","scheme":"bearer"}},"key":{key}{diagnoses}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn key_lines_name_where_the_key_comes_from() {
        let line = |k: &str| key_line(site(k, "").site().unwrap());
        assert_eq!(line(r#"{"from":"env","var":"X"}"#), "$X (read implicitly)");
        assert_eq!(line(r#"{"from":"placeholder","text":"${env:X}"}"#), "placeholder ${env:X}");
        assert_eq!(line(r#"{"from":"none"}"#), "none");
        assert_eq!(
            line(r#"{"from":"literal","fp":{"prefix":"sk-","last4":"ab\n","len":9,"sha8":"0","flaws":["quoted"]}}"#),
            "literal key sk-…ab\\n (9 bytes) flaws: quoted"
        );
    }

    #[test]
    fn the_worst_severity_decides_the_verdict_and_unclassified_sites_say_so() {
        // A warning root cause whose symptom is an error (a shadowed key the
        // API refuses) is a failing site, not a warning.
        let d = |sev: &str| format!(r#"{{"code":"unknown","severity":"{sev}","summary":"s"}}"#);
        let recs = vec![
            site(r#"{"from":"none"}"#, &format!(r#","diagnoses":[{},{}]"#, d("warning"), d("error"))),
            site(r#"{"from":"none"}"#, &format!(r#","diagnoses":[{}]"#, d("error"))),
            site(r#"{"from":"none"}"#, &format!(r#","diagnoses":[{}]"#, d("warning"))),
            site(r#"{"from":"none"}"#, ""),
        ];
        assert_eq!(status(&recs), Status::Found);
        let t = text(&recs, &Style { color: false });
        assert!(t.starts_with("keyhole: 4 checked — 2 failing, 1 with warnings, 1 not classified\n"), "{t}");
        assert!(t.contains("not classified: pipe the records through keyhole-classify"), "{t}");
        assert_eq!(status(&recs[2..]), Status::Ok);
    }

    #[test]
    fn a_provider_error_body_gives_its_message() {
        let body: Value = serde_json::from_str(r#"{"error":{"message":"User not found.","code":401}}"#).unwrap();
        assert_eq!(body_message(&body).as_deref(), Some("User not found."));
        assert_eq!(body_message(&Value::String("x".into())), None);
        assert_eq!(body_message(&serde_json::from_str(r#"{"error":"x"}"#).unwrap()), None);
    }
}
