//! keyhole-classify: names the root cause and the fix (docs/records.md#diagnoses and #diagnosis-codes), from
//! the evidence of every earlier tool: the site's static facts, keyhole-env's
//! facts and the probe's answer. Also reads raw HTTP (`curl -si`) and logs.
//!
//! [`ClassifyStage`] is the stage keyhole-classify runs over a record stream
//! and `keyhole doctor` runs in-process; [`run_http`] and [`run_log`] are the
//! `--http` and `--log` modes.

mod account;
mod gateway;
pub mod logscan;
pub mod rawhttp;
pub mod rules;
mod services;
mod together;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use keyhole_core::cli;
use keyhole_core::diagnose;
use keyhole_core::error::{Error, Result};
use keyhole_core::provider::{self, AuthHeader, Provider};
use keyhole_core::record::env::{
    Candidate, Definition, DefinitionKind, Env, GuardKind, LacksBecause, Outcome, ProcessFact, Role, SourceKind,
};
use keyhole_core::record::probe::{ErrorKind, Probe};
use keyhole_core::record::{
    Code, Diagnosis, Extra, KeySource, ProbeRecord, Record, Response, Severity, Site, Source, VERSION,
};
use keyhole_core::secret::redact_key_shapes;
use keyhole_core::stage::{self, Ctx, Output, Stage};
use keyhole_core::tool::{self, Tool};
use keyhole_core::Status;
use rules::{Answer, Rule, Table};
use serde_json::Value;

pub const TOOL_NAME: &str = "keyhole-classify";

/// The classify stage: adds `diagnoses` to every `site`, root cause first;
/// other records pass through. Exit status 1 when a site has an
/// error-severity diagnosis.
pub struct ClassifyStage {
    pub table: Table,
}

impl ClassifyStage {
    pub fn new(table: Table) -> Self {
        ClassifyStage { table }
    }

    /// The embedded rules, with the rules of `--rules FILE` in front.
    pub fn load(rules: Option<&Path>) -> Result<Self> {
        let extra = match rules {
            Some(f) => Some(
                keyhole_core::fsread::read_arg_text(f, 4 * 1024 * 1024)
                    .map_err(|e| Error::input(format!("--rules: {e}")))?,
            ),
            None => None,
        };
        Ok(ClassifyStage::new(Table::load(extra.as_deref())?))
    }
}

impl Stage for ClassifyStage {
    fn expects(&self) -> stage::Expects {
        stage::Expects { what: "records", from: "keyhole-probe's (or keyhole-env's) output" }
    }

    fn apply(&self, record: &mut Record, _: &Ctx) {
        match record {
            Record::Site(site) => site.diagnoses = Some(classify_site(site, &self.table)),
            Record::Probe(p) => p.diagnoses = Some(classify_site(&probe_as_site(p), &self.table)),
            _ => {}
        }
    }

    fn status_of(&self, record: &Record) -> Status {
        match record {
            Record::Site(_) | Record::Probe(_) => stage::findings(std::slice::from_ref(record)),
            _ => Status::Ok,
        }
    }
}

fn diag(
    code: Code,
    severity: Severity,
    summary: impl Into<String>,
    evidence: Vec<String>,
    fix: Vec<String>,
) -> Diagnosis {
    Diagnosis::new(code, severity, summary).evidence(evidence).fix(fix)
}

/// A diagnosis from a table rule, its summary filled from the answer.
pub fn from_rule(r: &Rule, a: &Answer, evidence: Vec<String>) -> Diagnosis {
    let summary = r
        .summary
        .replace("{message}", &a.message)
        .replace("{status}", &a.status.map(|s| s.to_string()).unwrap_or_default())
        .replace("{provider}", a.provider.as_deref().unwrap_or("the API"))
        .replace("{upstream}", a.upstream.map_or("provider", |p| p.display));
    let mut d = diag(r.code, r.severity, summary, evidence, r.fix.clone());
    d.rule = Some(r.id.clone());
    d
}

/// Ways to write a key reference the tool really expands: the tool's own
/// words, else the forms it expands.
fn placeholder_fix(tool: Option<&Tool>, name: &str, var: &str) -> Vec<String> {
    let v = if var.is_empty() { "OPENROUTER_API_KEY" } else { var };
    if let Some(own) = tool.map(|t| t.fixes.placeholder).filter(|f| !f.is_empty()) {
        return own.iter().map(|f| tool::fill(f, v)).collect();
    }
    let forms: Vec<&str> = tool
        .map(|t| t.expands.iter().filter_map(|s| keyhole_core::syntax::get(s).map(|x| x.form)).collect())
        .unwrap_or_default();
    if forms.is_empty() {
        vec![format!("{name} expands no variables here: write the key itself, or configure it where {name} reads keys")]
    } else {
        vec![format!("write the reference as {name} expands it: {}", forms.join(" or "))]
    }
}

fn restart_fix(role: &str) -> String {
    if Role::of(role).is_editor() {
        "VS Code resolves the shell environment once per server process: run \"Remote-SSH: Kill VS Code Server on Host\" and reconnect (remote), or quit every VS Code window (local); reloading the window is not enough".into()
    } else {
        format!("restart the {role} process from a shell that has the variable")
    }
}

