//! Editors (docs/tools.md#cursor, #windsurf, #github-copilot-byok,
//! #vs-code-secretstorage, #zed): what their `state.vscdb` says, read with
//! SQLite read-only and immutable — the database's bytes and mtime never
//! change, no journal or WAL file appears, no canary is ever printed.

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use util::*;

/// A copy of a fixture home (the test may not touch the committed one).
fn home_copy(name: &str) -> TempDir {
    let t = TempDir::new(name);
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", fixtures().join("homes").join(name).display()))
        .arg(t.path())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    t
}

/// Every file under `dir` with its bytes and mtime.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap(), md.modified().unwrap()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `keyhole doctor --offline` on `home`: its JSON records and its text,
/// with the home's files unchanged and no canary in any output.
fn doctor(home: &Path) -> (Vec<Value>, String) {
    let before = snapshot(home);
    let json = run({
        let mut c = cmd("keyhole", home);
        c.args(["doctor", "--offline", "--json", "--home"]).arg(home);
        c
    });
    let text = cmd("keyhole", home).args(["doctor", "--offline", "--home"]).arg(home).output().unwrap();
    let (text, text_err) =
        (String::from_utf8(text.stdout).unwrap(), String::from_utf8_lossy(&text.stderr).into_owned());
    for (what, out) in
        [("json", &json.stdout), ("json stderr", &json.stderr), ("text", &text), ("text stderr", &text_err)]
    {
        assert_no_canary(what, out);
        assert!(!out.contains("sk-ws-01-c"), "{what} prints the Windsurf login:\n{out}");
    }
    let after = snapshot(home);
    assert_eq!(
        before.iter().map(|f| &f.0).collect::<Vec<_>>(),
        after.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "no file appears (no -journal, -wal or -shm)"
    );
    assert!(before == after, "the database's bytes and mtime are unchanged");
    (json.records, text)
}

fn first_code(site: &Value) -> &str {
    site["diagnoses"][0]["code"].as_str().unwrap_or_else(|| panic!("no diagnosis: {site}"))
}

#[test]
fn cursor_openai_key_in_state_vscdb_is_a_literal_read_there() {
    let home = home_copy("cursor");
    let (records, text) = doctor(home.path());
    let s = site(&records, "cursor", "Cursor/User/globalStorage", "cursorAuth/openAIKey");
    assert_eq!(s["key"]["from"], "literal");
    assert_eq!(s["key"]["fp"]["last4"], "cur1");
    assert_eq!(s["provider"], "openai", "no base-URL override: Cursor sends it to OpenAI");
    // An OpenRouter key in the OpenAI field, without the override: the root cause.
    assert_eq!(first_code(s), "key.wrong_provider", "{s}");
    // The encrypted Google key: said to exist, its switch off.
    let g = site(&records, "cursor", "Cursor/User/globalStorage", "cursorAuth/googleKey");
    assert_eq!((g["key"]["from"].as_str(), g["provider"].as_str()), (Some("store"), Some("gemini")));
    let note = g["key"]["note"].as_str().unwrap();
    assert!(note.contains("state.vscdb last written 2") && note.contains("useGoogleKey) is off"), "{note}");
    assert!(text.contains("Cursor has a Google Gemini key stored"), "{text}");
}

#[test]
fn cursor_base_url_override_is_the_site_base() {
    let home = home_copy("cursor");
    let db = home.path().join(".config/Cursor/User/globalStorage/state.vscdb");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "UPDATE ItemTable SET value = ?1 WHERE key = ?2",
        [
            r#"{"useOpenAIKey":true,"openAIBaseUrl":"https://openrouter.ai/api/v1"}"#,
            "src.vs.platform.reactivestorage.browser.reactiveStorageServiceImpl.persistentStorage.applicationUser",
        ],
    )
    .unwrap();
    drop(c);
    let (records, _) = doctor(home.path());
    let s = site(&records, "cursor", "Cursor/User/globalStorage", "cursorAuth/openAIKey");
    assert_eq!(
        (s["provider"].as_str(), s["base_url"].as_str()),
        (Some("openrouter"), Some("https://openrouter.ai/api/v1"))
    );
    assert!(s["diagnoses"].as_array().is_none_or(|d| d.iter().all(|d| d["code"] != "key.wrong_provider")), "{s}");
}

