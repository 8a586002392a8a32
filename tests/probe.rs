//! keyhole-probe, run as a process behind keyhole-find, against the loopback
//! provider imitation (tests/util/imitation.rs). Each test asserts both what
//! the probe recorded and what the imitation actually received.

mod util;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;
use util::imitation::{self, Imitation};
use util::*;

/// keyhole-find on `home`, piped into keyhole-probe with `args`.
fn find_probe(home: &std::path::Path, probe_args: &[&str], stdin_extra: &str) -> Run {
    let mut f = cmd("keyhole-find", home);
    f.arg("--home").arg(home).arg("-q");
    let found = f.output().unwrap();
    let mut input = found.stdout;
    input.extend_from_slice(stdin_extra.as_bytes());
    let mut p = cmd("keyhole-probe", home);
    p.arg("--home").arg(home).args(probe_args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = p.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_canary("probe stdout", &stdout);
    assert_no_canary("probe stderr", &stderr);
    let records = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Run { status: out.status.code().unwrap_or(-1), stdout, stderr, records }
}

fn by_frag<'a>(r: &'a Run, frag: &str) -> &'a Value {
    r.records
        .iter()
        .find(|x| x["id"].as_str().is_some_and(|i| i.ends_with(frag)))
        .unwrap_or_else(|| panic!("no record #{frag} in {}", r.stdout))
}

fn continue_home(t: &TempDir, base: &str, known: &str) {
    let m = |name: &str, prov: &str, api: &str, key: &str| {
        format!("  - name: {name}\n    provider: {prov}\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {base}{api}\n{key}")
    };
    let bad = or_canary("BAD1");
    let ant = format!("sk-ant-api03-{}ANT1", "c".repeat(40));
    let oai = format!("sk-proj-{}OAI1", "c".repeat(30));
    let cfg = [
        "name: t\nversion: 1.0.0\nschema: v1\nmodels:\n".to_string(),
        m("good", "openrouter", "/api/v1/", &format!("    apiKey: {known}\n")),
        m("placeholder", "openrouter", "/api/v1", "    apiKey: \"${env:OPENROUTER_API_KEY}\"\n"),
        m("secrets", "openrouter", "/api/v1", "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n"),
        m("nokey", "openrouter", "/api/v1", ""),
        m("unknown", "openrouter", "/api/v1", &format!("    apiKey: {bad}\n")),
        m("away", "openrouter", "/redirect-away/api/v1", &format!("    apiKey: {known}\n")),
        m("same", "openrouter", "/redirect-same/api/v1", &format!("    apiKey: {known}\n")),
        m("loop", "openrouter", "/loop/api/v1", &format!("    apiKey: {known}\n")),
        m("reset", "openrouter", "/reset/api/v1", &format!("    apiKey: {known}\n")),
        m("big", "openrouter", "/big/api/v1", &format!("    apiKey: {known}\n")),
        m("html", "openrouter", "/html/api/v1", &format!("    apiKey: {known}\n")),
        m("oai", "openai", "/openai/v1", &format!("    apiKey: {oai}\n")),
        m("ant", "anthropic", "/anthropic/v1", &format!("    apiKey: {ant}\n")),
    ]
    .concat();
    t.write(".continue/config.yaml", cfg);
}

