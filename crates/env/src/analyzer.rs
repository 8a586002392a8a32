//! The static analysis of the startup files (docs/launch-contexts.md): one
//! simulated shell per launch context, following `source`, guards, `set -a`
//! and functions, and every assignment of the variable anywhere.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use keyhole_core::dotenv::{self, Flavor};
use keyhole_core::fsread;
use keyhole_core::record::env::{DefinitionKind, LaunchContext};
use keyhole_core::shell::{Assignment, Dialect, ShellValue};
use keyhole_core::startup::{self, GuardKind, Item};

use crate::{Options, CAP};

/// One assignment of the variable somewhere.
#[derive(Clone, Debug)]
pub struct Definition {
    pub file: PathBuf,
    pub line: u32,
    pub kind: DefinitionKind,
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

impl Definition {
    /// An assignment with nothing around it (no guard, function, condition
    /// or `source`): `.env`, pam, environment.d, settings files.
    pub fn plain(file: &Path, line: u32, kind: DefinitionKind, exported: bool, value: String) -> Self {
        Definition {
            file: file.to_path_buf(),
            line,
            kind,
            exported,
            value: ShellValue::Literal(value),
            after_guard: None,
            in_function: false,
            interactive_only: false,
            conditional: None,
            sourced_from: None,
            universal: false,
            loaded_by: None,
        }
    }

    /// An assignment in a startup file, where `origin` says what is around it.
    fn assigned(
        file: &Path,
        a: &Assignment,
        ctx: &startup::Ctx,
        kind: DefinitionKind,
        exported: bool,
        origin: &Origin,
    ) -> Self {
        Definition {
            value: a.value.clone(),
            after_guard: origin.guard.clone(),
            in_function: ctx.in_function,
            interactive_only: ctx.interactive_only,
            conditional: ctx.conditional.clone(),
            sourced_from: origin.sourced_from.clone(),
            ..Definition::plain(file, a.line, kind, exported, String::new())
        }
    }
}

/// How a shell of one launch context runs.
#[derive(Clone, Copy, Debug)]
struct Mode {
    interactive: bool,
    tty: bool,
}

const INTERACTIVE: Mode = Mode { interactive: true, tty: true };
const NON_INTERACTIVE: Mode = Mode { interactive: false, tty: false };
/// VS Code's resolver: `$SHELL -i -l -c` with no terminal.
const RESOLVER: Mode = Mode { interactive: true, tty: false };

/// Where a file is read from: the guard already passed (in the file that
/// sources it, or above the line), and the file and line that source it.
#[derive(Clone, Debug, Default)]
struct Origin {
    guard: Option<(PathBuf, u32, GuardKind)>,
    sourced_from: Option<(PathBuf, u32)>,
}

/// How deep `source` is followed: a file sourced from a file … sourced from
/// a startup file, 16 levels down.
const MAX_SOURCE_DEPTH: usize = 16;
/// How many files one simulated shell runs through `source` (a file
/// sourced twice runs twice, as in a shell; a fan of files sourcing each
/// other twice over would otherwise run 2^16 times).
const MAX_SOURCED: usize = 256;

/// A startup file, analysed once per run of the analyser.
struct Parsed {
    items: Vec<Item>,
}

/// What one simulated shell has run: how many files.
#[derive(Default)]
struct Shell {
    runs: usize,
}

/// A file being read: where it is, what it is read from, and (for
/// /etc/profile) the profile.d files still to run after it.
struct Frame {
    file: PathBuf,
    dialect: Dialect,
    parsed: Rc<Parsed>,
    next: usize,
    here: Origin,
    profile_d: Option<std::vec::IntoIter<PathBuf>>,
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

/// Whether a process started in a context gets the variable, and from where.
#[derive(Clone, Debug)]
pub struct VisibleIn {
    pub visible: bool,
    pub from: Option<(PathBuf, u32)>,
}

pub struct Analyzer<'a> {
    opts: &'a Options,
    var: &'a str,
    pub definitions: Vec<Definition>,
    seen_defs: HashSet<(PathBuf, u32)>,
    /// Each startup file read and analysed once, whatever reads it (by
    /// path and whether as fish); `None`: it cannot be read.
    parsed: HashMap<(PathBuf, bool), Option<Rc<Parsed>>>,
}

pub(crate) fn expand_path(p: &str, home: &Path, from_dir: &Path) -> PathBuf {
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
        Analyzer { opts, var, definitions: Vec::new(), seen_defs: HashSet::new(), parsed: HashMap::new() }
    }

