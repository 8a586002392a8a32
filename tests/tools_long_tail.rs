//! The long tail (docs/tools.md#mcp-server-definitions, #n8n, #aichat):
//! keyhole-find on each fixture home in the tools' real formats asserts the
//! sites; the pipeline and `keyhole doctor` agree on one diagnosis each.

mod util;

use std::path::Path;

use serde_json::Value;
use util::*;

fn find_home(tool: &str) -> Vec<Value> {
    let home = fixtures().join("homes").join(tool);
    let mut c = cmd("keyhole-find", &home);
    c.arg("--home").arg(&home);
    let r = run(c);
    assert_no_canary("stdout", &r.stdout);
    assert_no_canary("stderr", &r.stderr);
    r.records
}

/// `find | env | classify` offline, and `keyhole doctor --offline --json`:
/// the pipeline's site records, after checking that both give every site the
/// same first diagnosis.
fn diagnosed(tool: &str) -> Vec<Value> {
    diagnosed_at(&fixtures().join("homes").join(tool))
}

fn diagnosed_at(home: &Path) -> Vec<Value> {
    let t = TempDir::new("long-tail");
    let envf = t.write("analysed.env", "SHELL=/bin/bash\nLANG=C.UTF-8\n");
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    let (h, e, p) = (home.display(), envf.display(), t.path().join("proc"));
    let pipeline = format!(
        "{} --home {h} -q | {} --home {h} -q --env-file {e} --proc-root {} | {}",
        bin("keyhole-find").display(),
        bin("keyhole-env").display(),
        p.display(),
        bin("keyhole-classify").display()
    );
    let recs = run_pipeline(&pipeline);
    let mut c = cmd("keyhole", home);
    c.arg("doctor").arg("--offline").arg("--json").arg("--home").arg(home);
    c.arg("--env-file").arg(&envf).arg("--proc-root").arg(&p);
    let doctor = run(c);
    assert_no_canary("doctor", &doctor.stdout);
    assert_eq!(firsts(&doctor.records), firsts(&recs), "keyhole doctor and the pipeline disagree");
    recs
}

fn firsts(rs: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = rs
        .iter()
        .filter(|r| r["type"] == "site")
        .map(|r| (r["id"].as_str().unwrap_or("").to_string(), first(r).0))
        .collect();
    v.sort();
    v
}

/// The first diagnosis of a site: (code, summary, first fix).
fn first(s: &Value) -> (String, String, String) {
    let d = &s["diagnoses"][0];
    let t = |v: &Value| v.as_str().unwrap_or("").to_string();
    (t(&d["code"]), t(&d["summary"]), t(&d["fix"][0]))
}

fn file_of(s: &Value, home: &Path) -> String {
    s["source"]["file"].as_str().unwrap().strip_prefix(&format!("{}/", home.display())).unwrap().to_string()
}

