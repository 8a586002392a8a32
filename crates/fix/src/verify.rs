//! The check after `--apply` (docs/fix.md#apply): the diagnosis re-run
//! (keyhole-pipeline) for the sites whose fixes were written, and each
//! site's root cause before → after.

use std::path::Path;

use keyhole_core::error::Result;
use keyhole_core::record::{Code, Fix, FixKind, FixState, Record, Severity};
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

/// The root cause of a site in `records`.
fn root(records: &[Record], id: &str) -> Option<(Code, Severity)> {
    records.iter().filter_map(Record::site).find(|s| s.id == id).map(|s| {
        s.diagnoses.as_deref().and_then(|d| d.first()).map_or((Code::Ok, Severity::Info), |d| (d.code, d.severity))
    })
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
    let d = keyhole_pipeline::diagnose(&keyhole_pipeline::Options { only: Some(&ids), ..*o })?;
    let scope = crate::plan::Scope::new(d.home.clone(), o.paths.to_vec());
    let mut out = Vec::new();
    for id in &ids {
        let Some((b, _)) = root(before, id) else { continue };
        let after = root(&d.records, id);
        // A process that must still restart: the command the planner gives for it.
        let then = d
            .records
            .iter()
            .filter(|r| r.site().is_some_and(|s| &s.id == id))
            .flat_map(|r| crate::plan::plan(r, &scope))
            .find_map(|p| match p {
                Plan::Action(a) if a.kind == FixKind::Restart => Some(crate::redaction::line(&a.command)),
                _ => None,
            });
        out.push(Check {
            site: id.clone(),
            before: b,
            after: after.map(|a| a.0),
            after_severity: after.map(|a| a.1),
            then,
        });
    }
    Ok((out, d.records))
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