#[test]
fn probes_send_what_the_tool_sends_and_record_the_answer() {
    let known = or_canary("GOOD");
    let other = Imitation::start(&known, None);
    let imi = Imitation::start(&known, Some(other.port));
    let t = TempDir::new("probe");
    continue_home(&t, &imi.base(), &known);
    // The analysed environment: the variable that ${{ secrets.X }} reads.
    let env = t.write("env", format!("OPENROUTER_API_KEY={known}\n"));
    let start = Instant::now();
    let r = find_probe(t.path(), &["--env-file", env.to_str().unwrap(), "--timeout", "5"], "");
    assert!(start.elapsed().as_secs() < 15, "bounded by the timeout");
    assert_eq!(r.status, 0, "{}", r.stderr);

    let good = by_frag(&r, "/models/0");
    assert_eq!(good["probe"]["response"]["status"], 200);
    assert_eq!(
        good["probe"]["request"]["url"],
        format!("{}/api/v1/key", imi.base()),
        "trailing slash trimmed, as Continue joins"
    );
    assert_eq!(good["probe"]["request"]["auth_header"], "authorization");
    assert_eq!(good["probe"]["request"]["fp"]["sha8"], good["key"]["fp"]["sha8"]);
    assert_eq!(good["probe"]["response"]["body"]["data"]["limit"], 100);
    assert!(good["probe"]["elapsed_ms"].as_u64().is_some());

    let ph = by_frag(&r, "/models/1");
    assert_eq!(ph["probe"]["response"]["status"], 401);
    assert_eq!(ph["probe"]["response"]["body"]["error"]["message"], "Missing Authentication header");
    let sec = by_frag(&r, "/models/2");
    assert_eq!(sec["probe"]["response"]["status"], 200, "secrets resolve from the analysed environment");
    let nokey = by_frag(&r, "/models/3");
    assert_eq!(nokey["probe"]["response"]["body"]["error"]["message"], "Missing Authentication header");
    let unknown = by_frag(&r, "/models/4");
    assert_eq!(unknown["probe"]["response"]["body"]["error"]["message"], "User not found.");

    // What the imitation received: the placeholder text itself, and an empty Bearer.
    let seen = imi.requests();
    let auths: Vec<String> = seen.iter().filter_map(|s| s.header("authorization").map(str::to_string)).collect();
    assert!(auths.contains(&"Bearer ${env:OPENROUTER_API_KEY}".to_string()), "{auths:?}");
    assert!(auths.iter().any(|a| a == "Bearer" || a == "Bearer "), "{auths:?}");

    // Cross-origin redirect: recorded, followed without the key; the other origin never saw it.
    let away = by_frag(&r, "/models/5");
    assert_eq!(away["probe"]["redirects"][0]["status"], 301);
    assert_eq!(away["probe"]["redirects"][0]["auth_kept"], false);
    assert_eq!(away["probe"]["response"]["body"]["error"]["message"], "No cookie auth credentials found");
    assert!(other.requests().iter().all(|s| s.header("authorization").is_none()), "the key went to another origin");
    assert!(!other.requests().is_empty());
    let same = by_frag(&r, "/models/6");
    assert_eq!(same["probe"]["redirects"][0]["auth_kept"], true);
    assert_eq!(same["probe"]["response"]["status"], 200);
    let lp = by_frag(&r, "/models/7");
    assert_eq!(lp["probe"]["error"]["kind"], "protocol");
    assert!(lp["probe"]["error"]["message"].as_str().unwrap().contains("redirect loop"));
    let reset = by_frag(&r, "/models/8");
    assert!(reset["probe"]["error"]["kind"].is_string(), "{}", reset["probe"]);
    let big = by_frag(&r, "/models/9");
    assert_eq!(big["probe"]["response"]["body_truncated"], true);
    assert!(big["probe"]["response"]["body"].as_str().unwrap().len() <= 4000);
    let html = by_frag(&r, "/models/10");
    assert_eq!(html["probe"]["response"]["status"], 404);
    assert!(html["probe"]["response"]["body"].as_str().unwrap().starts_with("<!DOCTYPE html>"));

    // OpenAI echoes the key: redacted. Anthropic gets x-api-key and anthropic-version.
    let oai = by_frag(&r, "/models/11");
    let msg = oai["probe"]["response"]["body"]["error"]["message"].as_str().unwrap();
    assert!(msg.contains("(redacted key)") && !msg.contains("OAI1"), "{msg}");
    let ant = by_frag(&r, "/models/12");
    assert_eq!(ant["probe"]["request"]["auth_header"], "x-api-key");
    assert_eq!(ant["probe"]["response"]["body"]["error"]["message"], "invalid x-api-key");
    let ant_seen = seen.iter().find(|s| s.path == "/anthropic/v1/models").unwrap();
    assert_eq!(ant_seen.header("anthropic-version"), Some("2023-06-01"));
    assert!(ant_seen.header("authorization").is_none());
}

