//! Bounded resources (issue 16, class 5 "Unbounded resources", and from
//! class 6 "capture --forward with the request target `@host:port/x`"):
//! every tool runs as a child process on hostile inputs — YAML alias bombs
//! and deep nesting, an unclosed quote in a `.env`, deeply nested and very
//! long shell lines, `source` cycles and fans, a hostile /proc, out-of-range
//! durations, a 300 MB JSON line, requests over capture's limits, a flood of
//! idle connections, request targets that name another host — and must
//! answer within seconds with an error record, a note or a 4xx, never a
//! panic, a hang or a stack overflow, with a peak RSS (wait4's ru_maxrss of
//! the child) under 64 MB.

mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::*;

/// The peak RSS every tool stays under on every input here (KiB, as ru_maxrss).
const RSS_LIMIT_KB: i64 = 64 * 1024;
/// A child still running after this long is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// A child process under measure.
struct Running {
    pid: libc::pid_t,
    start: Instant,
    stdin: Option<ChildStdin>,
    out: JoinHandle<Vec<u8>>,
    err: JoinHandle<String>,
    /// stderr, line by line, as it comes.
    err_lines: mpsc::Receiver<String>,
}

/// How a child ended, and what it cost.
struct Measured {
    what: String,
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    rss_kb: i64,
    secs: f64,
    killed: bool,
}

/// Start `c` with its address space capped at 3 GiB (a regression fails
/// instead of taking the machine's memory) and no core dump. The child is
/// reaped by [`finish`] (wait4, for its peak RSS), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn start(mut c: Command, stdin: bool) -> Running {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin {
        c.stdin(Stdio::piped());
    }
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let cap = |r, n| {
                let l = libc::rlimit { rlim_cur: n, rlim_max: n };
                libc::setrlimit(r, &l)
            };
            cap(libc::RLIMIT_AS, 3 << 30);
            cap(libc::RLIMIT_CORE, 0);
            Ok(())
        });
    }
    let mut child = c.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let (tx, err_lines) = mpsc::channel();
    let err = std::thread::spawn(move || {
        let mut all = String::new();
        for l in BufReader::new(stderr).lines() {
            let Ok(l) = l else { break };
            let _ = tx.send(l.clone());
            all.push_str(&l);
            all.push('\n');
        }
        all
    });
    Running { pid, start: Instant::now(), stdin: child.stdin.take(), out, err, err_lines }
}

/// Wait for the child (killing it at `deadline`) and read its peak RSS.
fn finish(mut r: Running, what: &str, deadline: Duration) -> Measured {
    drop(r.stdin.take());
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: our own child's pid, valid out-pointers.
        let rc = unsafe { libc::wait4(r.pid, &mut status, libc::WNOHANG, &mut ru) };
        if rc == r.pid {
            break;
        }
        assert!(rc == 0, "wait4: {}", io::Error::last_os_error());
        if !killed && r.start.elapsed() > deadline {
            // SAFETY: our own child, not yet reaped.
            unsafe { libc::kill(r.pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = r.start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&r.out.join().unwrap()).into_owned();
    let stderr = r.err.join().unwrap();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)))
    };
    let m = Measured { what: what.to_string(), code, signal, stdout, stderr, rss_kb: ru.ru_maxrss, secs, killed };
    eprintln!("{what}: exit {code:?}, peak RSS {:.1} MB, {secs:.2} s", m.rss_kb as f64 / 1024.0);
    m
}

impl Measured {
    /// Ended by itself within `max_secs`, without a panic or a signal,
    /// under the RSS limit, and no canary key in its output.
    fn bounded(&self, max_secs: f64) -> &Self {
        let (what, err) = (&self.what, &self.stderr);
        assert!(!self.killed, "{what}: still running after {} s; stderr:\n{err}", DEADLINE.as_secs());
        assert!(self.signal.is_none(), "{what}: killed by signal {:?}; stderr:\n{err}", self.signal);
        assert!(self.code != Some(101) && !err.contains("panicked"), "{what}: panicked:\n{err}");
        assert!(
            self.rss_kb < RSS_LIMIT_KB,
            "{what}: peak RSS {:.1} MB, over {} MB",
            self.rss_kb as f64 / 1024.0,
            RSS_LIMIT_KB / 1024
        );
        assert!(self.secs < max_secs, "{what}: took {:.1} s, over {max_secs} s", self.secs);
        assert_no_canary(what, &self.stdout);
        assert_no_canary(what, err);
        self
    }

