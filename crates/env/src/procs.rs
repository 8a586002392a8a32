//! Running processes from `/proc` (or `--proc-root`): which are a tool's
//! (by their executable, script, package or extension, never by a word of
//! the command line), where they were launched from (their cgroup and
//! their parents), when they started, and whether their initial
//! environment holds the variable. docs/launch-contexts.md#live-processes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keyhole_core::fsread::{self, ReadError};

use keyhole_core::record::env::Role;
use keyhole_core::stage::Ctx;
use keyhole_core::tool::{Tool, TOOLS};

pub struct Proc {
    pub pid: u32,
    pub role: Role<'static>,
    /// Seconds since the epoch.
    pub started: Option<f64>,
    pub value: Option<Vec<u8>>,
    /// The part of its initial environment that is looked at: the variable.
    pub environ: BTreeMap<String, Vec<u8>>,
    pub ppid: Option<u32>,
    /// The systemd unit from /proc/PID/cgroup.
    pub unit: Option<String>,
    /// /proc/PID/cwd.
    pub cwd: Option<String>,
    /// Why it is the tool's process (`exe …`, `script …`, `package …`).
    pub matched_by: Option<String>,
    /// Its command line, keys redacted (what keyhole-fix names to restart).
    pub command: Option<String>,
    /// Its line of /proc/PID/cgroup (the unified hierarchy's, else systemd's).
    pub cgroup: Option<String>,
    /// Its parents, nearest first, as far as they can be read.
    pub parents: Vec<Parent>,
}

/// A parent process, as far as the launch context needs it.
#[derive(Clone, Debug)]
pub struct Parent {
    pub pid: u32,
    pub argv: Vec<String>,
    /// It has a controlling terminal (field 7 of /proc/PID/stat).
    pub tty: bool,
}

/// The launch context a process came from, and what proves it.
pub struct Launch {
    /// A [`LaunchContext`](keyhole_core::record::env::LaunchContext) name,
    /// or `systemd_system`, `cron`, `container`, `tmux`, `unknown`.
    pub context: String,
    pub by: Vec<String>,
}

impl Launch {
    fn new(context: &str, by: Vec<String>) -> Launch {
        Launch { context: context.to_string(), by }
    }
}

