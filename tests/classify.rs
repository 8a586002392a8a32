//! keyhole-classify, run as a process: every rule with the real bodies and
//! log lines of docs/wire.md, near-misses that must not match, malformed input,
//! and the whole pipeline on fixture homes against the provider imitation,
//! where the first diagnosis must be the expected root cause.

mod util;

use std::process::Stdio;

use serde_json::Value;
use util::imitation::{Imitation, StrippingProxy};
use util::*;

fn classify(args: &[&str], stdin: &[u8]) -> Run {
    let t = TempDir::new("classify");
    let mut c = cmd("keyhole-classify", t.path());
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // A classify that exits on bad arguments before reading its input closes the pipe: not a test failure.
    if let Err(e) = std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_canary("stdout", &stdout);
    let records = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Run { status: out.status.code().unwrap_or(-1), stdout, stderr, records }
}

/// (status, body, expected code) — bodies verbatim from docs/wire.md.
const BODIES: &[(u16, &str, &str)] = &[
    (401, r#"{"error":{"message":"No cookie auth credentials found","code":401}}"#, "auth.missing"),
    (401, r#"{"error":{"message":"No auth credentials found","code":401}}"#, "auth.missing"),
    (401, r#"{"error":{"message":"Missing Authentication header","code":401}}"#, "auth.missing"),
    (401, r#"{"error":{"message":"Missing Authentication header or invalid API key","code":401}}"#, "auth.missing"),
    (401, r#"{"error":{"message":"User not found.","code":401}}"#, "auth.invalid_key"),
    (
        401,
        r#"{"error":{"message":"Provider returned error","code":401,"metadata":{"raw":"{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}","provider_name":"Anthropic","isDownstreamPipeClean":true,"isErrorUpstreamFault":true}}}"#,
        "upstream.auth",
    ),
    (
        400,
        r#"{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"error\":{}}","provider_name":"Crucible","is_byok":false}},"user_id":"user_***"}"#,
        "upstream.error",
    ),
    (
        429,
        r#"{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"liquid/lfm-2.5-2.6b:free is temporarily rate-limited upstream.","provider_name":"Liquid","is_byok":false}}}"#,
        "rate.limited",
    ),
    (
        402,
        r#"{"error":{"message":"This request requires more credits, or fewer max_tokens. You requested up to 32000 tokens, but can only afford 27342. To increase, visit https://openrouter.ai/settings/credits and upgrade to a paid account","code":402,"metadata":{"provider_name":null}},"user_id":"user_3D0"}"#,
        "credits.insufficient",
    ),
    (
        402,
        r#"{"error":{"message":"This request requires more credits, or fewer max_tokens. You requested up to 4000 tokens, but can only afford 0. To increase, visit https://openrouter.ai/settings/keys and create a key with a higher monthly limit","code":402}}"#,
        "limit.key_limit",
    ),
    (
        402,
        r#"{"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits"}}"#,
        "credits.insufficient",
    ),
    (
        403,
        r#"{"error":{"message":"Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys","code":403}}"#,
        "limit.key_limit",
    ),
    (
        400,
        r#"{"error":{"message":"nonexistent/not-a-model:free is not a valid model ID","code":400},"user_id":"user_..."}"#,
        "model.not_found",
    ),
    (
        404,
        r#"{ "error": { "message": "No endpoints found for deepseek/deepseek-chat-v3.1:free.", "code": 404 }, "user_id": "user_2p" }"#,
        "model.not_found",
    ),
    (
        404,
        r#"{"error":{"message":"No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/guides/routing/provider-selection","code":404}}"#,
        "model.no_tool_support",
    ),
    (
        404,
        r#"{"error":{"message":"No allowed providers are available for the selected model.","code":404,"metadata":{"available_providers":["z-ai"],"requested_providers":["anthropic"]}}}"#,
        "model.not_found",
    ),
    (
        429,
        r#"{"error":{"message":"Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day","code":429}}"#,
        "rate.limited",
    ),
    (404, r#"{"error":{"message":"Not Found","code":404}}"#, "url.bad_base"),
    (404, "<!DOCTYPE html><html lang=\"en\"><head></head><body>404</body></html>", "url.bad_base"),
    (
        401,
        r#"{"error":{"message":"Incorrect API key provided: sk-proj-****abcd. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        "auth.invalid_key",
    ),
    (
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        "auth.invalid_key",
    ),
    (
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"Invalid credentials","error_type":"authentication"},"request_id":null}"#,
        "auth.missing",
    ),
    (
        400,
        r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#,
        "auth.invalid_key",
    ),
    (
        401,
        r#"{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}"#,
        "auth.missing",
    ),
    (200, r#"{"data":{"label":"sk-or-v1-au7...890","usage":25.5,"limit":100}}"#, "ok"),
];

#[test]
fn every_body_rule_via_raw_http() {
    let mut raw = String::new();
    for (status, body, _) in BODIES {
        raw.push_str(&format!("HTTP/2 {status} \r\ncontent-type: application/json\r\n\r\n{body}\r\n"));
    }
    let r = classify(&["--http"], raw.as_bytes());
    assert_eq!(r.records.len(), BODIES.len(), "{}", r.stdout);
    for (rec, (status, body, code)) in r.records.iter().zip(BODIES) {
        assert_eq!(rec["type"], "response");
        assert_eq!(rec["status"], *status);
        assert_eq!(rec["diagnoses"][0]["code"], *code, "body {body}");
    }
    assert_eq!(r.status, 1, "error diagnoses make exit 1 (a CI gate)");
    assert!(!r.stdout.contains("sk-proj-****abcd"), "key shapes echoed by servers are redacted");
}

#[test]
fn log_lines_of_the_tools_and_near_misses() {
    let t = TempDir::new("log");
    let lines: &[(&str, Option<&str>)] = &[
        ("2026-11-20 10:00:01 INFO startup complete", None),
        (r#"litellm.AuthenticationError: AuthenticationError: OpenrouterException - {"error": {"message": "Missing Authentication header", "code": 401}}"#, Some("auth.missing")),
        (r#"{"error":{"message":"litellm.AuthenticationError: AuthenticationError: OpenrouterException - {\"error\": {\"message\": \"Missing Authentication header\", \"code\": 401}}\n\nLiteLLM: model group 'sonnet' failed with the error above. No fallback was attempted.","type":"authentication_error","param":null,"code":"401"}}"#, Some("auth.missing")),
        ("openai.AuthenticationError: Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}", Some("auth.invalid_key")),
        ("openai.APIConnectionError: Connection error.", Some("net.connect")),
        (r#"{"status":"error","message":"401 User not found."}"#, Some("auth.invalid_key")),
        ("Error: User not found.", Some("auth.invalid_key")),
        ("AI_APICallError: No auth credentials found", Some("auth.missing")),
        ("Error 401: Missing Authorization Header", None),
        ("API Error: 401 Missing Authentication header", Some("auth.missing")),
        ("openai.OpenAIError: Missing credentials. Please pass an `api_key`, `workload_identity`, or set the `OPENAI_API_KEY` environment variable.", Some("key.none")),
        (r#"litellm.BadRequestError: OpenrouterException - {"error":{"message":"Provider returned error","code":401,"metadata":{"raw":"{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}","provider_name":"Anthropic"}}}"#, Some("upstream.auth")),
        // near-misses: must not produce a diagnosis
        ("DEBUG cache: user not found, creating", None),
        ("INFO Connection established to upstream", None),
        ("INFO provider returned 12 models", None),
    ];
    let mut body = String::new();
    for (l, _) in lines {
        body.push_str(l);
        body.push('\n');
    }
    let f = t.write("proxy.log", body);
    let r = classify(&["--log", f.to_str().unwrap()], b"");
    let by_line: std::collections::BTreeMap<u64, &Value> =
        r.records.iter().map(|x| (x["source"]["line"].as_u64().unwrap(), x)).collect();
    for (i, (l, want)) in lines.iter().enumerate() {
        let got = by_line.get(&(i as u64 + 1)).and_then(|x| x["diagnoses"][0]["code"].as_str());
        assert_eq!(got, *want, "line {}: {l}", i + 1);
    }
    let proxied = by_line[&3];
    assert!(proxied["diagnoses"][0]["evidence"].to_string().contains("model group 'sonnet'"));
    assert_eq!(
        proxied["body"]["error"]["message"], "Missing Authentication header",
        "the proxy's wrapped upstream error is unwrapped"
    );
}

#[test]
fn a_log_of_many_blocks_gives_the_same_hits_with_any_thread_count() {
    // ~6 MB: a dozen 512 KiB blocks, with failures on both sides of block edges.
    let t = TempDir::new("blocks");
    let failure =
        "openai.AuthenticationError: Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}";
    let mut log = String::new();
    let mut want = Vec::new();
    for i in 1..=60_000u64 {
        if i % 997 == 0 {
            log.push_str(failure);
            want.push(i);
        } else {
            log.push_str(&format!(
                "INFO 127.0.0.1:{i} - \"POST /chat/completions HTTP/1.1\" 200 OK {}",
                "x".repeat((i % 131) as usize)
            ));
        }
        log.push('\n');
    }
    let f = t.write("proxy.log", &log);
    let one = classify(&["--log", f.to_str().unwrap(), "-j", "1"], b"");
    let four = classify(&["--log", f.to_str().unwrap(), "--threads", "4"], b"");
    let lines: Vec<u64> = one.records.iter().map(|r| r["source"]["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, want);
    assert_eq!(one.stdout, four.stdout, "threads change nothing in the output");
    assert!(one.records.iter().all(|r| r["diagnoses"][0]["code"] == "auth.invalid_key"));
    assert_eq!(one.status, 1, "error-severity hits: exit 1 (a CI gate)");
    let r = classify(&["--log", f.to_str().unwrap(), "-j", "0"], b"");
    assert_eq!(r.status, 2, "-j 0 is a usage error");
}

#[test]
fn malformed_inputs_never_panic() {
    let t = TempDir::new("bad");
    let mut junk = Vec::new();
    junk.extend_from_slice(b"HTTP/1.1 401 Unauthorized\r\n\r\n{\"error\":{\"message\":\"User not fou");
    junk.extend_from_slice(b"\nHTTP/1.1 500 oops\r\n\r\n\x1f\x8b\x08\x00\xde\xad\xbe\xef\xff\xfe\n");
    let r = classify(&["--http"], &junk);
    assert_eq!(r.records.len(), 2);
    assert_eq!(r.records[0]["diagnoses"][0]["code"], "unknown", "a truncated body is shown as it is");
    // A 10 MB single line and invalid UTF-8 in a log.
    let mut big = "x".repeat(10 * 1024 * 1024).into_bytes();
    big.extend_from_slice(b" Missing Authentication header\n\xff\xfe User not found.\n");
    let f = t.write("big.log", &big);
    let r = classify(&["--log", f.to_str().unwrap()], b"");
    assert_eq!(r.records.len(), 2, "{}", r.stderr);
    assert_eq!(r.records[1]["source"]["line"], 2);
    // Records: bad lines become error records; exit 2.
    let r = classify(&[], b"{\"type\":\"site\"\nnot json\n");
    assert_eq!(r.status, 2);
    assert!(r.records.iter().all(|x| x["type"] == "error"));
    // A missing log file: a clear message, exit 2.
    let r = classify(&["--log", "/nonexistent/log"], b"");
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("/nonexistent/log"));
    // A bad user rule: a clear message.
    let rules = t.write("rules.toml", "[[rule]]\nid = \"x\"\ncode = \"unknown\"\nsummary = \"s\"\nregex = \"(\"\n");
    let r = classify(&["--rules", rules.to_str().unwrap(), "--http"], b"HTTP/1.1 200 OK\r\n\r\n{}");
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("bad regex"), "{}", r.stderr);
}

#[test]
fn user_rules_come_first() {
    let t = TempDir::new("rules");
    let rules = t.write("rules.toml", "[[rule]]\nid = \"corp.gateway\"\ncode = \"header.dropped_proxy\"\nseverity = \"error\"\nmessage = \"blocked by corp gateway\"\nsummary = \"the corporate gateway blocked it\"\nfix = [\"ask IT\"]\n");
    let r = classify(
        &["--rules", rules.to_str().unwrap(), "--http"],
        b"HTTP/1.1 403 Forbidden\r\n\r\n{\"error\":{\"message\":\"blocked by corp gateway\"}}",
    );
    assert_eq!(r.records[0]["diagnoses"][0]["code"], "header.dropped_proxy");
    assert_eq!(r.records[0]["diagnoses"][0]["rule"], "corp.gateway");
}

/// find | env | probe | classify on a home; returns the site records.
fn pipeline(home: &std::path::Path, env_file: &std::path::Path, extra_find: &[&str], extra_probe: &str) -> Vec<Value> {
    run_pipeline(&pipeline_command(home, env_file, &extra_find.join(" "), Some(extra_probe)))
}

fn root<'a>(recs: &'a [Value], frag: &str) -> &'a str {
    let r = recs
        .iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.contains(frag)))
        .unwrap_or_else(|| panic!("no site {frag}"));
    r["diagnoses"][0]["code"].as_str().unwrap_or_else(|| panic!("no diagnosis for {frag}: {r}"))
}

#[test]
fn end_to_end_root_causes_on_fixture_homes() {
    let known = or_canary("GOOD");
    let other = Imitation::start(&known, None);
    let imi = Imitation::start(&known, Some(other.port));
    let proxy = StrippingProxy::start();
    let t = TempDir::new("e2e");
    let b = imi.base();
    let ant = format!("sk-ant-api03-{}ANT9", "c".repeat(40));
    // Continue: one model per situation, each with its own base path.
    let m = |name: &str, api: &str, key: &str| {
        format!("  - name: {name}\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {b}{api}\n{key}")
    };
    let cfg = [
        "models:\n".to_string(),
        m("ph", "/api/v1", "    apiKey: \"${env:OPENROUTER_API_KEY}\"\n"),
        m("none", "/api/v1", ""),
        m("good", "/api/v1", &format!("    apiKey: {known}\n")),
        m("unknown", "/api/v1", &format!("    apiKey: {}\n", or_canary("NOPE"))),
        m("quoted", "/api/v1", &format!("    apiKey: '\"{known}\"'\n")),
        m("redirect", "/redirect-away/api/v1", &format!("    apiKey: {known}\n")),
        m("html", "/html/api/v1", &format!("    apiKey: {known}\n")),
        m("credits", "/api/v1", &format!("    apiKey: {}\n", or_canary("C402"))),
        m("limit", "/api/v1", &format!("    apiKey: {}\n", or_canary("L403"))),
        m("rate", "/api/v1", &format!("    apiKey: {}\n", or_canary("R429"))),
        m("byok", "/api/v1", &format!("    apiKey: {}\n", or_canary("BYOK"))),
        m("secret", "/api/v1", "    apiKey: ${{ secrets.UNSET_KEY }}\n"),
    ]
    .concat();
    t.write(".continue/config.yaml", cfg);
    t.write("roo/x", "");
    std::fs::create_dir_all(t.path().join(".config/Code/User/globalStorage/rooveterinaryinc.roo-cline")).unwrap();
    // A .env with another provider's key, and LiteLLM reading variables defined in odd places.
    t.write("app/.env", format!("OPENROUTER_API_KEY={ant}\nOPENROUTER_API_BASE={b}/api/v1\n"));
    t.write(
        "proxy/config.yaml",
        format!(
            "model_list:\n  - model_name: a\n    litellm_params:\n      model: openrouter/x/y\n      api_key: os.environ/GUARDED_KEY\n      api_base: {b}/api/v1\n  - model_name: b\n    litellm_params:\n      model: openrouter/x/y\n      api_key: os.environ/PLAIN_KEY\n      api_base: {b}/api/v1\n  - model_name: c\n    litellm_params:\n      model: openrouter/x/y\n      api_key: os.environ/TERMINAL_KEY\n      api_base: {b}/api/v1\n"
        ),
    );
    t.write(".bashrc", format!("case $- in\n  *i*) ;;\n  *) return;;\nesac\nexport GUARDED_KEY={known}\n"));
    t.write(".profile", format!("PLAIN_KEY={known}\n"));
    t.write(
        ".config/Code/User/settings.json",
        format!("{{\"terminal.integrated.env.linux\": {{\"TERMINAL_KEY\": \"{known}\"}}}}"),
    );
    // Aider: .env overrides the shell, which has another key (shadowed); the .env key works.
    t.write("aiderproj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    t.write("aiderproj/.env", format!("OPENROUTER_API_KEY={known}\nOPENROUTER_API_BASE={b}/api/v1\n"));
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    let envf = t.write("analysed.env", format!("OPENROUTER_API_KEY={}\nSHELL=/bin/bash\n", or_canary("SHEL")));
    let recs = pipeline(t.path(), &envf, &["--provider-url", &format!("openrouter={b}/api/v1")], "");

    assert_eq!(root(&recs, "/models/0"), "key.placeholder");
    assert_eq!(root(&recs, "/models/1"), "key.none");
    assert_eq!(root(&recs, "/models/2"), "ok");
    assert_eq!(root(&recs, "/models/3"), "auth.invalid_key");
    assert_eq!(root(&recs, "/models/4"), "key.malformed");
    assert_eq!(root(&recs, "/models/5"), "header.dropped_redirect");
    assert_eq!(root(&recs, "/models/6"), "url.bad_base");
    assert_eq!(root(&recs, "/models/7"), "credits.insufficient");
    assert_eq!(root(&recs, "/models/8"), "limit.key_limit");
    assert_eq!(root(&recs, "/models/9"), "rate.limited");
    assert_eq!(root(&recs, "/models/10"), "upstream.auth");
    assert_eq!(root(&recs, "/models/11"), "key.env_unset");
    assert_eq!(root(&recs, "rooveterinaryinc.roo-cline"), "key.store");
    assert_eq!(root(&recs, "app/.env#OPENROUTER_API_KEY"), "key.wrong_provider");
    assert_eq!(root(&recs, "/model_list/0"), "key.after_guard");
    assert_eq!(root(&recs, "/model_list/1"), "key.not_exported");
    assert_eq!(root(&recs, "/model_list/2"), "key.wrong_file");
    let aider = recs.iter().find(|r| r["tool"] == "aider").unwrap();
    let codes: Vec<&str> = aider["diagnoses"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["ok", "key.shadowed"], "the .env key works; the shell's other key is shadowed");
    // The placeholder's symptom follows its cause.
    let ph = recs.iter().find(|r| r["id"].as_str().unwrap().ends_with("/models/0")).unwrap();
    assert_eq!(ph["diagnoses"][1]["code"], "auth.missing");
    assert!(ph["diagnoses"][0]["fix"][0].as_str().unwrap().contains("${{ secrets.OPENROUTER_API_KEY }}"));

    // A proxy that strips the header; a dead port; a completion-only failure.
    let t2 = TempDir::new("e2e2");
    let (_dead, dead_port) = refused_port();
    t2.write(
        ".continue/config.yaml",
        format!(
            "models:\n  - provider: openrouter\n    apiBase: {b}/api/v1\n    apiKey: {known}\n  - provider: openrouter\n    apiBase: http://127.0.0.1:{dead_port}/api/v1\n    apiKey: {known}\n  - provider: openrouter\n    model: notools/model\n    apiBase: {b}/api/v1\n    apiKey: {known}\n  - provider: openrouter\n    model: nonexistent/model\n    apiBase: {b}/api/v1\n    apiKey: {known}\n"
        ),
    );
    std::fs::create_dir_all(t2.path().join("proc")).unwrap();
    let envf = t2.write("analysed.env", format!("HTTP_PROXY=http://127.0.0.1:{}\n", proxy.port));
    let recs = pipeline(t2.path(), &envf, &[], "--completion");
    assert_eq!(root(&recs, "/models/0"), "header.dropped_proxy");
    assert_eq!(root(&recs, "/models/1"), "net.connect");
    let envf = t2.write("direct.env", "PATH=/usr/bin\n");
    let recs = pipeline(t2.path(), &envf, &[], "--completion");
    assert_eq!(root(&recs, "/models/2"), "model.no_tool_support");
    assert_eq!(root(&recs, "/models/3"), "model.not_found");
    assert_eq!(root(&recs, "/models/0"), "ok");
}

#[test]
fn stale_process_and_wrong_scheme() {
    let known = or_canary("GOOD");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("stale");
    let me = unsafe { libc::geteuid() };
    // Continue reads the variable; .profile → .bashrc → export above the guard: VS Code's resolver sees it now,
    // but the extension host started in 2020, before the edit, and lacks it.
    t.write(".continue/config.yaml", format!("models:\n  - provider: openrouter\n    apiBase: {}/api/v1\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n", imi.base()));
    t.write(".profile", "[ -f \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\"\n");
    t.write(".bashrc", format!("export OPENROUTER_API_KEY={known}\n"));
    let p = t.path().join("proc/4242");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("cmdline"), "node\0bootstrap-fork\0--type=extensionHost").unwrap();
    std::fs::write(p.join("environ"), "HOME=/x\0").unwrap();
    std::fs::write(p.join("status"), format!("Uid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
    std::fs::write(p.join("stat"), "4242 (node) S 900 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 1 1").unwrap();
    std::fs::write(t.path().join("proc/stat"), "btime 1577836800\n").unwrap();
    // Claude Code pointed at Anthropic with a Bearer token: Anthropic reads x-api-key.
    t.write(
        ".claude/settings.json",
        format!("{{\"env\": {{\"ANTHROPIC_AUTH_TOKEN\": \"sk-ant-api03-{}STK1\"}}}}", "c".repeat(40)),
    );
    let envf = t.write("analysed.env", format!("OPENROUTER_API_KEY={known}\n"));
    let recs = pipeline(t.path(), &envf, &[], "--offline");
    assert_eq!(root(&recs, "continue:"), "key.stale_process");
    let cont = recs.iter().find(|r| r["tool"] == "continue").unwrap();
    assert!(cont["diagnoses"][0]["fix"][0].as_str().unwrap().contains("Kill VS Code Server on Host"));
    assert_eq!(root(&recs, "/env/ANTHROPIC_AUTH_TOKEN"), "header.wrong_scheme");
}

#[test]
fn man_page_is_current() {
    assert_man_current("keyhole-classify");
}