    fn home(&self, rel: &str) -> PathBuf {
        self.opts.home.join(rel)
    }
    fn etc(&self, rel: &str) -> PathBuf {
        self.opts.etc.join(rel)
    }

    /// Keep a definition, once per file and line.
    pub fn record(&mut self, d: Definition) {
        if self.seen_defs.insert((d.file.clone(), d.line)) {
            self.definitions.push(d);
        }
    }

    /// Run one startup file in a simulated shell of `mode`, following
    /// `source` (docs/launch-contexts.md#startup-file-guards) without
    /// recursion: a stack of the files being read, each sourced file run
    /// where its `source` line is. A file already on the stack (a cycle), a
    /// stack [`MAX_SOURCE_DEPTH`] deep, or more than [`MAX_SOURCED`] files
    /// run in one shell stop the following; each file is read and analysed
    /// once (`self.parsed`), however often it is sourced.
    fn run_file(
        &mut self,
        file: &Path,
        dialect: Dialect,
        mode: Mode,
        state: &mut VarState,
        shell: &mut Shell,
        origin: Origin,
    ) {
        let mut frames: Vec<Frame> = Vec::new();
        self.enter(&mut frames, file, dialect, origin, shell);
        while let Some(top) = frames.last_mut() {
            let parsed = top.parsed.clone();
            let Some(item) = parsed.items.get(top.next) else {
                // /etc/profile sources /etc/profile.d/*.sh through a loop variable.
                if top.profile_d.is_none() && top.file == self.etc("profile") {
                    top.profile_d = Some(sorted_files(&self.etc("profile.d"), "sh").into_iter());
                }
                match top.profile_d.as_mut().and_then(Iterator::next) {
                    Some(f) => {
                        let origin =
                            Origin { guard: top.here.guard.clone(), sourced_from: Some((top.file.clone(), 0)) };
                        self.enter(&mut frames, &f, Dialect::Posix, origin, shell);
                    }
                    None => {
                        frames.pop();
                    }
                }
                continue;
            };
            top.next += 1;
            let file = top.file.clone();
            let kind = if top.dialect == Dialect::Fish { DefinitionKind::Fish } else { DefinitionKind::Shell };
            match item {
                Item::Guard { line, kind } => {
                    let stops = match kind {
                        GuardKind::Interactive => !mode.interactive,
                        GuardKind::Tty => !mode.tty,
                    };
                    if top.here.guard.as_ref().is_none_or(|g| g.0 == file) {
                        top.here.guard = Some((file.clone(), *line, *kind));
                    }
                    if stops {
                        // Keep reading for definitions, without effect on the state.
                        let (here, dialect) = (top.here.clone(), top.dialect);
                        frames.pop();
                        self.collect_rest(&file, parsed.clone(), dialect, &here);
                    }
                }
                Item::Allexport { on, .. } => state.allexport = *on,
                Item::Assign { a, ctx } if a.name == self.var => {
                    let exported = a.exported || state.allexport;
                    let d = Definition::assigned(&file, a, ctx, kind, exported, &top.here);
                    self.record(Definition { universal: a.universal, ..d });
                    if !runs(ctx, mode) || a.command_prefix {
                        continue;
                    }
                    state.set = true;
                    state.exported = state.exported || exported;
                    state.from = Some((file, a.line));
                }
                Item::ExportNames { names, ctx, .. }
                    if names.iter().any(|n| n == self.var) && runs(ctx, mode) && state.set =>
                {
                    state.exported = true;
                    if let Some(d) =
                        self.definitions.iter_mut().rev().find(|d| Some((d.file.clone(), d.line)) == state.from)
                    {
                        d.exported = true;
                    }
                }
                Item::Source { path, line, ctx } => {
                    if !runs(ctx, mode) {
                        continue;
                    }
                    let target = expand_path(path, &self.opts.home, top.file.parent().unwrap_or(Path::new("/")));
                    let d = if target.extension().is_some_and(|e| e == "fish") { Dialect::Fish } else { top.dialect };
                    let origin = Origin { guard: top.here.guard.clone(), sourced_from: Some((file, *line)) };
                    self.enter(&mut frames, &target, d, origin, shell);
                }
                _ => {}
            }
        }
    }

