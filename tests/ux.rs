//! keyhole-report, keyhole-capture and keyhole doctor, run as processes:
//! report snapshots, capture of real HTTP requests, doctor on a terminal
//! (tmux), and every record kind checked against docs/records.schema.json.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// A machine with several tools and causes: Continue (placeholder, no key,
/// secrets), LiteLLM (placeholder, unset), a .env with an Anthropic key.
fn machine(t: &TempDir) {
    t.write(".continue/config.yaml", "models:\n  - name: a\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.6\n    apiKey: \"${env:OPENROUTER_API_KEY}\"\n  - name: b\n    provider: openrouter\n    model: openai/gpt-5\n");
    t.write("proxy/config.yaml", "model_list:\n  - model_name: m\n    litellm_params:\n      model: openrouter/x/y\n      api_key: os.environ/OPENROUTER_API_KEY\n");
    t.write("app/.env", format!("OPENROUTER_API_KEY=sk-ant-api03-{}ANT1\n", "c".repeat(40)));
    t.write("env", "PATH=/usr/bin\n");
}

fn doctor(t: &TempDir, args: &[&str]) -> Run {
    let mut c = cmd("keyhole", t.path());
    c.arg("doctor")
        .arg("--home")
        .arg(t.path())
        .arg("--env-file")
        .arg(t.path().join("env"))
        .arg("--proc-root")
        .arg(t.path().join("noproc"));
    c.args(args);
    let r = run_raw(c);
    assert_no_canary("doctor stdout", &r.0);
    assert_no_canary("doctor stderr", &r.1);
    Run { status: r.2, stdout: r.0, stderr: r.1, records: vec![] }
}

fn run_raw(mut c: Command) -> (String, String, i32) {
    let o = c.output().unwrap();
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

/// `KEYHOLE_BLESS=1 cargo test` rewrites a snapshot after an intended change (review the diff).
fn bless(name: &str, content: &str) {
    if std::env::var_os("KEYHOLE_BLESS").is_some() {
        std::fs::write(fixtures().join("snapshots").join(name), content).unwrap();
    }
}

fn normalize(s: &str, t: &TempDir) -> String {
    s.replace(&t.path().display().to_string(), "<home>")
}

#[test]
fn report_snapshots_text_and_markdown() {
    let t = TempDir::new("report");
    machine(&t);
    let json = doctor(&t, &["--offline", "--json"]);
    assert_eq!(json.status, 1, "error diagnoses: exit 1");
    // The report of the records equals doctor's own text.
    let mut rep = cmd("keyhole-report", t.path());
    rep.arg("--home").arg(t.path()).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = rep.spawn().unwrap();
    child.stdin.take().unwrap().write_all(json.stdout.as_bytes()).unwrap();
    let text = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let direct = doctor(&t, &["--offline"]);
    assert_eq!(text, direct.stdout, "keyhole-report and keyhole doctor render the same records alike");
    assert!(!text.contains('\x1b'), "no colour on a pipe");
    let snap = normalize(&text, &t);
    bless("report.txt", &snap);
    let want = std::fs::read_to_string(fixtures().join("snapshots/report.txt")).unwrap();
    assert_eq!(snap, want, "text report changed; if on purpose, update tests/fixtures/snapshots/report.txt");

    let md = doctor(&t, &["--offline", "--format", "markdown"]);
    assert!(!md.stdout.contains(&t.path().display().to_string()), "the home directory is written as ~");
    let roots: Vec<String> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|r| r["diagnoses"][0]["code"].as_str().map(str::to_string))
        .collect();
    assert!(roots.len() >= 4);
    for code in &roots {
        assert!(md.stdout.contains(&format!("**Root cause**: `{code}`")), "markdown names root cause {code}");
    }
    // The facts table is machine-specific; the rest is a snapshot.
    let body: String = md
        .stdout
        .lines()
        .filter(|l| !l.starts_with("| OS |") && !l.starts_with("| kernel |") && !l.starts_with("| shell |"))
        .map(|l| format!("{l}\n"))
        .collect();
    bless("report.md", &body);
    let want = std::fs::read_to_string(fixtures().join("snapshots/report.md")).unwrap();
    assert_eq!(body, want, "markdown report changed; if on purpose, update tests/fixtures/snapshots/report.md");
}

fn start_capture(args: &[&str]) -> (Child, u16) {
    let t = std::env::temp_dir();
    let mut c = cmd("keyhole-capture", &t);
    c.args(["--listen", "127.0.0.1:0"]).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port = capture_port(&line);
    (child, port)
}