/// What a parent says about the context of the processes below it.
enum Seen {
    /// Nothing: its environment is its own parent's (`bash -c`, a script, `npm`).
    Passes,
    /// A shell with a terminal: `interactive`, unless a tmux or screen server is further up.
    Terminal,
    /// A tmux or screen server: its panes get its environment.
    Tmux,
    /// A context that decides (sshd without a terminal, cron, an editor's server…).
    Is(&'static str),
    /// The service manager (systemd, `--user` or PID 1): the cgroup says which unit.
    Manager { user: bool },
}

const SHELLS: [&str; 9] = ["bash", "sh", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh"];

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Parent {
    fn title(&self) -> String {
        let a0 = self.argv.first().map(String::as_str).unwrap_or("?");
        let user = if base(a0) == "systemd" && self.argv.iter().any(|a| a == "--user") { " --user" } else { "" };
        let tty = if self.tty { " (a terminal)" } else { "" };
        format!("parent {} {a0}{user}{tty}", self.pid)
    }

    fn seen(&self) -> Seen {
        let a0 = self.argv.first().map(String::as_str).unwrap_or("");
        let b = base(a0);
        if a0.starts_with("sshd") {
            return if a0.contains("@notty") {
                Seen::Is("ssh_command")
            } else if a0.contains('@') {
                Seen::Terminal
            } else {
                Seen::Passes
            };
        }
        match b.trim_start_matches('-') {
            "tmux" | "tmux: server" | "screen" | "SCREEN" => return Seen::Tmux,
            "cron" | "crond" | "CRON" | "anacron" | "atd" => return Seen::Is("cron"),
            "conmon" | "docker-init" | "runc" | "crun" => return Seen::Is("container"),
            "sudo" | "su" | "doas" | "pkexec" => return Seen::Is("unknown"),
            "systemd" => return Seen::Manager { user: self.argv.iter().any(|a| a == "--user") },
            "init" if self.pid == 1 => return Seen::Manager { user: false },
            b if b.starts_with("containerd-shim") => return Seen::Is("container"),
            _ => {}
        }
        if self.pid == 1 {
            return Seen::Manager { user: false };
        }
        if is_editor_process(&self.argv) {
            return Seen::Is("vscode_resolved");
        }
        if SHELLS.contains(&b.trim_start_matches('-')) {
            let login = a0.starts_with('-')
                || self
                    .argv
                    .get(1)
                    .is_some_and(|a| a == "--login" || (a.starts_with('-') && !a.starts_with("--") && a.contains('l')));
            return if self.tty {
                Seen::Terminal
            } else if login {
                Seen::Is("login")
            } else {
                Seen::Passes
            };
        }
        Seen::Passes
    }
}

/// The path of a line of /proc/PID/cgroup (`0::PATH`, `1:name=systemd:PATH`).
fn cgroup_path(line: &str) -> &str {
    line.splitn(3, ':').nth(2).unwrap_or(line)
}

/// What a cgroup path says: a container, or the systemd unit a process runs
/// in and its context (`systemd_user`, `systemd_system`, `cron`).
fn cgroup_says(line: &str) -> (Option<&'static str>, Option<String>) {
    let path = cgroup_path(line);
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let container = parts.iter().enumerate().any(|(i, c)| {
        let scope = |p: &str| c.starts_with(p) && c.ends_with(".scope");
        scope("docker-")
            || (scope("libpod-") && !c.starts_with("libpod-conmon-"))
            || scope("crio-")
            || scope("cri-containerd-")
            || c.starts_with("kubepods")
            || c.starts_with("lxc.payload")
            || (i == 0 && matches!(*c, "docker" | "lxc" | "actions_job"))
    });
    let user = parts.iter().any(|c| c.starts_with("user@") && c.ends_with(".service"));
    let unit = parts.iter().rev().find(|c| c.ends_with(".service") && !c.starts_with("user@")).map(|u| u.to_string());
    let context = if container {
        Some("container")
    } else {
        unit.as_deref().map(|u| match u {
            "cron.service" | "crond.service" | "cronie.service" | "anacron.service" | "atd.service" => "cron",
            _ if user => "systemd_user",
            _ => "systemd_system",
        })
    };
    (context, unit)
}

impl Proc {
    /// The launch context the process came from, from evidence only: the
    /// cgroup it runs in and its parents (docs/launch-contexts.md#live-processes).
    /// When nothing proves one, `unknown`.
    pub fn launched_as(&self) -> Launch {
        if self.role == Role::ExtensionHost {
            return Launch::new("vscode_resolved", vec!["an editor's extension host (--type=extensionHost)".into()]);
        }
        let cg = self.cgroup.as_deref().map(cgroup_says);
        // The path alone: `0::/…/user@1000.service` would read as credentials in a URL.
        let cg_by = || self.cgroup.iter().map(|l| format!("cgroup {}", cgroup_path(l))).collect::<Vec<_>>();
        if let Some((Some("container"), _)) = cg {
            return Launch::new("container", cg_by());
        }
        let mut terminal: Option<String> = None;
        let mut manager: Option<(bool, String)> = None;
        for p in &self.parents {
            match p.seen() {
                Seen::Passes => continue,
                Seen::Terminal => {
                    terminal.get_or_insert_with(|| p.title());
                }
                Seen::Tmux => return Launch::new("tmux", terminal.into_iter().chain([p.title()]).collect()),
                Seen::Is(c) => {
                    return match terminal {
                        Some(t) => Launch::new("interactive", vec![t]),
                        None => Launch::new(c, vec![p.title()]),
                    }
                }
                Seen::Manager { user } => {
                    manager = Some((user, p.title()));
                    break;
                }
            }
        }
        if let Some(t) = terminal {
            return Launch::new("interactive", vec![t]);
        }
        let mut by = cg_by();
        by.extend(manager.as_ref().map(|(_, t)| t.clone()));
        match (cg.and_then(|(c, _)| c), manager) {
            (Some(c), _) => Launch::new(c, by),
            (None, Some((true, _))) => Launch::new("systemd_user", by),
            _ => {
                if self.parents.is_empty() {
                    by.push(format!("parent {} cannot be read", self.ppid.map_or("?".into(), |p| p.to_string())));
                }
                Launch::new("unknown", by)
            }
        }
    }
}

/// A process family: the role its processes get, and the names and package
/// paths of their code (catalogue `process_family`, docs/catalogue.md).
#[derive(Clone, Debug)]
pub struct Family {
    pub role: Role<'static>,
    pub names: Vec<&'static str>,
}

/// The scripts and executables of VS Code-family servers (VS Code Server,
/// code-server, and the Cursor and Windsurf servers), read by the same rules
/// as a tool's `process_family`.
const EDITOR_SERVER: &[&str] = &["server-main.js", "code-server", "cursor-server", "windsurf-server"];

/// The argument every VS Code-family extension host has.
const EXTENSION_HOST: &str = "--type=extensionHost";

fn is_editor_process(argv: &[String]) -> bool {
    argv.iter().any(|a| a == EXTENSION_HOST) || identify_code(EDITOR_SERVER, None, argv).is_some()
}

/// The families to look for: the tool's own (and its editor's, when it runs
/// in an extension host), or every family when there is no tool.
pub fn families(tool: Option<&'static Tool>) -> Vec<Family> {
    let own = |t: &'static Tool| Family { role: Role::Tool(t.name), names: t.process_family.to_vec() };
    let server = Family { role: Role::EditorServer, names: EDITOR_SERVER.to_vec() };
    match tool {
        Some(t) if t.in_extension_host => {
            vec![server, Family { role: Role::ExtensionHost, names: t.process_family.to_vec() }, own(t)]
        }
        Some(t) if !t.process_family.is_empty() => vec![own(t)],
        Some(_) => Vec::new(),
        None => {
            let hosted = TOOLS.iter().filter(|t| t.in_extension_host).flat_map(|t| t.process_family.iter().copied());
            let host = Family { role: Role::ExtensionHost, names: hosted.collect() };
            [server, host]
                .into_iter()
                .chain(TOOLS.iter().filter(|t| !t.process_family.is_empty()).map(|t| own(t)))
                .collect()
        }
    }
}

/// `node`, `bun`, `deno`, `python`, `python3`, `python3.12`, `pypy3`…: a
/// program whose code is its script argument.
fn is_interpreter(name: &str) -> bool {
    let version = |rest: &str| rest.chars().all(|c| c.is_ascii_digit() || c == '.');
    matches!(name, "node" | "nodejs" | "bun" | "deno")
        || name.strip_prefix("python").is_some_and(version)
        || name.strip_prefix("pypy").is_some_and(version)
}

/// The code an interpreter runs: its script, or a Python `-m` module.
enum Code<'a> {
    Script(&'a str),
    Module(&'a str),
}

/// The interpreter's first argument that is not one of its own options.
fn code_of<'a>(interp: &str, argv: &'a [String]) -> Option<Code<'a>> {
    let python = interp.starts_with("py");
    let mut i = 1;
    if matches!(interp, "bun" | "deno") && argv.get(1).is_some_and(|a| a == "run") {
        i = 2;
    }
    while let Some(a) = argv.get(i) {
        let a = a.as_str();
        if a == "--" {
            return argv.get(i + 1).map(|s| Code::Script(s));
        }
        if !a.starts_with('-') || a == "-" {
            return (a != "-").then_some(Code::Script(a));
        }
        if python {
            match a {
                "-m" => return argv.get(i + 1).map(|m| Code::Module(m)),
                "-c" => return None,
                "-W" | "-X" | "--check-hash-based-pycs" => i += 2,
                _ if a.starts_with("-m") => return Some(Code::Module(&a[2..])),
                _ if a.starts_with("-c") => return None,
                _ => i += 1,
            }
        } else {
            match a {
                "-e" | "--eval" | "-p" | "--print" => return None,
                "-r"
                | "--require"
                | "--import"
                | "--loader"
                | "--experimental-loader"
                | "--env-file"
                | "-C"
                | "--conditions"
                | "--inspect-port"
                | "--title" => i += 2,
                _ => i += 1,
            }
        }
    }
    None
}

/// `aider.py`, `cn.js` → `aider`, `cn`.
fn strip_ext(name: &str) -> &str {
    [".js", ".mjs", ".cjs", ".py"].iter().find_map(|e| name.strip_suffix(e)).unwrap_or(name)
}

/// The family's entry named `name` (an executable, a script or a module).
fn entry<'n>(names: &[&'n str], name: &str) -> Option<&'n str> {
    names.iter().copied().filter(|n| !n.contains('/')).find(|n| *n == name || *n == strip_ext(name))
}

