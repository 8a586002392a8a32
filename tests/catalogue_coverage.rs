//! Every catalogue entry is covered (docs/catalogue.md#coverage): each tool
//! `keyhole-find --list-tools` lists has a fixture home in its real formats
//! on which the pipeline, probing the imitation, finds that tool's sites and
//! diagnoses one; each provider, imitated at its own base path with one of
//! its own catalogued error bodies, gets a site of its own through
//! `keyhole-find | keyhole-env | keyhole-probe | keyhole-classify`, and the
//! diagnosis comes from that provider's rule. A new entry without either
//! fails here, by name.

mod util;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use keyhole_core::provider::{AuthHeader, ErrorBody, Meaning, Provider, PROVIDERS};
use keyhole_core::tool::TOOLS;
use serde_json::Value;
use util::imitation::{read_request, Imitation, Seen};
use util::*;

/// The fixture home of a tool: `homes/<name>`, or the family's home for a
/// tool named `<family>-<app>` (the five MCP launchers share `homes/mcp`).
fn home_of(tool: &str) -> Option<PathBuf> {
    let homes = fixtures().join("homes");
    [tool, tool.split('-').next().unwrap_or(tool)].iter().map(|n| homes.join(n)).find(|p| p.is_dir())
}

/// The analysed environment: the user's shell, and proxies that refuse, so
/// that a site whose config names a real host gets a deterministic error and
/// nothing leaves the machine (the imitation on 127.0.0.1 is reached directly).
fn analysed_env(t: &TempDir, refused: u16) -> PathBuf {
    t.write(
        "analysed.env",
        format!(
            "SHELL=/bin/bash\nLANG=C.UTF-8\nHTTPS_PROXY=http://127.0.0.1:{refused}\nHTTP_PROXY=http://127.0.0.1:{refused}\nNO_PROXY=127.0.0.1\n"
        ),
    )
}

fn codes(r: &Value) -> Vec<String> {
    r["diagnoses"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str().map(str::to_string)).collect()
}

#[test]
fn every_tool_has_a_fixture_home_where_its_sites_are_found_and_diagnosed() {
    let imi = Imitation::start(&or_canary("GOOD"), None);
    let (_refusing, refused) = refused_port();
    let t = TempDir::new("coverage-tools");
    let envf = analysed_env(&t, refused);
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    let b = imi.base();
    let urls = format!("--provider-url openrouter={b}/api/v1 --provider-url openai={b}/openai/v1 --provider-url anthropic={b}/anthropic/v1");
    let mut gaps = Vec::new();
    let mut by_home: std::collections::HashMap<PathBuf, Vec<Value>> = Default::default();
    for tool in TOOLS {
        let Some(home) = home_of(tool.name) else {
            gaps.push(format!("{}: no fixture home under tests/fixtures/homes/", tool.name));
            continue;
        };
        let recs = by_home.entry(home.clone()).or_insert_with(|| {
            let (h, e) = (home.display(), envf.display());
            let cmd = format!(
                "{} --home {h} -q | {} --home {h} -q --env-file {e} --proc-root {p} | {} --home {h} --env-file {e} --proc-root {p} --timeout 3 {urls} | {}",
                bin("keyhole-find").display(),
                bin("keyhole-env").display(),
                bin("keyhole-probe").display(),
                bin("keyhole-classify").display(),
                p = t.path().join("proc").display(),
            );
            run_pipeline(&cmd)
        });
        let sites: Vec<&Value> = recs.iter().filter(|r| r["type"] == "site" && r["tool"] == tool.name).collect();
        if sites.is_empty() {
            gaps.push(format!("{}: its home {} holds no site of it", tool.name, home.display()));
        } else if !sites.iter().any(|s| !codes(s).is_empty()) {
            gaps.push(format!("{}: none of its {} sites is diagnosed", tool.name, sites.len()));
        }
    }
    assert!(gaps.is_empty(), "tools without coverage:\n{}", gaps.join("\n"));
    eprintln!("{} tools covered by {} fixture homes", TOOLS.len(), by_home.len());
}

// ---------- providers ----------

