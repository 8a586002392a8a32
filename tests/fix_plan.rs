//! keyhole-fix plans (docs/fix.md): placeholders rewritten in the tool's own
//! syntax, a shell-only value copied into the tool's own `.env`, an export
//! moved above Debian's interactive guard, `export` added, a value written
//! where a systemd unit reads it. Each home is noisy: Debian's .bashrc with
//! its interactive guard, a `.env.example` template, a second tool
//! configured correctly, and a fake /proc with unrelated processes whose
//! command lines mention tool names. The real pipeline runs against the
//! provider imitation: `keyhole-find | keyhole-env | keyhole-probe |
//! keyhole-classify | keyhole-fix`. Planning writes nothing, and no output
//! (records, diff, stderr) holds a key.

mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// Debian's stock .bashrc (its interactive guard at lines 6-10); `keys`
/// keeps the two exports the fixture adds to it, else they are left out.
fn debian_bashrc(keys: bool) -> String {
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    stock.lines().filter(|l| keys || !l.contains("_KEY=")).map(|l| format!("{l}\n")).collect()
}

struct Home {
    t: TempDir,
    imi: Imitation,
}

impl Home {
    /// The noise every home has; `bashrc` is appended to Debian's .bashrc
    /// (below its guard), `profile` to Debian's .profile.
    fn new(tag: &str, keys_in_bashrc: bool, bashrc: &str, profile: &str) -> Home {
        let imi = Imitation::start(&or_canary("GOOD"), None);
        let t = TempDir::new(tag);
        t.write(".bashrc", format!("{}\nexport EDITOR=vim\n{bashrc}", debian_bashrc(keys_in_bashrc)));
        let stock = std::fs::read_to_string(fixtures().join("env/debian/.profile")).unwrap();
        t.write(".profile", format!("{stock}{profile}"));
        t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\nOPENAI_API_KEY=sk-...\n");
        // A second tool that works: Aider with its key in its project config.
        t.write(
            "work/ok/.aider.conf.yml",
            format!("model: openrouter/anthropic/claude-sonnet-4.5\napi-key:\n  - openrouter={}\n", or_canary("GOOD")),
        );
        let h = Home { t, imi };
        h.procs();
        h
    }

    fn path(&self) -> &Path {
        self.t.path()
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        self.t.write(rel, content)
    }

    /// A fake /proc with processes that only mention tools.
    fn procs(&self) {
        fake_proc(self.path(), &[]);
    }

    /// The pipeline, then `keyhole-fix --home HOME FIX_ARGS`: stdout and
    /// stderr, checked for panics and canaries. The analysed environment
    /// has no key.
    fn fix(&self, fix_args: &str) -> (String, String) {
        let envf = self.write("analysed.env", "PATH=/usr/bin\0SHELL=/bin/bash\0USER=u\0");
        let url = format!("--provider-url openrouter={}/api/v1", self.imi.base());
        let pipeline = pipeline_command(self.path(), &envf, "", Some(&url));
        let command =
            format!("{pipeline} | {} --home {} {fix_args}", bin("keyhole-fix").display(), self.path().display());
        sh(&command)
    }

    /// The records of the pipeline with keyhole-fix, after the noise is checked.
    fn records(&self) -> Vec<Value> {
        let (out, _) = self.fix("");
        let recs = records(&out);
        let tpl = site(&recs, "dotenv", "app/.env.example", "");
        assert_eq!(tpl["diagnoses"][0]["code"], "key.template", "{tpl}");
        let ok = site(&recs, "aider", "ok/.aider.conf.yml", "");
        assert_eq!(ok["diagnoses"][0]["code"], "ok", "{ok}");
        for quiet in [tpl, ok] {
            assert!(fixes_of(&recs, quiet["id"].as_str().unwrap()).is_empty(), "nothing to fix: {quiet}");
        }
        recs
    }

