//! keyhole-fix's line-level fixes and commands (docs/fix.md): on real, noisy
//! homes, `keyhole-find | keyhole-env | keyhole-probe | keyhole-classify |
//! keyhole-fix` against the imitation of the provider plans the smallest
//! correct edit for each site's root cause — the file, the line, the kind,
//! the line before and after with keys as markers — or the command to run.
//! No output ever holds a key.
//!
//! Every home has the noise a real machine has: Debian's .bashrc with its
//! interactive guard, a `.env.example` template, a second tool configured
//! correctly, and a fake /proc with unrelated processes whose command lines
//! mention tool names.

mod util;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// Debian's .bashrc (without the fixture's own OpenRouter export), with
/// `extra` below its interactive guard.
fn debian_bashrc(extra: &str) -> String {
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    let stock: Vec<&str> = stock.lines().filter(|l| !l.starts_with("export OPENROUTER_API_KEY=")).collect();
    format!("{}\n{extra}", stock.join("\n"))
}

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
        t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\nOPENAI_API_KEY=sk-...\n");
        // A second tool that works: nothing is planned for it.
        t.write(
            ".continue/config.yaml",
            format!(
                "name: ok\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: fine\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {}/api/v1\n    apiKey: {good}\n",
                imi.base()
            ),
        );
        let h = Home { t };
        h.procs(&[]);
        h
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> std::path::PathBuf {
        self.t.write(rel, content)
    }

    fn path(&self) -> &std::path::Path {
        self.t.path()
    }

    fn file(&self, rel: &str) -> String {
        self.path().join(rel).display().to_string()
    }

    /// A fake /proc: noise processes plus `procs` (pid, command line,
    /// environment `A=1|B=2`, start tick, cgroup).
    fn procs(&self, procs: &[(u32, &str, &str, u64, &str)]) {
        fake_proc(self.path(), procs);
    }

    /// The command of find | env | probe | classify with the analysed
    /// environment `env`, the imitation for OpenRouter's and Anthropic's URLs.
    fn diagnosis(&self, env: &[(&str, &str)], imi: &Imitation) -> String {
        let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let envf = self.write("analysed.env", pairs.join("\0") + "\0PATH=/usr/bin\0SHELL=/bin/bash\0");
        let url =
            format!("--provider-url openrouter={b}/api/v1 --provider-url anthropic={b}/anthropic/v1", b = imi.base());
        pipeline_command(self.path(), &envf, "", Some(&url))
    }

    /// find | env | probe | classify | fix with the analysed environment
    /// `env`, the OpenRouter imitation for the default URL; every record.
    fn fix(&self, env: &[(&str, &str)], imi: &Imitation) -> Vec<Value> {
        let diagnosis = self.diagnosis(env, imi);
        let before = snapshot(self.path());
        let cmd = format!("{diagnosis} | {} --home {}", bin("keyhole-fix").display(), self.path().display());
        let recs = run_pipeline(&cmd);
        assert_eq!(before, snapshot(self.path()), "keyhole-fix without --apply writes nothing");
        // The noise never gets a fix: the template is a template, the second tool works.
        for r in fixes(&recs) {
            let site = r["site"].as_str().unwrap();
            assert!(!site.contains(".env.example") && !site.contains(".continue/config.yaml"), "{r}");
        }
        recs
    }
}

