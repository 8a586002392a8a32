//! The tool's resolution order on real, noisy homes (docs/launch-contexts.md#resolution):
//! the value the tool sends comes from the source that wins in the tool's own
//! order, and the first diagnosis names the source that has to change.
//!
//! Every home has the noise a real machine has: Debian's .bashrc with its
//! interactive guard, a `.env.example` template, a second tool configured
//! correctly, and a fake /proc with unrelated processes whose command lines
//! mention tool names.

mod util;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// Debian's .bashrc, with `extra` below its interactive guard.
fn debian_bashrc(extra: &str) -> String {
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    format!("{stock}\n{extra}")
}

/// A home with the usual noise; `proc` processes are added to a fake /proc
/// with unrelated ones (pid, command line, environment `A=1|B=2`, start tick).
struct Home {
    t: TempDir,
}

impl Home {
    fn new(tag: &str, good: &str, imi: &Imitation) -> Home {
        let t = TempDir::new(tag);
        t.write(
            ".bashrc",
            debian_bashrc(&format!("export EDITOR=vim\nexport UNRELATED_TOKEN={}\n", or_canary("UNRL"))),
        );
        t.write(".profile", "if [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n");
        // A template someone copied from, and a second tool that works.
        t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\nOPENAI_API_KEY=sk-...\n");
        t.write(
            ".continue/config.yaml",
            format!(
                "name: ok\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: fine\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {}/api/v1\n    apiKey: {good}\n",
                imi.base()
            ),
        );
        Home { t }
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> std::path::PathBuf {
        self.t.write(rel, content)
    }

    fn path(&self) -> &std::path::Path {
        self.t.path()
    }

    /// A fake /proc: noise processes plus `procs`.
    fn procs(&self, procs: &[(u32, &str, &str, u64)]) {
        let procs: Vec<(u32, &str, &str, u64, &str)> = procs.iter().map(|&(p, c, e, t)| (p, c, e, t, "")).collect();
        fake_proc(self.path(), &procs);
    }

    /// find | env | probe | classify with the analysed environment `env`
    /// (NUL-separated pairs), the OpenRouter imitation for the default URL.
    fn diagnose(&self, env: &[(&str, &str)], imi: &Imitation) -> Vec<Value> {
        std::fs::create_dir_all(self.path().join("proc")).unwrap();
        let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let envf = self.write("analysed.env", pairs.join("\0") + "\0PATH=/usr/bin\0SHELL=/bin/bash\0");
        let url = format!("--provider-url openrouter={}/api/v1", imi.base());
        let recs = run_pipeline(&pipeline_command(self.path(), &envf, "", Some(&url)));
        // The noise never changes a verdict: the template is a template, the second tool works.
        let tpl = site(&recs, "dotenv", "app/.env.example", "");
        assert_eq!(first(tpl), "key.template", "{tpl}");
        assert!(tpl.get("probe").is_none_or(|p| p["request"].is_null()), "a template is never probed: {tpl}");
        let fine = site(&recs, "continue", ".continue/config.yaml", "/models/0");
        assert_eq!(first(fine), "ok", "{fine}");
        recs
    }
}

fn first(r: &Value) -> &str {
    r["diagnoses"][0]["code"].as_str().unwrap_or_else(|| panic!("no diagnosis: {r}"))
}

fn first_fix(r: &Value) -> String {
    r["diagnoses"][0]["fix"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "))
        .unwrap_or_default()
}

#[test]
fn an_empty_line_in_the_projects_env_shadows_the_shell_key() {
    // aidermacs#117: a blank key in a project .env, loaded with override, beats the shell's good one.
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-blank", &good, &imi);
    h.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    h.write("work/proj/.env", "# keys\nOPENROUTER_API_KEY=\nAIDER_DARK_MODE=true\n");
    let recs = h.diagnose(&[("OPENROUTER_API_KEY", &good)], &imi);
    let aider = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(first(aider), "key.shadowed", "{aider}");
    let fix = first_fix(aider);
    assert!(fix.contains("delete line 2 of") && fix.contains("proj/.env"), "{fix}");
    // The probe tried the shell's key too, the way Aider would send it: the fix says it works.
    assert!(fix.contains("the key at environment is sent, and it works"), "{fix}");
    let alts = aider["probe"]["alternatives"].as_array().expect("the shadowed key was probed");
    assert_eq!((alts[0]["at"].as_str(), alts[0]["works"].as_bool()), (Some("environment"), Some(true)), "{alts:?}");
    // Not "the value is empty: put the key there".
    let codes: Vec<&str> = aider["diagnoses"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(!codes.contains(&"key.malformed"), "{codes:?}");
    let res = aider["env"]["resolution"].as_array().unwrap();
    assert_eq!(res[0]["outcome"], "sends");
    assert_eq!(res[1]["outcome"], "shadowed");
    assert_eq!(res[1]["source"], "environment");
}

#[test]
fn duplicate_lines_in_one_env_file_the_last_one_wins() {
    // hermes-agent#8270: `hermes config set` updated line 1; python-dotenv takes the last line.
    let (good, old) = (or_canary("GOOD"), or_canary("OLD1"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-dup", &good, &imi);
    h.write(
        ".hermes/config.yaml",
        "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n  api_key: ${OPENROUTER_API_KEY}\n",
    );
    h.write(".hermes/.env", format!("OPENROUTER_API_KEY={good}\nTERMINAL_ENV=local\nOPENROUTER_API_KEY={old}\n"));
    let recs = h.diagnose(&[], &imi);
    // Line 1 works when probed, but Hermes never sends it: that is what the user must read first.
    let line1 = site(&recs, "hermes", ".hermes/.env", "OPENROUTER_API_KEY@1");
    assert_eq!(first(line1), "key.shadowed", "{line1}");
    assert!(first_fix(line1).contains("keep one OPENROUTER_API_KEY= line"), "{}", first_fix(line1));
    // The model site sends line 3, which the API does not know: the duplicate comes first.
    let model = site(&recs, "hermes", ".hermes/config.yaml", "/model");
    assert_eq!(model["env"]["effective"]["line"], 3, "{model}");
    assert_eq!(first(model), "key.shadowed", "{model}");
    // Line 1's key was probed as Hermes would send it, so the fix can say which line to delete.
    assert!(
        first_fix(model).contains("delete line 3 of") && first_fix(model).contains("line 1's key works"),
        "{}",
        first_fix(model)
    );
    let codes: Vec<&str> = model["diagnoses"].as_array().unwrap().iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"auth.invalid_key"), "the symptom follows: {codes:?}");
}

#[test]
fn a_key_opencode_saved_itself_beats_the_environment() {
    // `opencode auth login` saved an old key; the shell has a new one; opencode sends the saved one.
    let (good, saved) = (or_canary("GOOD"), or_canary("SAVD"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-store", &good, &imi);
    h.write(
        ".config/opencode/opencode.json",
        format!(
            "{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"provider\": {{\n    \"openrouter\": {{\n      \"options\": {{ \"baseURL\": \"{}/api/v1\" }}\n    }}\n  }}\n}}\n",
            imi.base()
        ),
    );
    h.write(
        ".local/share/opencode/auth.json",
        format!("{{\"openrouter\": {{\"type\": \"api\", \"key\": \"{saved}\"}}}}"),
    );
    let recs = h.diagnose(&[("OPENROUTER_API_KEY", &good)], &imi);
    let oc = recs
        .iter()
        .find(|r| r["tool"] == "opencode" && r["key"]["var"] == "OPENROUTER_API_KEY")
        .expect("the implicit OPENROUTER_API_KEY site of opencode");
    assert!(oc["env"]["effective"]["from"].as_str().unwrap().ends_with("opencode/auth.json"), "{oc}");
    assert_eq!(oc["env"]["effective"]["fp"]["last4"], "SAVD");
    assert_eq!(first(oc), "key.shadowed", "{oc}");
    assert!(first_fix(oc).contains("opencode auth logout"), "{}", first_fix(oc));
    assert!(first_fix(oc).contains("the key at environment is sent, and it works"), "{}", first_fix(oc));
    // The probe sent what opencode sends: the saved key, which the API does not know.
    assert_eq!(oc["probe"]["request"]["fp"]["last4"], "SAVD", "{oc}");
}

#[test]
fn a_proxy_started_before_the_key_changed_is_stale_not_shadowed() {
    // The LiteLLM proxy kept the key it started with; the key was rotated in ~/.profile since.
    let (good, old) = (or_canary("GOOD"), or_canary("OLD1"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-stale", &good, &imi);
    h.write(
        "srv/litellm/config.yaml",
        format!(
            "model_list:\n  - model_name: claude\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n      api_base: {}/api/v1\n",
            imi.base()
        ),
    );
    h.write(
        ".profile",
        format!("export OPENROUTER_API_KEY={good}\nif [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n"),
    );
    let home = h.path().display().to_string();
    let cmd = format!("{home}/.venv/bin/python3 {home}/.venv/bin/litellm --config {home}/srv/litellm/config.yaml");
    let env = format!("OPENROUTER_API_KEY={old}|HOME={home}");
    h.procs(&[(4242, &cmd, &env, 5000)]);
    let recs = h.diagnose(&[("OPENROUTER_API_KEY", &good)], &imi);
    let lite = site(&recs, "litellm", "srv/litellm/config.yaml", "/model_list/0");
    assert_eq!(first(lite), "key.stale_process", "{lite}");
    assert!(first_fix(lite).contains("restart"), "{}", first_fix(lite));
    // The noise processes are nobody's.
    let pids: Vec<u64> =
        lite["env"]["processes"].as_array().unwrap().iter().filter_map(|p| p["pid"].as_u64()).collect();
    assert_eq!(pids, vec![4242], "{lite}");
}

#[test]
fn python_dotenv_expands_a_reference_inside_a_value() {
    // ~/.hermes/.env is read by python-dotenv, which expands ${OTHER} from the file's earlier lines.
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-interp", &good, &imi);
    h.write(
        ".hermes/config.yaml",
        "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n  api_key: ${OPENROUTER_API_KEY}\n",
    );
    h.write(".hermes/.env", format!("MY_OPENROUTER={good}\nOPENROUTER_API_KEY=${{MY_OPENROUTER}}\n"));
    let recs = h.diagnose(&[], &imi);
    let model = site(&recs, "hermes", ".hermes/config.yaml", "/model");
    assert_eq!(model["env"]["effective"]["fp"]["last4"], "GOOD", "{model}");
    assert_eq!(first(model), "ok", "{model}");
}

#[test]
fn hermes_credential_pool_goes_stale_after_an_env_edit() {
    // hermes-agent#18254: the pool in ~/.hermes/auth.json still holds the key from before the .env edit.
    let (good, stale) = (or_canary("GOOD"), or_canary("POOL"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-pool", &good, &imi);
    h.write(
        ".hermes/config.yaml",
        "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n  api_key: ${OPENROUTER_API_KEY}\n",
    );
    h.write(".hermes/.env", format!("OPENROUTER_API_KEY={good}\n"));
    h.write(
        ".hermes/auth.json",
        format!("{{\"version\": 1, \"providers\": {{}}, \"credential_pool\": {{\"openrouter\": [{{\"key\": \"{stale}\"}}]}}, \"active_provider\": \"openrouter\"}}"),
    );
    let recs = h.diagnose(&[], &imi);
    let model = site(&recs, "hermes", ".hermes/config.yaml", "/model");
    // The reference is written in config.yaml, so the pool does not take part: the .env's key is sent.
    assert_eq!(model["env"]["effective"]["fp"]["last4"], "GOOD", "{model}");
    assert_eq!(first(model), "ok", "{model}");
    // Hermes reading the variable on its own (no api_key in config.yaml): the stale pool wins.
    h.write(".hermes/config.yaml", "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n");
    let recs = h.diagnose(&[], &imi);
    let model = recs
        .iter()
        .find(|r| r["tool"] == "hermes" && r["key"]["var"] == "OPENROUTER_API_KEY" && r["key"]["syntax"].is_null())
        .expect("hermes reads OPENROUTER_API_KEY on its own");
    assert_eq!(model["env"]["effective"]["fp"]["last4"], "POOL", "{model}");
    assert_eq!(first(model), "key.shadowed", "{model}");
    assert!(
        first_fix(model).contains("credential_pool") && first_fix(model).contains("it works"),
        "{}",
        first_fix(model)
    );
}

#[test]
fn llm_reads_api_key_name_from_keys_json_and_sends_dummy_key_without_one() {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("res-llm", &good, &imi);
    let dir = ".config/io.datasette.llm";
    h.write(&format!("{dir}/keys.json"), format!("{{\n  \"// Note\": \"This file stores secret API credentials. Do not share!\",\n  \"orkey\": \"{good}\"\n}}\n"));
    h.write(
        &format!("{dir}/extra-openai-models.yaml"),
        format!(
            "- model_id: or-claude\n  model_name: anthropic/claude-sonnet-4.5\n  api_base: {b}/api/v1\n  api_key_name: orkey\n- model_id: or-nokey\n  model_name: anthropic/claude-sonnet-4.5\n  api_base: {b}/api/v1\n",
            b = imi.base()
        ),
    );
    let recs = h.diagnose(&[], &imi);
    let with = site(&recs, "llm", "extra-openai-models.yaml", "/0");
    assert_eq!(with["key"]["fp"]["last4"], "GOOD", "{with}");
    // The alias's key from keys.json is the key sent (the loopback base is an openai-compatible API here).
    assert_eq!(with["probe"]["request"]["fp"]["last4"], "GOOD", "{with}");
    let without = site(&recs, "llm", "extra-openai-models.yaml", "/1");
    assert_eq!(first(without), "key.none", "{without}");
    assert!(without["key"]["note"].as_str().unwrap().contains("DUMMY_KEY"), "{without}");
    // What llm sends in its place is what the probe sent: the nine bytes of DUMMY_KEY.
    assert_eq!(without["probe"]["request"]["fp"]["len"], 9, "{without}");
}