    /// `--apply --yes`, then the pipeline again: only the files named
    /// (relative to the home) changed, each with its backup beside it.
    fn apply_and_recheck(&self, changed: &[&str], before: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<Value> {
        let (out, err) = self.fix("--apply --yes");
        assert!(out.contains("\"state\":\"applied\""), "{out}\n{err}");
        let now = self.snapshot();
        for (p, bytes) in before {
            let rel = p.strip_prefix(self.path()).unwrap();
            let expect_change = changed.iter().any(|c| rel == Path::new(c));
            assert_eq!(now.get(p) != Some(bytes), expect_change, "{}", rel.display());
        }
        for c in changed {
            assert!(self.path().join(format!("{c}.keyhole-bak")).is_file(), "backup of {c}");
        }
        self.records()
    }

    /// Every file of the home and its bytes (the fake /proc and the analysed environment left out).
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.path(), &mut out);
        out.retain(|p, _| !p.starts_with(self.path().join("proc")) && !p.ends_with("analysed.env"));
        out
    }
}

fn sh(command: &str) -> (String, String) {
    let out = Command::new("bash").arg("-c").arg(command).env_clear().env("PATH", "/usr/bin:/bin").output().unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_canary("keyhole-fix stdout", &stdout);
    assert_no_canary("keyhole-fix stderr", &stderr);
    (stdout, stderr)
}

/// The fix records of a site, in output order; they follow the site.
fn fixes_of<'a>(recs: &'a [Value], id: &str) -> Vec<&'a Value> {
    let at = recs.iter().position(|r| r["type"] == "site" && r["id"] == id).expect("the site");
    let after: Vec<&Value> = recs[at + 1..].iter().take_while(|r| r["type"] == "fix").collect();
    let all: Vec<&Value> = recs.iter().filter(|r| r["type"] == "fix" && r["site"] == id).collect();
    assert_eq!(after, all, "a site's fixes come right after it");
    all
}

/// The redaction marker of the key whose shell site is at `file:line`.
fn marker_of(recs: &[Value], file: &Path, line: u64) -> String {
    let s = recs
        .iter()
        .find(|r| {
            r["type"] == "site" && r["source"]["file"] == file.display().to_string() && r["source"]["line"] == line
        })
        .unwrap_or_else(|| panic!("no site at {}:{line}", file.display()));
    let fp = &s["key"]["fp"];
    format!(
        "{}…{} (redacted, sha8 {})",
        fp["prefix"].as_str().unwrap(),
        fp["last4"].as_str().unwrap(),
        fp["sha8"].as_str().unwrap()
    )
}

/// The 1-based line of `text` in `file`.
fn line_of(file: &Path, text: &str) -> u64 {
    let content = std::fs::read_to_string(file).unwrap();
    content.lines().position(|l| l == text).map(|i| i as u64 + 1).unwrap_or_else(|| panic!("{text:?} not in {content}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn continue_env_placeholder_is_rewritten_and_the_shell_value_copied_into_its_env() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-continue", true, &format!("# OpenRouter\nexport OPENROUTER_API_KEY={key}\n"), "");
    let config = h.write(
        ".continue/config.yaml",
        "name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n  # copied from the VS Code docs\n  - name: Claude via OpenRouter\n    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n    apiKey: ${env:OPENROUTER_API_KEY}\n    roles:\n      - chat\ncontext:\n  - provider: code\n",
    );
    let before = h.snapshot();
    let recs = h.records();
    let c = site(&recs, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(c["diagnoses"][0]["code"], "key.placeholder", "{c}");
    let fixes = fixes_of(&recs, s(&c["id"]));
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), s(&f["cause"]), s(&f["state"])), ("placeholder_syntax", "key.placeholder", "planned"));
    assert_eq!(f["file"], config.display().to_string());
    assert_eq!(f["line"], 9);
    assert_eq!(f["before"], "    apiKey: ${env:OPENROUTER_API_KEY}");
    assert_eq!(f["after"], "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}");
    assert!(f["command"].is_null() && f["backup"].is_null(), "{f}");
    // The value only the shell has goes into ~/.continue/.env, shown as its marker.
    let bashrc = h.path().join(".bashrc");
    let marker = marker_of(&recs, &bashrc, line_of(&bashrc, &format!("export OPENROUTER_API_KEY={key}")));
    let g = fixes[1];
    assert_eq!(s(&g["kind"]), "copy_to_tool_env");
    assert_eq!(g["file"], h.path().join(".continue/.env").display().to_string());
    assert_eq!((&g["line"], &g["before"]), (&Value::from(1), &Value::Null));
    assert_eq!(g["after"], format!("OPENROUTER_API_KEY={marker}"));
    assert!(s(&g["says"]).contains("~/.bashrc:") && s(&g["says"]).contains("~/.continue/.env"), "{g}");

    let (diff, _) = h.fix("--diff");
    let want_env = format!(
        "--- /dev/null\n+++ b{}/.continue/.env\n@@ -0,0 +1 @@\n+OPENROUTER_API_KEY={marker}\n",
        h.path().display()
    );
    assert!(diff.contains(&want_env), "{diff}");
    let want_config = format!(
        "--- a{0}\n+++ b{0}\n@@ -6,7 +6,7 @@\n   - name: Claude via OpenRouter\n     provider: openrouter\n     model: anthropic/claude-sonnet-4.5\n-    apiKey: ${{env:OPENROUTER_API_KEY}}\n+    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n     roles:\n",
        config.display()
    );
    assert!(diff.contains(&want_config), "{diff}");
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}

