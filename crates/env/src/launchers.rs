//! Service definitions that start a tool: systemd units (user and system,
//! with drop-ins and `EnvironmentFile=`), docker compose services, crontab
//! lines. For each, whether what it starts gets the variable
//! (docs/launch-contexts.md#services).
//!
//! A definition starts the tool when the command it runs is the tool's code
//! by the same rules as a running process (the catalogue's
//! `process_family`, [`crate::procs::identify_code`]), or when it names the
//! site's config file.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use keyhole_core::doc::{self, Kind, Node};
use keyhole_core::dotenv::{self, Flavor};
use keyhole_core::fsread;
use keyhole_core::provider::Provider;
use keyhole_core::record::env::{FileLine, Launcher, LauncherKind, NearMiss};
use keyhole_core::record::Extra;
use keyhole_core::secret::Fingerprint;
use keyhole_core::tool::Tool;

use crate::procs::identify_code;
use crate::Options;

const CAP: u64 = fsread::DEFAULT_CAP;
/// The most entries of one directory looked at (units, drop-ins, `cron.d`).
const DIR_CAP: usize = 1024;
/// The most directories above a site searched for a compose file.
const COMPOSE_DEPTH: usize = 8;

/// What one scan looks for.
struct Look<'a> {
    var: &'a str,
    tool: &'static Tool,
    site_file: Option<PathBuf>,
    opts: &'a Options,
    provider: Option<&'a Provider>,
}

/// A value of the variable and where it is set.
#[derive(Clone)]
struct Set {
    value: String,
    file: PathBuf,
    line: u32,
}

impl Look<'_> {
    fn launcher(&self, kind: LauncherKind, name: String, file: &Path, line: u32) -> Launcher {
        Launcher {
            kind,
            name,
            file: file.display().to_string(),
            line,
            sees: Some(false),
            from: None,
            fp: None,
            near_misses: Vec::new(),
            notes: Vec::new(),
            extra: Extra::new(),
        }
    }

    fn sees(&self, l: &mut Launcher, set: &Set) {
        l.sees = Some(true);
        l.from = Some(FileLine::new(set.file.display().to_string(), set.line));
        l.fp = Some(Fingerprint::of(set.value.as_bytes(), self.provider));
    }

    /// A name that differs from the variable only in case or punctuation.
    fn near_miss(&self, l: &mut Launcher, name: &str, file: &Path, line: u32) {
        if name != self.var && squash(name) == squash(self.var) {
            let n = NearMiss { name: name.to_string(), file: file.display().to_string(), line, extra: Extra::new() };
            if !l.near_misses.contains(&n) {
                l.near_misses.push(n);
            }
        }
    }
}

fn squash(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// The launchers under the home (and `opts.etc`) that start `tool` (or use
/// the site's config file), with what each passes for `var`.
pub fn scan(
    var: &str,
    tool: Option<&'static Tool>,
    site_file: Option<&Path>,
    opts: &Options,
    provider: Option<&Provider>,
) -> Vec<Launcher> {
    let Some(tool) = tool.filter(|t| !t.process_family.is_empty()) else { return Vec::new() };
    let look = Look { var, tool, site_file: site_file.map(normalize), opts, provider };
    let mut out = systemd(&look);
    out.extend(compose(&look));
    out.extend(cron(&look));
    out
}

// ---- paths and commands ----

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// A path as a command or a definition file writes it: `~/`, `$HOME/` and
/// `${HOME}/` are the home, a relative path is under `base`.
fn resolve(word: &str, base: &Path, home: &Path) -> PathBuf {
    let rest = ["~/", "$HOME/", "${HOME}/"].iter().find_map(|p| word.strip_prefix(p));
    normalize(&match rest {
        Some(r) => home.join(r),
        None if word == "~" || word == "$HOME" => home.to_path_buf(),
        None => base.join(word),
    })
}

/// Programs that run the command that follows them.
const WRAPPERS: [&str; 10] = ["env", "exec", "nohup", "setsid", "nice", "ionice", "stdbuf", "timeout", "npx", "uvx"];

/// What one command (a unit's `ExecStart=`, a crontab line) does, as far as
/// the tool and the variable go.
#[derive(Default)]
struct Command {
    /// Why it runs the tool (`script …`, `argv0 …`).
    runs: Option<String>,
    names_site: bool,
    /// `VAR=value cmd` or `export VAR=value` before the tool: its value.
    sets: Option<String>,
    /// Files it sources (`. ~/.profile`), or a login shell (`bash -l`).
    reads: Vec<String>,
    /// Other names it assigns (near misses).
    assigns: Vec<String>,
}

impl Command {
    fn starts_tool(&self) -> bool {
        self.runs.is_some() || self.names_site
    }
}

/// Split a shell command line into simple commands of words: quotes and
/// backslashes as the shell reads them, `;`, `&&`, `||`, `|`, `&`, parentheses
/// and newlines between commands, a `#` word to the end of the line.
fn shell_commands(text: &str) -> Vec<Vec<String>> {
    let mut cmds: Vec<Vec<String>> = vec![Vec::new()];
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    let end_word = |word: &mut Option<String>, cmds: &mut Vec<Vec<String>>| {
        if let Some(w) = word.take() {
            cmds.last_mut().unwrap().push(w);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                w.push(n);
                            }
                        }
                        c => w.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    if n != '\n' {
                        word.get_or_insert_with(String::new).push(n);
                    }
                }
            }
            '#' if word.is_none() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                end_word(&mut word, &mut cmds);
                cmds.push(Vec::new());
            }
            ';' | '&' | '|' | '(' | ')' | '\n' => {
                end_word(&mut word, &mut cmds);
                cmds.push(Vec::new());
            }
            c if c.is_whitespace() => end_word(&mut word, &mut cmds),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end_word(&mut word, &mut cmds);
    cmds.retain(|c| !c.is_empty());
    cmds
}