/// The family's package path that `path` lies under (`node_modules/opencode-ai`,
/// `site-packages/litellm`, which also stands for Debian's `dist-packages/litellm`).
fn package<'n>(names: &[&'n str], path: &str) -> Option<&'n str> {
    let hay = format!("/{}/", path.trim_matches('/'));
    names.iter().copied().filter(|n| n.contains('/') && !n.starts_with("extensions/")).find(|n| {
        let dist = n.strip_prefix("site-packages/").map(|rest| format!("/dist-packages/{rest}/"));
        hay.contains(&format!("/{n}/")) || dist.is_some_and(|d| hay.contains(&d))
    })
}

/// Why `exe` and `argv` run the code of the family `names` (docs/catalogue.md):
/// the executable or `argv[0]` is one of its entries or lies under one of its
/// package paths, or an interpreter runs such a script or module.
pub fn identify_code(names: &[&str], exe: Option<&str>, argv: &[String]) -> Option<String> {
    let a0 = argv.first().map(String::as_str).unwrap_or("");
    if let Some(exe) = exe {
        if !is_interpreter(base(exe)) && entry(names, base(exe)).is_some() {
            return Some(format!("exe {exe}"));
        }
        if let Some(p) = package(names, exe) {
            return Some(format!("package {p}"));
        }
    }
    if !a0.is_empty() && !is_interpreter(base(a0)) {
        if entry(names, base(a0)).is_some() {
            return Some(format!("argv0 {a0}"));
        }
        if let Some(p) = package(names, a0) {
            return Some(format!("package {p}"));
        }
    }
    let interp = [base(a0), exe.map(base).unwrap_or("")].into_iter().find(|b| is_interpreter(b))?;
    match code_of(interp, argv)? {
        Code::Module(m) => entry(names, m.split('.').next().unwrap_or(m)).map(|_| format!("module -m {m}")),
        Code::Script(s) => {
            if entry(names, base(s)).is_some() {
                Some(format!("script {s}"))
            } else {
                package(names, s).map(|p| format!("package {p}"))
            }
        }
    }
}

