//! `keyhole doctor` ≡ the pipeline: on every fixture home, `keyhole doctor
//! --json` writes exactly the records that `keyhole-find | keyhole-env |
//! keyhole-probe | keyhole-classify` writes with the same flags — online
//! against the provider imitation, offline, and with a /proc that holds the
//! tools' processes. Only volatile fields (`elapsed_ms`) are normalized.

mod util;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

fn homes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join("homes"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(v.len() >= 20, "every tool has a fixture home: {v:?}");
    v
}

/// One setting of the comparison: the flags every stage shares.
struct Setting {
    name: &'static str,
    env_file: PathBuf,
    proc_root: PathBuf,
    /// `--provider-url NAME=URL` pairs (online only).
    urls: Vec<String>,
    offline: bool,
}

impl Setting {
    fn url_args(&self) -> Vec<String> {
        self.urls.iter().flat_map(|u| ["--provider-url".to_string(), u.clone()]).collect()
    }
    fn env_args(&self) -> Vec<String> {
        vec![
            "--env-file".into(),
            self.env_file.display().to_string(),
            "--proc-root".into(),
            self.proc_root.display().to_string(),
        ]
    }
    fn net_args(&self) -> Vec<String> {
        if self.offline {
            vec!["--offline".into()]
        } else {
            vec!["--timeout".into(), "5".into()]
        }
    }
}

/// Run `name args` on `home` with `input` on stdin: its stdout and exit status.
fn stage(name: &str, home: &Path, args: &[String], input: &[u8]) -> (Vec<u8>, i32) {
    let mut c = cmd(name, home);
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
    assert_no_canary(&format!("{name} stdout"), &String::from_utf8_lossy(&out.stdout));
    assert_no_canary(&format!("{name} stderr"), &stderr);
    (out.stdout, out.status.code().unwrap_or(-1))
}

fn records(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).expect("output is UTF-8");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// Volatile fields out: how long a request took.
fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("elapsed_ms") {
                m.insert("elapsed_ms".into(), Value::from(0));
            }
            m.values_mut().for_each(normalize);
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn pipeline(home: &Path, s: &Setting) -> Vec<Value> {
    let h = ["--home".to_string(), home.display().to_string()];
    let mut find = h.to_vec();
    find.push("-q".into());
    find.extend(s.url_args());
    let (sites, _) = stage("keyhole-find", home, &find, b"");
    let mut env = h.to_vec();
    env.extend(s.env_args());
    env.push("-q".into());
    let (with_env, _) = stage("keyhole-env", home, &env, &sites);
    let mut probe = h.to_vec();
    probe.extend(s.env_args());
    probe.extend(s.url_args());
    probe.extend(s.net_args());
    let (probed, _) = stage("keyhole-probe", home, &probe, &with_env);
    let (classified, _) = stage("keyhole-classify", home, &[], &probed);
    records(&classified)
}

fn doctor(home: &Path, s: &Setting) -> Vec<Value> {
    let mut args = vec!["doctor".to_string(), "--json".into(), "--home".into(), home.display().to_string()];
    args.extend(s.env_args());
    args.extend(s.url_args());
    args.extend(s.net_args());
    let (out, status) = stage("keyhole", home, &args, b"");
    assert!(matches!(status, 0..=2), "doctor on {}: status {status}", home.display());
    records(&out)
}

/// Doctor's records equal the pipeline's on every fixture home; returns
/// them by home name for the setting's own checks.
fn same_records(s: &Setting) -> Vec<(String, Vec<Value>)> {
    let mut all = Vec::new();
    for home in homes() {
        let name = home.file_name().unwrap().to_string_lossy().into_owned();
        let mut want = pipeline(&home, s);
        let mut got = doctor(&home, s);
        want.iter_mut().for_each(normalize);
        got.iter_mut().for_each(normalize);
        let ids = |v: &[Value]| v.iter().map(|r| r["id"].as_str().unwrap_or("-").to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids(&got),
            ids(&want),
            "{}: {name}: doctor and the pipeline write the same records, in order",
            s.name
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g == w,
                "{}: {name}: doctor and the pipeline differ on {}\n doctor:   {g}\n pipeline: {w}",
                s.name,
                w["id"]
            );
        }
        assert!(!want.is_empty(), "{name}: the fixture home has sites");
        all.push((name, want));
    }
    all
}

/// The analysed environment: a key the imitation knows, the user's shell,
/// and proxies that refuse, so that no request leaves the machine (sites
/// whose config names a real host get a deterministic `proxy` error; the
/// imitation on 127.0.0.1 is reached directly).
fn analysed_env(t: &TempDir, known: &str, refused: u16) -> PathBuf {
    t.write(
        "analysed.env",
        format!(
            "OPENROUTER_API_KEY={known}\nSHELL=/bin/bash\nHTTPS_PROXY=http://127.0.0.1:{refused}\nHTTP_PROXY=http://127.0.0.1:{refused}\nNO_PROXY=127.0.0.1\n"
        ),
    )
}

/// The provider URLs pointed at the imitation (its routes: tests/util/imitation.rs).
fn imitation_urls(imi: &Imitation) -> Vec<String> {
    let b = imi.base();
    vec![format!("openrouter={b}/api/v1"), format!("openai={b}/openai/v1"), format!("anthropic={b}/anthropic/v1")]
}

fn codes(r: &Value) -> Vec<&str> {
    r["diagnoses"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str()).collect()
}

#[test]
fn online_against_the_imitation() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let (_refusing, refused) = refused_port();
    let t = TempDir::new("doctor-online");
    let s = Setting {
        name: "online",
        env_file: analysed_env(&t, &known, refused),
        proc_root: t.path().join("no-proc"),
        urls: imitation_urls(&imi),
        offline: false,
    };
    let all = same_records(&s);
    let probed = all.iter().flat_map(|(_, v)| v).filter(|r| r["probe"]["response"]["status"].is_u64()).count();
    assert!(probed >= 10, "the imitation answered sites of many homes ({probed})");
    assert!(!imi.requests().is_empty());
}