/// `NAME=value` with NAME an identifier.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ident.then_some((name, value))
}

impl Look<'_> {
    /// Read the simple commands of a command line (`base`: its working
    /// directory) into `cmd`; `depth` bounds `bash -c` inside `bash -c`.
    fn command_line(&self, words: &[Vec<String>], base: &Path, cmd: &mut Command, depth: usize) {
        let home = &self.opts.home;
        let mut base = base.to_path_buf();
        for w in words {
            let mut w: &[String] = w;
            // Leading assignments: `VAR=value cmd`, and `export VAR=value`.
            let export = w.first().is_some_and(|a| a == "export");
            if export {
                w = &w[1..];
            }
            let mut local = None;
            while let Some((name, value)) = w.first().and_then(|a| assignment(a)) {
                if name == self.var {
                    local = Some(value.to_string());
                } else {
                    cmd.assigns.push(name.to_string());
                }
                w = &w[1..];
            }
            if export || w.is_empty() {
                if let Some(v) = local {
                    cmd.sets = Some(v);
                }
                continue;
            }
            let a0 = w[0].as_str();
            let b0 = a0.rsplit('/').next().unwrap_or(a0);
            match b0 {
                "cd" => {
                    base = resolve(w.get(1).map_or("~", |s| s.as_str()), &base, home);
                    continue;
                }
                "." | "source" => {
                    cmd.reads.extend(w.get(1).cloned());
                    continue;
                }
                _ => {}
            }
            // `bash -c '…'`, `bash -lc '…'`: the string is a command line too.
            if matches!(b0, "bash" | "sh" | "dash" | "zsh") {
                let flags: Vec<&String> = w[1..].iter().take_while(|a| a.starts_with('-')).collect();
                if flags.iter().any(|f| *f == "--login" || (!f.starts_with("--") && f.contains('l'))) {
                    cmd.reads.push(format!("{b0} -l (a login shell's startup files)"));
                }
                if flags.iter().any(|f| !f.starts_with("--") && f.contains('c')) && depth < 4 {
                    if let Some(script) = w.get(1 + flags.len()) {
                        let before = cmd.runs.is_some();
                        self.command_line(&shell_commands(script), &base, cmd, depth + 1);
                        if cmd.runs.is_some() && !before && local.is_some() {
                            cmd.sets = local;
                        }
                        continue;
                    }
                }
            }
            let argv = unwrap(w);
            let runs = identify_code(self.tool.process_family, None, &argv);
            let names_site = self.site_file.as_ref().is_some_and(|site| {
                argv.iter().any(|a| {
                    let v = a.split_once('=').map_or(a.as_str(), |(_, v)| v);
                    !v.is_empty() && !v.starts_with('-') && resolve(v, &base, home) == *site
                })
            });
            if (runs.is_some() || names_site) && !cmd.starts_tool() {
                cmd.runs = runs;
                cmd.names_site = names_site;
                if local.is_some() {
                    cmd.sets = local;
                }
            }
        }
    }
}

/// The command a wrapper runs (`env A=1 nohup litellm …` → `litellm …`).
fn unwrap(words: &[String]) -> Vec<String> {
    let mut w: &[String] = words;
    while let Some(a0) = w.first() {
        let b = a0.rsplit('/').next().unwrap_or(a0);
        if !WRAPPERS.contains(&b) {
            break;
        }
        w = &w[1..];
        // The wrapper's own options and arguments: `nice -n 5`, `timeout 30`, `env -u X A=1`.
        while let Some(a) = w.first() {
            if a.starts_with('-') {
                let takes = matches!(a.as_str(), "-n" | "-u" | "-c" | "-C" | "-s" | "-k" | "-p");
                w = &w[if takes { 2 } else { 1 }.min(w.len())..];
            } else if assignment(a).is_some() || (b == "timeout" && a.starts_with(|c: char| c.is_ascii_digit())) {
                w = &w[1..];
            } else {
                break;
            }
        }
    }
    w.to_vec()
}

// ---- systemd ----

/// One `Key=value` of a unit file or drop-in.
struct UnitLine {
    file: PathBuf,
    line: u32,
    section: String,
    key: String,
    value: String,
}