#[test]
fn litellm_dollar_brace_becomes_os_environ() {
    let h = Home::new("fix-litellm", false, &format!("export OPENROUTER_API_KEY={}\n", or_canary("GOOD")), "");
    let config = h.write(
        "work/proxy/config.yaml",
        "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n  - model_name: gpt\n    litellm_params:\n      model: openrouter/openai/gpt-5\n      api_key: \"${OPENROUTER_API_KEY}\"   # as in the docker-compose docs\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
    );
    let before = h.snapshot();
    let recs = h.records();
    let l = site(&recs, "litellm", "proxy/config.yaml", "/model_list/1");
    assert_eq!(l["diagnoses"][0]["code"], "key.placeholder", "{l}");
    let fixes = fixes_of(&recs, s(&l["id"]));
    assert_eq!(fixes.len(), 1, "LiteLLM has no .env of its own in the home: {fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), &f["line"]), ("placeholder_syntax", &Value::from(9)));
    assert_eq!(f["file"], config.display().to_string());
    assert_eq!(f["before"], "      api_key: \"${OPENROUTER_API_KEY}\"   # as in the docker-compose docs");
    assert_eq!(f["after"], "      api_key: \"os.environ/OPENROUTER_API_KEY\"   # as in the docker-compose docs");
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains("-      api_key: \"${OPENROUTER_API_KEY}\"   # as in the docker-compose docs\n+      api_key: \"os.environ/OPENROUTER_API_KEY\"   # as in the docker-compose docs\n"),
        "{diff}"
    );
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}

#[test]
fn opencode_dollar_brace_becomes_brace_env() {
    let h = Home::new("fix-opencode", false, &format!("export OPENROUTER_API_KEY={}\n", or_canary("GOOD")), "");
    let config = h.write(
        ".config/opencode/opencode.json",
        "{\r\n  \"$schema\": \"https://opencode.ai/config.json\",\r\n  // opencode allows comments in .json too\r\n  \"provider\": {\r\n    \"openrouter\": {\r\n      \"options\": {\r\n        \"apiKey\": \"${OPENROUTER_API_KEY}\"\r\n      }\r\n    }\r\n  }\r\n}",
    );
    let before = h.snapshot();
    let recs = h.records();
    let o = site(&recs, "opencode", "opencode/opencode.json", "");
    assert_eq!(o["diagnoses"][0]["code"], "key.placeholder", "{o}");
    let fixes = fixes_of(&recs, s(&o["id"]));
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), &f["line"]), ("placeholder_syntax", &Value::from(7)));
    assert_eq!(f["file"], config.display().to_string());
    assert_eq!(f["before"], "        \"apiKey\": \"${OPENROUTER_API_KEY}\"");
    assert_eq!(f["after"], "        \"apiKey\": \"{env:OPENROUTER_API_KEY}\"");
    // CRLF stays CRLF.
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains(
            "-        \"apiKey\": \"${OPENROUTER_API_KEY}\"\r\n+        \"apiKey\": \"{env:OPENROUTER_API_KEY}\"\r\n"
        ),
        "{diff:?}"
    );
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}

