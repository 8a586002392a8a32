//! keyhole-env: for a variable a tool reads, every place it is defined, which
//! launch contexts see it (static analysis of the startup files, never
//! executing them unless `--exec`), which running processes of the tool's
//! family have it, and what the tool will really get (docs/records.md#env).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use indexmap::IndexMap;
use keyhole_core::dotenv::{self, Flavor};
use keyhole_core::fsread;
use keyhole_core::provider::{self, Provider};
use keyhole_core::record::env::{
    self as rec, Current, DefinitionKind, Env, Guard, LacksBecause, LaunchContext, NearMiss, Outcome, ProcessFact,
    SourceKind, ValueFrom,
};
use keyhole_core::record::{Extra, Site};
use keyhole_core::secret::Fingerprint;
use keyhole_core::shell::{Dialect, ShellValue};
use keyhole_core::stage::Ctx;
use keyhole_core::startup::GuardKind;
use keyhole_core::tool::{self, Tool};

pub mod analyzer;
pub mod exec;
pub mod launchers;
pub mod procs;
pub mod resolve;
mod stage;

pub use analyzer::{Analyzer, Definition};
pub use exec::exec_contexts;
pub use stage::EnvStage;

pub const TOOL_NAME: &str = "keyhole-env";
pub(crate) const CAP: u64 = fsread::DEFAULT_CAP;

#[derive(Clone, Debug)]
pub struct Options {
    pub home: PathBuf,
    /// Where system files live (`/etc`); tests point it at a fixture.
    pub etc: PathBuf,
    pub proc_root: PathBuf,
    /// The analysed environment (`--env-file`, else keyhole-env's own).
    pub env: BTreeMap<String, Vec<u8>>,
    /// The user's login shell: `bash`, `zsh`, `fish` (from `SHELL`).
    pub shell: String,
}

impl Options {
    /// System files in `/etc`, the login shell from `SHELL` in `env`.
    pub fn new(home: PathBuf, env: BTreeMap<String, Vec<u8>>, proc_root: PathBuf) -> Options {
        let shell = shell_of(&env);
        Options { home, etc: PathBuf::from("/etc"), proc_root, env, shell }
    }
}

/// A `.env` file a tool loads itself, resolved.
#[derive(Clone)]
pub struct DotenvFile {
    pub path: PathBuf,
    pub flavor: Flavor,
    pub rule: &'static tool::DotenvRule,
    pub tool: &'static Tool,
}

/// The `.env` files `tool` (every tool, when there is none) loads, in its
/// precedence order: home-relative ones from the home, the others from the
/// project (none without a project).
pub fn dotenv_files(
    tool: Option<&'static Tool>,
    opts: &Options,
    project: Option<&Path>,
    install: Option<&Path>,
) -> Vec<DotenvFile> {
    let tools: Vec<&'static Tool> = match tool {
        Some(t) => vec![t],
        None => tool::TOOLS.to_vec(),
    };
    let mut v = Vec::new();
    for t in tools {
        for rule in t.dotenv {
            let path = if let Some(rest) = rule.path.strip_prefix("~/") {
                opts.home.join(rest)
            } else if let Some(name) = rule.path.strip_prefix("…/") {
                // The first one walking up from the installed code, as far as the home.
                let Some(found) = install.and_then(|dir| walk_up(dir, name, &opts.home)) else { continue };
                found
            } else {
                match project {
                    Some(p) => p.join(rule.path),
                    None => continue,
                }
            };
            v.push(DotenvFile { path, flavor: rule.flavor, rule, tool: t });
        }
    }
    v
}

/// The first `name` in `dir` or a directory above it, not above `home`.
fn walk_up(dir: &Path, name: &str, home: &Path) -> Option<PathBuf> {
    dir.ancestors().take_while(|d| d.starts_with(home)).map(|d| d.join(name)).find(|f| f.is_file())
}

/// The directory of the code a tool's process runs (its script or
/// executable), from how it was identified; `None` when unknown.
pub fn code_dir(p: &procs::Proc) -> Option<PathBuf> {
    let m = p.matched_by.as_deref()?;
    let path = ["script ", "exe ", "argv0 "].iter().find_map(|k| m.strip_prefix(k))?;
    Path::new(path).parent().map(Path::to_path_buf)
}

/// The site's own file is a `.env` file its tool loads itself.
pub fn loads_own_file(site: &Site, opts: &Options) -> bool {
    let Some(t) = tool::get(&site.tool) else { return false };
    let file = Path::new(&site.source.file);
    let project = project_dir(file, &opts.home);
    dotenv_files(Some(t), opts, project.as_deref(), None).iter().any(|f| f.path == file)
}

/// The project a workspace-level site belongs to (None for the home's own tool dirs).
fn project_dir(file: &Path, home: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?;
    while dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
        dir = dir.parent()?;
    }
    (dir != home).then(|| dir.to_path_buf())
}