/// The lines of a unit file: `[Section]`, `Key=value`, `#`/`;` comments, and
/// a backslash at the end of a line continuing it.
fn unit_lines(file: &Path, text: &str) -> Vec<UnitLine> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<(u32, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i as u32 + 1;
        let (start, mut acc) = match pending.take() {
            Some((s, acc)) => (s, acc + " "),
            None => {
                let t = raw.trim_start();
                if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                    continue;
                }
                if let Some(s) = t.strip_prefix('[') {
                    section = s.trim_end().trim_end_matches(']').to_string();
                    continue;
                }
                (n, String::new())
            }
        };
        let t = raw.trim();
        if let Some(cont) = t.strip_suffix('\\') {
            acc.push_str(cont);
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(t);
        if let Some((k, v)) = acc.split_once('=') {
            out.push(UnitLine {
                file: file.to_path_buf(),
                line: start,
                section: section.clone(),
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            });
        }
    }
    out
}

/// Words of a unit setting as systemd splits them: whitespace between
/// words, double or single quotes anywhere in a word, C escapes.
fn unit_words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                let e = match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some(o) => o,
                    None => break,
                };
                word.get_or_insert_with(String::new).push(e);
            }
            (q @ ('"' | '\''), None) => {
                quote = Some(q);
                word.get_or_insert_with(String::new);
            }
            (q, Some(open)) if q == open => quote = None,
            (c, None) if c.is_whitespace() => out.extend(word.take()),
            (c, _) => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    out
}

/// systemd's specifiers (systemd.unit(5)) for the home's user: `%h` the
/// home, `%E`/`%S`/`%C` its config, state and cache directories, `%n`/`%N`
/// the unit, `%u` the user, `%%` a per cent sign.
fn specifiers(s: &str, home: &Path, unit: &str, user: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(&home.display().to_string()),
            Some('E') => out.push_str(&home.join(".config").display().to_string()),
            Some('S') => out.push_str(&home.join(".local/state").display().to_string()),
            Some('C') => out.push_str(&home.join(".cache").display().to_string()),
            Some('n') => out.push_str(unit),
            Some('N') => out.push_str(unit.rsplit_once('.').map_or(unit, |(s, _)| s)),
            Some('u') => out.push_str(user),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

/// The files in `dir` whose names end with `suffix`, sorted.
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .take(DIR_CAP)
        .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// `*` and `?` in the last component of an `EnvironmentFile=` path.
fn glob_files(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![path.to_path_buf()];
    }
    let Some(dir) = path.parent() else { return Vec::new() };
    files_in(dir, "").into_iter().filter(|f| f.file_name().is_some_and(|n| glob(&name, &n.to_string_lossy()))).collect()
}

fn glob(pattern: &str, name: &str) -> bool {
    match pattern.chars().next() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).filter(|i| name.is_char_boundary(*i)).any(|i| glob(&pattern[1..], &name[i..])),
        Some('?') => name.chars().next().is_some_and(|c| glob(&pattern[1..], &name[c.len_utf8()..])),
        Some(p) => name.starts_with(p) && glob(&pattern[p.len_utf8()..], &name[p.len_utf8()..]),
    }
}

