//! Gemini CLI and Qwen Code (docs/tools.md#gemini-cli, docs/tools.md#qwen-code),
//! and the Gemini, Vertex AI and DashScope answers (docs/wire.md#google-gemini,
//! docs/wire.md#dashscope): keyhole-find's sites on their fixture homes, the
//! first diagnosis and its fix through the pipeline and `keyhole doctor`,
//! which `.env` and variable each tool uses, and what their errors mean.

mod util;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use util::*;

fn home(name: &str) -> PathBuf {
    fixtures().join("homes").join(name)
}

fn find(home: &Path, extra: &[&str]) -> Vec<Value> {
    let mut c = cmd("keyhole-find", home);
    c.args(["--home"]).arg(home).arg("-q").args(extra);
    let r = run(c);
    assert_no_canary("keyhole-find", &r.stdout);
    assert_no_canary("keyhole-find stderr", &r.stderr);
    r.records
}

/// find | env | classify on `home`, with the analysed environment `env` (NAME=value lines).
fn pipeline(home: &Path, env: &str, tag: &str) -> (Vec<Value>, TempDir) {
    let t = TempDir::new(tag);
    let env_file = t.write("analysed.env", env);
    std::fs::create_dir_all(home.join("proc")).ok();
    let cmdline =
        pipeline_command(home, &env_file, "", None).replace(&format!("{}/proc", home.display()), "/nonexistent-proc");
    (run_pipeline(&cmdline), t)
}

fn doctor(home: &Path, env_file: &Path) -> Vec<Value> {
    let mut c = cmd("keyhole", home);
    c.args(["doctor", "--offline", "--json", "--home"])
        .arg(home)
        .arg("--env-file")
        .arg(env_file)
        .args(["--proc-root", "/nonexistent-proc"])
        .stdout(Stdio::piped());
    let r = run(c);
    assert_no_canary("keyhole doctor", &r.stdout);
    assert_no_canary("keyhole doctor stderr", &r.stderr);
    r.records
}

fn first(site: &Value) -> &Value {
    &site["diagnoses"][0]
}

fn fix0(d: &Value) -> &str {
    d["fix"][0].as_str().unwrap_or("")
}

fn classify_http(status: u16, body: &str) -> Value {
    let t = TempDir::new("gq-classify");
    let raw = format!("HTTP/1.1 {status} x\r\ncontent-type: application/json\r\n\r\n{body}");
    let (out, _) = spawn("keyhole-classify", t.path(), &["--http".into()], raw.as_bytes());
    records(&out).remove(0)
}

#[test]
fn gemini_cli_sites_in_its_real_files() {
    let h = home("gemini-cli");
    let recs = find(&h, &[]);
    let env = site(&recs, "gemini-cli", "/.gemini/.env", "GEMINI_API_KEY@2");
    assert_eq!(env["provider"], "gemini");
    assert_eq!(env["auth"]["header"], "x-goog-api-key");
    assert_eq!(env["key"]["fp"]["last4"], "GH02");
    // The older top-level selectedAuthType, in a project's own settings.
    let s = site(&recs, "gemini-cli", "work/site/.gemini/settings.json", "/selectedAuthType");
    assert_eq!(s["key"]["var"], "GEMINI_API_KEY");
    assert!(s["key"]["note"].as_str().unwrap().contains("GOOGLE_API_KEY and GOOGLE_GENAI_USE_VERTEXAI are not read"));
    // The project .env written for the user's own code switches the CLI to Vertex AI.
    let v = site(&recs, "gemini-cli", "work/vertex-app/.env", "GOOGLE_GENAI_USE_VERTEXAI@2");
    assert_eq!(v["provider"], "vertex-ai");
    assert_eq!(v["key"]["var"], "GOOGLE_API_KEY");
    // The same file is still a generic .env site for the user's own code.
    site(&recs, "dotenv", "work/vertex-app/.env", "GOOGLE_API_KEY@5");
    // The home's settings.json selects no auth type: no site of its own.
    assert!(!recs
        .iter()
        .any(|r| r["source"]["file"].as_str().is_some_and(|f| f.ends_with("homes/gemini-cli/.gemini/settings.json"))));
}