#[test]
fn mcp_env_blocks_are_sites_read_as_each_launching_app_expands_them() {
    let home = fixtures().join("homes/mcp");
    let recs = find_home("mcp");
    let key = |tool: &str, file: &str, frag: &str| site(&recs, tool, file, frag)["key"].clone();

    // Claude Desktop expands nothing: ${VAR} is sent as text.
    let k = key("mcp-claude-desktop", "claude_desktop_config.json", "/mcpServers/openrouter/env/OPENROUTER_API_KEY");
    assert_eq!((k["from"].as_str(), k["var"].as_str()), (Some("placeholder"), Some("OPENROUTER_API_KEY")));
    let brave =
        site(&recs, "mcp-claude-desktop", "claude_desktop_config.json", "/mcpServers/brave-search/env/BRAVE_API_KEY");
    assert_eq!(brave["key"]["from"], "literal", "a key-looking variable of a service keyhole does not catalogue");
    assert_eq!(brave["provider"], "openai-compatible");
    // Only key-looking variables: the default model and a server without env are no site.
    assert!(!recs.iter().any(|r| r["id"].as_str().unwrap().contains("OPENROUTER_DEFAULT_MODEL")));
    assert!(!recs.iter().any(|r| r["id"].as_str().unwrap().contains("filesystem")));

    // Cursor expands ${env:NAME}, not ${NAME}: home and project files.
    let k = key("mcp-cursor", ".cursor/mcp.json", "/mcpServers/perplexity-ask/env/PERPLEXITY_API_KEY");
    assert_eq!((k["from"].as_str(), k["syntax"].as_str()), (Some("env"), Some("vscode_env")));
    assert_eq!(
        site(&recs, "mcp-cursor", ".cursor/mcp.json", "/mcpServers/perplexity-ask/env/PERPLEXITY_API_KEY")["provider"],
        "perplexity"
    );
    let k = key("mcp-cursor", "agent/.cursor/mcp.json", "/mcpServers/openai-tools/env/OPENAI_API_KEY");
    assert_eq!(k["from"], "placeholder");
    assert!(k["note"].as_str().unwrap().contains("${env:NAME}"), "{k}");

    // VS Code: servers.<name>.env, ${input:…} is its secret storage, ${env:…} a variable (JSONC comments read).
    let k = key("mcp-vscode", ".vscode/mcp.json", "/servers/claude-helper/env/ANTHROPIC_API_KEY");
    assert_eq!((k["from"].as_str(), k["store"].as_str()), (Some("store"), Some("vscode_input")));
    let k = key("mcp-vscode", ".vscode/mcp.json", "/servers/openrouter/env/OPENROUTER_API_KEY");
    assert_eq!((k["from"].as_str(), k["var"].as_str()), (Some("env"), Some("OPENROUTER_API_KEY")));

    // Claude Code: .mcp.json and ~/.claude.json (user and per-project servers), ${VAR} expanded.
    let k = key("mcp-claude-code", "scraper/.mcp.json", "/mcpServers/openrouter/env/OPENROUTER_API_KEY");
    assert_eq!((k["from"].as_str(), k["syntax"].as_str()), (Some("env"), Some("dollar_brace")));
    let d = site(&recs, "mcp-claude-code", ".claude.json", "/mcpServers/deepseek/env/DEEPSEEK_API_KEY");
    assert_eq!((d["provider"].as_str(), d["key"]["from"].as_str()), (Some("deepseek"), Some("env")));
    let k = key(
        "mcp-claude-code",
        ".claude.json",
        "/projects/~1home~1u~1work~1scraper/mcpServers/openrouter/env/OPENROUTER_API_KEY",
    );
    assert_eq!(k["from"], "literal");
    assert_eq!(k["fp"]["prefix"], "sk-or-v1-");

    // Codex: [mcp_servers.<name>.env] as written; env_vars forwards by name.
    let k = key("mcp-codex", ".codex/config.toml", "/mcp_servers/search/env/BRAVE_API_KEY");
    assert_eq!(k["from"], "placeholder");
    let k = key("mcp-codex", ".codex/config.toml", "/mcp_servers/openrouter/env_vars/0");
    assert_eq!((k["from"].as_str(), k["var"].as_str()), (Some("env"), Some("OPENROUTER_API_KEY")));

    let mcp: Vec<_> = recs.iter().filter(|r| r["tool"].as_str().unwrap().starts_with("mcp-")).collect();
    assert_eq!(
        mcp.len(),
        12,
        "{:#?}",
        mcp.iter()
            .map(|r| file_of(r, &home) + "#" + r["id"].as_str().unwrap().split('#').nth(1).unwrap())
            .collect::<Vec<_>>()
    );
}

#[test]
fn an_mcp_placeholder_the_app_does_not_expand_is_diagnosed_with_the_apps_fix() {
    let recs = diagnosed("mcp");
    let s = site(
        &recs,
        "mcp-claude-desktop",
        "claude_desktop_config.json",
        "/mcpServers/openrouter/env/OPENROUTER_API_KEY",
    );
    let (code, summary, fix) = first(s);
    assert_eq!(code, "key.placeholder");
    assert!(summary.contains("${OPENROUTER_API_KEY}"), "{summary}");
    assert!(fix.contains("Claude Desktop passes the env block to the server as written"), "{fix}");
    assert!(fix.contains("mcpServers.<name>.env.OPENROUTER_API_KEY"), "{fix}");
    let s = site(&recs, "mcp-cursor", "agent/.cursor/mcp.json", "/mcpServers/openai-tools/env/OPENAI_API_KEY");
    let (code, _, fix) = first(s);
    assert_eq!(code, "key.placeholder");
    assert!(fix.contains("${env:OPENAI_API_KEY}"), "{fix}");
    // VS Code's secret storage: not verifiable, said as info.
    let s = site(&recs, "mcp-vscode", ".vscode/mcp.json", "/servers/claude-helper/env/ANTHROPIC_API_KEY");
    assert_eq!(first(s).0, "key.store");
    // The export below Debian's interactive guard never reaches a server Claude Code starts.
    let s = site(&recs, "mcp-claude-code", "scraper/.mcp.json", "/mcpServers/openrouter/env/OPENROUTER_API_KEY");
    assert_eq!(first(s).0, "key.after_guard");
}

