//! Hardening (issue 7): a leak audit of every binary in every output format,
//! network faults that must end as the right error within timeout + 1 s,
//! pipes (`| head -1`, closed stdin, /dev/full) for every binary, and
//! file-system faults (sockets, 1 GB files, deep trees, invalid UTF-8 names).

mod util;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// Every file under a directory with its bytes, to prove nothing was written.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                m.insert(e.path().display().to_string(), std::fs::read(e.path()).unwrap_or_default());
            }
        }
    }
    m
}

fn sh(script: &str) -> (String, String, i32) {
    let o = Command::new("bash").arg("-c").arg(script).env_clear().env("PATH", "/usr/bin:/bin").output().unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

#[test]
fn leak_audit_every_binary_every_format_every_fixture() {
    let canary = or_canary("LEAK");
    let imi = Imitation::start(&canary, None);
    let t = TempDir::new("leak");
    // Canaries in configs (every fixture home), in env files, in a process environment, and echoed by a server.
    let homes: Vec<std::path::PathBuf> =
        std::fs::read_dir(fixtures().join("homes")).unwrap().flatten().map(|e| e.path()).collect();
    let envf = t.write(
        "analysed.env",
        format!("OPENROUTER_API_KEY={canary}\0OPENAI_API_KEY={canary}\0HTTPS_PROXY=http://u:{canary}@127.0.0.1:9\0"),
    );
    let proc_root = t.path().join("proc");
    let p = proc_root.join("4242");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("cmdline"), "node\0--type=extensionHost\0litellm").unwrap();
    std::fs::write(p.join("environ"), format!("OPENROUTER_API_KEY={canary}\0")).unwrap();
    std::fs::write(p.join("status"), format!("Uid:\t{0}\t{0}\t{0}\t{0}\n", unsafe { libc::geteuid() })).unwrap();
    std::fs::write(p.join("stat"), "4242 (node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 1 1").unwrap();
    std::fs::write(proc_root.join("stat"), "btime 1700000000\n").unwrap();
    let openai_home = t.path().join("oai");
    std::fs::create_dir_all(openai_home.join(".continue")).unwrap();
    std::fs::write(
        openai_home.join(".continue/config.yaml"),
        format!("models:\n  - provider: openai\n    apiBase: {}/openai/v1\n    apiKey: {canary}\n", imi.base()),
    )
    .unwrap();
    let before: Vec<_> = homes.iter().map(|h| snapshot(h)).collect();
    let (f, e, pr, c, r, k, x) = (
        bin("keyhole-find"),
        bin("keyhole-env"),
        bin("keyhole-probe"),
        bin("keyhole-classify"),
        bin("keyhole-report"),
        bin("keyhole"),
        bin("keyhole-fix"),
    );
    let mut outputs = 0;
    for home in homes.iter().chain([&openai_home]) {
        let h = home.display();
        let common = format!("--env-file {} --proc-root {}", envf.display(), proc_root.display());
        let url = format!("--provider-url openrouter={}/api/v1", imi.base());
        let mut scripts = vec![
            format!("{} --home {h} {url} | {} --home {h} {common} | {} --home {h} {common} --timeout 3 | {} | {} --home {h}", f.display(), e.display(), pr.display(), c.display(), r.display()),
            format!("{} --home {h} {url} | {} --home {h} {common} | {} --home {h} {common} --timeout 3 | {} | {} --home {h} --format markdown", f.display(), e.display(), pr.display(), c.display(), r.display()),
            format!("{} --home {h} | {} --home {h} {common} | {} --format json", f.display(), e.display(), r.display()),
            format!("{} doctor --home {h} {common} {url} --timeout 3", k.display()),
            format!("{} doctor --home {h} {common} {url} --timeout 3 --json", k.display()),
            format!("{} doctor --home {h} {common} --offline --format markdown", k.display()),
            format!("{} --home {h} {common} OPENROUTER_API_KEY --exec", e.display()),
            // keyhole-fix and keyhole fix without --apply: records, words, diffs; nothing written.
            format!("{} --home {h} {url} | {} --home {h} {common} | {} --home {h} {common} --timeout 3 | {} | {} --home {h}", f.display(), e.display(), pr.display(), c.display(), x.display()),
            format!("{} --home {h} {url} | {} --home {h} {common} | {} --home {h} {common} --timeout 3 | {} | {} --home {h} --diff", f.display(), e.display(), pr.display(), c.display(), x.display()),
            format!("{} fix --home {h} {common} {url} --timeout 3", k.display()),
            format!("{} fix --home {h} {common} {url} --timeout 3 --json", k.display()),
            format!("{} fix --home {h} {common} --offline --diff", k.display()),
        ];
        // Error paths: bad flags, a dead server, unreadable input.
        scripts.push(format!("{} --home {h} --provider-url nope={canary}", f.display()));
        scripts.push(format!(
            "{} --home {h} | {} --home {h} {common} --provider-url openrouter=http://127.0.0.1:9/api/v1 --timeout 1",
            f.display(),
            pr.display()
        ));
        scripts.push(format!("echo 'garbage {canary}' | {}", c.display()));
        scripts
            .push(format!("{} https://127.0.0.1:9/x --key-env OPENROUTER_API_KEY {common} --timeout 1", pr.display()));
        for s in scripts {
            let (out, err, _) = sh(&s);
            assert_no_canary(&format!("stdout of {s}"), &out);
            assert_no_canary(&format!("stderr of {s}"), &err);
            let rest = out.replace("\"last4\":\"LEAK\"", "").replace("…LEAK", "");
            assert!(!rest.contains("LEAK"), "the canary appears only as its last 4 in a fingerprint: {s}\n{out}");
            assert!(!err.contains("panicked"), "{s}\n{err}");
            outputs += 2;
        }
    }
    // The OpenAI imitation echoes the key in its error: never in the output.
    let (out, _, _) = sh(&format!(
        "{} doctor --home {} --env-file {} --proc-root {} --json",
        k.display(),
        openai_home.display(),
        envf.display(),
        proc_root.display()
    ));
    assert!(out.contains("Incorrect API key provided"), "{out}");
    assert!(outputs > 100);
    // Read-only: no file of any fixture home changed, none was added (no
    // tool writes unless `keyhole fix --apply` is run).
    let after: Vec<_> = homes.iter().map(|h| snapshot(h)).collect();
    assert!(before == after, "a fixture home was modified");
}