/// The whole `env` object of docs/records.md#env for `var` (of `site`, when
/// there is one); notes (unreadable processes) go to `ctx`.
pub fn analyse(var: &str, site: Option<&Site>, opts: &Options, ctx: &Ctx) -> Env {
    let tool = site.and_then(|s| tool::get(&s.tool));
    let provider = site.and_then(|s| provider::get(&s.provider)).or_else(|| tool::key_var_provider(var));
    let fp = |v: &[u8]| Fingerprint::of(v, provider);
    let mut a = Analyzer::new(opts, var);
    a.collect_all();
    let mut contexts = IndexMap::new();
    let mut context_sources = IndexMap::new();
    for c in LaunchContext::ALL {
        let v = a.context(c);
        contexts.insert(c.as_str().to_string(), v.visible);
        if let Some((f, l)) = v.from.filter(|_| v.visible) {
            context_sources.insert(c.as_str().to_string(), format!("{}:{l}", f.display()));
        }
    }
    // The .env files the tool loads itself (every tool's, when no site names one).
    let site_file = site.map(|s| Path::new(&s.source.file));
    let found = procs::scan(&opts.proc_root, &procs::families(tool), var, ctx);
    // The tool's own first process (not an editor's).
    let own = found.iter().find(|p| !p.role.is_editor());
    // A tool reads a project's .env from the directory it was started in: the
    // running process's, when known; else the project the site's file is in.
    let project = own
        .and_then(|p| p.cwd.as_deref())
        .map(PathBuf::from)
        .filter(|d| d.starts_with(&opts.home) && d != &opts.home)
        .or_else(|| site_file.and_then(|f| project_dir(f, &opts.home)));
    let install = own.and_then(code_dir);
    let dotenvs = dotenv_files(tool, opts, project.as_deref(), install.as_deref());
    for f in &dotenvs {
        let Ok(text) = fsread::read_text(&f.path, CAP) else { continue };
        for e in dotenv::parse(&text, f.flavor).into_iter().filter(|e| e.name == var) {
            let d = Definition::plain(&f.path, e.line, DefinitionKind::Dotenv, true, e.value);
            a.record(Definition { loaded_by: Some(f.tool.name), ..d });
        }
    }
    let near_misses = near_misses(var, opts, &dotenvs);
    let mut defs: Vec<Definition> = a.definitions;
    defs.sort_by(|x, y| (&x.file, x.line).cmp(&(&y.file, y.line)));
    let current =
        Current { set: opts.env.contains_key(var), fp: opts.env.get(var).map(|v| fp(v)), extra: Extra::new() };
    let newest_def_mtime = defs
        .iter()
        .filter_map(|d| std::fs::metadata(&d.file).ok()?.modified().ok())
        .max()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let tool_process = own.map(|p| (p.pid, &p.environ));
    let implicit = site.is_none_or(|s| s.key.syntax.is_none());
    let ask = resolve::Ask {
        var,
        tool,
        implicit,
        provider,
        opts,
        project: project.as_deref(),
        install: install.as_deref(),
        site_file,
        process: tool_process,
    };
    let (resolution, effective) = resolve::resolve(&ask);
    // A process without the variable still gets a value from the tool's own
    // files or saved credentials: its environment is not the cause then.
    let supplied = resolution.iter().any(|c| {
        matches!(c.source, SourceKind::Dotenv | SourceKind::Store)
            && matches!(c.outcome, Outcome::Sends | Outcome::Shadowed)
    });
    let processes: Vec<ProcessFact> =
        found.iter().map(|p| process_fact(p, &defs, newest_def_mtime, &contexts, provider, supplied)).collect();
    Env {
        var: var.to_string(),
        shell: opts.shell.clone(),
        current,
        definitions: defs.iter().map(|d| definition(d, provider)).collect(),
        contexts,
        context_sources,
        processes,
        effective,
        near_misses,
        resolution,
        launchers: launchers::scan(var, tool, site_file, opts, provider),
        exec: None,
        exec_disagrees: None,
        extra: Extra::new(),
    }
}

