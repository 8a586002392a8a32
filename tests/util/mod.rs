//! Shared helpers for the integration tests: run a real binary as a process,
//! with a clean environment, and read its JSON lines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub mod account;
pub mod gateway;
pub mod imitation;
pub mod requests;
pub mod tls;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The built binary: `$KEYHOLE_BIN_DIR/NAME`, else `target/debug/NAME`
/// (`make test` builds every binary before the tests run).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("KEYHOLE_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target")).join("debug")
    });
    let p = dir.join(name);
    assert!(p.exists(), "{} is not built: run `cargo build --workspace --bins` (make test does)", p.display());
    p
}

/// A command with a cleared environment: only PATH, and HOME pointing at `home`.
pub fn cmd(name: &str, home: &Path) -> Command {
    let mut c = Command::new(bin(name));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("HOME", home).env("LC_ALL", "C");
    c.stdin(Stdio::null());
    c
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub records: Vec<Value>,
}

pub fn run(mut c: Command) -> Run {
    let Output { status, stdout, stderr } = c.output().expect("spawn");
    let stdout = String::from_utf8(stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect();
    Run { status: status.code().unwrap_or(-1), stdout, stderr, records }
}

/// Every canary used in fixtures shares this run of `c`; no output may hold it.
pub const CANARY_RUN: &str = "cccccccccccccccccccccccccccccc";

pub fn assert_no_canary(what: &str, text: &str) {
    assert!(!text.contains(CANARY_RUN), "{what} leaks a canary key:\n{text}");
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("keyhole-test-{tag}-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = Command::new("chmod").arg("-R").arg("u+rwx").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// A canary key of the right shape that no secret scanner takes for real:
/// `sk-or-v1-` + 60 `c` + a 4-character tag (73 bytes).
pub fn or_canary(tag: &str) -> String {
    assert_eq!(tag.len(), 4);
    format!("sk-or-v1-{}{}", "c".repeat(60), tag)
}

/// The site with this id suffix (after the file), or panic listing the ids.
pub fn site<'a>(records: &'a [Value], tool: &str, file_suffix: &str, frag: &str) -> &'a Value {
    records
        .iter()
        .find(|r| {
            r["type"] == "site"
                && r["tool"] == tool
                && r["source"]["file"].as_str().is_some_and(|f| f.ends_with(file_suffix))
                && r["id"].as_str().is_some_and(|id| id.ends_with(&format!("#{frag}")) || frag.is_empty())
        })
        .unwrap_or_else(|| {
            let ids: Vec<_> = records.iter().filter_map(|r| r["id"].as_str()).collect();
            panic!("no {tool} site in *{file_suffix} #{frag}; ids: {ids:#?}")
        })
}

/// The committed man page equals what the binary generates now.
pub fn assert_man_current(name: &str) {
    let t = TempDir::new("man");
    let mut c = cmd(name, t.path());
    c.args(["--generate", "man"]);
    let generated = c.output().unwrap().stdout;
    let committed = std::fs::read(root().join(format!("man/{name}.1"))).expect("the man page is committed (make man)");
    assert!(generated == committed, "man/{name}.1 is stale: run `make man`");
}

/// A loopback port that refuses connections and that no parallel test can
/// take while the returned socket lives: bound, never listening. (Binding a
/// listener and dropping it frees the port for the next test that binds
/// port 0, which then answers instead of refusing.)
pub fn refused_port() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor owned by the returned OwnedFd.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len);
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut glen = len;
        let rc = libc::getsockname(fd, (&mut got as *mut libc::sockaddr_in).cast(), &mut glen);
        assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
        (owned, u16::from_be(got.sin_port))
    }
}

/// The port keyhole-capture says it listens on, from its first stderr line
/// (`listening on http://127.0.0.1:PORT …`).
#[allow(dead_code)] // not every test file starts a capture
pub fn capture_port(line: &str) -> u16 {
    line.split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}

