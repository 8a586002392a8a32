//! Cursor: the "OpenAI API Key" (and Anthropic, Google) of its Models
//! settings and the "Override OpenAI Base URL", kept in
//! `globalStorage/state.vscdb`, not in `settings.json`. docs/tools.md#cursor.

use super::*;

pub static TOOL: Tool = Tool {
    name: "cursor",
    display: "Cursor",
    home_files: &[FileRule { pattern: ".config/Cursor/User/globalStorage", kind: FileKind::Marker }],
    other_os: &[
        "~/Library/Application Support/Cursor/User/globalStorage/state.vscdb",
        "%APPDATA%\\Cursor\\User\\globalStorage\\state.vscdb",
    ],
    // Cursor's chat sends these keys from its own servers, never from this
    // machine's environment: no variable is read.
    process_family: &["cursor"],
    fixes: Fixes {
        placeholder: &[],
        no_key: &["enter the key in Cursor Settings → Models → API Keys, and turn its switch on"],
        header: &[],
    },
    extract,
    ..BASE
};

/// The settings blob that holds the base-URL override and the key switches.
const APP_USER: &str =
    "src.vs.platform.reactivestorage.browser.reactiveStorageServiceImpl.persistentStorage.applicationUser";

/// Row names of the keys (plain in older versions, `secret://…` encrypted in
/// newer ones), the provider, the switch in the settings blob that turns
/// the key on, and whether the base-URL override applies.
const KEYS: &[(&str, &str, &str, bool)] = &[
    ("cursorAuth/openAIKey", "openai", "useOpenAIKey", true),
    ("cursorAuth/claudeKey", "anthropic", "useClaudeKey", false),
    ("cursorAuth/anthropicKey", "anthropic", "useClaudeKey", false),
    ("cursorAuth/googleKey", "gemini", "useGoogleKey", false),
];

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Marker = parsed else { return Vec::new() };
    let Some(db) = crate::vscdb::StateDb::open(&crate::vscdb::in_global_storage(ctx.path)) else { return Vec::new() };
    let settings = db.text(APP_USER).and_then(|t| crate::doc::parse_json(&t).ok());
    let override_url = settings.as_ref().and_then(|s| str_at(s, "openAIBaseUrl")).filter(|u| !u.trim().is_empty());
    let written = db.written().map(|d| format!(", state.vscdb last written {d}")).unwrap_or_default();
    let mut out = Vec::new();
    for (row, named, switch, takes_base) in KEYS {
        let Some(p) = provider::get(named) else { continue };
        let switched_off =
            settings.as_ref().and_then(|s| s.get(switch)).is_some_and(|v| v.kind == crate::doc::Kind::Bool(false));
        let off = if switched_off {
            format!("; its switch ({switch}) is off: Cursor does not use this key")
        } else {
            String::new()
        };
        let base = if *takes_base { override_url } else { None };
        let (p, base) = match base {
            Some(u) => (provider_for(None, Some(u)), Some(u)),
            None => (p, None),
        };
        let mut key = if let Some(text) = db.text(row) {
            // A plain row is the key itself: remembered for probing, written as its fingerprint.
            ctx.literal(text.trim_matches('"'), p)
        } else if db.has(&format!("secret://{row}")) {
            KeyRef::store("vscode-secretstorage").with_note(format!(
                "Cursor has {} {} key stored in its SecretStorage (as {row}{written}), encrypted with the OS keychain's key",
                crate::vscdb::article(p.display),
                p.display
            ))
        } else {
            continue;
        };
        let mut note = off;
        if base.is_some_and(is_local) {
            note.push_str("; Cursor sends these requests from its own servers: a local base URL cannot be reached");
        }
        if !note.is_empty() {
            let joined = match key.note.take() {
                Some(n) => format!("{n}{note}"),
                None => note.trim_start_matches("; ").to_string(),
            };
            key = key.with_note(joined);
        }
        out.push(Draft::new(1, p, key).suffix(row.to_string()).base(base, "config"));
    }
    out
}

/// A loopback or private address, which Cursor's servers cannot reach.
fn is_local(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':']).next().unwrap_or("");
    host == "localhost"
        || host.starts_with("127.")
        || host.starts_with("192.168.")
        || host.starts_with("10.")
        || host == "0.0.0.0"
}