#[test]
fn timeout_refused_and_newline_keys() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-faults");
    let (_dead, dead_port) = refused_port();
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n  - provider: openrouter\n    apiBase: {}/stall/api/v1\n    apiKey: {known}\n  - provider: openrouter\n    apiBase: http://127.0.0.1:{dead_port}/api/v1\n    apiKey: {known}\n",
            imi.base()
        ),
    );
    // A key with a trailing newline (python-dotenv decodes "\n"): no client may send it.
    t.write("proj/.env", format!("OPENROUTER_API_KEY=\"{known}\\n\"\n"));
    let url = format!("openrouter={}/api/v1", imi.base());
    let start = Instant::now();
    let r = find_probe(t.path(), &["--timeout", "1", "--provider-url", &url], "");
    let took = start.elapsed().as_secs_f64();
    assert!(took < 4.0, "timeout + 1 s (and some start-up): took {took}");
    let stall = by_frag(&r, "/models/0");
    assert_eq!(stall["probe"]["error"]["kind"], "timeout", "{}", stall["probe"]);
    let refused = by_frag(&r, "/models/1");
    assert_eq!(refused["probe"]["error"]["kind"], "connect", "{}", refused["probe"]);
    let nl = r.records.iter().find(|x| x["tool"] == "dotenv").unwrap();
    assert_eq!(nl["key"]["fp"]["flaws"], serde_json::json!(["trailing_newline"]));
    assert_eq!(nl["probe"]["request"]["header_invalid"], true);
    assert_eq!(nl["probe"]["error"]["kind"], "protocol");
    assert!(imi.requests().iter().all(|s| s.path != "/api/v1/key"), "the newline key was never sent");
}

#[test]
fn pass_through_bad_lines_dedupe_and_unset_variables() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-pass");
    // Three identical sites: one request.
    for i in 0..3 {
        t.write(&format!("p{i}/.env"), format!("OPENROUTER_API_KEY={known}\n"));
    }
    // LiteLLM with no api_key and OPENROUTER_API_KEY unset: no header at all (measured).
    t.write("proxy/config.yaml", format!("model_list:\n  - model_name: m\n    litellm_params:\n      model: openrouter/x/y\n      api_base: {}/api/v1\n", imi.base()));
    let env = t.write("env", "PATH=/usr/bin\n");
    let url = format!("openrouter={}/api/v1", imi.base());
    let r = find_probe(
        t.path(),
        &["--env-file", env.to_str().unwrap(), "--provider-url", &url],
        "not json\n{\"type\":\"note\",\"x\":1}\n",
    );
    assert_eq!(r.status, 2, "a bad input line means exit 2");
    let types: Vec<&str> = r.records.iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(&types[types.len() - 2..], ["error", "note"], "order kept, unknown records passed through");
    let dotenv_sites: Vec<&Value> = r.records.iter().filter(|x| x["tool"] == "dotenv").collect();
    assert_eq!(dotenv_sites.len(), 3);
    assert!(dotenv_sites.iter().all(|s| s["probe"]["response"]["status"] == 200));
    let lit = r.records.iter().find(|x| x["tool"] == "litellm").unwrap();
    assert_eq!(lit["probe"]["request"]["auth_header"], "none");
    assert_eq!(lit["probe"]["response"]["body"]["error"]["message"], "No cookie auth credentials found");
    let key_checks =
        imi.requests().iter().filter(|s| s.header("authorization").is_some() && s.path == "/api/v1/key").count();
    assert_eq!(key_checks, 1, "identical requests are sent once");
    let credits = imi.requests().iter().filter(|s| s.path == "/api/v1/credits").count();
    assert_eq!(credits, 1, "the working key's account is read once (docs/records.md#account-state)");
}