impl Home {
    /// find | env | probe | classify | keyhole-fix --apply --yes, then the
    /// diagnosis again: the site whose id ends with `id_end` (its first code),
    /// and the files that changed (relative), besides backups and the manifest.
    fn apply(&self, env: &[(&str, &str)], imi: &Imitation, id_end: &str) -> (String, Vec<String>) {
        let diagnosis = self.diagnosis(env, imi);
        let before = snapshot(self.path());
        let cmd =
            format!("{diagnosis} | {} --home {} --apply --yes", bin("keyhole-fix").display(), self.path().display());
        let applied = run_pipeline(&cmd);
        assert!(applied.iter().any(|r| r["type"] == "fix" && r["state"] == "applied"), "{applied:#?}");
        let after = snapshot(self.path());
        let home = format!("{}/", self.path().display());
        let changed: Vec<String> = after
            .iter()
            .filter(|(f, bytes)| before.iter().find(|(g, _)| g == f).is_none_or(|(_, b)| b != bytes))
            .map(|(f, _)| f.trim_start_matches(&home).to_string())
            .filter(|f| !f.contains(".keyhole-bak") && !f.ends_with("last-fix.json") && f != "analysed.env")
            .collect();
        let recs = run_pipeline(&diagnosis);
        let s = recs
            .iter()
            .find(|r| r["type"] == "site" && r["id"].as_str().is_some_and(|i| i.ends_with(id_end)))
            .unwrap_or_else(|| panic!("no site *{id_end} after the fix"));
        (first(s).to_string(), changed)
    }
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                if !p.ends_with("proc") {
                    stack.push(p);
                }
            } else if ft.is_file() {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn fixes(recs: &[Value]) -> Vec<&Value> {
    recs.iter().filter(|r| r["type"] == "fix").collect()
}

/// The fixes planned for the site whose id ends with `id_end`.
fn fixes_for<'a>(recs: &'a [Value], id_end: &str) -> Vec<&'a Value> {
    let f: Vec<&Value> =
        fixes(recs).into_iter().filter(|r| r["site"].as_str().is_some_and(|s| s.ends_with(id_end))).collect();
    assert!(!f.is_empty(), "no fix for *{id_end}; fixes: {:#?}", fixes(recs));
    f
}

fn first(r: &Value) -> &str {
    r["diagnoses"][0]["code"].as_str().unwrap_or_else(|| panic!("no diagnosis: {r}"))
}

/// The marker a redacted key shows as: never the key.
fn masked(line: &Value) -> bool {
    line.as_str().is_some_and(|l| !l.contains(CANARY_RUN) && l.contains(" (redacted, sha8 "))
}

#[test]
fn delete_line_drops_the_empty_line_that_shadows_the_shell_key() {
    // aidermacs#117: a blank key in a project .env, loaded with override, beats the shell's good one.
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-blank", &good, &imi);
    h.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    h.write("work/proj/.env", "# keys\nOPENROUTER_API_KEY=\nAIDER_DARK_MODE=true\n");
    let recs = h.fix(&[("OPENROUTER_API_KEY", &good)], &imi);
    let aider = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(first(aider), "key.shadowed", "{aider}");
    let f = fixes_for(&recs, "proj/.aider.conf.yml#/model");
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = f[0];
    assert_eq!((f["kind"].as_str(), f["cause"].as_str()), (Some("delete_line"), Some("key.shadowed")), "{f}");
    assert_eq!(f["file"], h.file("work/proj/.env"));
    assert_eq!((f["line"].as_u64(), f["before"].as_str()), (Some(2), Some("OPENROUTER_API_KEY=")), "{f}");
    assert!(f["after"].is_null() && f["command"].is_null(), "{f}");
    assert_eq!(f["state"], "planned");
    assert!(f["says"].as_str().unwrap().contains("works"), "the probe said the shell's key works: {f}");
    // Applied, the shell's key is the one sent, and it works; nothing else changed.
    let (code, changed) = h.apply(&[("OPENROUTER_API_KEY", &good)], &imi, "proj/.aider.conf.yml#/model");
    assert_eq!((code.as_str(), changed), ("ok", vec!["work/proj/.env".to_string()]));
    assert_eq!(std::fs::read_to_string(h.path().join("work/proj/.env")).unwrap(), "# keys\nAIDER_DARK_MODE=true\n");
}