/// The most entries of /proc/PID/fd and of an extensions directory looked at.
const DIR_CAP: usize = 4096;
const MAPS_CAP: u64 = 4 * 1024 * 1024;

/// An extension host's extension among `names`' `extensions/ID` entries:
/// on its command line, among its open files and mapped files, or installed
/// beside the editor server it runs from (or in `$HOME/.vscode/extensions`
/// and its forks' for a local editor). `Err(())`: nothing could be read.
fn extension_of(names: &[&str], dir: &Path, argv: &[String]) -> Result<Option<String>, ()> {
    let ids: Vec<String> = names.iter().filter_map(|n| n.strip_prefix("extensions/")).map(str::to_lowercase).collect();
    let hit = |text: &str| -> Option<String> {
        let low = text.to_lowercase();
        ids.iter()
            .find(|id| low.contains(&format!("/extensions/{id}-")) || low.ends_with(&format!("/extensions/{id}")))
            .cloned()
    };
    if let Some(id) = argv.iter().find_map(|a| hit(a)) {
        return Ok(Some(format!("extension {id} (command line)")));
    }
    let mut readable = false;
    if let Ok(rd) = std::fs::read_dir(dir.join("fd")) {
        readable = true;
        for e in rd.flatten().take(DIR_CAP) {
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.to_string_lossy();
                if let Some(id) = hit(&t) {
                    return Ok(Some(format!("extension {id} (open file {t})")));
                }
            }
        }
    }
    if let Some(maps) = read_text(&dir.join("maps"), MAPS_CAP) {
        readable = true;
        if let Some(id) = maps.lines().find_map(hit) {
            return Ok(Some(format!("extension {id} (mapped file)")));
        }
    }
    // Where the editor keeps its extensions: beside a remote server
    // (`~/.vscode-server/bin/…` → `~/.vscode-server/extensions`), or in the home.
    let mut dirs: Vec<PathBuf> = argv
        .iter()
        .filter_map(|a| {
            let i = a.find("-server/").or_else(|| a.find("-server-insiders/"))?;
            let end = i + a[i..].find('/')?;
            Some(Path::new(&a[..end]).join("extensions"))
        })
        .collect();
    if let Ok(env) = read(&dir.join("environ"), ENVIRON_CAP) {
        if let Some(home) = environ_value(&env, "HOME") {
            let home = PathBuf::from(String::from_utf8_lossy(&home).into_owned());
            for d in [".vscode", ".vscode-insiders", ".vscode-oss", ".cursor", ".windsurf"] {
                dirs.push(home.join(d).join("extensions"));
            }
        }
    }
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        readable = true;
        for e in rd.flatten().take(DIR_CAP) {
            let name = e.file_name().to_string_lossy().to_lowercase();
            if let Some(id) = ids.iter().find(|id| name.starts_with(&format!("{id}-"))) {
                return Ok(Some(format!("extension {id} (installed in {})", d.display())));
            }
        }
    }
    if readable {
        Ok(None)
    } else {
        Err(())
    }
}

