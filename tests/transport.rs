//! The transport of keyhole-probe (docs/wire.md#trust-proxies-and-redirects),
//! on the real provider host names: fixture configs keep
//! `https://openrouter.ai/api/v1`, and `--connect-to` / `--resolve` point
//! them at the loopback imitation behind a TLS front whose CA the tests make
//! (tests/util/tls.rs). Each redirect hop with its own scheme's trust and
//! proxy, one deadline for the whole probe, proxies as curl uses them, each
//! transport failure its kind, and each tool's own trust store.
//!
//! Every home has the noise a real machine has: Debian's .bashrc with its
//! interactive guard, a `.env.example` template, a second tool configured
//! correctly, and a fake /proc with unrelated processes.

mod util;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::imitation::Imitation;
use util::tls::{HttpsUpgrade, NoAuthProxy, Pki, PlainProxy, SlowHops, Socks5, TlsFront};
use util::*;

/// Debian's .bashrc, with `extra` below its interactive guard.
fn debian_bashrc(extra: &str) -> String {
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    format!("{stock}\n{extra}")
}

/// A home with the usual noise: Debian's .bashrc, a template, a fake /proc
/// with processes whose command lines name tools, and `continue_models`
/// (YAML list items) in Continue's config.
fn home(tag: &str, continue_models: &str) -> TempDir {
    let t = TempDir::new(tag);
    t.write(".bashrc", debian_bashrc(&format!("export EDITOR=vim\nexport UNRELATED_TOKEN={}\n", or_canary("UNRL"))));
    t.write(".profile", "if [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n");
    t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\nOPENAI_API_KEY=sk-...\n");
    t.write(".continue/config.yaml", format!("name: t\nversion: 1.0.0\nschema: v1\nmodels:\n{continue_models}"));
    fake_proc(t.path(), &[]);
    t
}

/// One Continue model (a YAML list item).
fn model(name: &str, base: &str, key: &str) -> String {
    format!(
        "  - name: {name}\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {base}\n    apiKey: {key}\n"
    )
}

/// find | env | probe PROBE_ARGS | classify on `home`, analysed environment `env`.
fn pipeline(home: &Path, env: &str, probe_args: &str) -> Vec<Value> {
    let env_file = home.join("analysed.env");
    std::fs::write(&env_file, env).unwrap();
    run_pipeline(&pipeline_command(home, &env_file, "", Some(probe_args)))
}

/// The site whose id ends with `frag`.
fn by_frag<'a>(records: &'a [Value], frag: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.ends_with(frag)))
        .unwrap_or_else(|| panic!("no record #{frag} in {records:#?}"))
}

fn codes(site: &Value) -> Vec<&str> {
    site["diagnoses"].as_array().map(|d| d.iter().filter_map(|x| x["code"].as_str()).collect()).unwrap_or_default()
}