    fn records(&self) -> Vec<Value> {
        self.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// The error records, by their message.
    fn errors(&self) -> Vec<String> {
        self.records()
            .iter()
            .filter(|r| r["type"] == "error")
            .map(|r| format!("line {}: {}", r["input_line"], r["message"].as_str().unwrap_or("")))
            .collect()
    }
}

/// Run `name` on `home` with `args`, stdin empty.
fn run_tool(name: &str, home: &Path, args: &[&str]) -> Measured {
    let mut c = cmd(name, home);
    c.args(args);
    let what = format!("{name} {}", args.join(" "));
    finish(start(c, false), &what, DEADLINE)
}

/// Run `name` with `feed` writing its standard input (errors ignored: the
/// tool may stop reading).
fn run_fed(
    name: &str,
    args: &[&str],
    feed: impl FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static,
) -> Measured {
    let t = TempDir::new("fed");
    let mut c = cmd(name, t.path());
    c.args(args);
    let mut r = start(c, true);
    let mut stdin = r.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = feed(&mut stdin);
    });
    let what = format!("{name} {} (fed)", args.join(" "));
    let m = finish(r, &what, DEADLINE);
    writer.join().unwrap();
    m
}

/// Write `n` bytes of `b` in 1 MiB pieces.
fn fill(w: &mut dyn Write, b: u8, n: usize) -> io::Result<()> {
    let piece = vec![b; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(piece.len());
        w.write_all(&piece[..k])?;
        left -= k;
    }
    Ok(())
}

// ---- YAML ----

/// `levels` lines, each a sequence of nine aliases of the line before (294
/// bytes for 9 levels: 9^9 copies of "lol" when expanded).
fn alias_bomb(levels: usize) -> String {
    let mut t = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let names: Vec<String> = (0..levels).map(|i| format!("a{i}")).collect();
    for i in 1..levels {
        let prev = if i == 1 { "a".to_string() } else { names[i - 1].clone() };
        t.push_str(&format!("{}: &{} [{}]\n", names[i], names[i], vec![format!("*{prev}"); 9].join(",")));
    }
    t
}

#[test]
fn yaml_alias_bombs_and_deep_nesting_are_error_records() {
    let canary = or_canary("YAML");
    for (name, text, says) in [
        ("alias bomb", format!("{}models:\n  - provider: openrouter\n    apiKey: {canary}\n", alias_bomb(9)), "alias"),
        ("deep nesting", format!("{}x\n", "- ".repeat(200_000)), "nested more than"),
    ] {
        let t = TempDir::new("yaml");
        t.write(".continue/config.yaml", &text);
        t.write(".env", format!("OPENROUTER_API_KEY={canary}\n"));
        let h = t.path().to_str().unwrap();
        let m = run_tool("keyhole-find", t.path(), &["--home", h]);
        m.bounded(10.0);
        assert_eq!(m.code, Some(2), "{name}: find exits 2 on an error record");
        let errors = m.errors();
        assert!(errors.iter().any(|e| e.contains("config.yaml") && e.contains(says)), "{name}: {errors:?}");
        assert!(m.records().iter().any(|r| r["type"] == "site" && r["tool"] == "dotenv"), "{name}: other sites stay");
        run_tool("keyhole", t.path(), &["doctor", "--home", h, "--offline", "--json"]).bounded(10.0);
    }
}

// ---- .env and shell startup files ----

#[test]
fn an_unclosed_quote_in_a_dotenv_file_is_read_in_linear_time() {
    let canary = or_canary("DENV");
    // 1 MiB after the quote that never closes: each line rescanned the value so far.
    let text = format!("OPENROUTER_API_KEY=\"{canary}\n{}", "A=b\n".repeat(256 * 1024));
    let t = TempDir::new("dotenv");
    t.write(".env", &text);
    t.write(".pam_environment", &text);
    let h = t.path().to_str().unwrap();
    let m = run_tool("keyhole-find", t.path(), &["--home", h]);
    m.bounded(5.0);
    assert!(m.records().iter().any(|r| r["type"] == "site" && r["tool"] == "dotenv"), "{}", m.stdout);
    let m = run_tool("keyhole-env", t.path(), &["--home", h, "--proc-root", "/nonexistent", "OPENROUTER_API_KEY"]);
    m.bounded(5.0);
    assert!(m.stdout.contains(".pam_environment"), "{}", m.stdout);
}