#[test]
fn delete_line_drops_a_failing_env_line_that_overrides_the_working_shell_key() {
    // Hermes loads ~/.hermes/.env over the environment: an old key there beats the new one in the shell.
    let (good, old) = (or_canary("GOOD"), or_canary("OLD1"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-override", &good, &imi);
    h.write(
        ".hermes/config.yaml",
        "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n  api_key: ${OPENROUTER_API_KEY}\n",
    );
    h.write(".hermes/.env", format!("# Hermes\nTERMINAL_ENV=local\nOPENROUTER_API_KEY={old}\nHERMES_DEBUG=0\n"));
    let recs = h.fix(&[("OPENROUTER_API_KEY", &good)], &imi);
    let model = site(&recs, "hermes", ".hermes/config.yaml", "/model");
    assert_eq!(first(model), "key.shadowed", "{model}");
    let f = fixes_for(&recs, ".hermes/config.yaml#/model");
    let f = f.iter().find(|f| f["kind"] == "delete_line").unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(f["file"], h.file(".hermes/.env"));
    assert_eq!(f["line"], 3);
    assert!(masked(&f["before"]), "{f}");
    assert!(f["before"].as_str().unwrap().starts_with("OPENROUTER_API_KEY="), "{f}");
    let (code, changed) = h.apply(&[("OPENROUTER_API_KEY", &good)], &imi, ".hermes/config.yaml#/model");
    assert_eq!((code.as_str(), changed), ("ok", vec![".hermes/.env".to_string()]));
}

#[test]
fn dedupe_keeps_the_line_whose_key_works() {
    // hermes-agent#8270: `hermes config set` updated line 1; python-dotenv takes the last line.
    let (good, old) = (or_canary("GOOD"), or_canary("OLD1"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-dup", &good, &imi);
    h.write(
        ".hermes/config.yaml",
        "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n  api_key: ${OPENROUTER_API_KEY}\n",
    );
    h.write(".hermes/.env", format!("OPENROUTER_API_KEY={good}\nTERMINAL_ENV=local\nOPENROUTER_API_KEY={old}\n"));
    let recs = h.fix(&[], &imi);
    let f = fixes_for(&recs, ".hermes/config.yaml#/model");
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = f[0];
    assert_eq!((f["kind"].as_str(), f["cause"].as_str()), (Some("dedupe"), Some("key.shadowed")), "{f}");
    assert_eq!((f["file"].as_str(), f["line"].as_u64()), (Some(h.file(".hermes/.env").as_str()), Some(3)), "{f}");
    assert!(masked(&f["before"]) && f["after"].is_null(), "{f}");
    let (code, changed) = h.apply(&[], &imi, ".hermes/config.yaml#/model");
    assert_eq!((code.as_str(), changed), ("ok", vec![".hermes/.env".to_string()]));
    let env = std::fs::read_to_string(h.path().join(".hermes/.env")).unwrap();
    assert_eq!(env, format!("OPENROUTER_API_KEY={good}\nTERMINAL_ENV=local\n"), "line 1 stays, line 3 goes");
}

#[test]
fn strip_value_removes_a_bearer_prefix_and_quotes_keeping_the_rest_of_the_line() {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-strip", &good, &imi);
    // opencode: the key pasted with its header scheme; LiteLLM: quotes inside the YAML string.
    h.write(
        "work/bot/opencode.json",
        format!(
            "{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"provider\": {{\n    \"openrouter\": {{\n      \"options\": {{\n        \"baseURL\": \"{}/api/v1\",\n        \"apiKey\": \"Bearer {good}\"\n      }}\n    }}\n  }}\n}}\n",
            imi.base()
        ),
    );
    // Written on Windows: CRLF line endings, which stay.
    h.write(
        "srv/litellm/config.yaml",
        format!(
            "model_list:\r\n  - model_name: claude\r\n    litellm_params:\r\n      model: openrouter/anthropic/claude-sonnet-4.5\r\n      api_key: '\"{good}\"'   # from the dashboard\r\n      api_base: {}/api/v1\r\n",
            imi.base()
        ),
    );
    let recs = h.fix(&[], &imi);
    let oc = site(&recs, "opencode", "bot/opencode.json", "");
    assert_eq!(first(oc), "key.malformed", "{oc}");
    let f = fixes_for(&recs, "bot/opencode.json#/provider/openrouter");
    assert_eq!(f[0]["kind"], "strip_value", "{f:#?}");
    assert_eq!(
        (f[0]["file"].as_str(), f[0]["line"].as_u64()),
        (Some(h.file("work/bot/opencode.json").as_str()), Some(7))
    );
    let (before, after) = (f[0]["before"].as_str().unwrap(), f[0]["after"].as_str().unwrap());
    assert!(masked(&f[0]["before"]) && masked(&f[0]["after"]), "{f:#?}");
    assert!(
        before.contains("\"Bearer sk-or-v1-…GOOD (redacted")
            && after.starts_with("        \"apiKey\": \"sk-or-v1-…GOOD (redacted"),
        "{before} → {after}"
    );
    assert!(!after.contains("Bearer"), "{after}");

    let f = fixes_for(&recs, "litellm/config.yaml#/model_list/0");
    assert_eq!(f[0]["kind"], "strip_value", "{f:#?}");
    assert_eq!(f[0]["line"], 5);
    let after = f[0]["after"].as_str().unwrap();
    assert!(
        after.starts_with("      api_key: 'sk-or-v1-…GOOD (redacted") && after.ends_with("'   # from the dashboard"),
        "{after}"
    );
    assert!(!after.contains('"'), "{after}");
    let (code, mut changed) = h.apply(&[], &imi, "bot/opencode.json#/provider/openrouter");
    changed.sort();
    assert_eq!(code, "ok");
    assert_eq!(changed, vec!["srv/litellm/config.yaml".to_string(), "work/bot/opencode.json".to_string()]);
    let yaml = std::fs::read_to_string(h.path().join("srv/litellm/config.yaml")).unwrap();
    assert!(
        yaml.contains(&format!("      api_key: '{good}'   # from the dashboard\r\n")),
        "the rest of the line stays"
    );
    assert_eq!(yaml.matches("\r\n").count(), yaml.matches('\n').count(), "CRLF stays CRLF");
}

#[test]
fn rename_variable_fixes_a_near_miss_where_it_is_defined() {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-rename", &good, &imi);
    // ~/.profile exports the key under a misspelt name; Aider reads OPENROUTER_API_KEY.
    h.write(
        ".profile",
        format!("# ~/.profile\nexport OPEN_ROUTER_API_KEY={good}\nif [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n"),
    );
    h.write("work/proj/.aider.conf.yml", "# aider\nmodel: openrouter/anthropic/claude-sonnet-4.5\n");
    let recs = h.fix(&[], &imi);
    let aider = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(first(aider), "key.env_unset", "{aider}");
    let f = fixes_for(&recs, "proj/.aider.conf.yml#/model");
    let f = f.iter().find(|f| f["kind"] == "rename_variable").unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!((f["file"].as_str(), f["line"].as_u64()), (Some(h.file(".profile").as_str()), Some(2)), "{f}");
    assert!(f["before"].as_str().unwrap().starts_with("export OPEN_ROUTER_API_KEY="), "{f}");
    assert!(f["after"].as_str().unwrap().starts_with("export OPENROUTER_API_KEY="), "{f}");
    assert!(masked(&f["before"]) && masked(&f["after"]), "{f}");
    let (code, changed) = h.apply(&[], &imi, "proj/.aider.conf.yml#/model");
    assert_ne!(code, "key.env_unset");
    assert_eq!(changed, vec![".profile".to_string()]);
}

#[test]
fn swap_header_variable_moves_a_bearer_token_to_the_variable_anthropic_reads() {
    let good = or_canary("GOOD");
    let ant = format!("sk-ant-api03-{}STK1", "c".repeat(40));
    // The imitation answers Anthropic's key check at its real path: the key is known there in x-api-key.
    let imi = Imitation::start_with(vec![good.clone(), ant.clone()], None, false);
    let h = Home::new("fix-swap", &good, &imi);
    h.write(
        ".claude/settings.json",
        format!("{{\n  \"model\": \"sonnet\",\n  \"env\": {{\n    \"DISABLE_TELEMETRY\": \"1\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{ant}\"\n  }}\n}}\n"),
    );
    let recs = h.fix(&[], &imi);
    let cc = site(&recs, "claude-code", ".claude/settings.json", "/env/ANTHROPIC_AUTH_TOKEN");
    assert_eq!(first(cc), "header.wrong_scheme", "{cc}");
    let f = fixes_for(&recs, "/env/ANTHROPIC_AUTH_TOKEN");
    assert_eq!(f[0]["kind"], "swap_header_variable", "{f:#?}");
    assert_eq!(
        (f[0]["file"].as_str(), f[0]["line"].as_u64()),
        (Some(h.file(".claude/settings.json").as_str()), Some(5))
    );
    assert!(f[0]["before"].as_str().unwrap().starts_with("    \"ANTHROPIC_AUTH_TOKEN\": \"sk-ant-"), "{f:#?}");
    assert!(f[0]["after"].as_str().unwrap().starts_with("    \"ANTHROPIC_API_KEY\": \"sk-ant-"), "{f:#?}");
    assert!(masked(&f[0]["before"]) && masked(&f[0]["after"]), "{f:#?}");
    let (code, changed) = h.apply(&[], &imi, "/env/ANTHROPIC_API_KEY");
    assert_eq!(code, "ok", "the key now travels in x-api-key and the API takes it");
    assert_eq!(changed, vec![".claude/settings.json".to_string()]);
}

#[test]
fn base_url_is_cut_back_to_the_api_root_in_each_config_format() {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-url", &good, &imi);
    // YAML: the full endpoint path; JSON: a doubled /v1; .env: the missing /api.
    h.write(
        "srv/litellm/config.yaml",
        format!(
            "model_list:\n  - model_name: claude\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      # api_base: \"{b}/api/v1/chat/completions\" was the first try\n      api_key: {good}\n      api_base: \"{b}/api/v1/chat/completions\"  # copied from the docs\n",
            b = imi.base()
        ),
    );
    // .env: the OpenRouter base without its /api.
    h.write(
        "work/scripts/.env",
        format!("# scripts\nOPENROUTER_BASE_URL=https://openrouter.ai/v1\nOPENROUTER_API_KEY={good}\n"),
    );
    h.write(
        "work/bot/opencode.json",
        format!(
            "{{\n  \"provider\": {{\n    \"openai\": {{\n      \"options\": {{ \"baseURL\": \"https://api.openai.com/v1/v1\", \"apiKey\": \"sk-proj-{}\" }}\n    }}\n  }}\n}}\n",
            "c".repeat(40)
        ),
    );
    let recs = h.fix(&[], &imi);
    let lite = site(&recs, "litellm", "litellm/config.yaml", "/model_list/0");
    assert_eq!(first(lite), "url.bad_base", "{lite}");
    let f = fixes_for(&recs, "litellm/config.yaml#/model_list/0");
    assert_eq!(f[0]["kind"], "base_url", "{f:#?}");
    assert_eq!(f[0]["line"], 7, "the line the tool reads, not the comment: {f:#?}");
    assert_eq!(f[0]["after"], format!("      api_base: \"{}/api/v1\"  # copied from the docs", imi.base()), "{f:#?}");
    let f = fixes_for(&recs, "scripts/.env#OPENROUTER_API_KEY@3");
    assert_eq!((f[0]["kind"].as_str(), f[0]["line"].as_u64()), (Some("base_url"), Some(2)), "{f:#?}");
    assert_eq!(f[0]["after"], "OPENROUTER_BASE_URL=https://openrouter.ai/api/v1");
    let f = fixes_for(&recs, "bot/opencode.json#/provider/openai");
    assert_eq!(f[0]["kind"], "base_url", "{f:#?}");
    assert_eq!(f[0]["line"], 4);
    let after = f[0]["after"].as_str().unwrap();
    assert!(after.contains("\"baseURL\": \"https://api.openai.com/v1\", \"apiKey\": \"sk-"), "{after}");
    assert!(masked(&f[0]["after"]), "{f:#?}");
    let (code, mut changed) = h.apply(&[], &imi, "litellm/config.yaml#/model_list/0");
    changed.sort();
    assert_eq!(code, "ok");
    assert_eq!(
        changed,
        vec![
            "srv/litellm/config.yaml".to_string(),
            "work/bot/opencode.json".to_string(),
            "work/scripts/.env".to_string()
        ]
    );
}

#[test]
fn restart_names_the_unit_or_the_process_to_restart() {
    // The LiteLLM proxy kept the key it started with; the key was rotated in ~/.profile since.
    let (good, old) = (or_canary("GOOD"), or_canary("OLD1"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-restart", &good, &imi);
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
    h.procs(&[(4242, &cmd, &env, 5000, "")]);
    let recs = h.fix(&[("OPENROUTER_API_KEY", &good)], &imi);
    let lite = site(&recs, "litellm", "srv/litellm/config.yaml", "/model_list/0");
    assert_eq!(first(lite), "key.stale_process", "{lite}");
    let f = fixes_for(&recs, "litellm/config.yaml#/model_list/0");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0]["kind"].as_str(), f[0]["cause"].as_str()), (Some("restart"), Some("key.stale_process")));
    assert!(f[0]["file"].is_null() && f[0]["line"].is_null(), "{f:#?}");
    let command = f[0]["command"].as_str().unwrap();
    assert!(command.contains("4242"), "{command}");
    assert!(f[0]["says"].as_str().unwrap().contains("litellm --config"), "the command line: {f:#?}");

    // The same proxy as a systemd user unit: systemctl restarts it.
    h.procs(&[(4242, &cmd, &env, 5000, "/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service")]);
    let recs = h.fix(&[("OPENROUTER_API_KEY", &good)], &imi);
    let f = fixes_for(&recs, "litellm/config.yaml#/model_list/0");
    assert_eq!(f[0]["kind"], "restart", "{f:#?}");
    assert_eq!(f[0]["command"], "systemctl --user restart litellm.service", "{f:#?}");
}

#[test]
fn restart_names_vs_code_for_its_extension_host() {
    // Continue runs in VS Code's extension host, which started in 2020, before the export above the guard.
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-restart-vscode", &good, &imi);
    h.write(
        ".continue/config.yaml",
        format!(
            "name: ok\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: main\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {}/api/v1\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n",
            imi.base()
        ),
    );
    h.write(".profile", "[ -f \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\"\n");
    h.write(".bashrc", format!("export OPENROUTER_API_KEY={good}\n"));
    h.procs(&[(4242, "node bootstrap-fork --type=extensionHost", "HOME=/x", 100, "")]);
    let envf = h.write("analysed.env", format!("OPENROUTER_API_KEY={good}\n"));
    let url = format!("--provider-url openrouter={}/api/v1", imi.base());
    let cmd = format!(
        "{} | {} --home {}",
        pipeline_command(h.path(), &envf, "", Some(&url)),
        bin("keyhole-fix").display(),
        h.path().display()
    );
    let recs = run_pipeline(&cmd);
    let cont = site(&recs, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(first(cont), "key.stale_process", "{cont}");
    let f: Vec<&Value> = fixes(&recs).into_iter().filter(|f| f["site"] == cont["id"]).collect();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (f[0]["kind"].as_str(), f[0]["command"].as_str()),
        (Some("restart"), Some("Remote-SSH: Kill VS Code Server on Host"))
    );
    assert!(f[0]["says"].as_str().unwrap().contains("4242"), "{f:#?}");
}

#[test]
fn log_in_again_when_the_key_the_tool_saved_fails_and_the_shells_works() {
    // `opencode auth login` saved an old key; the shell has a new one; opencode sends the saved one.
    let (good, saved) = (or_canary("GOOD"), or_canary("SAVD"));
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-login", &good, &imi);
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
    let recs = h.fix(&[("OPENROUTER_API_KEY", &good)], &imi);
    let oc = recs
        .iter()
        .find(|r| r["tool"] == "opencode" && r["key"]["var"] == "OPENROUTER_API_KEY")
        .expect("the implicit OPENROUTER_API_KEY site of opencode");
    assert_eq!(first(oc), "key.shadowed", "{oc}");
    let f: Vec<&Value> = fixes(&recs).into_iter().filter(|f| f["site"] == oc["id"]).collect();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0]["kind"].as_str(), f[0]["command"].as_str()), (Some("log_in"), Some("opencode auth login")));
    assert!(f[0]["file"].is_null(), "a command, not an edit: {f:#?}");
    assert!(f[0]["says"].as_str().unwrap().contains("environment (it works, probed)"), "{f:#?}");
}