fn curl(args: &[&str]) -> (String, String) {
    let o = Command::new("curl").args(["-s", "-w", "\n%{http_code}", "--max-time", "10"]).args(args).output().unwrap();
    let s = String::from_utf8(o.stdout).unwrap();
    let (body, code) = s.rsplit_once('\n').unwrap();
    (body.to_string(), code.to_string())
}

fn capture_records(child: Child) -> (Vec<Value>, i32) {
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_no_canary("capture stdout", &out);
    (out.lines().map(|l| serde_json::from_str(l).unwrap()).collect(), o.status.code().unwrap_or(-1))
}

#[test]
fn capture_records_what_arrived_and_answers_like_the_provider() {
    let key = or_canary("CAP1");
    let (child, port) = start_capture(&["--count", "5", "--reply", "ok"]);
    let base = format!("http://127.0.0.1:{port}/api/v1/chat/completions");
    let body = r#"{"model":"x/y","messages":[{"role":"user","content":"hi"}]}"#;
    let (b1, c1) = curl(&["-X", "POST", &base, "-d", body]);
    assert_eq!(c1, "401");
    assert!(b1.contains("No cookie auth credentials found"));
    let (b2, c2) = curl(&["-X", "POST", &base, "-H", "Authorization: Bearer ${env:OPENROUTER_API_KEY}", "-d", body]);
    assert_eq!((c2.as_str(), b2.contains("Missing Authentication header")), ("401", true));
    let (b3, c3) = curl(&["-X", "POST", &base, "-H", &format!("Authorization: Bearer {key}"), "-d", body]);
    assert_eq!(c3, "200");
    assert!(b3.contains("chat.completion"));
    let stream = r#"{"model":"x/y","stream":true,"messages":[]}"#;
    let (b4, _) = curl(&["-X", "POST", &base, "-H", &format!("Authorization: Bearer {key}"), "-d", stream]);
    assert!(b4.contains("data: [DONE]"), "streaming answer: {b4}");
    let (_, c5) =
        curl(&["-X", "POST", &base, "-H", &format!("x-api-key: {key}"), "-H", "Authorization: Bearer", "-d", body]);
    assert_eq!(c5, "401", "an empty Bearer is not a key");
    let (recs, status) = capture_records(child);
    assert_eq!(recs.len(), 5, "--count 5 ends the capture");
    assert_eq!(status, 1, "what arrived had errors");
    assert!(recs.iter().all(|r| r["type"] == "capture" && r["path"] == "/api/v1/chat/completions"));
    let codes: Vec<&str> = recs.iter().map(|r| r["diagnoses"][0]["code"].as_str().unwrap()).collect();
    assert!(
        codes.contains(&"auth.missing")
            && codes.contains(&"key.placeholder")
            && codes.contains(&"ok")
            && codes.contains(&"key.none"),
        "{codes:?}"
    );
    let ph = recs.iter().find(|r| r["auth"]["placeholder"].is_string()).unwrap();
    assert_eq!(ph["auth"]["placeholder"], "${env:OPENROUTER_API_KEY}");
    let good =
        recs.iter().find(|r| r["auth"]["fp"]["last4"] == "CAP1" && r["auth"]["header"] == "authorization").unwrap();
    assert_eq!(good["auth"]["fp"]["len"], 73);
    assert!(good["headers"].as_array().unwrap().iter().any(|h| h == "authorization"));
    assert!(good["user_agent"].as_str().unwrap().starts_with("curl/"));
}

#[test]
fn capture_forward_finds_the_hop_that_drops_the_header() {
    let key = or_canary("GOOD");
    let imi = Imitation::start(&key, None);
    // client → capture A → (a hop that drops Authorization: curl to capture B without it) — here: A forwards to the imitation.
    let (child, port) = start_capture(&["--count", "1", "--forward", &imi.base()]);
    let (body, code) =
        curl(&[&format!("http://127.0.0.1:{port}/api/v1/key"), "-H", &format!("Authorization: Bearer {key}")]);
    assert_eq!(code, "200", "{body}");
    let (recs, _) = capture_records(child);
    assert_eq!(recs[0]["upstream"]["status"], 200);
    assert_eq!(recs[0]["auth"]["fp"]["last4"], "GOOD");
    assert_eq!(imi.requests()[0].header("authorization").map(|h| h.len()), Some(80), "the key went on to the upstream");
    // A dead upstream: 502 and a record, no hang.
    let (child, port) = start_capture(&["--count", "1", "--forward", "http://127.0.0.1:9", "--timeout", "2"]);
    let (_, code) = curl(&[&format!("http://127.0.0.1:{port}/api/v1/key")]);
    assert_eq!(code, "502");
    let (recs, _) = capture_records(child);
    assert!(recs[0]["upstream"]["error"].is_string());
}

