//! The redaction boundary and the terminal (issue 16, classes 3 and 6):
//! hostile fixture homes, servers and record streams put canary keys in
//! every position a key was once printed from — a shell default, `model:`,
//! `apiBase:`, a variable-name slot, `$(echo …)`, URL userinfo, `?api-key=`,
//! proxy passwords in every syntax, a JSON member name, the truncation cut,
//! Azure and `pplx-` keys in a log, capture's placeholders and forwarded
//! echoes, error messages — and every output of every binary, in every
//! format, stdout and stderr, is searched for them
//! (docs/records.md#redaction). File names and records with escape
//! sequences must reach the terminal made visible.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use util::*;

/// A key of a provider's shape: `sk-or-v1-` + `c`s + a tag (what secret
/// scanners do not take for real, like util::or_canary).
fn or_key(tag: &str) -> String {
    or_canary(tag)
}

/// A key of no provider's shape (random-looking, as Mistral's or a
/// gateway's are): only its position says it is a credential.
fn plain_key(tag: &str) -> String {
    assert_eq!(tag.len(), 4);
    format!("Zq8WmP3x{tag}K7vR2nT5yB9cL4hJ")
}

/// Does `text` hold any 12-character piece of `canary` after its first
/// `skip` characters (a known prefix such as `sk-or-v1-`, which a marker
/// shows)? A marker shows at most the last 4 characters.
fn leaks(text: &str, canary: &str, skip: usize) -> Option<String> {
    let body: Vec<char> = canary.chars().skip(skip).collect();
    let w = 12.min(body.len());
    body.windows(w).map(|c| c.iter().collect::<String>()).find(|piece| text.contains(piece.as_str()))
}

fn skip_of(canary: &str) -> usize {
    ["sk-or-v1-", "sk-ant-api03-", "pplx-", "sk-"].iter().find(|p| canary.starts_with(*p)).map_or(0, |p| p.len())
}

/// Every output must be free of every canary (all leaks are listed).
fn assert_clean(outputs: &[(String, String)], canaries: &[&str]) {
    let mut leaked = Vec::new();
    for (what, text) in outputs {
        assert!(!text.contains("panicked"), "{what} panicked:\n{text}");
        for c in canaries {
            if let Some(piece) = leaks(text, c, skip_of(c)) {
                leaked.push(format!("{what} prints the canary {c} (piece {piece:?})"));
            }
        }
    }
    assert!(leaked.is_empty(), "{} leaks:\n{}\n\n{outputs:#?}", leaked.len(), leaked.join("\n"));
}

/// Peak RSS allowed for any tool on any hostile input here (issue 16).
const MAX_RSS_KB: i64 = 64 * 1024;

/// Run a binary with `args` and `stdin`; its stdout and stderr. Its peak
/// RSS (wait4's `ru_maxrss`) stays under 64 MB.
fn run_bin(name: &str, home: &Path, args: &[&str], stdin: &[u8]) -> (String, String) {
    let mut c = cmd(name, home);
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // A tool that does not read its input closes the pipe: not a failure.
    let w = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let (out, err) = reap(child, &format!("{name} {args:?}"));
    w.join().unwrap();
    (out, err)
}