/// A standalone probe (`keyhole-probe URL`, docs/records.md#probe) read as
/// a site of no catalogued tool whose key is the one the probe sent: the
/// same rules diagnose its answer and the key's flaws.
fn probe_as_site(r: &ProbeRecord) -> Site {
    let req = r.probe.request.as_ref();
    let header = req.map_or("authorization", |q| q.auth_header.as_str());
    let fp = req.and_then(|q| q.fp.clone());
    Site {
        v: VERSION,
        id: format!("keyhole-probe:{}", r.url),
        host: String::new(),
        tool: "keyhole-probe".into(),
        source: Source::new(&r.url, 1, None),
        provider: r.provider.clone().unwrap_or_default(),
        model: None,
        base_url: r.url.clone(),
        // The URL is the endpoint asked, not a base URL to check.
        base_url_from: "default".into(),
        auth: keyhole_core::record::Auth::new(header, if header == "authorization" { "bearer" } else { "raw" }),
        key: keyhole_core::record::KeyRef {
            from: if fp.is_some() { KeySource::Literal } else { KeySource::None },
            fp,
            ..Default::default()
        },
        also: Vec::new(),
        assigns: None,
        template: false,
        gateway: None,
        env: None,
        probe: Some(r.probe.clone()),
        diagnoses: None,
        extra: Extra::new(),
    }
}

/// The ordered diagnoses of one site: root cause first.
pub fn classify_site(site: &Site, table: &Table) -> Vec<Diagnosis> {
    let tool_name = site.tool.as_str();
    let tool = tool::get(tool_name);
    let pname = site.provider.as_str();
    let p = provider::get(pname);
    let key = &site.key;
    let from = key.from;
    let var = key.var_name();
    let mut causes: Vec<Diagnosis> = Vec::new();
    let mut symptoms: Vec<Diagnosis> = Vec::new();
    let mut info: Vec<Diagnosis> = Vec::new();

    // A template is an example to copy: nothing loads it, nothing to check.
    if site.template {
        return vec![diag(
            Code::KeyTemplate,
            Severity::Info,
            format!("{} is a template (an example to copy): no tool loads it", site.source.file),
            vec![site.at()],
            vec![],
        )];
    }

    // 0. A key written where the tool never reads it: the user's key is not
    // the one sent (docs/records.md#diagnosis-codes, `key.ignored`).
    if let Some(ig) = &key.ignored {
        let display = tool.map_or(tool_name, |t| t.display);
        causes.push(diag(
            Code::KeyIgnored,
            Severity::Error,
            format!(
                "{display} does not read the key written at {}:{} ({}, {}): it takes its key from {}",
                site.source.file,
                ig.line,
                ig.pointer,
                ig.fp.short(),
                if var.is_empty() { "its own store".to_string() } else { format!("${var} or its own store") }
            ),
            vec![format!("{}:{}", site.source.file, ig.line)],
            vec![ig.fix.clone()],
        ));
    }

    // 1. The site's static facts.
    let with_note = |mut ev: Vec<String>| {
        ev.extend(key.note.clone());
        ev
    };
    match from {
        KeySource::Placeholder => {
            let text = key.text.as_deref().unwrap_or("");
            let ev = with_note(vec![format!("{} the key is the text {text:?}", site.at())]);
            causes.push(diagnose::placeholder(tool_name, text, ev, placeholder_fix(tool, tool_name, var)));
        }
        KeySource::None if p.is_some_and(|p| p.auth_header != AuthHeader::None) => {
            let ev = with_note(vec![format!("{} configures no key", site.at())]);
            let fix = match tool.map(|t| t.fixes.no_key).filter(|f| !f.is_empty()) {
                Some(own) => own.iter().map(|f| tool::fill(f, var)).collect(),
                None => {
                    vec![format!("configure the {} key where {tool_name} reads it", p.map_or("API", |p| p.display))]
                }
            };
            causes.push(diag(
                Code::KeyNone,
                Severity::Error,
                format!("no key is configured for {tool_name}'s {pname} entry"),
                ev,
                fix,
            ));
        }
        KeySource::Store => info.push(diag(
            Code::KeyStore,
            Severity::Info,
            // What is known of it (a SecretStorage secret's name and date) follows.
            match key.note.as_deref().filter(|_| key.store.as_deref() == Some("vscode-secretstorage")) {
                Some(known) => format!(
                    "the key is in {}, which keyhole cannot read: {known}",
                    key.store.as_deref().unwrap_or("a store")
                ),
                None => {
                    format!("the key is in {}, which keyhole cannot read", key.store.as_deref().unwrap_or("a store"))
                }
            },
            vec![site.at()],
            vec!["see what the tool sends with keyhole-capture (point its base URL at it)".into()],
        )),
        _ => {}
    }
    // A base URL that is not an API root, told from the URL alone (docs/wire.md#base-urls-that-are-not-api-roots).
    if site.base_url_from != "default" {
        if let Some(b) = keyhole_core::baseurl::check(&site.base_url, p, tool.map(|t| t.url_join)) {
            causes.push(diag(
                Code::UrlBadBase,
                Severity::Error,
                format!("the base URL {} is not an API root: {}", site.base_url, b.what.join("; ")),
                vec![site.at()],
                vec![format!("set the base URL to {}", b.fixed)],
            ));
        }
    }
    // 2a. The tool's resolution order: which candidate it sends, and why the others lose.
    let shadowing = site.env.as_ref().is_some_and(|env| resolution_causes(site, env, tool, var, &mut causes));
    let fp = if from == KeySource::Literal {
        key.fp.as_ref()
    } else {
        site.env.as_ref().and_then(|e| e.effective.as_ref()).and_then(|e| e.fp.as_ref())
    };
    // An empty value that shadows a key is the shadowing's fault, not a flaw to fill in.
    if let Some(fp) = fp.filter(|_| !shadowing) {
        let handling = diagnose::ValueHandling::of(tool);
        causes.extend(diagnose::key_flaws(fp, p, tool_name, handling, &[site.at()]));
    }

    // The header the key travels in must be one the API reads.
    // (Not when the tool sends the key in a header the API reads too: site.also.)
    let also_read = |p: &Provider| site.also.iter().any(|a| p.reads_at(&site.base_url, &a.header));
    if let Some(p) =
        p.filter(|p| from != KeySource::None && !p.reads_at(&site.base_url, &site.auth.header) && !also_read(p))
    {
        let fix = tool.and_then(|t| t.header_fix(p.auth_header));
        causes.extend(diagnose::wrong_header(p, &site.auth.header, tool_name, vec![site.at()], fix));
    }

    // A local server needs no key: whatever the tool sends is harmless (docs/wire.md#local-servers).
    let loopback = ["://localhost", "://127.", "://[::1]"].iter().any(|h| site.base_url.contains(h));
    if let Some(p) = p.filter(|p| p.is_local_server() && loopback) {
        if matches!(from, KeySource::Literal | KeySource::Placeholder) {
            let unless = if p.auth_header == AuthHeader::None { "" } else { " unless it was started with --api-key" };
            info.push(diag(
                Code::AuthNotNeeded,
                Severity::Info,
                format!("{} needs no key{unless}: the text {tool_name} sends as one is harmless", p.display),
                vec![site.at()],
                vec![],
            ));
        }
    }
    // 2. keyhole-env's facts.
    if from == KeySource::Env {
        if let Some(env) = &site.env {
            env_causes(site, env, tool_name, var, &mut causes);
        }
    }

    // 3. The probe.
    if let Some(probe) = &site.probe {
        probe_diags(site, probe, p, table, &mut causes, &mut symptoms, &mut info);
        // Several credential headers in one request: the one the API reads first failed.
        causes.splice(0..0, together::reads_first(site, p));
    }

    let has_ok = info.iter().any(|d| d.code == Code::Ok);
    // This line is not what the tool sends: that is the first thing to know, whatever the probe says of it.
    let not_sent = causes.iter().any(|d| d.rule.as_deref() == Some(NOT_SENT));
    // The server's complaint is a symptom when something upstream explains it.
    if causes.is_empty() {
        if let Some(first) = symptoms.first_mut().filter(|d| d.code == Code::AuthMissing) {
            let probe = site.probe.as_ref();
            first.evidence.push(format!(
                "checked: key reference ({from}), {}, redirects {}, proxy {}",
                if site.env.is_some() { "launch contexts and processes" } else { "no keyhole-env facts" },
                probe.map_or(0, |p| p.redirects.len()),
                if probe.and_then(|p| p.proxy.as_ref()).is_none() { "none" } else { "in effect" }
            ));
        }
    }
    let mut out = causes;
    if has_ok && out.iter().all(|d| !d.is_error() && !account::before_ok(d)) {
        // ok is the root when the probe proved the key works and nothing is wrong.
        out.retain(|d| d.code != Code::Ok);
        let (ok, rest): (Vec<Diagnosis>, Vec<Diagnosis>) = info.into_iter().partition(|d| d.code == Code::Ok);
        info = rest;
        out = ok.into_iter().chain(out).collect();
    }
    if not_sent {
        if let Some(j) = out.iter().position(|d| d.rule.as_deref() == Some(NOT_SENT)) {
            let d = out.remove(j);
            out.insert(0, d);
        }
    }
    out.extend(symptoms);
    out.extend(info);
    out
}