    /// Start reading `file` on top of `frames`, unless it is a cycle, too
    /// deep, over the shell's budget, or cannot be read.
    fn enter(&mut self, frames: &mut Vec<Frame>, file: &Path, dialect: Dialect, origin: Origin, shell: &mut Shell) {
        if frames.iter().any(|f| f.file == file) || frames.len() > MAX_SOURCE_DEPTH || shell.runs >= MAX_SOURCED {
            return;
        }
        let Some(parsed) = self.parse(file, dialect) else { return };
        shell.runs += 1;
        frames.push(Frame { file: file.to_path_buf(), dialect, parsed, next: 0, here: origin, profile_d: None });
    }

    /// `file` analysed as `dialect`, once; `None` when it cannot be read.
    fn parse(&mut self, file: &Path, dialect: Dialect) -> Option<Rc<Parsed>> {
        let key = (file.to_path_buf(), dialect == Dialect::Fish);
        if let Some(p) = self.parsed.get(&key) {
            return p.clone();
        }
        let p =
            fsread::read_text(file, CAP).ok().map(|text| Rc::new(Parsed { items: startup::analyze(&text, dialect) }));
        self.parsed.insert(key, p.clone());
        p
    }

    /// Definitions below a guard that stopped this shell: recorded (they
    /// exist), with no effect; the files sourced below the guard too, each
    /// once (a cycle between two files ends), at most [`MAX_SOURCE_DEPTH`]
    /// deep, without recursion.
    fn collect_rest(&mut self, file: &Path, parsed: Rc<Parsed>, dialect: Dialect, origin: &Origin) {
        let guard_line = origin.guard.as_ref().map_or(0, |g| g.1);
        let mut seen: HashSet<PathBuf> = HashSet::from([file.to_path_buf()]);
        // (file, its items, the next one, where it is read from, `set -a` in it)
        let mut work: Vec<(PathBuf, Rc<Parsed>, usize, Origin, bool)> =
            vec![(file.to_path_buf(), parsed, 0, origin.clone(), false)];
        while let Some((file, parsed, next, origin, allexport)) = work.last_mut() {
            let parsed = parsed.clone();
            let Some(item) = parsed.items.get(*next) else {
                work.pop();
                continue;
            };
            *next += 1;
            let file = file.clone();
            match item {
                Item::Allexport { on, .. } => *allexport = *on,
                Item::Assign { a, ctx } if a.name == self.var && a.line > guard_line => {
                    let exported = a.exported || *allexport;
                    let d = Definition::assigned(&file, a, ctx, DefinitionKind::Shell, exported, origin);
                    self.record(d);
                }
                Item::ExportNames { names, line, .. } if names.iter().any(|n| n == self.var) && *line > guard_line => {
                    if let Some(d) = self.definitions.iter_mut().rev().find(|d| d.file == file) {
                        d.exported = true;
                    }
                }
                Item::Source { path, line, ctx } if *line > guard_line && !ctx.in_function => {
                    let target = expand_path(path, &self.opts.home, file.parent().unwrap_or(Path::new("/")));
                    let inner = Origin { guard: origin.guard.clone(), sourced_from: Some((file, *line)) };
                    if work.len() > MAX_SOURCE_DEPTH || !seen.insert(target.clone()) {
                        continue;
                    }
                    if let Some(parsed) = self.parse(&target, dialect) {
                        work.push((target, parsed, 0, inner, false));
                    }
                }
                _ => {}
            }
        }
    }