#[test]
fn many_keys_to_one_api_share_a_few_kept_alive_connections() {
    let imi = Imitation::start(&or_canary("GOOD"), None);
    let t = TempDir::new("probe-many");
    let tags: Vec<String> = (0..24).map(|i| format!("M{i:03}")).collect();
    for tag in &tags {
        t.write(&format!("{tag}/.env"), format!("OPENROUTER_API_KEY={}\n", or_canary(tag)));
    }
    let url = format!("openrouter={}/api/v1", imi.base());
    let r = find_probe(t.path(), &["--provider-url", &url, "--jobs", "3"], "");
    assert_eq!(r.status, 0, "{}", r.stderr);
    let mut last4: Vec<&str> = r.records.iter().filter_map(|x| x["probe"]["request"]["fp"]["last4"].as_str()).collect();
    last4.sort();
    assert_eq!(last4, tags.iter().map(|t| &t[..]).collect::<Vec<_>>(), "every key probed once");
    assert!(r.records.iter().all(|x| x["probe"]["response"]["body"]["error"]["message"] == "User not found."));
    assert_eq!(imi.requests().len(), 24);
    let conns = imi.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=6).contains(&conns), "24 requests, 3 at a time, came over {conns} connections");
}

#[test]
fn one_key_in_many_batches_is_sent_once() {
    // 300 sites: the probe reads its input in batches of at most 256, and
    // sends an identical request once per run, not once per batch.
    let known = or_canary("ONCE");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-once");
    for i in 0..300 {
        t.write(&format!("p{i:03}/.env"), format!("OPENROUTER_API_KEY={known}\n"));
    }
    let url = format!("openrouter={}/api/v1", imi.base());
    let r = find_probe(t.path(), &["--provider-url", &url], "");
    assert_eq!(r.status, 0, "{}", r.stderr);
    let statuses: Vec<&Value> = r.records.iter().map(|x| &x["probe"]["response"]["status"]).collect();
    assert_eq!(statuses.len(), 300);
    assert!(statuses.iter().all(|s| *s == 200));
    let paths: Vec<String> = imi.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/api/v1/key", "/api/v1/credits"], "one key check and one account read for 300 identical sites");
    // Probing probed records again replaces their probe: one per record.
    let mut p = cmd("keyhole-probe", t.path());
    p.arg("--home").arg(t.path()).args(["--provider-url", &url]);
    p.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = p.spawn().unwrap();
    child.stdin.take().unwrap().write_all(r.stdout.as_bytes()).unwrap();
    let again = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert_no_canary("probe again", &again);
    assert_eq!(again.lines().count(), 300);
    assert!(again.lines().all(|l| l.matches("\"probe\":").count() == 1), "{again}");
}

#[test]
fn a_live_input_is_answered_line_by_line() {
    // `tail -f | keyhole-probe`: a site is answered while the input is still
    // open, and the same site later is answered from the run's first request.
    let known = or_canary("LIVE");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-live");
    t.write(".env", format!("OPENROUTER_API_KEY={known}\n"));
    let url = format!("openrouter={}/api/v1", imi.base());
    let found = run({
        let mut f = cmd("keyhole-find", t.path());
        f.arg("--home").arg(t.path()).args(["-q", "--provider-url", &url]);
        f
    });
    let line = found.stdout.lines().find(|l| l.contains("\"type\":\"site\"")).expect("a site").to_string();
    let mut p = cmd("keyhole-probe", t.path());
    p.arg("--home").arg(t.path()).args(["--provider-url", &url]);
    p.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = p.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let _ = tx.send(l.unwrap());
        }
    });
    for round in 0..2 {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let out = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("round {round}: no answer while the input stays open"));
        assert_no_canary("live probe", &out);
        let r: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(r["probe"]["response"]["status"], 200, "round {round}: {out}");
    }
    drop(stdin);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_no_canary("live probe stderr", &stderr);
    assert!(child.wait().unwrap().success(), "{stderr}");
    assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).is_err(), "one line out per line in");
    let paths: Vec<String> = imi.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/api/v1/key", "/api/v1/credits"], "the repeat was answered from the run's first requests");
}

#[test]
fn offline_passes_records_through_untouched() {
    let home = fixtures().join("homes/continue");
    let r = find_probe(&home, &["--offline"], "");
    assert_eq!(r.status, 0);
    assert!(r.records.iter().all(|x| x.get("probe").is_none()));
    assert_eq!(r.records.len(), 7);
}