fn probe_one(base_path: &str, timeout: &str) -> (Value, f64) {
    let canary = or_canary("GOOD");
    let imi = Imitation::start(&canary, None);
    let t = TempDir::new("fault");
    t.write(
        ".continue/config.yaml",
        format!("models:\n  - provider: openrouter\n    apiBase: {}{base_path}\n    apiKey: {canary}\n", imi.base()),
    );
    let start = Instant::now();
    let (out, err, _) = sh(&format!(
        "{} --home {h} -q | {} --home {h} --timeout {timeout}",
        bin("keyhole-find").display(),
        bin("keyhole-probe").display(),
        h = t.path().display()
    ));
    let took = start.elapsed().as_secs_f64();
    assert!(!err.contains("panicked"), "{err}");
    let rec: Value = serde_json::from_str(out.lines().next().unwrap_or_else(|| panic!("no output: {err}"))).unwrap();
    (rec["probe"].clone(), took)
}

#[test]
fn network_faults_end_as_the_right_error_within_the_timeout() {
    let (p, took) = probe_one("/slowhead/api/v1", "1");
    assert_eq!(p["error"]["kind"], "timeout", "{p}");
    assert!(took < 2.5, "slow headers: timeout + 1 s (+ start-up), took {took}");
    let (p, took) = probe_one("/slowbody/api/v1", "1");
    assert!(took < 2.5, "a trickling body: took {took}");
    assert!(p["error"]["kind"] == "timeout" || p["response"]["body_error"].is_string(), "{p}");
    let (p, took) = probe_one("/resetbody/api/v1", "3");
    assert!(took < 4.0);
    assert!(p["response"]["body_error"].is_string() || p["error"]["kind"] == "protocol", "reset mid-body: {p}");
    let (p, took) = probe_one("/hops/0/api/v1", "3");
    assert!(took < 4.0);
    assert_eq!(p["error"]["kind"], "protocol", "{p}");
    assert_eq!(p["redirects"].as_array().unwrap().len(), 10, "10,000 redirects: stopped after 10");
    let (p, took) = probe_one("/badchunk/api/v1", "3");
    assert!(took < 4.0);
    assert!(
        p["error"]["kind"] == "protocol" || p["response"]["body_error"].is_string(),
        "invalid chunked encoding: {p}"
    );
}

/// (binary, arguments, stdin) for a run that writes many lines.
fn many_lines_runs(t: &TempDir) -> Vec<(String, Vec<String>, Option<String>)> {
    let mut body = String::new();
    for i in 0..2000 {
        body.push_str(&format!("OPENAI_API_KEY=k{i}\n"));
    }
    t.write("p/.env", &body);
    let h = t.path().display().to_string();
    let sites =
        String::from_utf8(Command::new(bin("keyhole-find")).args(["--home", &h, "-q"]).output().unwrap().stdout)
            .unwrap();
    let sites_file = t.write("sites.jsonl", &sites).display().to_string();
    let log: String = (0..5000).map(|i| format!("{i} Missing Authentication header\n")).collect();
    let log_file = t.write("x.log", log).display().to_string();
    let raw: String =
        (0..2000).map(|_| "HTTP/1.1 401 X\r\n\r\n{\"error\":{\"message\":\"User not found.\"}}\r\n").collect();
    let raw_file = t.write("raw.txt", raw).display().to_string();
    vec![
        ("keyhole-find".into(), vec!["--home".into(), h.clone()], None),
        (
            "keyhole-env".into(),
            vec!["--home".into(), h.clone(), "--proc-root".into(), "/nonexistent".into()],
            Some(sites_file.clone()),
        ),
        ("keyhole-probe".into(), vec!["--home".into(), h.clone(), "--offline".into()], Some(sites_file.clone())),
        ("keyhole-classify".into(), vec![], Some(sites_file.clone())),
        ("keyhole-classify".into(), vec!["--log".into(), log_file], None),
        ("keyhole-classify".into(), vec!["--http".into(), raw_file], None),
        ("keyhole-fix".into(), vec!["--home".into(), h.clone()], Some(sites_file.clone())),
        ("keyhole-report".into(), vec!["--format".into(), "json".into()], Some(sites_file.clone())),
        ("keyhole-report".into(), vec![], Some(sites_file)),
        (
            "keyhole".into(),
            vec![
                "doctor".into(),
                "--home".into(),
                h.clone(),
                "--offline".into(),
                "--json".into(),
                "--proc-root".into(),
                "/nonexistent".into(),
            ],
            None,
        ),
    ]
}