/// Why the process in `dir` is one of `family`'s, or None.
fn identify(family: &Family, dir: &Path, exe: Option<&str>, argv: &[String]) -> Option<String> {
    match family.role {
        Role::ExtensionHost => {
            if !argv.iter().any(|a| a == EXTENSION_HOST) {
                return None;
            }
            if !family.names.iter().any(|n| n.starts_with("extensions/")) {
                return Some(format!("extension host ({EXTENSION_HOST})"));
            }
            match extension_of(&family.names, dir, argv) {
                Ok(found) => found,
                // A /proc that shows no more than the command line: the editor's process still.
                Err(()) => Some(format!("extension host ({EXTENSION_HOST}); its extensions cannot be read")),
            }
        }
        _ => identify_code(&family.names, exe, argv),
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The most read of each file under /proc (docs/launch-contexts.md#live-processes):
/// /proc/stat of a many-core machine is tens of kilobytes, a command line or
/// an initial environment at most a few megabytes (the kernel's ARG_MAX).
/// Files are read as keyhole reads configs (crates/core/src/fsread.rs):
/// opened without blocking (a FIFO in a fake /proc does not hang), regular
/// files only (a `/dev/zero` there is not read), never past the cap.
const STAT_CAP: u64 = 1024 * 1024;
const SMALL_CAP: u64 = 64 * 1024;
const CMDLINE_CAP: u64 = 4 * 1024 * 1024;
const ENVIRON_CAP: u64 = 16 * 1024 * 1024;

fn read(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    fsread::read_bytes(path, cap)
}

fn read_text(path: &Path, cap: u64) -> Option<String> {
    read(path, cap).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn btime(root: &Path) -> Option<f64> {
    let s = read_text(&root.join("stat"), STAT_CAP)?;
    s.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The fields of /proc/PID/stat after the command name, which may hold
/// spaces and parentheses (field 3 is the first); none in a short one.
fn stat_fields(stat: &str) -> impl Iterator<Item = &str> {
    let rest = stat.rfind(')').and_then(|i| stat.get(i + 1..)).unwrap_or("");
    rest.split_whitespace()
}

/// Field 22 of /proc/PID/stat.
fn start_ticks(stat: &str) -> Option<f64> {
    stat_fields(stat).nth(22 - 3).and_then(|v| v.parse().ok())
}

/// Field 4 of /proc/PID/stat.
fn ppid(stat: &str) -> Option<u32> {
    stat_fields(stat).nth(1).and_then(|v| v.parse().ok())
}

/// Field 7 of /proc/PID/stat: a controlling terminal.
fn has_tty(stat: &str) -> bool {
    stat_fields(stat).nth(4).and_then(|v| v.parse::<i64>().ok()).is_some_and(|t| t != 0)
}

/// The command name of /proc/PID/stat (field 2).
fn comm(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    stat.get(open + 1..close)
}

fn argv_of(cmd: &[u8]) -> Vec<String> {
    let cmd = cmd.strip_suffix(b"\0").unwrap_or(cmd);
    if cmd.is_empty() {
        return Vec::new();
    }
    cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

fn link(path: &Path) -> Option<String> {
    let t = std::fs::read_link(path).ok()?;
    let t = t.to_string_lossy();
    Some(t.strip_suffix(" (deleted)").unwrap_or(&t).to_string())
}

/// The line of /proc/PID/cgroup that names the process's cgroup: the
/// unified hierarchy's (`0::/…`), else the systemd controller's.
fn cgroup_line(text: &str) -> Option<String> {
    let lines = || text.lines().filter(|l| !l.trim().is_empty());
    lines()
        .find(|l| l.starts_with("0::"))
        .or_else(|| lines().find(|l| l.split(':').nth(1).is_some_and(|c| c.split(',').any(|c| c == "name=systemd"))))
        .or_else(|| lines().next())
        .map(str::to_string)
}

/// The most parents walked up from a process.
const MAX_PARENTS: usize = 32;

/// The parents of a process whose parent is `ppid`, nearest first, up to
/// PID 1 or the first that cannot be read.
fn parents(root: &Path, mut ppid: Option<u32>) -> Vec<Parent> {
    let mut out: Vec<Parent> = Vec::new();
    while let Some(pid) = ppid.filter(|p| *p != 0) {
        if out.len() >= MAX_PARENTS || out.iter().any(|p| p.pid == pid) {
            break;
        }
        let dir = root.join(pid.to_string());
        let Some(stat) = read_text(&dir.join("stat"), SMALL_CAP) else { break };
        let mut argv = read(&dir.join("cmdline"), SMALL_CAP).map(|c| argv_of(&c)).unwrap_or_default();
        if argv.is_empty() {
            argv = comm(&stat).map(|c| vec![c.to_string()]).unwrap_or_default();
        }
        out.push(Parent { pid, argv, tty: has_tty(&stat) });
        if pid == 1 {
            break;
        }
        ppid = self::ppid(&stat);
    }
    out
}

fn uid_of(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn parse_environ(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    bytes
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let eq = e.iter().position(|b| *b == b'=')?;
            Some((String::from_utf8_lossy(&e[..eq]).into_owned(), e[eq + 1..].to_vec()))
        })
        .collect()
}

/// The value of `var` in a NUL-separated environment (the last one, as in
/// [`parse_environ`]), without building a map of all of it.
pub fn environ_value(bytes: &[u8], var: &str) -> Option<Vec<u8>> {
    bytes
        .split(|b| *b == 0)
        .filter_map(|e| e.strip_prefix(var.as_bytes())?.strip_prefix(b"="))
        .next_back()
        .map(<[u8]>::to_vec)
}

/// A command line for records: its words joined by spaces, keys redacted,
/// at most 300 bytes.
fn command_line(argv: &[String]) -> String {
    let mut c = keyhole_core::redact::text(&argv.join(" ")).into_owned();
    if c.len() > 300 {
        let mut end = 300;
        while !c.is_char_boundary(end) {
            end -= 1;
        }
        c.truncate(end);
        c.push('…');
    }
    c
}

/// The user's own processes of `families` under `root`; the others, and
/// those that vanish while being read, are skipped with a note.
pub fn scan(root: &Path, families: &[Family], var: &str, ctx: &Ctx) -> Vec<Proc> {
    let mut out = Vec::new();
    if families.is_empty() {
        return out;
    }
    let Ok(rd) = std::fs::read_dir(root) else {
        ctx.note(format!("{} cannot be read; no process checked", root.display()));
        return out;
    };
    let mut pids: Vec<u32> = rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect();
    pids.sort();
    let me = unsafe { libc::geteuid() };
    let boot = btime(root);
    let hz = clock_ticks();
    let own_pid = std::process::id();
    for pid in pids {
        if pid == own_pid && root == Path::new("/proc") {
            continue;
        }
        let dir = root.join(pid.to_string());
        let Ok(cmd) = read(&dir.join("cmdline"), CMDLINE_CAP) else { continue }; // vanished, or not a process
        let argv = argv_of(&cmd);
        if argv.is_empty() {
            continue; // a kernel thread
        }
        let exe = link(&dir.join("exe"));
        let Some((role, matched_by)) =
            families.iter().find_map(|f| identify(f, &dir, exe.as_deref(), &argv).map(|m| (f.role, m)))
        else {
            continue;
        };
        let name = role.as_str();
        let status = read_text(&dir.join("status"), SMALL_CAP).unwrap_or_default();
        if let Some(uid) = uid_of(&status) {
            if uid != me {
                ctx.note(format!("process {pid} ({name}) belongs to uid {uid}, not you; skipped"));
                continue;
            }
        }
        let environ: BTreeMap<String, Vec<u8>> = match read(&dir.join("environ"), ENVIRON_CAP) {
            // Only the variable is kept: a thousand processes' environments are not.
            Ok(b) => environ_value(&b, var).map(|v| (var.to_string(), v)).into_iter().collect(),
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                ctx.note(format!("process {pid} ({name}) ended while being read; skipped"));
                continue;
            }
            Err(ReadError::TooLarge(_)) => {
                ctx.note(format!("process {pid} ({name}): its environment is over {} MiB; skipped", ENVIRON_CAP >> 20));
                continue;
            }
            Err(e) => {
                ctx.note(format!("process {pid} ({name}): its environment {e}"));
                continue;
            }
        };
        let stat = read_text(&dir.join("stat"), SMALL_CAP);
        let started = stat.as_deref().and_then(start_ticks).zip(boot).map(|(t, b)| b + t / hz);
        let ppid = stat.as_deref().and_then(ppid);
        let cgroup = read_text(&dir.join("cgroup"), SMALL_CAP).and_then(|t| cgroup_line(&t));
        let unit = cgroup.as_deref().and_then(|l| cgroup_says(l).1);
        out.push(Proc {
            pid,
            role,
            started,
            value: environ.get(var).cloned(),
            environ,
            ppid,
            unit,
            cwd: link(&dir.join("cwd")),
            matched_by: Some(matched_by),
            command: Some(command_line(&argv)),
            cgroup,
            parents: parents(root, ppid),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_field_22_with_a_tricky_name() {
        let stat = "4242 (node (ext) host) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 11 0 123456 1000 100 18446744073709551615";
        assert_eq!(start_ticks(stat), Some(123456.0));
    }

    #[test]
    fn a_short_stat_has_no_fields() {
        for stat in ["4242 (x)", "4242 (x", "", ")", "1 (a) S"] {
            assert_eq!(start_ticks(stat), None, "{stat:?}");
        }
        assert_eq!(ppid("1 (a) S 7"), Some(7));
    }

    #[test]
    fn environ_is_nul_separated() {
        assert_eq!(environ_value(b"A=1\0B=x=y\0AB=2\0B=z\0", "B").as_deref(), Some(&b"z"[..]));
        assert_eq!(environ_value(b"AB=1\0B\0", "B"), None);
        let e = parse_environ(b"A=1\0B=x=y\0\0");
        assert_eq!(e.get("B").map(|v| v.as_slice()), Some(&b"x=y"[..]));
    }

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn code_not_words() {
        let aider: &[&str] = &["aider", "site-packages/aider"];
        let claude: &[&str] = &["claude", "node_modules/@anthropic-ai/claude-code"];
        let litellm: &[&str] = &["litellm", "site-packages/litellm"];
        let id = |names, exe, cmd| identify_code(names, exe, &argv(cmd));
        // Noise: a word, an argument, a path that mentions the tool.
        assert_eq!(id(aider, Some("/usr/bin/vim.basic"), "vim /home/u/notes/aider-tips.md"), None);
        assert_eq!(id(aider, Some("/usr/bin/python3.11"), "python3 run.py --client aider"), None);
        assert_eq!(id(aider, None, "node /usr/lib/node_modules/npm/bin/npm-cli.js install aider-helper"), None);
        assert_eq!(id(aider, None, "python3 -c import aider"), None);
        assert_eq!(id(aider, None, "bash /home/u/.local/bin/aider"), None, "a shell is not an interpreter of the tool");
        // The tool.
        assert_eq!(id(aider, Some("/usr/local/bin/aider"), "aider --yes").as_deref(), Some("exe /usr/local/bin/aider"));
        assert_eq!(
            id(aider, Some("/usr/bin/python3.12"), "/usr/bin/python3 -u /home/u/.local/bin/aider --yes").as_deref(),
            Some("script /home/u/.local/bin/aider")
        );
        assert_eq!(id(aider, None, "python3.12 -X utf8 -m aider").as_deref(), Some("module -m aider"));
        assert_eq!(id(aider, None, "python -maider.main").as_deref(), Some("module -m aider.main"));
        assert_eq!(
            id(litellm, None, "python3 /usr/lib/python3/dist-packages/litellm/proxy/proxy_cli.py").as_deref(),
            Some("package site-packages/litellm")
        );
        assert_eq!(
            id(
                claude,
                Some("/usr/bin/node"),
                "node --max-old-space-size=4096 /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"
            )
            .as_deref(),
            Some("package node_modules/@anthropic-ai/claude-code")
        );
        assert_eq!(id(claude, Some("/usr/bin/node"), "claude").as_deref(), Some("argv0 claude"), "a process title");
        assert_eq!(id(&["cn"], None, "node /x/dist/cn.js").as_deref(), Some("script /x/dist/cn.js"));
        assert_eq!(id(&["litellm"], None, "bun run /x/litellm").as_deref(), Some("script /x/litellm"));
    }

    #[test]
    fn cgroups_name_units_and_containers() {
        let u = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service";
        assert_eq!(cgroup_says(u), (Some("systemd_user"), Some("litellm.service".into())));
        assert_eq!(
            cgroup_says("0::/system.slice/litellm.service"),
            (Some("systemd_system"), Some("litellm.service".into()))
        );
        assert_eq!(cgroup_says("0::/system.slice/cron.service").0, Some("cron"));
        assert_eq!(cgroup_says("0::/system.slice/docker-0123abcd.scope").0, Some("container"));
        assert_eq!(cgroup_says("0::/kubepods/burstable/pod1/abc").0, Some("container"));
        assert_eq!(
            cgroup_says("0::/system.slice/docker.service").0,
            Some("systemd_system"),
            "the docker daemon itself"
        );
        assert_eq!(cgroup_says("0::/user.slice/user-1000.slice/session-3.scope"), (None, None));
        assert_eq!(cgroup_says("0::/user.slice/user-1000.slice/user@1000.service/init.scope"), (None, None));
        let v1 = "12:pids:/user.slice\n1:name=systemd:/system.slice/litellm.service\n";
        assert_eq!(cgroup_line(v1).as_deref(), Some("1:name=systemd:/system.slice/litellm.service"));
    }

    fn proc_with(parents: Vec<Parent>, cgroup: Option<&str>) -> Proc {
        Proc {
            pid: 10,
            role: Role::Tool("aider"),
            started: None,
            value: None,
            environ: BTreeMap::new(),
            ppid: parents.first().map(|p| p.pid),
            unit: None,
            cwd: None,
            matched_by: None,
            command: None,
            cgroup: cgroup.map(str::to_string),
            parents,
        }
    }

    fn parent(pid: u32, cmd: &str, tty: bool) -> Parent {
        Parent { pid, argv: vec![cmd.to_string()], tty }
    }

    #[test]
    fn launch_contexts_from_evidence_only() {
        let ctx = |parents, cg| proc_with(parents, cg).launched_as().context;
        assert_eq!(ctx(vec![], None), "unknown", "nothing proves one");
        assert_eq!(ctx(vec![parent(1, "/sbin/init", false)], None), "unknown", "an orphan");
        assert_eq!(ctx(vec![parent(9, "bash", false), parent(8, "sshd: u@notty", false)], None), "ssh_command");
        assert_eq!(ctx(vec![parent(9, "-bash", true), parent(8, "sshd: u@pts/0", false)], None), "interactive");
        assert_eq!(ctx(vec![parent(9, "-bash", false)], None), "login");
        assert_eq!(ctx(vec![parent(9, "-bash", true), parent(8, "tmux: server", false)], None), "tmux");
        assert_eq!(ctx(vec![parent(9, "/bin/sh", false), parent(8, "/usr/sbin/CRON", false)], None), "cron");
        let unit = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service";
        assert_eq!(ctx(vec![parent(9, "/lib/systemd/systemd", false)], Some(unit)), "systemd_user");
        assert_eq!(ctx(vec![], Some(unit)), "systemd_user", "the cgroup alone");
        // A terminal shell in a unit's cgroup (gnome-terminal-server.service): the shell decides.
        assert_eq!(ctx(vec![parent(9, "bash", true)], Some(unit)), "interactive");
        assert_eq!(ctx(vec![parent(9, "bash", true)], Some("0::/system.slice/docker-ab.scope")), "container");
        let by = proc_with(vec![parent(9, "bash", false), parent(8, "sshd: u@notty", false)], None).launched_as().by;
        assert_eq!(by, ["parent 8 sshd: u@notty"]);
    }

    #[test]
    fn the_evidence_survives_redaction() {
        let by = proc_with(vec![], Some("0::/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service"))
            .launched_as()
            .by;
        for b in by {
            assert_eq!(keyhole_core::redact::text(&b), b.as_str());
        }
    }
}
