//! `--exec`: the user's real shells as ground truth
//! (docs/launch-contexts.md#checking-against-the-real-shells).
//!
//! No input is shell code here. The scripts the shells run are constants;
//! the variable name must be an identifier (`[A-Za-z_][A-Za-z0-9_]*`) and
//! reaches the shell as an argument (`$1`, fish's `$argv[1]`), never inside
//! the script. A name that is no identifier is not run at all.
//!
//! The shells must not change the analysed home (zsh's `~/.zcompdump`,
//! fish's `~/.local/share/fish/`, history files). They run in a private
//! mount namespace where the home is an overlay whose writes go to a
//! throwaway tmpfs (a user namespace too when keyhole-env is not root).
//! Where no namespace can be made they run with `HOME` on a throwaway copy
//! of the startup files, and a note says so.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use indexmap::IndexMap;
use keyhole_core::record::env::{Disagreement, Env, LaunchContext};
use keyhole_core::record::Extra;
use keyhole_core::stage::Ctx;
use keyhole_core::syntax::is_identifier;

use crate::{Options, CAP};

/// A variable one launch context adds (`SSH_CLIENT` for `ssh host cmd`).
type ExtraVar = (&'static str, &'static str);

/// The question each shell answers; the name is its first argument.
const PROBE_POSIX: &str = r#"if printenv "$1" >/dev/null; then echo KEYHOLE_SET; else echo KEYHOLE_UNSET; fi"#;
const PROBE_FISH: &str = "if printenv $argv[1] >/dev/null; echo KEYHOLE_SET; else; echo KEYHOLE_UNSET; end";
/// `script` runs its command with `/bin/sh -c`: this constant takes the name
/// from the environment, removes it there, and hands it on as an argument.
const SCRIPT_VAR: &str = "KEYHOLE_EXEC_VAR";

/// Start the user's real shells for `env.var` and add what they said to
/// `env` (`exec`, `exec_disagrees`). A name that is not an identifier is not
/// run: `exec` stays absent and a note says why, without the name.
pub fn add_exec(env: &mut Env, opts: &Options, ctx: &Ctx) {
    if let Some(real) = exec_contexts(&env.var, opts, &files_of(env), ctx) {
        fill(env, real);
    }
}

/// The files the static answer rests on (definitions and the files that
/// source them), for the throwaway copy.
fn files_of(env: &Env) -> Vec<PathBuf> {
    env.definitions
        .iter()
        .flat_map(|d| std::iter::once(d.file.as_str()).chain(d.sourced_from.as_ref().map(|s| s.file.as_str())))
        .map(PathBuf::from)
        .collect()
}

/// Start the user's real shells in each context and ask a child process
/// whether it got `var` (per context `None`: no answer). `None`: `var` is
/// no identifier, nothing ran. Opt-in: this runs the user's files. `files`
/// are copied besides the startup files when no namespace can be made.
pub fn exec_contexts(
    var: &str,
    opts: &Options,
    files: &[PathBuf],
    ctx: &Ctx,
) -> Option<IndexMap<String, Option<bool>>> {
    if !is_identifier(var) {
        ctx.note("--exec: a variable name is not an identifier ([A-Za-z_][A-Za-z0-9_]*): the real shells were not asked about it");
        return None;
    }
    let copy = match namespaces_work(&opts.home) {
        Ok(()) => None,
        Err(why) => match Copy::make(&opts.home, files) {
            Ok(c) => {
                ctx.note(format!(
                    "--exec: no private mount namespace ({why}): the real shells ran with HOME on a throwaway copy of the startup files"
                ));
                Some(c)
            }
            Err(e) => {
                ctx.note(format!(
                    "--exec: no private mount namespace ({why}) and no throwaway home ({e}): the real shells were not started"
                ));
                return Some(run_shells(var, &opts.shell, None));
            }
        },
    };
    let place = match &copy {
        Some(copy) => Place::Copy(copy),
        None => Place::Overlay(&opts.home),
    };
    Some(run_shells(var, &opts.shell, Some(&place)))
}