/// The user the home belongs to: its line of `passwd` under `--etc`, else
/// `USER`/`LOGNAME` of the analysed environment, else the home's name.
fn user_of(opts: &Options) -> String {
    if let Ok(text) = fsread::read_text(&opts.etc.join("passwd"), CAP) {
        for l in text.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() >= 6 && Path::new(f[5]) == opts.home {
                return f[0].to_string();
            }
        }
    }
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| opts.env.get(*v).map(|b| String::from_utf8_lossy(b).into_owned()))
        .filter(|u| !u.is_empty())
        .or_else(|| opts.home.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// The startup files where a session imports its environment into the user
/// manager (`systemctl --user import-environment`,
/// `dbus-update-activation-environment --systemd`).
const IMPORTERS: [&str; 12] = [
    ".profile",
    ".bash_profile",
    ".bash_login",
    ".bashrc",
    ".zprofile",
    ".zshenv",
    ".zshrc",
    ".xprofile",
    ".xinitrc",
    ".xsession",
    ".config/sway/config",
    ".config/hypr/hyprland.conf",
];

impl Look<'_> {
    fn systemd(&self) -> Vec<Launcher> {
        let home = &self.opts.home;
        let dirs = [
            (LauncherKind::SystemdUser, home.join(".config/systemd/user")),
            (LauncherKind::SystemdUser, home.join(".local/share/systemd/user")),
            (LauncherKind::SystemdUser, self.opts.etc.join("systemd/user")),
            (LauncherKind::SystemdSystem, self.opts.etc.join("systemd/system")),
        ];
        let user = user_of(self.opts);
        let mut seen: Vec<(LauncherKind, String)> = Vec::new();
        let mut out = Vec::new();
        for (kind, dir) in &dirs {
            for unit in files_in(dir, ".service") {
                let name = unit.file_name().unwrap_or_default().to_string_lossy().into_owned();
                // The first directory that has a unit of that name is the one systemd loads.
                if seen.contains(&(*kind, name.clone())) {
                    continue;
                }
                seen.push((*kind, name.clone()));
                if let Some(l) = self.unit(*kind, dir, &unit, &name, &user) {
                    out.push(l);
                }
            }
        }
        out
    }

    /// A unit that starts the tool, and what its service gets.
    fn unit(&self, kind: LauncherKind, dir: &Path, file: &Path, name: &str, user: &str) -> Option<Launcher> {
        let text = fsread::read_text(file, CAP).ok()?;
        let mut lines = unit_lines(file, &text);
        for d in files_in(&dir.join(format!("{name}.d")), ".conf") {
            if let Ok(t) = fsread::read_text(&d, CAP) {
                lines.extend(unit_lines(&d, &t));
            }
        }
        let home = &self.opts.home;
        let user_unit = kind == LauncherKind::SystemdUser;
        // %h of a system unit is root's home: the paths are read as written then.
        let spec = |s: &str| if user_unit { specifiers(s, home, name, user) } else { s.to_string() };
        let service = || lines.iter().filter(|l| l.section == "Service");
        let workdir = service()
            .rfind(|l| l.key == "WorkingDirectory")
            .map(|l| resolve(spec(l.value.trim_start_matches('-')).as_str(), home, home))
            .unwrap_or_else(|| if user_unit { home.clone() } else { PathBuf::from("/") });
        // The first ExecStart= that starts the tool (an empty one resets the list).
        let mut start: Option<(&UnitLine, Command)> = None;
        for l in service().filter(|l| l.key == "ExecStart") {
            let v = spec(&l.value);
            let v = v.trim_start_matches(['-', '@', '+', '!', ':']);
            if v.is_empty() {
                start = None;
                continue;
            }
            let mut cmd = Command::default();
            self.command_line(&[unit_words(v)], &workdir, &mut cmd, 0);
            if cmd.starts_tool() && start.is_none() {
                start = Some((l, cmd));
            }
        }
        let (exec, cmd) = start?;
        let mut l = self.launcher(kind, name.to_string(), &exec.file, exec.line);
        // Environment= assignments, then EnvironmentFile= values, which override them.
        let mut assigned: Option<Set> = None;
        let mut env_files: Vec<(PathBuf, bool, &UnitLine)> = Vec::new();
        let mut passed = false;
        for u in service() {
            match u.key.as_str() {
                "Environment" if u.value.is_empty() => assigned = None,
                "Environment" => {
                    for w in unit_words(&spec(&u.value)) {
                        let Some((k, v)) = w.split_once('=') else { continue };
                        if k == self.var {
                            assigned = Some(Set { value: v.to_string(), file: u.file.clone(), line: u.line });
                        }
                        self.near_miss(&mut l, k, &u.file, u.line);
                    }
                }
                "EnvironmentFile" if u.value.is_empty() => env_files.clear(),
                "EnvironmentFile" => {
                    let v = spec(&u.value);
                    let (optional, path) = match v.strip_prefix('-') {
                        Some(p) => (true, p.to_string()),
                        None => (false, v),
                    };
                    for f in glob_files(&resolve(&path, &workdir, home)) {
                        env_files.push((f, optional, u));
                    }
                }
                "PassEnvironment" => passed |= unit_words(&u.value).iter().any(|w| w == self.var),
                _ => {}
            }
        }
        let mut from_files: Option<Set> = None;
        for (f, optional, u) in &env_files {
            match fsread::read_text(f, CAP) {
                Ok(text) => {
                    for e in dotenv::parse(&text, Flavor::Python) {
                        if e.name == self.var {
                            from_files = Some(Set { value: e.value.clone(), file: f.clone(), line: e.line });
                        }
                        self.near_miss(&mut l, &e.name, f, e.line);
                    }
                }
                Err(_) if *optional => {}
                Err(e) => l.notes.push(format!(
                    "{}:{} EnvironmentFile={} {e}: systemd does not start the unit without it",
                    u.file.display(),
                    u.line,
                    f.display()
                )),
            }
        }
        if cmd.sets.is_some() {
            // `ExecStart=/usr/bin/env VAR=… tool`
            from_files = from_files.or(Some(Set {
                value: cmd.sets.clone().unwrap_or_default(),
                file: exec.file.clone(),
                line: exec.line,
            }));
        }
        if let Some(set) = from_files.or(assigned) {
            self.sees(&mut l, &set);
            return Some(l);
        }
        // What the service manager passes on.
        if user_unit {
            if let Some(set) = self.environment_d(&mut l) {
                self.sees(&mut l, &set);
                return Some(l);
            }
        }
        if passed {
            l.sees = None;
            l.notes.push(format!(
                "PassEnvironment= passes {} from the service manager's environment, which keyhole does not see",
                self.var
            ));
        } else if user_unit {
            if let Some(at) = self.imports_environment() {
                l.sees = None;
                l.notes.push(format!(
                    "{at} imports the session's environment into the user service manager: the unit gets {} if the session that ran it had it",
                    self.var
                ));
            }
        }
        if !cmd.reads.is_empty() && l.sees == Some(false) {
            l.sees = None;
            l.notes.push(format!(
                "the command reads {}: whether it sets {} is up to that",
                cmd.reads.join(", "),
                self.var
            ));
        }
        Some(l)
    }

    /// The user service manager's environment: `environment.d` under
    /// `--etc`, `/etc/environment`, then the home's `environment.d`.
    fn environment_d(&self, l: &mut Launcher) -> Option<Set> {
        let etc = &self.opts.etc;
        let mut files = files_in(&etc.join("environment.d"), ".conf");
        files.push(etc.join("environment"));
        files.extend(files_in(&self.opts.home.join(".config/environment.d"), ".conf"));
        let mut set = None;
        for f in files {
            let Ok(text) = fsread::read_text(&f, CAP) else { continue };
            for e in dotenv::parse(&text, Flavor::Python) {
                if e.name == self.var {
                    set = Some(Set { value: e.value.clone(), file: f.clone(), line: e.line });
                }
                self.near_miss(l, &e.name, &f, e.line);
            }
        }
        set
    }

    /// `FILE:LINE` of a startup file importing the variable (or the whole
    /// environment) into the user service manager.
    fn imports_environment(&self) -> Option<String> {
        for rel in IMPORTERS {
            let f = self.opts.home.join(rel);
            let Ok(text) = fsread::read_text(&f, CAP) else { continue };
            for (i, line) in text.lines().enumerate() {
                let words: Vec<&str> = line.split_whitespace().take_while(|w| !w.starts_with('#')).collect();
                let names =
                    |from: usize| words[from..].iter().filter(|w| !w.starts_with('-')).copied().collect::<Vec<_>>();
                let hit = if let Some(p) = words.iter().position(|w| *w == "import-environment") {
                    words.contains(&"--user") && (names(p + 1).is_empty() || names(p + 1).contains(&self.var))
                } else if words.first().is_some_and(|w| w.ends_with("dbus-update-activation-environment")) {
                    words.contains(&"--systemd") && (words.contains(&"--all") || names(1).contains(&self.var))
                } else {
                    false
                };
                if hit {
                    return Some(format!("{}:{}", f.display(), i + 1));
                }
            }
        }
        None
    }
}