#[test]
fn an_export_below_debians_interactive_guard_moves_above_it() {
    let key = or_canary("GOOD");
    // The stock fixture already exports an older key below the guard (line 115): it goes too.
    let h = Home::new("fix-guard", true, &format!("# for aider\nexport OPENROUTER_API_KEY={key}\n"), "");
    h.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n# key from the environment\n");
    let before = h.snapshot();
    let recs = h.records();
    let a = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(a["diagnoses"][0]["code"], "key.after_guard", "{a}");
    let bashrc = h.path().join(".bashrc");
    let line = line_of(&bashrc, &format!("export OPENROUTER_API_KEY={key}"));
    let old = line_of(&bashrc, &format!("export OPENROUTER_API_KEY={}", or_canary("EN01")));
    let (good, stale) = (marker_of(&recs, &bashrc, line), marker_of(&recs, &bashrc, old));
    let fixes = fixes_of(&recs, s(&a["id"]));
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), s(&f["cause"])), ("move_above_guard", "key.after_guard"));
    assert_eq!((&f["file"], &f["line"]), (&Value::from(bashrc.display().to_string()), &Value::from(line)));
    assert_eq!(f["before"], format!("export OPENROUTER_API_KEY={good}\nexport OPENROUTER_API_KEY={stale}"));
    assert_eq!(f["after"], format!("export OPENROUTER_API_KEY={good}"));
    assert!(s(&f["says"]).contains("above the interactive guard (line 7)"), "{f}");

    let (diff, _) = h.fix("--diff");
    // Above the guard's comment (line 6), the moved line; below, both removed.
    let top = format!(
        "@@ -3,6 +3,7 @@\n # see /usr/share/doc/bash/examples/startup-files (in the package bash-doc)\n # for examples\n \n+export OPENROUTER_API_KEY={good}\n # If not running interactively, don't do anything\n case $- in\n     *i*) ;;\n"
    );
    assert!(diff.contains(&top), "{diff}");
    assert!(diff.contains(&format!("-export OPENROUTER_API_KEY={stale}\n")), "{diff}");
    assert!(diff.contains(&format!("-export OPENROUTER_API_KEY={good}\n")), "{diff}");
    assert_eq!(h.snapshot(), before, "planning writes nothing");
    assert_eq!(a["env"]["contexts"]["ssh_command"], false, "{a}");

    // Applied: `ssh host cmd` and login shells now see the key; the
    // environment checked predates the fix, so the site is a stale
    // environment with the command to renew it, no longer a file to edit.
    let after = h.apply_and_recheck(&[".bashrc"], &before);
    let a = site(&after, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(a["env"]["contexts"]["ssh_command"], true, "{a}");
    assert_eq!(a["diagnoses"][0]["code"], "key.stale_process", "{a}");
    assert!(s(&a["diagnoses"][0]["fix"][0]).contains("exec bash -l"), "{a}");
    let left = fixes_of(&after, s(&a["id"]));
    assert_eq!(left.len(), 1, "nothing left to move: {left:#?}");
    assert_eq!((s(&left[0]["kind"]), s(&left[0]["command"])), ("restart", "exec bash -l"), "{left:#?}");
}