#[test]
fn every_binary_under_head_dash_1_closed_stdin_and_dev_full() {
    let t = TempDir::new("pipes");
    for (b, args, stdin) in many_lines_runs(&t) {
        // | head -1: quiet, success.
        let mut c = Command::new(bin(&b));
        c.args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.stdin(match &stdin {
            Some(f) => Stdio::from(std::fs::File::open(f).unwrap()),
            None => Stdio::null(),
        });
        let mut child = c.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        drop(out);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        let st = child.wait().unwrap();
        assert!(!first.is_empty(), "{b} {args:?} wrote nothing");
        assert!(matches!(st.code(), Some(0) | Some(1)), "{b} {args:?} under head -1: {st:?} {err}");
        assert!(!err.contains("panicked") && !err.to_lowercase().contains("broken pipe"), "{b} {args:?}: {err}");

        // /dev/full: a clear message and exit 2.
        let mut c = Command::new(bin(&b));
        c.args(&args).stdout(std::fs::File::options().write(true).open("/dev/full").unwrap()).stderr(Stdio::piped());
        c.stdin(match &stdin {
            Some(f) => Stdio::from(std::fs::File::open(f).unwrap()),
            None => Stdio::null(),
        });
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{b} {args:?} to /dev/full: {err}");
        assert!(err.contains("No space left") || err.contains("cannot write"), "{b} {args:?}: {err}");
    }
    // A closed stdin: the stream tools read nothing and say so by their status, never hang.
    for b in ["keyhole-env", "keyhole-probe", "keyhole-classify", "keyhole-fix", "keyhole-report"] {
        let start = Instant::now();
        let o = Command::new(bin(b))
            .args(["--home", "/nonexistent"].iter().filter(|_| b != "keyhole-classify"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(start.elapsed().as_secs() < 10);
        assert!(o.status.code().is_some_and(|c| c <= 2), "{b}: {:?}", o.status);
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
        // A stdin that cannot be read (a directory): said on stderr, exit 2.
        let o = Command::new(bin(b))
            .args(["--home", "/nonexistent"].iter().filter(|_| b != "keyhole-classify"))
            .stdin(std::fs::File::open("/").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{b} with a directory as stdin: {err}");
        assert!(err.contains("cannot read standard input"), "{b}: {err}");
    }
}

#[test]
fn file_system_faults() {
    let t = TempDir::new("fsfaults");
    let good = or_canary("GOOD");
    t.write(".continue/config.yaml", format!("models:\n  - provider: openrouter\n    apiKey: {good}\n"));
    // A socket named .env.
    let sock = t.path().join("s/.env");
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    // A 1 GB sparse config.
    let big = t.write("big/opencode.json", b"");
    std::fs::File::options().write(true).open(&big).unwrap().set_len(1 << 30).unwrap();
    // A directory tree 200 deep with a config at the bottom.
    let mut deep = t.path().join("deep");
    for i in 0..200 {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join(".env"), "OPENAI_API_KEY=deep\n").unwrap();
    // A directory whose name is not UTF-8, holding a config.
    let bad = t.path().join(std::ffi::OsStr::from_bytes(b"proj-\xff\xfe"));
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join(".env"), "OPENAI_API_KEY=k\n").unwrap();
    let start = Instant::now();
    let o = Command::new(bin("keyhole-find")).args(["--home"]).arg(t.path()).output().unwrap();
    assert!(start.elapsed().as_secs() < 10, "no hang");
    let out = String::from_utf8(o.stdout).expect("output is UTF-8 whatever the file names");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_no_canary("stdout", &out);
    assert!(!err.contains("panicked"));
    assert!(out.contains("\"last4\":\"GOOD\""), "the good site survives");
    assert!(err.contains("s/.env is a socket"), "{err}");
    assert!(err.contains("big/opencode.json is 1024 MiB"), "{err}");
    assert!(out.contains("proj-\u{fffd}\u{fffd}/.env"), "a non-UTF-8 name is shown with U+FFFD, the site kept: {out}");
    assert!(!out.contains("/d150/"), "the walk is bounded by --max-depth");
    // With the depth raised, the deep config is found.
    let o = Command::new(bin("keyhole-find"))
        .args(["--home"])
        .arg(t.path())
        .args(["--max-depth", "250", "-q"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("/d199/.env"));
}
