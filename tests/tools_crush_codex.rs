//! Crush, Codex's providers and Aider's bare model names (docs/tools.md#crush,
//! docs/tools.md#codex, docs/tools.md#aider), on noisy homes: Debian's
//! .bashrc with its interactive guard, a `.env.example` template, a second
//! tool configured correctly.

mod util;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

fn noisy_home(tag: &str, good: &str, imi: &Imitation) -> TempDir {
    let t = TempDir::new(tag);
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    t.write(".bashrc", format!("{stock}\nexport EDITOR=vim\nexport UNRELATED_TOKEN={}\n", or_canary("UNRL")));
    t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\nOPENAI_API_KEY=sk-...\n");
    t.write(
        ".continue/config.yaml",
        format!(
            "name: ok\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: fine\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {}/api/v1\n    apiKey: {good}\n",
            imi.base()
        ),
    );
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    t
}

fn env_file(t: &TempDir, env: &[(&str, &str)]) -> std::path::PathBuf {
    let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    t.write("analysed.env", pairs.join("\0") + "\0PATH=/usr/bin\0SHELL=/bin/bash\0")
}

fn first(r: &Value) -> &str {
    r["diagnoses"][0]["code"].as_str().unwrap_or_else(|| panic!("no diagnosis: {r}"))
}

fn first_text(r: &Value) -> String {
    r["diagnoses"][0].to_string()
}