#[test]
fn deep_and_long_shell_lines_are_read_in_linear_time() {
    let canary = or_canary("BASH");
    // 40,000 unclosed `if`s (each line walked every open block), then one
    // line of 50,000 assignments (each looked for the end of the run) and
    // 50,000 `export` names that were never assigned (each searched all).
    let text = format!(
        "export OPENROUTER_API_KEY={canary}\n{}{}\nexport K=1 {}\n",
        "if [ -f /x ]; then\n".repeat(40_000),
        "A=1 ".repeat(50_000),
        "B ".repeat(50_000)
    );
    let t = TempDir::new("shell");
    t.write(".bashrc", &text);
    let h = t.path().to_str().unwrap();
    run_tool("keyhole-find", t.path(), &["--home", h]).bounded(10.0);
    let m = run_tool("keyhole-env", t.path(), &["--home", h, "--proc-root", "/nonexistent", "OPENROUTER_API_KEY"]);
    m.bounded(10.0);
    assert!(m.stdout.contains("\"line\":1,"), "the definition is found: {}", m.stdout);
}

#[test]
fn source_cycles_and_fans_end() {
    let canary = or_canary("SRCE");
    // A cycle below a guard: .bashrc sources .b, which sources .bashrc (recursion overflowed the stack).
    let cycle = TempDir::new("cycle");
    cycle.write(".bashrc", "export A=1\n[ -z \"$PS1\" ] && return\nsource ~/.b\n");
    cycle.write(".b", format!("\n\n\n\nsource ~/.bashrc\nexport OPENROUTER_API_KEY={canary}\n"));
    // A fan: each of 14 files sources the next twice (2^15 runs in each shell).
    let fan = TempDir::new("fan");
    fan.write(".bashrc", "source ~/f0\nsource ~/f0\n");
    for i in 0..14 {
        fan.write(&format!("f{i}"), format!("source ~/f{}\nsource ~/f{}\n", i + 1, i + 1));
    }
    fan.write("f14", format!("export OPENROUTER_API_KEY={canary}\n"));
    for (t, file) in [(&cycle, ".b"), (&fan, "f14")] {
        let h = t.path().to_str().unwrap();
        let m = run_tool("keyhole-env", t.path(), &["--home", h, "--proc-root", "/nonexistent", "OPENROUTER_API_KEY"]);
        m.bounded(5.0);
        assert_eq!(m.code, Some(0));
        let defs = &m.records()[0]["env"]["definitions"];
        assert!(defs[0]["file"].as_str().is_some_and(|f| f.ends_with(file)), "{defs}");
    }
}

// ---- /proc ----

#[test]
fn a_hostile_proc_is_read_bounded_and_without_blocking() {
    let canary = or_canary("PROC");
    let t = TempDir::new("proc");
    let p = t.path().join("proc");
    // SAFETY: no preconditions.
    let me = unsafe { libc::geteuid() };
    t.write("proc/stat", "cpu 1 2 3\nbtime 1700000000\n");
    let good_stat = |pid: u32| format!("{pid} (code (x)) S 1 {}\n", "0 ".repeat(17) + "12345 0");
    let procs: [(u32, &str); 9] = [
        (100, "a short stat"),
        (101, "a FIFO environ"),
        (102, "/dev/zero as environ"),
        (103, "/dev/zero as cmdline"),
        (104, "a FIFO status"),
        (105, "a 1 GiB environ"),
        (106, "a FIFO stat"),
        (107, "a FIFO cmdline"),
        (108, "the tool, with the variable"),
    ];
    for (pid, _) in procs {
        t.write(&format!("proc/{pid}/cmdline"), "node\0--type=extensionHost\0");
        t.write(&format!("proc/{pid}/status"), format!("Name:\tnode\nUid:\t{me}\t{me}\t{me}\t{me}\n"));
        t.write(&format!("proc/{pid}/stat"), good_stat(pid));
        t.write(&format!("proc/{pid}/environ"), "HOME=/h\0");
    }
    let fifo = |rel: &str| {
        let f = p.join(rel);
        std::fs::remove_file(&f).unwrap();
        let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    let zero = |rel: &str| {
        let f = p.join(rel);
        std::fs::remove_file(&f).unwrap();
        std::os::unix::fs::symlink("/dev/zero", f).unwrap();
    };
    t.write("proc/100/stat", "100 (x)");
    fifo("101/environ");
    zero("102/environ");
    zero("103/cmdline");
    fifo("104/status");
    std::fs::File::create(p.join("105/environ")).unwrap().set_len(1 << 30).unwrap();
    fifo("106/stat");
    fifo("107/cmdline");
    t.write("proc/108/environ", format!("HOME=/h\0OPENROUTER_API_KEY={canary}\0"));
    let h = t.path().to_str().unwrap();
    let m = run_tool("keyhole-env", t.path(), &["--home", h, "--proc-root", p.to_str().unwrap(), "OPENROUTER_API_KEY"]);
    m.bounded(5.0);
    let procs = &m.records()[0]["env"]["processes"];
    let with_var: Vec<_> = procs.as_array().unwrap().iter().filter(|p| p["has_var"] == true).collect();
    assert_eq!(with_var.len(), 1, "{procs}");
    assert_eq!(with_var[0]["pid"], 108);
    assert!(m.stderr.contains("FIFO") && m.stderr.contains("device") && m.stderr.contains("over"), "{}", m.stderr);
}

// ---- durations ----

#[test]
fn durations_out_of_range_are_usage_errors_that_say_the_range() {
    let t = TempDir::new("durations");
    let h = t.path().to_str().unwrap();
    let url = "https://127.0.0.1:9/x";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("keyhole-probe", vec!["--timeout", "inf", url, "--key-env", "K"]),
        ("keyhole-probe", vec!["--timeout", "1e30", url, "--key-env", "K"]),
        ("keyhole-probe", vec!["--timeout", "nan", url, "--key-env", "K"]),
        ("keyhole-probe", vec!["--timeout", "0", url, "--key-env", "K"]),
        ("keyhole", vec!["doctor", "--home", h, "--offline", "--timeout", "1e30"]),
        ("keyhole-capture", vec!["--listen", "127.0.0.1:0", "--duration", "1e30"]),
        ("keyhole-capture", vec!["--listen", "127.0.0.1:0", "--duration", "inf"]),
        ("keyhole-capture", vec!["--listen", "127.0.0.1:0", "--timeout", "1e30"]),
    ];
    for (tool, args) in cases {
        let m = run_tool(tool, t.path(), &args);
        m.bounded(5.0);
        assert_eq!(m.code, Some(2), "{}: {}", m.what, m.stderr);
        assert!(m.stderr.contains("seconds greater than 0 and at most"), "{}: {}", m.what, m.stderr);
    }
}