#[test]
fn standalone_url_with_key_env() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-alone");
    let mut c = cmd("keyhole-probe", t.path());
    c.arg(format!("{}/api/v1/key", imi.base()))
        .args(["--key-env", "OPENROUTER_API_KEY"])
        .env("OPENROUTER_API_KEY", &known);
    let r = run(c);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_no_canary("stdout", &r.stdout);
    assert_eq!(r.records[0]["type"], "probe");
    assert_eq!(r.records[0]["probe"]["response"]["status"], 200);
    assert_eq!(r.records[0]["probe"]["request"]["fp"]["last4"], "GOOD");
}

#[test]
fn man_page_is_current() {
    assert_man_current("keyhole-probe");
}

/// Certificates made here with the openssl CLI: a test CA, a leaf for
/// 127.0.0.1 signed by it, and an expired leaf.
fn make_certs(dir: &std::path::Path) {
    let sh = r#"set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3 -subj /CN=keyhole-test-ca
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext
mkdir -p db && touch db/index.txt && echo 01 > db/serial
printf '[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = db/index.txt\nserial = db/serial\nnew_certs_dir = db\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n[ext]\nsubjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n' > ca.cnf
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in leaf.csr -out expired.pem -startdate 20200101000000Z -enddate 20200102000000Z -extensions ext -notext
"#;
    let ok = Command::new("bash")
        .arg("-c")
        .arg(sh)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl could not make the test certificates");
}

/// `openssl s_server -www` on a free loopback port, killed on drop.
struct TlsServer(std::process::Child, u16);

impl TlsServer {
    fn start(dir: &std::path::Path, cert: &str) -> TlsServer {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
                cert,
                "-key",
                "leaf.key",
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        TlsServer(child, port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tls_problems_are_named_and_cacert_fixes_an_unknown_ca() {
    let t = TempDir::new("probe-tls");
    make_certs(t.path());
    let good = TlsServer::start(t.path(), "leaf.pem");
    let expired = TlsServer::start(t.path(), "expired.pem");
    let known = or_canary("GOOD");
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n  - provider: openrouter\n    apiBase: https://127.0.0.1:{}/api/v1\n    apiKey: {known}\n  - provider: openrouter\n    apiBase: https://127.0.0.1:{}/api/v1\n    apiKey: {known}\n",
            good.1, expired.1
        ),
    );
    // Without the CA: the certificate problem is named, with what to do.
    let r = find_probe(t.path(), &["--timeout", "5"], "");
    let p = &by_frag(&r, "/models/0")["probe"];
    assert_eq!(p["error"]["kind"], "tls", "{p}");
    let msg = p["error"]["message"].as_str().unwrap();
    assert!(msg.contains("UnknownIssuer") && msg.contains("--cacert"), "{msg}");
    // With --cacert: the handshake succeeds and s_server's page is the answer.
    let ca = t.path().join("ca.pem");
    let r = find_probe(t.path(), &["--timeout", "5", "--cacert", ca.to_str().unwrap()], "");
    let p = &by_frag(&r, "/models/0")["probe"];
    assert!(p["error"].is_null(), "{p}");
    assert_eq!(p["response"]["status"], 200);
    let p = &by_frag(&r, "/models/1")["probe"];
    assert_eq!(p["error"]["kind"], "tls", "{p}");
    assert!(p["error"]["message"].as_str().unwrap().contains("expired"), "{p}");
    // A --cacert that is not a certificate is a clear error.
    let bad = t.write("bad.pem", "not a certificate\n");
    let r = find_probe(t.path(), &["--cacert", bad.to_str().unwrap()], "");
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("holds no PEM certificate"), "{}", r.stderr);
}

#[test]
fn http2_only_server_is_a_protocol_error() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-h2");
    t.write(
        ".continue/config.yaml",
        format!("models:\n  - provider: openrouter\n    apiBase: {}/h2/api/v1\n    apiKey: {known}\n", imi.base()),
    );
    let r = find_probe(t.path(), &["--timeout", "3"], "");
    let p = &by_frag(&r, "/models/0")["probe"];
    assert_eq!(p["error"]["kind"], "protocol", "{p}");
    assert!(p["error"]["message"].as_str().unwrap().contains("HTTP/2"), "{p}");
}