/// A canary key of the provider's shape: its first prefix, then `c`s (the
/// run every test output is checked for) ending in `01` and whatever every
/// key of it ends with.
fn canary_for(p: &Provider) -> String {
    let prefix = p.key_prefixes.first().copied().unwrap_or("");
    let (len, ends) = match (p.key_body, p.key_len) {
        (Some(b), _) => (b.lens[0], b.ends),
        (None, Some(n)) => (n - prefix.len(), ""),
        (None, None) => (44, ""),
    };
    format!("{prefix}{}01{ends}", "c".repeat(len - 2 - ends.len()))
}

/// The provider's own answer to a well-formed key it does not know.
fn own_answer(p: &Provider) -> Option<&'static ErrorBody> {
    [Meaning::InvalidKey, Meaning::NotAKey, Meaning::Refused].iter().find_map(|m| p.answer(*m))
}

/// A loopback server that answers every request with one status and body,
/// and remembers what arrived.
struct OneAnswer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl OneAnswer {
    fn start(status: u16, body: String) -> OneAnswer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let Some((s, _, _)) = read_request(&mut r) else { continue };
                s2.lock().unwrap().push(s);
                let ct = if body.trim_start().starts_with('<') { "text/html" } else { "application/json" };
                let mut c = conn;
                let _ = c.write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        OneAnswer { port, seen }
    }
}

/// The path of a URL (`/openai/v1` of `https://api.groq.com/openai/v1`).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/').map(|i| rest[i..].trim_end_matches('/')).unwrap_or("")
}

/// A Debian home whose project holds one site of provider `p`, with the
/// noise every fixture has: the interactive guard, a template .env, and a
/// second tool configured correctly.
fn provider_home(t: &TempDir, p: &Provider, key: &str, base: &str) {
    t.write(
        ".bashrc",
        "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# If not running interactively, don't do anything\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\n\nHISTCONTROL=ignoreboth\nalias ll='ls -alF'\n",
    );
    t.write("app/.env.example", "# copy to .env\nOPENROUTER_API_KEY=your-api-key-here\n");
    t.write("notes/.aider.conf.yml", "# aider\nmodel: openrouter/anthropic/claude-sonnet-4.5\n");
    match p.key_vars.first() {
        // The provider's own variable in the project's .env.
        Some(var) => {
            t.write("app/.env", format!("# {}\n{var}={key}\nLOG_LEVEL=info\n", p.display));
        }
        // No variable of its own (local servers, any OpenAI-compatible
        // endpoint): an aichat client named for it, at its URL.
        None => {
            t.write(
                ".config/aichat/config.yaml",
                format!(
                    "model: {n}:m\nclients:\n  - type: openai-compatible\n    name: {n}\n    api_base: {base}\n    api_key: {key}\n",
                    n = p.name
                ),
            );
        }
    }
}

/// Providers with no error body of their own catalogued, and why: for
/// these keyhole can only quote what the server said (`unknown`, with its
/// message). An entry here whose provider gains a body fails the test.
const NO_BODY_KNOWN: &[(&str, &str)] = &[
    ("cerebras", "no refusal body of api.cerebras.ai is public: only clients' own wrappers of it"),
    ("fireworks", "its docs name the status (401 Unauthorized), no public report quotes the body"),
    ("openai-compatible", "any server keyhole does not know by name: its words are its own"),
];