fn systemd(l: &Look) -> Vec<Launcher> {
    l.systemd()
}

// ---- docker compose ----

const COMPOSE_FILES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

/// A scalar, or each item of a list, as text.
fn texts(n: &Node) -> Vec<(String, u32)> {
    match &n.kind {
        Kind::Seq(items) => items.iter().filter_map(|i| i.scalar_text().map(|t| (t, i.line))).collect(),
        _ => n.scalar_text().map(|t| vec![(t, n.line)]).unwrap_or_default(),
    }
}

/// `${VAR}`, `${VAR:-default}`, `$VAR` in a compose value, filled from the
/// `.env` beside the file; None when a name is not there (the shell that
/// runs `docker compose` decides).
fn interpolate(value: &str, dotenv: &BTreeMap<String, Set>) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(b) = after.strip_prefix('{') {
            let end = b.find('}')?;
            let name = b[..end].split([':', '-', '?', '+']).next().unwrap_or("");
            out.push_str(&dotenv.get(name)?.value);
            rest = &b[end + 1..];
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if end == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            out.push_str(&dotenv.get(&after[..end])?.value);
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    Some(out)
}

fn read_dotenv(f: &Path) -> Option<Vec<dotenv::Entry>> {
    fsread::read_text(f, CAP).ok().map(|t| dotenv::parse(&t, Flavor::Python))
}

