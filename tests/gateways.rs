//! Gateways (docs/wire.md#gateways): a LiteLLM proxy configured on this
//! machine, started by a systemd user unit (and running, in a fake /proc),
//! and its clients — Continue and aider pointed at `http://localhost:PORT`
//! with a virtual key. The client is the gateway's, never "another
//! provider's key"; the client → gateway hop is checked without the
//! gateway's database; the gateway → upstream hop is the gateway's own
//! sites; a wrapped upstream 401 is `upstream.auth`; the report shows the
//! chain hop by hop, and reads a `keyhole-capture --forward` chain the same
//! way. `keyhole doctor` agrees with the pipeline.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use util::gateway::Gateway;
use util::imitation::Imitation;
use util::*;

fn write(base: &Path, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = base.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

/// A LiteLLM key of its real shape (`sk-` and url-safe characters) holding the canary run.
fn litellm_canary(tag: &str) -> String {
    format!("sk-{CANARY_RUN}{tag}")
}

struct Keys {
    /// The user's OpenRouter key (the shell's): OpenRouter knows it.
    good: String,
    /// The key the proxy's own environment holds for OpenRouter: unknown there.
    upstream: String,
    master: String,
    virtual_key: String,
}

fn keys() -> Keys {
    Keys {
        good: or_canary("GW01"),
        upstream: or_canary("GW02"),
        master: litellm_canary("Mk01"),
        virtual_key: litellm_canary("Vk01"),
    }
}

/// A process of a fake /proc: pid, parent, argv, `|`-separated environment, working directory.
type Proc<'a> = (u32, u32, &'a [&'a str], &'a str, Option<&'a Path>);

/// A fake /proc with these processes (all the user's, started long ago).
fn fake_proc(root: &Path, procs: &[Proc<'_>]) {
    let me = unsafe { libc::geteuid() };
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1577836800\nprocesses 1\n").unwrap();
    for (i, (pid, ppid, argv, environ, cwd)) in procs.iter().enumerate() {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cmdline"), argv.join("\0") + "\0").unwrap();
        std::fs::write(d.join("environ"), environ.replace('|', "\0")).unwrap();
        std::fs::write(d.join("status"), format!("Name:\tx\nUid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
        let comm: String = Path::new(argv[0]).file_name().unwrap().to_string_lossy().chars().take(15).collect();
        std::fs::write(
            d.join("stat"),
            format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {} 100 10", 10_000 + 500 * i),
        )
        .unwrap();
        symlink(argv[0], d.join("exe")).unwrap();
        if let Some(c) = cwd {
            symlink(c, d.join("cwd")).unwrap();
        }
    }
}

/// The home: Debian's .bashrc, a `.env.example`, opencode with the
/// user's good key (the tool configured correctly), a LiteLLM proxy config with two model list
/// entries started by a systemd user unit on `port` (its environment file
/// holding the upstream key it uses), and Continue and aider pointed at
/// the proxy with a virtual key. With `running`, the proxy's process is in
/// the fake /proc too, among noise processes; with `unit: false` only the
/// process tells the port.
fn gateway_home(t: &TempDir, port: u16, k: &Keys, unit: bool) -> (PathBuf, PathBuf, PathBuf) {
    let home = t.path().join("home");
    let h = home.display().to_string();
    let env = fixtures().join("env/debian");
    let bashrc: String =
        std::fs::read_to_string(env.join(".bashrc"))
            .unwrap()
            .lines()
            .map(|l| {
                if l.starts_with("export OPENROUTER_API_KEY=") {
                    "export LITELLM_LOG=INFO".into()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    write(&home, ".bashrc", bashrc + "\n");
    write(&home, ".profile", std::fs::read(env.join(".profile")).unwrap());
    write(
        &home,
        "work/.env.example",
        "# copy to .env\nOPENROUTER_API_KEY=your-api-key-here\nLITELLM_API_KEY=sk-your-virtual-key\n",
    );
    write(
        &home,
        ".config/opencode/opencode.json",
        format!("{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"openrouter/anthropic/claude-sonnet-4.5\",\n  \"provider\": {{\"openrouter\": {{\"options\": {{\"apiKey\": \"{}\"}}}}}}\n}}\n", k.good),
    );
    write(
        &home,
        "litellm/config.yaml",
        "# LiteLLM proxy: litellm --config ~/litellm/config.yaml\nmodel_list:\n  - model_name: claude-sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n  - model_name: gpt-mini\n    litellm_params:\n      model: openrouter/openai/gpt-4o-mini\n      api_key: os.environ/OPENROUTER_API_KEY\n\nlitellm_settings:\n  drop_params: true\n\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
    );
    write(
        &home,
        ".config/litellm/litellm.env",
        format!("OPENROUTER_API_KEY={}\nLITELLM_MASTER_KEY={}\n", k.upstream, k.master),
    );
    if unit {
        write(
            &home,
            ".config/systemd/user/litellm.service",
            format!("[Unit]\nDescription=LiteLLM proxy\nAfter=network-online.target\n\n[Service]\nType=simple\nWorkingDirectory=%h/litellm\nEnvironmentFile=%h/.config/litellm/litellm.env\nExecStart=%h/.venv/bin/litellm --config %h/litellm/config.yaml \\\n    --port {port}\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n"),
        );
    }
    write(
        &home,
        ".continue/config.yaml",
        format!("name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: Gateway Claude\n    provider: openai\n    model: claude-sonnet\n    apiBase: http://localhost:{port}\n    apiKey: {}\n    roles:\n      - chat\n      - edit\n", k.virtual_key),
    );
    write(
        &home,
        ".aider.conf.yml",
        format!("# through the team's LiteLLM proxy\nmodel: openai/claude-sonnet\nopenai-api-base: http://localhost:{port}\nopenai-api-key: {}\nauto-commits: false\n", k.virtual_key),
    );
    let root = t.path().join("proc");
    let proxy_env =
        format!("HOME={h}|PATH=/usr/bin:/bin|OPENROUTER_API_KEY={}|LITELLM_MASTER_KEY={}", k.upstream, k.master);
    let litellm_bin = format!("{h}/.venv/bin/litellm");
    let port_s = port.to_string();
    let proxy_argv = ["/usr/bin/python3.12", &litellm_bin, "--config", "config.yaml", "--port", &port_s];
    let litellm_dir = home.join("litellm");
    fake_proc(
        &root,
        &[
            (1, 0, &["/sbin/init"], "", None),
            (830, 1, &["-bash"], "HOME=/home/u", None),
            (7001, 830, &["vim", "/home/u/notes/aider-tips.md"], "HOME=/home/u", None),
            (7002, 830, &["python3", "run.py", "--client", "aider"], "HOME=/home/u", None),
            (7005, 830, &["less", "/home/u/litellm/config.yaml"], "HOME=/home/u", None),
            (5000, 1, &proxy_argv, &proxy_env, Some(&litellm_dir)),
        ],
    );
    let envf = t.write("analysed.env", "PATH=/usr/bin:/bin\nSHELL=/bin/bash\nUSER=u\n");
    (home, envf, root)
}

/// The pipeline with keyhole-probe (`probe_extra` added), then
/// keyhole-report's words; and `keyhole doctor --json` with the same flags,
/// whose diagnoses must be the pipeline's.
fn pipeline_and_doctor(
    home: &Path,
    envf: &Path,
    root: &Path,
    or: &Imitation,
    probe_extra: &[&str],
) -> (Vec<Value>, String) {
    let h = vec!["--home".to_string(), home.display().to_string()];
    let e = vec!["--env-file".into(), envf.display().to_string(), "--proc-root".into(), root.display().to_string()];
    let urls =
        vec!["--provider-url".into(), format!("openrouter={}/api/v1", or.base()), "--timeout".into(), "5".into()];
    let extra: Vec<String> = probe_extra.iter().map(|s| s.to_string()).collect();
    let (sites, _) = spawn(
        "keyhole-find",
        home,
        &[h.clone(), vec!["-q".into(), "--proc-root".into(), root.display().to_string()]].concat(),
        b"",
    );
    let (with_env, _) =
        spawn("keyhole-env", home, &[h.clone(), e.clone(), vec!["-q".into()]].concat(), sites.as_bytes());
    let (probed, _) = spawn(
        "keyhole-probe",
        home,
        &[h.clone(), e.clone(), urls.clone(), extra.clone()].concat(),
        with_env.as_bytes(),
    );
    let (classified, _) = spawn("keyhole-classify", home, &[], probed.as_bytes());
    let (words, _) = spawn("keyhole-report", home, &["--color".into(), "never".into()], classified.as_bytes());
    let piped = records(&classified);
    let args = [vec!["doctor".into(), "--json".into()], h, e, urls, extra].concat();
    let (doc, _) = spawn("keyhole", home, &args, b"");
    let doc = records(&doc);
    let diags = |v: &[Value]| -> Vec<(String, Value)> {
        v.iter().filter(|r| r["type"] == "site").map(|r| (r["id"].to_string(), r["diagnoses"].clone())).collect()
    };
    assert_eq!(diags(&piped), diags(&doc), "keyhole doctor and the pipeline agree");
    (piped, words)
}

fn first(site: &Value) -> &Value {
    &site["diagnoses"][0]
}

fn text(v: &Value) -> String {
    v.to_string()
}

/// The block of the text report that starts with `head`.
fn block<'a>(words: &'a str, head: &str) -> &'a str {
    let at = words.find(head).unwrap_or_else(|| panic!("no {head:?} in the report:\n{words}"));
    let rest = &words[at..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[test]
fn a_gateways_clients_are_linked_and_each_hop_is_checked() {
    let t = TempDir::new("gw-chain");
    let k = keys();
    let or = Imitation::start(&k.good, None);
    let gw = Gateway::start(&[&k.master, &k.virtual_key], &format!("{}/api/v1", or.base()), Some(&k.upstream));
    let (home, envf, root) = gateway_home(&t, gw.port, &k, true);
    let (recs, words) = pipeline_and_doctor(&home, &envf, &root, &or, &[]);
    let config = home.join("litellm/config.yaml").display().to_string();
    let upstream_ids = [format!("litellm:{config}#/model_list/0"), format!("litellm:{config}#/model_list/1")];
    let unit = home.join(".config/systemd/user/litellm.service").display().to_string();
    for (tool, file) in [("continue", ".continue/config.yaml"), ("aider", ".aider.conf.yml")] {
        let s = site(&recs, tool, file, "");
        // The gateway's client: its key is the gateway's, never another provider's.
        assert_eq!(s["provider"], "litellm", "{s}");
        assert_eq!(s["gateway"]["config"], config.as_str(), "{s}");
        assert_eq!(s["gateway"]["port"], gw.port, "{s}");
        assert_eq!(s["gateway"]["port_from"], format!("{unit}:9"), "the unit's ExecStart= line: {s}");
        assert_eq!(s["gateway"]["sites"], serde_json::json!(upstream_ids), "{s}");
        assert!(!text(&s["diagnoses"]).contains("key.wrong_provider"), "{s}");
        // client → gateway: the model list, which needs no database.
        assert_eq!(s["probe"]["request"]["url"], format!("{}/models", gw.base()), "{s}");
        assert_eq!(first(s)["code"], "ok", "{s}");
    }
    // gateway → upstream: the gateway's own sites, with the key its process has.
    for id in &upstream_ids {
        let s = recs.iter().find(|r| r["id"] == id.as_str()).unwrap_or_else(|| panic!("no {id}"));
        assert_eq!(first(s)["code"], "auth.invalid_key", "{s}");
        assert!(s.get("gateway").is_none(), "the gateway's own site is no client: {s}");
    }
    let master = site(&recs, "litellm", "litellm/config.yaml", "/general_settings/master_key");
    assert_eq!(master["base_url"], gw.base(), "the master key is checked where the unit says the proxy listens");
    assert_eq!(first(master)["code"], "ok", "{master}");
    assert_eq!(first(site(&recs, "opencode", "opencode.json", ""))["code"], "ok");
    for r in recs.iter().filter(|r| r["source"]["file"].as_str().is_some_and(|f| f.ends_with(".env.example"))) {
        assert_eq!(first(r)["code"], "key.template", "{r}");
    }
    assert!(gw.requests().iter().all(|r| !r.path.contains("key/info")), "no route that needs a database");
    assert!(gw.requests().iter().any(|r| r.auth.as_deref() == Some(&format!("Bearer {}", k.virtual_key))));

    // The report: each client's chain, hop by hop, and which hop fails.
    assert!(words.starts_with("keyhole: 8 checked — 4 failing, 2 ok, 2 templates"), "{words}");
    let c = block(&words, "continue ");
    assert!(c.contains("✗ chain: hop 2 of 3 fails"), "{c}");
    assert!(c.contains(&format!("hop 1: continue → LiteLLM proxy {} ✓ ok", gw.base())), "{c}");
    assert!(c.contains("hop 2: LiteLLM proxy → OpenRouter https://openrouter.ai/api/v1 ✗ auth.invalid_key"), "{c}");
    assert!(
        c.contains(&format!("{config}:6")) && c.contains(&format!("{config}:10")),
        "where to fix each upstream hop: {c}"
    );
    assert!(c.contains("fix: create a new key at https://openrouter.ai/settings/keys"), "{c}");
    assert!(!c.contains("\n  ✓ "), "the client hop's ok is not the verdict: {c}");
    assert!(block(&words, "aider ").contains("✗ chain: hop 2 of 3 fails"), "{words}");
}

/// With `--completion` the client's request goes through the gateway to the
/// upstream, and the upstream's 401 comes back wrapped: `upstream.auth`,
/// naming the upstream and the gateway's site to fix.
#[test]
fn a_wrapped_upstream_401_is_upstream_auth_naming_the_gateways_site() {
    let t = TempDir::new("gw-completion");
    let k = keys();
    let or = Imitation::start(&k.good, None);
    let gw = Gateway::start(&[&k.master, &k.virtual_key], &format!("{}/api/v1", or.base()), Some(&k.upstream));
    let (home, envf, root) = gateway_home(&t, gw.port, &k, true);
    let (recs, words) = pipeline_and_doctor(&home, &envf, &root, &or, &["--completion"]);
    let config = home.join("litellm/config.yaml").display().to_string();
    let s = site(&recs, "continue", ".continue/config.yaml", "");
    let d = first(s);
    assert_eq!(d["code"], "upstream.auth", "{s}");
    assert!(d["summary"].as_str().unwrap().contains("OpenRouter refused the proxy's own key"), "{d}");
    assert!(text(&d["evidence"]).contains(&format!("litellm:{config}#/model_list/0")), "{d}");
    assert!(d["fix"][0].as_str().unwrap().contains(&format!("litellm:{config}#/model_list/0")), "{d}");
    assert!(!text(&s["diagnoses"]).contains("auth.missing"), "{s}");
    // The upstream got the gateway's own key, not the client's.
    let fwd = gw.forwarded.lock().unwrap().clone();
    assert!(!fwd.is_empty() && fwd.iter().all(|f| f.auth.as_deref() == Some(&format!("Bearer {}", k.upstream))));
    assert!(block(&words, "continue ").contains("upstream.auth"), "{words}");
}

/// Without the unit, the running proxy's command line tells the port (its
/// `--config` relative to its working directory); noise processes that
/// merely mention the config are not the proxy.
#[test]
fn a_running_gateway_process_names_its_port() {
    let t = TempDir::new("gw-process");
    let k = keys();
    let or = Imitation::start(&k.good, None);
    let gw = Gateway::start(&[&k.master, &k.virtual_key], &format!("{}/api/v1", or.base()), Some(&k.upstream));
    let (home, envf, root) = gateway_home(&t, gw.port, &k, false);
    let (recs, _) = pipeline_and_doctor(&home, &envf, &root, &or, &[]);
    let s = site(&recs, "continue", ".continue/config.yaml", "");
    assert_eq!(s["gateway"]["port_from"], "process 5000", "{s}");
    assert_eq!(s["gateway"]["port"], gw.port, "{s}");
    assert_eq!(first(s)["code"], "ok", "{s}");
}

/// What a gateway without a database answers its key routes, and a path it
/// does not have: never a wrong base URL pointing at openrouter.ai.
#[test]
fn a_gateway_without_a_database_is_no_wrong_base_url() {
    let t = TempDir::new("gw-http");
    for (status, body, want) in [
        ("500 Internal Server Error", keyhole_core::provider::answer("litellm.no-db").unwrap().render(""), "unknown"),
        (
            "500 Internal Server Error",
            keyhole_core::provider::answer("litellm.no-db-short").unwrap().render(""),
            "unknown",
        ),
        (
            "401 Unauthorized",
            keyhole_core::provider::answer("litellm.upstream-auth").unwrap().render(""),
            "upstream.auth",
        ),
    ] {
        let raw = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\r\n{body}");
        let mut c = cmd("keyhole-classify", t.path());
        c.arg("--http").stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(raw.as_bytes()).unwrap();
        let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        let r: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(r["diagnoses"][0]["code"], want, "{r}");
        assert!(!text(&r["diagnoses"]).contains("openrouter.ai/api/v1"), "{r}");
        assert!(!text(&r["diagnoses"]).contains("url.bad_base"), "{r}");
    }
}

/// `keyhole-capture --forward` between a client and the gateway: the
/// credential arrived well, but the upstream answered 401 — the report
/// says the second hop fails, and exits 1.
#[test]
fn the_report_reads_a_capture_forward_chain_hop_by_hop() {
    let t = TempDir::new("gw-capture");
    let k = keys();
    let or = Imitation::start(&k.good, None);
    let gw = Gateway::start(&[&k.master, &k.virtual_key], &format!("{}/api/v1", or.base()), Some(&k.upstream));
    let mut c = cmd("keyhole-capture", t.path());
    c.args([
        "--listen",
        "127.0.0.1:0",
        "--as",
        "litellm",
        "--count",
        "1",
        "--forward",
        &format!("http://127.0.0.1:{}", gw.port),
    ]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port = capture_port(&line);
    let body = r#"{"model":"claude-sonnet","max_tokens":1,"messages":[{"role":"user","content":"2+2"}]}"#;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        k.virtual_key,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let out = child.wait_with_output().unwrap();
    let captured = String::from_utf8(out.stdout).unwrap();
    assert_no_canary("capture", &captured);
    let rec: Value = serde_json::from_str(captured.lines().next().unwrap()).unwrap();
    assert_eq!(rec["upstream"]["status"], 401, "{rec}");

    let mut r = cmd("keyhole-report", t.path());
    r.args(["--color", "never"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = r.spawn().unwrap();
    child.stdin.take().unwrap().write_all(captured.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let words = String::from_utf8(out.stdout).unwrap();
    assert_no_canary("report", &words);
    assert_eq!(out.status.code(), Some(1), "a failing chain: {words}");
    assert!(words.starts_with("keyhole: 1 checked — 1 failing"), "{words}");
    assert!(words.contains("✗ chain: hop 2 of 2 fails"), "{words}");
    assert!(words.contains("hop 1: client → keyhole-capture POST /v1/chat/completions ✓ ok"), "{words}");
    assert!(
        words.contains(&format!(
            "hop 2: keyhole-capture → http://127.0.0.1:{} ✗ upstream.auth the gateway passed on OpenRouter's refusal",
            gw.port
        )),
        "{words}"
    );
    assert!(!words.contains("\n  ✓ "), "the client hop's ok is not the verdict: {words}");

    let mut r = cmd("keyhole-report", t.path());
    r.args(["--format", "markdown"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = r.spawn().unwrap();
    child.stdin.take().unwrap().write_all(captured.as_bytes()).unwrap();
    let md = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(md.contains("**Chain**: hop 2 of 2 fails"), "{md}");
    assert!(md.contains("- hop 2: keyhole-capture → http://127.0.0.1:") && md.contains("✗ `upstream.auth`"), "{md}");
    assert!(md.contains("**Verdict**: ✗ failing"), "{md}");
}