#[test]
fn an_assignment_without_export_gets_export() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-export", false, "", &format!("\n# OpenRouter, for every login\nOPENROUTER_API_KEY={key}\n"));
    h.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    let before = h.snapshot();
    let recs = h.records();
    let a = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(a["diagnoses"][0]["code"], "key.not_exported", "{a}");
    let profile = h.path().join(".profile");
    let line = line_of(&profile, &format!("OPENROUTER_API_KEY={key}"));
    let m = marker_of(&recs, &profile, line);
    let fixes = fixes_of(&recs, s(&a["id"]));
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), &f["line"]), ("add_export", &Value::from(line)));
    assert_eq!(f["file"], profile.display().to_string());
    assert_eq!(f["before"], format!("OPENROUTER_API_KEY={m}"));
    assert_eq!(f["after"], format!("export OPENROUTER_API_KEY={m}"));
    let (diff, _) = h.fix("--diff");
    assert!(diff.contains(&format!("-OPENROUTER_API_KEY={m}\n+export OPENROUTER_API_KEY={m}\n")), "{diff}");
    assert_eq!(h.snapshot(), before, "planning writes nothing");

    let after = h.apply_and_recheck(&[".profile"], &before);
    let a = site(&after, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(a["env"]["contexts"]["login"], true, "{a}");
    assert_eq!(a["diagnoses"][0]["code"], "key.stale_process", "{a}");
    assert!(s(&a["diagnoses"][0]["fix"][0]).contains("exec bash -l"), "{a}");
}

#[test]
fn a_systemd_unit_gets_the_value_in_its_environment_file() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-unit", false, "", &format!("\nexport OPENROUTER_API_KEY={key}\n"));
    h.write(
        "work/proxy/config.yaml",
        "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
    );
    h.write(
        ".config/systemd/user/litellm.service",
        "[Unit]\nDescription=LiteLLM proxy\nAfter=network-online.target\n\n[Service]\nType=simple\nWorkingDirectory=%h/work/proxy\nEnvironmentFile=%h/.config/litellm/litellm.env\nEnvironment=\"LITELLM_LOG=INFO\" PYTHONUNBUFFERED=1\nExecStart=%h/.local/bin/litellm --config %h/work/proxy/config.yaml --port 4000\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n",
    );
    let envfile = h.write(".config/litellm/litellm.env", "# keys for the proxy\nLITELLM_MASTER_KEY=sk-1234\n");
    let before = h.snapshot();
    let recs = h.records();
    let l = site(&recs, "litellm", "proxy/config.yaml", "/model_list/0");
    assert_eq!(l["diagnoses"][0]["code"], "key.wrong_file", "{l}");
    let profile = h.path().join(".profile");
    let m = marker_of(&recs, &profile, line_of(&profile, &format!("export OPENROUTER_API_KEY={key}")));
    let fixes: Vec<&Value> = fixes_of(&recs, s(&l["id"])).into_iter().filter(|f| f["kind"] != "restart").collect();
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), s(&f["cause"])), ("write_launch_env", "key.wrong_file"));
    assert_eq!((&f["file"], &f["line"]), (&Value::from(envfile.display().to_string()), &Value::from(3)));
    assert_eq!((&f["before"], s(&f["after"])), (&Value::Null, format!("OPENROUTER_API_KEY={m}").as_str()));
    assert!(s(&f["says"]).contains("EnvironmentFile= of litellm.service"), "{f}");
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains(&format!(" # keys for the proxy\n LITELLM_MASTER_KEY=sk-1234\n+OPENROUTER_API_KEY={m}\n")),
        "{diff}"
    );
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}