/// The marker of a shadowed diagnosis about the site's own line (not the tool's effective value).
const NOT_SENT: &str = "resolution.not_sent";

/// Causes read off the tool's resolution order (`env.resolution`,
/// docs/launch-contexts.md#resolution). True when an empty value shadows a key.
fn resolution_causes(site: &Site, env: &Env, tool: Option<&Tool>, var: &str, causes: &mut Vec<Diagnosis>) -> bool {
    let res = &env.resolution;
    let Some(win) = res.iter().find(|c| c.outcome == Outcome::Sends) else { return false };
    let var = if var.is_empty() { env.var.as_str() } else { var };
    let name = tool.map_or(site.tool.as_str(), |t| t.display);
    let at = |c: &Candidate| c.line.map_or(c.at.clone(), |l| format!("{}:{l}", c.at));
    // A line of a .env the tool loads, which is not the line the tool uses.
    if site.key.from == KeySource::Literal {
        let own = res.iter().find(|c| c.at == site.source.file && c.line == Some(site.source.line));
        if let Some(own) = own.filter(|c| c.outcome != Outcome::Sends) {
            let fix = match own.outcome {
                Outcome::Overridden => format!(
                    "keep one {var}= line in {}: delete line {} or line {}, leaving the key that works",
                    site.source.file,
                    site.source.line,
                    win.line.unwrap_or(0)
                ),
                _ => format!("{name} sends the value at {}: change or remove that one, not this line", at(win)),
            };
            let mut d = diag(
                Code::KeyShadowed,
                Severity::Warning,
                format!("{name} does not use this {var}: {}", own.because),
                vec![format!("{} {var}=…", site.at()), format!("{} sends", at(win))],
                vec![fix],
            );
            d.rule = Some(NOT_SENT.into());
            causes.push(d);
        }
        return false;
    }
    let has_value = |c: &&Candidate| c.fp.as_ref().is_some_and(|f| f.len > 0);
    let lost: Vec<&Candidate> = res.iter().filter(|c| c.outcome == Outcome::Shadowed).filter(has_value).collect();
    let first_lost = lost.first();
    // An empty line that wins over a key.
    if let Some(first_lost) = first_lost.filter(|_| win.fp.as_ref().is_some_and(|f| f.len == 0)) {
        let file_fix = match win.line {
            Some(l) => format!("delete line {l} of {} (the empty {var}=)", win.at),
            None => format!("unset the empty {var} in {}", win.at),
        };
        causes.push(diag(
            Code::KeyShadowed,
            Severity::Error,
            format!("an empty {var} at {} wins over the key in {}: {name} sends an empty key", at(win), at(first_lost)),
            vec![
                format!("{} {var}= (empty): {}", at(win), win.because),
                format!("{} {var}=… (not used)", at(first_lost)),
            ],
            vec![with_verdict(file_fix, tried(site, first_lost), &at(first_lost))],
        ));
        return true;
    }
    // Two lines of one .env file: the parsers take the last, which may not be the one meant.
    let earlier = res.iter().find(|c| {
        c.outcome == Outcome::Overridden
            && c.at == win.at
            && c.fp.as_ref().map(|f| &f.sha8) != win.fp.as_ref().map(|f| &f.sha8)
    });
    if let (Some(e), Some(wl)) = (earlier, win.line) {
        let el = e.line.unwrap_or(0);
        causes.push(diag(
            Code::KeyShadowed,
            Severity::Warning,
            format!("{} sets {var} twice, with two keys: {name} sends line {wl} (the last), not line {el}", win.at),
            vec![format!("{}: {}", at(e), e.because), format!("{} sends", at(win))],
            vec![match (tried(site, e), sent_works(site)) {
                (Some((true, _)), _) => format!("delete line {wl} of {}: line {el}'s key works (probed)", win.at),
                (Some((false, _)), Some(true)) => {
                    format!("delete line {el} of {}: it holds a key that does not work (probed)", win.at)
                }
                (Some((false, st)), _) => format!(
                    "keep one {var}= line in {}: neither key works (line {el}: {}), so put a working key on the one you keep",
                    win.at,
                    st.map_or("no answer".to_string(), |s| s.to_string())
                ),
                (None, _) => format!(
                    "keep one {var}= line in {}: delete line {wl} if line {el} holds the key that works, else line {el}",
                    win.at
                ),
            }],
        ));
        return false;
    }
    // A login the tool would use were the key not set (Claude Code's /login), while the key fails.
    if sent_works(site) == Some(false) {
        if let Some(login) = res.iter().find(|c| c.source == SourceKind::Store && c.outcome == Outcome::Unreadable) {
            causes.push(diag(
                Code::KeyShadowed,
                Severity::Warning,
                format!("{name} sends {var} ({}), which fails, before the login saved in {}", at(win), login.at),
                vec![format!("{}: {}", login.at, login.because)],
                store_fix_for(tool, &login.at).map(str::to_string).into_iter().collect(),
            ));
        }
    }
    // A credential the tool saved itself wins over the variable.
    if let Some(first_lost) = first_lost.filter(|_| win.source == SourceKind::Store) {
        let saved = win.fp.as_ref().map_or("a login".to_string(), |f| format!("the key {}", f.short()));
        let differs = win.fp.as_ref().map(|f| &f.sha8) != first_lost.fp.as_ref().map(|f| &f.sha8);
        if differs {
            let fix = store_fix_for(tool, &win.at)
                .map(|f| with_verdict(f.to_string(), tried(site, first_lost), &at(first_lost)))
                .into_iter()
                .collect();
            causes.push(diag(
                Code::KeyShadowed,
                Severity::Warning,
                format!("{name} sends {saved} saved in {}, not {var} from {}", win.at, at(first_lost)),
                vec![format!("{}: {}", win.at, win.because), format!("{} {var}=… (not used)", at(first_lost))],
                fix,
            ));
        }
    }
    false
}