#[test]
fn a_header_stripping_proxy_is_pinned_by_the_differential_check() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let proxy = imitation::StrippingProxy::start();
    let t = TempDir::new("probe-proxy");
    t.write(
        ".continue/config.yaml",
        format!("models:\n  - provider: openrouter\n    apiBase: {}/api/v1\n    apiKey: {known}\n", imi.base()),
    );
    let env = t.write("env", format!("HTTP_PROXY=http://user:secretpw@127.0.0.1:{}\n", proxy.port));
    let r = find_probe(t.path(), &["--env-file", env.to_str().unwrap(), "--timeout", "5"], "");
    assert!(!r.stdout.contains("secretpw"), "proxy credentials are redacted");
    let p = &by_frag(&r, "/models/0")["probe"];
    assert_eq!(p["proxy"], format!("http://(credentials redacted)@127.0.0.1:{}", proxy.port));
    assert_eq!(p["response"]["body"]["error"]["message"], "No cookie auth credentials found", "{p}");
    assert_eq!(p["differential"][0]["via"], "proxy");
    assert_eq!(p["differential"][0]["no_credentials"], true);
    assert_eq!(p["differential"][1]["via"], "direct");
    assert_eq!(p["differential"][1]["status"], 200);
    assert_eq!(p["stripped_by"], "proxy");
    assert!(*proxy.stripped.lock().unwrap() >= 1, "the proxy saw and stripped the header");
    // NO_PROXY for the host: no proxy, no differential.
    let env = t.write("env2", format!("HTTP_PROXY=http://127.0.0.1:{}\nNO_PROXY=localhost,127.0.0.1\n", proxy.port));
    let r = find_probe(t.path(), &["--env-file", env.to_str().unwrap()], "");
    let p = &by_frag(&r, "/models/0")["probe"];
    assert!(p["proxy"].is_null() && p.get("differential").is_none(), "{p}");
    assert_eq!(p["response"]["status"], 200);
}

#[test]
fn redirect_hops_say_what_common_clients_do() {
    let known = or_canary("GOOD");
    let other = Imitation::start(&known, None);
    let imi = Imitation::start(&known, Some(other.port));
    let t = TempDir::new("probe-clients");
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n  - provider: openrouter\n    apiBase: {}/redirect-away/api/v1\n    apiKey: {known}\n",
            imi.base()
        ),
    );
    let r = find_probe(t.path(), &[], "");
    let hop = &by_frag(&r, "/models/0")["probe"]["redirects"][0];
    // Another port is another origin: curl, requests and fetch drop Authorization; Go keeps it (same host).
    assert_eq!(hop["clients"]["curl"], false);
    assert_eq!(hop["clients"]["python-requests"], false);
    assert_eq!(hop["clients"]["node-fetch"], false);
    assert_eq!(hop["clients"]["go"], true);
}

#[test]
fn a_protocol_relative_location_is_another_origin_and_gets_no_key() {
    // `Location: //host:port/x` names another origin (RFC 3986 §4.2): the hop
    // goes there, without the key (it used to be taken as a path on the first origin).
    let known = or_canary("GOOD");
    let other = Imitation::start(&known, None);
    let imi = Imitation::start(&known, Some(other.port));
    let t = TempDir::new("probe-relative");
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n  - provider: openrouter\n    apiBase: {}/redirect-relative/api/v1\n    apiKey: {known}\n",
            imi.base()
        ),
    );
    let r = find_probe(t.path(), &["--timeout", "5"], "");
    assert_eq!(r.status, 0, "{}", r.stderr);
    let p = &by_frag(&r, "/models/0")["probe"];
    let hop = &p["redirects"][0];
    assert_eq!(hop["status"], 301, "{p}");
    assert_eq!(hop["to"], format!("{}/api/v1/key", other.base()));
    assert_eq!(hop["auth_kept"], false);
    assert_eq!(hop["clients"]["curl"], false);
    assert_eq!(p["response"]["body"]["error"]["message"], "No cookie auth credentials found", "{p}");
    let there = other.requests();
    assert_eq!(there.len(), 1, "the other host got the request");
    assert!(there.iter().all(|s| s.header("authorization").is_none()), "the key went to another origin");
    assert!(imi.requests().iter().all(|s| !s.path.starts_with("//")), "not a path on the first origin");
}

