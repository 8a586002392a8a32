//! `keyhole fix --apply` and `--undo` (docs/fix.md#apply): on real, noisy
//! homes against the provider imitation, the planned edit is written
//! atomically with a backup, the site re-diagnosed comes out ok, every other
//! file of the home stays byte for byte, and `--undo` puts the home back
//! exactly. A file changed after the diagnosis, or lying outside the home,
//! is refused and nothing changes. No key appears in any output.
//!
//! Every home has the noise a real machine has: Debian's .bashrc with its
//! interactive guard, a `.env.example` template, a second tool configured
//! correctly, and a fake /proc with unrelated processes whose command lines
//! mention tool names.

mod util;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// Debian's .bashrc, with `extra` below its interactive guard.
fn debian_bashrc(extra: &str) -> String {
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.bashrc")).unwrap();
    format!("{stock}\n{extra}")
}

/// Every file under `dir` (but the fake /proc) and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                if p != dir.join("proc") {
                    stack.push(p);
                }
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// The files that differ between two snapshots (added, removed or changed).
fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut names: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names.into_iter().filter(|n| a.get(n) != b.get(n)).collect()
}

struct Home {
    t: TempDir,
    imi: Imitation,
}

/// A home whose Continue model 0 has VS Code's `${env:…}` placeholder (the
/// key is in ~/.continue/.env), beside a model that works, the noise and
/// an unrelated token in .bashrc.
fn continue_home(tag: &str) -> Home {
    let good = or_canary("GOOD");
    let imi = Imitation::start(&good, None);
    let t = TempDir::new(tag);
    t.write(".bashrc", debian_bashrc(&format!("export EDITOR=vim\nexport UNRELATED_TOKEN={}\n", or_canary("UNRL"))));
    t.write(".profile", "if [ -n \"$BASH_VERSION\" ]; then . \"$HOME/.bashrc\"; fi\n");
    t.write("work/app/.env.example", "OPENROUTER_API_KEY=your-api-key-here\nOPENAI_API_KEY=sk-...\n");
    t.write(
        ".continue/config.yaml",
        format!(
            "# Continue config — odd spacing and comments kept\r\nname: Local Assistant\r\nversion: 1.0.0\r\nschema: v1\r\n\r\nmodels:\r\n  - name: Sonnet via OpenRouter\r\n    provider: openrouter\r\n    model: anthropic/claude-sonnet-4.5\r\n    apiBase: {b}/api/v1\r\n    apiKey: \"${{env:OPENROUTER_API_KEY}}\"   # VS Code syntax\r\n  - name:   Fine\r\n    provider: openrouter\r\n    model: google/gemini-2.5-flash\r\n    apiBase: {b}/api/v1\r\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\r\n",
            b = imi.base()
        ),
    );
    t.write(".continue/.env", format!("OPENROUTER_API_KEY={good}\n"));
    let h = Home { t, imi };
    h.procs();
    h
}

impl Home {
    fn path(&self) -> &Path {
        self.t.path()
    }

    /// A fake /proc with noise processes only.
    fn procs(&self) {
        fake_proc(self.path(), &[]);
    }

    /// The analysed environment (NUL-separated), outside the home.
    fn env_file(&self, env: &[(&str, &str)]) -> PathBuf {
        let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let f = std::env::temp_dir()
            .join(format!("keyhole-fix-env-{}", self.path().file_name().unwrap().to_string_lossy()));
        std::fs::write(&f, pairs.join("\0") + "\0PATH=/usr/bin\0SHELL=/bin/bash\0").unwrap();
        f
    }

    /// doctor's flags for this home.
    fn flags(&self, env: &[(&str, &str)]) -> Vec<String> {
        let h = self.path().display().to_string();
        vec![
            "--home".into(),
            h.clone(),
            "--env-file".into(),
            self.env_file(env).display().to_string(),
            "--proc-root".into(),
            format!("{h}/proc"),
            "--provider-url".into(),
            format!("openrouter={}/api/v1", self.imi.base()),
            "--timeout".into(),
            "3".into(),
        ]
    }