#[test]
fn cline_secret_in_cursor_says_what_is_stored() {
    let home = home_copy("cursor");
    let (records, text) = doctor(home.path());
    let s = site(&records, "cline", "saoudrizwan.claude-dev", "/openRouterApiKey");
    assert_eq!(
        (s["key"]["store"].as_str(), s["provider"].as_str()),
        (Some("vscode-secretstorage"), Some("openrouter"))
    );
    assert_eq!(first_code(s), "key.store");
    assert!(
        text.contains("Cline has an OpenRouter key stored in Cursor's SecretStorage (state.vscdb last written 2"),
        "{text}"
    );
}

#[test]
fn roo_profiles_in_windsurf_and_no_site_for_the_windsurf_login() {
    let home = home_copy("windsurf");
    let (records, text) = doctor(home.path());
    let s = site(&records, "roo", "rooveterinaryinc.roo-cline", "/roo_cline_config_api_config");
    assert_eq!(first_code(s), "key.store");
    assert!(
        text.contains("Roo Code has its provider profiles, keys included, stored in Windsurf's SecretStorage"),
        "{text}"
    );
    assert!(!records.iter().any(|r| r["tool"] == "windsurf"), "the Windsurf login is no provider key: no site");
}

#[test]
fn kilo_legacy_secret_in_vscode() {
    let home = home_copy("copilot");
    let (records, text) = doctor(home.path());
    let s = site(&records, "kilo", "kilocode.kilo-code", "/kilo_code_config_api_config");
    assert_eq!(first_code(s), "key.store");
    assert!(
        text.contains("Kilo Code has its provider profiles, keys included, stored in VS Code's SecretStorage"),
        "{text}"
    );
}

/// A remote machine's `.vscode-server`, its database written by the test:
/// Cline's Anthropic key; another extension's secret is not Cline's.
#[test]
fn cline_on_a_remote_vscode_server() {
    let home = TempDir::new("vscode-server");
    let gs = home.path().join(".vscode-server/data/User/globalStorage");
    std::fs::create_dir_all(gs.join("saoudrizwan.claude-dev")).unwrap();
    home.write(".bashrc", std::fs::read(fixtures().join("homes/crush/.bashrc")).unwrap());
    let c = rusqlite::Connection::open(gs.join("state.vscdb")).unwrap();
    c.execute_batch(
        r#"CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
           INSERT INTO ItemTable VALUES ('secret://{"extensionId":"saoudrizwan.claude-dev","key":"apiKey"}', X'763131aabbccdd');
           INSERT INTO ItemTable VALUES ('secret://{"extensionId":"saoudrizwan.claude-dev","key":"clineAccountId"}', X'763131aabbccdd');
           INSERT INTO ItemTable VALUES ('secret://{"extensionId":"ms-python.python","key":"apiKey"}', X'763131aabbccdd');"#,
    )
    .unwrap();
    drop(c);
    let (records, text) = doctor(home.path());
    let cline: Vec<&Value> = records.iter().filter(|r| r["tool"] == "cline").collect();
    assert_eq!(cline.len(), 1, "one key secret, the account id is none: {cline:#?}");
    assert_eq!(cline[0]["provider"], "anthropic");
    assert!(text.contains("Cline has an Anthropic key stored in VS Code (remote)'s SecretStorage"), "{text}");
}

/// A `state.vscdb` that is no database: the marker's old word, no error.
#[test]
fn a_state_vscdb_that_is_no_database_is_no_error() {
    let home = home_copy("cursor");
    home.write(".config/Cursor/User/globalStorage/state.vscdb", "not sqlite at all\n");
    let (records, _) = doctor(home.path());
    assert!(!records.iter().any(|r| r["tool"] == "cursor"));
    let s = site(&records, "cline", "saoudrizwan.claude-dev", "");
    assert_eq!(s["key"]["store"], "vscode-secretstorage");
}