#[test]
fn a_project_env_for_the_users_own_code_flips_gemini_cli_to_vertex() {
    let h = home("gemini-cli");
    let (recs, t) = pipeline(&h, "SHELL=/bin/bash\n", "gq-vertex");
    let v = site(&recs, "gemini-cli", "work/vertex-app/.env", "GOOGLE_GENAI_USE_VERTEXAI@2");
    let d = first(v);
    assert_eq!(d["code"], "header.wrong_scheme", "{d}");
    assert!(fix0(d).contains("GOOGLE_GENAI_USE_VERTEXAI in this .env is read by Gemini CLI"), "{d}");
    assert!(fix0(d).contains("~/.gemini/.env"), "{d}");
    // The template beside it is an example, nothing loads it.
    let ex = site(&recs, "gemini-cli", "work/vertex-app/.env.example", "");
    assert_eq!(first(ex)["code"], "key.template");
    // keyhole doctor says the same.
    let doc = doctor(&h, &t.path().join("analysed.env"));
    let v = site(&doc, "gemini-cli", "work/vertex-app/.env", "GOOGLE_GENAI_USE_VERTEXAI@2");
    assert_eq!(first(v)["code"], "header.wrong_scheme");
    assert_eq!(fix0(first(v)), fix0(d));

    // Near miss: settings.json pins gemini-api-key, so the variable is not read.
    let t2 = TempDir::new("gq-pinned");
    t2.write(".gemini/settings.json", r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#);
    let env = std::fs::read_to_string(h.join("work/vertex-app/.env")).unwrap();
    t2.write("work/vertex-app/.env", env);
    let recs = find(t2.path(), &[]);
    assert!(!recs.iter().any(|r| r["provider"] == "vertex-ai"), "{recs:#?}");
    // Near misses: the variable set to false, or to TRUE (the CLI compares with `true` exactly).
    for value in ["false", "TRUE"] {
        let t3 = TempDir::new("gq-false");
        t3.write("work/app/.env", format!("GOOGLE_GENAI_USE_VERTEXAI={value}\nGOOGLE_API_KEY=x\n"));
        assert!(!find(t3.path(), &[]).iter().any(|r| r["provider"] == "vertex-ai"), "{value}");
    }
}

#[test]
fn gemini_cli_loads_the_projects_env_instead_of_its_own() {
    // gemini-cli#28107: started in work/site, the CLI loads work/site/.env,
    // not ~/.gemini/.env.
    let h = home("gemini-cli");
    let (recs, _t) = pipeline(&h, "SHELL=/bin/bash\n", "gq-28107");
    let s = site(&recs, "gemini-cli", "work/site/.gemini/settings.json", "/selectedAuthType");
    let eff = &s["env"]["effective"];
    assert!(eff["from"].as_str().unwrap().ends_with("work/site/.env"), "{eff}");
    assert_eq!(eff["fp"]["last4"], "GS04");
    let res = s["env"]["resolution"].as_array().unwrap();
    let own = res
        .iter()
        .find(|c| c["at"].as_str().unwrap().ends_with("/.gemini/.env"))
        .expect("~/.gemini/.env is a candidate");
    assert_eq!(own["outcome"], "shadowed", "{own}");
    // An exported GEMINI_API_KEY beats every .env: the CLI keeps what the environment has.
    let key = format!("AIza{}GX05", "c".repeat(31));
    let (recs, _t) = pipeline(&h, &format!("GEMINI_API_KEY={key}\n"), "gq-28107-env");
    let s = site(&recs, "gemini-cli", "work/site/.gemini/settings.json", "/selectedAuthType");
    assert_eq!(s["env"]["effective"]["from"], "environment");
}

#[test]
fn qwen_code_sites_and_an_exported_key_beats_its_env_file() {
    let h = home("qwen-code");
    let recs = find(&h, &[]);
    let m = site(&recs, "qwen-code", "/.qwen/settings.json", "/modelProviders/openai/0");
    assert_eq!(m["provider"], "dashscope");
    assert_eq!(m["base_url"], "https://dashscope-intl.aliyuncs.com/compatible-mode/v1");
    assert_eq!(m["key"]["var"], "DASHSCOPE_API_KEY");
    let e = site(&recs, "qwen-code", "/.qwen/.env", "OPENAI_API_KEY@1");
    assert_eq!(e["provider"], "dashscope", "OPENAI_BASE_URL beside the key names the API");
    let o = site(&recs, "qwen-code", "/.qwen/settings.json", "/modelProviders/openai/1");
    assert_eq!(o["provider"], "openrouter");
    site(&recs, "hermes", "/.hermes/.env", "");

    // qwen-code#119: an exported OPENAI_API_KEY beats ~/.qwen/.env.
    let key = format!("sk-{}x9", "c".repeat(30));
    let (recs, t) = pipeline(&h, &format!("OPENAI_API_KEY={key}\n"), "gq-119");
    let e = site(&recs, "qwen-code", "/.qwen/.env", "OPENAI_API_KEY@1");
    assert_eq!(first(e)["code"], "key.shadowed", "{e}");
    assert!(first(e)["summary"].as_str().unwrap().contains("Qwen Code does not use this OPENAI_API_KEY"));
    // settings.json's env block is the last fallback: used while nothing else sets the variable.
    let m = site(&recs, "qwen-code", "/.qwen/settings.json", "/modelProviders/openai/0");
    assert!(m["env"]["effective"]["from"].as_str().unwrap().ends_with(".qwen/settings.json"), "{m}");
    let doc = doctor(&h, &t.path().join("analysed.env"));
    assert_eq!(first(site(&doc, "qwen-code", "/.qwen/.env", "OPENAI_API_KEY@1"))["code"], "key.shadowed");
    let (recs, _t) = pipeline(&h, &format!("DASHSCOPE_API_KEY={key}\n"), "gq-119-ds");
    let m = site(&recs, "qwen-code", "/.qwen/settings.json", "/modelProviders/openai/0");
    assert_eq!(m["env"]["effective"]["from"], "environment");
}

#[test]
fn a_dashscope_key_of_the_other_region_names_the_other_host() {
    for body in keyhole_core::provider::get("dashscope").unwrap().answers.iter().map(|a| a.body) {
        let r = classify_http(401, body);
        let d = &r["diagnoses"][0];
        assert_eq!(d["code"], "auth.invalid_key", "{r}");
        assert!(fix0(d).contains("https://dashscope-intl.aliyuncs.com/compatible-mode/v1"), "{d}");
        assert!(fix0(d).contains("https://dashscope.aliyuncs.com/compatible-mode/v1"), "{d}");
    }
    // Near miss: OpenAI's own wrong-key text is not DashScope's.
    let r = classify_http(
        401,
        r#"{"error":{"message":"Incorrect API key provided: sk-proj-****abcd.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
    );
    assert!(!fix0(&r["diagnoses"][0]).contains("dashscope"), "{r}");
}

#[test]
fn gemini_header_errors_say_which_header() {
    let gemini = keyhole_core::provider::get("gemini").unwrap();
    let body = |id: &str| gemini.answers.iter().find(|a| a.id == id).unwrap();
    let bearer = body("bearer-not-oauth");
    let r = classify_http(bearer.status, bearer.body);
    assert_eq!(r["diagnoses"][0]["code"], "header.wrong_scheme", "{r}");
    assert!(fix0(&r["diagnoses"][0]).contains("x-goog-api-key"));
    for id in ["both-headers", "both-headers-401"] {
        let b = body(id);
        let r = classify_http(b.status, b.body);
        assert_eq!(r["diagnoses"][0]["code"], "header.wrong_scheme", "{id}: {r}");
        assert!(fix0(&r["diagnoses"][0]).contains("send the key once"), "{id}");
    }
    let vertex = keyhole_core::provider::get("vertex-ai").unwrap().answers[0].body;
    let r = classify_http(401, vertex);
    assert_eq!(r["diagnoses"][0]["code"], "header.wrong_scheme", "{r}");
    assert!(fix0(&r["diagnoses"][0]).contains("GOOGLE_GENAI_USE_VERTEXAI"));
}