/// What each launch context's shell said about `var`, run in `place`
/// (`None`: not run, no answers).
fn run_shells(var: &str, shell: &str, place: Option<&Place>) -> IndexMap<String, Option<bool>> {
    // (context, flags, extra variable): what each launch context runs.
    let mut runs: Vec<(LaunchContext, &str, Option<ExtraVar>)> = vec![
        (LaunchContext::Interactive, "-ic", None),
        (LaunchContext::Login, "-lc", None),
        (LaunchContext::NonInteractive, "-c", None),
    ];
    if shell != "zsh" && shell != "fish" {
        // Debian-family bash: `ssh host cmd` reads ~/.bashrc when SSH_CLIENT is set and SHLVL is not.
        runs.push((LaunchContext::SshCommand, "-c", Some(("SSH_CLIENT", "10.0.0.1 5555 22"))));
    }
    runs.push((LaunchContext::VscodeResolved, "-ilc", None));
    let program = match shell {
        "zsh" | "fish" => shell,
        _ => "bash",
    };
    runs.into_iter()
        .map(|(c, flags, extra)| (c.as_str().to_string(), place.and_then(|p| ask(program, flags, c, extra, var, p))))
        .collect()
}

/// Where the shells run: the home overlaid in a private mount namespace,
/// or a throwaway copy.
enum Place<'a> {
    Overlay(&'a Path),
    Copy(&'a Copy),
}

/// One shell of one context: `Some(true)` it has `var`, `Some(false)` not.
fn ask(
    program: &str,
    flags: &str,
    context: LaunchContext,
    extra: Option<ExtraVar>,
    var: &str,
    place: &Place,
) -> Option<bool> {
    let probe = if program == "fish" { PROBE_FISH } else { PROBE_POSIX };
    // bash and zsh take `$0` before `$1`; fish's arguments are `$argv`.
    let arg0: &[&str] = if program == "fish" { &[] } else { &[program] };
    let mut c = Command::new("timeout");
    c.arg("10");
    if context == LaunchContext::Interactive {
        // A terminal tab has a tty: give the shell one (script from util-linux), so tty guards pass as they do there.
        let arg0 = arg0.first().map_or(String::new(), |a| format!("{a} "));
        let line = format!(r#"v=${SCRIPT_VAR}; unset {SCRIPT_VAR}; exec {program} {flags} '{probe}' {arg0}"$v""#);
        c.args(["script", "-qec", &line, "/dev/null"]);
    } else {
        c.arg(program).args([flags, probe]).args(arg0).arg(var);
    }
    let home = match place {
        Place::Overlay(home) => home,
        Place::Copy(copy) => copy.home.as_path(),
    };
    c.env_clear().env("HOME", home).env("PATH", "/usr/local/bin:/usr/bin:/bin").env("TERM", "dumb");
    if context == LaunchContext::Interactive {
        c.env(SCRIPT_VAR, var);
    }
    if let Some((k, v)) = extra {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).stderr(Stdio::null());
    let _jail = match place {
        Place::Overlay(home) => Some(Jail::new(home).ok()?.install(&mut c)),
        Place::Copy(copy) => {
            if let Some(cwd) = &copy.cwd {
                c.current_dir(cwd);
            }
            None
        }
    };
    let o = c.output().ok()?;
    let s = String::from_utf8_lossy(&o.stdout);
    // Whole lines only: an error message may quote the command.
    let said = |w: &str| s.lines().any(|l| l.trim() == w);
    if said("KEYHOLE_SET") {
        Some(true)
    } else if said("KEYHOLE_UNSET") {
        Some(false)
    } else {
        None
    }
}

/// Add what the real shells said to `env`: `exec`, and `exec_disagrees`
/// where it differs from the static answer.
pub fn fill(env: &mut Env, real: IndexMap<String, Option<bool>>) {
    let disagrees = real
        .iter()
        .filter_map(|(c, r)| {
            let real = (*r)?;
            let static_ = env.contexts.get(c).copied();
            (static_ != Some(real)).then(|| Disagreement {
                context: c.clone(),
                static_,
                real: Some(real),
                extra: Extra::new(),
            })
        })
        .collect();
    env.exec = Some(real);
    env.exec_disagrees = Some(disagrees);
}

/// Whether a private mount namespace with the home overlaid can be made
/// (tried once per process, with `true` as the shell): `Err` says why not.
fn namespaces_work(home: &Path) -> Result<(), String> {
    static TRIED: Mutex<Option<Result<(), String>>> = Mutex::new(None);
    let j = Jail::new(home).map_err(|e| format!("{}: {e}", home.display()))?;
    let mut t = TRIED.lock().unwrap_or_else(|e| e.into_inner());
    t.get_or_insert_with(|| {
        let mut c = Command::new("true");
        c.env_clear().stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let _j = j.install(&mut c);
        match c.status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("the test run ended with {s}")),
            Err(e) => Err(e.to_string()),
        }
    })
    .clone()
}