#[test]
fn doctor_on_a_terminal_colours_and_exit_status() {
    let t = TempDir::new("tmux");
    machine(&t);
    // --quiet: nothing printed, the status alone.
    let q = doctor(&t, &["--offline", "--quiet"]);
    assert_eq!((q.status, q.stdout.as_str()), (1, ""));
    if !available("tmux", &["-V"], "doctor's colours are read from a real terminal, a tmux pane") {
        return;
    }
    let sock = t.path().join("tmux.sock");
    let doctor_cmd = |extra: &str| {
        format!(
            "{extra} {} doctor --offline --home {h} --env-file {h}/env --proc-root {h}/noproc; echo KEYHOLE_EXIT=$?; sleep 30",
            bin("keyhole").display(),
            h = t.path().display()
        )
    };
    for (extra, want_colour) in [("", true), ("NO_COLOR=1", false)] {
        let _ = Command::new("tmux").arg("-S").arg(&sock).args(["kill-server"]).output();
        let st = Command::new("tmux")
            .arg("-S")
            .arg(&sock)
            .args(["new-session", "-d", "-x", "200", "-y", "60", "bash", "--norc", "-c", &doctor_cmd(extra)])
            .env("TERM", "xterm-256color")
            .status()
            .unwrap();
        assert!(st.success());
        let mut screen = String::new();
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let o = Command::new("tmux")
                .arg("-S")
                .arg(&sock)
                .args(["capture-pane", "-p", "-e", "-J", "-S", "-200"])
                .output()
                .unwrap();
            screen = String::from_utf8_lossy(&o.stdout).into_owned();
            if screen.contains("KEYHOLE_EXIT=") {
                break;
            }
        }
        let _ = Command::new("tmux").arg("-S").arg(&sock).args(["kill-server"]).output();
        assert_no_canary("terminal", &screen);
        assert!(screen.contains("KEYHOLE_EXIT=1"), "exit status 1 on a terminal: {screen}");
        assert!(screen.contains("key.placeholder"), "{screen}");
        assert_eq!(
            screen.contains("\x1b[1;31m") || screen.contains("\x1b[31;1m") || screen.contains("\x1b[1m\x1b[31m"),
            want_colour,
            "colour on a TTY, never with NO_COLOR: {screen:?}"
        );
    }
}

/// `keyhole doctor --color always|never` as `keyhole-report --color`: colour
/// into a pipe when asked, never with NO_COLOR; `auto` is none into a pipe.
#[test]
fn doctor_color_flag() {
    let t = TempDir::new("color");
    machine(&t);
    let bold_red = |s: &str| s.contains("\x1b[1;31m") || s.contains("\x1b[31;1m") || s.contains("\x1b[1m\x1b[31m");
    let always = doctor(&t, &["--offline", "--color", "always"]);
    assert_eq!(always.status, 1, "{}", always.stderr);
    assert!(bold_red(&always.stdout), "--color always colours a pipe: {:?}", always.stdout);
    for args in [&["--offline", "--color", "never"][..], &["--offline"][..]] {
        let r = doctor(&t, args);
        assert!(!r.stdout.contains('\x1b'), "{args:?}: no colour: {:?}", r.stdout);
    }
    let mut c = cmd("keyhole", t.path());
    c.args(["doctor", "--offline", "--color", "always", "--home"]).arg(t.path());
    c.arg("--env-file").arg(t.path().join("env")).arg("--proc-root").arg(t.path().join("noproc")).env("NO_COLOR", "1");
    let (out, _, _) = run_raw(c);
    assert!(!out.contains('\x1b'), "NO_COLOR wins: {out:?}");
    let bad = doctor(&t, &["--color", "sometimes"]);
    assert_eq!(bad.status, 2, "a usage error: {}", bad.stderr);
}

