//! The request keyhole-probe sends is the tool's own (docs/wire.md#measured-clients):
//! every credential header it sends at once, its URL joining, and the routes
//! and headers of Azure OpenAI (behind API Management too) and Gemini. Each
//! test runs the whole pipeline on a Debian home with its noise (a template
//! `.env.example`, a second tool configured correctly) against a loopback
//! API that records what it received, and asserts the exact URL, the
//! headers, and the first diagnosis with its fix.

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use util::imitation::Imitation;
use util::requests::Api;
use util::*;

/// An Anthropic-shaped canary key (108 bytes, ends in AA).
fn ant_canary(tag: &str) -> String {
    format!("sk-ant-api03-{}{tag}AA", "c".repeat(89))
}

/// Debian's .bashrc (its interactive guard), with `export VAR=value` lines
/// appended below the guard, as people add them; .profile; a template.
fn debian_home(t: &TempDir, exports: &[(&str, &str)]) {
    let env = fixtures().join("env/debian");
    let mut bashrc = std::fs::read_to_string(env.join(".bashrc")).unwrap();
    for (k, v) in exports {
        bashrc.push_str(&format!("\n# added for the API\nexport {k}={v}\n"));
    }
    t.write(".bashrc", bashrc);
    t.write(".profile", std::fs::read(env.join(".profile")).unwrap());
    t.write("work/.env.example", "# copy to .env\nANTHROPIC_API_KEY=your-api-key-here\nOPENROUTER_API_KEY=\n");
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
}

/// The environment of a terminal tab on that home.
fn terminal_env(t: &TempDir, vars: &[(&str, &str)]) -> PathBuf {
    let mut e = "PATH=/usr/bin:/bin\nSHELL=/bin/bash\nUSER=u\nLANG=C.UTF-8\n".to_string();
    for (k, v) in vars {
        e.push_str(&format!("{k}={v}\n"));
    }
    t.write("analysed.env", e)
}

/// A second tool, configured correctly: Continue on OpenRouter (the
/// imitation), its apiBase with a trailing slash.
fn continue_ok(t: &TempDir, imi: &Imitation, key: &str, more_models: &str) {
    t.write(
        ".continue/config.yaml",
        format!(
            "name: work\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: sonnet\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {}/api/v1/\n    apiKey: {key}\n{more_models}",
            imi.base()
        ),
    );
}

fn pipeline(home: &Path, env: &Path, find_args: &str, probe_args: Option<&str>) -> Vec<Value> {
    run_pipeline(&pipeline_command(home, env, find_args, probe_args))
}

fn claude_site(recs: &[Value]) -> &Value {
    recs.iter().find(|r| r["tool"] == "claude-code").unwrap_or_else(|| panic!("no Claude Code site: {recs:#?}"))
}

fn first(site: &Value) -> &Value {
    &site["diagnoses"][0]
}

#[test]
fn claude_code_sends_the_token_and_the_shell_key_in_one_request_and_the_api_reads_x_api_key_first() {
    let (token, stale) = (ant_canary("TOK1"), ant_canary("OLD1"));
    let api = Api::start(&[&token]);
    let or_key = or_canary("GOOD");
    let imi = Imitation::start(&or_key, None);
    let t = TempDir::new("requests-both");
    debian_home(&t, &[("ANTHROPIC_API_KEY", &stale)]);
    // Claude Code through a gateway that serves Anthropic's routes (OpenRouter's guide: base …/api).
    t.write(
        ".claude/settings.json",
        format!(
            "{{\n  \"env\": {{\n    \"ANTHROPIC_BASE_URL\": \"{}/api\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{token}\"\n  }},\n  \"model\": \"sonnet\"\n}}\n",
            api.base()
        ),
    );
    continue_ok(&t, &imi, &or_key, "");
    let env = terminal_env(&t, &[("ANTHROPIC_API_KEY", &stale)]);
    let recs = pipeline(t.path(), &env, "", Some(""));
    let site = claude_site(&recs);
    // keyhole-env: the other header, with where its value comes from.
    let also = &site["also"][0];
    assert_eq!((also["header"].as_str(), also["key"]["var"].as_str()), (Some("x-api-key"), Some("ANTHROPIC_API_KEY")));
    // One request, both headers, at the URL Claude Code joins (base + /v1/…).
    let seen = api.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/api/v1/models");
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!(seen[0].header("x-api-key"), Some(stale.as_str()));
    assert_eq!(site["probe"]["request"]["also"][0]["header"], "x-api-key");
    // The API validated the shell's stale key: the root cause names it, and the fix takes it away.
    let d = first(site);
    assert_eq!(d["code"], "key.shadowed", "{site:#}");
    assert!(d["summary"].as_str().unwrap().contains("reads x-api-key first"), "{d}");
    let fix = d["fix"][0].as_str().unwrap();
    assert!(fix.starts_with("unset ANTHROPIC_API_KEY") && fix.contains(".bashrc:"), "{fix}");
    // The second tool: its trailing slash trimmed as Continue trims it, its key fine.
    let cont = recs.iter().find(|r| r["tool"] == "continue").unwrap();
    assert_eq!(first(cont)["code"], "ok");
    assert!(imi.requests().iter().any(|s| s.path == "/api/v1/key"), "{:?}", imi.requests());
}