/// Read a child's stdout and stderr to their ends and reap it with wait4:
/// its peak RSS stays under [`MAX_RSS_KB`].
fn reap(mut child: Child, what: &str) -> (String, String) {
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            b
        })
    };
    let o = read(Box::new(child.stdout.take().unwrap()));
    let e = child.stderr.take().map(|e| read(Box::new(e)));
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waiting for our own child, with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    assert!(usage.ru_maxrss < MAX_RSS_KB, "{what}: peak RSS {} KB", usage.ru_maxrss);
    if std::env::var_os("KEYHOLE_SHOW_RSS").is_some() {
        eprintln!("{what}: peak RSS {} KB", usage.ru_maxrss);
    }
    let out = o.join().unwrap();
    let err = e.map(|e| e.join().unwrap()).unwrap_or_default();
    (String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

/// Every output of the pipeline and of doctor on `home`, in every format:
/// find, env, probe (with `probe_args`), classify, report (text, markdown,
/// json), doctor (text, markdown, json), each stdout and stderr.
fn every_output(home: &Path, env_file: &Path, probe_args: &[&str]) -> Vec<(String, String)> {
    let h = home.to_str().unwrap();
    let e = env_file.to_str().unwrap();
    let procs = home.join("noproc");
    let p = procs.to_str().unwrap();
    let mut outs = Vec::new();
    let mut keep = |what: &str, (o, er): (String, String)| {
        outs.push((format!("{what} stdout"), o.clone()));
        outs.push((format!("{what} stderr"), er));
        o
    };
    let found = keep("keyhole-find", run_bin("keyhole-find", home, &["--home", h], b""));
    let envd = keep(
        "keyhole-env",
        run_bin("keyhole-env", home, &["--home", h, "--env-file", e, "--proc-root", p], found.as_bytes()),
    );
    let mut pa = vec!["--home", h, "--env-file", e, "--proc-root", p];
    pa.extend_from_slice(probe_args);
    let probed = keep("keyhole-probe", run_bin("keyhole-probe", home, &pa, envd.as_bytes()));
    let classified = keep("keyhole-classify", run_bin("keyhole-classify", home, &[], probed.as_bytes()));
    for f in ["text", "markdown", "json"] {
        keep(
            &format!("keyhole-report --format {f}"),
            run_bin("keyhole-report", home, &["--home", h, "--format", f], classified.as_bytes()),
        );
    }
    let offline = probe_args.contains(&"--offline");
    let timeout: &[&str] = if offline { &["--offline"] } else { &["--timeout", "5"] };
    for f in [&["--format", "text"][..], &["--format", "markdown"], &["--json"]] {
        let mut a = vec!["doctor", "--home", h, "--env-file", e, "--proc-root", p];
        a.extend_from_slice(timeout);
        a.extend_from_slice(f);
        keep(&format!("keyhole {}", a.join(" ")), run_bin("keyhole", home, &a, b""));
    }
    outs
}

fn env_file(t: &TempDir, body: &str) -> std::path::PathBuf {
    t.write("analysed.env", format!("PATH=/usr/bin:/bin\n{body}"))
}

#[test]
fn keys_pasted_into_config_fields_never_print() {
    let t = TempDir::new("redact-config");
    let (dflt, model, base, slot, cmdk) =
        (or_key("DEF1"), or_key("MOD1"), or_key("BAS1"), or_key("SLT1"), or_key("CMD1"));
    let (user, query, pdflt) = (plain_key("USR1"), plain_key("QRY1"), plain_key("PDF1"));
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n\
             \x20 - name: default\n    provider: openrouter\n    apiKey: ${{OPENROUTER_API_KEY:-{dflt}}}\n\
             \x20 - name: plain-default\n    provider: openrouter\n    apiKey: ${{OPENROUTER_API_KEY:-{pdflt}}}\n\
             \x20 - name: pasted\n    provider: openrouter\n    model: {model}\n    apiBase: {base}\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n\
             \x20 - name: slot\n    provider: openrouter\n    apiKey: ${{{{ secrets.{slot} }}}}\n\
             \x20 - name: url\n    provider: openai\n    apiBase: https://me:{user}@api.example.com/v1?api-key={query}&x=1\n    apiKey: $(echo {cmdk})\n"
        ),
    );
    let (ocbase, ocmodel) = (or_key("OCB1"), or_key("OCM1"));
    t.write(
        ".config/opencode/opencode.json",
        format!(
            r#"{{"model":"openrouter/{ocmodel}","provider":{{"openrouter":{{"options":{{"baseURL":"https://openrouter.ai/api/v1/{ocbase}","apiKey":"{{env:OPENROUTER_API_KEY}}"}}}}}}}}"#
        ),
    );
    let (shcmd, shdflt) = (or_key("SHC1"), plain_key("SHD1"));
    t.write(
        ".bashrc",
        format!("export OPENROUTER_API_KEY=\"$(echo {shcmd})\"\nexport OPENAI_API_KEY=${{OPENAI_API_KEY:-{shdflt}}}\n"),
    );
    let e = env_file(&t, "");
    let mut outs = every_output(t.path(), &e, &["--offline"]);
    let h = t.path().to_str().unwrap();
    let vars = run_bin(
        "keyhole-env",
        t.path(),
        &["--home", h, "--env-file", e.to_str().unwrap(), "OPENROUTER_API_KEY", "OPENAI_API_KEY"],
        b"",
    );
    outs.push(("keyhole-env VAR stdout".into(), vars.0));
    outs.push(("keyhole-env VAR stderr".into(), vars.1));
    let all = [&dflt, &model, &base, &slot, &cmdk, &user, &query, &pdflt, &ocbase, &ocmodel, &shcmd, &shdflt];
    assert_clean(&outs, &all.map(String::as_str));
    // What was redacted still compares: the marker carries the key's sha8.
    let found = &outs[0].1;
    assert!(found.contains("sha8 "), "a redacted value shows as a fingerprint marker:\n{found}");
}