#[test]
fn aichat_clients_read_their_key_or_the_clients_variable() {
    let recs = find_home("aichat");
    let cfg = ".config/aichat/config.yaml";
    let s = site(&recs, "aichat", cfg, "/clients/0");
    assert_eq!((s["provider"].as_str(), s["key"]["from"].as_str()), (Some("openai"), Some("literal")));
    // No api_key: aichat reads {CLIENT}_API_KEY; `model: openrouter:…` is this client's.
    let s = site(&recs, "aichat", cfg, "/clients/1");
    assert_eq!(s["provider"], "openrouter");
    assert_eq!((s["key"]["from"].as_str(), s["key"]["var"].as_str()), (Some("env"), Some("OPENROUTER_API_KEY")));
    assert_eq!(s["model"], "anthropic/claude-sonnet-4.5");
    // An openai-compatible client named for a catalogued provider is that provider.
    let s = site(&recs, "aichat", cfg, "/clients/2");
    assert_eq!(s["provider"], "deepseek");
    // A local llama.cpp server: its own provider entry, any token is fine.
    let s = site(&recs, "aichat", cfg, "/clients/3");
    assert_eq!((s["provider"].as_str(), s["base_url"].as_str()), (Some("llamacpp"), Some("http://localhost:8080/v1")));

    let recs = diagnosed("aichat");
    let (code, summary, _) = first(site(&recs, "aichat", cfg, "/clients/2"));
    assert_eq!(code, "key.placeholder", "the example's sk-xxx left in place");
    assert!(summary.contains("template"), "{summary}");
    // A token to a local server is no error: said once, as info.
    let ds = &site(&recs, "aichat", cfg, "/clients/3")["diagnoses"];
    assert_eq!(ds.as_array().map(Vec::len), Some(1), "{ds}");
    assert_eq!((ds[0]["code"].as_str(), ds[0]["severity"].as_str()), (Some("auth.not_needed"), Some("info")));
    assert!(ds[0]["summary"].as_str().unwrap().contains("harmless"), "{ds}");
}

#[test]
fn n8n_says_which_encrypted_credentials_it_cannot_read() {
    let recs = find_home("n8n");
    let ids: Vec<&str> = recs.iter().map(|r| r["id"].as_str().unwrap().split('#').nth(1).unwrap()).collect();
    assert_eq!(
        ids,
        ["/credentials_entity/OpenAi account", "/credentials_entity/OpenRouter account"],
        "Slack is no AI credential"
    );
    let s = site(&recs, "n8n", ".n8n", "/credentials_entity/OpenRouter account");
    assert_eq!((s["provider"].as_str(), s["key"]["from"].as_str()), (Some("openrouter"), Some("store")));
    let note = s["key"]["note"].as_str().unwrap();
    assert!(note.contains("(openRouterApi), last updated 2026-03-14") && note.contains("keyhole-capture"), "{note}");

    let recs = diagnosed("n8n");
    let (code, summary, fix) = first(site(&recs, "n8n", ".n8n", "/credentials_entity/OpenRouter account"));
    assert_eq!(code, "key.store");
    assert!(summary.contains("n8n's encrypted credentials"), "{summary}");
    assert!(fix.contains("keyhole-capture"), "{fix}");
}