impl Look<'_> {
    fn compose(&self) -> Vec<Launcher> {
        let Some(site) = self.site_file.as_ref() else { return Vec::new() };
        let home = &self.opts.home;
        let mut out = Vec::new();
        let mut dir = site.parent();
        for _ in 0..COMPOSE_DEPTH {
            let Some(d) = dir else { break };
            for name in COMPOSE_FILES {
                let f = d.join(name);
                if let Ok(text) = fsread::read_text(&f, CAP) {
                    if let Ok(root) = doc::parse_yaml(&text) {
                        out.extend(self.compose_file(&f, d, &root));
                    }
                }
            }
            if d == home || !d.starts_with(home) {
                break;
            }
            dir = d.parent();
        }
        out
    }

    fn compose_file(&self, file: &Path, dir: &Path, root: &Node) -> Vec<Launcher> {
        let home = &self.opts.home;
        let dot_path = dir.join(".env");
        let dot_entries = read_dotenv(&dot_path).unwrap_or_default();
        let dotenv: BTreeMap<String, Set> = dot_entries
            .iter()
            .map(|e| (e.name.clone(), Set { value: e.value.clone(), file: dot_path.clone(), line: e.line }))
            .collect();
        let mut out = Vec::new();
        let Some(services) = root.get("services") else { return out };
        for (name, line, svc) in services.entries() {
            if !self.service_starts_tool(svc, dir) {
                continue;
            }
            let mut l = self.launcher(LauncherKind::Compose, name.clone(), file, *line);
            // env_file: lower precedence than environment:.
            let mut from_files: Option<Set> = None;
            if let Some(ef) = svc.get("env_file") {
                let items: Vec<(String, bool, u32)> = match &ef.kind {
                    Kind::Seq(items) => items
                        .iter()
                        .filter_map(|i| match i.scalar_text() {
                            Some(p) => Some((p, true, i.line)),
                            None => Some((
                                i.get("path")?.scalar_text()?,
                                i.get("required").is_none_or(|r| r.kind != Kind::Bool(false)),
                                i.line,
                            )),
                        })
                        .collect(),
                    _ => ef.scalar_text().map(|p| vec![(p, true, ef.line)]).unwrap_or_default(),
                };
                for (p, required, at) in items {
                    let f = resolve(&p, dir, home);
                    match read_dotenv(&f) {
                        Some(entries) => {
                            for e in entries {
                                if e.name == self.var {
                                    from_files = Some(Set { value: e.value.clone(), file: f.clone(), line: e.line });
                                }
                                self.near_miss(&mut l, &e.name, &f, e.line);
                            }
                        }
                        None if required => l.notes.push(format!(
                            "{}:{at} env_file {} cannot be read: docker compose does not start the service without it",
                            file.display(),
                            f.display()
                        )),
                        None => {}
                    }
                }
            }
            // environment: as a map (`VAR: value`, `VAR:` by name) or a list (`- VAR=value`, `- VAR`).
            let mut entry: Option<(Option<String>, u32)> = None;
            if let Some(env) = svc.get("environment") {
                let pairs: Vec<(String, Option<String>, u32)> = if env.is_map() {
                    env.entries().iter().map(|(k, at, v)| (k.clone(), v.scalar_text(), *at)).collect()
                } else {
                    texts(env)
                        .into_iter()
                        .map(|(t, at)| match t.split_once('=') {
                            Some((k, v)) => (k.to_string(), Some(v.to_string()), at),
                            None => (t, None, at),
                        })
                        .collect()
                };
                for (k, v, at) in pairs {
                    if k == self.var {
                        entry = Some((v, at));
                    }
                    self.near_miss(&mut l, &k, file, at);
                }
            }
            for e in &dot_entries {
                self.near_miss(&mut l, &e.name, &dot_path, e.line);
            }
            match entry {
                Some((Some(v), at)) => match interpolate(&v, &dotenv) {
                    Some(value) => {
                        // The line that holds the value: the .env's when it is all one ${VAR}.
                        let set = match dotenv.get(v.trim_start_matches("${").trim_end_matches('}')) {
                            Some(s) if v.starts_with('$') && s.value == value => s.clone(),
                            _ => Set { value, file: file.to_path_buf(), line: at },
                        };
                        self.sees(&mut l, &set);
                    }
                    None => {
                        l.sees = None;
                        l.notes.push(format!(
                            "{}:{at} takes {} from the shell that runs docker compose, which keyhole does not see",
                            file.display(),
                            self.var
                        ));
                    }
                },
                Some((None, at)) => match dotenv.get(self.var) {
                    Some(s) => {
                        self.sees(&mut l, s);
                        l.notes.push("a value in the shell that runs docker compose wins over the .env".into());
                    }
                    None => {
                        l.sees = None;
                        l.notes.push(format!(
                            "{}:{at} passes {} by name from the shell that runs docker compose, which keyhole does not see",
                            file.display(),
                            self.var
                        ));
                    }
                },
                None => match from_files {
                    Some(s) => self.sees(&mut l, &s),
                    None => {
                        if let Some(s) = dotenv.get(self.var) {
                            l.notes.push(format!(
                                "{}:{} defines {} in the .env beside {}, which docker compose reads only for ${{…}} in the file: the service does not get it",
                                s.file.display(),
                                s.line,
                                self.var,
                                file.file_name().unwrap_or_default().to_string_lossy()
                            ));
                        }
                    }
                },
            }
            out.push(l);
        }
        out
    }

    /// The service runs the tool's image or code, or mounts the site's config.
    fn service_starts_tool(&self, svc: &Node, dir: &Path) -> bool {
        let names = self.tool.process_family;
        let image = svc.get("image").and_then(Node::as_str).unwrap_or("");
        let repo = image.split('@').next().unwrap_or("").rsplit('/').next().unwrap_or("");
        let repo = repo.split(':').next().unwrap_or("");
        if !repo.is_empty() && names.iter().any(|n| !n.contains('/') && *n == repo) {
            return true;
        }
        for key in ["entrypoint", "command"] {
            let Some(n) = svc.get(key) else { continue };
            let words: Vec<String> = match &n.kind {
                Kind::Seq(_) => texts(n).into_iter().map(|(t, _)| t).collect(),
                _ => n.as_str().map(|s| shell_commands(s).into_iter().flatten().collect()).unwrap_or_default(),
            };
            if identify_code(names, None, &unwrap(&words)).is_some() {
                return true;
            }
        }
        let Some(site) = self.site_file.as_ref() else { return false };
        svc.get("volumes").map(texts).unwrap_or_default().iter().any(|(v, _)| {
            let src = v.split(':').next().unwrap_or("");
            !src.is_empty()
                && (src.starts_with(['.', '/', '~', '$']))
                && site.starts_with(resolve(src, dir, &self.opts.home))
        }) || svc.get("volumes").is_some_and(|vs| {
            vs.items().iter().any(|v| {
                v.get("source")
                    .and_then(Node::as_str)
                    .is_some_and(|s| site.starts_with(resolve(s, dir, &self.opts.home)))
            })
        })
    }
}

fn compose(l: &Look) -> Vec<Launcher> {
    l.compose()
}

// ---- cron ----

