//! keyhole-env: for a variable a tool reads, every place it is defined, which
//! launch contexts see it (static analysis of the startup files, never
//! executing them unless `--exec`), which running processes of the tool's
//! family have it, and what the tool will really get (docs/records.md#env).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use keyhole_core::dotenv::{self, Flavor};
use keyhole_core::fsread;
use keyhole_core::secret::Fingerprint;
use keyhole_core::shell::{Dialect, ShellValue};
use keyhole_core::startup::{self, GuardKind, Item};
use keyhole_core::tool::{self, Tool};
use serde_json::{json, Map, Value};

pub mod procs;

pub const TOOL_NAME: &str = "keyhole-env";
const CAP: u64 = fsread::DEFAULT_CAP;

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

/// The launch contexts of docs/records.md#env, in output order.
pub const CONTEXTS: &[&str] =
    &["interactive", "login", "non_interactive", "ssh_command", "vscode_resolved", "systemd_user", "gui"];

/// One assignment of the variable somewhere.
#[derive(Clone, Debug)]
pub struct Definition {
    pub file: PathBuf,
    pub line: u32,
    pub kind: &'static str,
    pub exported: bool,
    pub value: ShellValue,
    pub after_guard: Option<(PathBuf, u32, GuardKind)>,
    pub in_function: bool,
    pub interactive_only: bool,
    pub conditional: Option<String>,
    pub sourced_from: Option<(PathBuf, u32)>,
    pub universal: bool,
    /// For a tool's own `.env` file: the tool that loads it.
    pub loaded_by: Option<&'static str>,
}

/// How a shell of one launch context runs.
#[derive(Clone, Copy, Debug)]
struct Mode {
    interactive: bool,
    tty: bool,
}

/// Where a file is read from: the guard already passed in the file that
/// sources it, and that file and line.
#[derive(Clone, Debug, Default)]
struct Origin {
    guard: Option<(PathBuf, u32, GuardKind)>,
    sourced_from: Option<(PathBuf, u32)>,
}

/// Whether a line with this context runs in a shell of this mode.
fn runs(ctx: &startup::Ctx, mode: Mode) -> bool {
    !ctx.in_function && (mode.interactive || !ctx.interactive_only)
}

/// The state of the variable in one simulated shell.
#[derive(Clone, Debug, Default)]
struct VarState {
    /// `set -a` is a shell option: it carries into sourced files.
    allexport: bool,
    set: bool,
    exported: bool,
    from: Option<(PathBuf, u32)>,
}

pub struct Analyzer<'a> {
    opts: &'a Options,
    var: &'a str,
    pub definitions: Vec<Definition>,
    seen_defs: HashSet<(PathBuf, u32)>,
}

fn expand_path(p: &str, home: &Path, from_dir: &Path) -> PathBuf {
    let p = p.replace("${HOME}", &home.display().to_string()).replace("$HOME", &home.display().to_string());
    let p = match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(&p),
    };
    if p.is_absolute() {
        p
    } else {
        from_dir.join(p)
    }
}

impl<'a> Analyzer<'a> {
    pub fn new(opts: &'a Options, var: &'a str) -> Self {
        Analyzer { opts, var, definitions: Vec::new(), seen_defs: HashSet::new() }
    }

    fn home(&self, rel: &str) -> PathBuf {
        self.opts.home.join(rel)
    }
    fn etc(&self, rel: &str) -> PathBuf {
        self.opts.etc.join(rel)
    }

    fn record(&mut self, d: Definition) {
        if self.seen_defs.insert((d.file.clone(), d.line)) {
            self.definitions.push(d);
        }
    }