#[test]
fn claude_code_on_its_default_base_is_probed_at_v1_once() {
    let key = ant_canary("KEY1");
    let api = Api::start(&[&key]);
    let t = TempDir::new("requests-default");
    debian_home(&t, &[]);
    t.write(".claude/settings.json", format!("{{\n  \"env\": {{\n    \"ANTHROPIC_API_KEY\": \"{key}\"\n  }}\n}}\n"));
    let env = terminal_env(&t, &[]);
    // The catalogue's default base (…/v1) stands in for https://api.anthropic.com/v1.
    let url = format!("--provider-url anthropic={}/v1", api.base());
    let recs = pipeline(t.path(), &env, &url, Some(&url));
    let site = claude_site(&recs);
    assert_eq!(site["base_url_from"], "default");
    let seen = api.requests();
    assert_eq!(seen.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(), ["/v1/models"], "never /v1/v1/models");
    assert_eq!(seen[0].header("x-api-key"), Some(key.as_str()));
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(first(site)["code"], "ok", "{site:#}");
}

#[test]
fn claude_code_helper_output_goes_in_both_headers() {
    let t = TempDir::new("requests-helper");
    debian_home(&t, &[]);
    let helper = t.write("bin/anthropic-key", "#!/bin/sh\npass show anthropic\n");
    t.write(
        ".claude/settings.json",
        format!("{{\n  \"apiKeyHelper\": \"{}\",\n  \"env\": {{\"ANTHROPIC_BASE_URL\": \"https://openrouter.ai/api\"}}\n}}\n", helper.display()),
    );
    let env = terminal_env(&t, &[]);
    let recs = pipeline(t.path(), &env, "", None);
    let site = claude_site(&recs);
    assert_eq!(site["auth"]["header"], "x-api-key");
    let also = &site["also"][0];
    assert_eq!((also["header"].as_str(), also["scheme"].as_str()), (Some("authorization"), Some("bearer")));
    assert_eq!(also["key"]["from"], "command");
}

#[test]
fn continue_azure_deployment_is_requested_as_continue_builds_it() {
    let key = format!("{}a1b2", "c".repeat(28));
    let api = Api::start(&[&key]);
    let or_key = or_canary("GOOD");
    let imi = Imitation::start(&or_key, None);
    let t = TempDir::new("requests-azure");
    debian_home(&t, &[]);
    // The API Management prefix /aoai stands in for https://contoso.azure-api.net/aoai.
    let azure = format!(
        "  - name: gpt-4o (work)\n    provider: azure\n    model: gpt-4o\n    apiBase: {}/aoai/\n    apiKey: {key}\n    env:\n      apiType: azure-openai\n      deployment: gpt-4o-prod\n      apiVersion: 2024-02-15-preview\n",
        api.base()
    );
    continue_ok(&t, &imi, &or_key, &azure);
    let env = terminal_env(&t, &[]);
    let azure_site = |recs: &[Value]| recs.iter().find(|r| r["provider"] == "azure").cloned().expect("an azure site");
    // The free check: the resource's models listing, beside the deployment, with Continue's api-version.
    let recs = pipeline(t.path(), &env, "", Some(""));
    let site = azure_site(&recs);
    assert_eq!(
        site["base_url"],
        format!("{}/aoai/openai/deployments/gpt-4o-prod?api-version=2024-02-15-preview", api.base())
    );
    assert_eq!(site["model"], "gpt-4o-prod");
    assert_eq!(first(&site)["code"], "ok", "{site:#}");
    // --completion posts where Continue posts.
    let recs = pipeline(t.path(), &env, "", Some("--completion"));
    assert_eq!(first(&azure_site(&recs))["code"], "ok");
    let seen = api.requests();
    let paths: Vec<(&str, &str)> = seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            ("GET", "/aoai/openai/models?api-version=2024-02-15-preview"),
            ("POST", "/aoai/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-02-15-preview")
        ]
    );
    assert!(seen.iter().all(|s| s.header("api-key") == Some(key.as_str()) && s.header("authorization").is_none()));
}

