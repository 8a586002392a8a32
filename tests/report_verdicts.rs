//! keyhole-report and `keyhole doctor` never contradict themselves
//! (docs/records.md#what-the-report-says): one verdict per site (✓ ok,
//! ✗ failing, ! warning, ? not verifiable, – not probed), counts that add up
//! to the number of sites, the root cause's fix and never a fix of the
//! symptom it explains, templates listed once at the end, a key store as
//! "not verifiable", an unreachable network said once, and an exit status
//! that is never 0 for a broken setup. Records are built typed (checked
//! against the record contract) or come from the real pipeline on a noisy
//! fixture home; every output is searched for canary keys.

mod util;

use std::io::Write;
use std::process::Stdio;

use keyhole_core::record::Record;
use serde_json::{json, Value};
use util::*;

/// Text or Markdown of `records` from keyhole-report: (stdout, status).
fn report(records: &[Value], args: &[&str]) -> (String, i32) {
    let t = TempDir::new("verdicts-report");
    let mut c = cmd("keyhole-report", t.path());
    c.arg("--home").arg("/home/u").args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = String::new();
    for r in records {
        // Each record is one of the contract's types, as a stage would write it.
        let line = r.to_string();
        Record::from_json(&line).unwrap_or_else(|e| panic!("not a record ({e:?}): {line}"));
        input.push_str(&line);
        input.push('\n');
    }
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_no_canary("keyhole-report stdout", &out);
    assert_no_canary("keyhole-report stderr", &err);
    assert!(!err.contains("panicked"), "{err}");
    (out, o.status.code().unwrap_or(-1))
}

fn diag(code: &str, severity: &str, summary: &str, fix: &[&str]) -> Value {
    json!({"code": code, "severity": severity, "summary": summary, "evidence": [format!("evidence of {code}")], "fix": fix})
}

/// A classified site of `tool` at `file`, with a literal key, the probe's
/// answer (`status`, or none) and `diagnoses`.
fn site(tool: &str, file: &str, status: Option<u16>, diagnoses: Vec<Value>) -> Value {
    let mut s = json!({
        "type": "site", "v": 1, "id": format!("{tool}:{file}#/0"), "host": "h", "tool": tool,
        "source": {"file": file, "line": 2}, "provider": "openrouter", "model": "anthropic/claude-sonnet-4.6",
        "base_url": "https://openrouter.ai/api/v1", "base_url_from": "default",
        "auth": {"header": "authorization", "scheme": "bearer"},
        "key": {"from": "literal", "fp": {"prefix": "sk-or-v1-", "last4": "KV01", "len": 73, "sha8": "0a1b2c3d", "flaws": []}},
        "diagnoses": diagnoses,
    });
    if let Some(st) = status {
        s["probe"] = json!({
            "proxy": null, "redirects": [], "error": null, "elapsed_ms": 3,
            "request": {"method": "GET", "url": "https://openrouter.ai/api/v1/key", "auth_header": "authorization"},
            "response": {"status": st, "headers": {}, "body": {"error": {"message": "User not found.", "code": st}}},
        });
    }
    s
}

/// The counts line, `keyhole: N checked — a failing, b …`: N and the parts.
fn counts(text: &str) -> (usize, Vec<(usize, String)>) {
    let first = text.lines().find(|l| l.contains(" checked — ")).unwrap_or_else(|| panic!("no counts line:\n{text}"));
    let (head, parts) = first.split_once(" checked — ").unwrap();
    let total: usize = head.rsplit(' ').next().unwrap().parse().unwrap();
    let parts = parts
        .split(", ")
        .map(|p| {
            let (n, what) = p.split_once(' ').unwrap();
            (n.parse().unwrap_or_else(|_| panic!("{p:?} in {first:?}")), what.to_string())
        })
        .collect();
    (total, parts)
}

/// The counts add up to `sites`, and say `want` (each part as written).
fn assert_counts(text: &str, sites: usize, want: &[&str]) {
    let (total, parts) = counts(text);
    assert_eq!(total, sites, "the counts line names every site:\n{text}");
    assert_eq!(parts.iter().map(|(n, _)| n).sum::<usize>(), sites, "the counts add up:\n{text}");
    for w in want {
        assert!(parts.iter().any(|(n, what)| format!("{n} {what}") == *w), "counts say {w:?}:\n{text}");
    }
}