    /// `NAME=VALUE` files that are always exported (pam_env, environment.d).
    fn run_env_file(&mut self, file: &Path, kind: DefinitionKind, state: &mut VarState) {
        let Ok(text) = fsread::read_text(file, CAP) else { return };
        for e in dotenv::parse(&text, Flavor::Python) {
            if e.name != self.var {
                continue;
            }
            self.record(Definition::plain(file, e.line, kind, true, e.value));
            state.set = true;
            state.exported = true;
            state.from = Some((file.to_path_buf(), e.line));
        }
    }

    fn pam(&mut self, state: &mut VarState) {
        self.run_env_file(&self.etc("environment"), DefinitionKind::EtcEnvironment, state);
        // read only with pam_env user_readenv=1 (Debian's sshd has it).
        self.run_env_file(&self.home(".pam_environment"), DefinitionKind::PamEnvironment, state);
    }

    fn environment_d(&mut self, state: &mut VarState) {
        for dir in [self.etc("environment.d"), self.home(".config/environment.d")] {
            for f in sorted_files(&dir, "conf") {
                self.run_env_file(&f, DefinitionKind::EnvironmentD, state);
            }
        }
    }

    /// Run each file in one shell, in order, from the top.
    fn run_files(&mut self, files: &[PathBuf], dialect: Dialect, mode: Mode, state: &mut VarState) {
        let mut shell = Shell::default();
        for f in files {
            self.run_file(f, dialect, mode, state, &mut shell, Origin::default());
        }
    }

    fn bash_login(&mut self, mode: Mode, state: &mut VarState) {
        let mut files = vec![self.etc("profile")];
        // The first existing of these; the others are never read.
        files.extend([".bash_profile", ".bash_login", ".profile"].iter().map(|f| self.home(f)).find(|p| p.is_file()));
        self.run_files(&files, Dialect::Posix, mode, state);
    }

    fn bash_rc(&mut self, mode: Mode, state: &mut VarState) {
        let files = [self.etc("bash.bashrc"), self.home(".bashrc")];
        self.run_files(&files, Dialect::Posix, mode, state);
    }

    fn zsh(&mut self, names: &[&str], mode: Mode, state: &mut VarState) {
        let files: Vec<PathBuf> =
            names.iter().flat_map(|f| [self.etc(&format!("zsh/{f}")), self.home(&format!(".{f}"))]).collect();
        self.run_files(&files, Dialect::Posix, mode, state);
    }

