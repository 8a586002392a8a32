//! A newcomer's first ten minutes (issue 17): `-` for standard input
//! wherever a file is taken, missing files and homes said plainly, standalone
//! probe records through classify and report, the parsers' traps (a proxy's
//! `Connection established`, a timestamp's milliseconds, template text sent
//! as a key), a stream tool on a terminal saying what it expects, the
//! Markdown report, and the report when there is no network.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// A home with a second tool configured correctly, a template and Debian's
/// .bashrc: the noise every test home carries.
fn noisy_home(t: &TempDir) {
    t.write(
        ".bashrc",
        "# ~/.bashrc: executed by bash(1) for non-login shells.\n\
         # If not running interactively, don't do anything\n\
         case $- in\n    *i*) ;;\n      *) return;;\nesac\n\
         HISTCONTROL=ignoreboth\nshopt -s histappend\nalias ll='ls -alF'\n",
    );
    t.write("code/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\n");
    t.write("notes/aider-tips.md", "aider --model openrouter/x\n");
}

/// Run `name` with `args`, `input` on stdin: status, stdout, stderr (no panic, no canary).
fn run_with(name: &str, home: &Path, args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut c = cmd(name, home);
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    w.join().unwrap();
    let (o, e) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(!e.contains("panicked"), "{name}: {e}");
    assert_no_canary(&format!("{name} stdout"), &o);
    assert_no_canary(&format!("{name} stderr"), &e);
    (out.status.code().unwrap_or(-1), o, e)
}

// ---------------------------------------------------------------- `-` and missing files

