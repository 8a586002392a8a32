//! Chains (docs/wire.md#gateways): a request that passes a gateway has a
//! verdict per hop. A gateway's client site is the hop client → gateway,
//! and the gateway's own sites (its upstream entries, linked by
//! keyhole-find as `site.gateway`) are the hops gateway → upstream; a
//! `keyhole-capture --forward` record is the hop it saw and the upstream's
//! answer. The report says which hop fails: a client hop that is ok is not
//! the verdict when a later hop fails.

use std::fmt::Write as _;

use keyhole_core::provider::{self, Meaning};
use keyhole_core::record::{Capture, Code, Record, Site};

use crate::verdict::{Reading, Subject, Unreachable, Verdict};
use crate::{clean, Style};

/// One hop and what is known of it.
#[derive(Debug, Clone)]
pub struct Hop {
    /// `continue → LiteLLM proxy http://localhost:4000`.
    pub what: String,
    pub verdict: Verdict,
    /// The hop's root cause (or `ok`), and its summary.
    pub code: Option<Code>,
    pub summary: String,
    /// Where to fix it: the site's `file:line`, when the hop is a site.
    pub at: Option<String>,
    pub fix: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub hops: Vec<Hop>,
}

impl Chain {
    /// The first hop whose verdict is failing.
    pub fn failing(&self) -> Option<usize> {
        self.hops.iter().position(|h| h.verdict == Verdict::Failing)
    }

    /// A hop after the first fails: the first hop's own verdict is not the chain's.
    pub fn later_hop_fails(&self) -> bool {
        self.failing().is_some_and(|i| i > 0)
    }
}

fn display(provider: &str) -> String {
    provider::get(provider).map_or_else(|| provider.to_string(), |p| p.display.to_string())
}

fn hop_of(what: String, r: &Reading, at: Option<String>) -> Hop {
    Hop {
        what,
        verdict: r.verdict(),
        code: r.root.map(|d| d.code),
        summary: r.root.map(|d| d.summary.clone()).unwrap_or_default(),
        at,
        fix: r.root.map(|d| d.fix.clone()).unwrap_or_default(),
    }
}

/// The chain a subject stands at the head of, if any.
pub fn of(s: &Subject<'_>, records: &[Record], net: Option<&Unreachable>) -> Option<Chain> {
    match s {
        Subject::Site(site) => of_site(site, records, net),
        Subject::Capture(c) => of_capture(c, s.read(net)),
        Subject::Response(_) | Subject::Probe(_) => None,
    }
}

fn of_site(site: &Site, records: &[Record], net: Option<&Unreachable>) -> Option<Chain> {
    let g = site.gateway.as_ref()?;
    let gw = display(&g.provider);
    let mut hops = vec![hop_of(
        format!("{} → {gw} {}", site.tool, site.base_url),
        &Subject::Site(site).read(net),
        Some(site.at()),
    )];
    for id in &g.sites {
        match records.iter().filter_map(Record::site).find(|s| &s.id == id) {
            Some(up) => {
                let what = format!("{gw} → {} {}", display(&up.provider), up.base_url);
                hops.push(hop_of(what, &Subject::Site(up).read(net), Some(up.at())));
            }
            None => hops.push(Hop {
                what: format!("{gw} → its upstream ({id})"),
                verdict: Verdict::Unclassified,
                code: None,
                summary: "not in these records".into(),
                at: None,
                fix: Vec::new(),
            }),
        }
    }
    Some(Chain { hops })
}

/// What a status and message from the next hop mean, read with the
/// provider catalogue's answers (a gateway's wrapped upstream refusal first).
fn upstream_meaning(status: Option<u16>, message: &str) -> (Option<Code>, String) {
    if let Some((up, _)) = provider::wrapped_upstream(message) {
        return (Some(Code::UpstreamAuth), format!("the gateway passed on {}'s refusal of its own key", up.display));
    }
    let known = provider::PROVIDERS.iter().flat_map(|p| p.answers.iter()).find(|a| message.contains(a.message));
    let code = known.map(|a| match a.means {
        Meaning::NoCredentials | Meaning::NotAKey => Code::AuthMissing,
        Meaning::InvalidKey | Meaning::Refused => Code::AuthInvalidKey,
        Meaning::KeyLimit => Code::LimitKeyLimit,
        Meaning::NoCredits => Code::CreditsInsufficient,
        Meaning::RateLimited => Code::RateLimited,
        Meaning::Upstream => Code::UpstreamError,
        Meaning::ModelNotFound => Code::ModelNotFound,
        Meaning::NoToolSupport => Code::ModelNoToolSupport,
        Meaning::NoSuchPath => Code::UrlBadBase,
        Meaning::MissingHeader => Code::HeaderWrongScheme,
    });
    let code = code.or(match status {
        Some(401 | 403) => Some(Code::AuthInvalidKey),
        _ => Some(Code::Unknown),
    });
    (code, format!("the upstream answered {}", status.map_or("nothing".to_string(), |s| s.to_string())))
}