// ---- JSON lines ----

#[test]
fn json_lines_over_the_limits_are_error_records() {
    for (tool, args) in [
        ("keyhole-env", vec!["--proc-root", "/nonexistent"]),
        ("keyhole-probe", vec!["--offline"]),
        ("keyhole-classify", vec![]),
        ("keyhole-report", vec!["--format", "json"]),
    ] {
        let m = run_fed(tool, &args, |w| {
            // A 300 MB line, a line of 150,000 values, then a record.
            w.write_all(b"{\"type\":\"mine\",\"pad\":\"")?;
            fill(w, b'a', 300 << 20)?;
            w.write_all(b"\"}\n{\"type\":\"mine\",\"pad\":[")?;
            w.write_all("0,".repeat(150_000).as_bytes())?;
            w.write_all(b"0]}\n{\"type\":\"x\",\"v\":1}\n")
        });
        m.bounded(15.0);
        assert_eq!(m.code, Some(2), "{}: {}", m.what, m.stderr);
        if tool == "keyhole-report" {
            continue;
        }
        let errors = m.errors();
        assert!(errors.iter().any(|e| e.starts_with("line 1: ") && e.contains("longer than 8 MiB")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("line 2: ") && e.contains("JSON values")), "{errors:?}");
        assert!(m.stdout.lines().last().is_some_and(|l| l.contains("\"type\":\"x\"")), "{}", m.stdout);
    }
}

// ---- keyhole-capture ----

fn start_capture(args: &[&str]) -> (Running, u16) {
    let t = std::env::temp_dir();
    let mut c = cmd("keyhole-capture", &t);
    c.args(["--listen", "127.0.0.1:0"]).args(args);
    let r = start(c, false);
    let line = r.err_lines.recv_timeout(Duration::from_secs(10)).expect("capture says where it listens");
    let port = capture_port(&line);
    (r, port)
}

/// What writes a request.
type Sender = Box<dyn FnOnce(&mut TcpStream) -> io::Result<()> + Send>;

/// Send a request written by `send` (its write errors ignored: the server
/// may stop reading) and read the answer's status.
fn exchange(port: u16, send: impl FnOnce(&mut TcpStream) -> io::Result<()> + Send + 'static) -> Option<u16> {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = send(&mut w);
    });
    let mut answer = Vec::new();
    let _ = (&s).take(64 * 1024).read_to_end(&mut answer);
    let _ = s.shutdown(Shutdown::Both);
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ").and_then(|r| r.get(..3)).and_then(|c| c.parse().ok())
}