#[test]
fn every_provider_is_diagnosed_from_its_own_error_body() {
    let (_refusing, refused) = refused_port();
    let mut gaps = Vec::new();
    let mut covered = Vec::new();
    for p in PROVIDERS {
        let local = p.auth_header == AuthHeader::None;
        let answer = own_answer(p);
        let unknown = NO_BODY_KNOWN.iter().find(|(n, _)| *n == p.name);
        match (answer, unknown) {
            (Some(_), Some(_)) => gaps.push(format!("{}: has a body now: take it off NO_BODY_KNOWN", p.name)),
            (None, None) if !local => {
                gaps.push(format!("{}: no error body of its own in crates/core/src/provider/", p.name));
                continue;
            }
            _ => {}
        }
        // A server without authentication lists its models; one whose words keyhole
        // does not know answers in words of its own; any other with its own body.
        const THEIRS: &str = "key rejected by this server (its own words)";
        let srv = match answer {
            _ if local => OneAnswer::start(200, r#"{"object":"list","data":[{"id":"m","object":"model"}]}"#.into()),
            Some(a) => OneAnswer::start(a.status, a.render(&"*".repeat(8))),
            None => OneAnswer::start(401, format!(r#"{{"error":{{"message":"{THEIRS}"}}}}"#)),
        };
        // The provider's real base path on the imitation (its API root when it has no default URL).
        let base = format!("http://127.0.0.1:{}{}", srv.port, url_path(p.base_url));
        let t = TempDir::new(&format!("coverage-{}", p.name));
        let envf = analysed_env(&t, refused);
        std::fs::create_dir_all(t.path().join("proc")).unwrap();
        // A key-shaped text even for a server that needs none (what tools send anyway).
        let key = if local { format!("sk-{}01", "c".repeat(44)) } else { canary_for(p) };
        provider_home(&t, p, &key, &base);
        // No free key check: the one-token completion is the probe.
        let completion = if p.check.is_none() { " --completion" } else { "" };
        let recs = run_pipeline(&pipeline_command(
            t.path(),
            &envf,
            "",
            Some(&format!("--provider-url {}={base}{completion}", p.name)),
        ));
        let mine = |r: &&Value| {
            r["type"] == "site"
                && r["provider"] == p.name
                && ["dotenv", "aichat"].contains(&r["tool"].as_str().unwrap_or(""))
        };
        let Some(s) = recs.iter().find(mine) else {
            let ids: Vec<_> = recs.iter().map(|r| format!("{} {}", r["id"], r["provider"])).collect();
            gaps.push(format!("{}: no site of it was found in its home: {ids:?}", p.name));
            continue;
        };
        // The request that carried this site's key (a template's placeholder may be probed too).
        let seen = srv.seen.lock().unwrap().clone();
        let carried = |r: &&Seen| local || r.headers.iter().any(|(_, v)| v.ends_with(&key));
        let Some(req) = seen.iter().find(carried) else {
            gaps.push(format!("{}: its key did not reach its imitation: {}", p.name, s["probe"]));
            continue;
        };
        let want = match p.check {
            Some(c) if c.path.starts_with('/') => c.path.to_string(),
            Some(c) => format!("{}/{}", url_path(p.base_url), c.path),
            None => format!("{}/{}", url_path(p.base_url), p.completion_path),
        };
        if !req.route().starts_with(&want) {
            gaps.push(format!("{}: the probe went to {}, not {want}", p.name, req.route()));
        }
        if !local && !req.header(p.auth_header.as_str()).is_some_and(|v| v.ends_with(&key)) {
            gaps.push(format!("{}: the key did not arrive in {}", p.name, p.auth_header.as_str()));
        }
        let d = &s["diagnoses"][0];
        let (rule, code) = (d["rule"].as_str().unwrap_or(""), d["code"].as_str().unwrap_or(""));
        let summary = d["summary"].as_str().unwrap_or("");
        let ok = match answer {
            // A local server's models list is a 200 (`ok`); the key sent anyway is said to be harmless.
            _ if local => code == "ok" && codes(s).iter().any(|c| c == "auth.not_needed"),
            Some(_) => rule.starts_with(&format!("{}.", p.name)) && code != "unknown",
            None => code == "unknown" && summary.contains(THEIRS),
        };
        let body = answer.map(|a| a.id).unwrap_or(if local { "models list" } else { "a body of its own words" });
        if ok {
            covered.push(format!("{:<18} {body:<28} → {code} {rule}", p.name));
        } else {
            gaps.push(format!("{}: its answer ({body}) is diagnosed {code} by rule {rule:?}: {summary}", p.name));
        }
    }
    eprintln!("{}", covered.join("\n"));
    assert!(gaps.is_empty(), "providers without coverage:\n{}", gaps.join("\n"));
}