#[test]
fn buy_credits_names_the_providers_credits_page() {
    use util::account::{self, AccountImitation};
    let imi = AccountImitation::start();
    let t = TempDir::new("fix-credits");
    t.write(".bashrc", debian_bashrc("export EDITOR=vim\n"));
    t.write(".profile", "if [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n");
    t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\n");
    let m = |name: &str, k: &str| {
        format!(
            "  - name: {name}\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiBase: {}\n    apiKey: {k}\n",
            imi.base()
        )
    };
    t.write(
        ".continue/config.yaml",
        format!(
            "name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n{}{}",
            m("empty", &or_canary(account::NO_CREDITS.tag)),
            m("healthy", &or_canary(account::HEALTHY.tag))
        ),
    );
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    let envf = t.write("analysed.env", "SHELL=/bin/bash\nLANG=C.UTF-8\n");
    let cmd = format!(
        "{} | {} --home {}",
        pipeline_command(t.path(), &envf, "", Some(&format!("--provider-url openrouter={}", imi.base()))),
        bin("keyhole-fix").display(),
        t.path().display()
    );
    let recs = run_pipeline(&cmd);
    let empty = site(&recs, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(first(empty), "credits.insufficient", "{empty}");
    let f = fixes_for(&recs, ".continue/config.yaml#/models/0");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (f[0]["kind"].as_str(), f[0]["command"].as_str()),
        (Some("buy_credits"), Some("https://openrouter.ai/settings/credits"))
    );
    assert!(fixes(&recs).iter().all(|f| !f["site"].as_str().unwrap().ends_with("/models/1")), "the healthy one");
}