/// Whether the upstream of a `--forward` capture refused the request or gave no answer.
pub fn upstream_fails(c: &Capture) -> bool {
    c.upstream.as_ref().is_some_and(|u| u.status.is_none_or(|s| s >= 400))
}

fn of_capture(c: &Capture, own: Reading<'_>) -> Option<Chain> {
    let up = c.upstream.as_ref()?;
    let first = hop_of(format!("client → keyhole-capture {} {}", c.method, c.path), &own, None);
    // The capture's own verdict may already be the upstream's (verdict.rs): the hop's is what arrived.
    let first = Hop { verdict: if first.code == Some(Code::Ok) { Verdict::Ok } else { first.verdict }, ..first };
    let message = up.message.clone().flatten().or_else(|| up.error.clone()).unwrap_or_default();
    let (code, summary) = upstream_meaning(up.status, &message);
    let verdict = match up.status {
        Some(s) if s < 400 => Verdict::Ok,
        _ => Verdict::Failing,
    };
    let summary = if message.is_empty() { summary } else { format!("{summary}: {message}") };
    let second = Hop {
        what: format!("keyhole-capture → {}", up.url),
        verdict,
        code: if verdict == Verdict::Ok { Some(Code::Ok) } else { code },
        summary,
        at: None,
        fix: Vec::new(),
    };
    Some(Chain { hops: vec![first, second] })
}

/// The chain in the text report: one line per hop, the failing hop's fix.
pub fn write_text(out: &mut String, c: &Chain, st: &Style) {
    let which = match c.failing() {
        Some(i) => format!("hop {} of {} fails", i + 1, c.hops.len()),
        None => format!("{} hops", c.hops.len()),
    };
    let mark = if c.failing().is_some() { st.paint("1;31", "✗") } else { st.paint("2", "–") };
    let _ = writeln!(out, "  {mark} {} {}", st.paint("1", "chain:"), which);
    for (i, h) in c.hops.iter().enumerate() {
        let code = h.code.map_or(String::new(), |c| format!("{} ", c.as_str()));
        let _ = writeln!(
            out,
            "      hop {}: {} {} {}{}",
            i + 1,
            clean(&h.what),
            st.paint(h.verdict.color(), h.verdict.mark()),
            st.paint("1", &clean(&code)),
            clean(&h.summary)
        );
        if let Some(at) = &h.at {
            let _ = writeln!(out, "        {}", st.paint("2", &clean(at)));
        }
    }
    if let Some(h) = c.failing().filter(|&i| i > 0).map(|i| &c.hops[i]) {
        for fx in &h.fix {
            let _ = writeln!(out, "      {} {}", st.paint("36", "fix:"), clean(fx));
        }
    }
}

/// The chain in the Markdown report (`t` makes a string safe and
/// `~`-relative, `code` makes it a code span).
pub fn write_markdown(out: &mut String, c: &Chain, t: &dyn Fn(&str) -> String, code: &dyn Fn(&str) -> String) {
    let which = match c.failing() {
        Some(i) => format!("hop {} of {} fails", i + 1, c.hops.len()),
        None => format!("{} hops", c.hops.len()),
    };
    let _ = writeln!(out, "\n**Chain**: {which}\n");
    for (i, h) in c.hops.iter().enumerate() {
        let what = h.code.map_or(String::new(), |c| format!("{} ", code(c.as_str())));
        let at = h.at.as_deref().map_or(String::new(), |a| format!(" ({})", code(a)));
        let _ = writeln!(out, "- hop {}: {} {} {what}{}{at}", i + 1, t(&h.what), h.verdict.mark(), t(&h.summary));
    }
    if let Some(h) = c.failing().filter(|&i| i > 0).map(|i| &c.hops[i]) {
        for fx in &h.fix {
            let _ = writeln!(out, "- fix: {}", t(fx));
        }
    }
}