    /// `keyhole fix FLAGS ARGS`: status, stdout, stderr — never a key in either.
    fn keyhole(&self, sub: &str, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut c = cmd("keyhole", self.path());
        c.arg(sub).args(self.flags(env)).args(args);
        let o = c.output().unwrap();
        let (out, err) = (String::from_utf8(o.stdout).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned());
        let what = format!("keyhole {sub} {args:?}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert_no_canary(&format!("stdout of {what}"), &out);
        assert_no_canary(&format!("stderr of {what}"), &err);
        (o.status.code().unwrap_or(-1), out, err)
    }

    fn site_code(&self, env: &[(&str, &str)], id_end: &str) -> String {
        let (_, out, _) = self.keyhole("doctor", env, &["--json"]);
        let recs = records(&out);
        let s = recs
            .iter()
            .find(|r| r["type"] == "site" && r["id"].as_str().is_some_and(|i| i.ends_with(id_end)))
            .unwrap_or_else(|| panic!("no site *{id_end}: {out}"));
        s["diagnoses"][0]["code"].as_str().unwrap().to_string()
    }
}

const CONFIG: &str = ".continue/config.yaml";
const MODEL0: &str = ".continue/config.yaml#/models/0";

#[test]
fn without_apply_nothing_is_written_in_any_mode() {
    let h = continue_home("fix-dry");
    let before = snapshot(h.path());
    let (st, words, _) = h.keyhole("fix", &[], &[]);
    assert_eq!(st, 1, "a fix is planned: {words}");
    assert!(words.contains("nothing written") && words.contains("keyhole fix --apply"), "{words}");
    let (_, json, _) = h.keyhole("fix", &[], &["--json"]);
    let recs = records(&json);
    let f: Vec<&Value> = recs.iter().filter(|r| r["type"] == "fix").collect();
    assert_eq!(f.len(), 1, "one edit, for model 0 only: {json}");
    assert_eq!((f[0]["kind"].as_str(), f[0]["state"].as_str()), (Some("placeholder_syntax"), Some("planned")));
    assert!(f[0]["site"].as_str().unwrap().ends_with(MODEL0), "{}", f[0]);
    let (_, diff, _) = h.keyhole("fix", &[], &["--diff"]);
    assert!(diff.contains("+    apiKey: \"${{ secrets.OPENROUTER_API_KEY }}\""), "{diff}");
    assert_eq!(before, snapshot(h.path()), "keyhole fix without --apply writes nothing");
}

#[test]
fn apply_rewrites_the_continue_placeholder_the_site_comes_out_ok_and_undo_restores_the_home() {
    let h = continue_home("fix-apply");
    let config = h.path().join(CONFIG);
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(h.site_code(&[], MODEL0), "key.placeholder");
    let before = snapshot(h.path());

    let (st, out, _) = h.keyhole("fix", &[], &["--apply", "--yes"]);
    assert_eq!(st, 0, "every fix applied and the site ok: {out}");
    assert!(out.contains("✓ ~/.continue/config.yaml:11") && out.contains("key.placeholder → ok"), "{out}");
    assert!(out.contains("backup: ~/.continue/config.yaml.keyhole-bak"), "{out}");

    let after = snapshot(h.path());
    let manifest = ".local/state/keyhole/last-fix.json";
    assert_eq!(
        changed(&before, &after),
        vec![CONFIG.to_string(), format!("{CONFIG}.keyhole-bak"), manifest.to_string()],
        "only the config changed, beside its backup and the manifest"
    );
    assert_eq!(after[&format!("{CONFIG}.keyhole-bak")], before[CONFIG], "the backup is the file before, byte for byte");
    let old = String::from_utf8(before[CONFIG].clone()).unwrap();
    let new = String::from_utf8(after[CONFIG].clone()).unwrap();
    let expect = old.replace("\"${env:OPENROUTER_API_KEY}\"", "\"${{ secrets.OPENROUTER_API_KEY }}\"");
    assert_eq!(new, expect, "one placeholder rewritten; CRLF endings, the comment and every other byte kept");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "the mode is kept");
    assert_no_canary("the manifest", &String::from_utf8_lossy(&after[manifest]));
    assert_eq!(h.site_code(&[], MODEL0), "ok", "doctor agrees");

    // Nothing left to plan for the site.
    let (_, json, _) = h.keyhole("fix", &[], &["--json"]);
    assert!(!records(&json).iter().any(|r| r["type"] == "fix"), "{json}");