#[test]
fn n8n_without_a_database_still_says_what_it_cannot_see() {
    let t = TempDir::new("n8n-empty");
    t.write(".n8n/config", "{\n\t\"encryptionKey\": \"abc\"\n}\n");
    let mut c = cmd("keyhole-find", t.path());
    c.arg("--home").arg(t.path());
    let r = run(c);
    assert_eq!(r.records.len(), 1, "{}", r.stdout);
    let note = r.records[0]["key"]["note"].as_str().unwrap();
    assert!(note.starts_with("n8n keeps its credentials encrypted: no database.sqlite here"), "{note}");
}

#[test]
fn base_urls_that_are_not_api_roots_are_told_before_any_request_with_the_corrected_url() {
    let t = TempDir::new("bad-bases");
    let c = CANARY_RUN;
    let client = |name: &str, base: &str, key: &str| {
        format!("  - type: openai-compatible\n    name: {name}\n    api_base: {base}\n    api_key: {key}\n")
    };
    let mut cfg = String::from("model: openrouter:openai/gpt-4o-mini\nsave: true\nclients:\n");
    cfg += &client("openrouter", "https://openrouter.ai/v1", &or_canary("BB01"));
    cfg += &client("groq", "https://api.groq.com/v1/chat/completions", &format!("gsk_{c}WGdyb3FYQm2Lp9Xz1Rt0Vb"));
    cfg += &client("openai", "https://api.openai.com/v1/v1", &format!("sk-proj-{c}BB03"));
    cfg += &client("nohost", "openrouter.ai/api/v1", &or_canary("BB04"));
    cfg += &client("vllm", "http://0.0.0.0:8000/v1", "EMPTY");
    // A second client configured correctly: no finding.
    cfg += &client("good", "https://openrouter.ai/api/v1/", &or_canary("BB06"));
    t.write(".config/aichat/config.yaml", cfg);
    t.write(".bashrc", "# ~/.bashrc\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\nHISTCONTROL=ignoreboth\n");
    let recs = diagnosed_at(t.path());
    let cfg = ".config/aichat/config.yaml";
    for (i, fixed, what) in [
        (0, "https://openrouter.ai/api/v1", "it lacks /api"),
        (1, "https://api.groq.com/openai/v1", "endpoint path /chat/completions"),
        (2, "https://api.openai.com/v1", "doubles /v1"),
        (3, "https://openrouter.ai/api/v1", "no scheme"),
        (4, "http://127.0.0.1:8000/v1", "0.0.0.0 is the address a server listens on"),
    ] {
        let s = site(&recs, "aichat", cfg, &format!("/clients/{i}"));
        let (code, summary, fix) = first(s);
        assert_eq!(code, "url.bad_base", "{}: {summary}", s["id"]);
        assert!(summary.contains(what), "{summary}");
        assert_eq!(fix, format!("set the base URL to {fixed}"));
    }
    assert!(site(&recs, "aichat", cfg, "/clients/5")["diagnoses"][0].is_null(), "an API root with a trailing slash");
}

/// `keyhole-classify --http` on raw responses: the first diagnosis's (rule, code) each.
fn classify_http(bodies: &[(u16, &str)]) -> Vec<(String, String, String)> {
    let t = TempDir::new("long-tail-http");
    let mut raw = String::new();
    for (status, body) in bodies {
        raw.push_str(&format!("HTTP/1.1 {status} \r\ncontent-type: application/json\r\n\r\n{body}\r\n"));
    }
    let (out, _) = spawn("keyhole-classify", t.path(), &["--http".to_string()], raw.as_bytes());
    let t = |v: &Value| v.as_str().unwrap_or("").to_string();
    records(&out)
        .iter()
        .map(|r| (t(&r["diagnoses"][0]["rule"]), t(&r["diagnoses"][0]["code"]), t(&r["diagnoses"][0]["fix"][0])))
        .collect()
}