#[test]
fn dash_is_standard_input_for_every_file_flag() {
    let t = TempDir::new("nc-dash");
    noisy_home(&t);
    let h = t.path();
    let good = or_canary("GOOD");

    // classify --log -
    let log = "2026-11-23 10:01:05,456 INFO start\n2026-11-23 10:01:06,001 ERROR litellm.AuthenticationError: OpenrouterException - {\"error\": {\"message\": \"Missing Authentication header\", \"code\": 401}}\n";
    let (st, out, err) = run_with("keyhole-classify", h, &["--log", "-"], log.as_bytes());
    let recs = records(&out);
    assert_eq!(st, 1, "{err}");
    assert_eq!(recs.len(), 1, "{out}");
    assert_eq!((recs[0]["source"]["file"].as_str(), recs[0]["source"]["line"].as_u64()), (Some("-"), Some(2)));

    // keyhole-env --env-file -
    let env = format!("LANG=C.UTF-8\nOPENROUTER_API_KEY={good}\n");
    let (st, out, err) = run_with(
        "keyhole-env",
        h,
        &["--home", &h.display().to_string(), "--proc-root", "/nonexistent", "--env-file", "-", "OPENROUTER_API_KEY"],
        env.as_bytes(),
    );
    assert_eq!(st, 0, "{err}");
    assert_eq!(records(&out)[0]["env"]["current"]["fp"]["last4"], "GOOD", "{out}");
    // Standard input cannot carry both: said, not read as no records.
    let (st, out, err) = run_with(
        "keyhole-env",
        h,
        &["--home", &h.display().to_string(), "--proc-root", "/nonexistent", "--env-file", "-"],
        env.as_bytes(),
    );
    assert_eq!((st, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("standard input was read for a `-` file argument"), "{err}");

    // keyhole-probe URL --key-file -
    let imi = Imitation::start(&good, None);
    let url = format!("{}/api/v1/key", imi.base());
    let (st, out, err) = run_with("keyhole-probe", h, &[&url, "--key-file", "-"], good.as_bytes());
    assert_eq!(st, 0, "{err}");
    assert_eq!(records(&out)[0]["probe"]["response"]["status"], 200, "{out}");

    // keyhole-report - and keyhole-report FILE
    let site = r#"{"type":"site","v":1,"id":"continue:/h/.continue/config.yaml#/models/0","host":"h","tool":"continue","source":{"file":"/h/.continue/config.yaml","line":7},"provider":"openrouter","model":"m","base_url":"https://openrouter.ai/api/v1","base_url_from":"default","auth":{"header":"authorization","scheme":"bearer"},"key":{"from":"none"},"diagnoses":[{"code":"key.none","severity":"error","summary":"no key","evidence":[],"fix":[]}]}"#;
    let (st, out, err) = run_with("keyhole-report", h, &["--color", "never", "-"], format!("{site}\n").as_bytes());
    assert_eq!(st, 1, "{err}");
    assert!(out.starts_with("keyhole: 1 checked — 1 failing"), "{out}");
    let f = t.write("records.jsonl", format!("{site}\n"));
    let (st, from_file, err) = run_with("keyhole-report", h, &["--color", "never", &f.display().to_string()], b"");
    assert_eq!((st, from_file.as_str()), (1, out.as_str()), "{err}");
}

#[test]
fn a_missing_file_is_no_such_file() {
    let t = TempDir::new("nc-missing");
    noisy_home(&t);
    let h = t.path().display().to_string();
    let sites = b"";
    for (name, args) in [
        ("keyhole-env", vec!["--home", &h, "--proc-root", "/nonexistent", "--env-file", "/nonexistent/env", "X"]),
        ("keyhole-probe", vec!["http://127.0.0.1:9/key", "--key-file", "/nonexistent/key"]),
        ("keyhole-probe", vec!["--home", &h, "--cacert", "/nonexistent/ca.pem"]),
        ("keyhole-classify", vec!["--rules", "/nonexistent/rules.toml"]),
        ("keyhole-classify", vec!["--http", "/nonexistent/answer.txt"]),
        ("keyhole-classify", vec!["--log", "/nonexistent/proxy.log"]),
        ("keyhole-report", vec!["/nonexistent/records.jsonl"]),
    ] {
        let (st, _, err) = run_with(name, t.path(), &args, sites);
        let path = args.iter().find(|a| a.starts_with("/nonexistent/")).unwrap();
        assert_eq!(st, 2, "{name} {args:?}: {err}");
        assert!(err.contains(&format!("no such file: {path}")), "{name} {args:?}: {err}");
        assert!(!err.contains("vanished") && !err.contains("os error"), "{name} {args:?}: {err}");
    }
}

#[test]
fn a_missing_home_or_path_is_a_usage_error() {
    let t = TempDir::new("nc-home");
    noisy_home(&t);
    let h = t.path().display().to_string();
    let (st, out, err) = run_with("keyhole-find", t.path(), &["--home", "/nonexistent/home"], b"");
    assert_eq!(st, 2, "{out}{err}");
    assert!(err.contains("no such directory: /nonexistent/home") && err.contains("--home"), "{err}");
    assert!(!err.contains("no site found") && out.is_empty(), "{out}{err}");
    let (st, out, err) = run_with("keyhole-find", t.path(), &["--home", &h, "/nonexistent/project"], b"");
    assert_eq!(st, 2, "{out}{err}");
    assert!(err.contains("no such file or directory: /nonexistent/project"), "{err}");
    assert!(!err.contains("vanished") && !out.contains("vanished"), "{out}{err}");
}

// ---------------------------------------------------------------- standalone probe records

#[test]
fn standalone_probe_records_flow_through_classify_and_report() {
    let t = TempDir::new("nc-alone");
    noisy_home(&t);
    let good = or_canary("GOOD");
    let bad = or_canary("BADK");
    let imi = Imitation::start(&good, None);
    let url = format!("{}/api/v1/key", imi.base());
    let pipeline = |key: &str| {
        let c = format!(
            "{} {url} --key-env OPENROUTER_API_KEY | {} | {} --color never",
            bin("keyhole-probe").display(),
            bin("keyhole-classify").display(),
            bin("keyhole-report").display()
        );
        let o = Command::new("bash")
            .args(["-o", "pipefail", "-c", &c])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", t.path())
            .env("OPENROUTER_API_KEY", key)
            .output()
            .unwrap();
        let (out, err) = (String::from_utf8(o.stdout).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned());
        assert_no_canary("report", &out);
        assert_no_canary("stderr", &err);
        (o.status.code(), out, err)
    };
    let (st, out, err) = pipeline(&bad);
    assert!(out.starts_with("keyhole: 1 checked — 1 failing"), "{out}{err}");
    assert!(out.contains(&url), "the subject names the URL probed: {out}");
    assert!(out.contains("auth."), "the API's refusal is diagnosed: {out}");
    assert_eq!(st, Some(1), "{out}{err}");
    let (st, out, err) = pipeline(&good);
    assert!(out.starts_with("keyhole: 1 checked — 0 failing, 1 ok"), "{out}{err}");
    assert_eq!(st, Some(0), "{out}{err}");
}

// ---------------------------------------------------------------- parsers

#[test]
fn http_skips_a_proxy_connection_established_preamble() {
    let t = TempDir::new("nc-proxy");
    let raw = "HTTP/1.1 200 Connection established\r\nProxy-agent: Squid/6.6\r\n\r\nHTTP/2 401 \r\ncontent-type: application/json\r\n\r\n{\"error\":{\"message\":\"User not found.\",\"code\":401}}";
    let (st, out, err) = run_with("keyhole-classify", t.path(), &["--http"], raw.as_bytes());
    let recs = records(&out);
    assert_eq!(recs.len(), 1, "only the real answer: {out}");
    assert_eq!(recs[0]["status"], 401, "{out}");
    assert_eq!(recs[0]["source"]["line"], 4, "{out}");
    assert_eq!(st, 1, "{err}");
}

#[test]
fn log_timestamps_are_not_statuses() {
    let t = TempDir::new("nc-stamp");
    let log = "2026-11-23 10:01:05,456 ERROR Missing Authentication header\n\
               2026-11-23T10:01:07.503Z ERROR Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}\n";
    let (_, out, err) = run_with("keyhole-classify", t.path(), &["--log", "-"], log.as_bytes());
    let recs = records(&out);
    assert_eq!(recs.len(), 2, "{out}{err}");
    assert_eq!(recs[0]["status"], Value::Null, "a timestamp's milliseconds are no status: {}", recs[0]);
    assert_eq!(recs[1]["status"], 401, "{}", recs[1]);
}

#[test]
fn capture_reply_ok_does_not_take_template_text_for_a_key() {
    let t = TempDir::new("nc-capture");
    let mut c = cmd("keyhole-capture", t.path());
    c.args(["--listen", "127.0.0.1:0", "--reply", "ok", "--count", "4"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port = capture_port(&line);
    let good = or_canary("GOOD");
    let body = r#"{"model":"openai/gpt-5","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#;
    let ask = |key: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "POST /api/v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    };
    for template in ["your-api-key-here", "<YOUR_KEY>", "sk-..."] {
        let a = ask(template);
        assert!(a.starts_with("HTTP/1.1 401"), "{template} is no key: {a}");
    }
    assert!(ask(&good).starts_with("HTTP/1.1 200"), "a well-formed key gets the minimal answer");
    let out = child.wait_with_output().unwrap();
    let captured = String::from_utf8(out.stdout).unwrap();
    assert_no_canary("capture", &captured);
    let recs = records(&captured);
    assert_eq!(recs.len(), 4, "{captured}");
    for r in &recs[..3] {
        assert!(r["diagnoses"][0]["severity"] == "error", "{r}");
    }
}

// ---------------------------------------------------------------- a terminal on stdin

/// Run `command` with a pseudo-terminal as its stdin (util-linux `script`),
/// closed at once: what it printed on the terminal.
fn on_a_terminal(command: &str) -> Option<String> {
    let o = Command::new("timeout")
        .args(["20", "script", "-qec", command, "/dev/null"])
        .stdin(Stdio::null())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "dumb")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&o.stdout).replace('\r', ""))
}

