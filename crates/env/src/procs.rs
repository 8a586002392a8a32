//! Running processes from `/proc` (or `--proc-root`): which belong to a tool's
//! family, when they started, and whether their initial environment holds
//! the variable. docs/launch-contexts.md#live-processes.

use std::collections::BTreeMap;
use std::path::Path;

use keyhole_core::fsread::{self, ReadError};

use keyhole_core::record::env::{LaunchContext, Role};
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
}

/// The launch context a process came from, and what proves it.
pub struct Launch {
    /// A [`LaunchContext`] name, or `systemd_system`, `cron`, `container`, `tmux`, `unknown`.
    pub context: String,
    pub by: Vec<String>,
}

impl Proc {
    /// The launch context the process came from.
    pub fn launched_as(&self) -> Launch {
        let context = match self.role {
            Role::ExtensionHost => LaunchContext::VscodeResolved,
            Role::EditorServer => LaunchContext::SshCommand,
            Role::Tool(_) if self.ppid == Some(1) => LaunchContext::NonInteractive,
            Role::Tool(_) => LaunchContext::Interactive,
        };
        Launch { context: context.as_str().to_string(), by: Vec::new() }
    }
}

/// (role, markers): a process whose command line contains any marker has the role.
pub type Family = (Role<'static>, &'static [&'static str]);

/// The processes of VS Code and its forks that a tool running in their
/// extension host lives in.
const EDITOR: [Family; 2] = [
    (Role::ExtensionHost, &["--type=extensionHost"]),
    (
        Role::EditorServer,
        &["server-main.js", "/code-server", ".vscode-server/", ".cursor-server/", ".windsurf-server/"],
    ),
];

/// The families to look for: the tool's own (and its editor's, when it runs
/// in an extension host), or every family when there is no tool.
pub fn families(tool: Option<&'static Tool>) -> Vec<Family> {
    let own = |t: &'static Tool| -> Family { (Role::Tool(t.name), t.process_family) };
    match tool {
        Some(t) if t.in_extension_host => EDITOR.into_iter().chain([own(t)]).collect(),
        Some(t) if !t.process_family.is_empty() => vec![own(t)],
        Some(_) => Vec::new(),
        None => {
            EDITOR.into_iter().chain(TOOLS.iter().filter(|t| !t.process_family.is_empty()).map(|t| own(t))).collect()
        }
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
        let cmdline = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let Some(&(role, _)) = families.iter().find(|(_, markers)| markers.iter().any(|m| cmdline.contains(m))) else {
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
        out.push(Proc {
            pid,
            role,
            started,
            value: environ.get(var).cloned(),
            environ,
            ppid,
            unit: None,
            cwd: None,
            matched_by: None,
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
}
