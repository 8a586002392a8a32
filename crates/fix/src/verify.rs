//! The check after `--apply` (docs/fix.md#apply): the diagnosis re-run
//! (keyhole-pipeline) for the sites whose fixes were written, and each
//! site's root cause before → after.

use std::path::Path;

use keyhole_core::error::Result;
use keyhole_core::record::{Code, Fix, FixKind, FixState, Record, Severity, Site};
use keyhole_core::Status;

use crate::edit::Plan;

/// The sites the plans touch, each once, in the order planned.
pub fn affected_sites(plans: &[Plan]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in plans {
        if !out.iter().any(|s| s == p.site()) {
            out.push(p.site().to_string());
        }
    }
    out
}

/// One site before and after the fix.
#[derive(Debug, Clone)]
pub struct Check {
    pub site: String,
    pub before: Code,
    /// None: the site is no longer found (its config line was the fix).
    pub after: Option<Code>,
    pub after_severity: Option<Severity>,
    /// The command still to run when the process must restart (the `restart` fix of the re-run).
    pub then: Option<String>,
}

impl Check {
    /// Fixed: ok or nothing worse than a note; or only a restart is left.
    pub fn fixed(&self) -> bool {
        matches!(
            (self.after, self.after_severity),
            (None, _) | (Some(Code::Ok | Code::KeyStaleProcess), _) | (Some(_), Some(Severity::Info))
        )
    }
}

/// A site of `records` by id.
fn by_id<'a>(records: &'a [Record], id: &str) -> Option<&'a Site> {
    records.iter().filter_map(Record::site).find(|s| s.id == id)
}

/// The same place after the fix: the site with the same id, else the one of
/// the same tool at the same file and line (a renamed variable renames the
/// id), else the only one of that tool in that file.
fn same_place<'a>(after: &'a [Record], before: &Site) -> Option<&'a Site> {
    let in_file = || {
        after.iter().filter_map(Record::site).filter(|s| s.tool == before.tool && s.source.file == before.source.file)
    };
    by_id(after, &before.id).or_else(|| in_file().find(|s| s.source.line == before.source.line)).or_else(|| {
        if in_file().count() == 1 {
            in_file().next()
        } else {
            None
        }
    })
}

/// A site's root cause.
fn root(s: &Site) -> (Code, Severity) {
    s.diagnoses.as_deref().and_then(|d| d.first()).map_or((Code::Ok, Severity::Info), |d| (d.code, d.severity))
}

/// Re-run the diagnosis for the sites of the fixes written and compare each
/// root cause with `before` (the records the fixes were planned from).
pub fn check(before: &[Record], applied: &[Fix], o: &keyhole_pipeline::Options) -> Result<(Vec<Check>, Vec<Record>)> {
    let mut ids: Vec<String> = Vec::new();
    for f in applied.iter().filter(|f| f.state == FixState::Applied) {
        if !ids.contains(&f.site) {
            ids.push(f.site.clone());
        }
    }
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // The sites by id, and every site of their files (an id the fix renamed).
    let mut only = ids.clone();
    only.extend(ids.iter().filter_map(|id| by_id(before, id)).map(|s| s.source.file.clone()));
    let d = keyhole_pipeline::diagnose(&keyhole_pipeline::Options { only: Some(&only), ..*o })?;
    let scope = crate::plan::Scope::new(d.home.clone(), o.paths.to_vec());
    let mut out = Vec::new();
    let mut shown = Vec::new();
    for id in &ids {
        let Some(was) = by_id(before, id) else { continue };
        let now = same_place(&d.records, was);
        let after = now.map(root);
        // A process that must still restart: the command the planner gives for it.
        let then = now
            .map(|s| crate::plan::plan(&Record::Site(Box::new(s.clone())), &scope))
            .unwrap_or_default()
            .into_iter()
            .find_map(|p| match p {
                Plan::Action(a) if a.kind == FixKind::Restart => Some(crate::redaction::line(&a.command)),
                _ => None,
            });
        shown.extend(now.map(|s| s.id.clone()));
        out.push(Check {
            site: id.clone(),
            before: root(was).0,
            after: after.map(|a| a.0),
            after_severity: after.map(|a| a.1),
            then,
        });
    }
    // The records of the sites checked (the other sites of their files are context only).
    let records = d.records.into_iter().filter(|r| r.site().is_none_or(|s| shown.contains(&s.id))).collect();
    Ok((out, records))
}

/// The check as words, one line per fix written:
/// `✓ ~/.continue/config.yaml:7 placeholder rewritten — key.placeholder → ok`.
pub fn words(applied: &[Fix], checks: &[Check], home: &Path) -> String {
    let tilde = |f: &str| match Path::new(f).strip_prefix(home) {
        Ok(rest) => format!("~/{}", rest.display()),
        Err(_) => f.to_string(),
    };
    let mut out = String::new();
    for f in applied {
        let place = match (&f.file, f.line) {
            (Some(file), Some(l)) => format!("{}:{l}", tilde(file)),
            (Some(file), None) => tilde(file),
            (None, _) => f.site.clone(),
        };
        match f.state {
            FixState::Applied => {
                let c = checks.iter().find(|c| c.site == f.site);
                let (mark, change) = match c {
                    Some(c) => (
                        if c.fixed() { "✓" } else { "✗" },
                        format!(
                            " — {} → {}",
                            c.before,
                            c.after.map_or("no longer found".to_string(), |a| a.to_string())
                        ),
                    ),
                    None => ("✓", String::new()),
                };
                out.push_str(&format!("{mark} {place} {}{change}\n", f.says));
                if let Some(cmd) = c.and_then(|c| c.then.as_deref()) {
                    out.push_str(&format!("  then run: {cmd}\n"));
                }
                if let Some(b) = &f.backup {
                    out.push_str(&format!("  backup: {}\n", tilde(b)));
                }
            }
            FixState::Refused | FixState::Skipped => {
                let word = if f.state == FixState::Refused { "refused" } else { "skipped" };
                out.push_str(&format!("✗ {place} {} — {word}: {}\n", f.says, f.why.as_deref().unwrap_or("")));
            }
            FixState::Planned => match &f.command {
                Some(cmd) => out.push_str(&format!("→ {} — run: {cmd}\n", f.says)),
                None => out.push_str(&format!("· {place} {}\n", f.says)),
            },
        }
    }
    out
}

/// 0 every site fixed; 1 a site still fails or an edit was not written.
pub fn status(applied: &[Fix], checks: &[Check]) -> Status {
    let unfinished = applied.iter().any(|f| matches!(f.state, FixState::Refused | FixState::Skipped));
    if unfinished || checks.iter().any(|c| !c.fixed()) {
        Status::Found
    } else {
        Status::Ok
    }
}