    /// Run one startup file in a simulated shell of `mode`, following sources.
    fn run_file(
        &mut self,
        file: &Path,
        dialect: Dialect,
        mode: Mode,
        state: &mut VarState,
        stack: &mut Vec<PathBuf>,
        origin: Origin,
    ) {
        let Origin { guard: inherited_guard, sourced_from } = origin;
        if stack.iter().any(|p| p == file) || stack.len() > 16 {
            return; // a source cycle
        }
        let Ok(text) = fsread::read_text(file, CAP) else { return };
        stack.push(file.to_path_buf());
        let items = startup::analyze(&text, dialect);
        let mut guard = inherited_guard;
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        // /etc/profile sources /etc/profile.d/*.sh through a loop variable.
        let profile_d = file == self.etc("profile");
        for item in items {
            match item {
                Item::Guard { line, kind } => {
                    let stops = match kind {
                        GuardKind::Interactive => !mode.interactive,
                        GuardKind::Tty => !mode.tty,
                    };
                    if guard.is_none() || guard.as_ref().is_some_and(|g| g.0 == file) {
                        guard = Some((file.to_path_buf(), line, kind));
                    }
                    if stops {
                        // Keep reading for definitions, without effect on the state.
                        self.collect_rest(file, &text, dialect, guard.clone(), sourced_from.clone());
                        stack.pop();
                        return;
                    }
                }
                Item::Allexport { on, .. } => state.allexport = on,
                Item::Assign { a, ctx } if a.name == self.var => {
                    let exported = a.exported || state.allexport;
                    self.record(Definition {
                        file: file.to_path_buf(),
                        line: a.line,
                        kind: if dialect == Dialect::Fish { "fish" } else { "shell" },
                        exported,
                        value: a.value.clone(),
                        after_guard: guard.clone(),
                        in_function: ctx.in_function,
                        interactive_only: ctx.interactive_only,
                        conditional: ctx.conditional.clone(),
                        sourced_from: sourced_from.clone(),
                        universal: a.universal,
                        loaded_by: None,
                    });
                    if !runs(&ctx, mode) || a.command_prefix {
                        continue;
                    }
                    state.set = true;
                    state.exported = state.exported || exported;
                    state.from = Some((file.to_path_buf(), a.line));
                }
                Item::ExportNames { names, ctx, .. }
                    if names.iter().any(|n| n == self.var) && runs(&ctx, mode) && state.set =>
                {
                    state.exported = true;
                    if let Some(d) =
                        self.definitions.iter_mut().rev().find(|d| Some((d.file.clone(), d.line)) == state.from)
                    {
                        d.exported = true;
                    }
                }
                Item::Source { path, line, ctx } => {
                    if !runs(&ctx, mode) {
                        continue;
                    }
                    let target = expand_path(&path, &self.opts.home, &dir);
                    let d = if target.extension().is_some_and(|e| e == "fish") { Dialect::Fish } else { dialect };
                    self.run_file(
                        &target,
                        d,
                        mode,
                        state,
                        stack,
                        Origin { guard: guard.clone(), sourced_from: Some((file.to_path_buf(), line)) },
                    );
                }
                _ => {}
            }
        }
        if profile_d {
            if let Ok(rd) = std::fs::read_dir(self.etc("profile.d")) {
                let mut files: Vec<PathBuf> =
                    rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "sh")).collect();
                files.sort();
                for f in files {
                    self.run_file(
                        &f,
                        Dialect::Posix,
                        mode,
                        state,
                        stack,
                        Origin { guard: guard.clone(), sourced_from: Some((file.to_path_buf(), 0)) },
                    );
                }
            }
        }
        stack.pop();
    }

    /// Definitions below a guard that stopped this shell: recorded (they exist),
    /// with no effect.
    fn collect_rest(
        &mut self,
        file: &Path,
        text: &str,
        dialect: Dialect,
        guard: Option<(PathBuf, u32, GuardKind)>,
        sourced_from: Option<(PathBuf, u32)>,
    ) {
        let guard_line = guard.as_ref().map_or(0, |g| g.1);
        let mut allexport = false;
        for item in startup::analyze(text, dialect) {
            match item {
                Item::Allexport { on, .. } => allexport = on,
                Item::Assign { a, ctx } if a.name == self.var && a.line > guard_line => {
                    self.record(Definition {
                        file: file.to_path_buf(),
                        line: a.line,
                        kind: "shell",
                        exported: a.exported || allexport,
                        value: a.value.clone(),
                        after_guard: guard.clone(),
                        in_function: ctx.in_function,
                        interactive_only: ctx.interactive_only,
                        conditional: ctx.conditional.clone(),
                        sourced_from: sourced_from.clone(),
                        universal: false,
                        loaded_by: None,
                    });
                }
                Item::ExportNames { names, line, .. } if names.iter().any(|n| n == self.var) && line > guard_line => {
                    if let Some(d) = self.definitions.iter_mut().rev().find(|d| d.file == file) {
                        d.exported = true;
                    }
                }
                Item::Source { path, line, ctx } if line > guard_line && !ctx.in_function => {
                    let target = expand_path(&path, &self.opts.home, file.parent().unwrap_or(Path::new("/")));
                    if let Ok(t) = fsread::read_text(&target, CAP) {
                        if target != file {
                            self.collect_rest(&target, &t, dialect, guard.clone(), Some((file.to_path_buf(), line)));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `NAME=VALUE` files that are always exported (pam_env, environment.d).
    fn run_env_file(&mut self, file: &Path, kind: &'static str, state: &mut VarState) {
        let Ok(text) = fsread::read_text(file, CAP) else { return };
        for e in dotenv::parse(&text, Flavor::Python) {
            if e.name != self.var {
                continue;
            }
            self.record(Definition {
                file: file.to_path_buf(),
                line: e.line,
                kind,
                exported: true,
                value: ShellValue::Literal(e.value.clone()),
                after_guard: None,
                in_function: false,
                interactive_only: false,
                conditional: None,
                sourced_from: None,
                universal: false,
                loaded_by: None,
            });
            state.set = true;
            state.exported = true;
            state.from = Some((file.to_path_buf(), e.line));
        }
    }

    fn pam(&mut self, state: &mut VarState) {
        self.run_env_file(&self.etc("environment"), "etc_environment", state);
        // read only with pam_env user_readenv=1 (Debian's sshd has it).
        self.run_env_file(&self.home(".pam_environment"), "pam_environment", state);
    }

    fn environment_d(&mut self, state: &mut VarState) {
        for dir in [self.etc("environment.d"), self.home(".config/environment.d")] {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<PathBuf> =
                rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "conf")).collect();
            files.sort();
            for f in files {
                self.run_env_file(&f, "environment_d", state);
            }
        }
    }

    fn bash_login(&mut self, mode: Mode, state: &mut VarState) {
        let mut stack = Vec::new();
        self.run_file(&self.etc("profile"), Dialect::Posix, mode, state, &mut stack, Origin::default());
        // The first existing of these; the others are never read.
        if let Some(f) = [".bash_profile", ".bash_login", ".profile"].iter().map(|f| self.home(f)).find(|p| p.is_file())
        {
            self.run_file(&f, Dialect::Posix, mode, state, &mut stack, Origin::default());
        }
    }

    fn bash_rc(&mut self, mode: Mode, state: &mut VarState) {
        let mut stack = Vec::new();
        self.run_file(&self.etc("bash.bashrc"), Dialect::Posix, mode, state, &mut stack, Origin::default());
        self.run_file(&self.home(".bashrc"), Dialect::Posix, mode, state, &mut stack, Origin::default());
    }

    fn zsh(&mut self, files: &[&str], mode: Mode, state: &mut VarState) {
        let mut stack = Vec::new();
        for f in files {
            let (sys, user) = (self.etc(&format!("zsh/{f}")), self.home(&format!(".{f}")));
            self.run_file(&sys, Dialect::Posix, mode, state, &mut stack, Origin::default());
            self.run_file(&user, Dialect::Posix, mode, state, &mut stack, Origin::default());
        }
    }

    fn fish(&mut self, mode: Mode, state: &mut VarState, universal: bool) {
        let mut stack = Vec::new();
        let mut files = vec![self.etc("fish/config.fish")];
        if let Ok(rd) = std::fs::read_dir(self.home(".config/fish/conf.d")) {
            let mut v: Vec<PathBuf> =
                rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "fish")).collect();
            v.sort();
            files.extend(v);
        }
        files.push(self.home(".config/fish/config.fish"));
        if universal {
            self.fish_universal(state);
        }
        for f in files {
            self.run_file(&f, Dialect::Fish, mode, state, &mut stack, Origin::default());
        }
    }

    /// `set -Ux`: stored in fish_variables as `SETUVAR --export NAME:value`.
    fn fish_universal(&mut self, state: &mut VarState) {
        let file = self.home(".config/fish/fish_variables");
        let Ok(text) = fsread::read_text(&file, CAP) else { return };
        for (i, l) in text.lines().enumerate() {
            let Some(rest) = l.strip_prefix("SETUVAR ") else { continue };
            let (exported, rest) = match rest.strip_prefix("--export ") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let Some((name, value)) = rest.split_once(':') else { continue };
            if name != self.var {
                continue;
            }
            self.record(Definition {
                file: file.clone(),
                line: i as u32 + 1,
                kind: "fish_universal",
                exported,
                value: ShellValue::Literal(fish_unescape(value)),
                after_guard: None,
                in_function: false,
                interactive_only: false,
                conditional: None,
                sourced_from: None,
                universal: true,
                loaded_by: None,
            });
            state.set = true;
            state.exported |= exported;
            state.from = Some((file.clone(), i as u32 + 1));
        }
    }

    /// Whether a process started in `context` gets the variable.
    pub fn context(&mut self, context: &str) -> VisibleIn {
        let mut st = VarState::default();
        let interactive = Mode { interactive: true, tty: true };
        let noninteractive = Mode { interactive: false, tty: false };
        let resolver = Mode { interactive: true, tty: false };
        let shell = self.opts.shell.clone();
        match (shell.as_str(), context) {
            ("zsh", "interactive") => self.zsh(&["zshenv", "zshrc"], interactive, &mut st),
            ("zsh", "login") => self.zsh(&["zshenv", "zprofile", "zlogin"], noninteractive, &mut st),
            ("zsh", "non_interactive") => self.zsh(&["zshenv"], noninteractive, &mut st),
            ("zsh", "ssh_command") => {
                self.pam(&mut st);
                self.zsh(&["zshenv"], noninteractive, &mut st)
            }
            ("zsh", "vscode_resolved") => self.zsh(&["zshenv", "zprofile", "zshrc", "zlogin"], resolver, &mut st),
            ("fish", "interactive") => self.fish(interactive, &mut st, true),
            ("fish", "login" | "non_interactive") => self.fish(noninteractive, &mut st, true),
            ("fish", "ssh_command") => {
                self.pam(&mut st);
                self.fish(noninteractive, &mut st, true)
            }
            ("fish", "vscode_resolved") => self.fish(resolver, &mut st, true),
            (_, "interactive") => self.bash_rc(interactive, &mut st),
            (_, "login") => self.bash_login(noninteractive, &mut st),
            (_, "non_interactive") => {
                if let Some(f) = self.opts.env.get("BASH_ENV") {
                    let f = expand_path(&String::from_utf8_lossy(f), &self.opts.home, &self.opts.home);
                    self.run_file(&f, Dialect::Posix, noninteractive, &mut st, &mut Vec::new(), Origin::default());
                }
            }
            (_, "ssh_command") => {
                // Debian-family bash reads bash.bashrc and ~/.bashrc for `ssh host cmd`.
                self.pam(&mut st);
                self.bash_rc(noninteractive, &mut st)
            }
            (_, "vscode_resolved") => self.bash_login(resolver, &mut st),
            (_, "systemd_user") => {
                self.run_env_file(&self.etc("environment"), "etc_environment", &mut st);
                self.environment_d(&mut st);
            }
            (_, "gui") => {
                // A desktop session: pam_env, environment.d, and the login files.
                self.pam(&mut st);
                self.environment_d(&mut st);
                if shell == "bash" || shell == "sh" || shell.is_empty() {
                    self.bash_login(noninteractive, &mut st);
                }
            }
            _ => {}
        }
        VisibleIn { visible: st.set && st.exported, set_not_exported: st.set && !st.exported, from: st.from }
    }

    /// Every definition anywhere (every context run once collects them all),
    /// plus fish files and VS Code's terminal-only settings.
    pub fn collect_all(&mut self) {
        let modes = [Mode { interactive: true, tty: true }, Mode { interactive: false, tty: false }];
        for m in modes {
            let mut st = VarState::default();
            self.bash_rc(m, &mut st);
            self.bash_login(m, &mut st);
            self.zsh(&["zshenv", "zprofile", "zshrc", "zlogin"], m, &mut st);
            self.fish(m, &mut st, true);
        }
        // Files no context reads (a .profile shadowed by .bash_profile) still hold definitions.
        for f in [".profile", ".bash_profile", ".bash_login", ".bashrc", ".zshenv", ".zprofile", ".zshrc", ".zlogin"] {
            let mut st = VarState::default();
            let m = Mode { interactive: true, tty: true };
            self.run_file(&self.home(f), Dialect::Posix, m, &mut st, &mut Vec::new(), Origin::default());
        }
        let mut st = VarState::default();
        self.pam(&mut st);
        self.environment_d(&mut st);
        self.vscode_terminal_env();
    }

    /// `terminal.integrated.env.linux` reaches the integrated terminal only.
    fn vscode_terminal_env(&mut self) {
        for rel in [
            ".config/Code/User/settings.json",
            ".config/Cursor/User/settings.json",
            ".vscode-server/data/Machine/settings.json",
        ] {
            let file = self.home(rel);
            let Ok(text) = fsread::read_text(&file, CAP) else { continue };
            let Ok(doc) = keyhole_core::doc::parse_json(&text) else { continue };
            for key in ["terminal.integrated.env.linux", "terminal.integrated.env.osx"] {
                let Some(env) = doc.get(key) else { continue };
                if let Some(v) = env.get(self.var) {
                    self.record(Definition {
                        file: file.clone(),
                        line: env.key_line(self.var).unwrap_or(v.line),
                        kind: "vscode_terminal",
                        exported: true,
                        value: ShellValue::Literal(v.scalar_text().unwrap_or_default()),
                        after_guard: None,
                        in_function: false,
                        interactive_only: false,
                        conditional: None,
                        sourced_from: None,
                        universal: false,
                        loaded_by: None,
                    });
                }
            }
        }
    }
}

fn fish_unescape(v: &str) -> String {
    let mut out = String::new();
    let mut it = v.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' && it.peek() == Some(&'x') {
            it.next();
            let hex: String = it.by_ref().take(2).collect();
            if let Ok(b) = u8::from_str_radix(&hex, 16) {
                out.push(b as char);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Clone, Debug)]
pub struct VisibleIn {
    pub visible: bool,
    pub set_not_exported: bool,
    pub from: Option<(PathBuf, u32)>,
}

/// The fingerprint of a definition's value, when it is a literal.
fn def_json(d: &Definition, provider: Option<&keyhole_core::provider::Provider>) -> Value {
    let mut m = Map::new();
    m.insert("file".into(), json!(d.file.display().to_string()));
    m.insert("line".into(), json!(d.line));
    m.insert("kind".into(), json!(d.kind));
    m.insert("exported".into(), json!(d.exported));
    m.insert(
        "after_guard".into(),
        match &d.after_guard {
            Some((f, l, k)) => json!({"file": f.display().to_string(), "line": l, "kind": if *k == GuardKind::Tty { "tty" } else { "interactive" }}),
            None => Value::Null,
        },
    );
    match &d.value {
        ShellValue::Literal(v) => {
            m.insert("fp".into(), json!(Fingerprint::of(v.as_bytes(), provider)));
        }
        ShellValue::Var(v) => {
            m.insert("value_from".into(), json!({"var": v}));
        }
        ShellValue::Command(c) => {
            m.insert("value_from".into(), json!({"command": c}));
        }
        ShellValue::Mixed { vars, .. } => {
            m.insert("value_from".into(), json!({"mixed": vars}));
        }
    }
    if d.in_function {
        m.insert("in_function".into(), json!(true));
    }
    if d.interactive_only {
        m.insert("interactive_only".into(), json!(true));
    }
    if let Some(c) = &d.conditional {
        m.insert("conditional".into(), json!(c));
    }
    if let Some((f, l)) = &d.sourced_from {
        m.insert("sourced_from".into(), json!({"file": f.display().to_string(), "line": l}));
    }
    if d.universal {
        m.insert("universal".into(), json!(true));
    }
    if let Some(t) = d.loaded_by {
        m.insert("loaded_by".into(), json!(t));
    }
    Value::Object(m)
}

/// What the tool will really get: its `.env` files and the process
/// environment, in the tool's own precedence (catalogue `dotenv` rules).
pub fn effective(
    var: &str,
    t: Option<&Tool>,
    site_file: Option<&Path>,
    opts: &Options,
    process_env: Option<(u32, &BTreeMap<String, Vec<u8>>)>,
    provider: Option<&keyhole_core::provider::Provider>,
) -> Value {
    let project = site_file.and_then(|f| project_dir(f, &opts.home));
    let empty_is_unset = t.is_some_and(|t| t.empty_is_unset);
    let file_value = |rule: &tool::DotenvRule| -> Option<(PathBuf, u32, String)> {
        let path = match rule.path.strip_prefix("~/") {
            Some(rest) => opts.home.join(rest),
            None => project.as_ref()?.join(rule.path),
        };
        let text = fsread::read_text(&path, CAP).ok()?;
        let e = dotenv::parse(&text, rule.flavor).into_iter().rev().find(|e| e.name == var)?;
        if empty_is_unset && e.value.is_empty() {
            return None;
        }
        Some((path, e.line, e.value))
    };
    let env_value = || -> Option<(String, Vec<u8>)> {
        match process_env {
            Some((pid, env)) => env
                .get(var)
                .filter(|v| !(empty_is_unset && v.is_empty()))
                .map(|v| (format!("process:{pid}"), v.clone())),
            None => opts
                .env
                .get(var)
                .filter(|v| !(empty_is_unset && v.is_empty()))
                .map(|v| ("environment".to_string(), v.clone())),
        }
    };
    let rules: &[tool::DotenvRule] = t.map_or(&[], |t| t.dotenv);
    for r in rules.iter().filter(|r| r.overrides_env) {
        if let Some((p, line, v)) = file_value(r) {
            return json!({"from": p.display().to_string(), "line": line, "fp": Fingerprint::of(v.as_bytes(), provider), "overrides_env": true});
        }
    }
    if let Some((from, v)) = env_value() {
        return json!({"from": from, "fp": Fingerprint::of(&v, provider)});
    }
    for r in rules.iter().filter(|r| !r.overrides_env) {
        if let Some((p, line, v)) = file_value(r) {
            return json!({"from": p.display().to_string(), "line": line, "fp": Fingerprint::of(v.as_bytes(), provider)});
        }
    }
    Value::Null
}

/// The project a workspace-level site belongs to (None for the home's own tool dirs).
fn project_dir(file: &Path, home: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?;
    while dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
        dir = dir.parent()?;
    }
    (dir != home).then(|| dir.to_path_buf())
}