/// The lines of one site's block in a text report (its head line holds `file`).
fn block<'a>(text: &'a str, file: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.contains(&format!("{file}:")) || l.starts_with(' '));
    let head = lines.next().unwrap_or_else(|| panic!("no block for {file}:\n{text}"));
    std::iter::once(head).chain(lines.take_while(|l| l.starts_with(' '))).collect()
}

#[test]
fn an_error_root_never_lists_ok_and_its_mark_is_the_verdict() {
    // The key is accepted, but the tool's own copy has a flaw it does not trim.
    let recs = vec![
        site(
            "cline",
            "/home/u/.cline/data/secrets.json",
            Some(200),
            vec![
                diag("key.malformed", "error", "the key starts with whitespace", &["remove the leading space"]),
                diag("ok", "info", "the key was accepted (200)", &[]),
            ],
        ),
        site(
            "aider",
            "/home/u/.aider.conf.yml",
            Some(200),
            vec![diag("ok", "info", "the key was accepted (200)", &[])],
        ),
    ];
    let (text, status) = report(&recs, &[]);
    assert_eq!(status, 1, "a failing site: exit 1\n{text}");
    assert_counts(&text, 2, &["1 failing", "1 ok"]);
    let b = block(&text, "/home/u/.cline/data/secrets.json");
    assert!(b.iter().any(|l| l.starts_with("  ✗ key.malformed")), "{b:#?}");
    assert!(b.iter().all(|l| !l.contains('✓') && !l.contains("also ok")), "no ✓ under an ✗: {b:#?}");
    assert!(block(&text, "/home/u/.aider.conf.yml").iter().any(|l| l.starts_with("  ✓ ok")), "{text}");

    let (md, _) = report(&recs, &["--format", "markdown"]);
    assert!(!md.contains("Also: `ok`"), "{md}");
    assert!(md.contains("**Verdict**: ✗ failing"), "{md}");
    assert!(md.contains("**Verdict**: ✓ ok"), "{md}");
}

#[test]
fn a_shadowed_key_fails_without_the_fix_of_the_401_it_explains() {
    // key.shadowed is the root; the 401 of the shadowing key is its symptom.
    let shadowed = site(
        "hermes",
        "/home/u/.hermes/config.yaml",
        Some(401),
        vec![
            diag(
                "key.shadowed",
                "warning",
                "hermes gets OPENROUTER_API_KEY from ~/.hermes/.env (…OLD1), not the one in your shell (…NEW1)",
                &["remove OPENROUTER_API_KEY from ~/.hermes/.env, or put the new key there"],
            ),
            diag("auth.invalid_key", "error", "the API does not know the key: User not found.", &["create a new key"]),
            diag("unknown", "warning", "the API answered 401: User not found.", &["check the key"]),
        ],
    );
    // Independent problems keep their fixes; a second problem of the root's
    // own family is named without a fix.
    let independent = site(
        "continue",
        "/home/u/.continue/config.yaml",
        None,
        vec![
            diag(
                "key.placeholder",
                "error",
                "continue sends the text ${env:X} as the key",
                &["write ${{ secrets.X }}"],
            ),
            diag(
                "header.wrong_scheme",
                "error",
                "the key travels in x-api-key",
                &["send the key in the authorization header"],
            ),
            diag("key.stale_process", "error", "process 42 started before X was defined", &["restart process 42"]),
        ],
    );
    let recs = vec![shadowed, independent];
    let (text, status) = report(&recs, &[]);
    assert_eq!(status, 1, "a shadowed key the API refuses is a failure: exit 1\n{text}");
    assert_counts(&text, 2, &["2 failing"]);
    let b = block(&text, "/home/u/.hermes/config.yaml").join("\n");
    assert!(b.contains("  ✗ key.shadowed hermes gets"), "the root cause is the verdict's line:\n{b}");
    assert!(b.contains("fix: remove OPENROUTER_API_KEY from ~/.hermes/.env"), "{b}");
    assert!(!b.contains("create a new key") && !b.contains("check the key"), "no fix of the symptom:\n{b}");
    assert!(b.contains("auth.invalid_key"), "the symptom is named as what the root cause explains:\n{b}");
    assert!(!b.contains("also"), "the symptom is not a second problem:\n{b}");
    let c = block(&text, "/home/u/.continue/config.yaml").join("\n");
    assert!(
        c.contains("fix: write ${{ secrets.X }}") && c.contains("fix: send the key in the authorization header"),
        "{c}"
    );
    assert!(c.contains("✗ also header.wrong_scheme"), "{c}");
    assert!(c.contains("key.stale_process") && !c.contains("restart process 42"), "same family: no fix\n{c}");

    let (md, mstatus) = report(&recs, &["--format", "markdown"]);
    assert_eq!(mstatus, 1);
    assert!(md.contains("**Root cause**: `key.shadowed`"), "{md}");
    assert!(!md.contains("create a new key") && !md.contains("check the key"), "{md}");
    assert!(!md.contains("restart process 42"), "{md}");
    assert!(md.contains("- fix: send the key in the authorization header"), "{md}");
    assert_eq!(md.matches("**Verdict**: ✗ failing").count(), 2, "{md}");
}

