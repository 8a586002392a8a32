//! keyhole-find, run as a process on fixture homes written in each tool's
//! real format. Every expected field is asserted; every output is grepped
//! for the canary keys.

mod util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;
use util::*;

fn find_home(tool: &str) -> Run {
    let home = fixtures().join("homes").join(tool);
    let mut c = cmd("keyhole-find", &home);
    c.arg("--home").arg(&home);
    let r = run(c);
    assert_no_canary("stdout", &r.stdout);
    assert_no_canary("stderr", &r.stderr);
    r
}

fn key(r: &Value) -> &Value {
    &r["key"]
}

#[test]
fn continue_yaml_models_placeholders_secrets_and_missing_keys() {
    let r = find_home("continue");
    assert_eq!(r.status, 0, "{}", r.stderr);
    let m0 = site(&r.records, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(m0["source"]["line"], 11);
    assert_eq!(m0["source"]["pointer"], "/models/0");
    assert_eq!(m0["provider"], "openrouter");
    assert_eq!(m0["model"], "anthropic/claude-sonnet-4.6");
    assert_eq!(m0["base_url"], "https://openrouter.ai/api/v1/");
    assert_eq!(m0["base_url_from"], "config");
    assert_eq!(m0["auth"]["header"], "authorization");
    assert_eq!(m0["auth"]["scheme"], "bearer");
    assert_eq!(key(m0)["from"], "placeholder");
    assert_eq!(key(m0)["text"], "${env:OPENROUTER_API_KEY}");
    assert_eq!(key(m0)["var"], "OPENROUTER_API_KEY");
    assert_eq!(key(m0)["note"], "continue expands ${{ secrets.NAME }}, not ${env:NAME}");

    let m1 = site(&r.records, "continue", ".continue/config.yaml", "/models/1");
    assert_eq!(m1["source"]["line"], 18);
    assert_eq!(
        (key(m1)["from"].as_str(), key(m1)["var"].as_str(), key(m1)["syntax"].as_str()),
        (Some("env"), Some("OPENROUTER_API_KEY"), Some("secrets"))
    );
    assert_eq!(m1["base_url"], "https://openrouter.ai/api/v1");
    assert_eq!(m1["base_url_from"], "default");

    // No apiKey line: the entry's first line, and the measured empty Bearer.
    let m2 = site(&r.records, "continue", ".continue/config.yaml", "/models/2");
    assert_eq!(m2["source"]["line"], 19);
    assert_eq!(key(m2)["from"], "none");
    assert!(key(m2)["note"].as_str().unwrap().contains("empty Bearer"));

    let m3 = site(&r.records, "continue", ".continue/config.yaml", "/models/3");
    assert_eq!(m3["provider"], "anthropic");
    assert_eq!(m3["auth"]["header"], "x-api-key");
    assert_eq!(key(m3)["fp"]["prefix"], "sk-ant-api03-");
    assert_eq!(key(m3)["fp"]["last4"], "KH03");

    let m4 = site(&r.records, "continue", ".continue/config.yaml", "/models/4");
    assert!(key(m4)["note"].as_str().unwrap().contains("not api_key"));

    // ~/.continue/.env, where ${{ secrets.X }} resolves from: Continue's, not a generic .env.
    let env = site(&r.records, "continue", ".continue/.env", "OPENROUTER_API_KEY@1");
    assert_eq!(key(env)["fp"]["len"], 73);
    assert_eq!(key(env)["fp"]["last4"], "KH01");
    assert_eq!(key(env)["fp"]["flaws"], serde_json::json!([]));

    // Workspace override found by the walk; the trailing space is a flaw.
    let ws = site(&r.records, "continue", "work/proj/.continue/config.yaml", "/models/0");
    assert_eq!(ws["source"]["line"], 8);
    assert_eq!(key(ws)["fp"]["flaws"], serde_json::json!(["trailing_whitespace"]));
    assert_eq!(key(ws)["fp"]["len"], 74);
    assert_eq!(r.records.len(), 7, "{}", r.stdout);
}

#[test]
fn litellm_proxy_config() {
    let r = find_home("litellm");
    let s0 = site(&r.records, "litellm", "work/proxy/config.yaml", "/model_list/0");
    assert_eq!((key(s0)["from"].as_str(), key(s0)["syntax"].as_str()), (Some("env"), Some("os_environ")));
    assert_eq!(s0["model"], "anthropic/claude-sonnet-4.5");
    assert_eq!(s0["source"]["line"], 5);
    let s1 = site(&r.records, "litellm", "work/proxy/config.yaml", "/model_list/1");
    assert_eq!(key(s1)["from"], "placeholder");
    assert_eq!(key(s1)["text"], "${OPENROUTER_API_KEY}");
    assert_eq!(key(s1)["note"], "litellm expands os.environ/NAME, not ${NAME}");
    // No api_key: the SDK reads OPENROUTER_API_KEY itself (implicit: no syntax).
    let s2 = site(&r.records, "litellm", "work/proxy/config.yaml", "/model_list/2");
    assert_eq!(key(s2)["from"], "env");
    assert!(key(s2).get("syntax").is_none());
    let mk = site(&r.records, "litellm", "work/proxy/config.yaml", "/general_settings/master_key");
    assert_eq!(mk["provider"], "litellm");
    assert_eq!(key(mk)["var"], "LITELLM_MASTER_KEY");
}

#[test]
fn opencode_env_and_auth_json() {
    let r = find_home("opencode");
    let c = site(&r.records, "opencode", "opencode/opencode.json", "/provider/openrouter");
    assert_eq!(c["source"]["line"], 9);
    assert_eq!((key(c)["from"].as_str(), key(c)["syntax"].as_str()), (Some("env"), Some("brace_env")));
    assert_eq!(c["model"], "anthropic/claude-sonnet-4.5");
    let a = site(&r.records, "opencode", "auth.json", "/openrouter");
    assert_eq!(key(a)["fp"]["last4"], "KH05");
}

#[test]
fn openclaw_json5_profiles_and_dotenv() {
    let r = find_home("openclaw");
    let p = site(&r.records, "openclaw", "openclaw.json", "/models/providers/openrouter");
    assert_eq!(key(p)["from"], "placeholder");
    assert!(key(p)["note"].as_str().unwrap().contains("upper-case"));
    let l = site(&r.records, "openclaw", "openclaw.json", "/models/providers/litellm");
    assert_eq!((key(l)["from"].as_str(), key(l)["var"].as_str()), (Some("env"), Some("LITELLM_KEY")));
    let prof = site(&r.records, "openclaw", "auth-profiles.json", "/profiles/openrouter:default");
    assert_eq!(key(prof)["fp"]["flaws"], serde_json::json!(["trailing_newline"]));
    assert_eq!(key(prof)["fp"]["len"], 74);
    // The quoted value in .env is unquoted by the parser: no flaw.
    let env = site(&r.records, "openclaw", ".openclaw/.env", "OPENROUTER_API_KEY@3");
    assert_eq!(key(env)["fp"]["flaws"], serde_json::json!([]));
}

#[test]
fn hermes_aider_cline_and_others() {
    let r = find_home("hermes");
    let m = site(&r.records, "hermes", "config.yaml", "/model");
    assert_eq!(
        (key(m)["syntax"].as_str(), m["model"].as_str()),
        (Some("dollar_brace"), Some("anthropic/claude-opus-4.1"))
    );
    let c = site(&r.records, "hermes", "config.yaml", "/custom_providers/0");
    assert_eq!(key(c)["text"], "no-key-required");
    // Two definitions in one .env: both reported, with their lines.
    site(&r.records, "hermes", ".hermes/.env", "OPENROUTER_API_KEY@1");
    site(&r.records, "hermes", ".hermes/.env", "OPENROUTER_API_KEY@2");

    let r = find_home("aider");
    let a = site(&r.records, "aider", ".aider.conf.yml", "/api-key/0");
    assert_eq!((a["provider"].as_str(), a["source"]["line"].as_u64()), (Some("openrouter"), Some(3)));
    let g = site(&r.records, "aider", ".aider.conf.yml", "/api-key/1");
    assert_eq!((g["provider"].as_str(), g["auth"]["header"].as_str()), (Some("gemini"), Some("x-goog-api-key")));

    let r = find_home("cline");
    let s = site(&r.records, "cline", "secrets.json", "/openRouterApiKey");
    assert_eq!(key(s)["fp"]["flaws"], serde_json::json!(["leading_whitespace"]));
    assert_eq!(s["model"], "anthropic/claude-3.7-sonnet");
    let p = site(&r.records, "cline", "providers.json", "/providers/openrouter");
    assert_eq!(key(p)["fp"]["flaws"], serde_json::json!(["bearer_prefix"]));

    let r = find_home("roo");
    let s = site(&r.records, "roo", "rooveterinaryinc.roo-cline", "");
    assert_eq!((key(s)["from"].as_str(), key(s)["store"].as_str()), (Some("store"), Some("vscode-secretstorage")));

    let r = find_home("home-assistant");
    let h = site(&r.records, "home-assistant", "core.config_entries", "/data/entries/1");
    assert_eq!((h["model"].as_str(), h["source"]["line"].as_u64()), (Some("openai/gpt-4o-mini"), Some(12)));

    let r = find_home("claude-code");
    let t = site(&r.records, "claude-code", "settings.json", "/env/ANTHROPIC_AUTH_TOKEN");
    assert_eq!((t["provider"].as_str(), t["auth"]["header"].as_str()), (Some("openrouter"), Some("authorization")));
    assert_eq!(t["base_url"], "https://openrouter.ai/api");
    assert!(
        !r.stdout.contains("/env/ANTHROPIC_API_KEY"),
        "an explicitly empty ANTHROPIC_API_KEY next to a token is not a site"
    );
    let h = site(&r.records, "claude-code", "settings.json", "/apiKeyHelper");
    assert!(key(h)["cmd"].as_str().unwrap().starts_with('/'), "~ is resolved");

    let r = find_home("codex");
    let c = site(&r.records, "codex", "config.toml", "/model_providers/openrouter");
    assert_eq!(
        (key(c)["var"].as_str(), key(c)["syntax"].as_str(), c["source"]["line"].as_u64()),
        (Some("OPENROUTER_API_KEY"), Some("env_key"), Some(8))
    );

    let r = find_home("kilo");
    let k = site(&r.records, "kilo", "kilo.json", "/provider/openrouter");
    assert_eq!(key(k)["from"], "file");
    assert!(key(k)["path"].as_str().unwrap().ends_with("/homes/kilo/.secrets/openrouter"));

    for (tool, frag) in
        [("goose", "/GOOSE_PROVIDER"), ("zed", "/language_models/open_router"), ("librechat", "/endpoints/custom/0")]
    {
        let r = find_home(tool);
        let s = site(&r.records, tool, "", frag);
        assert_eq!((s["provider"].as_str(), key(s)["var"].as_str()), (Some("openrouter"), Some("OPENROUTER_API_KEY")));
    }
    let r = find_home("llm");
    assert_eq!(key(site(&r.records, "llm", "keys.json", "/openrouter"))["fp"]["last4"], "KH05");

    let r = find_home("openspace");
    let s = site(&r.records, "openspace", "openspace/.env", "OPENSPACE_LLM_API_KEY@4");
    assert_eq!(
        (s["base_url"].as_str(), s["base_url_from"].as_str()),
        (Some("http://127.0.0.1:4000/v1"), Some("env:OPENSPACE_LLM_API_BASE"))
    );
    assert_eq!(key(s)["fp"]["flaws"], serde_json::json!([]), "python-dotenv strips quotes and the comment");

    let r = find_home("open-webui");
    let k1 = site(&r.records, "open-webui", ".env", "OPENAI_API_KEYS[1]");
    assert_eq!(
        (k1["provider"].as_str(), k1["base_url"].as_str()),
        (Some("openrouter"), Some("https://openrouter.ai/api/v1"))
    );
}

#[test]
fn shell_startup_and_generic_dotenv() {
    let r = find_home("shell");
    let s = site(&r.records, "shell", ".bashrc", "OPENROUTER_API_KEY@11");
    assert_eq!(key(s)["fp"]["last4"], "KH01");
    let g = site(&r.records, "shell", ".bashrc", "GEMINI_API_KEY@13");
    assert_eq!((key(g)["from"].as_str(), key(g)["cmd"].as_str()), (Some("command"), Some("cat ~/.gemini_key")));
    let f = site(&r.records, "shell", "config.fish", "ANTHROPIC_API_KEY@1");
    assert_eq!(f["provider"], "anthropic");

    let r = find_home("dotenv");
    let d = site(&r.records, "dotenv", "work/app/.env", "OPENROUTER_API_KEY@2");
    assert_eq!(key(d)["fp"]["flaws"], serde_json::json!(["foreign_prefix"]));
    assert_eq!(d["base_url_from"], "env:OPENROUTER_API_BASE");
    assert!(!r.stdout.contains("node_modules"), "node_modules is pruned");
    assert_eq!(r.records.len(), 1);
}

/// docs/records.md#site-records and #fingerprints: every field of every site
/// is one the record types name (crates/core/src/record/), nothing lands in
/// the pass-through `extra` of any level, and the values keep the contract.
#[test]
fn every_site_fits_the_typed_contract() {
    use keyhole_core::record::{KeySource, Record};
    let mut n = 0;
    for dir in std::fs::read_dir(fixtures().join("homes")).unwrap() {
        let tool = dir.unwrap().file_name().to_string_lossy().into_owned();
        let r = find_home(&tool);
        assert!(!r.records.is_empty(), "fixture home {tool} yields no site");
        for v in &r.records {
            n += 1;
            let rec = Record::from_value(v.clone()).unwrap_or_else(|e| panic!("{tool}: {}: {v}", e.0));
            let s = rec.site().unwrap_or_else(|| panic!("{tool}: not a site: {v}"));
            for (level, extra) in
                [("site", &s.extra), ("source", &s.source.extra), ("auth", &s.auth.extra), ("key", &s.key.extra)]
            {
                assert!(extra.is_empty(), "{tool}: {level} field(s) the contract does not name: {extra:?} in {v}");
            }
            assert!(s.env.is_none() && s.probe.is_none() && s.diagnoses.is_none(), "find adds no later stage's field");
            assert_eq!(s.v, 1);
            assert!(!s.host.is_empty());
            assert!(s.source.file.starts_with('/'), "paths are absolute");
            assert!(s.source.line >= 1);
            assert!(!v.to_string().contains("\"~/"), "~ is never written: {v}");
            assert!(["authorization", "x-api-key", "api-key", "x-goog-api-key", "query:key", "none"]
                .contains(&s.auth.header.as_str()));
            assert!(["bearer", "raw"].contains(&s.auth.scheme.as_str()));
            assert!(["config", "default"].contains(&s.base_url_from.as_str()) || s.base_url_from.starts_with("env:"));
            if s.key.from == KeySource::Literal {
                let fp = s.key.fp.as_ref().expect("a literal key has a fingerprint");
                assert!(
                    fp.sha8.len() == 8 && fp.sha8.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                );
            }
            // The round trip through the types is lossless.
            assert_eq!(&serde_json::to_value(&rec).unwrap(), v, "{tool}: round trip changed the record");
        }
        // Ids are unique within a run.
        let ids: BTreeSet<_> = r.records.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids.len(), r.records.len(), "{tool}: duplicate ids");
    }
    assert!(n >= 40, "only {n} sites across the fixture homes");
}