#[test]
fn rename_variable_in_the_file_a_systemd_unit_loads() {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-rename-unit", &good, &imi);
    h.write(
        "work/proxy/config.yaml",
        format!(
            "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n      api_base: {}/api/v1\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
            imi.base()
        ),
    );
    h.write(
        ".config/systemd/user/litellm.service",
        "[Unit]\nDescription=LiteLLM proxy\n\n[Service]\nType=simple\nWorkingDirectory=%h/work/proxy\nEnvironmentFile=%h/.config/litellm/litellm.env\nExecStart=%h/.local/bin/litellm --config %h/work/proxy/config.yaml --port 4000\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n",
    );
    h.write(
        ".config/litellm/litellm.env",
        format!("# keys for the proxy\nOPEN_ROUTER_API_KEY={good}\nLITELLM_MASTER_KEY=sk-1234\n"),
    );
    let home = h.path().display().to_string();
    let cmd = format!("{home}/.local/pipx/venvs/litellm/bin/python {home}/.local/bin/litellm --config {home}/work/proxy/config.yaml --port 4000");
    let unit = "/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service";
    h.procs(&[(5000, &cmd, "HOME=/home/u|LITELLM_MASTER_KEY=sk-1234", 5000, unit)]);
    let recs = h.fix(&[], &imi);
    let lite = site(&recs, "litellm", "work/proxy/config.yaml", "/model_list/0");
    assert_eq!(first(lite), "key.wrong_file", "{lite}");
    let f = fixes_for(&recs, "proxy/config.yaml#/model_list/0");
    assert_eq!(f[0]["kind"], "rename_variable", "{f:#?}");
    assert_eq!(
        (f[0]["file"].as_str(), f[0]["line"].as_u64()),
        (Some(h.file(".config/litellm/litellm.env").as_str()), Some(2))
    );
    assert!(f[0]["after"].as_str().unwrap().starts_with("OPENROUTER_API_KEY=sk-or-v1-…GOOD (redacted"), "{f:#?}");
    // Applied, the unit's file has the variable; the proxy it started before still lacks it: restart the unit.
    let (code, changed) = h.apply(&[], &imi, "proxy/config.yaml#/model_list/0");
    assert_eq!((code.as_str(), changed), ("key.stale_process", vec![".config/litellm/litellm.env".to_string()]));
    let recs = h.fix(&[], &imi);
    let f = fixes_for(&recs, "proxy/config.yaml#/model_list/0");
    assert_eq!(
        (f[0]["kind"].as_str(), f[0]["command"].as_str()),
        (Some("restart"), Some("systemctl --user restart litellm.service"))
    );
}