/// A home as people have it: Debian's .bashrc with its interactive guard
/// (and a key exported below it, a site of its own), a Continue config, a good key in a project's .env, Roo's SecretStorage,
/// and three templates.
fn home(t: &TempDir) {
    let bashrc = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    t.write(".bashrc", bashrc);
    t.write(
        ".continue/config.yaml",
        "name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: Sonnet\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.6\n    apiKey: \"${env:OPENROUTER_API_KEY}\"\n    roles:\n      - chat\n",
    );
    t.write("work/app/.env", format!("# app settings\nDEBUG=0\nOPENROUTER_API_KEY={}\n", or_canary("RV01")));
    t.write("work/app/.env.example", "DEBUG=0\nOPENROUTER_API_KEY=your-api-key-here\n");
    t.write("work/app/.env.sample", "OPENROUTER_API_KEY=<YOUR_KEY>\n");
    t.write("work/bot/.env.template", format!("ANTHROPIC_API_KEY=sk-ant-api03-{}TPL1\n", "c".repeat(40)));
    t.write("notes/aider-tips.md", "aider --model openrouter/x\n");
    t.write("env", "PATH=/usr/bin\nHOME=/home/u\n");
}

fn doctor(t: &TempDir, args: &[&str]) -> (String, i32) {
    let mut c = cmd("keyhole", t.path());
    c.arg("doctor").arg("--home").arg(t.path()).arg("--env-file").arg(t.path().join("env"));
    c.arg("--proc-root").arg(t.path().join("noproc")).args(args);
    let o = c.output().unwrap();
    let (out, err) = (String::from_utf8(o.stdout).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert_no_canary("doctor stdout", &out);
    assert_no_canary("doctor stderr", &err);
    assert!(!err.contains("panicked"), "{err}");
    (out.replace(&t.path().display().to_string(), "~"), o.status.code().unwrap_or(-1))
}

fn sites_of(t: &TempDir, args: &[&str]) -> usize {
    let (json, _) = doctor(t, &[&["--json"], args].concat());
    json.lines().filter(|l| l.contains(r#""type":"site""#)).count()
}

#[test]
fn offline_nothing_is_ok_templates_are_listed_once_and_a_broken_setup_exits_1() {
    let t = TempDir::new("verdicts-offline");
    home(&t);
    let n = sites_of(&t, &["--offline"]);
    let (text, status) = doctor(&t, &["--offline"]);
    assert_eq!(status, 1, "a placeholder key: exit 1\n{text}");
    assert_counts(&text, n, &["1 failing", "2 not probed (offline)", "3 templates"]);
    assert!(!text.contains('✓') && !text.contains(" ok") && !text.contains("fine"), "nothing is ok offline:\n{text}");
    let app = block(&text, "~/work/app/.env").join("\n");
    assert!(app.contains("  – not probed (offline)"), "{app}");
    // Templates: one line at the end, no block of their own.
    let last = text.lines().rfind(|l| !l.is_empty()).unwrap();
    assert!(last.starts_with("3 templates skipped: "), "{text}");
    for f in ["~/work/app/.env.example", "~/work/app/.env.sample", "~/work/bot/.env.template"] {
        assert!(last.contains(f), "{f} in {last}");
        assert_eq!(text.matches(f).count(), 1, "{f} only in the templates line:\n{text}");
    }
    let (quiet, qstatus) = doctor(&t, &["--offline", "--quiet"]);
    assert_eq!((quiet.as_str(), qstatus), ("", 1), "--quiet: nothing printed, exit 1 for a placeholder key");

    let (md, mstatus) = doctor(&t, &["--offline", "--format", "markdown"]);
    assert_eq!(mstatus, 1);
    assert!(md.contains("**Verdict**: – not probed (offline)"), "{md}");
    assert!(md.contains("3 templates skipped: "), "{md}");
    assert!(!md.contains("### dotenv — `~/work/app/.env.example"), "{md}");
    assert!(!md.contains("✓"), "{md}");

    // Without the placeholder nothing is broken: the templates (one holds
    // another provider's key) do not fail the run.
    std::fs::remove_dir_all(t.path().join(".continue")).unwrap();
    let (text, status) = doctor(&t, &["--offline"]);
    assert_eq!(status, 0, "templates and an unprobed good key: exit 0\n{text}");
    assert!(!text.contains('✗'), "{text}");

    // A config whose key is template text is broken: --quiet never exits 0.
    t.write(
        ".continue/config.yaml",
        "models:\n  - name: Sonnet\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.6\n    apiKey: your-api-key-here\n",
    );
    let (quiet, qstatus) = doctor(&t, &["--offline", "--quiet"]);
    assert_eq!((quiet.as_str(), qstatus), ("", 1), "--quiet on a placeholder key in a real config: exit 1");
    let (text, _) = doctor(&t, &["--offline"]);
    assert!(block(&text, "~/.continue/config.yaml").iter().any(|l| l.starts_with("  ✗ ")), "{text}");
}

#[test]
fn a_key_store_is_not_verifiable_and_says_how_to_check() {
    let t = TempDir::new("verdicts-store");
    home(&t);
    std::fs::remove_dir_all(t.path().join(".continue")).unwrap();
    t.write(".config/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings.json", "{}\n");
    let n = sites_of(&t, &["--offline"]);
    let (text, status) = doctor(&t, &["--offline"]);
    assert_eq!(status, 0, "{text}");
    assert_counts(&text, n, &["0 failing", "1 not verifiable", "2 not probed (offline)", "3 templates"]);
    assert!(!text.contains("fine") && !text.contains('✓'), "a store keyhole cannot read is not fine:\n{text}");
    let roo = block(&text, "rooveterinaryinc.roo-cline").join("\n");
    assert!(roo.contains("  ? key.store"), "{roo}");
    assert!(roo.contains("keyhole-capture"), "it says how to verify:\n{roo}");
    let (md, _) = doctor(&t, &["--offline", "--format", "markdown"]);
    assert!(md.contains("**Verdict**: ? not verifiable"), "{md}");
}

#[test]
fn an_unreachable_network_is_said_once_and_each_site_keeps_its_static_verdict() {
    let t = TempDir::new("verdicts-net");
    home(&t);
    t.write("work/bot/.env", format!("ANTHROPIC_API_KEY=sk-ant-api03-{}RV02\n", "c".repeat(40)));
    // Names under .invalid never resolve (RFC 6761): no probe gets an answer.
    let net = [
        "--timeout",
        "5",
        "--provider-url",
        "openrouter=http://openrouter.invalid/api/v1",
        "--provider-url",
        "anthropic=http://anthropic.invalid",
    ];
    let (json, _) = doctor(&t, &[&["--json"], &net[..]].concat());
    let probed: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == "site" && r["template"] != true && r["probe"]["request"].is_object())
        .collect();
    assert!(probed.len() >= 3, "{json}");
    for r in &probed {
        let kind = r["probe"]["error"]["kind"].as_str().unwrap_or("");
        assert!(["dns", "connect", "timeout"].contains(&kind), "no answer: {}", r["probe"]);
    }
    let n = sites_of(&t, &net);
    let (text, status) = doctor(&t, &net);
    assert_eq!(status, 1, "{text}");
    let banner = format!("no network: the probes could not reach any API ({} probes to ", probed.len());
    assert_eq!(text.matches(&banner).count(), 1, "said once:\n{text}");
    let top = text.lines().nth(1).unwrap_or("");
    assert!(top.starts_with(&format!("! {banner}")), "at the top:\n{text}");
    assert!(top.ends_with("; run with --offline to check the configuration alone"), "{top}");
    assert!(!text.contains("check the base URL's host"), "no host/port fix per site:\n{text}");
    assert!(!text.contains("no HTTP answer"), "{text}");
    assert_counts(&text, n, &["1 failing", "3 not probed (no answer)", "3 templates"]);
    let c = block(&text, "~/.continue/config.yaml").join("\n");
    assert!(c.contains("  ✗ key.placeholder"), "the static verdict stays:\n{c}");
    let app = block(&text, "~/work/app/.env").join("\n");
    assert!(app.contains("  – not probed (no answer)"), "{app}");

    let (md, _) = doctor(&t, &[&["--format", "markdown"], &net[..]].concat());
    assert_eq!(md.matches(&banner).count(), 1, "{md}");
    assert!(!md.contains("check the base URL's host"), "{md}");
}

/// The same records give the same verdicts through the pipeline and doctor.
#[test]
fn the_pipeline_report_gives_the_same_verdicts() {
    let t = TempDir::new("verdicts-pipe");
    home(&t);
    let (json, _) = doctor(&t, &["--offline", "--json"]);
    let records: Vec<Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sites = records.iter().filter(|r| r["type"] == "site").count();
    let (text, status) = report(&records, &[]);
    assert_eq!(status, 1, "{text}");
    assert_counts(&text, sites, &["1 failing", "2 not probed", "3 templates"]);
}

/// A site whose probe to `url` got no answer (`kind`), as classify reads it.
fn unanswered(file: &str, url: &str, kind: &str) -> Value {
    let code = format!("net.{kind}");
    let mut s = site(
        "dotenv",
        file,
        None,
        vec![diag(
            &code,
            "error",
            "no HTTP answer: refused",
            &["check the base URL's host and port, and that the server runs"],
        )],
    );
    s["probe"] = json!({
        "proxy": null, "redirects": [], "response": null, "elapsed_ms": 3,
        "request": {"method": "GET", "url": url, "auth_header": "authorization"},
        "error": {"kind": kind, "message": "refused"},
    });
    s
}

#[test]
fn a_local_gateway_that_is_down_or_one_mistyped_host_is_not_the_network() {
    let banner = "no network: the probes could not reach any API (2 probes to 2 hosts, no answer)";
    // Two probes to other machines got no answer: the network. The loopback
    // gateway that refused is its own problem, with its own fix.
    let recs = vec![
        unanswered("/home/u/a/.env", "https://openrouter.ai/api/v1/key", "dns"),
        unanswered("/home/u/b/.env", "https://api.anthropic.com/v1/models", "timeout"),
        unanswered("/home/u/gw/.env", "http://127.0.0.1:4000/v1/models", "connect"),
    ];
    let (text, status) = report(&recs, &[]);
    assert_eq!(status, 1, "{text}");
    assert_eq!(text.matches(banner).count(), 1, "{text}");
    assert_counts(&text, 3, &["1 failing", "2 not probed (no answer)"]);
    let gw = block(&text, "/home/u/gw/.env").join("\n");
    assert!(gw.contains("  ✗ net.connect") && gw.contains("fix: check the base URL's host and port"), "{gw}");
    let a = block(&text, "/home/u/a/.env").join("\n");
    assert!(a.contains("  – not probed (no answer)") && !a.contains("fix:"), "{a}");

    // One probe alone may be one mistyped host: it keeps its own verdict.
    let typo = vec![unanswered("/home/u/a/.env", "https://openrouterr.ai/api/v1/key", "dns")];
    let (text, _) = report(&typo, &[]);
    assert!(!text.contains("no network"), "{text}");
    assert!(text.contains("  ✗ net.dns"), "{text}");
    // One probe alone to a catalogued API's own host: no one mistypes it, the network is down.
    let (text, _) = report(&recs[..1], &[]);
    assert_eq!(text.matches("no network: the probes could not reach any API (1 probe to 1 host").count(), 1, "{text}");
}