#[test]
fn output_is_deterministic_and_sorted() {
    let a = find_home("continue");
    let b = find_home("continue");
    assert_eq!(a.stdout, b.stdout);
    let keys: Vec<(String, u64)> = a
        .records
        .iter()
        .map(|r| (r["source"]["file"].as_str().unwrap().to_string(), r["source"]["line"].as_u64().unwrap()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn fingerprint_sha8_matches_sha256_of_the_value_as_found() {
    // A known value: sha256("sk-or-v1-" + 60c + "KH01") computed by sha256sum here.
    let canary = or_canary("KH01");
    let out = std::process::Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(canary.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let want = String::from_utf8(out.stdout).unwrap()[..8].to_string();
    let r = find_home("continue");
    let env = site(&r.records, "continue", ".continue/.env", "OPENROUTER_API_KEY@1");
    assert_eq!(key(env)["fp"]["sha8"], want.as_str());
}

#[test]
fn empty_home_exits_1_and_says_where_it_looked() {
    let t = TempDir::new("empty");
    let mut c = cmd("keyhole-find", t.path());
    c.arg("--home").arg(t.path());
    let r = run(c);
    assert_eq!(r.status, 1);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("no site found") && r.stderr.contains("--list-tools"), "{}", r.stderr);
}

#[test]
fn list_tools_names_every_catalogued_tool() {
    let t = TempDir::new("list");
    let mut c = cmd("keyhole-find", t.path());
    c.arg("--list-tools");
    let r = run_text(c);
    for tool in [
        "continue",
        "litellm",
        "aider",
        "opencode",
        "kilo",
        "openclaw",
        "openspace",
        "hermes",
        "cline",
        "roo",
        "home-assistant",
        "claude-code",
        "codex",
        "goose",
        "zed",
        "llm",
        "open-webui",
        "librechat",
        "dotenv",
        "shell",
    ] {
        assert!(r.contains(&format!("\n{tool} ")) || r.starts_with(&format!("{tool} ")), "--list-tools lacks {tool}");
    }
}

fn run_text(mut c: std::process::Command) -> String {
    String::from_utf8(c.output().unwrap().stdout).unwrap()
}

#[test]
fn bad_inputs_are_skipped_with_a_clear_message_and_lose_nothing() {
    let t = TempDir::new("bad");
    let good = or_canary("GOOD");
    // A good site that must survive everything else.
    t.write(".continue/config.yaml", format!("models:\n  - provider: openrouter\n    model: m\n    apiKey: {good}\n"));
    // A config that does not parse: an error record naming file and line.
    t.write(".codex/config.toml", "model = \"x\"\n[model_providers.or\nbase_url = 1\n");
    // Invalid UTF-8 in a .env: read, not a crash.
    t.write("proj/.env", b"OPENROUTER_API_KEY=sk-or-v1-\xff\xfe\nOPENAI_API_KEY=ok\n");
    // A binary file named like a config: skipped with a note.
    t.write("proj2/opencode.json", b"{\0\0\0}");
    // A 50 MB file: over the cap, skipped with a note, never read whole.
    let big = t.write("proj3/.env", b"");
    std::fs::File::options().write(true).open(&big).unwrap().set_len(50 * 1024 * 1024).unwrap();
    // A FIFO named .env: never opened for a blocking read.
    let fifo = t.path().join("proj4/.env");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // A symlink loop where a config is expected, and a directory loop.
    std::fs::create_dir_all(t.path().join(".hermes")).unwrap();
    std::os::unix::fs::symlink(t.path().join(".hermes/config.yaml"), t.path().join(".hermes/config.yaml")).unwrap();
    std::os::unix::fs::symlink(t.path(), t.path().join("proj/loop")).unwrap();

    let mut c = cmd("keyhole-find", t.path());
    c.arg("--home").arg(t.path());
    let start = std::time::Instant::now();
    let r = run(c);
    assert!(start.elapsed().as_secs() < 20, "no hang");
    assert_eq!(r.status, 2, "an error record means exit 2: {}", r.stderr);
    assert_no_canary("stdout", &r.stdout);
    assert!(!r.stdout.contains(&good) && !r.stderr.contains(&good));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // The good site is still there.
    let s = site(&r.records, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(s["key"]["fp"]["last4"], "GOOD");
    // The TOML error names file and line.
    let err = r
        .records
        .iter()
        .find(|x| x["type"] == "error" && x["file"].as_str().is_some_and(|f| f.ends_with("config.toml")))
        .expect("error record for the bad TOML");
    assert_eq!(err["tool"], "keyhole-find");
    assert_eq!(err["line"], 2);
    assert!(err["message"].as_str().unwrap().contains("does not parse at line 2"));
    // The invalid UTF-8 file still yields its other site.
    site(&r.records, "dotenv", "proj/.env", "OPENAI_API_KEY@2");
    // Skips are said on stderr.
    assert!(r.stderr.contains("proj3/.env is 50 MiB, over the size cap"), "{}", r.stderr);
    assert!(r.stderr.contains("proj4/.env is a FIFO"), "{}", r.stderr);
    assert!(r.stderr.contains("proj2/opencode.json is binary"), "{}", r.stderr);
    assert!(r.stderr.contains(".hermes/config.yaml is a symbolic link loop"), "{}", r.stderr);
}

#[test]
fn unreadable_config_is_an_error_record_not_a_crash() {
    let t = TempDir::new("perm");
    t.write(".continue/config.yaml", "models: []\n");
    let f = t.write(".codex/config.toml", "model = \"x\"\n");
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    std::fs::set_permissions(t.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = if unsafe { libc::geteuid() } == 0 {
        // root reads anything: drop to nobody to see what a user sees.
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin("keyhole-find"));
        c.env_clear().env("PATH", "/usr/bin:/bin");
        c
    } else {
        cmd("keyhole-find", t.path())
    };
    c.arg("--home").arg(t.path());
    // nobody must be able to traverse to the temp dir.
    let mut p = t.path().to_path_buf();
    while let Some(parent) = p.parent() {
        let _ = std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755));
        if parent == std::env::temp_dir() {
            break;
        }
        p = parent.to_path_buf();
    }
    let r = run(c);
    assert_eq!(r.status, 2, "{}", r.stderr);
    let err = r.records.iter().find(|x| x["type"] == "error").expect("an error record");
    assert!(err["message"].as_str().unwrap().contains("permission denied"), "{err}");
}

#[test]
fn head_dash_1_exits_quietly() {
    // Many sites, so the writer is still writing when the reader goes away.
    let t = TempDir::new("pipe");
    let mut body = String::new();
    for i in 0..3000 {
        body.push_str(&format!("OPENAI_API_KEY=k{i}\n"));
    }
    t.write("proj/.env", body);
    let mut c = cmd("keyhole-find", t.path());
    c.arg("--home").arg(t.path()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    drop(out); // like `head -1` closing the pipe
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(first.contains("\"type\":\"site\""));
    assert_eq!(status.code(), Some(0), "broken pipe is success; stderr: {err}");
    assert!(err.is_empty(), "quiet on a broken pipe: {err}");
}

#[test]
fn dev_full_is_a_clear_error() {
    let home = fixtures().join("homes/continue");
    let mut c = cmd("keyhole-find", &home);
    c.arg("--home").arg(&home).stdout(std::fs::File::options().write(true).open("/dev/full").unwrap());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write output") && err.contains("No space left"), "{err}");
}

#[test]
fn explicit_paths_and_tool_filter() {
    let home = TempDir::new("explicit");
    let proxy = fixtures().join("homes/litellm/work/proxy/config.yaml");
    let mut c = cmd("keyhole-find", home.path());
    c.arg("--home").arg(home.path()).arg(&proxy).arg("--tool").arg("litellm");
    let r = run(c);
    assert_eq!(r.status, 0);
    assert_eq!(r.records.len(), 4);
    assert!(r.records.iter().all(|s| s["tool"] == "litellm"));
    // A missing path is a mistyped argument: a usage error that names it, before any work.
    let mut c = cmd("keyhole-find", home.path());
    c.arg("--home").arg(home.path()).arg(&proxy).arg(home.path().join("nope.yaml"));
    let r = run(c);
    assert_eq!(r.status, 2);
    assert!(r.records.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("no such file or directory: ") && r.stderr.contains("nope.yaml"), "{}", r.stderr);
}

#[test]
fn provider_url_replaces_the_default_base() {
    let home = fixtures().join("homes/continue");
    let mut c = cmd("keyhole-find", &home);
    c.arg("--home").arg(&home).arg("--provider-url").arg("openrouter=http://127.0.0.1:9/api/v1/");
    let r = run(c);
    let m1 = site(&r.records, "continue", ".continue/config.yaml", "/models/1");
    assert_eq!(m1["base_url"], "http://127.0.0.1:9/api/v1");
    // A base URL written in the config is the config's.
    let m0 = site(&r.records, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(m0["base_url"], "https://openrouter.ai/api/v1/");
    let mut c = cmd("keyhole-find", &home);
    c.arg("--provider-url").arg("nosuch=http://x");
    let r = run(c);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("unknown provider"));
}

#[test]
fn man_page_is_current() {
    assert_man_current("keyhole-find");
}