/// What the child does before it becomes the shell: its own mount
/// namespace (and user namespace when not root), the home overlaid.
struct Jail {
    home_fd: File,
    home: CString,
    cwd: Option<CString>,
    overlay: CString,
    mode: libc::mode_t,
    owner: (libc::uid_t, libc::gid_t),
    /// `uid_map`, `gid_map` lines, when a user namespace is needed.
    maps: Option<(CString, CString)>,
}

impl Jail {
    fn new(home: &Path) -> std::io::Result<Jail> {
        use std::os::unix::fs::MetadataExt;
        // O_PATH | O_CLOEXEC: held open only until the shell starts.
        let home_fd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(home)?;
        let md = home_fd.metadata()?;
        // Absolute and without links: the child changes directory between mounts.
        let home = &std::fs::canonicalize(home)?;
        // The home must not hold what the shells need to start (`/`, `/usr`).
        if ["/proc", "/usr", "/bin", "/etc"].iter().any(|p| Path::new(p).starts_with(home)) {
            return Err(std::io::Error::other("it holds the system's own files"));
        }
        let cstr = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
        // The lower layer is the home as this descriptor sees it; the child
        // re-points the descriptor at the home of its own namespace first.
        let overlay = format!("lowerdir=/proc/self/fd/{},upperdir=u,workdir=w", home_fd.as_raw_fd());
        // SAFETY: getuid and getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let maps = (uid != 0).then(|| {
            (CString::new(format!("{uid} {uid} 1")).unwrap(), CString::new(format!("{gid} {gid} 1")).unwrap())
        });
        Ok(Jail {
            home: cstr(home)?,
            cwd: std::env::current_dir().ok().and_then(|d| cstr(&d).ok()),
            overlay: CString::new(overlay).map_err(std::io::Error::other)?,
            mode: md.mode() & 0o7777,
            owner: (md.uid(), md.gid()),
            maps,
            home_fd,
        })
    }

    /// Make `c` enter the jail; the returned value keeps the descriptor
    /// open until `c` has run.
    fn install(self, c: &mut Command) -> std::sync::Arc<Jail> {
        let j = std::sync::Arc::new(self);
        let inner = j.clone();
        // SAFETY: the closure makes only async-signal-safe system calls on
        // data prepared before the fork (no allocation, no locks).
        unsafe {
            c.pre_exec(move || inner.enter());
        }
        j
    }

    /// In the child, after fork: runs only system calls.
    fn enter(&self) -> std::io::Result<()> {
        let ok = |r: libc::c_int| if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(r) };
        // SAFETY: plain system calls on NUL-terminated strings this value owns.
        unsafe {
            let fd = self.home_fd.as_raw_fd();
            match &self.maps {
                None => ok(libc::unshare(libc::CLONE_NEWNS))?,
                Some((uid_map, gid_map)) => {
                    ok(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS))?;
                    write_file(c"/proc/self/setgroups", c"deny")?;
                    write_file(c"/proc/self/uid_map", uid_map)?;
                    write_file(c"/proc/self/gid_map", gid_map)?;
                    0
                }
            };
            // Nothing mounted here reaches the parent's namespace.
            ok(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            // The home of this namespace, under the same descriptor number.
            let here = ok(libc::open(self.home.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC))?;
            ok(libc::dup3(here, fd, libc::O_CLOEXEC))?;
            libc::close(here);
            // A throwaway tmpfs takes the writes: on the home's own path.
            ok(libc::mount(
                c"keyhole".as_ptr(),
                self.home.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"size=64m,nr_inodes=16k,mode=0700".as_ptr().cast(),
            ))?;
            ok(libc::chdir(self.home.as_ptr()))?;
            ok(libc::mkdir(c"u".as_ptr(), 0o700))?;
            ok(libc::mkdir(c"w".as_ptr(), 0o700))?;
            // The merged home looks as the home did (its owner and mode).
            let _ = libc::chown(c"u".as_ptr(), self.owner.0, self.owner.1);
            ok(libc::chmod(c"u".as_ptr(), self.mode))?;
            ok(libc::mount(
                c"keyhole".as_ptr(),
                self.home.as_ptr(),
                c"overlay".as_ptr(),
                0,
                self.overlay.as_ptr().cast(),
            ))?;
            // Back where keyhole-env ran, now seen through the overlay.
            let back = self.cwd.as_ref().map_or(-1, |d| libc::chdir(d.as_ptr()));
            if back < 0 {
                ok(libc::chdir(c"/".as_ptr()))?;
            }
        }
        Ok(())
    }
}

