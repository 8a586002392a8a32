//! Account state read from free endpoints (docs/records.md#probe, `account`):
//! OpenRouter's `/key` (the key check itself) and one `/credits` per
//! distinct working key. A key that authenticates but whose own limit is
//! used up, whose account has no credits, that is on the free tier, or that
//! is nearly out: each is named before `ok`, with its fix, the same through
//! the pipeline and through `keyhole doctor`; `keyhole doctor --completion`
//! sends the one-token completion and says what it costs; without it a
//! site's model is "not checked: needs --completion".

mod util;

use std::path::Path;

use serde_json::Value;
use util::account::{self, AccountImitation, AccountState};
use util::*;

fn key(s: &AccountState) -> String {
    or_canary(s.tag)
}

/// A Debian home: .bashrc with its interactive guard, Continue with one
/// model per account, an Aider project (the second tool, configured
/// correctly) whose .env overrides the shell's key, and a template .env.
fn write_home(t: &TempDir, outside: &TempDir, base: &str) -> std::path::PathBuf {
    t.write(
        ".bashrc",
        "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# If not running interactively, don't do anything\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\n\nHISTCONTROL=ignoreboth\nalias ll='ls -alF'\n",
    );
    t.write(".profile", "# ~/.profile\nif [ -n \"$BASH_VERSION\" ]; then\n    . \"$HOME/.bashrc\"\nfi\n");
    let m = |name: &str, model: &str, k: &str| {
        format!(
            "  - name: {name}\n    provider: openrouter\n    model: {model}\n    apiBase: {base}\n    apiKey: {k}\n"
        )
    };
    let paid = "anthropic/claude-sonnet-4.5";
    let cfg = [
        "name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n".to_string(),
        m("limit", paid, &key(&account::KEY_LIMIT)),
        m("credits", paid, &key(&account::NO_CREDITS)),
        m("free", "deepseek/deepseek-chat-v3.1:free", &key(&account::FREE_TIER)),
        m("healthy", paid, &key(&account::HEALTHY)),
        m("low", paid, &key(&account::LOW)),
        m("zeros", paid, &key(&account::ZEROS)),
    ]
    .concat();
    t.write(".continue/config.yaml", cfg);
    t.write("proj/.aider.conf.yml", format!("# aider settings\nmodel: openrouter/{paid}\n"));
    t.write(
        "proj/.env",
        format!("# OpenRouter\nOPENROUTER_API_KEY={}\nOPENROUTER_API_BASE={base}\n", key(&account::HEALTHY)),
    );
    t.write("proj/.env.example", "OPENROUTER_API_KEY=your-api-key-here\n");
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    outside.write("analysed.env", format!("SHELL=/bin/bash\nLANG=C.UTF-8\nOPENROUTER_API_KEY={}\n", key(&account::ALT)))
}

fn continue_site(recs: &[Value], n: usize) -> &Value {
    site(recs, "continue", ".continue/config.yaml", &format!("/models/{n}"))
}

fn first(s: &Value) -> (String, String, String, String) {
    let d = &s["diagnoses"][0];
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (text(&d["code"]), text(&d["severity"]), text(&d["summary"]), d["fix"].to_string())
}

fn doctor(home: &Path, envf: &Path, base: &str, extra: &[&str]) -> Run {
    let mut c = cmd("keyhole", home);
    c.arg("doctor").arg("--home").arg(home).arg("--env-file").arg(envf);
    c.arg("--proc-root").arg(home.join("proc")).args(["--timeout", "5"]).args(extra);
    c.arg("--provider-url").arg(format!("openrouter={base}"));
    let out = c.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let records = if extra.contains(&"--json") {
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    } else {
        Vec::new()
    };
    let r = Run {
        status: out.status.code().unwrap_or(-1),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        records,
    };
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_no_canary("doctor stdout", &r.stdout);
    assert_no_canary("doctor stderr", &r.stderr);
    r
}