#[test]
fn copilot_byok_keys_and_endpoints() {
    let home = home_copy("copilot");
    let (records, text) = doctor(home.path());
    let s = site(&records, "copilot", "github.copilot-chat", "/copilot-byok-OpenRouter-api-key");
    assert_eq!(
        (s["provider"].as_str(), s["key"]["store"].as_str()),
        (Some("openrouter"), Some("vscode-secretstorage"))
    );
    assert_eq!(first_code(s), "key.store");
    assert!(text.contains("GitHub Copilot Chat has an OpenRouter key stored in VS Code's SecretStorage"), "{text}");
    // settings.json: the Ollama endpoint needs no key; a custom model's key is in SecretStorage.
    let o = site(&records, "copilot", "User/settings.json", "/github.copilot.chat.byok.ollamaEndpoint");
    assert_eq!((o["provider"].as_str(), o["key"]["from"].as_str()), (Some("ollama"), Some("none")));
    assert_eq!(o["base_url"], "http://127.0.0.1:11434");
    assert!(o["diagnoses"].as_array().is_none_or(|d| d.iter().all(|d| d["severity"] != "error")), "{o}");
    let d = site(&records, "copilot", "User/settings.json", "/github.copilot.chat.customOAIModels/deepseek-chat");
    assert_eq!((d["provider"].as_str(), d["model"].as_str()), (Some("deepseek"), Some("deepseek-chat")));
    assert_eq!(first_code(d), "key.store");
}

/// Zed reads its key from the keychain or the variable, never from
/// settings.json: a key written there is `key.ignored`, the root cause.
#[test]
fn zed_api_key_in_settings_is_ignored() {
    let home = TempDir::new("zed-api-key");
    home.write(".bashrc", std::fs::read(fixtures().join("homes/crush/.bashrc")).unwrap());
    home.write(
        ".config/zed/settings.json",
        format!(
            r#"// Zed settings
{{
  "theme": "One Dark",
  "buffer_font_size": 15,
  "language_models": {{
    "open_router": {{
      "api_url": "https://openrouter.ai/api/v1",
      "api_key": "{}",
    }},
  }},
}}
"#,
            or_canary("zed1")
        ),
    );
    let (records, text) = doctor(home.path());
    let s = site(&records, "zed", ".config/zed/settings.json", "/language_models/open_router");
    assert_eq!(s["key"]["from"], "env", "Zed takes OPENROUTER_API_KEY or the keychain");
    assert_eq!(s["key"]["ignored"]["line"], 8);
    assert_eq!(s["key"]["ignored"]["fp"]["last4"], "zed1");
    assert_eq!(first_code(s), "key.ignored", "{s}");
    assert!(text.contains("Zed does not read the key written at") && text.contains("Agent Panel"), "{text}");
}

/// A remote server's database without the extension's secrets (the editor
/// on the user's own computer can keep them): the storage directory still
/// says the keys are in SecretStorage.
#[test]
fn a_remote_server_without_the_secrets_keeps_the_store_site() {
    let home = TempDir::new("cursor-server");
    let gs = home.path().join(".cursor-server/data/User/globalStorage");
    std::fs::create_dir_all(gs.join("saoudrizwan.claude-dev")).unwrap();
    let c = rusqlite::Connection::open(gs.join("state.vscdb")).unwrap();
    c.execute_batch(
        "CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
         INSERT INTO ItemTable VALUES ('workbench.explorer.views.state.hidden', '[]');",
    )
    .unwrap();
    drop(c);
    let (records, _) = doctor(home.path());
    let s = site(&records, "cline", ".cursor-server/data/User/globalStorage/saoudrizwan.claude-dev", "");
    assert_eq!((s["key"]["store"].as_str(), first_code(s)), (Some("vscode-secretstorage"), "key.store"));
}
