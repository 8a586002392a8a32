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

use keyhole_core::dotenv::{self, Flavor};
use keyhole_core::fsread;
use keyhole_core::record::env::{Definition, DefinitionKind, Env};
use keyhole_core::record::{Code, Diagnosis, Record, Severity, Site};
use keyhole_core::secret::Fingerprint;
use keyhole_core::shell::{self, Dialect, ShellValue};
use keyhole_core::tool::{self, Tool};

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
        Code::KeyNotExported | Code::KeyAfterGuard => &[visibility::plan],
        // A service's near miss is renamed (lines) before the variable is written for it (visibility).
        Code::KeyWrongFile => &[lines::plan, visibility::plan],
        // A near miss is renamed (lines) before the variable is written anywhere (visibility).
        Code::KeyEnvUnset => &[lines::plan, visibility::plan],
        // A saved key that fails before a variable that works: log in again (actions).
        Code::KeyShadowed => &[lines::plan, actions::plan],
        Code::KeyMalformed | Code::HeaderWrongScheme => &[lines::plan],
        Code::UrlBadBase | Code::HeaderDroppedRedirect => &[url::plan],
        _ => &[actions::plan],
    }
}

/// The plans for one record: nothing for a record that is not a site.
pub fn plan(record: &Record, scope: &Scope) -> Vec<Plan> {
    match record {
        Record::Site(site) => {
            let plans = plan_site(site, scope);
            // One edit out of scope and nothing is planned for the site (half a fix is none).
            if plans.iter().all(|p| in_scope(p, scope)) {
                plans
            } else {
                Vec::new()
            }
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

/// The site's catalogue entry.
pub fn tool_of(site: &Site) -> Option<&'static Tool> {
    tool::get(&site.tool)
}

/// A catalogue path (`~/…`) under the analysed home; None for a path
/// relative to a working directory or to the tool's code.
pub fn home_path(path: &str, scope: &Scope) -> Option<PathBuf> {
    path.strip_prefix("~/").map(|rest| scope.home.join(rest))
}

/// The tool's own `.env` in the home (the first `~/…` of its catalogue
/// `dotenv` rules), and its flavor.
pub fn tool_env_file(tool: &Tool, scope: &Scope) -> Option<(PathBuf, Flavor)> {
    tool.dotenv.iter().find_map(|r| home_path(r.path, scope).map(|p| (p, r.flavor)))
}

/// The value a definition assigns, read again from its file and line (never
/// from the pipe), and only when it still has the fingerprint keyhole-env
/// recorded: a literal, not a reference to another variable or a command.
pub fn defined_value(d: &Definition, var: &str, scope: &Scope) -> Option<String> {
    let path = Path::new(&d.file);
    let want = d.fp.as_ref()?;
    if !scope.contains(path) {
        return None;
    }
    let text = fsread::read_text(path, fsread::DEFAULT_CAP).ok()?;
    let value = match d.kind {
        DefinitionKind::Shell | DefinitionKind::Fish | DefinitionKind::FishUniversal => {
            let dialect = if d.kind == DefinitionKind::Shell { Dialect::Posix } else { Dialect::Fish };
            match shell::assignments(&text, dialect).into_iter().find(|a| a.name == var && a.line == d.line)?.value {
                ShellValue::Literal(v) => v,
                _ => return None,
            }
        }
        DefinitionKind::Dotenv
        | DefinitionKind::EtcEnvironment
        | DefinitionKind::PamEnvironment
        | DefinitionKind::EnvironmentD => {
            let e = dotenv::parse(&text, Flavor::Python).into_iter().find(|e| e.name == var && e.line == d.line)?;
            if !e.interpolates.is_empty() {
                return None;
            }
            e.value
        }
        DefinitionKind::VscodeTerminal => return None,
    };
    (Fingerprint::of(value.as_bytes(), None).sha8 == want.sha8).then_some(value)
}

/// The definition whose value a copy takes, and the value: the one an
/// interactive shell ends with (what the user sees in a terminal), else a
/// login shell's, else the last literal one.
pub fn copyable<'a>(env: &'a Env, scope: &Scope) -> Option<(&'a Definition, String)> {
    let var = env.var.as_str();
    let named = |ctx: &str| {
        let at = env.context_sources.get(ctx)?;
        env.definitions.iter().find(|d| format!("{}:{}", d.file, d.line) == *at)
    };
    let pick = named("interactive").or_else(|| named("login"));
    let candidates = pick.into_iter().chain(env.definitions.iter().rev());
    for d in candidates {
        if let Some(v) = defined_value(d, var, scope) {
            return Some((d, v));
        }
    }
    None
}

/// What keyhole-env found of `var` for `site`: the site's own `env` when it
/// is about `var`, else the same analysis run here on the home's files
/// (a placeholder site carries none: its tool never reads the variable).
/// No process and no analysed environment are read: only definitions.
pub fn env_for(site: &Site, var: &str, scope: &Scope) -> Env {
    if let Some(env) = site.env.as_ref().filter(|e| e.var == var) {
        return env.clone();
    }
    let opts =
        keyhole_env::Options::new(scope.home.clone(), Default::default(), scope.home.join(".keyhole-fix-no-proc"));
    keyhole_env::analyse(var, Some(site), &opts, &keyhole_core::stage::Ctx::new(crate::TOOL_NAME))
}

/// `NAME=value` as a `.env` line: the value as it is when it needs no
/// quotes, else in single quotes (no expansion), else in double quotes.
pub fn env_line(var: &str, value: &str) -> String {
    let plain = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~+/=:@%,".contains(c));
    if plain {
        format!("{var}={value}")
    } else if !value.contains('\'') {
        format!("{var}='{value}'")
    } else {
        format!("{var}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$"))
    }
}

/// A path for people: `~/…` under the home.
pub fn shown(path: &Path, scope: &Scope) -> String {
    match path.strip_prefix(&scope.home) {
        Ok(rest) => format!("~/{}", rest.display()),
        Err(_) => path.display().to_string(),
    }
}