#[test]
fn account_state_comes_before_ok_through_the_pipeline_and_doctor() {
    let imi = AccountImitation::start();
    let (t, outside) = (TempDir::new("account"), TempDir::new("account-env"));
    let envf = write_home(&t, &outside, &imi.base());
    let recs = run_pipeline(&pipeline_command(
        t.path(),
        &envf,
        "",
        Some(&format!("--provider-url openrouter={}", imi.base())),
    ));

    // The key's own limit is used up: the fix names the key's settings page and the limit.
    let limit = continue_site(&recs, 0);
    let (code, sev, summary, fix) = first(limit);
    assert_eq!((code.as_str(), sev.as_str()), ("limit.key_limit", "error"), "{limit}");
    assert!(summary.contains("10"), "{summary}");
    assert!(fix.contains("https://openrouter.ai/settings/keys") && fix.contains("10"), "{fix}");
    let acct = &limit["probe"]["account"];
    assert_eq!(acct["limit_remaining"], 0.0, "{acct}");
    assert!(acct["from"]["limit_remaining"].as_str().unwrap().ends_with("/api/v1/key"), "{acct}");

    // No credits left: add credits, or use a free model.
    let credits = continue_site(&recs, 1);
    let (code, sev, _, fix) = first(credits);
    assert_eq!((code.as_str(), sev.as_str()), ("credits.insufficient", "error"), "{credits}");
    assert!(fix.contains("https://openrouter.ai/settings/credits") && fix.contains(":free"), "{fix}");
    let acct = &credits["probe"]["account"];
    assert_eq!(acct["balance"], 0.0, "{acct}");
    assert!(acct["from"]["credits_total"].as_str().unwrap().ends_with("/api/v1/credits"), "{acct}");

    // The free tier, on a :free model: a warning that says what the daily limit means.
    let free = continue_site(&recs, 2);
    let (code, sev, summary, _) = first(free);
    assert_eq!((code.as_str(), sev.as_str()), ("limit.free_tier", "warning"), "{free}");
    assert!(summary.contains("50") && summary.contains("42"), "{summary}");

    // Healthy, and a funded key whose /credits answers zeros: ok.
    assert_eq!(first(continue_site(&recs, 3)).0, "ok");
    let zeros = continue_site(&recs, 5);
    assert_eq!(first(zeros).0, "ok", "zeros from /credits for a key that has paid are not an empty account: {zeros}");

    // A little left: a warning before ok.
    let (code, sev, summary, _) = first(continue_site(&recs, 4));
    assert_eq!((code.as_str(), sev.as_str()), ("credits.low", "warning"));
    assert!(summary.contains("0.40"), "{summary}");

    // The second tool, configured correctly: ok; the shell's key it overrides was probed too.
    let aider = recs.iter().find(|r| r["tool"] == "aider").expect("an aider site");
    let codes: Vec<&str> = aider["diagnoses"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(
        codes.contains(&"ok") && codes.iter().all(|c| !c.starts_with("credits") && !c.starts_with("limit")),
        "{aider}"
    );
    assert!(!aider["probe"]["alternatives"].as_array().is_none_or(|a| a.is_empty()), "{aider}");

    // One /credits per distinct working key: not per site, not per alternative.
    let counts = imi.counts();
    assert_eq!(counts.get("GET /api/v1/credits"), Some(&6), "{counts:?}");
    assert!(counts.keys().all(|k| !k.starts_with("POST")), "no completion without --completion: {counts:?}");

    // keyhole doctor: the same first diagnosis for every site, and its words.
    let d = doctor(t.path(), &envf, &imi.base(), &["--json"]);
    let firsts = |rs: &[Value]| -> Vec<(String, String)> {
        rs.iter()
            .filter(|r| r["type"] == "site")
            .map(|r| (r["id"].as_str().unwrap_or("").to_string(), r["diagnoses"][0]["code"].to_string()))
            .collect()
    };
    assert_eq!(firsts(&d.records), firsts(&recs));
    let words = doctor(t.path(), &envf, &imi.base(), &[]);
    assert_eq!(words.status, 1, "{}", words.stdout);
    for want in ["limit.key_limit", "credits.insufficient", "limit.free_tier", "credits.low", "settings/keys"] {
        assert!(words.stdout.contains(want), "{want}:\n{}", words.stdout);
    }
    // The healthy sites' models were not checked: said once per such site, not a bare ok.
    let not_checked = words.stdout.matches("not checked: ").count();
    assert!(not_checked >= 2, "{}", words.stdout);
    assert!(words.stdout.contains("needs --completion"), "{}", words.stdout);
}

#[test]
fn doctor_completion_sends_one_token_and_says_what_it_costs() {
    let imi = AccountImitation::start();
    let (t, outside) = (TempDir::new("account-completion"), TempDir::new("account-completion-env"));
    let envf = write_home(&t, &outside, &imi.base());
    let pipeline = run_pipeline(&pipeline_command(
        t.path(),
        &envf,
        "",
        Some(&format!("--completion --provider-url openrouter={}", imi.base())),
    ));
    let d = doctor(t.path(), &envf, &imi.base(), &["--completion", "--json"]);
    let firsts = |rs: &[Value]| -> Vec<(String, String)> {
        rs.iter()
            .filter(|r| r["type"] == "site")
            .map(|r| (r["id"].as_str().unwrap_or("").to_string(), r["diagnoses"][0]["code"].to_string()))
            .collect()
    };
    assert_eq!(firsts(&d.records), firsts(&pipeline));
    let limit = continue_site(&d.records, 0);
    assert_eq!(limit["probe"]["request"]["method"], "POST", "{limit}");
    assert_eq!(first(limit).0, "limit.key_limit");
    assert_eq!(first(continue_site(&d.records, 1)).0, "credits.insufficient");
    assert_eq!(first(continue_site(&d.records, 2)).0, "limit.free_tier", "the :free model answers; the tier is said");
    assert_eq!(first(continue_site(&d.records, 3)).0, "ok");

    let words = doctor(t.path(), &envf, &imi.base(), &["--completion"]);
    assert!(words.stdout.contains("max_tokens 1"), "it says what it sends:\n{}", words.stdout);
    assert!(!words.stdout.contains("needs --completion"), "{}", words.stdout);
    let help = cmd("keyhole", t.path()).args(["doctor", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--completion") && help.contains("max_tokens 1"), "{help}");
}