/// What the probe found of a value the tool does not send (`probe.alternatives`):
/// (works, status); `None` when it was not tried.
fn tried(site: &Site, c: &Candidate) -> Option<(bool, Option<u16>)> {
    let sha8 = &c.fp.as_ref()?.sha8;
    let a = site.probe.as_ref()?.alternatives.iter().find(|a| &a.sha8 == sha8 && a.at == c.at && a.line == c.line)?;
    (a.status.is_some() || a.error.is_some()).then_some((a.works, a.status))
}

/// Whether the value the tool sends worked, when the probe said.
fn sent_works(site: &Site) -> Option<bool> {
    site.probe.as_ref()?.status().map(|s| (200..300).contains(&s))
}

/// A fix, and what the probe found of the value it leaves the tool with.
fn with_verdict(fix: String, verdict: Option<(bool, Option<u16>)>, at: &str) -> String {
    match verdict {
        Some((true, _)) => format!("{fix}: then the key at {at} is sent, and it works (probed)"),
        Some((false, st)) => format!(
            "{fix}; the key at {at} does not work either ({}): put a working key there",
            st.map_or("no answer".to_string(), |s| format!("the API answered {s}"))
        ),
        None => fix,
    }
}

/// The tail of a store's `~/…` path.
fn store_tail(path: &str) -> &str {
    path.trim_start_matches("~/")
}