/// keyhole-probe alone on `records` (JSON lines) with `args`; the analysed environment is `env`.
fn probe(home: &Path, env: &str, records: &str, args: &[&str]) -> Run {
    let env_file = home.join("probe.env");
    std::fs::write(&env_file, env).unwrap();
    let mut p = cmd("keyhole-probe", home);
    p.arg("--home").arg(home).arg("--env-file").arg(&env_file).args(args);
    p.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = p.spawn().unwrap();
    child.stdin.take().unwrap().write_all(records.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_canary("probe stdout", &stdout);
    assert_no_canary("probe stderr", &stderr);
    let records = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Run { status: out.status.code().unwrap_or(-1), stdout, stderr, records }
}

/// keyhole-find's sites for `home`, as JSON lines.
fn find(home: &Path) -> String {
    let mut f = cmd("keyhole-find", home);
    f.arg("--home").arg(home).arg("-q");
    String::from_utf8(f.output().unwrap().stdout).unwrap()
}

/// The OpenRouter imitation on openrouter.ai: https through a TLS front
/// with `pki`'s leaf, http through a server that redirects to https.
struct RealHost {
    imi: Imitation,
    front: TlsFront,
    upgrade: HttpsUpgrade,
}

impl RealHost {
    fn start(known: &str, pki: &Pki) -> RealHost {
        let imi = Imitation::start(known, None);
        let front = TlsFront::start(pki, imi.port);
        RealHost { imi, front, upgrade: HttpsUpgrade::start() }
    }

    /// `--connect-to` for openrouter.ai's two ports.
    fn args(&self) -> String {
        format!(
            "--connect-to openrouter.ai:443:127.0.0.1:{} --connect-to openrouter.ai:80:127.0.0.1:{}",
            self.front.port, self.upgrade.port
        )
    }
}

#[test]
fn an_http_base_redirected_to_https_on_the_real_host_drops_the_key_and_says_so() {
    let known = or_canary("GOOD");
    let t = home(
        "transport-upgrade",
        &[model("plain", "http://openrouter.ai/api/v1", &known), model("tls", "https://openrouter.ai/api/v1", &known)]
            .concat(),
    );
    let pki = Pki::make(t.path(), "public");
    let host = RealHost::start(&known, &pki);
    let args = format!("{} --cacert {}", host.args(), pki.ca().display());
    let records = pipeline(t.path(), "LANG=C\n", &args);
    // The http site: redirected to https on the same host; the https hop is
    // verified with --cacert (not the first hop's scheme), gets no key, and
    // the imitation says so.
    let plain = by_frag(&records, "/models/0");
    let p = &plain["probe"];
    assert!(p["error"].is_null(), "the https hop trusts --cacert: {p}");
    assert_eq!(p["redirects"][0]["to"], "https://openrouter.ai/api/v1/key", "{p}");
    assert_eq!(p["redirects"][0]["auth_kept"], false, "{p}");
    assert_eq!(p["response"]["status"], 401, "{p}");
    assert_eq!(codes(plain).first(), Some(&"header.dropped_redirect"), "{plain}");
    // The https site on the same host works.
    let tls = by_frag(&records, "/models/1");
    assert_eq!(tls["probe"]["response"]["status"], 200, "{}", tls["probe"]);
    assert_eq!(tls["probe"]["request"]["trust"], "node");
    // The key reached the imitation once, over TLS, never on the redirected hop.
    let seen = host.imi.requests();
    let bearer = format!("Bearer {known}");
    let with_key: Vec<_> =
        seen.iter().filter(|s| s.path == "/api/v1/key" && s.header("authorization") == Some(&bearer)).collect();
    assert_eq!(with_key.len(), 1, "{seen:?}");

    // --resolve as curl reads it: the name resolves to the loopback address, TLS still checks openrouter.ai.
    let mut c = cmd("keyhole-probe", t.path());
    let url = format!("https://openrouter.ai:{}/api/v1/key", host.front.port);
    c.args([url.as_str(), "--key-env", "OPENROUTER_API_KEY", "--cacert"])
        .arg(pki.ca())
        .arg("--resolve")
        .arg(format!("openrouter.ai:{}:127.0.0.1", host.front.port))
        .env("OPENROUTER_API_KEY", &known);
    let r = run(c);
    assert_no_canary("probe", &r.stdout);
    assert_eq!(r.records[0]["probe"]["response"]["status"], 200, "{}", r.stdout);
}

#[test]
fn one_deadline_covers_every_hop() {
    let known = or_canary("GOOD");
    let slow = SlowHops::start(Duration::from_millis(600));
    let t =
        home("transport-deadline", &model("slow", &format!("http://127.0.0.1:{}/slow/0/api/v1", slow.port), &known));
    let sites = find(t.path());
    let start = Instant::now();
    let r = probe(t.path(), "LANG=C\n", &sites, &["--timeout", "2"]);
    let took = start.elapsed();
    let p = &by_frag(&r.records, "/models/0")["probe"];
    assert_eq!(p["error"]["kind"], "timeout", "{p}");
    assert!(took < Duration::from_millis(3500), "--timeout 2 over 10 slow hops took {took:?}");
    assert!(p["redirects"].as_array().unwrap().len() <= 4, "{p}");

    // A TLS handshake that never completes, and a body that trickles, count too.
    let hold = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = hold.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let conns: Vec<_> = hold.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(conns);
    });
    let imi = Imitation::start(&known, None);
    let models = [
        model("handshake", &format!("https://127.0.0.1:{held}/api/v1"), &known),
        model("trickle", &format!("{}/slowbody/api/v1", imi.base()), &known),
    ]
    .concat();
    t.write(".continue/config.yaml", format!("name: t\nversion: 1.0.0\nschema: v1\nmodels:\n{models}"));
    let sites = find(t.path());
    let start = Instant::now();
    let r = probe(t.path(), "LANG=C\n", &sites, &["--timeout", "2"]);
    let took = start.elapsed();
    let p = &by_frag(&r.records, "/models/0")["probe"];
    assert_eq!(p["error"]["kind"], "timeout", "{p}");
    let p = &by_frag(&r.records, "/models/1")["probe"];
    assert!(p["error"]["kind"] == "timeout" || p["response"]["body_error"].is_string(), "{p}");
    assert!(took < Duration::from_millis(3500), "a stalled handshake and a trickling body took {took:?}");
}