/// `make doctor` on a machine with no AI tool: doctor says where it looked,
/// make ends with a friendly line and exit 0 (the binary keeps its 1); a
/// problem found is no build error either; only doctor's 2 fails make.
#[test]
fn make_doctor_on_an_empty_machine_ends_friendly_and_exits_0() {
    if !available("make", &["--version"], "make doctor is run as the README says") {
        return;
    }
    let t = TempDir::new("make-doctor");
    t.write("env", "");
    let flags = |home: &std::path::Path| {
        format!("--offline --home {0} --env-file {0}/env --proc-root {0}/noproc", home.display())
    };
    let make = |flags: String| {
        let o = Command::new("make")
            .current_dir(root())
            .args(["-s", "--no-print-directory", "doctor-run"])
            .arg(format!("KEYHOLE={}", bin("keyhole").display()))
            .arg(format!("DOCTOR_FLAGS={flags}"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", t.path())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (status, out, err) = make(flags(t.path()));
    assert_eq!(status, Some(0), "{out}{err}");
    assert!(out.contains("no AI tool configuration found"), "{out}");
    assert!(out.trim_end().lines().last().is_some_and(|l| l.starts_with("make doctor: done")), "{out}");
    assert!(!err.contains("Error"), "{err}");
    // A machine with problems: the findings, then the same friendly end.
    let m = TempDir::new("make-doctor-found");
    machine(&m);
    let (status, out, _) = make(flags(m.path()));
    assert_eq!(status, Some(0), "{out}");
    assert!(out.contains("key.placeholder") || out.contains("placeholder"), "{out}");
    assert_no_canary("make doctor", &out);
    // doctor's 2 (a usage error) is make's failure.
    let (status, _, _) = make(format!("{} --timeout inf", flags(t.path())));
    assert_ne!(status, Some(0));
}

#[test]
fn doctor_on_an_empty_machine_says_where_it_looked() {
    let t = TempDir::new("empty");
    t.write("env", "");
    let r = doctor(&t, &["--offline"]);
    assert_eq!(r.status, 1);
    assert!(
        r.stdout.contains("no AI tool configuration found") && r.stdout.contains("continue, litellm"),
        "{}",
        r.stdout
    );
}

#[test]
fn every_record_kind_matches_the_json_schema() {
    let key = or_canary("GOOD");
    let imi = Imitation::start(&key, None);
    let t = TempDir::new("schema");
    machine(&t);
    t.write(".continue/config.yaml", format!("models:\n  - provider: openrouter\n    apiBase: {}/redirect-same/api/v1\n    apiKey: {key}\n  - provider: openrouter\n    apiBase: {}/api/v1\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n", imi.base(), imi.base()));
    let mut lines: Vec<String> = doctor(&t, &["--json"]).stdout.lines().map(str::to_string).collect();
    // env and probe records of the standalone modes, response records, an error record, captures.
    let mut c = cmd("keyhole-env", t.path());
    c.arg("--home").arg(t.path()).args(["--proc-root", "/nonexistent", "OPENROUTER_API_KEY"]);
    lines.extend(run_raw(c).0.lines().map(str::to_string));
    let mut c = cmd("keyhole-probe", t.path());
    c.arg(format!("{}/api/v1/key", imi.base())).args(["--key-env", "K"]).env("K", &key);
    lines.extend(run_raw(c).0.lines().map(str::to_string));
    let mut c = cmd("keyhole-classify", t.path());
    c.arg("--http").arg(
        t.write("raw", "HTTP/1.1 401 Unauthorized\r\n\r\n{\"error\":{\"message\":\"User not found.\",\"code\":401}}"),
    );
    lines.extend(run_raw(c).0.lines().map(str::to_string));
    t.write("bad.jsonl", "not json\n");
    let mut c = cmd("keyhole-classify", t.path());
    c.stdin(std::fs::File::open(t.path().join("bad.jsonl")).unwrap());
    lines.extend(run_raw(c).0.lines().map(str::to_string));
    let (child, port) = start_capture(&["--count", "1"]);
    curl(&[
        &format!("http://127.0.0.1:{port}/api/v1/chat/completions"),
        "-H",
        "Authorization: Bearer ${env:X}",
        "-d",
        "{}",
    ]);
    let (caps, _) = capture_records(child);
    lines.extend(caps.iter().map(|v| v.to_string()));
    let kinds: std::collections::BTreeSet<String> =
        lines.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), vec!["capture", "env", "error", "probe", "response", "site"]);
    let all = t.write("all.jsonl", lines.join("\n") + "\n");
    if !python_jsonschema() {
        return;
    }
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
bad = 0
for n, line in enumerate(open(sys.argv[2]), 1):
    for e in v.iter_errors(json.loads(line)):
        bad += 1
        print(f"line {n}: {e.message[:300]}")
        break
print(f"checked {n} records, {bad} invalid")
sys.exit(1 if bad else 0)
"#;
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(root().join("docs/records.schema.json"))
        .arg(&all)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "schema violations:\n{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("0 invalid"));
}

#[test]
fn man_pages_are_current() {
    for b in ["keyhole", "keyhole-report", "keyhole-capture"] {
        assert_man_current(b);
    }
}