/// The pipeline's records, and `keyhole doctor --json`'s on the same home: the same first diagnosis.
fn diagnose(t: &TempDir, env: &[(&str, &str)], imi: &Imitation) -> Vec<Value> {
    let envf = env_file(t, env);
    let url = format!("--provider-url openrouter={}/api/v1", imi.base());
    let recs = run_pipeline(&pipeline_command(t.path(), &envf, "", Some(&url)));
    let h = t.path().display().to_string();
    let args: Vec<String> = [
        "doctor",
        "--home",
        &h,
        "--env-file",
        &envf.display().to_string(),
        "--proc-root",
        &format!("{h}/proc"),
        "--timeout",
        "3",
        "--provider-url",
        &format!("openrouter={}/api/v1", imi.base()),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (out, _) = spawn("keyhole", t.path(), &args, b"");
    assert_no_canary("doctor", &out);
    let doc = records(&out);
    for r in recs.iter().filter(|r| r["type"] == "site") {
        let d = doc.iter().find(|d| d["id"] == r["id"]).unwrap_or_else(|| panic!("doctor lacks {}", r["id"]));
        assert_eq!(
            d["diagnoses"][0]["code"], r["diagnoses"][0]["code"],
            "doctor and the pipeline agree on {}",
            r["id"]
        );
    }
    recs
}

fn find(home: &std::path::Path) -> Vec<Value> {
    let mut c = cmd("keyhole-find", home);
    c.arg("--home").arg(home).arg("-q");
    let r = run(c);
    assert_no_canary("stdout", &r.stdout);
    r.records
}

#[test]
fn crush_configs_their_syntax_and_a_base_url_without_a_scheme() {
    let recs = find(&fixtures().join("homes/crush"));
    let g = site(&recs, "crush", ".config/crush/crush.json", "/providers/openrouter");
    assert_eq!((g["key"]["from"].as_str(), g["key"]["var"].as_str()), (Some("env"), Some("OPENROUTER_API_KEY")));
    let a = site(&recs, "crush", ".config/crush/crush.json", "/providers/anthropic");
    assert_eq!(a["key"]["var"], "ANTHROPIC_API_KEY", "${{X:-}} is a variable: {a}");
    let d = site(&recs, "crush", "work/site/crush.json", "/providers/deepseek");
    assert_eq!((d["provider"].as_str(), d["key"]["syntax"].as_str()), (Some("deepseek"), Some("dollar_brace")));
    let saved = site(&recs, "crush", ".local/share/crush/crush.json", "/providers/openrouter");
    assert_eq!(saved["key"]["fp"]["last4"], "CR01");
    let local = site(&recs, "crush", "work/app/.crush.json", "/providers/local");
    assert_eq!(
        (local["key"]["from"].as_str(), local["key"]["cmd"].as_str()),
        (Some("command"), Some("pass show ai/local"))
    );
    let note = local["key"]["note"].as_str().unwrap();
    assert!(note.contains("no scheme") && note.contains("hangs"), "{note}");
    // The diagnosis says what to write, and doctor says what the pipeline says.
    let home = fixtures().join("homes/crush");
    let mut c = cmd("keyhole", &home);
    c.arg("doctor").arg("--home").arg(&home).arg("--offline").arg("--json");
    let r = run(c);
    assert_no_canary("doctor", &r.stdout);
    let local = site(&r.records, "crush", "work/app/.crush.json", "/providers/local");
    assert_eq!(local["diagnoses"][0]["code"], "url.bad_base", "{local}");
    assert!(local["diagnoses"][0].to_string().contains("http://localhost:8000/v1"), "{local}");
}

#[test]
fn a_key_crush_saved_in_its_data_dir_beats_the_environment() {
    // crush#1317: a key typed into Crush once is saved in the data dir and wins over the shell's.
    let (good, saved) = (or_canary("GOOD"), or_canary("SAVD"));
    let imi = Imitation::start(&good, None);
    let t = noisy_home("crush-store", &good, &imi);
    t.write(
        ".config/crush/crush.json",
        format!(
            "{{\n  \"providers\": {{\n    \"openrouter\": {{\n      \"base_url\": \"{}/api/v1\",\n      \"api_key\": \"$OPENROUTER_API_KEY\"\n    }}\n  }}\n}}\n",
            imi.base()
        ),
    );
    t.write(
        ".local/share/crush/crush.json",
        format!("{{\"providers\": {{\"openrouter\": {{\"api_key\": \"{saved}\"}}}}}}"),
    );
    let recs = diagnose(&t, &[("OPENROUTER_API_KEY", &good)], &imi);
    let c = site(&recs, "crush", ".config/crush/crush.json", "/providers/openrouter");
    assert!(c["env"]["effective"]["from"].as_str().unwrap().ends_with("share/crush/crush.json"), "{c}");
    assert_eq!(first(c), "key.shadowed", "{c}");
    assert!(first_text(c).contains("api_key from ~/.local/share/crush/crush.json"), "{}", first_text(c));
    assert_eq!(c["probe"]["request"]["fp"]["last4"], "SAVD", "{c}");
}

#[test]
fn codex_env_key_unset_stops_codex_with_missing_environment_variable() {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let t = noisy_home("codex-envkey", &good, &imi);
    t.write(
        ".codex/config.toml",
        format!(
            "model = \"gpt-4o\"\nprofile = \"router\"\n\n[profiles.router]\nmodel = \"anthropic/claude-sonnet-4.5\"\nmodel_provider = \"openrouter\"\n\n[model_providers.openrouter]\nname = \"OpenRouter\"\nbase_url = \"{}/api/v1\"\nenv_key = \"OPENROUTER_KEY\"\n\n[model_providers.lab]\nname = \"Lab\"\nbase_url = \"http://10.0.0.5:8000/v1\"\nenv_key = \"LAB_KEY\"\n",
            imi.base()
        ),
    );
    let recs = diagnose(&t, &[], &imi);
    let c = site(&recs, "codex", ".codex/config.toml", "/model_providers/openrouter");
    assert_eq!(c["model"], "anthropic/claude-sonnet-4.5", "the profile's model: {c}");
    assert_eq!(first(c), "key.env_unset", "{c}");
    assert!(first_text(c).contains("Missing environment variable: `OPENROUTER_KEY`"), "{}", first_text(c));
    let lab = site(&recs, "codex", ".codex/config.toml", "/model_providers/lab");
    let note = lab["key"]["note"].as_str().unwrap();
    assert!(note.contains("http://10.0.0.5:8000/v1/responses") && note.contains("404"), "{note}");
}

#[test]
fn aider_bare_model_names_and_aliases_find_their_provider() {
    let t = TempDir::new("aider-bare");
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    t.write(".bashrc", stock);
    t.write("work/app/.env.example", "OPENAI_API_KEY=sk-...\n");
    t.write("work/mini/.aider.conf.yml", "# aider\nmodel: gpt-4o-mini\nauto-commits: false\n");
    t.write("work/son/.aider.conf.yml", "model: sonnet\n");
    t.write("work/local/.aider.conf.yml", "model: 4o\nopenai-api-base: http://10.0.0.5:8080/v1\n");
    t.write("work/prefixed/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    let recs = find(t.path());
    let m = site(&recs, "aider", "mini/.aider.conf.yml", "/model");
    assert_eq!(
        (m["provider"].as_str(), m["model"].as_str(), m["key"]["var"].as_str()),
        (Some("openai"), Some("gpt-4o-mini"), Some("OPENAI_API_KEY"))
    );
    let s = site(&recs, "aider", "son/.aider.conf.yml", "/model");
    assert_eq!(
        (s["provider"].as_str(), s["model"].as_str(), s["key"]["var"].as_str()),
        (Some("anthropic"), Some("claude-sonnet-4-6"), Some("ANTHROPIC_API_KEY"))
    );
    let l = site(&recs, "aider", "local/.aider.conf.yml", "/model");
    assert_eq!(
        (l["provider"].as_str(), l["model"].as_str(), l["key"]["var"].as_str(), l["base_url"].as_str()),
        (Some("openai-compatible"), Some("gpt-4o"), Some("OPENAI_API_KEY"), Some("http://10.0.0.5:8080/v1"))
    );
    let p = site(&recs, "aider", "prefixed/.aider.conf.yml", "/model");
    assert_eq!(p["provider"], "openrouter");
}

#[test]
fn codex_profiles_a_chatgpt_login_and_codex_api_key_in_a_startup_file() {
    let recs = find(&fixtures().join("homes/codex"));
    let lab = site(&recs, "codex", ".codex/config.toml", "/model_providers/lab");
    assert_eq!((lab["model"].as_str(), lab["provider"].as_str()), (Some("qwen2.5-coder"), Some("openai-compatible")));
    let login = site(&recs, "codex", ".codex/auth.json", "");
    assert_eq!(login["key"]["store"], "codex-chatgpt-login");
    // CODEX_API_KEY, which `codex exec` reads before auth.json, is a key wherever it is exported.
    let t = TempDir::new("codex-env");
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    t.write(".profile", format!("export CODEX_API_KEY=sk-proj-{}\n", "c".repeat(48)));
    t.write(".bashrc", stock);
    let recs = find(t.path());
    let s = site(&recs, "shell", ".profile", "CODEX_API_KEY@1");
    assert_eq!(s["provider"], "openai");
    let recs = find(&fixtures().join("homes/aider"));
    let bare = site(&recs, "aider", "bareproj/.aider.conf.yml", "/model");
    assert_eq!((bare["provider"].as_str(), bare["model"].as_str()), (Some("anthropic"), Some("claude-sonnet-4-6")));
}
