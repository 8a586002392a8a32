//! keyhole-env, run as a process on fixture homes (Debian's and Arch's
//! default .bashrc, .bash_profile shadowing, sourced files, zsh, fish,
//! environment.d…) and fake /proc trees. Every static answer is checked
//! against the real shells with --exec: the test fails where they disagree.

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use util::*;

fn env_fixture(name: &str) -> PathBuf {
    fixtures().join("env").join(name)
}

fn empty_env(t: &TempDir) -> PathBuf {
    t.write("empty.env", "")
}

/// `keyhole-env VAR --exec` on a fixture home; returns the env object.
fn analyse(home: &Path, shell: &str, var: &str, extra: &[&str]) -> Value {
    let t = TempDir::new("env");
    let mut c = cmd("keyhole-env", home);
    c.arg("--home").arg(home).args(["--shell", shell, "--proc-root"]).arg(t.path().join("no-proc"));
    c.arg("--env-file").arg(empty_env(&t)).arg(var).args(extra).arg("-q");
    let r = run(c);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_no_canary("stdout", &r.stdout);
    assert_no_canary("stderr", &r.stderr);
    assert_eq!(r.records.len(), 1);
    assert_eq!(r.records[0]["type"], "env");
    r.records[0]["env"].clone()
}

fn contexts(e: &Value) -> Vec<(&str, bool)> {
    ["interactive", "login", "non_interactive", "ssh_command", "vscode_resolved", "systemd_user", "gui"]
        .iter()
        .map(|c| (*c, e["contexts"][c].as_bool().unwrap()))
        .collect()
}

/// Whether the real `name` shell can be compared against; when it is
/// missing the test says it skipped (and fails under KEYHOLE_REQUIRE_ALL=1).
fn has_shell(name: &str) -> bool {
    available(name, &["-c", "true"], &format!("the static answers for {name} are compared with the real {name}"))
}

/// Static and real must agree on every context the real shell can show.
fn agrees(e: &Value) {
    assert_eq!(e["exec_disagrees"], serde_json::json!([]), "static vs real shell: {}", e["exec_disagrees"]);
    assert!(e["exec"].as_object().unwrap().values().all(|v| !v.is_null()), "every shell answered: {}", e["exec"]);
}