#[test]
fn base_url_follows_a_redirect_that_drops_the_key() {
    let good = or_canary("GOOD");
    let other = Imitation::start(&good, None);
    let imi = Imitation::start(&good, Some(other.port));
    let h = Home::new("fix-redirect", &good, &imi);
    h.write(
        "work/bot/opencode.json",
        format!(
            "{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"provider\": {{\n    \"openrouter\": {{\n      \"options\": {{\n        \"baseURL\": \"{}/redirect-away/api/v1\",\n        \"apiKey\": \"{good}\"\n      }}\n    }}\n  }}\n}}\n",
            imi.base()
        ),
    );
    let recs = h.fix(&[], &imi);
    let oc = site(&recs, "opencode", "bot/opencode.json", "/provider/openrouter");
    assert_eq!(first(oc), "header.dropped_redirect", "{oc}");
    let f = fixes_for(&recs, "bot/opencode.json#/provider/openrouter");
    assert_eq!((f[0]["kind"].as_str(), f[0]["line"].as_u64()), (Some("base_url"), Some(6)), "{f:#?}");
    assert_eq!(f[0]["after"], format!("        \"baseURL\": \"{}/api/v1\",", other.base()));
    let (code, changed) = h.apply(&[], &imi, "bot/opencode.json#/provider/openrouter");
    assert_eq!((code.as_str(), changed), ("ok", vec!["work/bot/opencode.json".to_string()]));
}