#[test]
fn progress_shows_on_a_terminal_after_a_second() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("the test needs `script` (util-linux) to give the probe a terminal");
    }
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-progress");
    t.write(
        ".continue/config.yaml",
        format!("models:\n  - provider: openrouter\n    apiBase: {}/stall/api/v1\n    apiKey: {known}\n", imi.base()),
    );
    let mut f = cmd("keyhole-find", t.path());
    f.arg("--home").arg(t.path()).arg("-q");
    let sites = t.write("sites.jsonl", f.output().unwrap().stdout);
    let line = format!(
        "{} --home {} --timeout 2 < {} > {}",
        bin("keyhole-probe").display(),
        t.path().display(),
        sites.display(),
        t.path().join("out.jsonl").display()
    );
    // script gives the probe a terminal on stderr; what it wrote there is in the transcript.
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(transcript.contains("keyhole-probe: 0/1 probes"), "{transcript}");
    // …and never on a pipe: the other tests' stderr is empty.
    let r = find_probe(t.path(), &["--timeout", "2"], "");
    assert!(!r.stderr.contains("probes"), "{}", r.stderr);
}

/// find | env | probe: the key sent is the one keyhole-env says the tool gets.
#[test]
fn the_key_sent_is_env_effective() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("probe-eff");
    // Continue reads ${{ secrets.X }}: not in the (analysed) environment, but in ~/.continue/.env.
    t.write(".continue/config.yaml", format!("models:\n  - provider: openrouter\n    model: m\n    apiBase: {}/api/v1\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n", imi.base()));
    t.write(".continue/.env", format!("OPENROUTER_API_KEY={known}\n"));
    // A LiteLLM proxy whose running process has the key (a fake /proc).
    t.write("proxy/config.yaml", format!("model_list:\n  - model_name: m\n    litellm_params:\n      model: openrouter/x/y\n      api_key: os.environ/OPENROUTER_API_KEY\n      api_base: {}/api/v1\n", imi.base()));
    let me = unsafe { libc::geteuid() };
    let p = t.path().join("proc/5000");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("cmdline"), "python3\0/usr/bin/litellm\0--config\0proxy/config.yaml").unwrap();
    std::fs::write(p.join("environ"), format!("HOME=/x\0OPENROUTER_API_KEY={known}\0")).unwrap();
    std::fs::write(p.join("status"), format!("Uid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
    std::fs::write(p.join("stat"), "5000 (python3) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 1 1").unwrap();
    std::fs::write(t.path().join("proc/stat"), "btime 1700000000\n").unwrap();
    let envf = t.write("analysed.env", "PATH=/usr/bin\n");
    let proc_root = t.path().join("proc");
    let pipeline = format!(
        "{find} --home {h} -q | {env} --home {h} -q --env-file {e} --proc-root {p} | {probe} --home {h} --env-file {e} --proc-root {p}",
        find = bin("keyhole-find").display(),
        env = bin("keyhole-env").display(),
        probe = bin("keyhole-probe").display(),
        h = t.path().display(),
        e = envf.display(),
        p = proc_root.display()
    );
    let out = Command::new("bash").arg("-c").arg(&pipeline).env_clear().env("PATH", "/usr/bin:/bin").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_no_canary("pipeline", &stdout);
    let recs: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let cont = recs.iter().find(|r| r["tool"] == "continue" && r["key"]["from"] == "env").unwrap();
    assert!(cont["env"]["effective"]["from"].as_str().unwrap().ends_with(".continue/.env"));
    assert_eq!(cont["probe"]["response"]["status"], 200, "{}", cont["probe"]);
    let lit = recs.iter().find(|r| r["tool"] == "litellm").unwrap();
    assert_eq!(lit["env"]["effective"]["from"], "process:5000");
    assert_eq!(lit["probe"]["response"]["status"], 200, "{}", lit["probe"]);
}