#[test]
fn azure_behind_api_management_and_gemini_through_an_openai_client_are_their_own_apis() {
    let t = TempDir::new("requests-hosts");
    debian_home(&t, &[]);
    let hex = format!("{}d4e5", "c".repeat(28));
    let gemini = format!("AIza{}GM1", "c".repeat(32));
    t.write(
        ".continue/config.yaml",
        format!(
            "name: work\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: apim\n    provider: azure\n    model: gpt-4o\n    apiBase: https://contoso-ai.azure-api.net/aoai\n    apiKey: {hex}\n    env:\n      apiType: azure-openai\n      deployment: gpt-4o\n      apiVersion: 2024-10-21\n  - name: gemini native\n    provider: openai\n    model: gemini-2.0-flash\n    apiBase: https://generativelanguage.googleapis.com/v1beta\n    apiKey: {gemini}\n  - name: gemini compat\n    provider: openai\n    model: gemini-2.0-flash\n    apiBase: https://generativelanguage.googleapis.com/v1beta/openai/\n    apiKey: {gemini}\n"
        ),
    );
    let env = terminal_env(&t, &[]);
    let recs = pipeline(t.path(), &env, "", None);
    let model = |n: usize| {
        recs.iter().find(|r| r["id"].as_str().is_some_and(|i| i.ends_with(&format!("/models/{n}")))).unwrap().clone()
    };
    let apim = model(0);
    assert_eq!((apim["provider"].as_str(), apim["auth"]["header"].as_str()), (Some("azure-apim"), Some("api-key")));
    assert_eq!(
        apim["base_url"],
        "https://contoso-ai.azure-api.net/aoai/openai/deployments/gpt-4o?api-version=2024-10-21"
    );
    // A Gemini key on Gemini's base is Gemini's, whatever client sends it: never "sent to OpenAI".
    let native = model(1);
    assert_eq!(
        (native["provider"].as_str(), native["auth"]["header"].as_str()),
        (Some("gemini"), Some("authorization"))
    );
    let codes: Vec<&str> = native["diagnoses"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(!codes.contains(&"key.wrong_provider"), "{native:#}");
    let d = first(&native);
    assert_eq!(d["code"], "header.wrong_scheme", "{native:#}");
    assert!(d["fix"][0].as_str().unwrap().contains("/v1beta/openai/"), "{d}");
    // Its OpenAI-compatible base reads the Bearer key: nothing wrong with the header there.
    let compat = model(2);
    assert_eq!(compat["provider"], "gemini");
    let codes: Vec<&str> = compat["diagnoses"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(!codes.contains(&"header.wrong_scheme") && !codes.contains(&"key.wrong_provider"), "{compat:#}");
}

#[test]
fn opencode_and_continue_trim_the_base_before_joining() {
    let key = or_canary("GOOD");
    let imi = Imitation::start(&key, None);
    let t = TempDir::new("requests-opencode");
    debian_home(&t, &[]);
    continue_ok(&t, &imi, &or_canary("NOPE"), "");
    t.write(
        "proj/opencode.json",
        format!(
            "{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"openrouter/anthropic/claude-sonnet-4.5\",\n  \"provider\": {{\"openrouter\": {{\"options\": {{\"baseURL\": \"{}/api/v1/\", \"apiKey\": \"{key}\"}}}}}}\n}}\n",
            imi.base()
        ),
    );
    let env = terminal_env(&t, &[]);
    let recs = pipeline(t.path(), &env, "", Some(""));
    let oc = recs.iter().find(|r| r["tool"] == "opencode" && r["id"].as_str().unwrap().contains("/provider/")).unwrap();
    assert_eq!(first(oc)["code"], "ok", "{oc:#}");
    let cont = recs.iter().find(|r| r["tool"] == "continue").unwrap();
    assert_eq!(first(cont)["code"], "auth.invalid_key", "{cont:#}");
    // Both trim the trailing slash: one path, never //key.
    let paths: Vec<String> = imi.requests().iter().map(|s| s.path.clone()).collect();
    let checks: Vec<&String> = paths.iter().filter(|p| p.ends_with("/key")).collect();
    assert!(checks.len() == 2 && checks.iter().all(|p| *p == "/api/v1/key"), "{paths:?}");
    assert!(paths.iter().all(|p| !p.contains("//")), "{paths:?}");
}

#[test]
fn claude_code_two_different_keys_that_pass_still_say_which_one_was_never_checked() {
    let (stale_token, key) = (ant_canary("OLD2"), ant_canary("KEY2"));
    let api = Api::start(&[&key]);
    let t = TempDir::new("requests-unchecked");
    debian_home(&t, &[("ANTHROPIC_API_KEY", &key)]);
    t.write(
        ".claude/settings.json",
        format!(
            "{{\n  \"env\": {{\n    \"ANTHROPIC_BASE_URL\": \"{}/api\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{stale_token}\"\n  }}\n}}\n",
            api.base()
        ),
    );
    let env = terminal_env(&t, &[("ANTHROPIC_API_KEY", &key)]);
    let recs = pipeline(t.path(), &env, "", Some(""));
    let site = claude_site(&recs);
    let seen = api.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {stale_token}").as_str()));
    assert_eq!(seen[0].header("x-api-key"), Some(key.as_str()));
    // The API read x-api-key, which works: ok, and a warning that the token was never checked.
    assert_eq!(first(site)["code"], "ok", "{site:#}");
    let w = site["diagnoses"].as_array().unwrap().iter().find(|d| d["code"] == "key.shadowed").expect("a warning");
    assert_eq!(w["severity"], "warning");
    assert!(w["summary"].as_str().unwrap().contains("never checked"), "{w}");
}