#[test]
fn capture_refuses_requests_over_its_limits() {
    let canary = or_canary("CAPT");
    let (cap, port) = start_capture(&["--count", "1", "--reply", "ok"]);
    let status = |send: Sender| exchange(port, send);
    // One header line of 100 MiB.
    let header_line = status(Box::new(|w| {
        w.write_all(b"GET /api/v1/models HTTP/1.1\r\nX-Big: ")?;
        fill(w, b'a', 100 << 20)?;
        w.write_all(b"\r\n\r\n")
    }));
    assert_eq!(header_line, Some(431));
    let request_line = status(Box::new(|w| {
        w.write_all(b"GET /")?;
        fill(w, b'a', 1 << 20)?;
        w.write_all(b" HTTP/1.1\r\n\r\n")
    }));
    assert_eq!(request_line, Some(414));
    let many =
        status(Box::new(|w| w.write_all(format!("GET / HTTP/1.1\r\n{}\r\n", "X: 1\r\n".repeat(500)).as_bytes())));
    assert_eq!(many, Some(431));
    let declared = status(Box::new(|w| w.write_all(b"POST / HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n")));
    assert_eq!(declared, Some(413));
    // A chunked body of 400 MiB.
    let chunked = status(Box::new(|w| {
        w.write_all(b"POST /api/v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")?;
        for _ in 0..400 {
            w.write_all(b"100000\r\n")?;
            fill(w, b'a', 1 << 20)?;
            w.write_all(b"\r\n")?;
        }
        w.write_all(b"0\r\n\r\n")
    }));
    assert_eq!(chunked, Some(413));
    // A body within the limit that is 4 million JSON values: answered, not built.
    let key = canary.clone();
    let served = status(Box::new(move |w| {
        let mut body = b"{\"model\":[".to_vec();
        body.extend("0,".repeat((4 << 20) - 100).as_bytes());
        body.extend(b"0],\"stream\":true}");
        let head = format!(
            "POST /api/v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        w.write_all(head.as_bytes())?;
        w.write_all(&body)
    }));
    assert_eq!(served, Some(200));
    let m = finish(cap, "keyhole-capture (requests over its limits)", DEADLINE);
    m.bounded(DEADLINE.as_secs_f64());
    assert_eq!(m.records().len(), 1, "refused requests are not recorded: {}", m.stdout);
    for s in ["431", "414", "413"] {
        assert!(m.stderr.contains(&format!("refused with {s}")), "{}", m.stderr);
    }
}

fn threads_of(pid: libc::pid_t) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).unwrap()
}

#[test]
fn capture_serves_connections_from_a_bounded_pool() {
    let (cap, port) = start_capture(&["--count", "1"]);
    // 200 connections that send nothing.
    let idle: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(800));
    let threads = threads_of(cap.pid);
    // Beyond the workers and the queue, a connection is answered 503 at once.
    let last = idle.last().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = last.take(4096).read_to_string(&mut answer);
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    let served = exchange(port, |w| w.write_all(b"GET /api/v1/key HTTP/1.1\r\nHost: x\r\n\r\n"));
    let m = finish(cap, "keyhole-capture (200 idle connections)", DEADLINE);
    m.bounded(DEADLINE.as_secs_f64());
    assert!(threads <= 16 + 4, "{threads} threads for 200 connections");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert_eq!(served, Some(401), "a request after the flood is served");
    assert_eq!(m.records().len(), 1);
}

/// An upstream that answers `{}` to everything and remembers each request line.
fn upstream() -> (u16, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
            }
            let _ = tx.send(first.trim_end().to_string());
            let _ = (&s).write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    (port, rx)
}

#[test]
fn capture_forward_keeps_the_upstream_host() {
    let (up, seen) = upstream();
    // The other host a request target names: it must never be connected to.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let o = other.local_addr().unwrap().port();
    let (cap, port) = start_capture(&["--count", "2", "--forward", &format!("http://127.0.0.1:{up}")]);
    let get = |target: String| {
        exchange(port, move |w| w.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()))
    };
    assert_eq!(get(format!("@127.0.0.1:{o}/x")), Some(400), "a target that is not a path is not forwarded");
    assert_eq!(get(format!("/@127.0.0.1:{o}/y")), Some(200));
    assert_eq!(get(format!("//127.0.0.1:{o}/z?q=1")), Some(200));
    let m = finish(cap, "keyhole-capture --forward", DEADLINE);
    m.bounded(DEADLINE.as_secs_f64());
    let lines: Vec<String> = seen.try_iter().collect();
    assert_eq!(
        lines,
        [format!("GET /@127.0.0.1:{o}/y HTTP/1.1"), format!("GET //127.0.0.1:{o}/z?q=1 HTTP/1.1")],
        "the upstream got the paths, as sent"
    );
    match other.accept() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("the host named in the request target was connected to: {other:?}"),
    }
}