#[test]
fn openai_route_errors_and_openrouters_max_tokens_reservation() {
    let afford = |n: u32, page: &str| {
        format!(
            r#"{{"error":{{"message":"This request requires more credits, or fewer max_tokens. You requested up to 65536 tokens, but can only afford {n}. To increase, visit https://openrouter.ai/settings/{page}","code":402}}}}"#
        )
    };
    let (reserve, nothing, key_cap) = (afford(18340, "credits"), afford(0, "credits"), afford(0, "keys"));
    let got = classify_http(&[
        (
            404,
            r#"{"error":{"message":"Invalid URL (POST /v1/v1/chat/completions)","type":"invalid_request_error","param":null,"code":null}}"#,
        ),
        (
            404,
            r#"{"error":{"message":"This model is only supported in v1/responses and not in v1/chat/completions.","type":"invalid_request_error","param":"model","code":null}}"#,
        ),
        (402, &reserve),
        (402, &nothing),
        (402, &key_cap),
        // A near miss: a URL in a message is no route error.
        (
            400,
            r#"{"error":{"message":"Invalid 'messages[0].content': expected a string, got a URL (https://x.example)","type":"invalid_request_error","param":null,"code":null}}"#,
        ),
    ]);
    assert_eq!((got[0].0.as_str(), got[0].1.as_str()), ("openai.invalid-url", "url.bad_base"));
    assert_eq!((got[1].0.as_str(), got[1].1.as_str()), ("openai.responses-only", "model.not_found"));
    assert_eq!(got[2].0, "openrouter.afford-max-tokens");
    assert!(
        got[2].2.starts_with("set max_tokens") && got[2].2.contains("buying credits is not needed"),
        "{}",
        got[2].2
    );
    assert_eq!(got[3].0, "openrouter.credits", "nothing affordable: credits are the fix");
    assert_eq!(got[4].1, "limit.key_limit");
    assert_ne!(got[5].1, "url.bad_base");
}

/// The catalogue's names as `keyhole-find --help`, its man page and the
/// README list them (keyhole_find::catalogue_names).
fn catalogue_names() -> String {
    use keyhole_core::{provider::PROVIDERS, tool::TOOLS};
    let tools: Vec<&str> = TOOLS.iter().map(|t| t.display).collect();
    let providers: Vec<&str> = PROVIDERS.iter().map(|p| p.display).collect();
    format!(
        "Tools catalogued ({}): {}.\nProviders catalogued ({}): {}.",
        tools.len(),
        tools.join(", "),
        providers.len(),
        providers.join(", ")
    )
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn readme_list_tools_and_the_man_page_name_the_catalogue() {
    use keyhole_core::{provider::PROVIDERS, tool::TOOLS};
    let want = catalogue_names();
    // The README's list, between its markers.
    let readme_path = root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (open, close) = ("<!-- catalogue -->\n", "<!-- /catalogue -->");
    let start = readme.find(open).expect("README has the catalogue markers") + open.len();
    let end = readme[start..].find(close).expect("README closes the catalogue markers") + start;
    if std::env::var_os("KEYHOLE_BLESS").is_some() {
        let blessed = format!("{}{}\n{}", &readme[..start], want, &readme[end..]);
        std::fs::write(&readme_path, blessed).unwrap();
    } else {
        assert_eq!(
            readme[start..end].trim(),
            want,
            "README.md's catalogue list drifted: rerun with KEYHOLE_BLESS=1, and `make man`"
        );
    }
    // keyhole-find --list-tools: every tool and every provider, in catalogue order.
    let t = TempDir::new("list-tools");
    let text = |arg: &str| {
        let out = cmd("keyhole-find", t.path()).arg(arg).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let out = text("--list-tools");
    let (tools, providers) = out.split_once("\nproviders:\n").unwrap();
    let first = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
    let listed: Vec<String> = tools.lines().filter(|l| !l.starts_with(' ') && !l.is_empty()).map(first).collect();
    assert_eq!(listed, TOOLS.iter().map(|t| t.name.to_string()).collect::<Vec<_>>());
    let listed: Vec<String> = providers.lines().filter(|l| !l.is_empty()).map(first).collect();
    assert_eq!(listed, PROVIDERS.iter().map(|p| p.name.to_string()).collect::<Vec<_>>());
    // --help, and the committed man page (roff: `\-` is `-`).
    assert!(squash(&text("--help")).contains(&squash(&want)), "keyhole-find --help names the catalogue");
    let man = std::fs::read_to_string(root().join("man/keyhole-find.1")).unwrap().replace("\\-", "-");
    assert!(squash(&man).contains(&squash(&want)), "man/keyhole-find.1 is behind the catalogue: run `make man`");
    eprintln!("catalogue: {} tools, {} providers", TOOLS.len(), PROVIDERS.len());
}