#[test]
fn nothing_outside_the_home_and_the_given_paths_is_planned() {
    let h = Home::new("fix-scope", false, &format!("export OPENROUTER_API_KEY={}\n", or_canary("GOOD")), "");
    let elsewhere = TempDir::new("fix-scope-elsewhere");
    let config = elsewhere.write(
        ".continue/config.yaml",
        "name: a\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: or\n    provider: openrouter\n    model: x/y\n    apiKey: ${env:OPENROUTER_API_KEY}\n",
    );
    let envf = h.write("analysed.env", "PATH=/usr/bin\0SHELL=/bin/bash\0");
    let find = pipeline_command(h.path(), &envf, &elsewhere.path().display().to_string(), None);
    let fix = bin("keyhole-fix").display().to_string();
    let (out, err) = sh(&format!("{find} | {fix} --home {}", h.path().display()));
    let recs = records(&out);
    let c = site(&recs, "continue", ".continue/config.yaml", "/models/0");
    assert_eq!(c["source"]["file"], config.display().to_string());
    assert!(fixes_of(&recs, s(&c["id"])).is_empty(), "{out}");
    assert!(err.contains("outside the analysed home and the given paths"), "{err}");
    // Given as a path, it is in scope.
    let (out, _) = sh(&format!("{find} | {fix} --home {} {}", h.path().display(), elsewhere.path().display()));
    let recs = records(&out);
    let c = site(&recs, "continue", ".continue/config.yaml", "/models/0");
    let fixes = fixes_of(&recs, s(&c["id"]));
    assert_eq!(fixes[0]["kind"], "placeholder_syntax", "{fixes:#?}");
}

#[test]
fn a_systemd_unit_without_an_environment_file_gets_an_environment_line() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-unit-env", false, "", &format!("\nexport OPENROUTER_API_KEY={key}\n"));
    h.write(
        "work/proxy/config.yaml",
        "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n",
    );
    let unit = h.write(
        ".config/systemd/user/litellm.service",
        "[Unit]\nDescription=LiteLLM proxy\n\n[Service]\nType=simple\nEnvironment=\"LITELLM_LOG=INFO\"\nExecStart=%h/.local/bin/litellm --config %h/work/proxy/config.yaml --port 4000\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n",
    );
    let before = h.snapshot();
    let recs = h.records();
    let l = site(&recs, "litellm", "proxy/config.yaml", "/model_list/0");
    assert_eq!(l["diagnoses"][0]["code"], "key.wrong_file", "{l}");
    let profile = h.path().join(".profile");
    let m = marker_of(&recs, &profile, line_of(&profile, &format!("export OPENROUTER_API_KEY={key}")));
    let fixes: Vec<&Value> = fixes_of(&recs, s(&l["id"])).into_iter().filter(|f| f["kind"] != "restart").collect();
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!(s(&f["kind"]), "write_launch_env");
    assert_eq!((&f["file"], &f["line"]), (&Value::from(unit.display().to_string()), &Value::from(7)));
    assert_eq!((&f["before"], s(&f["after"])), (&Value::Null, format!("Environment=OPENROUTER_API_KEY={m}").as_str()));
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains(&format!(
            " Environment=\"LITELLM_LOG=INFO\"\n+Environment=OPENROUTER_API_KEY={m}\n ExecStart=%h/.local/bin/litellm"
        )),
        "{diff}"
    );
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}