/// The direct leg of a proxy's differential check shares the probe's one deadline.
#[test]
fn the_direct_leg_after_a_slow_proxy_shares_the_deadline() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let proxy = NoAuthProxy::start(Duration::from_millis(1500));
    let t = home("transport-differential", &model("stall", &format!("{}/stall/api/v1", imi.base()), &known));
    let sites = find(t.path());
    let env = format!("HTTP_PROXY=http://127.0.0.1:{}\n", proxy.port);
    let start = Instant::now();
    let r = probe(t.path(), &env, &sites, &["--timeout", "2"]);
    let took = start.elapsed();
    let p = &by_frag(&r.records, "/models/0")["probe"];
    assert_eq!(p["differential"][1]["error"]["kind"], "timeout", "{p}");
    assert!(
        took < Duration::from_millis(3000),
        "--timeout 2, a 1.5 s proxy leg and a stalled direct leg took {took:?}"
    );
}

#[test]
fn a_plain_http_proxy_carries_http_urls_in_absolute_form_and_no_proxy_reads_as_curl() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let proxy = PlainProxy::start();
    let t = home("transport-proxy", &model("local", &format!("{}/api/v1", imi.base()), &known));
    let sites = find(t.path());
    // A plain proxy that refuses CONNECT: curl goes through it, and so does the probe.
    let env = format!("HTTP_PROXY=http://user:pw@127.0.0.1:{}\nLANG=C\n", proxy.port);
    let r = probe(t.path(), &env, &sites, &["--timeout", "5"]);
    let p = &by_frag(&r.records, "/models/0")["probe"];
    assert!(p["error"].is_null(), "{p}");
    assert_eq!(p["response"]["status"], 200, "{p}");
    let shown = p["proxy"].as_str().unwrap();
    assert!(shown.ends_with(&format!("@127.0.0.1:{}", proxy.port)) && !shown.contains(":pw@"), "{shown}");
    // (The account reads that follow a working key go the same way.)
    let lines: Vec<String> = proxy.lines.lock().unwrap().iter().filter(|l| l.contains("/key ")).cloned().collect();
    assert_eq!(
        lines,
        vec![format!("GET http://127.0.0.1:{}/api/v1/key HTTP/1.1", imi.port)],
        "absolute form, no CONNECT"
    );
    assert!(imi.requests().iter().any(|s| s.header("authorization").is_some()), "the key went through");

    // NO_PROXY as curl reads it: a CIDR range, an IPv6 address, a suffix.
    for (no_proxy, direct) in [
        ("127.0.0.0/8", true),
        ("10.0.0.0/8,[::1]", false),
        ("::1, .example.com", false),
        ("*", true),
        ("127.0.0.1:1", false),
    ] {
        let before = proxy.lines.lock().unwrap().len();
        let env = format!("http_proxy=http://127.0.0.1:{}\nNO_PROXY={no_proxy}\n", proxy.port);
        let r = probe(t.path(), &env, &sites, &["--timeout", "5"]);
        let p = &by_frag(&r.records, "/models/0")["probe"];
        assert_eq!(p["response"]["status"], 200, "NO_PROXY={no_proxy}: {p}");
        let through = proxy.lines.lock().unwrap().len() > before;
        assert_eq!(p["proxy"].is_null(), direct, "NO_PROXY={no_proxy}: {p}");
        assert_eq!(through, !direct, "NO_PROXY={no_proxy}");
    }
}