/// What a running process has, when it started, and why it lacks the variable
/// (docs/launch-contexts.md#live-processes).
fn process_fact(
    p: &procs::Proc,
    defs: &[Definition],
    newest_def_mtime: Option<u64>,
    contexts: &IndexMap<String, bool>,
    provider: Option<&Provider>,
    supplied: bool,
) -> ProcessFact {
    // Started before the newest definition's file was last changed.
    let started_before_edit = match (p.started, newest_def_mtime) {
        (Some(start), Some(mtime)) => start < mtime as f64 && defs.iter().any(|d| d.exported),
        _ => false,
    };
    let launched = p.launched_as();
    let lacks_because = (p.value.is_none() && !defs.is_empty() && !supplied).then(|| {
        if launched.context == "cron" {
            // cron reads no startup file at all.
            LacksBecause::WrongFile
        } else if !contexts.contains_key(launched.context.as_str()) {
            // unknown, tmux (the server's old environment), a container, a system unit: the
            // startup files do not decide; launchers and the process's own facts do.
            LacksBecause::Unknown
        } else if contexts.get(launched.context.as_str()).copied().unwrap_or(false) {
            if started_before_edit {
                LacksBecause::Stale
            } else {
                LacksBecause::Unknown
            }
        } else if defs.iter().any(|d| !d.exported && d.kind == DefinitionKind::Shell)
            && !defs.iter().any(|d| d.exported)
        {
            LacksBecause::NotExported
        } else if defs.iter().any(|d| d.after_guard.is_some()) {
            LacksBecause::AfterGuard
        } else {
            LacksBecause::WrongFile
        }
    });
    ProcessFact {
        pid: p.pid,
        role: p.role.as_str().to_string(),
        started: p.started.map(rfc3339),
        has_var: p.value.is_some(),
        fp: p.value.as_deref().map(|v| Fingerprint::of(v, provider)),
        started_before_edit,
        launched_as: launched.context,
        launched_by: launched.by,
        unit: p.unit.clone(),
        cwd: p.cwd.clone(),
        matched_by: p.matched_by.clone(),
        command: p.command.clone(),
        lacks_because,
        extra: Extra::new(),
    }
}

/// A definition as the record writes it: the value's fingerprint when it is
/// a literal, else where it comes from.
fn definition(d: &Definition, provider: Option<&Provider>) -> rec::Definition {
    let (fp, value_from) = match &d.value {
        ShellValue::Literal(v) => (Some(Fingerprint::of(v.as_bytes(), provider)), None),
        ShellValue::Var(v) => (None, Some(ValueFrom::Var(v.clone()))),
        ShellValue::Command(c) => (None, Some(ValueFrom::Command(c.clone()))),
        ShellValue::Mixed { vars, .. } => (None, Some(ValueFrom::Mixed(vars.clone()))),
    };
    rec::Definition {
        file: d.file.display().to_string(),
        line: d.line,
        kind: d.kind,
        exported: d.exported,
        after_guard: d.after_guard.as_ref().map(|(f, l, k)| Guard {
            file: f.display().to_string(),
            line: *l,
            kind: match k {
                GuardKind::Interactive => rec::GuardKind::Interactive,
                GuardKind::Tty => rec::GuardKind::Tty,
            },
            extra: Extra::new(),
        }),
        fp,
        value_from,
        in_function: d.in_function,
        interactive_only: d.interactive_only,
        conditional: d.conditional.clone(),
        sourced_from: d.sourced_from.as_ref().map(|(f, l)| rec::FileLine::new(f.display().to_string(), *l)),
        universal: d.universal,
        loaded_by: d.loaded_by.map(str::to_string),
        extra: Extra::new(),
    }
}

/// `2026-11-20T09:14:03Z` from seconds since the epoch (UTC).
pub fn rfc3339(secs: f64) -> String {
    let s = secs as i64;
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    // civil_from_days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The user's shell name from `SHELL` in the analysed environment.
pub fn shell_of(env: &BTreeMap<String, Vec<u8>>) -> String {
    env.get("SHELL")
        .map(|s| String::from_utf8_lossy(s).rsplit('/').next().unwrap_or("bash").to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bash".into())
}

fn squash(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Assignments of a variable whose name is the wanted one but for case and
/// punctuation (`OPEN_ROUTER_API_KEY` for `OPENROUTER_API_KEY`, openclaw#26960):
/// defined, but under a name no tool reads.
pub fn near_misses(var: &str, opts: &Options, dotenvs: &[DotenvFile]) -> Vec<NearMiss> {
    let want = squash(var);
    let mut out = Vec::new();
    let mut check = |file: &Path, name: &str, line: u32| {
        if name != var && squash(name) == want {
            out.push(NearMiss { name: name.to_string(), file: file.display().to_string(), line, extra: Extra::new() });
        }
    };
    for rel in [
        ".bashrc",
        ".profile",
        ".bash_profile",
        ".bash_login",
        ".zshenv",
        ".zprofile",
        ".zshrc",
        ".zlogin",
        ".config/fish/config.fish",
    ] {
        let f = opts.home.join(rel);
        let Ok(text) = fsread::read_text(&f, CAP) else { continue };
        let d = if rel.ends_with(".fish") { Dialect::Fish } else { Dialect::Posix };
        for a in keyhole_core::shell::assignments(&text, d) {
            check(&f, &a.name, a.line);
        }
    }
    let files = dotenvs.iter().map(|f| (f.path.clone(), f.flavor));
    for (f, flavor) in files.chain([(opts.home.join(".env"), Flavor::Python)]) {
        let Ok(text) = fsread::read_text(&f, CAP) else { continue };
        for e in dotenv::parse(&text, flavor) {
            check(&f, &e.name, e.line);
        }
    }
    out
}