/// The fix of the catalogue store kept in `file`.
fn store_fix_for(tool: Option<&Tool>, file: &str) -> Option<&'static str> {
    tool?.stores.iter().find(|s| file.ends_with(store_tail(s.path))).map(|s| s.fix)
}

/// A definition kind as the record writes it (`vscode_terminal`).
fn kind_name(k: DefinitionKind) -> String {
    match serde_json::to_value(k) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The launch contexts besides an interactive terminal that see the
/// variable set and exported, as words ("login, ssh_command"), and the
/// `file:line` the first of them reads it from.
fn seen_beyond_the_terminal(env: &Env) -> Option<(String, Option<String>)> {
    let seen: Vec<&str> =
        env.contexts.iter().filter(|(c, set)| **set && c.as_str() != "interactive").map(|(c, _)| c.as_str()).collect();
    let at = seen.first().and_then(|c| env.context_sources.get(*c)).cloned();
    (!seen.is_empty()).then(|| (seen.join(", "), at))
}

fn env_causes(site: &Site, env: &Env, tool_name: &str, var: &str, causes: &mut Vec<Diagnosis>) {
    // A service that starts the tool decides what it gets: its cause first, and no shell fix after it.
    let services = services::launcher_causes(site, env, tool_name, var);
    if !services.is_empty() {
        causes.extend(services);
        return;
    }
    let defs = &env.definitions;
    let def_at = |d: &Definition| format!("{}:{}", d.file, d.line);
    let eff = env.effective.as_ref();
    if eff.is_none() {
        if defs.is_empty() {
            let mut ev = vec![
                format!("{} reads {var}", site.at()),
                "no startup file, .env file or environment defines it".into(),
            ];
            // What the tool does without it, in the catalogue's words (Codex's env_key).
            ev.extend(site.key.note.clone().filter(|_| site.key.syntax.as_deref() == Some("env_key")));
            let mut fix = vec![format!(
                "export {var}=… in ~/.profile (every login and VS Code) or put it in the .env file {tool_name} loads"
            )];
            for n in &env.near_misses {
                ev.push(format!("{}:{} defines {} — a misspelling of {var}?", n.file, n.line, n.name));
                fix.insert(0, format!("rename {} to {var} in {}", n.name, n.file));
            }
            causes.push(diag(
                Code::KeyEnvUnset,
                Severity::Error,
                format!("{var} is set nowhere {tool_name} can see"),
                ev,
                fix,
            ));
        } else if let Some((d, g)) =
            defs.iter().find_map(|d| d.after_guard.as_ref().filter(|_| d.exported).map(|g| (d, g)))
        {
            let kind = if g.kind == GuardKind::Tty { "a tty guard" } else { "an interactive-only guard" };
            causes.push(diag(
                Code::KeyAfterGuard,
                Severity::Error,
                format!("export {var} sits below {kind}: {tool_name} starts non-interactively and never reaches it"),
                vec![format!("{} export {var}", def_at(d)), format!("{}:{} guard", g.file, g.line)],
                vec![
                    format!("move the export above line {} of {}", g.line, g.file),
                    "or put it in ~/.profile (login shells, VS Code) / ~/.zshenv (zsh)".into(),
                ],
            ));
        } else if let Some(d) = defs.iter().find(|d| !d.exported) {
            causes.push(diag(
                Code::KeyNotExported,
                Severity::Error,
                format!("{var} is assigned but not exported: child processes never get it"),
                vec![format!("{} {var}=…", def_at(d))],
                vec![format!("write export {var}=…")],
            ));
        } else if let Some((seen, at)) = seen_beyond_the_terminal(env) {
            // A file that login shells, ssh or VS Code read defines it, and the
            // environment checked still lacks it: that environment started
            // before the definition (after a fix, too), not a wrong file
            // (docs/launch-contexts.md#launch-contexts).
            let at = at.unwrap_or_else(|| defs.iter().map(def_at).collect::<Vec<_>>().join(", "));
            causes.push(diag(
                Code::KeyStaleProcess,
                Severity::Error,
                format!("{var} is defined at {at}, which {seen} read, but the environment checked started before it and lacks it"),
                vec![
                    format!("{at} export {var} (seen by {seen})"),
                    "the environment keyhole checked (this shell, or --env-file) has no such variable".into(),
                ],
                vec![format!(
                    "start a new login shell so it reads {at} (exec bash -l here, or open a new terminal; log out and in for desktop apps), then start {tool_name} from it"
                )],
            ));
        } else {
            let ev: Vec<String> = defs.iter().map(|d| format!("{} ({})", def_at(d), kind_name(d.kind))).collect();
            let terminal_only = defs.iter().all(|d| d.kind == DefinitionKind::VscodeTerminal);
            let fix = if terminal_only {
                vec!["terminal.integrated.env.* reaches the integrated terminal only, never extensions: define the variable in ~/.profile or the tool's .env".to_string()]
            } else {
                vec![format!(
                    "define {var} in a file the tool's launch context reads (~/.profile, ~/.zshenv, the tool's .env)"
                )]
            };
            causes.push(diag(
                Code::KeyWrongFile,
                Severity::Error,
                format!("{var} is defined only in files {tool_name}'s launch context never reads"),
                ev,
                fix,
            ));
        }
    }
    for p in env.processes.iter().filter(|p| p.lacks_because == Some(LacksBecause::Stale)) {
        causes.push(diag(
            Code::KeyStaleProcess,
            Severity::Error,
            format!("process {} ({}) started before {var} was defined and does not have it", p.pid, p.role),
            vec![format!("pid {} started {}", p.pid, p.started.as_deref().unwrap_or("?"))],
            vec![restart_fix(&p.role)],
        ));
    }
    let lacks = |p: &&ProcessFact| matches!(p.lacks_because, Some(LacksBecause::AfterGuard | LacksBecause::WrongFile));
    for p in env.processes.iter().filter(lacks) {
        if causes.iter().any(|c| matches!(c.code, Code::KeyAfterGuard | Code::KeyWrongFile)) {
            break;
        }
        let code =
            if p.lacks_because == Some(LacksBecause::AfterGuard) { Code::KeyAfterGuard } else { Code::KeyWrongFile };
        causes.push(diag(
            code,
            Severity::Error,
            format!(
                "process {} ({}) lacks {var}: its launch context ({}) never reads the definition",
                p.pid, p.role, p.launched_as
            ),
            defs.iter().map(def_at).collect(),
            vec![format!(
                "define {var} in ~/.profile (read by VS Code's resolver and login shells), then {}",
                restart_fix(&p.role)
            )],
        ));
    }
    let current = env.current.fp.as_ref();
    let covered = causes.iter().any(|c| c.code == Code::KeyShadowed);
    if let (Some(cur), Some((eff, efp))) = (current, eff.and_then(|e| e.fp.as_ref().map(|f| (e, f)))) {
        if cur.sha8 == efp.sha8 || covered {
            return;
        }
        if let Some(pid) = eff.from.strip_prefix("process:") {
            // The running process kept the value it started with; the shell has another one now.
            let p = env.processes.iter().find(|p| p.pid.to_string() == pid);
            let role = p.map_or(tool_name, |p| p.role.as_str());
            causes.push(diag(
                Code::KeyStaleProcess,
                Severity::Error,
                format!(
                    "process {pid} ({role}) still has the {var} it started with (…{}); your shell has another one now (…{})",
                    efp.last4, cur.last4
                ),
                vec![format!("pid {pid} started {}", p.and_then(|p| p.started.as_deref()).unwrap_or("?"))],
                vec![restart_fix(role)],
            ));
            return;
        }
        let at = eff.line.map_or(eff.from.clone(), |l| format!("{}:{l}", eff.from));
        let why = if eff.overrides_env { "loads it with override, so it beats" } else { "reads it instead of" };
        causes.push(diag(
            Code::KeyShadowed,
            Severity::Warning,
            format!(
                "{tool_name} gets {var} from {at} (…{}), not the one in your shell (…{}): it {why} the shell",
                efp.last4, cur.last4
            ),
            vec![format!("{at} effective")],
            vec![{
                let shell =
                    env.resolution.iter().find(|c| matches!(c.source, SourceKind::Environment | SourceKind::Process));
                match shell.and_then(|c| tried(site, c).map(|v| (c, v))) {
                    Some((c, v)) => with_verdict(format!("delete {at}"), Some(v), &c.at),
                    None => format!("put the key that works at {at}, or delete that line so the shell's is used"),
                }
            }],
        ));
    }
}

/// The JSON null, for a probe that has no answer body.
static NO_BODY: Value = Value::Null;

fn probe_diags(
    site: &Site,
    probe: &Probe,
    p: Option<&Provider>,
    table: &Table,
    causes: &mut Vec<Diagnosis>,
    symptoms: &mut Vec<Diagnosis>,
    info: &mut Vec<Diagnosis>,
) {
    let req = probe.request.as_ref();
    let url = req.map_or("", |r| r.url.as_str());
    if let Some(err) = &probe.error {
        let msg = err.message.clone();
        if req.is_some_and(|r| r.header_invalid) {
            causes.push(diag(
                Code::KeyMalformed,
                Severity::Error,
                "the key holds a newline or control character: no HTTP client sends it",
                vec![site.at(), msg],
                vec!["remove the newline at the end of the key".into()],
            ));
            return;
        }
        match err.kind {
            ErrorKind::Dns | ErrorKind::Connect | ErrorKind::Tls | ErrorKind::Timeout | ErrorKind::Proxy => causes
                .push(diag(
                    err.kind.code(),
                    Severity::Error,
                    format!("no HTTP answer: {msg}"),
                    vec![format!("probe {url}")],
                    // The probe's fix in the tool's own terms first (a trust store: docs/wire.md#trust-stores).
                    vec![probe.fix.as_deref().map_or_else(|| net_fix(err.kind), str::to_string)],
                )),
            ErrorKind::Protocol | ErrorKind::TooLarge => causes.push(diag(
                Code::NetConnect,
                Severity::Error,
                format!("no usable HTTP answer: {msg}"),
                vec![format!("probe {url}")],
                vec!["check the base URL: it must be the provider's HTTP API".into()],
            )),
            ErrorKind::Unresolved => {
                info.push(diag(Code::Unknown, Severity::Info, format!("not probed: {msg}"), vec![site.at()], vec![]))
            }
            // The send policy kept the key from a host that is not a known API (README.md#security).
            ErrorKind::NotAllowed => {
                let host = err.host.as_deref().unwrap_or("HOST");
                causes.push(diag(
                    err.kind.code(),
                    Severity::Warning,
                    msg,
                    vec![site.at(), format!("base URL {}", site.base_url)],
                    vec![format!("if you trust {host} with this key, probe it: keyhole doctor --allow-host {host}")],
                ))
            }
        }
        return;
    }
    let sent_in = req.map(|r| r.auth_header.as_str());
    let key_sent = sent_in.is_some_and(|h| h != "none");
    if let Some(hop) = probe.redirects.iter().find(|hop| !hop.auth_kept && key_sent) {
        let dropped: Vec<&str> =
            hop.clients.iter().flatten().filter(|(_, kept)| !**kept).map(|(k, _)| k.as_str()).collect();
        causes.push(diag(
            Code::HeaderDroppedRedirect,
            Severity::Error,
            "the base URL redirects to another origin, and clients drop the Authorization header on the way",
            vec![format!("{} {} → {}", hop.status, hop.from, hop.to), format!("drop it: {}", dropped.join(", "))],
            vec![format!("set the base URL to the final one: {}", hop.to.trim_end_matches(|c| c != '/'))],
        ));
    }
    if probe.stripped_by.as_deref() == Some("proxy") {
        let direct = probe.differential.as_ref().and_then(|d| d.get(1)).and_then(|l| l.status);
        causes.push(diag(
            Code::HeaderDroppedProxy,
            Severity::Error,
            "the key was sent, but the proxy in between strips it: the same request sent directly works",
            vec![
                format!("proxy {}", probe.proxy.as_deref().unwrap_or("?")),
                format!("direct: {}", direct.map_or("null".to_string(), |s| s.to_string())),
            ],
            vec!["exempt the API host from the proxy (NO_PROXY), or have the proxy pass Authorization".into()],
        ));
    }
    let status = probe.status();
    if let Some(s) = status.filter(|s| (200..300).contains(s)) {
        info.push(diag(
            Code::Ok,
            Severity::Info,
            format!("the key was accepted ({s})"),
            vec![format!("probe {} {url}", req.map_or("", |r| r.method.as_str()))],
            vec![],
        ));
        causes.extend(account::diagnoses(site, probe, p));
        return;
    }
    let body = probe.response.as_ref().map_or(&NO_BODY, |r| &r.body);
    let a = Answer::from_body(status, body, p.map(|p| p.name));
    let ev =
        vec![format!("probe: {} {}", status.map(|s| s.to_string()).unwrap_or_default(), redact_key_shapes(&a.message))];
    match table.match_answer(&a) {
        Some(rule) => {
            let mut d = from_rule(rule, &a, ev);
            gateway::name_the_hop(&mut d, site);
            // No credential arrived although the probe sent one: something in between dropped it.
            let no_creds = p.is_some_and(|p| p.says_no_credentials(&a.message));
            if no_creds
                && key_sent
                && causes.iter().all(|c| !matches!(c.code, Code::HeaderDroppedRedirect | Code::HeaderDroppedProxy))
            {
                causes.push(diag(
                    Code::HeaderDroppedProxy,
                    Severity::Error,
                    "the key was sent, but the API says no credential arrived: something in between strips it",
                    vec![format!("probe sent {}", sent_in.unwrap_or("")), d.evidence[0].clone()],
                    vec!["look for a proxy, gateway or redirect between the tool and the API (HTTPS_PROXY, a gateway chain): keyhole-capture shows each hop".into()],
                ));
            }
            if d.code == Code::Ok {
                d.severity = Severity::Info;
            }
            symptoms.push(d);
        }
        None => symptoms.push(diag(
            Code::Unknown,
            Severity::Warning,
            format!(
                "the API answered {}: {}",
                status.map(|s| s.to_string()).unwrap_or_default(),
                redact_key_shapes(&a.message)
            ),
            ev,
            vec![],
        )),
    }
}

fn net_fix(kind: ErrorKind) -> String {
    match kind {
        ErrorKind::Dns => "check the base URL's host name and the machine's DNS".into(),
        ErrorKind::Connect => "check the base URL's host and port, and that the server runs".into(),
        ErrorKind::Tls => "pass the CA with keyhole-probe --cacert, or fix the server's certificate; Node tools need NODE_EXTRA_CA_CERTS for a corporate CA".into(),
        ErrorKind::Timeout => "the server did not answer in time: check the network, the proxy, or raise --timeout".into(),
        _ => "check HTTPS_PROXY / NO_PROXY".into(),
    }
}

/// A `response` record for one raw answer (from --http or --log).
pub fn response_record(
    file: &str,
    line: u64,
    status: Option<u16>,
    body: Value,
    table: &Table,
    provider: Option<&str>,
    extra: Option<&Rule>,
) -> Record {
    let a = Answer::from_body(status, &body, provider);
    let ev = vec![format!("{file}:{line}")];
    let mut diagnoses = Vec::new();
    if let Some(r) = table.match_answer(&a).or(extra) {
        diagnoses.push(from_rule(r, &a, ev));
    } else if a.status.is_some_and(|s| s >= 400) {
        let summary = format!("{} {}", a.status.unwrap_or(0), redact_key_shapes(&a.message));
        diagnoses.push(diag(Code::Unknown, Severity::Warning, summary, ev, vec![]));
    } else if a.status.is_some_and(|s| (200..300).contains(&s)) {
        diagnoses.push(diag(Code::Ok, Severity::Info, format!("{} OK", a.status.unwrap_or(200)), ev, vec![]));
    }
    let mut body = body;
    keyhole_core::redact::value(&mut body);
    Record::Response(Response {
        v: VERSION,
        source: Source::new(file, u32::try_from(line).unwrap_or(u32::MAX), None),
        status: a.status,
        body,
        diagnoses,
        extra: Extra::new(),
    })
}

/// What `--http` reads from standard input.
const HTTP_INPUT: stage::Expects = stage::Expects { what: "HTTP answers", from: "curl -si output" };

/// `--http`: a `response` record for every HTTP answer in `curl -si`
/// output, from each file (`-`, or none given: standard input).
pub fn run_http<W: Write>(
    files: &[PathBuf],
    table: &Table,
    provider: Option<&str>,
    out: &mut Output<W>,
    ctx: &Ctx,
) -> Result<Status> {
    let stdin = [PathBuf::from("-")];
    for f in if files.is_empty() { &stdin[..] } else { files } {
        let (name, bytes) = match read_input(f, HTTP_INPUT) {
            Ok(x) => x,
            Err(e) => {
                ctx.note(e.message);
                ctx.raise(Status::Failed);
                continue;
            }
        };
        let found = rawhttp::parse(&bytes);
        if found.is_empty() {
            ctx.note(format!("{name}: no HTTP status line found (expected curl -si output)"));
            ctx.raise(Status::Failed);
        }
        for r in found {
            let rec = response_record(&name, r.line, Some(r.status), r.body, table, provider, None);
            ctx.raise(stage::findings(std::slice::from_ref(&rec)));
            out.write(&rec)?;
        }
    }
    Ok(ctx.status())
}

/// `--log`: a `response` record for every line of each log that a rule can
/// match, scanned on `threads` threads (default: one per CPU, at most 8).
pub fn run_log<W: Write>(
    files: &[PathBuf],
    threads: Option<usize>,
    table: &Table,
    provider: Option<&str>,
    out: &mut Output<W>,
    ctx: &Ctx,
) -> Result<Status> {
    let pre = logscan::Prefilter::new(table);
    let mut opts = logscan::Options::default();
    if let Some(n) = threads {
        opts.threads = n;
    }
    for f in files {
        // `-` is standard input, read whole (capped) so that it can be searched in blocks.
        let opened = if keyhole_core::fsread::is_stdin(f) {
            read_input(f, stage::Expects { what: "a log", from: "a log file" }).map(|(n, b)| (n, LogInput::Piped(b)))
        } else {
            open_log(f).map(|file| (cli::absolute(f.clone()).display().to_string(), LogInput::File(file)))
        };
        let (name, input) = match opened {
            Ok(x) => x,
            Err(e) => {
                ctx.note(e.message);
                ctx.raise(Status::Failed);
                continue;
            }
        };
        let src: &dyn logscan::Source = match &input {
            LogInput::File(file) => file,
            LogInput::Piped(bytes) => bytes,
        };
        let mut stop: Option<Error> = None;
        let scanned = logscan::scan(src, table, &pre, opts, |h| {
            let mut rec = response_record(&name, h.line, h.status, h.body, table, provider, h.log_rule);
            if let (Some(said), Record::Response(r)) = (h.relayed, &mut rec) {
                if let Some(d) = r.diagnoses.first_mut() {
                    d.evidence.push(said);
                }
            }
            ctx.raise(stage::findings(std::slice::from_ref(&rec)));
            match out.write(&rec) {
                Ok(()) => Ok(true),
                Err(e) => {
                    stop = Some(e);
                    Ok(false)
                }
            }
        });
        if let Some(e) = stop {
            return Err(e);
        }
        if let Err(e) = scanned {
            ctx.note(format!("{name}: read error after part of the file: {e}"));
            ctx.raise(Status::Failed);
        }
    }
    Ok(ctx.status())
}

/// A file's name for records and its bytes; `-` is standard input.
fn read_input(f: &Path, expects: stage::Expects) -> Result<(String, Vec<u8>)> {
    if keyhole_core::fsread::is_stdin(f) {
        stage::hint_if_terminal(TOOL_NAME, expects);
    }
    let bytes = keyhole_core::fsread::read_arg(f, 256 * 1024 * 1024).map_err(Error::input)?;
    if keyhole_core::fsread::is_stdin(f) {
        return Ok(("-".into(), bytes));
    }
    Ok((cli::absolute(f.to_path_buf()).display().to_string(), bytes))
}

/// A log to scan: a file, or standard input read whole.
enum LogInput {
    File(std::fs::File),
    Piped(Vec<u8>),
}

/// Open a log safely (no FIFO block, no device), for streaming any size.
fn open_log(f: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: io::Error| Error::input(keyhole_core::fsread::arg_error(f, &e));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK) // a FIFO named like a log must not block the open
        .open(f)
        .map_err(failed)?;
    let md = file.metadata().map_err(failed)?;
    if !md.is_file() {
        return Err(Error::input(format!("{} is not a regular file; skipped", f.display())));
    }
    Ok(file)
}