/// A loopback server that answers every request with what `answer` makes of
/// (path, credential that arrived); serves until the test ends.
fn server(answer: fn(&str, &str) -> (u16, &'static str, String)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (mut cred, mut len) = (String::new(), 0usize);
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap_or((&h, ""));
                    let v = v.trim();
                    match k.to_ascii_lowercase().as_str() {
                        "authorization" => cred = v.strip_prefix("Bearer ").unwrap_or(v).to_string(),
                        "x-api-key" | "api-key" => cred = v.to_string(),
                        "content-length" => len = v.parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let (status, ct, body) = answer(&path, &cred);
                let mut w = s;
                let _ = write!(
                    w,
                    "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// An API that echoes the credential it got: as a JSON member name, at the
/// 4000th character of a long text body, or in its error message.
fn echoing(path: &str, cred: &str) -> (u16, &'static str, String) {
    let json = "application/json";
    let cred_json = serde_json::to_string(cred).unwrap();
    if path.contains("/names/") {
        (401, json, format!(r#"{{"error":{{"message":"invalid key"}},"keys":{{{cred_json}:{{"valid":false}}}}}}"#))
    } else if path.contains("/cut/") {
        // The credential straddles the 4000-character cut: 16 characters before it.
        let lead = 4000 - 16;
        (401, "text/plain", format!("{}{cred} and more", "x".repeat(lead)))
    } else if path.contains("/bigcut/") {
        // Over the 1 MiB cap, with the credential at the text cut as well.
        let lead = 4000 - 16;
        (401, json, format!("{{\"e\":\"{}{cred}{}\"}}", "x".repeat(lead), "y".repeat(1024 * 1024)))
    } else {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let msg = format!("Authentication Error, Invalid proxy server token passed. Received API Key = {cred}, Key Hash (Token) ={hash}");
        (401, json, format!(r#"{{"error":{{"message":{}}}}}"#, serde_json::to_string(&msg).unwrap()))
    }
}

#[test]
fn keys_echoed_by_a_server_as_member_names_or_at_the_cut_never_print() {
    let port = server(echoing);
    let t = TempDir::new("redact-echo");
    let (names_or, names_plain, cut_plain, bigcut_plain) =
        (or_key("NAM1"), plain_key("NAM2"), plain_key("CUT1"), plain_key("CUT2"));
    let m = |name: &str, prov: &str, route: &str, key: &str| {
        format!("  - name: {name}\n    provider: {prov}\n    apiBase: http://127.0.0.1:{port}/{route}/api/v1\n    apiKey: {key}\n")
    };
    t.write(
        ".continue/config.yaml",
        format!(
            "models:\n{}{}{}{}",
            m("names-or", "openrouter", "names", &names_or),
            m("names-plain", "openai", "names", &names_plain),
            m("cut", "openai", "cut", &cut_plain),
            m("bigcut", "openai", "bigcut", &bigcut_plain),
        ),
    );
    let e = env_file(&t, "");
    let outs = every_output(t.path(), &e, &["--timeout", "5"]);
    let probe = &outs.iter().find(|(w, _)| w == "keyhole-probe stdout").unwrap().1;
    assert!(probe.contains("\"status\":401"), "the server answered:\n{probe}");
    assert_clean(&outs, &[&names_or, &names_plain, &cut_plain, &bigcut_plain]);
}

#[test]
fn proxy_credentials_in_every_syntax_never_print() {
    let port = server(echoing);
    let (_refused, dead) = refused_port();
    let t = TempDir::new("redact-proxy");
    t.write(
        ".continue/config.yaml",
        format!("models:\n  - name: p\n    provider: openrouter\n    apiBase: http://127.0.0.1:{port}/names/api/v1\n    apiKey: ${{{{ secrets.OPENROUTER_API_KEY }}}}\n"),
    );
    let (bare, slash_at, socks_pw, user_only) =
        (plain_key("PX01"), "Xk9/Pq@7Lm2Zr8Wt/a@b".to_string(), plain_key("PX03"), plain_key("PX04"));
    let mut all = Vec::new();
    for (i, proxies) in [
        // no scheme
        format!("HTTP_PROXY=me:{bare}@127.0.0.1:{dead}\n"),
        // a password with `/` and `@`, not percent-encoded
        format!("HTTP_PROXY=http://me:{slash_at}@127.0.0.1:{dead}\n"),
        format!(
            "http_proxy=http://{user_only}@127.0.0.1:{dead}\nHTTPS_PROXY=https://me:{socks_pw}@127.0.0.1:{dead}/\n"
        ),
    ]
    .iter()
    .enumerate()
    {
        let e = t.write(&format!("analysed{i}.env"), format!("PATH=/usr/bin\n{proxies}"));
        let outs = every_output(t.path(), &e, &["--timeout", "3"]);
        let probe = &outs.iter().find(|(w, _)| w == "keyhole-probe stdout").unwrap().1;
        assert!(probe.contains("\"proxy\":\"") || probe.contains("proxy"), "probed through a proxy:\n{probe}");
        all.extend(outs.into_iter().map(|(w, o)| (format!("{w} (proxies {i})"), o)));
    }
    assert_clean(&all, &[&bare, &slash_at, &socks_pw, &user_only]);
}

fn classify_log(log: &str) -> Vec<(String, String)> {
    let t = TempDir::new("redact-log");
    let f = t.write("app.log", log);
    let h = t.path().to_str().unwrap();
    let mut outs = Vec::new();
    let (json, err) = run_bin("keyhole-classify", t.path(), &["--log", f.to_str().unwrap()], b"");
    assert!(json.contains("\"type\":\"response\""), "the log lines were found:\n{json}\n{err}");
    for f in ["text", "markdown", "json"] {
        let (o, e) = run_bin("keyhole-report", t.path(), &["--home", h, "--format", f], json.as_bytes());
        outs.push((format!("report {f} stdout"), o));
        outs.push((format!("report {f} stderr"), e));
    }
    outs.push(("classify --log stdout".into(), json));
    outs.push(("classify --log stderr".into(), err));
    outs
}

#[test]
fn azure_and_pplx_keys_in_log_lines_never_print() {
    let azure = "0c1c2c3c4c5c6c7c8c9cacbcccdcec0f";
    let pplx = format!("pplx-{}PPL1", "c".repeat(44));
    let log = format!(
        "2026-01-01 10:00:00 ERROR azure api-key {azure}: 401 Missing Authentication header\n\
         2026-01-01 10:00:01 ERROR using {pplx} -> 401 User not found.\n\
         2026-01-01 10:00:02 ERROR {{\"error\":{{\"message\":\"User not found.\",\"code\":401}},\"key\":\"{azure}\",\"k2\":\"{pplx}\"}}\n"
    );
    let outs = classify_log(&log);
    assert_clean(&outs, &[azure, &pplx]);
}

fn start_capture(args: &[&str]) -> (Child, u16) {
    let t = std::env::temp_dir();
    let mut c = cmd("keyhole-capture", &t);
    c.args(["--listen", "127.0.0.1:0"]).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port = capture_port(&line);
    // The rest of stderr, read when the capture ends.
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    CAPTURE_ERR.with(|c| c.borrow_mut().push(rest));
    (child, port)
}

thread_local! {
    static CAPTURE_ERR: std::cell::RefCell<Vec<std::thread::JoinHandle<String>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn curl(args: &[&str]) {
    let o = Command::new("curl").args(["-s", "-o", "/dev/null", "--max-time", "10"]).args(args).output().unwrap();
    assert!(o.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// capture's records and stderr, and the reports made of them.
fn capture_outputs(child: Child) -> Vec<(String, String)> {
    let (out, _) = reap(child, "keyhole-capture");
    let err: String = CAPTURE_ERR.with(|c| c.borrow_mut().drain(..).map(|h| h.join().unwrap()).collect());
    let t = TempDir::new("redact-capture");
    let h = t.path().to_str().unwrap();
    let mut outs = vec![("capture stdout".to_string(), out.clone()), ("capture stderr".to_string(), err)];
    for f in ["text", "markdown", "json"] {
        let (o, e) = run_bin("keyhole-report", t.path(), &["--home", h, "--format", f], out.as_bytes());
        outs.push((format!("report {f} of capture stdout"), o));
        outs.push((format!("report {f} of capture stderr"), e));
    }
    outs
}

#[test]
fn capture_of_a_credential_with_a_substitution_fragment_never_prints() {
    let (shaped, plain, in_path) = (or_key("FRG1"), plain_key("FRG2"), or_key("PTH1"));
    let (child, port) = start_capture(&["--count", "4"]);
    let base = format!("http://127.0.0.1:{port}/api/v1/chat/completions");
    curl(&[&base, "-H", &format!("Authorization: Bearer {shaped}${{env:X}}"), "-d", "{}"]);
    curl(&[&base, "-H", &format!("Authorization: Bearer {plain}${{{{ secrets.X }}}}"), "-d", "{}"]);
    curl(&[&base, "-H", &format!("x-api-key: os.environ/X{plain}"), "-d", "{}"]);
    curl(&[&format!("http://127.0.0.1:{port}/api/v1/{in_path}/chat/completions"), "-d", "{}"]);
    let outs = capture_outputs(child);
    assert!(outs[0].1.lines().count() == 4, "four captures:\n{}", outs[0].1);
    assert_clean(&outs, &[&shaped, &plain, &in_path]);
}

#[test]
fn capture_forward_keeps_no_upstream_echo() {
    let port = server(echoing);
    let plain = plain_key("FWD1");
    let (child, cport) = start_capture(&["--count", "1", "--forward", &format!("http://127.0.0.1:{port}")]);
    curl(&[&format!("http://127.0.0.1:{cport}/v1/models"), "-H", &format!("Authorization: Bearer {plain}")]);
    let outs = capture_outputs(child);
    assert!(outs[0].1.contains("\"upstream\""), "forwarded:\n{}", outs[0].1);
    assert!(outs[0].1.contains("Invalid proxy server token"), "the upstream's message is kept:\n{}", outs[0].1);
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_clean(&outs, &[&plain, hash]);
}

#[test]
fn error_messages_and_notes_keep_no_key() {
    let t = TempDir::new("redact-errors");
    let h = t.path().to_str().unwrap();
    let (a, b, c, d) = (or_key("ERR1"), or_key("ERR2"), plain_key("ERR3"), or_key("ERR4"));
    let mut outs = Vec::new();
    let mut keep = |what: &str, (o, e): (String, String)| {
        outs.push((format!("{what} stdout"), o));
        outs.push((format!("{what} stderr"), e));
    };
    keep("classify --http", run_bin("keyhole-classify", t.path(), &["--http", &format!("/nonexistent/{a}")], b""));
    keep(
        "env --env-file",
        run_bin("keyhole-env", t.path(), &["--home", h, "--env-file", &format!("/nonexistent/{b}"), "X"], b""),
    );
    keep(
        "probe URL",
        run_bin(
            "keyhole-probe",
            t.path(),
            &["--timeout", "2", &format!("http://me:{c}@127.0.0.1:9/v1?key={c}"), "--key-env", "NOPE"],
            b"",
        ),
    );
    // A FIFO with a key in its name: find's note on stderr.
    let fifo = t.path().join(format!("{d}.env"));
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
    keep("find FIFO", run_bin("keyhole-find", t.path(), &["--home", h, fifo.to_str().unwrap()], b""));
    // A bad line piped in: the error record quotes it.
    let bad = format!("{{\"type\":\"site\",\"v\":1,\"id\":\"{a}\",\"key\":{{\"from\":\"{b}\"}}}}\n");
    let home: &[&str] = &["--home", h];
    for (tool, args) in [
        ("keyhole-env", home),
        ("keyhole-probe", &["--home", h, "--offline"][..]),
        ("keyhole-classify", &[][..]),
        ("keyhole-report", home),
    ] {
        keep(tool, run_bin(tool, t.path(), args, bad.as_bytes()));
    }
    assert!(outs.iter().any(|(w, o)| w.starts_with("find FIFO stderr") && o.contains("FIFO")), "{outs:#?}");
    assert_clean(&outs, &[&a, &b, &c, &d]);
}

/// Characters that must never reach a terminal raw: C0 and C1 controls but
/// newline and tab, DEL, bidi overrides and isolates, zero-width characters.
fn raw_terminal_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2060}' | '\u{feff}' | '\u{061c}')
}

fn assert_terminal_safe(outputs: &[(String, String)]) {
    let mut raw = Vec::new();
    for (what, text) in outputs {
        if let Some(c) = text.chars().find(|&c| raw_terminal_char(c)) {
            raw.push(format!("{what} writes {c:?} raw"));
        }
    }
    assert!(raw.is_empty(), "{}\n\n{outputs:#?}", raw.join("\n"));
}

#[test]
fn escape_sequences_from_file_names_and_records_reach_no_terminal() {
    let t = TempDir::new("redact-term");
    let h = t.path().to_str().unwrap();
    // A project directory whose name clears the screen and reverses the text.
    let dir = "proj\x1b[2J\x1b]0;owned\x07\u{202e}txt.\u{200b}";
    t.write(
        &format!("{dir}/.continue/config.yaml"),
        "models:\n  - name: a\n    provider: openrouter\n    apiKey: \"${env:OPENROUTER_API_KEY}\"\n",
    );
    // And a FIFO with such a name, for find's note on stderr.
    let fifo = t.path().join("n\x1b[31mote\u{202e}.env");
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
    let e = env_file(&t, "");
    // Every output: the human ones made visible, JSON escaped.
    let mut outs = every_output(t.path(), &e, &["--offline"]);
    let (_, note) = run_bin("keyhole-find", t.path(), &["--home", h, fifo.to_str().unwrap()], b"");
    assert!(note.contains("FIFO"), "{note}");
    outs.push(("find note".into(), note));
    // Records piped in: tool, provider, model, file, code, a bad value the
    // error record quotes, an error record's message.
    let records = [
        r#"{"type":"site","v":1,"id":"x","host":"h","tool":"t\u001b[2J\u001b]52;c;b3duZWQ=\u0007","source":{"file":"/f\u202eexe.txt","line":1},"provider":"p\u200b\u2066","model":"m\u009b31m","base_url":"http://h/\u001b[8m","base_url_from":"default","auth":{"header":"authorization","scheme":"bearer"},"key":{"from":"placeholder","text":"${env:X}\u001b[0m\u202e"},"diagnoses":[{"code":"unknown","severity":"error","summary":"s\u001b[1A","evidence":["e\u202e"],"fix":["f\u0007"]}]}"#,
        r#"{"type":"site","v":1,"id":"y","host":"h","tool":"t","source":{"file":"/f","line":1},"provider":"p","model":null,"base_url":"u","base_url_from":"default","auth":{"header":"authorization","scheme":"bearer"},"key":{"from":"x\u001b[2J\u202e"}}"#,
        r#"{"type":"error","v":1,"tool":"keyhole-x","message":"m\u001b]0;t\u0007\u202e"}"#,
        r#"{"type":"capture","v":1,"at":"now","method":"P\u001b[2JOST","path":"/p\u202e","auth":{"header":"authorization","scheme":"bearer","placeholder":"${X}\u001b[5m"},"headers":[],"user_agent":"ua\u001b[2J\u200b","diagnoses":[]}"#,
    ]
    .join("\n");
    for f in ["text", "markdown"] {
        let (o, e) =
            run_bin("keyhole-report", t.path(), &["--home", h, "--format", f, "--color", "never"], records.as_bytes());
        assert!(f == "markdown" || o.contains("could not check"), "{o}");
        outs.push((format!("piped report {f} stdout"), o));
        outs.push((format!("piped report {f} stderr"), e));
    }
    // JSON stays JSON: control characters escaped (serde), and bidi and
    // zero-width characters escaped too.
    let (json, _) = run_bin("keyhole-report", t.path(), &["--home", h, "--format", "json"], records.as_bytes());
    outs.push(("piped report json".into(), json));
    // An error message naming a file from the command line.
    let (_, err) = run_bin("keyhole-classify", t.path(), &["--http", "/nonexistent/a\x1b[2Jb\u{202e}c"], b"");
    assert!(err.contains("nonexistent"), "{err}");
    outs.push(("classify error".into(), err));
    assert_terminal_safe(&outs);
}