#[test]
fn debian_default_bashrc_guard() {
    let home = env_fixture("debian");
    let e = analyse(&home, "bash", "OPENROUTER_API_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(
        contexts(&e),
        vec![
            ("interactive", true),
            ("login", false),
            ("non_interactive", false),
            ("ssh_command", false),
            ("vscode_resolved", true),
            ("systemd_user", false),
            ("gui", false)
        ]
    );
    let d = &e["definitions"][0];
    assert!(d["file"].as_str().unwrap().ends_with("debian/.bashrc"));
    let text = std::fs::read_to_string(home.join(".bashrc")).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(d["line"], line_of("EN01"));
    assert_eq!(d["exported"], true);
    assert_eq!(d["after_guard"]["line"], line_of("case $- in"), "the case $- in guard of Debian's skel");
    assert_eq!(d["fp"]["last4"], "EN01");
    // Above the guard: every shell that reads .bashrc has it.
    let e = analyse(&home, "bash", "EARLY_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["contexts"]["ssh_command"], true);
    assert_eq!(e["contexts"]["login"], true);
    assert!(e["definitions"][0]["after_guard"].is_null());
}

#[test]
fn arch_guard_and_bash_profile_shadowing() {
    let e = analyse(&env_fixture("arch"), "bash", "OPENROUTER_API_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["after_guard"]["line"], 6);
    assert_eq!(e["contexts"]["vscode_resolved"], true);
    assert_eq!(e["contexts"]["login"], false);

    // .bash_profile exists and does not source .profile or .bashrc: both are skipped by login shells.
    let e = analyse(&env_fixture("shadow"), "bash", "OPENROUTER_API_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["contexts"]["vscode_resolved"], false);
    assert_eq!(e["contexts"]["login"], false);
    assert_eq!(e["contexts"]["interactive"], true);
    assert_eq!(
        e["definitions"].as_array().unwrap().len(),
        2,
        "both the .profile and the .bashrc definitions are listed"
    );
}

#[test]
fn sourced_files_functions_allexport_and_tty_guard() {
    let home = env_fixture("sourced");
    let e = analyse(&home, "bash", "OPENROUTER_API_KEY", &["--exec"]);
    agrees(&e);
    let d = &e["definitions"][0];
    assert!(d["file"].as_str().unwrap().ends_with(".config/secrets.sh"));
    assert!(d["sourced_from"]["file"].as_str().unwrap().ends_with("sourced/.bashrc"));
    assert_eq!(e["contexts"]["ssh_command"], true);

    let e = analyse(&home, "bash", "NOT_EXPORTED_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["exported"], false);
    assert!(contexts(&e).iter().all(|(_, v)| !v), "a shell variable reaches no child");

    let e = analyse(&home, "bash", "FUNC_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["in_function"], true);

    let e = analyse(&home, "bash", "ALLEXPORT_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["exported"], true, "set -a carries into the sourced file");

    // A tty guard: a terminal tab passes it, VS Code's resolver (stdin /dev/null) does not.
    let e = analyse(&home, "bash", "TTY_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["after_guard"]["kind"], "tty");
    assert_eq!(
        (e["contexts"]["interactive"].as_bool(), e["contexts"]["vscode_resolved"].as_bool()),
        (Some(true), Some(false))
    );
}

#[test]
fn zsh_startup_files() {
    if !has_shell("zsh") {
        return;
    }
    let home = env_fixture("zsh");
    let e = analyse(&home, "zsh", "ZENV_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["contexts"]["non_interactive"], true, ".zshenv is read by zsh -c");
    let e = analyse(&home, "zsh", "OPENROUTER_API_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(
        (e["contexts"]["non_interactive"].as_bool(), e["contexts"]["interactive"].as_bool()),
        (Some(false), Some(true)),
        ".zshrc is interactive-only"
    );
    let e = analyse(&home, "zsh", "ZPROF_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!((e["contexts"]["login"].as_bool(), e["contexts"]["interactive"].as_bool()), (Some(true), Some(false)));
}

#[test]
fn fish_config_and_universal_variables() {
    if !has_shell("fish") {
        return;
    }
    let home = env_fixture("fish");
    let e = analyse(&home, "fish", "OPENROUTER_API_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["contexts"]["non_interactive"], true, "config.fish is read by every fish");
    let e = analyse(&home, "fish", "INTERACTIVE_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["interactive_only"], true);
    assert_eq!(e["contexts"]["non_interactive"], false);
    let e = analyse(&home, "fish", "UNIVERSAL_KEY", &["--exec"]);
    agrees(&e);
    assert_eq!(e["definitions"][0]["kind"], "fish_universal");
    assert_eq!(e["definitions"][0]["fp"]["last4"], "EN16", "fish's \\x2d escapes are decoded before fingerprinting");
    assert_eq!(e["contexts"]["gui"], false, "no process started outside fish sees set -Ux");
}

#[test]
fn environment_d_pam_and_terminal_only_settings() {
    let home = env_fixture("sysenv");
    let etc = home.join("etc");
    let e = analyse(&home, "bash", "OPENROUTER_API_KEY", &["--etc", etc.to_str().unwrap()]);
    assert_eq!(e["definitions"][0]["kind"], "environment_d");
    assert_eq!(
        (e["contexts"]["systemd_user"].as_bool(), e["contexts"]["interactive"].as_bool()),
        (Some(true), Some(false))
    );
    let e = analyse(&home, "bash", "ETC_KEY", &["--etc", etc.to_str().unwrap()]);
    assert_eq!(e["definitions"][0]["kind"], "etc_environment");
    assert_eq!(e["definitions"][0]["fp"]["flaws"], serde_json::json!([]), "pam_env strips the quotes");
    assert_eq!(
        (e["contexts"]["ssh_command"].as_bool(), e["contexts"]["systemd_user"].as_bool()),
        (Some(true), Some(true))
    );
    let e = analyse(&home, "bash", "TERMINAL_KEY", &["--etc", etc.to_str().unwrap()]);
    assert_eq!(e["definitions"][0]["kind"], "vscode_terminal");
    assert!(contexts(&e).iter().all(|(_, v)| !v), "terminal.integrated.env reaches no launch context of a tool");
}

/// A fake /proc: PID → (cmdline, environ, start ticks, uid).
fn fake_proc(t: &TempDir, procs: &[(u32, &str, &str, u64, u32)], btime: u64) -> PathBuf {
    let root = t.path().join("proc");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("stat"), format!("cpu  1 2 3\nbtime {btime}\nprocesses 1\n")).unwrap();
    for (pid, cmdline, environ, ticks, uid) in procs {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cmdline"), cmdline.replace(' ', "\0")).unwrap();
        if !environ.is_empty() {
            std::fs::write(d.join("environ"), environ.replace('|', "\0")).unwrap();
        }
        std::fs::write(d.join("status"), format!("Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")).unwrap();
        std::fs::write(
            d.join("stat"),
            format!("{pid} (node (x)) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 100 10"),
        )
        .unwrap();
    }
    root
}

#[test]
fn running_processes_stale_extension_host_and_effective_value() {
    let t = TempDir::new("env-proc");
    let me = unsafe { libc::geteuid() };
    let key = or_canary("PR01");
    // The user's home: a Continue config reading ${{ secrets.OPENROUTER_API_KEY }}, the key exported in .bashrc (now).
    t.write(
        ".continue/config.yaml",
        "models:\n  - provider: openrouter\n    model: m\n    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n",
    );
    t.write(".bashrc", format!("export OPENROUTER_API_KEY={key}\n"));
    t.write("proxy/config.yaml", "model_list:\n  - model_name: m\n    litellm_params:\n      model: openrouter/x/y\n      api_key: os.environ/OPENROUTER_API_KEY\n");
    // Boot in 2020; processes started 100 s after boot: long before the .bashrc was written.
    let root = fake_proc(
        &t,
        &[
            (4242, "/home/u/.vscode-server/bin/abc/node /home/u/.vscode-server/bin/abc/out/bootstrap-fork --type=extensionHost --transformURIs", "HOME=/home/u|PATH=/usr/bin", 10_000, me),
            (4100, "/home/u/.vscode-server/bin/abc/node /home/u/.vscode-server/bin/abc/out/server-main.js --start-server", "HOME=/home/u", 9_000, me),
            (5000, "/usr/bin/python3 /usr/local/bin/litellm --config proxy/config.yaml --port 4000", &format!("HOME=/home/u|OPENROUTER_API_KEY={key}"), 20_000, me),
            (6000, "/usr/bin/python3 /usr/local/bin/litellm --port 4001", "OPENROUTER_API_KEY=other", 20_000, me + 1),
            (7000, "/usr/bin/python3 /usr/local/bin/litellm --port 4002", "", 20_000, me),
        ],
        1_577_836_800,
    );
    let mut f = cmd("keyhole-find", t.path());
    f.arg("--home").arg(t.path()).arg("-q");
    let sites = f.output().unwrap().stdout;
    let envf = t.write("analysed.env", "PATH=/usr/bin\n");
    let mut c = cmd("keyhole-env", t.path());
    c.arg("--home").arg(t.path()).arg("--proc-root").arg(&root).arg("--env-file").arg(&envf).arg("--shell").arg("bash");
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &sites).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_canary("stdout", &stdout);
    assert_no_canary("stderr", &stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let recs: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let cont = recs.iter().find(|r| r["tool"] == "continue").unwrap();
    let procs = cont["env"]["processes"].as_array().unwrap();
    let host = procs.iter().find(|p| p["pid"] == 4242).expect("the extension host is listed");
    assert_eq!(host["role"], "vscode-extension-host");
    assert_eq!(host["has_var"], false);
    assert_eq!(host["started_before_edit"], true);
    assert_eq!(host["started"], "2020-01-01T00:01:40Z", "btime + 10000 ticks / 100 Hz");
    // No ~/.profile: VS Code's -ilc resolver never reads ~/.bashrc here.
    assert_eq!(host["launched_as"], "vscode_resolved");
    assert_eq!(host["lacks_because"], "wrong_file");
    assert!(procs.iter().any(|p| p["pid"] == 4100 && p["role"] == "vscode-server"));
    assert!(procs.iter().all(|p| p["pid"] != 5000), "a litellm proxy is not Continue's");
    // Continue CLI order: the (analysed) process env has no key, so ~/.continue/.env would be next; none here.
    assert!(cont["env"]["effective"].is_null(), "{}", cont["env"]["effective"]);

    let lit = recs.iter().find(|r| r["tool"] == "litellm" && r["env"]["var"] == "OPENROUTER_API_KEY").unwrap();
    let lp = lit["env"]["processes"].as_array().unwrap();
    let proxy = lp.iter().find(|p| p["pid"] == 5000).unwrap();
    assert_eq!(proxy["has_var"], true);
    assert_eq!(proxy["fp"]["last4"], "PR01");
    assert!(lp.iter().all(|p| p["pid"] != 6000), "another user's process is skipped");
    assert!(lp.iter().all(|p| p["pid"] != 7000), "a process that vanished is skipped");
    assert_eq!(lit["env"]["effective"]["from"], "process:5000", "the running proxy's environment is what the tool has");
    assert_eq!(lit["env"]["effective"]["fp"]["last4"], "PR01");
    assert!(stderr.contains("process 6000 (litellm) belongs to uid"), "{stderr}");
    assert!(stderr.contains("process 7000 (litellm) ended while being read"), "{stderr}");
}

#[test]
fn effective_follows_each_tools_dotenv_precedence() {
    let t = TempDir::new("env-eff");
    let (file_key, env_key) = (or_canary("FILE"), or_canary("ENVV"));
    // Aider loads .env with override=True: the file beats the shell.
    t.write("proj/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    t.write("proj/.env", format!("OPENROUTER_API_KEY={file_key}\n"));
    // Continue's CLI reads the process env first.
    t.write(
        ".continue/config.yaml",
        "models:\n  - provider: openrouter\n    model: m\n    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n",
    );
    t.write(".continue/.env", format!("OPENROUTER_API_KEY={file_key}\n"));
    let mut f = cmd("keyhole-find", t.path());
    f.arg("--home").arg(t.path()).arg("-q");
    let sites = f.output().unwrap().stdout;
    // NUL-separated, like /proc/PID/environ.
    let envf = t.write("analysed.env", format!("OPENROUTER_API_KEY={env_key}\0PATH=/usr/bin\0"));
    let mut c = cmd("keyhole-env", t.path());
    c.arg("--home").arg(t.path()).arg("--proc-root").arg(t.path().join("none")).arg("--env-file").arg(&envf).arg("-q");
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &sites).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_no_canary("stdout", &stdout);
    let recs: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let aider = recs.iter().find(|r| r["tool"] == "aider").unwrap();
    assert!(
        aider["env"]["effective"]["from"].as_str().unwrap().ends_with("proj/.env"),
        "{}",
        aider["env"]["effective"]
    );
    assert_eq!(aider["env"]["effective"]["overrides_env"], true);
    assert_eq!(aider["env"]["effective"]["fp"]["last4"], "FILE");
    assert_eq!(aider["env"]["current"]["fp"]["last4"], "ENVV");
    let defs = aider["env"]["definitions"].as_array().unwrap();
    assert!(
        defs.iter().any(|d| d["kind"] == "dotenv" && d["loaded_by"] == "aider" && d["fp"]["last4"] == "FILE"),
        "{defs:?}"
    );
    let cont = recs.iter().find(|r| r["tool"] == "continue" && r["key"]["from"] == "env").unwrap();
    assert_eq!(cont["env"]["effective"]["from"], "environment");
    assert_eq!(cont["env"]["effective"]["fp"]["last4"], "ENVV");
    // A line of a .env file its tool loads gets the resolution too: Continue's ~/.continue/.env
    // line loses to the environment (the CLI reads the process first).
    let line = recs
        .iter()
        .find(|r| r["tool"] == "continue" && r["key"]["from"] == "literal")
        .expect("the ~/.continue/.env line is a site");
    let own = line["env"]["resolution"].as_array().unwrap().iter().find(|c| c["source"] == "dotenv").unwrap();
    assert_eq!(own["outcome"], "shadowed", "{line}");
    // Other records pass through untouched.
    let untouched = |r: &&Value| r["key"]["from"] != "env" && r["assigns"].is_null();
    assert!(recs.iter().filter(untouched).all(|r| r.get("env").is_none()));
}

#[test]
fn bad_lines_and_man_page() {
    let t = TempDir::new("env-bad");
    let mut c = cmd("keyhole-env", t.path());
    c.arg("--home").arg(t.path()).arg("--proc-root").arg(t.path());
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"{\"type\":\"x\"}\nnot json\n\xff\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "x");
    assert_eq!((lines[1]["type"].as_str(), lines[1]["input_line"].as_u64()), (Some("error"), Some(2)));
    assert_eq!(lines[2]["input_line"], 3);
    assert_man_current("keyhole-env");
}

#[test]
fn a_misspelt_variable_is_pointed_out() {
    // openclaw#26960: the key was put in .env as OPEN_ROUTER_API_KEY.
    let t = TempDir::new("near");
    t.write(
        ".openclaw/openclaw.json",
        "{ models: { providers: { openrouter: { baseUrl: 'https://openrouter.ai/api/v1' } } } }",
    );
    t.write(".openclaw/.env", format!("OPEN_ROUTER_API_KEY={}\n", or_canary("NEAR")));
    let envf = t.write("analysed.env", "PATH=/usr/bin\n");
    let p = format!(
        "{} --home {h} -q | {} --home {h} -q --env-file {e} --proc-root {h}/none | {}",
        bin("keyhole-find").display(),
        bin("keyhole-env").display(),
        bin("keyhole-classify").display(),
        h = t.path().display(),
        e = envf.display()
    );
    let o = std::process::Command::new("bash").arg("-c").arg(&p).output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_no_canary("stdout", &out);
    let site: Value =
        out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|r| r["tool"] == "openclaw").unwrap();
    assert_eq!(site["env"]["near_misses"][0]["name"], "OPEN_ROUTER_API_KEY");
    assert_eq!(site["diagnoses"][0]["code"], "key.env_unset");
    assert!(
        site["diagnoses"][0]["fix"][0]
            .as_str()
            .unwrap()
            .starts_with("rename OPEN_ROUTER_API_KEY to OPENROUTER_API_KEY"),
        "{}",
        site["diagnoses"][0]
    );
}