#[test]
fn offline() {
    let t = TempDir::new("doctor-offline");
    let s = Setting {
        name: "offline",
        env_file: analysed_env(&t, &or_canary("GOOD"), 9),
        proc_root: t.path().join("no-proc"),
        urls: vec![],
        offline: true,
    };
    let all = same_records(&s);
    assert!(all.iter().flat_map(|(_, v)| v).all(|r| r.get("probe").is_none()), "nothing is probed offline");
    assert!(all.iter().flat_map(|(_, v)| v).any(|r| r["type"] == "site" && !codes(r).is_empty()));
}

/// A fake /proc (docs/launch-contexts.md): boot in 2020, every process
/// started 100–200 s after boot, long before any fixture file was written.
/// PID → (command line, environment `|`-separated).
fn fake_proc(t: &TempDir, key: &str) -> PathBuf {
    let me = unsafe { libc::geteuid() };
    let with_key = format!("HOME=/home/u|PATH=/usr/bin|OPENROUTER_API_KEY={key}|OPENAI_API_KEY={key}");
    let without = "HOME=/home/u|PATH=/usr/bin".to_string();
    let procs: Vec<(u32, &str, String)> = vec![
        (4100, "/home/u/.vscode-server/bin/abc/node /home/u/.vscode-server/bin/abc/out/server-main.js --start-server", without.clone()),
        (4242, "/home/u/.vscode-server/bin/abc/node /home/u/.vscode-server/bin/abc/out/bootstrap-fork --type=extensionHost --transformURIs", without.clone()),
        // The case: Hermes running without the variable.
        (5100, "/usr/bin/python3 /home/u/.local/bin/hermes chat", without.clone()),
        (5000, "/usr/bin/python3 /usr/local/bin/litellm --config proxy/config.yaml --port 4000", with_key.clone()),
        (5200, "/usr/bin/python3 /home/u/.local/bin/aider --model x", without.clone()),
        (5300, "/home/u/.opencode/bin/opencode", with_key.clone()),
        (5400, "/usr/local/bin/codex", without.clone()),
        (5500, "/usr/local/bin/goose session", with_key.clone()),
        (5600, "node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", without.clone()),
        (5700, "node /usr/lib/node_modules/openclaw/dist/index.js gateway", without.clone()),
        (5800, "/usr/bin/python3 /home/u/.local/bin/llm chat", with_key.clone()),
        (5900, "/usr/bin/python3 /usr/local/bin/open-webui serve", without.clone()),
        (6000, "node api/server/index.js librechat", without.clone()),
        (6100, "/usr/bin/python3 -m homeassistant --config /config", without.clone()),
        (6200, "/usr/bin/python3 /home/u/.local/bin/openspace", with_key.clone()),
        (6300, "/usr/bin/zed-editor", without.clone()),
        (6400, "node /usr/lib/node_modules/@kilocode/cli/kilo", without.clone()),
        (6500, "node /usr/lib/node_modules/@continuedev/cli/dist/cn.js", without),
    ];
    let root = t.path().join("proc");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1577836800\nprocesses 1\n").unwrap();
    for (i, (pid, cmdline, environ)) in procs.iter().enumerate() {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cmdline"), cmdline.replace(' ', "\0")).unwrap();
        std::fs::write(d.join("environ"), environ.replace('|', "\0")).unwrap();
        std::fs::write(d.join("status"), format!("Name:\tx\nUid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
        let ticks = 10_000 + 500 * i as u64;
        std::fs::write(d.join("stat"), format!("{pid} (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 100 10"))
            .unwrap();
    }
    root
}

#[test]
fn with_the_tools_processes_running() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let (_refusing, refused) = refused_port();
    let t = TempDir::new("doctor-proc");
    for offline in [false, true] {
        let s = Setting {
            name: if offline { "processes, offline" } else { "processes, online" },
            env_file: analysed_env(&t, &known, refused),
            proc_root: fake_proc(&t, &or_canary("PROC")),
            urls: if offline { vec![] } else { imitation_urls(&imi) },
            offline,
        };
        let all = same_records(&s);
        let with_procs = all
            .iter()
            .flat_map(|(_, v)| v)
            .filter(|r| r["env"]["processes"].as_array().is_some_and(|p| !p.is_empty()))
            .count();
        assert!(with_procs >= 5, "{}: sites of several tools see their processes ({with_procs})", s.name);
        // A Hermes process without the variable; ~/.hermes/config.yaml reads it, and Hermes
        // loads ~/.hermes/.env itself (with override): the process's environment is not the
        // cause, and the .env's last line is what Hermes sends.
        let hermes = &all.iter().find(|(n, _)| n == "hermes").unwrap().1;
        let model = hermes
            .iter()
            .find(|r| r["id"].as_str().is_some_and(|i| i.ends_with(".hermes/config.yaml#/model")))
            .expect("the hermes model site");
        assert!(model["env"]["processes"].as_array().unwrap().iter().any(|p| p["pid"] == 5100), "{model}");
        let c = codes(model);
        assert!(!c.contains(&"key.wrong_file") && !c.contains(&"key.stale_process"), "{}: {model}", s.name);
        let sends: Vec<&Value> =
            model["env"]["resolution"].as_array().unwrap().iter().filter(|c| c["outcome"] == "sends").collect();
        assert_eq!(sends.len(), 1, "{model}");
        assert!(sends[0]["at"].as_str().unwrap().ends_with(".hermes/.env") && sends[0]["line"] == 2, "{model}");
    }
}