/// Write `what` to `path` with system calls only (the child after fork).
unsafe fn write_file(path: &std::ffi::CStr, what: &std::ffi::CStr) -> std::io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let bytes = what.to_bytes();
    let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
    libc::close(fd);
    if n != bytes.len() as isize {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A throwaway home: a copy of the home's startup files (its top-level
/// dotfiles, fish's configuration, and the files the static answer rests
/// on), removed when dropped.
struct Copy {
    home: PathBuf,
    /// Where the shells start: the copy when keyhole-env runs inside the home.
    cwd: Option<PathBuf>,
}

/// At most this many bytes are copied in all.
const COPY_BUDGET: u64 = 32 * 1024 * 1024;
/// At most this many files are taken from each place (the home's top
/// level, fish's directory).
const COPY_FILES: usize = 1000;

impl Copy {
    fn make(home: &Path, files: &[PathBuf]) -> std::io::Result<Copy> {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = loop {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let d = std::env::temp_dir().join(format!("keyhole-exec-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&d) {
                Ok(()) => break d,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        let copy =
            Copy { cwd: std::env::current_dir().ok().filter(|d| d.starts_with(home)).map(|_| dir.clone()), home: dir };
        let mut budget = COPY_BUDGET;
        let mut wanted: Vec<PathBuf> = files.iter().filter(|f| f.starts_with(home)).cloned().collect();
        if let Ok(rd) = std::fs::read_dir(home) {
            wanted.extend(
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.file_name().is_some_and(|n| n.as_bytes().starts_with(b".")) && p.is_file())
                    .take(COPY_FILES),
            );
        }
        let (mut stack, mut entries) = (vec![home.join(".config/fish")], 0);
        while let Some(d) = stack.pop().filter(|_| entries < COPY_FILES) {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten().take(COPY_FILES) {
                entries += 1;
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(_) if p.is_file() => wanted.push(p),
                    _ => {}
                }
            }
        }
        wanted.truncate(2 * COPY_FILES);
        for f in wanted {
            let Ok(rel) = f.strip_prefix(home) else { continue };
            let Ok(md) = std::fs::metadata(&f) else { continue };
            if !md.is_file() || md.len() > CAP || md.len() > budget {
                continue;
            }
            let to = copy.home.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
            }
            if std::fs::copy(&f, &to).is_ok() {
                budget -= md.len();
            }
        }
        Ok(copy)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        // remove_dir_all does not follow symbolic links a shell may have left.
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_constants_and_names_arguments() {
        assert!(!PROBE_POSIX.contains('\'') && !PROBE_FISH.contains('\''), "the script line quotes them in '…'");
        let ctx = Ctx::new("t");
        let opts = Options::new("/nowhere".into(), Default::default(), "/nowhere/proc".into());
        assert!(exec_contexts("X;touch /tmp/p", &opts, &[], &ctx).is_none());
        let notes = ctx.take_notes();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("not an identifier") && !notes[0].contains("touch"), "{notes:?}");
    }

    fn has_shell(name: &str) -> bool {
        Command::new(name).arg("-c").arg("true").status().is_ok_and(|s| s.success())
    }

    /// The fixture's files (no empty directory a shell left) in `to`.
    fn copy_fixture(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                copy_fixture(&e.path(), &to.join(e.file_name()));
                let _ = std::fs::remove_dir(to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    stack.push(p.clone());
                    out.push((p, Vec::new()));
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    /// Where no namespace can be made: the shells on the throwaway copy
    /// answer as the static analysis of the home does (tests/env.rs checks
    /// the same cases in the namespace), and the home is not written.
    #[test]
    fn the_throwaway_copy_answers_as_the_home() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/env");
        let tmp = std::env::temp_dir().join(format!("keyhole-exec-unit-{}", std::process::id()));
        let cases: &[(&str, &str, &[&str])] = &[
            ("debian", "bash", &["OPENROUTER_API_KEY", "EARLY_KEY"]),
            ("arch", "bash", &["OPENROUTER_API_KEY"]),
            ("shadow", "bash", &["OPENROUTER_API_KEY"]),
            ("sourced", "bash", &["OPENROUTER_API_KEY", "NOT_EXPORTED_KEY", "FUNC_KEY", "ALLEXPORT_KEY", "TTY_KEY"]),
            ("zsh", "zsh", &["ZENV_KEY", "OPENROUTER_API_KEY", "ZPROF_KEY"]),
            ("fish", "fish", &["OPENROUTER_API_KEY", "INTERACTIVE_KEY", "UNIVERSAL_KEY"]),
        ];
        for (name, shell, vars) in cases {
            if !has_shell(shell) {
                // .ci/run sets KEYHOLE_REQUIRE_ALL=1: CI compares every shell.
                assert!(std::env::var_os("KEYHOLE_REQUIRE_ALL").is_none(), "{shell} is not installed");
                eprintln!("skipped: {shell} is not installed; KEYHOLE_REQUIRE_ALL=1 makes this a failure");
                continue;
            }
            let home = tmp.join(name);
            copy_fixture(&fixtures.join(name), &home);
            let before = listing(&home);
            let mut opts = Options::new(home.clone(), Default::default(), tmp.join("no-proc"));
            opts.shell = shell.to_string();
            for var in *vars {
                let env = crate::analyse(var, None, &opts, &Ctx::new("t"));
                let copy = Copy::make(&home, &files_of(&env)).unwrap();
                let real = run_shells(var, shell, Some(&Place::Copy(&copy)));
                for (c, r) in &real {
                    assert_eq!(*r, env.contexts.get(c).copied(), "{name} {var} {c}: the copy vs the static answer");
                }
                let dir = copy.home.clone();
                drop(copy);
                assert!(!dir.exists(), "the copy is removed");
            }
            assert_eq!(listing(&home), before, "{name}: the home is as it was");
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
