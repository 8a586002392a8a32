//! One verdict per site, and which diagnoses a report shows with it
//! (docs/records.md#what-the-report-says): ✓ ok, ✗ failing, ! warning,
//! ? not verifiable, – not probed, or a template. The words and the exit
//! status are both read from here, so they cannot disagree.

use keyhole_core::provider::policy::is_loopback;
use keyhole_core::record::probe::ErrorKind;
use keyhole_core::record::probe::Probe;
use keyhole_core::record::{Capture, Code, Diagnosis, ProbeRecord, Record, Response, Severity, Site};
use keyhole_core::weburl;

/// What a report says about one site (or response, or capture).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// A diagnosis of error severity: the tool does not get a working key.
    Failing,
    /// The worst is a warning.
    Warning,
    /// Nothing wrong found, but the key is where keyhole cannot read it
    /// (a key store, a helper command): keyhole-capture can check it.
    NotVerifiable,
    /// Nothing wrong found in the configuration, and no probe answered.
    NotProbed,
    /// The probe (or the answer read) shows the key works.
    Ok,
    /// An example file no tool loads (`.env.example`…): not checked.
    Template,
    /// No keyhole-classify ran over it.
    Unclassified,
}

impl Verdict {
    /// Every verdict, in the order the counts line lists them.
    pub const ALL: [Verdict; 7] = [
        Verdict::Failing,
        Verdict::Warning,
        Verdict::NotVerifiable,
        Verdict::NotProbed,
        Verdict::Ok,
        Verdict::Unclassified,
        Verdict::Template,
    ];

    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Failing => "✗",
            Verdict::Warning => "!",
            Verdict::NotVerifiable => "?",
            Verdict::NotProbed | Verdict::Unclassified | Verdict::Template => "–",
            Verdict::Ok => "✓",
        }
    }

    /// The verdict in words (`✗ failing`).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Failing => "failing",
            Verdict::Warning => "warning",
            Verdict::NotVerifiable => "not verifiable",
            Verdict::NotProbed => "not probed",
            Verdict::Ok => "ok",
            Verdict::Template => "template",
            Verdict::Unclassified => "not classified",
        }
    }

    /// The SGR colour of the mark on a terminal.
    pub fn color(self) -> &'static str {
        match self {
            Verdict::Failing => "1;31",
            Verdict::Warning => "1;33",
            Verdict::Ok => "1;32",
            Verdict::NotVerifiable => "1;35",
            _ => "2",
        }
    }
}

/// Why nothing was probed, said after "not probed".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probing {
    /// The records do not say (a pipeline without keyhole-probe, say).
    Unknown,
    /// `--offline`: nothing was sent.
    Offline,
}

/// Every probe that was sent to another machine (`probes` of them, to
/// `hosts` hosts) got no answer: the network, not each site, is what failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable {
    pub probes: usize,
    pub hosts: usize,
}

/// Errors of a probe that got no HTTP answer because nothing answered.
fn no_answer(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Dns | ErrorKind::Connect | ErrorKind::Timeout)
}

/// A site's probe that was sent to another machine (not loopback): Some(got
/// an answer or a network error other than no answer) — None when nothing
/// was sent there.
fn remote_probe(s: &Site) -> Option<bool> {
    remote(s.probe.as_ref()?)
}

fn remote(p: &Probe) -> Option<bool> {
    let url = weburl::parse(&p.request.as_ref()?.url)?;
    if is_loopback(&url) {
        return None;
    }
    Some(!p.error.as_ref().is_some_and(|e| no_answer(e.kind)))
}

/// There is no network when probes went to other machines and none of
/// them got an answer (a DNS failure, no connection, a timeout): at least
/// two, or one to a catalogued API's own host (a name no one mistypes). One
/// probe alone to another host may be one mistyped host; a loopback gateway
/// that is not running says nothing about the network.
pub fn unreachable(records: &[Record]) -> Option<Unreachable> {
    let mut probes = Vec::new();
    for s in records.iter().filter_map(Subject::of) {
        if let (Some(answered), Some(url)) = (s.remote(), s.probe_url()) {
            probes.push((answered, url));
        }
    }
    let catalogued = probes.iter().any(|(_, u)| keyhole_core::provider::by_url(u).is_some());
    let mut hosts: Vec<String> = probes.iter().filter_map(|(_, u)| weburl::host(u)).collect();
    hosts.sort();
    hosts.dedup();
    let none_answered = !probes.is_empty() && probes.iter().all(|(answered, _)| !answered);
    (none_answered && (probes.len() >= 2 || catalogued))
        .then_some(Unreachable { probes: probes.len(), hosts: hosts.len() })
}