#[test]
fn socks_proxies_work_or_fail_as_a_proxy_error_never_a_panic() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let (_hold, refused) = refused_port();
    let t = home("transport-socks", &model("local", &format!("{}/api/v1", imi.base()), &known));
    let sites = find(t.path());
    for scheme in ["socks5h", "socks5", "socks4", "socks4a"] {
        let env = format!("ALL_PROXY={scheme}://127.0.0.1:{refused}\n");
        let r = probe(t.path(), &env, &sites, &["--timeout", "3"]);
        assert_eq!(r.status, 0, "{}", r.stderr);
        let p = &by_frag(&r.records, "/models/0")["probe"];
        assert!(p.is_object(), "{scheme}: probe is {p}");
        assert_eq!(p["error"]["kind"], "proxy", "{scheme}: {p}");
    }
    // A SOCKS5 proxy that works: the request goes through it (socks5h: the proxy resolves the name).
    let socks = Socks5::start();
    for scheme in ["socks5h", "socks5"] {
        let before = socks.tunnels.load(std::sync::atomic::Ordering::SeqCst);
        let r =
            probe(t.path(), &format!("ALL_PROXY={scheme}://127.0.0.1:{}\n", socks.port), &sites, &["--timeout", "5"]);
        let p = &by_frag(&r.records, "/models/0")["probe"];
        assert_eq!(p["response"]["status"], 200, "{scheme}: {p}");
        assert!(socks.tunnels.load(std::sync::atomic::Ordering::SeqCst) > before, "{scheme}: not through the proxy");
    }
}

#[test]
fn each_transport_failure_has_its_kind() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let (_hold, refused) = refused_port();
    // A key of 20 KiB is never sent: too large, not "the server speaks HTTP/2".
    let huge = format!("sk-or-v1-{}", "c".repeat(20 * 1024));
    let models = [
        model("huge", &format!("{}/api/v1", imi.base()), &huge),
        model("refused", &format!("http://127.0.0.1:{refused}/api/v1"), &known),
        model("reset", &format!("{}/reset/api/v1", imi.base()), &known),
        model("h2", &format!("{}/h2/api/v1", imi.base()), &known),
        model("stall", &format!("{}/stall/api/v1", imi.base()), &known),
    ]
    .concat();
    let t = home("transport-kinds", &models);
    let sites = find(t.path());
    let r = probe(t.path(), "LANG=C\n", &sites, &["--timeout", "2"]);
    let kind = |i: usize| {
        let p = &by_frag(&r.records, &format!("/models/{i}"))["probe"];
        (
            p["error"]["kind"].as_str().unwrap_or("none").to_string(),
            p["error"]["message"].as_str().unwrap_or("").to_string(),
        )
    };
    let (k, m) = kind(0);
    assert_eq!(k, "too_large", "{m}");
    assert!(!m.contains("HTTP/2") && m.contains("nothing was sent"), "{m}");
    assert!(imi.requests().iter().all(|s| s.header("authorization").is_none_or(|a| a.len() < 1000)), "never sent");
    assert_eq!(kind(1).0, "connect");
    let (k, m) = kind(2);
    assert_eq!(k, "protocol", "{m}");
    assert!(m.contains("reset") && !m.contains("TLS"), "{m}");
    let (k, m) = kind(3);
    assert_eq!(k, "protocol", "{m}");
    assert!(m.contains("HTTP/2"), "{m}");
    assert_eq!(kind(4).0, "timeout");
}

