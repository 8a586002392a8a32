//! keyhole-fix: for each site whose root cause has a mechanical fix, the
//! smallest correct edit (or the command to run), as `fix` records after the
//! site (docs/records.md#fix), as a unified diff (`--diff`), or applied
//! (`--apply`, docs/fix.md). Every input record passes on unchanged.

pub mod apply;
pub mod diff;
pub mod disk;
pub mod edit;
pub mod plan;
pub mod redaction;
pub mod text;
pub mod undo;
pub mod verify;

use std::sync::Mutex;

use keyhole_core::record::{Fix, Record};
use keyhole_core::stage::{self, Ctx, Line, Stage};
use keyhole_core::Status;

use edit::{Change, Plan};
use plan::Scope;

pub const TOOL_NAME: &str = "keyhole-fix";

/// The fix stage: after each `site`, the `fix` records planned for it. The
/// plans themselves (which may hold a key copied from where it is defined)
/// stay in memory for `--diff` and `--apply` ([`FixStage::take_plans`]).
pub struct FixStage {
    pub scope: Scope,
    plans: Mutex<Vec<Plan>>,
}

impl FixStage {
    pub fn new(scope: Scope) -> Self {
        FixStage { scope, plans: Mutex::new(Vec::new()) }
    }

    /// The plans so far, each once, in the order planned; taken out.
    pub fn take_plans(&self) -> Vec<Plan> {
        std::mem::take(&mut *self.plans.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The records of one input record: itself, then its fixes.
    pub fn fixes(&self, record: Record, ctx: &Ctx) -> Vec<Record> {
        let Record::Site(site) = &record else {
            return vec![record];
        };
        let plans = plan::plan_site(site, &self.scope);
        // One edit out of scope and the site's fix is left whole to the user:
        // half a fix (the copy without the rewrite) is none.
        let outside: Vec<&Plan> = plans.iter().filter(|p| !plan::in_scope(p, &self.scope)).collect();
        for p in &outside {
            if let Plan::Edit(e) = p {
                ctx.note(format!(
                    "{}: nothing planned: {} lies outside the analysed home and the given paths",
                    site.id,
                    e.path.display()
                ));
            }
        }
        let keep = if outside.is_empty() { plans } else { Vec::new() };
        let mut out: Vec<Record> = keep.iter().map(|p| Record::Fix(fix_record(p))).collect();
        {
            let mut all = self.plans.lock().unwrap_or_else(|e| e.into_inner());
            for p in keep {
                if !all.iter().any(|q| same_work(q, &p)) {
                    all.push(p);
                }
            }
        }
        out.insert(0, record);
        out
    }
}

/// Two plans that do the same thing (two sites reading one variable from
/// one line): done once.
fn same_work(a: &Plan, b: &Plan) -> bool {
    match (a, b) {
        (Plan::Edit(x), Plan::Edit(y)) => x.path == y.path && x.changes == y.changes,
        (Plan::Action(x), Plan::Action(y)) => x.command == y.command,
        _ => false,
    }
}

impl Stage for FixStage {
    fn expects(&self) -> keyhole_core::stage::Expects {
        keyhole_core::stage::Expects { what: "records", from: "keyhole-classify's output" }
    }

    fn apply(&self, _record: &mut Record, _ctx: &Ctx) {}

    fn apply_lines(&self, lines: Vec<Line>, ctx: &Ctx) -> Vec<Record> {
        let mut out = Vec::with_capacity(lines.len());
        for (n, l) in &lines {
            out.extend(self.fixes(stage::parse(l, *n, ctx), ctx));
        }
        out
    }

    fn status_of(&self, _record: &Record) -> Status {
        Status::Ok
    }
}

/// The `fix` record of a plan: the edited line (the first line replaced or
/// deleted, else the first inserted) before and after, keys as markers.
pub fn fix_record(p: &Plan) -> Fix {
    match p {
        Plan::Action(a) => {
            let mut f = Fix::new(&a.site, a.cause, a.kind, keyhole_core::redact::text(&a.says).into_owned());
            f.command = Some(redaction::line(&a.command));
            f
        }
        Plan::Edit(e) => {
            // `says` holds no key by contract: only key-shaped text is masked (an
            // assignment-looking sentence such as "export NAME on line 3" is not one).
            let mut f = Fix::new(&e.site, e.cause, e.kind, keyhole_core::redact::text(&e.says).into_owned());
            f.file = Some(e.path.display().to_string());
            let (mut before, mut after) = (Vec::new(), Vec::new());
            let mut line = None;
            let mut inserted_at = None;
            for c in &e.changes {
                match c {
                    Change::Replace { line: n, old, new } => {
                        line = line.or(Some(*n));
                        before.push(old.as_str());
                        after.push(new.as_str());
                    }
                    Change::Delete { line: n, old } => {
                        line = line.or(Some(*n));
                        before.push(old.as_str());
                    }
                    Change::Insert { line: n, new } => {
                        inserted_at = inserted_at.or(Some(*n));
                        after.push(new.as_str());
                    }
                }
            }
            // A key copied into a line is masked in every line that shows it.
            let known: Vec<&str> = before.iter().chain(&after).filter_map(|l| redaction::credential_value(l)).collect();
            let show = |ls: &[&str]| {
                (!ls.is_empty())
                    .then(|| ls.iter().map(|l| redaction::knowing(l, &known)).collect::<Vec<_>>().join("\n"))
            };
            f.line = line.or(inserted_at).map(|n| n as u32);
            f.before = show(&before);
            f.after = show(&after);
            f
        }
    }
}