pub fn is_template(s: &Site) -> bool {
    s.template || s.diagnoses.iter().flatten().any(|d| d.code == "key.template")
}

/// The family of a code: `key`, `auth`, `net`… (`ok` and `unknown` are their own).
fn family(c: Code) -> &'static str {
    let s = c.as_str();
    s.split_once('.').map_or(s, |(f, _)| f)
}

/// A subject's verdict and the diagnoses shown with it.
#[derive(Debug, Default)]
pub struct Reading<'a> {
    pub verdict: Option<Verdict>,
    /// The root cause (or the fact that makes the verdict): its line carries
    /// the verdict's mark, and its fixes are printed.
    pub root: Option<&'a Diagnosis>,
    /// Independent problems: another code family, not explained by the root
    /// cause, shown with their own fixes.
    pub also: Vec<&'a Diagnosis>,
    /// What the root cause explains (the API's 401/403, `auth.*`), or more
    /// findings of the root's own family: named, never with a fix.
    pub explained: Vec<&'a Diagnosis>,
    pub related: Vec<&'a Diagnosis>,
    /// The probe's acceptance when something else decides the verdict.
    pub accepted: Option<&'a Diagnosis>,
    /// The site's probe got no answer and the network is unreachable.
    pub no_answer: bool,
}

impl Reading<'_> {
    pub fn verdict(&self) -> Verdict {
        self.verdict.unwrap_or(Verdict::Unclassified)
    }
}

