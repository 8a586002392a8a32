//! The planner (docs/fix.md): for a site's root cause, and for each further
//! error-severity diagnosis that is mechanically fixable, the smallest
//! correct edit, or the command to run. Nothing outside the [`Scope`] is ever
//! planned.
//!
//! Each module answers the codes it knows and returns nothing for the others;
//! [`plan`] tries them in the order of [`planners`].

pub mod actions;
pub mod lines;
pub mod placeholder;
pub mod url;
pub mod visibility;

use std::path::{Path, PathBuf};

use keyhole_core::record::{Code, Diagnosis, Record, Severity, Site};

use crate::edit::Plan;

/// What keyhole-fix may touch: the analysed home and the paths given on the
/// command line (docs/fix.md#scope).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub home: PathBuf,
    pub paths: Vec<PathBuf>,
}

impl Scope {
    pub fn new(home: PathBuf, paths: Vec<PathBuf>) -> Self {
        Scope { home, paths }
    }

    /// Whether `p` (absolute) lies in the home or under a given path. The
    /// path is taken as written, and also with its directory's symbolic
    /// links resolved: a link inside the home to /etc is outside.
    pub fn contains(&self, p: &Path) -> bool {
        if !p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return false;
        }
        let inside = |q: &Path| {
            q.starts_with(&self.home)
                || q.starts_with(canon(&self.home))
                || self.paths.iter().any(|r| q.starts_with(r) || q.starts_with(canon(r)))
        };
        if !inside(p) {
            return false;
        }
        // The real place: the parent resolved (the file may not exist yet),
        // and the file itself when it is a link.
        let real = match std::fs::canonicalize(p) {
            Ok(r) => r,
            Err(_) => match (p.parent().map(canon), p.file_name()) {
                (Some(d), Some(n)) => d.join(n),
                _ => return false,
            },
        };
        inside(&real)
    }
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A planner: the plans for one diagnosis of a site (empty when the code is
/// not its own).
pub type Planner = fn(&Site, &Diagnosis, &Scope) -> Vec<Plan>;

/// The planners, in the order they are tried: the first that plans
/// something for a diagnosis wins.
pub fn planners(code: Code) -> &'static [Planner] {
    match code {
        Code::KeyPlaceholder => &[placeholder::plan],
        Code::KeyNotExported | Code::KeyAfterGuard | Code::KeyWrongFile => &[visibility::plan],
        // A near miss is renamed (lines) before the variable is written anywhere (visibility).
        Code::KeyEnvUnset => &[lines::plan, placeholder::plan, visibility::plan],
        Code::KeyShadowed | Code::KeyMalformed | Code::HeaderWrongScheme => &[lines::plan],
        Code::UrlBadBase => &[url::plan],
        _ => &[actions::plan],
    }
}

/// The plans for one record: nothing for a record that is not a site.
pub fn plan(record: &Record, scope: &Scope) -> Vec<Plan> {
    match record {
        Record::Site(site) => {
            let mut plans = plan_site(site, scope);
            plans.retain(|p| in_scope(p, scope));
            plans
        }
        _ => Vec::new(),
    }
}

/// Whether a plan touches only what the scope allows.
pub fn in_scope(p: &Plan, scope: &Scope) -> bool {
    match p {
        Plan::Edit(e) => scope.contains(&e.path),
        Plan::Action(_) => true,
    }
}

/// The plans for a site: its root cause, then each further error that is
/// mechanically fixable, each once; out-of-scope edits included (the caller
/// drops them with [`in_scope`] and says so).
pub fn plan_site(site: &Site, scope: &Scope) -> Vec<Plan> {
    let diagnoses = site.diagnoses.as_deref().unwrap_or(&[]);
    let mut out: Vec<Plan> = Vec::new();
    for (i, d) in diagnoses.iter().enumerate() {
        if d.code == Code::Ok || (i > 0 && d.severity != Severity::Error) {
            continue;
        }
        if i == 0 && d.severity == Severity::Info {
            break;
        }
        for planner in planners(d.code) {
            let plans = planner(site, d, scope);
            if !plans.is_empty() {
                for p in plans {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
                break;
            }
        }
    }
    out
}
