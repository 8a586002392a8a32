//! Running processes from `/proc` (or `--proc-root`): which belong to a tool's
//! family, when they started, and whether their initial environment holds
//! the variable. docs/launch-contexts.md#live-processes.

use std::collections::BTreeMap;
use std::path::Path;

use keyhole_core::record::env::{LaunchContext, Role};
use keyhole_core::stage::Ctx;
use keyhole_core::tool::{Tool, TOOLS};

pub struct Proc {
    pub pid: u32,
    pub role: Role<'static>,
    /// Seconds since the epoch.
    pub started: Option<f64>,
    pub value: Option<Vec<u8>>,
    pub environ: BTreeMap<String, Vec<u8>>,
    pub ppid: Option<u32>,
}

impl Proc {
    /// The launch context the process most likely came from.
    pub fn launched_as(&self) -> LaunchContext {
        match self.role {
            Role::ExtensionHost => LaunchContext::VscodeResolved,
            Role::EditorServer => LaunchContext::SshCommand,
            Role::Tool(_) if self.ppid == Some(1) => LaunchContext::NonInteractive,
            Role::Tool(_) => LaunchContext::Interactive,
        }
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

fn btime(root: &Path) -> Option<f64> {
    let s = std::fs::read_to_string(root.join("stat")).ok()?;
    s.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// Field 22 of /proc/PID/stat; the command name may hold spaces and parentheses.
fn start_ticks(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(22 - 3).and_then(|v| v.parse().ok())
}

/// Field 4 of /proc/PID/stat.
fn ppid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1).and_then(|v| v.parse().ok())
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
        let Ok(cmd) = std::fs::read(dir.join("cmdline")) else { continue }; // vanished
        let cmdline = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let Some(&(role, _)) = families.iter().find(|(_, markers)| markers.iter().any(|m| cmdline.contains(m))) else {
            continue;
        };
        let name = role.as_str();
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        if let Some(uid) = uid_of(&status) {
            if uid != me {
                ctx.note(format!("process {pid} ({name}) belongs to uid {uid}, not you; skipped"));
                continue;
            }
        }
        let environ = match std::fs::read(dir.join("environ")) {
            Ok(b) => parse_environ(&b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ctx.note(format!("process {pid} ({name}) ended while being read; skipped"));
                continue;
            }
            Err(e) => {
                ctx.note(format!("process {pid} ({name}): its environment cannot be read ({e}); skipped"));
                continue;
            }
        };
        let stat = std::fs::read_to_string(dir.join("stat")).ok();
        let started = stat.as_deref().and_then(start_ticks).zip(boot).map(|(t, b)| b + t / hz);
        let ppid = stat.as_deref().and_then(ppid);
        out.push(Proc { pid, role, started, value: environ.get(var).cloned(), environ, ppid });
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
    fn environ_is_nul_separated() {
        let e = parse_environ(b"A=1\0B=x=y\0\0");
        assert_eq!(e.get("B").map(|v| v.as_slice()), Some(&b"x=y"[..]));
    }
}