    fn fish(&mut self, mode: Mode, state: &mut VarState) {
        let mut files = vec![self.etc("fish/config.fish")];
        files.extend(sorted_files(&self.home(".config/fish/conf.d"), "fish"));
        files.push(self.home(".config/fish/config.fish"));
        self.fish_universal(state);
        self.run_files(&files, Dialect::Fish, mode, state);
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
            let line = i as u32 + 1;
            let d = Definition::plain(&file, line, DefinitionKind::FishUniversal, exported, fish_unescape(value));
            self.record(Definition { universal: true, ..d });
            state.set = true;
            state.exported |= exported;
            state.from = Some((file.clone(), line));
        }
    }

    /// Whether a process started in `context` gets the variable.
    pub fn context(&mut self, context: LaunchContext) -> VisibleIn {
        use LaunchContext as C;
        let mut st = VarState::default();
        let shell = self.opts.shell.clone();
        match (shell.as_str(), context) {
            ("zsh", C::Interactive) => self.zsh(&["zshenv", "zshrc"], INTERACTIVE, &mut st),
            ("zsh", C::Login) => self.zsh(&["zshenv", "zprofile", "zlogin"], NON_INTERACTIVE, &mut st),
            ("zsh", C::NonInteractive) => self.zsh(&["zshenv"], NON_INTERACTIVE, &mut st),
            ("zsh", C::SshCommand) => {
                self.pam(&mut st);
                self.zsh(&["zshenv"], NON_INTERACTIVE, &mut st)
            }
            ("zsh", C::VscodeResolved) => self.zsh(&["zshenv", "zprofile", "zshrc", "zlogin"], RESOLVER, &mut st),
            ("fish", C::Interactive) => self.fish(INTERACTIVE, &mut st),
            ("fish", C::Login | C::NonInteractive) => self.fish(NON_INTERACTIVE, &mut st),
            ("fish", C::SshCommand) => {
                self.pam(&mut st);
                self.fish(NON_INTERACTIVE, &mut st)
            }
            ("fish", C::VscodeResolved) => self.fish(RESOLVER, &mut st),
            (_, C::Interactive) => self.bash_rc(INTERACTIVE, &mut st),
            (_, C::Login) => self.bash_login(NON_INTERACTIVE, &mut st),
            (_, C::NonInteractive) => {
                if let Some(f) = self.opts.env.get("BASH_ENV") {
                    let f = expand_path(&String::from_utf8_lossy(f), &self.opts.home, &self.opts.home);
                    self.run_files(&[f], Dialect::Posix, NON_INTERACTIVE, &mut st);
                }
            }
            (_, C::SshCommand) => {
                // Debian-family bash reads bash.bashrc and ~/.bashrc for `ssh host cmd`.
                self.pam(&mut st);
                self.bash_rc(NON_INTERACTIVE, &mut st)
            }
            (_, C::VscodeResolved) => self.bash_login(RESOLVER, &mut st),
            (_, C::SystemdUser) => {
                self.run_env_file(&self.etc("environment"), DefinitionKind::EtcEnvironment, &mut st);
                self.environment_d(&mut st);
            }
            (_, C::Gui) => {
                // A desktop session: pam_env, environment.d, and the login files.
                self.pam(&mut st);
                self.environment_d(&mut st);
                if shell == "bash" || shell == "sh" || shell.is_empty() {
                    self.bash_login(NON_INTERACTIVE, &mut st);
                }
            }
        }
        VisibleIn { visible: st.set && st.exported, from: st.from }
    }

    /// Every definition anywhere (every context run once collects them all),
    /// plus fish files and VS Code's terminal-only settings.
    pub fn collect_all(&mut self) {
        for m in [INTERACTIVE, NON_INTERACTIVE] {
            let mut st = VarState::default();
            self.bash_rc(m, &mut st);
            self.bash_login(m, &mut st);
            self.zsh(&["zshenv", "zprofile", "zshrc", "zlogin"], m, &mut st);
            self.fish(m, &mut st);
        }
        // Files no context reads (a .profile shadowed by .bash_profile) still hold definitions.
        for f in [".profile", ".bash_profile", ".bash_login", ".bashrc", ".zshenv", ".zprofile", ".zshrc", ".zlogin"] {
            self.run_files(&[self.home(f)], Dialect::Posix, INTERACTIVE, &mut VarState::default());
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
                    let line = env.key_line(self.var).unwrap_or(v.line);
                    let value = v.scalar_text().unwrap_or_default();
                    self.record(Definition::plain(&file, line, DefinitionKind::VscodeTerminal, true, value));
                }
            }
        }
    }
}

/// The files in `dir` with extension `ext`, sorted.
fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == ext)).collect();
    files.sort();
    files
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