/// `keyhole-find | keyhole-env | [keyhole-probe PROBE_ARGS |] keyhole-classify` on
/// `home` with the analysed environment `env_file` and the fake /proc `home/proc`;
/// `find_args` go to keyhole-find.
pub fn pipeline_command(home: &Path, env_file: &Path, find_args: &str, probe_args: Option<&str>) -> String {
    let (h, e) = (home.display(), env_file.display());
    let probe = match probe_args {
        Some(a) => format!(
            "| {} --home {h} --env-file {e} --proc-root {h}/proc --timeout 3 {a} ",
            bin("keyhole-probe").display()
        ),
        None => String::new(),
    };
    format!(
        "{} --home {h} -q {find_args} | {} --home {h} -q --env-file {e} --proc-root {h}/proc {probe}| {}",
        bin("keyhole-find").display(),
        bin("keyhole-env").display(),
        bin("keyhole-classify").display()
    )
}

/// Run a shell pipeline of keyhole tools with a clean environment: no panic,
/// no canary in its output; the JSON records it printed.
pub fn run_pipeline(command: &str) -> Vec<serde_json::Value> {
    let out = Command::new("bash").arg("-c").arg(command).env_clear().env("PATH", "/usr/bin:/bin").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_canary("pipeline stdout", &stdout);
    assert_no_canary("pipeline stderr", &stderr);
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Run keyhole tool `name` with `args`, `input` on its stdin: its stdout and
/// stderr, checked for panics and canaries.
pub fn spawn(name: &str, home: &Path, args: &[String], input: &[u8]) -> (String, String) {
    let mut c = cmd(name, home);
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &input);
    });
    let out = child.wait_with_output().unwrap();
    w.join().unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    assert_no_canary(&format!("{name} stdout"), &stdout);
    assert_no_canary(&format!("{name} stderr"), &stderr);
    (stdout, stderr)
}

/// The JSON records of a tool's output.
pub fn records(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// Whether `program` runs (`program ARGS` exits 0). When it does not, a test
/// that compares against it says on stderr that it skipped and why, so that
/// `make test` passes on a machine with only Rust, bash, curl, openssl and
/// python3; with `KEYHOLE_REQUIRE_ALL=1` (`.ci/run` sets it) a missing
/// program fails the test instead, so CI runs every comparison.
pub fn available(program: &str, args: &[&str], why: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail(&format!("{program} is not installed ({why})"));
    }
    ok
}

/// Say that a check was skipped, or fail when `KEYHOLE_REQUIRE_ALL` is set.
pub fn skip_or_fail(reason: &str) {
    if std::env::var_os("KEYHOLE_REQUIRE_ALL").is_some_and(|v| v != "0" && !v.is_empty()) {
        panic!("{reason}; KEYHOLE_REQUIRE_ALL is set, so this check may not be skipped (.ci/run installs it)");
    }
    eprintln!("skipped: {reason}; KEYHOLE_REQUIRE_ALL=1 makes this a failure");
}

/// Whether Python's `jsonschema` can be imported (the schema test's validator).
pub fn python_jsonschema() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail("Python's jsonschema is not installed (python3 -m pip install jsonschema)");
    }
    ok
}

/// A fake /proc under `home/proc` for `--proc-root`: its `stat`, the
/// processes every real machine has that only mention tools (an editor on
/// notes named after one, a script with `--client aider`, a sync script
/// under a directory named after one), then `procs`: (pid, command line
/// with spaces, environment with `|` between entries, start ticks, cgroup
/// or "").
pub fn fake_proc(home: &Path, procs: &[(u32, &str, &str, u64, &str)]) {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let root = home.join("proc");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1577836800\nprocesses 1\n").unwrap();
    let h = home.display().to_string();
    let notes = format!("vim {h}/notes/aider-tips.md");
    let sync = format!("bash {h}/litellm-notes/sync.sh");
    let noise: [(u32, &str, &str, u64, &str); 3] = [
        (900, &notes, "TERM=xterm", 100, ""),
        (901, "python3 run.py --client aider --model openrouter/x", "LANG=C", 100, ""),
        (902, &sync, "LANG=C", 100, ""),
    ];
    for (pid, cmdline, environ, ticks, cgroup) in noise.iter().chain(procs) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cmdline"), cmdline.replace(' ', "\0") + "\0").unwrap();
        std::fs::write(d.join("environ"), environ.replace('|', "\0")).unwrap();
        std::fs::write(d.join("status"), format!("Name:\tx\nUid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
        std::fs::write(d.join("stat"), format!("{pid} (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 100 10"))
            .unwrap();
        if !cgroup.is_empty() {
            std::fs::write(d.join("cgroup"), format!("0::{cgroup}\n")).unwrap();
        }
    }
}