#[test]
fn strip_value_in_the_startup_file_that_defines_the_environments_key() {
    // The key pasted into ~/.profile with a trailing space inside the quotes.
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let h = Home::new("fix-strip-profile", &good, &imi);
    h.write(
        ".profile",
        format!("# ~/.profile\nexport OPENROUTER_API_KEY=\"{good} \"\nif [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n"),
    );
    h.write("work/proj/.aider.conf.yml", "# aider\nmodel: openrouter/anthropic/claude-sonnet-4.5\n");
    let spaced = format!("{good} ");
    let recs = h.fix(&[("OPENROUTER_API_KEY", &spaced)], &imi);
    let aider = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(first(aider), "key.malformed", "{aider}");
    let f = fixes_for(&recs, "proj/.aider.conf.yml#/model");
    assert_eq!(f[0]["kind"], "strip_value", "{f:#?}");
    assert_eq!((f[0]["file"].as_str(), f[0]["line"].as_u64()), (Some(h.file(".profile").as_str()), Some(2)));
    assert!(
        f[0]["after"].as_str().unwrap().starts_with("export OPENROUTER_API_KEY=\"sk-or-v1-…GOOD (redacted"),
        "{f:#?}"
    );
    assert!(f[0]["after"].as_str().unwrap().ends_with(")\""), "no space before the closing quote: {f:#?}");
}