/// What a report tells about: sites, responses and captures.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    Site(&'a Site),
    /// A standalone probe (`keyhole-probe URL`).
    Probe(&'a ProbeRecord),
    Response(&'a Response),
    Capture(&'a Capture),
}

impl<'a> Subject<'a> {
    pub fn of(r: &'a Record) -> Option<Subject<'a>> {
        match r {
            Record::Site(s) => Some(Subject::Site(s)),
            Record::Probe(p) => Some(Subject::Probe(p)),
            Record::Response(x) => Some(Subject::Response(x)),
            Record::Capture(c) => Some(Subject::Capture(c)),
            _ => None,
        }
    }

    /// `None`: the record was never classified.
    pub fn diagnoses(&self) -> Option<&'a [Diagnosis]> {
        match self {
            Subject::Site(s) => s.diagnoses.as_deref(),
            Subject::Probe(p) => p.diagnoses.as_deref(),
            Subject::Response(r) => Some(&r.diagnoses),
            Subject::Capture(c) => Some(&c.diagnoses),
        }
    }

    /// The HTTP status of the answer the diagnoses read.
    fn status(&self) -> Option<u16> {
        match self {
            Subject::Site(s) => s.probe.as_ref().and_then(|p| p.status()),
            Subject::Probe(p) => p.probe.status(),
            Subject::Response(r) => r.status,
            // What arrived is judged, not what keyhole-capture answered.
            Subject::Capture(_) => None,
        }
    }

    /// The probe's own error, when it sent nothing or got no answer.
    fn probe_error(&self) -> Option<ErrorKind> {
        match self {
            Subject::Site(s) => s.probe.as_ref().and_then(|p| p.error.as_ref()).map(|e| e.kind),
            Subject::Probe(p) => p.probe.error.as_ref().map(|e| e.kind),
            _ => None,
        }
    }

    /// The subject's probe to another machine: Some(it got an answer), None
    /// when nothing was sent there.
    fn remote(&self) -> Option<bool> {
        match self {
            Subject::Site(s) if !is_template(s) => remote_probe(s),
            Subject::Probe(p) => remote(&p.probe),
            _ => None,
        }
    }

    /// The URL the subject's probe asked.
    fn probe_url(&self) -> Option<&'a str> {
        let p = match self {
            Subject::Site(s) => s.probe.as_ref()?,
            Subject::Probe(p) => &p.probe,
            _ => return None,
        };
        p.request.as_ref().map(|r| r.url.as_str())
    }

    /// Read the subject. `net` is [`unreachable()`] over all the records.
    pub fn read(&self, net: Option<&Unreachable>) -> Reading<'a> {
        if let Subject::Site(s) = self {
            if is_template(s) {
                return Reading { verdict: Some(Verdict::Template), ..Reading::default() };
            }
        }
        let Some(all) = self.diagnoses() else { return Reading::default() };
        // With the network unreachable, the site's "no HTTP answer" is the
        // network's, said once at the top: the site keeps its static verdict.
        let no_answer = net.is_some() && self.remote() == Some(false) && self.probe_error().is_some_and(no_answer);
        let ds: Vec<&Diagnosis> = all
            .iter()
            .filter(|d| !(no_answer && matches!(d.code, Code::NetDns | Code::NetConnect | Code::NetTimeout)))
            .collect();
        let worst = ds.iter().map(|d| d.severity).min();
        let root = ds
            .iter()
            .find(|d| d.severity != Severity::Info)
            .or_else(|| ds.iter().find(|d| d.code == Code::Ok))
            .or_else(|| ds.iter().find(|d| d.code == Code::KeyStore))
            .or_else(|| ds.first())
            .copied();
        let unresolved = self.probe_error() == Some(ErrorKind::Unresolved);
        let verdict = match worst {
            Some(Severity::Error) => Verdict::Failing,
            Some(Severity::Warning) => Verdict::Warning,
            _ if root.is_some_and(|d| d.code == Code::Ok) => Verdict::Ok,
            _ if root.is_some_and(|d| d.code == Code::KeyStore) || unresolved => Verdict::NotVerifiable,
            // A response or capture that nothing was found in: nothing proves it either way.
            _ if !matches!(self, Subject::Site(_) | Subject::Probe(_)) => Verdict::NotVerifiable,
            _ => Verdict::NotProbed,
        };
        // A `--forward` capture whose upstream refused: the hop that arrived well is not the verdict.
        let verdict = match self {
            Subject::Capture(c) if crate::chain::upstream_fails(c) => Verdict::Failing,
            _ => verdict,
        };
        let mut r = Reading { verdict: Some(verdict), root, no_answer, ..Reading::default() };
        let Some(root) = root else { return r };
        let refused = self.status().is_some_and(|s| s == 401 || s == 403);
        for d in ds.into_iter().filter(|d| !std::ptr::eq(*d, root)) {
            let symptom = family(d.code) == "auth" || (d.code == Code::Unknown && refused);
            if d.code == Code::Ok {
                r.accepted = Some(d);
            } else if symptom && family(root.code) != "auth" {
                r.explained.push(d);
            } else if family(d.code) == family(root.code) || d.severity == Severity::Info {
                r.related.push(d);
            } else {
                r.also.push(d);
            }
        }
        r
    }
}

/// The subjects of `records`, in input order.
pub fn subjects(records: &[Record]) -> Vec<Subject<'_>> {
    records.iter().filter_map(Subject::of).collect()
}

/// One record's verdict, as the exit status reads it: a stream is judged
/// record by record, so the network's state is not known yet, and a probe
/// without an answer is a failure (the tool gets none either).
pub fn of_record(r: &Record) -> Option<Verdict> {
    Subject::of(r).map(|s| s.read(None).verdict())
}

/// The number of subjects of each verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub std::collections::BTreeMap<Verdict, usize>);

impl Counts {
    pub fn of(readings: impl IntoIterator<Item = Verdict>) -> Counts {
        let mut c = Counts::default();
        for v in readings {
            *c.0.entry(v).or_default() += 1;
        }
        c
    }
    pub fn get(&self, v: Verdict) -> usize {
        self.0.get(&v).copied().unwrap_or(0)
    }
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }
}