/// A crontab's `NAME=value` line (crontab(5)): spaces around `=` allowed,
/// the value optionally quoted.
fn cron_assignment(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident {
        return None;
    }
    let v = value.trim();
    let v = ['"', '\''].iter().find_map(|q| v.strip_prefix(*q).and_then(|x| x.strip_suffix(*q))).unwrap_or(v);
    Some((name, v))
}

/// The command of a crontab line: after five time fields or an `@` nickname
/// (and the user, in a system crontab), up to the first unescaped `%`.
fn cron_command(line: &str, with_user: bool) -> Option<(Option<&str>, String)> {
    let mut rest = line.trim_start();
    let fields = if rest.starts_with('@') { 1 } else { 5 } + usize::from(with_user);
    let mut user = None;
    for i in 0..fields {
        let end = rest.find(char::is_whitespace)?;
        if with_user && i == fields - 1 {
            user = Some(&rest[..end]);
        }
        rest = rest[end..].trim_start();
    }
    let mut cmd = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('%') => cmd.push('%'),
                Some(o) => {
                    cmd.push('\\');
                    cmd.push(o);
                }
                None => cmd.push('\\'),
            },
            '%' => break,
            c => cmd.push(c),
        }
    }
    Some((user, cmd))
}

impl Look<'_> {
    fn cron(&self) -> Vec<Launcher> {
        let root = self.opts.etc.parent().unwrap_or(Path::new("/"));
        let user = user_of(self.opts);
        let mut tabs: Vec<(PathBuf, bool)> = vec![
            (root.join("var/spool/cron/crontabs").join(&user), false),
            (root.join("var/spool/cron").join(&user), false),
            (self.opts.etc.join("crontab"), true),
        ];
        tabs.extend(files_in(&self.opts.etc.join("cron.d"), "").into_iter().map(|f| (f, true)));
        let mut out = Vec::new();
        for (f, system) in tabs {
            if user.is_empty() {
                break;
            }
            let Ok(text) = fsread::read_text(&f, CAP) else { continue };
            out.extend(self.crontab(&f, &text, system, &user));
        }
        out
    }

    fn crontab(&self, file: &Path, text: &str, system: bool, user: &str) -> Vec<Launcher> {
        let home = &self.opts.home;
        let name = if system { file.display().to_string() } else { format!("crontab {user}") };
        let mut set: Option<Set> = None;
        let mut names: Vec<(String, u32)> = Vec::new();
        let mut out = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i as u32 + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // An assignment applies to the lines below it.
            if !line.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@') {
                if let Some((k, v)) = cron_assignment(line) {
                    if k == self.var {
                        set = Some(Set { value: v.to_string(), file: file.to_path_buf(), line: n });
                    }
                    names.push((k.to_string(), n));
                }
                continue;
            }
            let Some((owner, command)) = cron_command(line, system) else { continue };
            if owner.is_some_and(|o| o != user) {
                continue;
            }
            let mut cmd = Command::default();
            self.command_line(&shell_commands(&command), home, &mut cmd, 0);
            if !cmd.starts_tool() {
                continue;
            }
            let mut l = self.launcher(LauncherKind::Cron, name.clone(), file, n);
            for (k, at) in &names {
                self.near_miss(&mut l, k, file, *at);
            }
            for k in &cmd.assigns {
                self.near_miss(&mut l, k, file, n);
            }
            if let Some(v) = &cmd.sets {
                self.sees(&mut l, &Set { value: v.clone(), file: file.to_path_buf(), line: n });
            } else if let Some(s) = &set {
                self.sees(&mut l, s);
            } else if !cmd.reads.is_empty() {
                l.sees = None;
                l.notes.push(format!(
                    "the line reads {}: whether it sets {} is up to that",
                    cmd.reads.join(", "),
                    self.var
                ));
            } else {
                l.notes.push(format!(
                    "cron reads no startup file: the line gets SHELL, HOME, LOGNAME, PATH and the crontab's own NAME=value lines, no {}",
                    self.var
                ));
            }
            out.push(l);
        }
        out
    }
}

