//! Issue 16, "no input reaches a shell": `keyhole-env --exec` starts the
//! user's real shells (docs/launch-contexts.md#checking-against-the-real-shells).
//! A variable name from a project's config or from a record on stdin is
//! never shell code, and the real shells leave the analysed home exactly as
//! it was (no `~/.zcompdump`, no `~/.local/share/fish/`).

mod util;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use util::*;

/// A missing zsh or fish skips its part, saying so (a failure under KEYHOLE_REQUIRE_ALL=1).
fn has_shell(name: &str) -> bool {
    available(name, &["-c", "true"], "the real shells run on the hostile homes")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether this machine lets the test make a private mount namespace
/// (root with CAP_SYS_ADMIN, not a locked-down container).
fn can_unshare() -> bool {
    is_root()
        && Command::new("unshare")
            .args(["--mount", "--propagation", "private", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Run `c` with `input` on stdin; (status, stdout, stderr).
fn pipe(mut c: Command, input: &[u8]) -> (i32, String, String) {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    (out.status.code().unwrap_or(-1), stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn records(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// `keyhole-env --exec` over `input`, for a home with the given shell.
fn env_exec(home: &Path, t: &TempDir, shell: &str, input: &[u8]) -> (i32, String, String) {
    let envf = t.write("analysed.env", "");
    let mut c = cmd("keyhole-env", home);
    c.arg("--home").arg(home).args(["--shell", shell, "--exec", "--proc-root"]).arg(t.path().join("no-proc"));
    c.arg("--env-file").arg(envf);
    pipe(c, input)
}

/// Markers the injected commands would create, none of which may exist.
fn assert_no_marker(markers: &[PathBuf]) {
    for m in markers {
        assert!(!m.exists(), "an injected command ran: {} exists", m.display());
    }
}

/// A project's Continue config whose `apiKey` values try to reach a shell
/// through `${{ secrets.NAME }}`: find reports each as text Continue sends
/// (a placeholder, no variable), and `find | env --exec` runs none of them.
#[test]
fn continue_secret_injection_runs_nothing() {
    let t = TempDir::new("secexec-cont");
    let home = t.path().join("home");
    let m = |n: &str| t.path().join(format!("marker-{n}"));
    let markers: Vec<PathBuf> = (1..=7).map(|i| m(&i.to_string())).collect();
    let p = |i: usize| markers[i - 1].display().to_string();
    let shapes = [
        format!("${{{{ secrets.X;touch$IFS{};true }}}}", p(1)),
        format!("${{{{ secrets.X`touch$IFS{}` }}}}", p(2)),
        format!("${{{{ secrets.$(touch$IFS{}) }}}}", p(3)),
        format!("${{{{ secrets.X';touch$IFS{};' }}}}", p(4)),
        format!("${{{{ secrets.X\";touch$IFS{};\" }}}}", p(5)),
        format!("${{{{ secrets.X&&touch$IFS{} }}}}", p(6)),
        format!("${{{{ inputs.X|touch$IFS{} }}}}", p(7)),
        // A newline cannot be in the name: the text is not a reference at all.
        format!("${{{{ secrets.X\ntouch {} }}}}", p(1)),
    ];
    let mut yaml = String::from("name: hostile\nversion: 1.0.0\nschema: v1\nmodels:\n");
    for (i, s) in shapes.iter().enumerate() {
        // A JSON string is a YAML double-quoted scalar.
        yaml += &format!(
            "  - name: m{i}\n    provider: openrouter\n    model: m\n    apiKey: {}\n",
            serde_json::to_string(s).unwrap()
        );
    }
    t.write("home/proj/.continue/config.yaml", &yaml);
    let mut f = cmd("keyhole-find", &home);
    f.arg("--home").arg(&home).arg("-q");
    let found = f.output().unwrap();
    let sites = records(&String::from_utf8(found.stdout.clone()).unwrap());
    let cont: Vec<&Value> = sites.iter().filter(|r| r["tool"] == "continue").collect();
    assert_eq!(cont.len(), shapes.len(), "{sites:#?}");
    for shell in ["bash", "zsh", "fish"] {
        if shell != "bash" && !has_shell(shell) {
            continue;
        }
        let (status, stdout, stderr) = env_exec(&home, &t, shell, &found.stdout);
        assert_eq!(status, 0, "{stderr}");
        assert_no_marker(&markers);
        for r in records(&stdout).iter().filter(|r| r["tool"] == "continue") {
            assert!(r["env"].is_null(), "a placeholder is not analysed as a variable: {}", r["env"]);
        }
    }
    assert_no_marker(&markers);
    for s in &cont[..7] {
        assert_eq!(s["key"]["from"], "placeholder", "not a variable name: Continue sends the text: {}", s["key"]);
        assert!(s["key"]["var"].is_null(), "no variable is named: {}", s["key"]);
        assert!(s["key"]["note"].as_str().is_some_and(|n| n.contains("not a variable name")), "{}", s["key"]);
    }
}

/// A crafted `site` record on stdin names a variable with shell
/// metacharacters: the real shells are not asked about it, a note says so
/// without repeating the name, and no injected command runs, in any shell.
#[test]
fn crafted_site_record_variable_is_not_run() {
    let t = TempDir::new("secexec-rec");
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let markers: Vec<PathBuf> = (1..=10).map(|i| t.path().join(format!("marker-{i}"))).collect();
    let p = |i: usize| markers[i - 1].display().to_string();
    let names = [
        format!("X;touch {}", p(1)),
        format!("X\ntouch {}", p(2)),
        format!("$(touch {})", p(3)),
        format!("`touch {}`", p(4)),
        format!("X' ; touch {} ; '", p(5)),
        format!("X\" ; touch {} ; \"", p(6)),
        format!("X&touch {}", p(7)),
        format!("X|touch {}", p(8)),
        // fish's command substitution and separators
        format!("(touch {})", p(9)),
        format!("X; and touch {}; or touch {}", p(10), p(10)),
    ];
    let site = |i: usize, var: &str| {
        serde_json::json!({
            "type": "site", "v": 1, "id": format!("crafted-{i}"), "host": "h", "tool": "aider",
            "source": {"file": home.join(".aider.conf.yml").display().to_string(), "line": 1},
            "provider": "openrouter", "model": null, "base_url": "https://openrouter.ai/api/v1",
            "base_url_from": "default", "auth": {"header": "authorization", "scheme": "bearer"},
            "key": {"from": "env", "var": var}
        })
        .to_string()
    };
    let mut input = String::new();
    for (i, n) in names.iter().enumerate() {
        input += &site(i, n);
        input.push('\n');
    }
    // A real name in the same stream is still checked against the shells.
    input += &site(99, "OPENROUTER_API_KEY");
    input.push('\n');
    for shell in ["bash", "zsh", "fish"] {
        if shell != "bash" && !has_shell(shell) {
            continue;
        }
        let (status, stdout, stderr) = env_exec(&home, &t, shell, input.as_bytes());
        assert_eq!(status, 0, "{stderr}");
        assert_no_marker(&markers);
        let recs = records(&stdout);
        assert_eq!(recs.len(), names.len() + 1);
        for r in &recs[..names.len()] {
            assert!(r["env"]["exec"].is_null(), "{shell} ran for a name that is not an identifier: {}", r["env"]);
        }
        let good = &recs[names.len()]["env"];
        assert!(good["exec"].as_object().is_some_and(|e| e.values().all(|v| v == false)), "{shell}: {good}");
        assert!(stderr.contains("not an identifier"), "{shell}: a note says why the shells were not asked: {stderr}");
        assert!(!stderr.contains("touch"), "{shell}: the note does not repeat the name: {stderr}");
    }
}

/// Every entry under `dir`: kind, mode, owner and (files, links) the bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (String, u32, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            let md = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            let mode = md.permissions().mode();
            let (kind, bytes) = if md.file_type().is_symlink() {
                ("link", std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes())
            } else if md.is_dir() {
                stack.push(path.clone());
                ("dir", Vec::new())
            } else {
                ("file", std::fs::read(&path).unwrap())
            };
            out.insert(rel, (kind.to_string(), mode, md.uid(), bytes));
        }
    }
    out
}

/// The fixture's files (what git holds: no empty directory a shell left).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
            let _ = std::fs::remove_dir(&target); // only when empty
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The homes: the bash, zsh and fish fixtures, and a zsh home whose
/// .zshrc runs compinit (Ubuntu's /etc/zsh/zshrc does it for everyone):
/// (name, shell, home).
fn hostile_homes(t: &TempDir) -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut homes = Vec::new();
    for (name, shell) in [("debian", "bash"), ("sourced", "bash"), ("zsh", "zsh"), ("fish", "fish")] {
        if !has_shell(shell) {
            continue;
        }
        let home = t.path().join(name);
        copy_tree(&fixtures().join("env").join(name), &home);
        homes.push((name, shell, home));
    }
    if has_shell("zsh") {
        let home = t.path().join("zsh-compinit");
        copy_tree(&fixtures().join("env/zsh"), &home);
        let rc = home.join(".zshrc");
        let text = std::fs::read_to_string(&rc).unwrap() + "autoload -U compinit && compinit\n";
        std::fs::write(rc, text).unwrap();
        homes.push(("zsh-compinit", "zsh", home));
    }
    homes
}

fn assert_home_unchanged(name: &str, before: &BTreeMap<PathBuf, (String, u32, u32, Vec<u8>)>, home: &Path) {
    let after = snapshot(home);
    let added: Vec<&PathBuf> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let removed: Vec<&PathBuf> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<&PathBuf> =
        before.iter().filter(|(k, v)| after.get(*k).is_some_and(|a| a != *v)).map(|(k, _)| k).collect();
    assert!(
        added.is_empty() && removed.is_empty() && changed.is_empty(),
        "{name}: --exec changed the analysed home: added {added:?}, removed {removed:?}, changed {changed:?}"
    );
}

/// `--exec` leaves the analysed home byte-identical (every file hashed, no
/// new file), and the real shells still answer in every context.
#[test]
fn exec_leaves_the_home_byte_identical() {
    let t = TempDir::new("secexec-home");
    for (name, shell, home) in hostile_homes(&t) {
        let before = snapshot(&home);
        let mut c = cmd("keyhole-env", &home);
        c.arg("--home").arg(&home).args(["--shell", shell, "--exec", "--proc-root"]).arg(t.path().join("no-proc"));
        c.arg("--env-file").arg(t.write("analysed.env", "")).arg("OPENROUTER_API_KEY");
        let r = run(c);
        assert_eq!(r.status, 0, "{name}: {}", r.stderr);
        assert_no_canary("stdout", &r.stdout);
        assert_no_canary("stderr", &r.stderr);
        let exec = &r.records[0]["env"]["exec"];
        assert!(exec.as_object().is_some_and(|e| e.values().all(|v| !v.is_null())), "{name}: {exec}");
        if can_unshare() {
            assert!(!r.stderr.contains("throwaway copy"), "{name}: the private mount namespace is used: {}", r.stderr);
        } else {
            eprintln!("{name}: no mount namespace can be made here: the throwaway copy was checked instead");
        }
        assert_home_unchanged(name, &before, &home);
    }
}

/// The same as a user who is not root (a user namespace, or the throwaway
/// copy where none can be made): the home the user owns stays as it was.
#[test]
fn exec_as_a_user_leaves_the_home_byte_identical() {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root (to become another user) and setpriv");
        return;
    }
    let t = TempDir::new("secexec-user");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, shell, home) in hostile_homes(&t) {
        let chown = Command::new("chown").arg("-R").arg("65534:65534").arg(&home).status().unwrap();
        assert!(chown.success());
        let before = snapshot(&home);
        let envf = t.write("analysed.env", "");
        std::fs::set_permissions(&envf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(bin("keyhole-env"));
        c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("HOME", &home).env("LC_ALL", "C");
        c.arg("--home").arg(&home).args(["--shell", shell, "--exec", "--proc-root"]).arg(t.path().join("no-proc"));
        c.arg("--env-file").arg(&envf).arg("OPENROUTER_API_KEY").stdin(Stdio::null());
        let r = run(c);
        assert_eq!(r.status, 0, "{name}: {}", r.stderr);
        let exec = &r.records[0]["env"]["exec"];
        assert!(exec.as_object().is_some_and(|e| e.values().all(|v| !v.is_null())), "{name}: {exec}");
        assert_home_unchanged(name, &before, &home);
    }
}