#[test]
fn a_compose_service_gets_the_variable_passed_by_name() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-compose", false, "", &format!("\nexport OPENROUTER_API_KEY={key}\n"));
    h.write(
        "work/gateway/config.yaml",
        "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n",
    );
    let compose = h.write(
        "work/gateway/compose.yaml",
        "services:\n  litellm:\n    image: ghcr.io/berriai/litellm:main-stable\n    ports:\n      - \"4000:4000\"\n    volumes:\n      - ./config.yaml:/app/config.yaml:ro\n    command: [\"--config\", \"/app/config.yaml\", \"--port\", \"4000\"]\n    environment:\n      LITELLM_LOG: INFO\n      # the proxy's database\n      DATABASE_URL: postgresql://llm:llm@db:5432/litellm\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: llm\n",
    );
    let beside = h.write("work/gateway/.env", "COMPOSE_PROJECT_NAME=gateway\n");
    let before = h.snapshot();
    let recs = h.records();
    let l = site(&recs, "litellm", "gateway/config.yaml", "/model_list/0");
    assert_eq!(l["diagnoses"][0]["code"], "key.wrong_file", "{l}");
    let profile = h.path().join(".profile");
    let m = marker_of(&recs, &profile, line_of(&profile, &format!("export OPENROUTER_API_KEY={key}")));
    let fixes: Vec<&Value> = fixes_of(&recs, s(&l["id"])).into_iter().filter(|f| f["kind"] != "restart").collect();
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    assert_eq!((s(&fixes[0]["kind"]), &fixes[0]["line"]), ("write_launch_env", &Value::from(13)));
    assert_eq!(fixes[0]["file"], compose.display().to_string());
    assert_eq!(fixes[0]["after"], "      OPENROUTER_API_KEY: ${OPENROUTER_API_KEY}");
    assert_eq!((&fixes[1]["file"], &fixes[1]["line"]), (&Value::from(beside.display().to_string()), &Value::from(2)));
    assert_eq!(fixes[1]["after"], format!("OPENROUTER_API_KEY={m}"));
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains("       # the proxy's database\n       DATABASE_URL: postgresql://llm:… (redacted, sha8 487b9104)@db:5432/litellm\n+      OPENROUTER_API_KEY: ${OPENROUTER_API_KEY}\n   db:\n"),
        "{diff}"
    );
    assert!(diff.contains(&format!(" COMPOSE_PROJECT_NAME=gateway\n+OPENROUTER_API_KEY={m}\n")), "{diff}");
    assert_eq!(h.snapshot(), before, "planning writes nothing");
    // With the key already in the .env beside the file, only the service changes.
    h.write("work/gateway/.env", format!("COMPOSE_PROJECT_NAME=gateway\nOPENROUTER_API_KEY={key}\n"));
    let recs = h.records();
    let l = site(&recs, "litellm", "gateway/config.yaml", "/model_list/0");
    let fixes: Vec<&Value> = fixes_of(&recs, s(&l["id"])).into_iter().filter(|f| f["kind"] != "restart").collect();
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    assert_eq!(fixes[0]["file"], compose.display().to_string());
}

#[test]
fn an_export_in_a_file_sourced_below_the_guard_moves_into_the_bashrc_above_it() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-sourced", false, "if [ -f ~/.bash_keys ]; then\n    . ~/.bash_keys\nfi\n", "");
    let keys =
        h.write(".bash_keys", format!("# API keys\nexport OPENROUTER_API_KEY={key}\nalias k='cat ~/.bash_keys'\n"));
    h.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    let before = h.snapshot();
    let recs = h.records();
    let a = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(a["diagnoses"][0]["code"], "key.after_guard", "{a}");
    // Not a site of its own: its marker from keyhole-env's definition.
    let def = &a["env"]["definitions"][0];
    assert_eq!((&def["file"], &def["line"]), (&Value::from(keys.display().to_string()), &Value::from(2)), "{a}");
    let fp = &def["fp"];
    let m = format!("{}…{} (redacted, sha8 {})", s(&fp["prefix"]), s(&fp["last4"]), s(&fp["sha8"]));
    let fixes = fixes_of(&recs, s(&a["id"]));
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    let bashrc = h.path().join(".bashrc");
    assert_eq!(
        (s(&fixes[0]["kind"]), &fixes[0]["file"]),
        ("move_above_guard", &Value::from(bashrc.display().to_string()))
    );
    assert_eq!(
        (&fixes[0]["line"], &fixes[0]["before"]),
        (&Value::from(5), &Value::Null),
        "above the comment of the guard"
    );
    assert_eq!(fixes[0]["after"], format!("export OPENROUTER_API_KEY={m}"));
    assert_eq!((&fixes[1]["file"], &fixes[1]["line"]), (&Value::from(keys.display().to_string()), &Value::from(2)));
    assert_eq!(
        (&fixes[1]["before"], &fixes[1]["after"]),
        (&Value::from(format!("export OPENROUTER_API_KEY={m}")), &Value::Null)
    );
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains(&format!(" # API keys\n-export OPENROUTER_API_KEY={m}\n alias k='cat ~/.bash_keys'\n")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("+export OPENROUTER_API_KEY={m}\n # If not running interactively, don't do anything\n")),
        "{diff}"
    );
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}