fn cron(l: &Look) -> Vec<Launcher> {
    l.cron()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_words_as_systemd_splits_them() {
        assert_eq!(unit_words(r#""A=1 2" B=3 C="x y"z"#), ["A=1 2", "B=3", "C=x yz"]);
        assert_eq!(unit_words(r"'LITELLM_LOG=INFO' X=a\ b"), ["LITELLM_LOG=INFO", "X=a b"]);
        assert_eq!(
            specifiers("%h/.config/%N.env %%", Path::new("/home/u"), "litellm.service", "u"),
            "/home/u/.config/litellm.env %"
        );
    }

    #[test]
    fn unit_lines_with_sections_comments_and_continuations() {
        let t = "[Unit]\nDescription=x\n# c\n[Service]\nExecStart=/usr/bin/litellm \\\n  --port 4000\n;c\nEnvironment=A=1\n";
        let l = unit_lines(Path::new("u"), t);
        assert_eq!(l.len(), 3);
        assert_eq!((l[1].section.as_str(), l[1].key.as_str(), l[1].line), ("Service", "ExecStart", 5));
        assert_eq!(l[1].value, "/usr/bin/litellm  --port 4000");
        assert_eq!(l[2].line, 8);
    }

    #[test]
    fn shell_command_lines() {
        let c = shell_commands("cd $HOME/work && OPENROUTER_API_KEY='a b' aider --yes >> log 2>&1; echo \"x;y\" # c");
        assert_eq!(c[0], ["cd", "$HOME/work"]);
        assert_eq!(c[1], ["OPENROUTER_API_KEY=a b", "aider", "--yes", ">>", "log", "2>"]);
        assert_eq!(c.last().unwrap(), &["echo", "x;y"]);
        assert_eq!(unwrap(&shell_commands("env -u X A=1 nice -n 5 litellm --port 1")[0])[0], "litellm");
        assert_eq!(cron_command("30 2 * * * cd /x && aider %stdin", false).unwrap().1, "cd /x && aider ");
        assert_eq!(cron_command("@daily u run.sh", true).unwrap(), (Some("u"), "run.sh".to_string()));
        assert_eq!(cron_assignment("OPENROUTER_API_KEY = \"v\""), Some(("OPENROUTER_API_KEY", "v")));
    }

    #[test]
    fn compose_interpolation() {
        let mut m = BTreeMap::new();
        m.insert("K".to_string(), Set { value: "v".into(), file: PathBuf::new(), line: 1 });
        assert_eq!(interpolate("${K}", &m).as_deref(), Some("v"));
        assert_eq!(interpolate("a$K-${K:-d}$$", &m).as_deref(), Some("av-v$"));
        assert_eq!(interpolate("${OTHER}", &m), None);
        assert!(glob("*.env", "litellm.env") && !glob("*.env", "litellm.conf") && glob("a?c", "abc"));
    }

    fn home(tag: &str, files: &[(&str, &str)]) -> (PathBuf, Options) {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let root = std::env::temp_dir().join(format!("keyhole-launchers-{tag}-{}-{nanos}", std::process::id()));
        for (rel, text) in files {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let opts =
            Options { etc: root.join("etc"), ..Options::new(root.join("home/u"), BTreeMap::new(), root.join("proc")) };
        (root, opts)
    }

    fn litellm_units(tag: &str, files: &[(&str, &str)]) -> Vec<Launcher> {
        let (root, opts) = home(tag, files);
        let tool = keyhole_core::tool::get("litellm");
        let out = scan("OPENROUTER_API_KEY", tool, Some(&opts.home.join("proxy/config.yaml")), &opts, None);
        let _ = std::fs::remove_dir_all(root);
        out
    }

    #[test]
    fn units_that_cannot_tell_and_drop_ins_that_reset() {
        let unit = ("home/u/.config/systemd/user/llm-proxy.service", "[Service]\nExecStart=/bin/bash -c 'cd %h/proxy && exec litellm --port 4000'\nEnvironment=OPENROUTER_API_KEY=x\n");
        let l = litellm_units("plain", &[unit]);
        assert_eq!((l.len(), l[0].sees, l[0].line), (1, Some(true), 2), "bash -c runs the tool");
        // A drop-in's empty Environment= resets the list; an optional file that is missing is no note.
        let reset = (
            "home/u/.config/systemd/user/llm-proxy.service.d/10-reset.conf",
            "[Service]\nEnvironment=\nEnvironmentFile=-%h/none.env\n",
        );
        let l = litellm_units("reset", &[unit, reset]);
        assert_eq!((l[0].sees, l[0].notes.len()), (Some(false), 0), "{:?}", l[0].notes);
        // The session imports its environment into the user manager: cannot tell.
        let import = ("home/u/.profile", "systemctl --user import-environment PATH OPENROUTER_API_KEY\n");
        let l = litellm_units("import", &[unit, reset, import]);
        assert_eq!(l[0].sees, None, "{:?}", l[0].notes);
        // environment.d is the user manager's own.
        let envd = ("home/u/.config/environment.d/50-keys.conf", "OPENROUTER_API_KEY=y\n");
        let l = litellm_units("envd", &[unit, reset, envd]);
        assert!(l[0].from.as_ref().is_some_and(|f| f.file.ends_with("50-keys.conf")), "{:?}", l[0].from);
        // A missing EnvironmentFile= without `-`: a note; a unit that runs something else: no launcher.
        let missing = (
            "etc/systemd/system/proxy.service",
            "[Service]\nEnvironmentFile=/etc/litellm.env\nExecStart=/usr/local/bin/litellm --config /srv/config.yaml\n",
        );
        let other = ("etc/systemd/system/backup.service", "[Service]\nExecStart=/usr/bin/restic backup /srv/litellm\n");
        let l = litellm_units("system", &[missing, other]);
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].kind, l[0].sees), (LauncherKind::SystemdSystem, Some(false)));
        assert!(l[0].notes[0].contains("EnvironmentFile=/etc/litellm.env"), "{:?}", l[0].notes);
        // A login shell reads the profile: cannot tell.
        let login =
            ("home/u/.config/systemd/user/p.service", "[Service]\nExecStart=/bin/bash -lc 'litellm --port 4000'\n");
        assert_eq!(litellm_units("login", &[login])[0].sees, None);
    }
}