/// The whole `env` object of docs/records.md#env for `var`.
pub fn analyse(var: &str, site: Option<&Value>, opts: &Options, notes: &mut Vec<String>) -> Value {
    let tool = site.and_then(|s| s["tool"].as_str()).and_then(tool::get);
    let provider = site
        .and_then(|s| s["provider"].as_str())
        .and_then(keyhole_core::provider::get)
        .or_else(|| tool::key_var_provider(var));
    let mut a = Analyzer::new(opts, var);
    a.collect_all();
    let mut contexts = Map::new();
    let mut context_from = Map::new();
    for c in CONTEXTS {
        let v = a.context(c);
        contexts.insert(c.to_string(), json!(v.visible));
        if let Some((f, l)) = v.from.filter(|_| v.visible) {
            context_from.insert(c.to_string(), json!(format!("{}:{l}", f.display())));
        }
    }
    // The .env files the tool loads itself (every tool's, when no site names one).
    let project = site.and_then(|s| s["source"]["file"].as_str()).and_then(|f| project_dir(Path::new(f), &opts.home));
    let tools: Vec<&'static Tool> = match tool {
        Some(t) => vec![t],
        None => tool::TOOLS.to_vec(),
    };
    for t in tools {
        for rule in t.dotenv {
            let path = match rule.path.strip_prefix("~/") {
                Some(rest) => opts.home.join(rest),
                None => match &project {
                    Some(p) => p.join(rule.path),
                    None => continue,
                },
            };
            let Ok(text) = fsread::read_text(&path, CAP) else { continue };
            for e in dotenv::parse(&text, rule.flavor).into_iter().filter(|e| e.name == var) {
                a.record(Definition {
                    file: path.clone(),
                    line: e.line,
                    kind: "dotenv",
                    exported: true,
                    value: ShellValue::Literal(e.value),
                    after_guard: None,
                    in_function: false,
                    interactive_only: false,
                    conditional: None,
                    sourced_from: None,
                    universal: false,
                    loaded_by: Some(t.name),
                });
            }
        }
    }
    let near = near_misses(var, opts, &tools_files(tool, opts, project.as_deref()));
    let mut defs: Vec<Definition> = a.definitions.clone();
    defs.sort_by(|x, y| (&x.file, x.line).cmp(&(&y.file, y.line)));
    let current = match opts.env.get(var) {
        Some(v) => json!({"set": true, "fp": Fingerprint::of(v, provider)}),
        None => json!({"set": false}),
    };
    let newest_def_mtime = defs
        .iter()
        .filter_map(|d| std::fs::metadata(&d.file).ok()?.modified().ok())
        .max()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let families = procs::families(tool);
    let found = procs::scan(&opts.proc_root, &families, var, notes);
    let mut processes = Vec::new();
    let mut tool_process: Option<(u32, BTreeMap<String, Vec<u8>>)> = None;
    for p in &found {
        let mut o =
            json!({"pid": p.pid, "role": p.role, "started": p.started.map(rfc3339), "has_var": p.value.is_some()});
        if let Some(v) = &p.value {
            o["fp"] = json!(Fingerprint::of(v, provider));
        }
        // Started before the newest definition's file was last changed, and lacks the variable (or has another value).
        if let (Some(start), Some(mtime)) = (p.started, newest_def_mtime) {
            if start < mtime as f64 && defs.iter().any(|d| d.exported) {
                o["started_before_edit"] = json!(true);
            }
        }
        // The launch context this process most likely came from, and why it lacks the variable.
        let launched = match p.role.as_str() {
            "vscode-extension-host" => "vscode_resolved",
            "vscode-server" => "ssh_command",
            _ if p.ppid == Some(1) => "non_interactive",
            _ => "interactive",
        };
        o["launched_as"] = json!(launched);
        if p.value.is_none() && !defs.is_empty() {
            let visible = contexts.get(launched).and_then(Value::as_bool).unwrap_or(false);
            let reason = if visible {
                if o.get("started_before_edit").is_some() {
                    "stale"
                } else {
                    "unknown"
                }
            } else if defs.iter().any(|d| !d.exported && d.kind == "shell") && !defs.iter().any(|d| d.exported) {
                "not_exported"
            } else if defs.iter().any(|d| d.after_guard.is_some()) {
                "after_guard"
            } else {
                "wrong_file"
            };
            o["lacks_because"] = json!(reason);
        }
        if p.role != "vscode-server" && p.role != "vscode-extension-host" && tool_process.is_none() {
            tool_process = Some((p.pid, p.environ.clone()));
        }
        processes.push(o);
    }
    let eff = effective(
        var,
        tool,
        site.and_then(|s| s["source"]["file"].as_str()).map(Path::new),
        opts,
        tool_process.as_ref().map(|(pid, env)| (*pid, env)),
        provider,
    );
    json!({
        "var": var,
        "shell": opts.shell,
        "current": current,
        "definitions": defs.iter().map(|d| def_json(d, provider)).collect::<Vec<_>>(),
        "contexts": contexts,
        "context_sources": context_from,
        "processes": processes,
        "effective": eff,
        "near_misses": near,
    })
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