#[test]
fn a_stream_tool_on_a_terminal_says_what_it_expects() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux script(1) is not installed");
        return;
    }
    let t = TempDir::new("nc-tty");
    let h = t.path().display().to_string();
    for (name, args, expects) in [
        ("keyhole-env", vec!["--home", &h, "--proc-root", "/nonexistent"], "keyhole-find"),
        ("keyhole-probe", vec!["--home", &h, "--offline"], "keyhole-find"),
        ("keyhole-classify", vec![], "keyhole-probe"),
        ("keyhole-report", vec!["--color", "never"], "keyhole-classify"),
        ("keyhole-fix", vec!["--home", &h], "keyhole-classify"),
        ("keyhole-classify", vec!["--http"], "curl -si"),
        ("keyhole-classify", vec!["--log", "-"], "log"),
    ] {
        let command = format!("{} {}; echo rc=$?", bin(name).display(), args.join(" "));
        let Some(words) = on_a_terminal(&command) else {
            eprintln!("skipped: script(1) could not run");
            return;
        };
        let first = words.lines().next().unwrap_or("");
        assert!(first.starts_with(&format!("{name}: reading ")), "{name} {args:?}: {words}");
        assert!(first.contains("(a terminal)") && first.contains(expects), "{name} {args:?}: {words}");
        assert_eq!(words.matches("(a terminal)").count(), 1, "{words}");
    }
    // Piped input: nothing said.
    let (_, _, err) = run_with("keyhole-classify", t.path(), &[], b"");
    assert!(!err.contains("terminal"), "{err}");
}

// ---------------------------------------------------------------- the Markdown report