/// A TLS-inspecting proxy re-signs openrouter.ai with a corporate CA that
/// the system trusts (the analysed environment's SSL_CERT_FILE) and no tool
/// bundles: a Node tool fails where curl works, and the fix is Node's.
#[test]
fn behind_tls_inspection_each_tool_trusts_its_own_store() {
    let known = or_canary("GOOD");
    let t = home("transport-trust", &model("node", "https://openrouter.ai/api/v1", &known));
    // A Python tool with its key in its own config, and Goose (a Go/Rust client on the system's roots).
    t.write(
        ".aider.conf.yml",
        format!("model: openrouter/anthropic/claude-sonnet-4.5\napi-key:\n  - openrouter={known}\n"),
    );
    let corp = Pki::make(t.path(), "corp");
    let host = RealHost::start(&known, &corp);
    let ca = corp.ca().display().to_string();
    let args = host.args();
    let aider = |records: &[Value]| -> Value {
        records
            .iter()
            .find(|r| r["tool"] == "aider")
            .cloned()
            .unwrap_or_else(|| panic!("no aider site in {records:#?}"))
    };

    // The system trusts the corporate CA; Node's bundled roots do not.
    let records = pipeline(t.path(), &format!("SSL_CERT_FILE={ca}\nLANG=C\n"), &args);
    let node = by_frag(&records, "/models/0");
    let p = &node["probe"];
    assert_eq!(p["request"]["trust"], "node", "{p}");
    assert_eq!(p["error"]["kind"], "tls", "{p}");
    assert!(p["error"]["message"].as_str().unwrap().contains("the system's CA bundle does"), "{p}");
    assert_eq!(
        p["fix"].as_str().unwrap().split_whitespace().nth(1),
        Some(format!("NODE_EXTRA_CA_CERTS={ca}").as_str())
    );
    let d = &node["diagnoses"][0];
    assert_eq!(d["code"], "net.tls", "{node}");
    assert!(d["fix"].to_string().contains("NODE_EXTRA_CA_CERTS="), "{d}");
    // Python's httpx reads SSL_CERT_FILE: aider works here.
    let py = aider(&records);
    assert_eq!(py["probe"]["request"]["trust"], "certifi");
    assert_eq!(py["probe"]["response"]["status"], 200, "{}", py["probe"]);

    // NODE_EXTRA_CA_CERTS in the environment the tool starts with: Node trusts it.
    // REQUESTS_CA_BUNDLE: certifi is replaced. Nothing names the CA as the system's.
    let env = format!("NODE_EXTRA_CA_CERTS={ca}\nREQUESTS_CA_BUNDLE={ca}\nLANG=C\n");
    let records = pipeline(t.path(), &env, &args);
    let node = by_frag(&records, "/models/0");
    assert_eq!(node["probe"]["response"]["status"], 200, "{}", node["probe"]);
    assert_eq!(aider(&records)["probe"]["response"]["status"], 200);

    // No store holds the CA: a plain TLS failure, no tool-specific fix.
    let records = pipeline(t.path(), "LANG=C\n", &args);
    let p = &by_frag(&records, "/models/0")["probe"];
    assert_eq!(p["error"]["kind"], "tls", "{p}");
    assert!(p["fix"].is_null(), "{p}");
    assert!(p["error"]["message"].as_str().unwrap().contains("UnknownIssuer"), "{p}");
    assert_eq!(aider(&records)["probe"]["error"]["kind"], "tls");
}