    let (st, out, _) = h.keyhole("fix", &[], &["--undo"]);
    assert_eq!(st, 0, "{out}");
    assert!(out.contains("restored ~/.continue/config.yaml"), "{out}");
    assert_eq!(before, snapshot(h.path()), "--undo puts the home back byte for byte (backup and manifest gone)");
    assert_eq!(h.site_code(&[], MODEL0), "key.placeholder");
    let (st, _, err) = h.keyhole("fix", &[], &["--undo"]);
    assert_eq!(st, 2, "nothing left to undo: {err}");
    assert!(err.contains("nothing to undo"), "{err}");
}

#[test]
fn apply_without_a_terminal_and_without_yes_is_a_usage_error_and_writes_nothing() {
    let h = continue_home("fix-notty");
    let before = snapshot(h.path());
    let (st, out, err) = h.keyhole("fix", &[], &["--apply"]);
    assert_eq!(st, 2, "{out}{err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(before, snapshot(h.path()));
}

#[test]
fn undo_refuses_a_file_changed_since_the_fix() {
    let h = continue_home("fix-undo-changed");
    let (st, out, _) = h.keyhole("fix", &[], &["--apply", "--yes"]);
    assert_eq!(st, 0, "{out}");
    let config = h.path().join(CONFIG);
    let mut edited = std::fs::read(&config).unwrap();
    edited.extend_from_slice(b"# my own edit after the fix\r\n");
    std::fs::write(&config, &edited).unwrap();
    let (st, out, _) = h.keyhole("fix", &[], &["--undo"]);
    assert_eq!(st, 1, "{out}");
    assert!(out.contains("not restored") && out.contains("changed since the fix"), "{out}");
    assert_eq!(std::fs::read(&config).unwrap(), edited, "the user's edit is kept");
    assert!(h.path().join(format!("{CONFIG}.keyhole-bak")).exists(), "the backup is kept");
}

/// The records of find | env | probe | classify for `h`.
fn diagnosis(h: &Home, env: &[(&str, &str)]) -> Vec<u8> {
    let (_, out, _) = h.keyhole("doctor", env, &["--json"]);
    out.into_bytes()
}

#[test]
fn a_file_changed_after_the_diagnosis_is_refused_and_nothing_changes() {
    let h = continue_home("fix-stale");
    let config = h.path().join(CONFIG);
    let input = diagnosis(&h, &[]);
    // keyhole-fix plans while it reads, applies when its input ends: the
    // file is changed in between.
    let mut c = cmd("keyhole-fix", h.path());
    c.args(["--home", &h.path().display().to_string(), "--apply", "--yes"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).unwrap();
    stdin.flush().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut l = String::new();
        assert!(out.read_line(&mut l).unwrap() > 0, "keyhole-fix ended before planning: {seen}");
        seen.push_str(&l);
        if l.contains("\"type\":\"fix\"") {
            break;
        }
    }
    let mut touched = std::fs::read(&config).unwrap();
    touched.extend_from_slice(b"# edited by hand meanwhile\r\n");
    std::fs::write(&config, &touched).unwrap();
    let before = snapshot(h.path());
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_no_canary("stdout", &format!("{seen}{rest}"));
    assert_no_canary("stderr", &err);
    let last: Vec<Value> = records(&rest).into_iter().filter(|r| r["type"] == "fix").collect();
    assert_eq!(last.len(), 1, "{rest}");
    assert_eq!(last[0]["state"], "refused", "{}", last[0]);
    assert!(last[0]["why"].as_str().unwrap().contains("changed since it was read"), "{}", last[0]);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(before, snapshot(h.path()), "nothing changes: no write, no backup, no manifest");
}

#[test]
fn a_file_outside_the_home_is_refused() {
    // The Continue config is a link into another directory: the link is in
    // the home, the file it names is not.
    let h = continue_home("fix-outside");
    let elsewhere = TempDir::new("fix-elsewhere");
    let real = elsewhere.path().join("config.yaml");
    std::fs::rename(h.path().join(CONFIG), &real).unwrap();
    std::os::unix::fs::symlink(&real, h.path().join(CONFIG)).unwrap();
    let (before, outside) = (snapshot(h.path()), std::fs::read(&real).unwrap());
    let (_, out, err) = h.keyhole("fix", &[], &["--apply", "--yes"]);
    assert_eq!(std::fs::read(&real).unwrap(), outside, "the file outside the home is untouched: {out}{err}");
    assert_eq!(before, snapshot(h.path()), "{out}");
    assert!(err.contains("outside the analysed home") || out.contains("outside the analysed home"), "{out}{err}");

    // The same records given to keyhole-fix for another home: nothing planned there, nothing written.
    let input = diagnosis(&h, &[]);
    let other = TempDir::new("fix-other-home");
    let mut c = cmd("keyhole-fix", other.path());
    c.args(["--home", &other.path().display().to_string(), "--apply", "--yes"]);
    let (out, err) = {
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let o = child.wait_with_output().unwrap();
        (String::from_utf8(o.stdout).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert_no_canary("stdout", &out);
    assert_no_canary("stderr", &err);
    assert!(!records(&out).iter().any(|r| r["type"] == "fix" && r["state"] == "applied"), "{out}");
    assert_eq!(before, snapshot(h.path()));
    assert_eq!(std::fs::read(&real).unwrap(), outside);
}

#[test]
fn several_sites_fixed_in_one_file_are_one_write_with_one_backup() {
    // Two models with the placeholder in one file: both rewritten, one backup.
    let h = continue_home("fix-two");
    let config = h.path().join(CONFIG);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("apiKey: ${{ secrets.OPENROUTER_API_KEY }}", "apiKey: ${env:OPENROUTER_API_KEY}");
    std::fs::write(&config, &text).unwrap();
    let before = snapshot(h.path());
    let (st, out, _) = h.keyhole("fix", &[], &["--apply", "--yes", "--json"]);
    let recs = records(&out);
    let applied: Vec<&Value> = recs.iter().filter(|r| r["type"] == "fix" && r["state"] == "applied").collect();
    assert_eq!(applied.len(), 2, "{out}");
    assert_eq!(applied[0]["backup"], applied[1]["backup"], "one write, one backup");
    assert_eq!(st, 0, "{out}");
    let after = snapshot(h.path());
    assert_eq!(changed(&before, &after).len(), 3, "{:?}", changed(&before, &after));
    assert!(!after.contains_key(&format!("{CONFIG}.keyhole-bak.1")));
    for r in recs.iter().filter(|r| r["type"] == "site" && r["tool"] == "continue") {
        assert_eq!(r["diagnoses"][0]["code"], "ok", "{r}");
    }
}

#[test]
fn a_second_apply_keeps_the_first_backup() {
    let h = continue_home("fix-bak1");
    let bak = h.path().join(format!("{CONFIG}.keyhole-bak"));
    std::fs::write(&bak, "an older backup of the user's\n").unwrap();
    let (st, out, _) = h.keyhole("fix", &[], &["--apply", "--yes"]);
    assert_eq!(st, 0, "{out}");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), "an older backup of the user's\n");
    assert!(out.contains("backup: ~/.continue/config.yaml.keyhole-bak.1"), "{out}");
}

#[test]
fn every_fixture_home_apply_and_undo_leak_nothing_and_put_the_home_back() {
    // Every fixture home, with canaries in the analysed environment too:
    // planned (words, records, diff), applied (words, records) and undone —
    // no key in any output, and after --undo the home is what it was.
    let canary = or_canary("LEAK");
    let imi = Imitation::start(&canary, None);
    let envf = TempDir::new("fix-every-env");
    let envf = envf.write(
        "analysed.env",
        format!("OPENROUTER_API_KEY={canary}\0OPENAI_API_KEY={canary}\0PATH=/usr/bin\0SHELL=/bin/bash\0"),
    );
    let mut homes: Vec<PathBuf> =
        std::fs::read_dir(fixtures().join("homes")).unwrap().flatten().map(|e| e.path()).collect();
    homes.sort();
    let mut applied = 0;
    for fixture in homes {
        let t = TempDir::new("fix-every");
        let st =
            std::process::Command::new("cp").arg("-a").arg(format!("{}/.", fixture.display())).arg(t.path()).status();
        assert!(st.unwrap().success());
        let h = t.path().display().to_string();
        let flags = [
            "--home",
            &h,
            "--env-file",
            &envf.display().to_string(),
            "--proc-root",
            "/nonexistent",
            "--provider-url",
            &format!("openrouter={}/api/v1", imi.base()),
            "--timeout",
            "3",
        ]
        .map(String::from);
        let run = |args: &[&str]| {
            let o = cmd("keyhole", t.path()).arg("fix").args(&flags).args(args).output().unwrap();
            let (out, err) = (String::from_utf8(o.stdout).unwrap(), String::from_utf8_lossy(&o.stderr).into_owned());
            let what = format!("keyhole fix {args:?} on {}", fixture.display());
            assert!(!err.contains("panicked"), "{what}: {err}");
            assert_no_canary(&format!("stdout of {what}"), &out);
            assert_no_canary(&format!("stderr of {what}"), &err);
            assert!(!out.replace("…LEAK", "").replace("\"last4\":\"LEAK\"", "").contains("LEAK"), "{what}: {out}");
            (o.status.code().unwrap_or(-1), out)
        };
        let before = snapshot(t.path());
        for mode in [&[][..], &["--json"], &["--diff"]] {
            run(mode);
        }
        assert_eq!(before, snapshot(t.path()), "{}: nothing written without --apply", fixture.display());
        for mode in [&["--apply", "--yes"][..], &["--apply", "--yes", "--json"]] {
            let (_, out) = run(mode);
            if snapshot(t.path()) != before {
                applied += 1;
                assert!(out.contains("backup") || out.contains("keyhole-bak"), "{}: {out}", fixture.display());
                let (st, undone) = run(&["--undo"]);
                assert_eq!(st, 0, "{}: {undone}", fixture.display());
            }
            assert_eq!(before, snapshot(t.path()), "{}: --undo puts the home back", fixture.display());
        }
    }
    eprintln!("fixture home runs with a fix applied and undone: {applied}");
    assert!(applied >= 2, "some fixture home has a mechanical fix ({applied})");
}

#[test]
fn on_a_terminal_each_edit_is_asked_and_no_writes_nothing() {
    if !available("script", &["-V"], "a terminal for keyhole fix --apply to ask on") {
        return;
    }
    let h = continue_home("fix-tty");
    let before = snapshot(h.path());
    let flags: Vec<String> = h.flags(&[]).iter().map(|f| format!("'{f}'")).collect();
    let ask = |answer: &str| {
        let line = format!("{} fix {} --apply", bin("keyhole").display(), flags.join(" "));
        let o = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("(sleep 2; printf '{answer}\\n') | script -qfec \"{line}\" /dev/null"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", h.path())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_no_canary("the terminal", &out);
        assert!(out.contains("Apply this edit? [y/N]"), "{out}");
        assert!(out.contains("+     apiKey: \"${{ secrets.OPENROUTER_API_KEY }}\""), "the edit is shown: {out}");
        out
    };
    let out = ask("n");
    assert!(out.contains("skipped: not agreed to"), "{out}");
    assert_eq!(before, snapshot(h.path()), "no: nothing written");
    let out = ask("y");
    assert!(out.contains("key.placeholder → ok"), "{out}");
    assert_eq!(changed(&before, &snapshot(h.path())).len(), 3, "yes: the config, its backup, the manifest");
}

#[test]
fn a_running_service_after_the_fix_is_key_stale_process_with_the_restart_command() {
    // The LiteLLM proxy runs as a systemd user unit whose EnvironmentFile= lacks the key (defined in
    // ~/.profile only): the fix writes it there, and the running proxy must still be restarted.
    let h = continue_home("fix-unit");
    let key = or_canary("GOOD");
    // Here Continue works (the second tool), and .bashrc defines no key.
    let cfg = std::fs::read_to_string(h.path().join(CONFIG)).unwrap();
    h.t.write(CONFIG, cfg.replace("\"${env:OPENROUTER_API_KEY}\"", "${{ secrets.OPENROUTER_API_KEY }}"));
    let bashrc = std::fs::read_to_string(h.path().join(".bashrc")).unwrap();
    h.t.write(".bashrc", bashrc.lines().filter(|l| !l.contains("_KEY=")).map(|l| format!("{l}\n")).collect::<String>());
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.profile")).unwrap();
    h.t.write(".profile", format!("{stock}\nexport OPENROUTER_API_KEY={key}\n"));
    h.t.write(
        "work/proxy/config.yaml",
        "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
    );
    h.t.write(
        ".config/systemd/user/litellm.service",
        "[Unit]\nDescription=LiteLLM proxy\n\n[Service]\nType=simple\nWorkingDirectory=%h/work/proxy\nEnvironmentFile=%h/.config/litellm/litellm.env\nExecStart=%h/.local/bin/litellm --config %h/work/proxy/config.yaml --port 4000\n\n[Install]\nWantedBy=default.target\n",
    );
    h.t.write(".config/litellm/litellm.env", "# keys for the proxy\nLITELLM_MASTER_KEY=sk-1234\n");
    // The proxy, running in its unit's cgroup since before the fix, without the key.
    let me = unsafe { libc::geteuid() };
    let p = h.path().join("proc/4300");
    std::fs::create_dir_all(&p).unwrap();
    let home = h.path().display().to_string();
    std::fs::write(
        p.join("cmdline"),
        format!("{home}/.local/bin/litellm\0--config\0{home}/work/proxy/config.yaml\0--port\x004000\0"),
    )
    .unwrap();
    std::fs::write(p.join("environ"), "LITELLM_MASTER_KEY=sk-1234\0PATH=/usr/bin\0").unwrap();
    std::fs::write(p.join("status"), format!("Name:\tlitellm\nUid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
    std::fs::write(p.join("stat"), "4300 (litellm) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 100 10").unwrap();
    std::fs::write(
        p.join("cgroup"),
        format!("0::/user.slice/user-{me}.slice/user@{me}.service/app.slice/litellm.service\n"),
    )
    .unwrap();
    let before = snapshot(h.path());
    let (st, out, _) = h.keyhole("fix", &[], &["--apply", "--yes"]);
    assert!(
        out.contains("✓ ~/.config/litellm/litellm.env:3") && out.contains("key.wrong_file → key.stale_process"),
        "{out}"
    );
    assert!(out.contains("then run: systemctl --user restart litellm"), "the restart command: {out}");
    let after = snapshot(h.path());
    let env = ".config/litellm/litellm.env";
    assert_eq!(
        changed(&before, &after),
        vec![env.to_string(), format!("{env}.keyhole-bak"), ".local/state/keyhole/last-fix.json".to_string()],
        "{out}"
    );
    assert_eq!(
        String::from_utf8(after[env].clone()).unwrap(),
        format!("# keys for the proxy\nLITELLM_MASTER_KEY=sk-1234\nOPENROUTER_API_KEY={key}\n"),
        "the value copied from ~/.profile, never shown"
    );
    assert_eq!(st, 0, "only a restart is left: {out}");
}

#[test]
fn the_check_follows_a_site_whose_variable_the_fix_renamed() {
    // The site's id names the variable (…#/env/ANTHROPIC_AUTH_TOKEN): renamed by the fix, the check
    // finds the site at the same file and line, and says what it is now.
    let h = continue_home("fix-renamed");
    let ant = format!("sk-ant-api03-{}STK1", "c".repeat(40));
    h.t.write(
        ".claude/settings.json",
        format!("{{\n  \"model\": \"sonnet\",\n  \"env\": {{\n    \"DISABLE_TELEMETRY\": \"1\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{ant}\"\n  }}\n}}\n"),
    );
    let (_, out, _) = h.keyhole("fix", &[], &["--apply", "--yes", "--offline"]);
    let line = out.lines().find(|l| l.contains("~/.claude/settings.json:5")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with('✓') && line.ends_with("header.wrong_scheme → ok"), "{out}");
    assert!(!out.contains("no longer found"), "{out}");
}

/// .bashrc without the stock fixture's keys, with `extra` below its guard.
fn bashrc_without_keys(h: &Home, extra: &str) {
    let b = std::fs::read_to_string(h.path().join(".bashrc")).unwrap();
    let kept: String = b.lines().filter(|l| !l.contains("_KEY=")).map(|l| format!("{l}\n")).collect();
    h.t.write(".bashrc", format!("{kept}{extra}"));
}

#[test]
fn copy_to_tool_env_creates_continues_env_with_the_shells_value_and_undo_removes_it() {
    // The key only in the shell: the placeholders rewritten, and the value copied into
    // ~/.continue/.env, which the fix creates (0600); both models then work.
    let h = continue_home("fix-copy");
    std::fs::remove_file(h.path().join(".continue/.env")).unwrap();
    bashrc_without_keys(&h, &format!("export OPENROUTER_API_KEY={}\n", or_canary("GOOD")));
    let before = snapshot(h.path());
    let (st, out, _) = h.keyhole("fix", &[], &["--apply", "--yes", "--json"]);
    let recs = records(&out);
    let kinds: Vec<&str> = recs
        .iter()
        .filter(|r| r["type"] == "fix" && r["state"] == "applied")
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"copy_to_tool_env") && kinds.contains(&"placeholder_syntax"), "{out}");
    for r in recs.iter().filter(|r| r["type"] == "site" && r["tool"] == "continue") {
        assert_eq!(r["diagnoses"][0]["code"], "ok", "{r}");
    }
    assert_eq!(st, 0, "{out}");
    let env = h.path().join(".continue/.env");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), format!("OPENROUTER_API_KEY={}\n", or_canary("GOOD")));
    assert_eq!(std::fs::metadata(&env).unwrap().permissions().mode() & 0o777, 0o600);
    let after = snapshot(h.path());
    assert_eq!(
        changed(&before, &after),
        // Model 1 (its key below the guard) gets its own fix: the export moved above it.
        vec![
            ".bashrc".to_string(),
            ".bashrc.keyhole-bak".to_string(),
            ".continue/.env".to_string(),
            CONFIG.to_string(),
            format!("{CONFIG}.keyhole-bak"),
            ".local/state/keyhole/last-fix.json".to_string()
        ],
    );
    let (st, out, _) = h.keyhole("fix", &[], &["--undo"]);
    assert_eq!(st, 0, "{out}");
    assert_eq!(before, snapshot(h.path()), "the created .env removed, the config restored");
}