#[test]
fn the_markdown_report_escapes_html_keeps_code_spans_and_never_says_null() {
    let t = TempDir::new("nc-md");
    let home = t.path().display().to_string();
    let file = format!("{home}/code/we`ird``dir/.continue/config.yaml");
    let site = |id: &str, model: &str, base: &str, from: &str, probe: &str| {
        serde_json::json!({
            "type": "site", "v": 1, "id": id, "host": "h", "tool": "continue",
            "source": {"file": file, "line": 7}, "provider": "openrouter", "model": model,
            "base_url": base, "base_url_from": from,
            "auth": {"header": "authorization", "scheme": "bearer"}, "key": {"from": "env", "var": "OPENROUTER_API_KEY"},
            "probe": serde_json::from_str::<Value>(probe).unwrap(),
            "diagnoses": [{"code": "net.connect", "severity": "error", "summary": "no connection <b>here</b> & there", "evidence": [], "fix": []}]
        })
        .to_string()
    };
    let no_answer = r#"{"proxy":null,"redirects":[],"response":null,"elapsed_ms":3,"request":{"method":"GET","url":"http://127.0.0.1:9/api/v1/key","auth_header":"authorization"},"error":{"kind":"connect","message":"connection refused"}}"#;
    let input = format!(
        "{}\n{}\n",
        site("a", "<b>bold</b>", "https://openrouter.ai/api/v1", "default", no_answer),
        site("b", "m", "http://127.0.0.1:9/api/v1", "default", no_answer)
    );
    let (st, md, err) =
        run_with("keyhole-report", t.path(), &["--format", "markdown", "--home", &home], input.as_bytes());
    assert_eq!(st, 1, "{err}");
    assert!(!md.contains("<b>"), "HTML is escaped: {md}");
    assert!(md.contains("&lt;b&gt;bold&lt;/b&gt;") && md.contains("&amp; there"), "{md}");
    assert!(md.contains("```~/code/we`ird``dir/.continue/config.yaml:7```"), "code spans keep backticks: {md}");
    assert!(!md.contains("| null") && !md.contains("null |"), "no cell reads null: {md}");
    assert!(md.contains("| API answer | no answer: connection refused |"), "{md}");
    assert!(md.contains("| base URL | https://openrouter.ai/api/v1 (default) |"), "{md}");
    assert!(md.contains("| base URL | http://127.0.0.1:9/api/v1 (--provider-url) |"), "{md}");
}

// ---------------------------------------------------------------- no network

/// A home with two sites whose keys are literal canaries going to catalogued APIs.
fn offline_home(t: &TempDir) {
    noisy_home(t);
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n  - name: Sonnet\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiKey: {}\n  - name: Claude\n    provider: anthropic\n    model: claude-sonnet-4-5\n    apiKey: sk-ant-api03-{}NO01\n",
            or_canary("NONE"),
            "c".repeat(91)
        ),
    );
}

/// The pipeline on `home`, in a network namespace without network.
fn unshared_report(home: &Path, format: &str) -> Option<(i32, String)> {
    let h = home.display();
    let c = format!(
        "{} --home {h} -q | {} --home {h} -q --env-file /dev/null --proc-root /nonexistent | {} --home {h} --env-file /dev/null --proc-root /nonexistent --timeout 5 | {} | {} --color never --format {format}",
        bin("keyhole-find").display(),
        bin("keyhole-env").display(),
        bin("keyhole-probe").display(),
        bin("keyhole-classify").display(),
        bin("keyhole-report").display()
    );
    let o = Command::new("unshare")
        .args(["-n", "bash", "-c", &c])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&o.stderr);
    if err.contains("unshare failed") || err.contains("Operation not permitted") {
        return None;
    }
    let out = String::from_utf8(o.stdout).unwrap();
    assert_no_canary("report", &out);
    assert_no_canary("stderr", &err);
    Some((o.status.code().unwrap_or(-1), out))
}

#[test]
fn without_network_the_report_says_so_once() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: a network namespace needs root");
        return;
    }
    let t = TempDir::new("nc-offline");
    offline_home(&t);
    for format in ["text", "markdown"] {
        let Some((st, out)) = unshared_report(t.path(), format) else {
            eprintln!("skipped: unshare -n is not permitted here");
            return;
        };
        assert_eq!(out.matches("no network: the probes could not reach any API").count(), 1, "{out}");
        assert!(out.contains("--offline"), "{out}");
        assert!(!out.contains("host and port"), "the per-site lines do not repeat it: {out}");
        assert_eq!(st, 1, "{out}");
    }
    // One site alone, to a catalogued API: no mistyped host, the network is down.
    t.write(
        ".continue/config.yaml",
        format!("models:\n  - provider: openrouter\n    model: openai/gpt-5\n    apiKey: {}\n", or_canary("ONE1")),
    );
    let (_, out) = unshared_report(t.path(), "text").unwrap();
    assert_eq!(out.matches("no network: the probes could not reach any API").count(), 1, "{out}");
}

#[test]
fn quiet_never_exits_0_when_something_could_not_be_checked() {
    let t = TempDir::new("nc-quiet");
    offline_home(&t);
    let h = t.path().display().to_string();
    let args = ["doctor", "--home", &h, "--env-file", "/dev/null", "--proc-root", "/nonexistent", "--offline"];
    let (st, out, err) = run_with("keyhole", t.path(), &[&args[..], &["--quiet"]].concat(), b"");
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    assert_eq!(st, 1, "nothing was checked: --quiet says so by its status");
}