#[test]
fn fish_set_without_x_gets_exported() {
    let key = or_canary("GOOD");
    let h = Home::new("fix-fish", false, "", "");
    let config = h.write(
        ".config/fish/config.fish",
        format!("if status is-interactive\n    # Commands to run in interactive sessions can go here\nend\n\nset -g OPENROUTER_API_KEY {key}\nfish_add_path ~/.local/bin\n"),
    );
    h.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    let envf = h.write("analysed.env", "PATH=/usr/bin\0SHELL=/usr/bin/fish\0USER=u\0");
    let url = format!("--provider-url openrouter={}/api/v1", h.imi.base());
    let fix = format!("{} --home {}", bin("keyhole-fix").display(), h.path().display());
    let (out, _) = sh(&format!("{} | {fix}", pipeline_command(h.path(), &envf, "", Some(&url))));
    let recs = records(&out);
    let a = site(&recs, "aider", "proj/.aider.conf.yml", "");
    assert_eq!(a["diagnoses"][0]["code"], "key.not_exported", "{a}");
    let fixes = fixes_of(&recs, s(&a["id"]));
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    assert_eq!((s(&fixes[0]["kind"]), &fixes[0]["line"]), ("add_export", &Value::from(5)));
    assert_eq!(fixes[0]["file"], config.display().to_string());
    let after = s(&fixes[0]["after"]);
    assert!(after.starts_with("set -gx OPENROUTER_API_KEY sk-or-v1-…GOOD (redacted, sha8 "), "{after}");
}

#[test]
fn a_key_only_in_a_file_bash_never_reads_is_copied_into_the_tools_own_env() {
    // Left from when the login shell was zsh: bash reads no ~/.zshrc.
    let key = or_canary("GOOD");
    let h = Home::new("fix-zshrc", false, "", "");
    let zshrc =
        h.write(".zshrc", format!("# zsh, before the switch to bash\nexport OPENROUTER_API_KEY={key}\nbindkey -e\n"));
    h.write(
        ".hermes/config.yaml",
        "model:\n  provider: openrouter\n  default: anthropic/claude-opus-4.1\n  api_key: ${OPENROUTER_API_KEY}\ncustom_providers:\n  - name: local\n    base_url: http://localhost:8080/v1\n    key_env: \"\"\n",
    );
    let before = h.snapshot();
    let recs = h.records();
    let hm = site(&recs, "hermes", ".hermes/config.yaml", "/model");
    assert_eq!(hm["diagnoses"][0]["code"], "key.wrong_file", "{hm}");
    let def = &hm["env"]["definitions"][0];
    assert_eq!((&def["file"], &def["line"]), (&Value::from(zshrc.display().to_string()), &Value::from(2)), "{hm}");
    let fp = &def["fp"];
    let m = format!("{}…{} (redacted, sha8 {})", s(&fp["prefix"]), s(&fp["last4"]), s(&fp["sha8"]));
    let fixes = fixes_of(&recs, s(&hm["id"]));
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let f = fixes[0];
    assert_eq!((s(&f["kind"]), &f["line"], &f["before"]), ("write_launch_env", &Value::from(1), &Value::Null));
    assert_eq!(f["file"], h.path().join(".hermes/.env").display().to_string());
    assert_eq!(f["after"], format!("OPENROUTER_API_KEY={m}"));
    assert!(s(&f["says"]).contains("from ~/.zshrc:2"), "{f}");
    let (diff, _) = h.fix("--diff");
    assert!(
        diff.contains(&format!(
            "--- /dev/null\n+++ b{}/.hermes/.env\n@@ -0,0 +1 @@\n+OPENROUTER_API_KEY={m}\n",
            h.path().display()
        )),
        "{diff}"
    );
    assert_eq!(h.snapshot(), before, "planning writes nothing");
}