#[test]
fn add_export_writes_export_and_the_check_re_diagnoses_the_site() {
    let h = continue_home("fix-export");
    let key = or_canary("GOOD");
    let stock = std::fs::read_to_string(fixtures().join("env/debian/.profile")).unwrap();
    h.t.write(".profile", format!("{stock}\n# OpenRouter, for every login\nOPENROUTER_API_KEY={key}\n"));
    bashrc_without_keys(&h, "");
    h.t.write("work/proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    let id = "proj/.aider.conf.yml#/model";
    assert_eq!(h.site_code(&[], id), "key.not_exported");
    let before = snapshot(h.path());
    let (_, out, _) = h.keyhole("fix", &[], &["--apply", "--yes"]);
    let after = snapshot(h.path());
    let changed = changed(&before, &after);
    assert!(changed.contains(&".profile".to_string()), "{changed:?}");
    assert_eq!(
        String::from_utf8(after[".profile"].clone()).unwrap(),
        format!("{stock}\n# OpenRouter, for every login\nexport OPENROUTER_API_KEY={key}\n"),
        "export added, every other byte kept"
    );
    // The check says what the site is now, re-diagnosed (Aider's launch contexts include a plain
    // `bash -c`, which reads no startup file: docs/launch-contexts.md).
    let line = out.lines().find(|l| l.contains("~/.profile:")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("key.not_exported → "), "{out}");
    assert!(
        line.contains("export OPENROUTER_API_KEY on line 30 of ~/.profile") && !line.contains("(redacted"),
        "a sentence that holds no key is shown as it is: {out}"
    );
    assert!(line.ends_with(&format!("→ {}", h.site_code(&[], id))), "the check agrees with doctor: {out}");
}

#[test]
fn a_home_with_nothing_to_fix_plans_nothing_and_exits_0() {
    let h = continue_home("fix-nothing");
    let cfg = std::fs::read_to_string(h.path().join(CONFIG)).unwrap();
    h.t.write(CONFIG, cfg.replace("\"${env:OPENROUTER_API_KEY}\"", "${{ secrets.OPENROUTER_API_KEY }}"));
    bashrc_without_keys(&h, "");
    let before = snapshot(h.path());
    for args in [&[][..], &["--apply", "--yes"]] {
        let (st, out, _) = h.keyhole("fix", &[], args);
        assert_eq!(st, 0, "{args:?}: {out}");
        assert!(out.contains("no mechanical fix planned"), "{out}");
    }
    assert_eq!(before, snapshot(h.path()), "nothing to fix, nothing written (no manifest either)");
}
