//! Process identity, launch contexts and service launchers
//! (docs/launch-contexts.md#live-processes and #services), on noisy homes
//! and fake /proc trees: an editor, a script or a path that merely mentions
//! a tool's name is never the tool's process; a tool's process is known by
//! its executable, its script or its package, and where it was launched
//! from by its cgroup and its parents. A systemd unit, a compose service or
//! a crontab line that starts the tool without the key is the root cause,
//! in `keyhole doctor` as in the pipeline.

mod util;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use serde_json::Value;
use util::*;

/// One process of a fake /proc.
struct P {
    pid: u32,
    ppid: u32,
    tty: bool,
    argv: Vec<String>,
    /// `|`-separated `NAME=VALUE`s.
    environ: String,
    exe: Option<String>,
    cwd: Option<String>,
    /// The unified hierarchy's path (`0::PATH`); empty: no cgroup file.
    cgroup: String,
    /// Symlinks under `fd/`.
    fds: Vec<String>,
}

fn p(pid: u32, ppid: u32, argv: &[&str]) -> P {
    P {
        pid,
        ppid,
        tty: false,
        argv: argv.iter().map(|s| s.to_string()).collect(),
        environ: "HOME=/home/u|PATH=/usr/bin:/bin".into(),
        exe: None,
        cwd: None,
        cgroup: String::new(),
        fds: Vec::new(),
    }
}

impl P {
    fn exe(mut self, e: &str) -> P {
        self.exe = Some(e.into());
        self
    }
    fn cwd(mut self, c: &str) -> P {
        self.cwd = Some(c.into());
        self
    }
    fn tty(mut self) -> P {
        self.tty = true;
        self
    }
    fn env(mut self, e: &str) -> P {
        self.environ = e.into();
        self
    }
    fn cgroup(mut self, c: &str) -> P {
        self.cgroup = c.into();
        self
    }
    fn fd(mut self, f: &str) -> P {
        self.fds.push(f.into());
        self
    }
}