pub fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A variable one launch context adds (`SSH_CLIENT` for `ssh host cmd`).
type ExtraVar = (&'static str, &'static str);

/// Ground truth: start the user's real shells in each context and ask a
/// child process whether it got the variable. Opt-in: this runs the user's files.
pub fn exec_contexts(var: &str, opts: &Options) -> Map<String, Value> {
    let mut out = Map::new();
    let shell = opts.shell.as_str();
    let probe = if shell == "fish" {
        format!("if printenv {var} >/dev/null; echo KEYHOLE_SET; else; echo KEYHOLE_UNSET; end")
    } else {
        format!("if printenv {var} >/dev/null; then echo KEYHOLE_SET; else echo KEYHOLE_UNSET; fi")
    };
    // (context, flags, extra variable): what each launch context runs.
    let mut runs: Vec<(&str, &str, Option<ExtraVar>)> =
        vec![("interactive", "-ic", None), ("login", "-lc", None), ("non_interactive", "-c", None)];
    if shell != "zsh" && shell != "fish" {
        // Debian-family bash: `ssh host cmd` reads ~/.bashrc when SSH_CLIENT is set and SHLVL is not.
        runs.push(("ssh_command", "-c", Some(("SSH_CLIENT", "10.0.0.1 5555 22"))));
    }
    runs.push(("vscode_resolved", "-ilc", None));
    let program = match shell {
        "zsh" | "fish" => shell.to_string(),
        _ => "bash".to_string(),
    };
    for (ctx, flags, extra) in runs {
        let args = [flags.to_string(), probe.clone()];
        let mut c = std::process::Command::new("timeout");
        if ctx == "interactive" {
            // A terminal tab has a tty: give the shell one (script from util-linux), so tty guards pass as they do there.
            let quoted: Vec<String> = args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
            c.arg("10").arg("script").arg("-qec").arg(format!("{program} {}", quoted.join(" "))).arg("/dev/null");
        } else {
            c.arg("10").arg(&program).args(&args);
        }
        c.env_clear().env("HOME", &opts.home).env("PATH", "/usr/local/bin:/usr/bin:/bin").env("TERM", "dumb");
        if let Some((k, v)) = extra {
            c.env(k, v);
        }
        c.stdin(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        let r = match c.output() {
            Ok(o) => {
                let s = String::from_utf8_lossy(&o.stdout);
                // Whole lines only: an error message may quote the command.
                let said = |w: &str| s.lines().any(|l| l.trim() == w);
                if said("KEYHOLE_SET") {
                    json!(true)
                } else if said("KEYHOLE_UNSET") {
                    json!(false)
                } else {
                    json!(null)
                }
            }
            Err(_) => json!(null),
        };
        out.insert(ctx.to_string(), r);
    }
    out
}

/// The user's shell name from `SHELL` in the analysed environment.
pub fn shell_of(env: &BTreeMap<String, Vec<u8>>) -> String {
    env.get("SHELL")
        .map(|s| String::from_utf8_lossy(s).rsplit('/').next().unwrap_or("bash").to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bash".into())
}

/// The `.env` files a tool (or every tool) loads, resolved.
fn tools_files(tool: Option<&'static Tool>, opts: &Options, project: Option<&Path>) -> Vec<(PathBuf, Flavor)> {
    let tools: Vec<&'static Tool> = match tool {
        Some(t) => vec![t],
        None => tool::TOOLS.to_vec(),
    };
    let mut v = Vec::new();
    for t in tools {
        for rule in t.dotenv {
            let path = match rule.path.strip_prefix("~/") {
                Some(rest) => opts.home.join(rest),
                None => match project {
                    Some(p) => p.join(rule.path),
                    None => continue,
                },
            };
            v.push((path, rule.flavor));
        }
    }
    v
}

fn squash(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Assignments of a variable whose name is the wanted one but for case and
/// punctuation (`OPEN_ROUTER_API_KEY` for `OPENROUTER_API_KEY`, openclaw#26960):
/// defined, but under a name no tool reads.
pub fn near_misses(var: &str, opts: &Options, dotenvs: &[(PathBuf, Flavor)]) -> Vec<Value> {
    let want = squash(var);
    let mut out = Vec::new();
    let mut check = |file: &Path, name: &str, line: u32| {
        if name != var && squash(name) == want {
            out.push(json!({"name": name, "file": file.display().to_string(), "line": line}));
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
    let mut files: Vec<(PathBuf, Flavor)> = dotenvs.to_vec();
    files.push((opts.home.join(".env"), Flavor::Python));
    for (f, flavor) in files {
        let Ok(text) = fsread::read_text(&f, CAP) else { continue };
        for e in dotenv::parse(&text, flavor) {
            check(&f, &e.name, e.line);
        }
    }
    out
}