/// A /proc with these processes: boot in 2020, each started 100 s and more
/// after boot (long before any fixture file was written), all the user's.
fn fake_proc(root: &Path, procs: &[P]) -> PathBuf {
    let me = unsafe { libc::geteuid() };
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1577836800\nprocesses 1\n").unwrap();
    for (i, p) in procs.iter().enumerate() {
        let d = root.join(p.pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let mut cmdline = p.argv.join("\0");
        cmdline.push('\0');
        std::fs::write(d.join("cmdline"), cmdline).unwrap();
        std::fs::write(d.join("environ"), p.environ.replace('|', "\0")).unwrap();
        std::fs::write(d.join("status"), format!("Name:\tx\nUid:\t{me}\t{me}\t{me}\t{me}\n")).unwrap();
        let comm: String = Path::new(&p.argv[0]).file_name().unwrap().to_string_lossy().chars().take(15).collect();
        let tty = if p.tty { 34816 } else { 0 };
        let ticks = 10_000 + 500 * i as u64;
        std::fs::write(
            d.join("stat"),
            format!(
                "{} ({comm}) S {} {} {} {tty} -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 100 10",
                p.pid, p.ppid, p.pid, p.pid
            ),
        )
        .unwrap();
        if !p.cgroup.is_empty() {
            std::fs::write(d.join("cgroup"), format!("0::{}\n", p.cgroup)).unwrap();
        }
        if let Some(e) = &p.exe {
            symlink(e, d.join("exe")).unwrap();
        }
        if let Some(c) = &p.cwd {
            symlink(c, d.join("cwd")).unwrap();
        }
        if !p.fds.is_empty() {
            std::fs::create_dir_all(d.join("fd")).unwrap();
            for (n, f) in p.fds.iter().enumerate() {
                symlink(f, d.join("fd").join(n.to_string())).unwrap();
            }
        }
    }
    root.to_path_buf()
}

/// The noise every test's /proc holds: processes whose command lines
/// mention a tool without being it.
const NOISE: [u32; 5] = [7001, 7002, 7003, 7004, 7005];

fn noise() -> Vec<P> {
    vec![
        p(830, 820, &["-bash"]).exe("/usr/bin/bash").tty(),
        p(7001, 830, &["vim", "/home/u/notes/aider-tips.md"]).exe("/usr/bin/vim.basic").tty(),
        p(7002, 830, &["python3", "run.py", "--client", "aider"]).exe("/usr/bin/python3.11").cwd("/home/u/bench").tty(),
        p(7003, 830, &["bash", "/home/u/openclaw-notes/sync.sh"]).exe("/usr/bin/bash").tty(),
        p(7004, 830, &["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "install", "aider-helper"])
            .exe("/usr/bin/node")
            .tty(),
        p(7005, 830, &["less", "/home/u/.config/systemd/user/litellm.service"]).exe("/usr/bin/less").tty(),
    ]
}

/// Debian's skeleton .profile and .bashrc, the .bashrc exporting `key`
/// below its interactive guard; a `.env.example` template; opencode
/// configured to read the same variable.
/// Write `content` to `base/rel`, making the directories.
fn write(base: &Path, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = base.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

fn debian_home(home: &Path, key: &str) {
    let env = fixtures().join("env/debian");
    let bashrc = std::fs::read_to_string(env.join(".bashrc")).unwrap();
    let bashrc: String = bashrc
        .lines()
        .map(|l| {
            if l.starts_with("export OPENROUTER_API_KEY=") {
                format!("export OPENROUTER_API_KEY={key}")
            } else {
                l.into()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    write(home, ".bashrc", bashrc + "\n");
    write(home, ".profile", std::fs::read(env.join(".profile")).unwrap());
    write(home, "work/.env.example", "# copy to .env\nOPENROUTER_API_KEY=your-api-key-here\n");
    write(
        home,
        ".config/opencode/opencode.json",
        "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"openrouter/anthropic/claude-sonnet-4.5\",\n  \"provider\": {\"openrouter\": {\"options\": {\"apiKey\": \"{env:OPENROUTER_API_KEY}\"}}}\n}\n",
    );
}

fn analysed_env(t: &TempDir, key: Option<&str>) -> PathBuf {
    let mut e = "PATH=/usr/bin:/bin\nSHELL=/bin/bash\nUSER=u\n".to_string();
    if let Some(k) = key {
        e.push_str(&format!("OPENROUTER_API_KEY={k}\n"));
    }
    t.write("analysed.env", e)
}

/// `keyhole-find | keyhole-env | keyhole-probe --offline | keyhole-classify`,
/// and `keyhole doctor --json --offline` with the same flags: both record
/// streams, which must agree.
fn pipeline_and_doctor(home: &Path, env_file: &Path, proc_root: &Path, env_extra: &[&str]) -> Vec<Value> {
    let h = vec!["--home".to_string(), home.display().to_string()];
    let e = vec![
        "--env-file".to_string(),
        env_file.display().to_string(),
        "--proc-root".into(),
        proc_root.display().to_string(),
    ];
    let (sites, _) = spawn("keyhole-find", home, &[h.clone(), vec!["-q".into()]].concat(), b"");
    let extra: Vec<String> = env_extra.iter().map(|s| s.to_string()).collect();
    let (with_env, _) =
        spawn("keyhole-env", home, &[h.clone(), e.clone(), extra, vec!["-q".into()]].concat(), sites.as_bytes());
    let (probed, _) =
        spawn("keyhole-probe", home, &[h.clone(), e.clone(), vec!["--offline".into()]].concat(), with_env.as_bytes());
    let (classified, _) = spawn("keyhole-classify", home, &[], probed.as_bytes());
    let piped = records(&classified);
    if env_extra.is_empty() {
        let args = [vec!["doctor".into(), "--json".into(), "--offline".into()], h, e].concat();
        let (doc, _) = spawn("keyhole", home, &args, b"");
        let doc = records(&doc);
        let diags = |v: &[Value]| -> Vec<(String, Value)> {
            v.iter().filter(|r| r["type"] == "site").map(|r| (r["id"].to_string(), r["diagnoses"].clone())).collect()
        };
        assert_eq!(diags(&piped), diags(&doc), "keyhole doctor and the pipeline agree");
    }
    piped
}

fn first(site: &Value) -> &Value {
    &site["diagnoses"][0]
}

fn text(v: &Value) -> String {
    v.to_string()
}

#[test]
fn a_command_line_that_mentions_a_tool_is_not_the_tools_process() {
    let t = TempDir::new("proc-identity");
    let home = t.path().join("home");
    let h = |rel: &str| home.join(rel).display().to_string();
    let ext = h(".vscode-server/extensions/continue.continue-1.2.3-linux-x64");
    std::fs::create_dir_all(&ext).unwrap();
    let mut procs = noise();
    procs.extend([
        p(1, 0, &["/sbin/init"]).exe("/usr/lib/systemd/systemd"),
        p(800, 1, &["sshd: u@notty"]).exe("/usr/sbin/sshd"),
        p(810, 800, &["bash", "-c", "cd ~/work && aider --model openrouter/x"]).exe("/usr/bin/bash"),
        // aider, a pip-installed console script run by python
        p(5200, 810, &["/usr/bin/python3", "/home/u/.local/bin/aider", "--model", "openrouter/x"])
            .exe("/usr/bin/python3.11")
            .cwd("/home/u/work"),
        // the LiteLLM proxy as a systemd user unit
        p(900, 1, &["/usr/lib/systemd/systemd", "--user"])
            .exe("/usr/lib/systemd/systemd")
            .cgroup("/user.slice/user-1000.slice/user@1000.service/init.scope"),
        p(
            5000,
            900,
            &["/home/u/.venv/bin/python3", "/home/u/.venv/bin/litellm", "--config", "/home/u/work/proxy/config.yaml"],
        )
        .exe("/usr/bin/python3.12")
        .cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service"),
        // Claude Code: node running the package's cli.js, in a tmux pane
        p(820, 1, &["tmux", "new", "-s", "work"]).exe("/usr/bin/tmux"),
        p(5600, 830, &["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"]).exe("/usr/bin/node").tty(),
        // python -m aider, started from a login shell without a terminal
        p(840, 1, &["-bash"]).exe("/usr/bin/bash"),
        p(5210, 840, &["python3.12", "-X", "utf8", "-m", "aider", "--yes"]).exe("/usr/bin/python3.12"),
        // a VS Code server and its extension host, with Continue installed
        p(
            4100,
            800,
            &[
                "sh",
                &h(".vscode-server/bin/abc/node"),
                &h(".vscode-server/bin/abc/out/server-main.js"),
                "--start-server",
            ],
        )
        .exe("/usr/bin/sh"),
        p(
            4101,
            800,
            &[&h(".vscode-server/bin/abc/node"), &h(".vscode-server/bin/abc/out/server-main.js"), "--start-server"],
        )
        .exe(&h(".vscode-server/bin/abc/node")),
        p(
            4242,
            4101,
            &[
                &h(".vscode-server/bin/abc/node"),
                "--dns-result-order=ipv4first",
                &h(".vscode-server/bin/abc/out/bootstrap-fork"),
                "--type=extensionHost",
            ],
        )
        .exe(&h(".vscode-server/bin/abc/node"))
        .fd(&format!("{ext}/out/index.js")),
    ]);
    let root = fake_proc(&t.path().join("proc"), &procs);
    let envf = analysed_env(&t, None);
    let args: Vec<String> = ["OPENROUTER_API_KEY", "--home"]
        .iter()
        .map(|s| s.to_string())
        .chain([home.display().to_string(), "--proc-root".into(), root.display().to_string()])
        .chain(["--env-file".into(), envf.display().to_string()])
        .collect();
    let (out, _) = spawn("keyhole-env", &home, &args, b"");
    let rec = &records(&out)[0];
    let procs = rec["env"]["processes"].as_array().unwrap();
    let by_pid = |pid: u32| procs.iter().find(|p| p["pid"] == pid).unwrap_or_else(|| panic!("no process {pid}: {rec}"));
    for n in NOISE {
        assert!(procs.iter().all(|p| p["pid"] != n), "process {n} is noise: {rec}");
    }
    for n in [810, 830, 840, 4100] {
        assert!(procs.iter().all(|p| p["pid"] != n), "process {n} is a shell: {rec}");
    }

    let aider = by_pid(5200);
    assert_eq!(aider["role"], "aider");
    assert_eq!(aider["matched_by"], "script /home/u/.local/bin/aider");
    assert_eq!(aider["launched_as"], "ssh_command", "{aider}");
    assert!(text(&aider["launched_by"]).contains("parent 800 sshd: u@notty"), "{aider}");
    assert_eq!(aider["cwd"], "/home/u/work");

    let module = by_pid(5210);
    assert_eq!(module["role"], "aider");
    assert_eq!(module["matched_by"], "module -m aider");
    assert_eq!(module["launched_as"], "login", "a login shell without a terminal: {module}");
    assert!(module.get("cwd").is_none(), "no cwd link: {module}");

    let proxy = by_pid(5000);
    assert_eq!(proxy["role"], "litellm");
    assert_eq!(proxy["matched_by"], "script /home/u/.venv/bin/litellm");
    assert_eq!(proxy["launched_as"], "systemd_user", "{proxy}");
    assert_eq!(proxy["unit"], "litellm.service");
    assert!(
        text(&proxy["launched_by"])
            .contains("cgroup /user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service"),
        "{proxy}"
    );

    let claude = by_pid(5600);
    assert_eq!(claude["role"], "claude-code");
    assert_eq!(claude["matched_by"], "package node_modules/@anthropic-ai/claude-code");
    assert_eq!(claude["launched_as"], "tmux", "{claude}");

    let host = by_pid(4242);
    assert_eq!(host["role"], "vscode-extension-host");
    assert!(host["matched_by"].as_str().unwrap().contains("continue.continue"), "{host}");
    assert_eq!(host["launched_as"], "vscode_resolved");
    let server = by_pid(4101);
    assert_eq!(server["role"], "vscode-server");
    assert_eq!(server["launched_as"], "ssh_command", "{server}");
}

/// The case: noise processes started before the .bashrc export, and
/// aider's project .env holding the key: `keyhole doctor` blamed a stale
/// aider process that was somebody's editor.
#[test]
fn noise_processes_are_never_a_stale_process() {
    let t = TempDir::new("proc-noise");
    let home = t.path().join("home");
    let key = or_canary("NS01");
    debian_home(&home, &key);
    write(&home, "work/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\n");
    write(&home, "work/.env", format!("OPENROUTER_API_KEY={key}\n"));
    let root = fake_proc(&t.path().join("proc"), &noise());
    let envf = analysed_env(&t, Some(&key));
    let recs = pipeline_and_doctor(&home, &envf, &root, &[]);
    for r in recs.iter().filter(|r| r["type"] == "site") {
        let procs = r["env"]["processes"].as_array().cloned().unwrap_or_default();
        assert!(procs.is_empty(), "no process here is a tool's: {r}");
        assert!(!text(&r["diagnoses"]).contains("key.stale_process"), "{r}");
    }
    let aider = site(&recs, "aider", "work/.aider.conf.yml", "");
    assert_ne!(first(aider)["code"], "key.stale_process", "{aider}");
}

fn litellm_config(home: &Path, rel: &str) {
    write(
        home,
        rel,
        "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
    );
}

#[test]
fn a_systemd_user_unit_loading_a_misspelt_name_is_the_root_cause() {
    let t = TempDir::new("proc-systemd");
    let home = t.path().join("home");
    let key = or_canary("SD01");
    debian_home(&home, &key);
    litellm_config(&home, "work/proxy/config.yaml");
    let unit = write(&home,
        ".config/systemd/user/litellm.service",
        "[Unit]\nDescription=LiteLLM proxy\nAfter=network-online.target\n\n[Service]\nType=simple\nWorkingDirectory=%h/work/proxy\nEnvironmentFile=%h/.config/litellm/litellm.env\nEnvironment=\"LITELLM_LOG=INFO\" PYTHONUNBUFFERED=1\nExecStart=%h/.local/bin/litellm --config %h/work/proxy/config.yaml --port 4000\nRestart=on-failure\n\n[Install]\nWantedBy=default.target\n",
    );
    write(&home, ".config/systemd/user/litellm.service.d/override.conf", "[Service]\nEnvironment=LITELLM_PORT=4000\n");
    let envfile = write(
        &home,
        ".config/litellm/litellm.env",
        format!("# keys for the proxy\nOPEN_ROUTER_API_KEY={key}\nLITELLM_MASTER_KEY=sk-1234\n"),
    );
    let mut procs = noise();
    procs.extend([
        p(900, 1, &["/usr/lib/systemd/systemd", "--user"]).exe("/usr/lib/systemd/systemd"),
        p(
            5000,
            900,
            &[
                "/home/u/.local/pipx/venvs/litellm/bin/python",
                "/home/u/.local/bin/litellm",
                "--config",
                "/home/u/work/proxy/config.yaml",
                "--port",
                "4000",
            ],
        )
        .exe("/usr/bin/python3.12")
        .env("HOME=/home/u|LITELLM_LOG=INFO|LITELLM_MASTER_KEY=sk-1234")
        .cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service"),
    ]);
    let root = fake_proc(&t.path().join("proc"), &procs);
    let envf = analysed_env(&t, Some(&key));
    let recs = pipeline_and_doctor(&home, &envf, &root, &[]);
    let s = site(&recs, "litellm", "work/proxy/config.yaml", "");
    let l = &s["env"]["launchers"][0];
    assert_eq!(l["kind"], "systemd_user", "{s}");
    assert_eq!(l["name"], "litellm.service");
    assert_eq!(l["file"], unit.display().to_string());
    assert_eq!(l["line"], 10, "the ExecStart= line");
    assert_eq!(l["sees"], false);
    assert_eq!(l["near_misses"][0]["name"], "OPEN_ROUTER_API_KEY", "{l}");
    assert_eq!(l["near_misses"][0]["file"], envfile.display().to_string());
    assert_eq!(l["near_misses"][0]["line"], 2);
    let proc = &s["env"]["processes"][0];
    assert_eq!(
        (&proc["pid"], &proc["unit"], &proc["launched_as"]),
        (&Value::from(5000), &Value::from("litellm.service"), &Value::from("systemd_user"))
    );
    let d = first(s);
    assert_eq!(d["code"], "key.wrong_file", "{s}");
    assert_eq!(
        d["fix"][0],
        format!("rename OPEN_ROUTER_API_KEY to OPENROUTER_API_KEY in {}", envfile.display()),
        "{d}"
    );
    assert!(text(&d["fix"]).contains("systemctl --user restart litellm"), "{d}");
    assert!(text(&d["evidence"]).contains(&format!("{}:10", unit.display())), "{d}");
    assert!(!text(&d["fix"]).contains(".bashrc"), "the unit reads no shell file: {d}");
}

#[test]
fn a_systemd_unit_that_has_the_key_but_a_process_started_before_it() {
    let t = TempDir::new("proc-systemd-stale");
    let home = t.path().join("home");
    let key = or_canary("SD02");
    debian_home(&home, &key);
    litellm_config(&home, "work/proxy/config.yaml");
    write(&home,
        ".config/systemd/user/litellm.service",
        format!("[Service]\nEnvironment=\"OPENROUTER_API_KEY={key}\"\nExecStart=/usr/bin/env litellm --config %h/work/proxy/config.yaml\n"),
    );
    let mut procs = noise();
    procs.push(
        p(
            5000,
            900,
            &["/home/u/.venv/bin/python3", "/home/u/.venv/bin/litellm", "--config", "/home/u/work/proxy/config.yaml"],
        )
        .exe("/usr/bin/python3.12")
        .env(&format!("HOME=/home/u|OPENROUTER_API_KEY={}", or_canary("OLD1")))
        .cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/litellm.service"),
    );
    let root = fake_proc(&t.path().join("proc"), &procs);
    let envf = analysed_env(&t, Some(&key));
    let recs = pipeline_and_doctor(&home, &envf, &root, &[]);
    let s = site(&recs, "litellm", "work/proxy/config.yaml", "");
    assert_eq!(s["env"]["launchers"][0]["sees"], true, "{s}");
    assert_eq!(s["env"]["launchers"][0]["fp"]["last4"], "SD02");
    let d = first(s);
    assert_eq!(d["code"], "key.stale_process", "{s}");
    assert!(text(&d["fix"]).contains("systemctl --user restart litellm"), "{d}");
}

#[test]
fn a_compose_service_never_gets_the_env_beside_its_file() {
    let t = TempDir::new("proc-compose");
    let home = t.path().join("home");
    let key = or_canary("DC01");
    debian_home(&home, &key);
    litellm_config(&home, "work/gateway/config.yaml");
    let compose = write(&home,
        "work/gateway/compose.yaml",
        "services:\n  litellm:\n    image: ghcr.io/berriai/litellm:main-stable\n    ports:\n      - \"4000:4000\"\n    volumes:\n      - ./config.yaml:/app/config.yaml:ro\n    command: [\"--config\", \"/app/config.yaml\", \"--port\", \"4000\"]\n    env_file:\n      - litellm.env\n    environment:\n      LITELLM_LOG: INFO\n      DATABASE_URL: postgresql://llm:llm@db:5432/litellm\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: llm\n",
    );
    // Compose reads .env for ${…} in the file, and passes none of it on.
    write(&home, "work/gateway/.env", format!("OPENROUTER_API_KEY={key}\n"));
    write(&home, "work/gateway/litellm.env", "LITELLM_MASTER_KEY=sk-1234\n");
    let root = fake_proc(&t.path().join("proc"), &noise());
    let envf = analysed_env(&t, Some(&key));
    let recs = pipeline_and_doctor(&home, &envf, &root, &[]);
    let s = site(&recs, "litellm", "work/gateway/config.yaml", "");
    let l = &s["env"]["launchers"][0];
    assert_eq!(l["kind"], "compose", "{s}");
    assert_eq!(l["name"], "litellm");
    assert_eq!(l["file"], compose.display().to_string());
    assert_eq!(l["sees"], false, "{l}");
    assert!(text(&l["notes"]).contains(".env"), "{l}");
    let d = first(s);
    assert_eq!(d["code"], "key.wrong_file", "{s}");
    assert!(text(&d["fix"]).contains("OPENROUTER_API_KEY: ${OPENROUTER_API_KEY}"), "{d}");
    assert!(text(&d["fix"]).contains("docker compose up -d litellm"), "{d}");

    // Passed by name, the .env beside the file fills it in.
    std::fs::write(
        &compose,
        std::fs::read_to_string(&compose)
            .unwrap()
            .replace("      LITELLM_LOG: INFO\n", "      LITELLM_LOG: INFO\n      OPENROUTER_API_KEY:\n"),
    )
    .unwrap();
    let recs = pipeline_and_doctor(&home, &envf, &root, &[]);
    let s = site(&recs, "litellm", "work/gateway/config.yaml", "");
    let l = &s["env"]["launchers"][0];
    assert_eq!(l["sees"], true, "{l}");
    assert_eq!(l["fp"]["last4"], "DC01");
    assert!(l["from"]["file"].as_str().unwrap().ends_with("work/gateway/.env"), "{l}");
    assert!(!text(&s["diagnoses"]).contains("key.wrong_file"), "{s}");
}

#[test]
fn a_crontab_line_gets_no_profile() {
    let t = TempDir::new("proc-cron");
    let root_fs = t.path().join("root");
    let home = root_fs.join("home/u");
    let key = or_canary("CR01");
    debian_home(&home, &key);
    write(&home, "work/notes/.aider.conf.yml", "model: openrouter/anthropic/claude-sonnet-4.5\nauto-commits: false\n");
    write(
        &root_fs,
        "etc/passwd",
        format!("root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000:U,,,:{}:/bin/bash\n", home.display()),
    );
    let tab = write(&root_fs,
        "var/spool/cron/crontabs/u",
        "# m h  dom mon dow   command\nSHELL=/bin/bash\nMAILTO=\"\"\nPATH=/home/u/.local/bin:/usr/local/bin:/usr/bin:/bin\n30 2 * * * cd $HOME/work/notes && aider --yes-always --message-file todo.md >> $HOME/aider-cron.log 2>&1\n*/10 * * * * $HOME/bin/backup.sh --notes-about-aider\n",
    );
    let proc_root = fake_proc(&t.path().join("proc"), &noise());
    let envf = analysed_env(&t, Some(&key));
    let etc = root_fs.join("etc").display().to_string();
    let recs = pipeline_and_doctor(&home, &envf, &proc_root, &["--etc", &etc]);
    let s = site(&recs, "aider", "work/notes/.aider.conf.yml", "");
    let ls = s["env"]["launchers"].as_array().unwrap();
    assert_eq!(ls.len(), 1, "the backup line does not run aider: {s}");
    let l = &ls[0];
    assert_eq!(l["kind"], "cron");
    assert_eq!(l["file"], tab.display().to_string());
    assert_eq!(l["line"], 5);
    assert_eq!(l["sees"], false);
    let d = first(s);
    assert_eq!(d["code"], "key.wrong_file", "{s}");
    assert!(text(&d["fix"]).contains("crontab -e"), "{d}");
    assert!(text(&d["evidence"]).contains(&format!("{}:5", tab.display())), "{d}");

    // The crontab's own assignment: cron gives it to every line.
    std::fs::write(
        &tab,
        std::fs::read_to_string(&tab)
            .unwrap()
            .replace("MAILTO=\"\"\n", &format!("MAILTO=\"\"\nOPENROUTER_API_KEY={key}\n")),
    )
    .unwrap();
    let recs = pipeline_and_doctor(&home, &envf, &proc_root, &["--etc", &etc]);
    let s = site(&recs, "aider", "work/notes/.aider.conf.yml", "");
    let l = &s["env"]["launchers"][0];
    assert_eq!(l["sees"], true, "{l}");
    assert_eq!(l["from"]["line"], 4);
    assert!(!text(&s["diagnoses"]).contains("key.wrong_file"), "{s}");
}
