//! Crush (charmbracelet): `crush.json` / `.crush.json` (project, walking up
//! to the git root; nearer wins), `~/.config/crush/crush.json`, and the data
//! file `~/.local/share/crush/crush.json` where a key typed into Crush is
//! saved. `providers.<id>.api_key` / `base_url`, expanded the shell's way
//! (`$X`, `${X}`, `${X:-d}`, `$(cmd)`; unset → ""). docs/tools.md#crush.

use super::*;

pub static TOOL: Tool = Tool {
    name: "crush",
    display: "Crush",
    home_files: &[
        FileRule { pattern: ".config/crush/crush.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".local/share/crush/crush.json", kind: FileKind::Doc(Format::Json) },
    ],
    workspace_files: &[
        FileRule { pattern: ".crush.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: "crush.json", kind: FileKind::Doc(Format::Json) },
    ],
    other_os: &[
        "/etc/crush/crush.json",
        "$CRUSH_GLOBAL_CONFIG/crush.json",
        "$CRUSH_GLOBAL_DATA/crush.json",
        "$XDG_DATA_HOME/crush/crush.json",
        "%LOCALAPPDATA%\\crush\\crush.json",
    ],
    expands: &["dollar_brace", "dollar"],
    // CRUSH_<NAME> stands in for <NAME> only while the providers are loaded
    // (docs/tools.md#crush): see `crush_override`.
    env_vars: &["OPENROUTER_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "CRUSH_<NAME>"],
    // The shell's rule: an unset variable expands to "" (docs/tools.md#crush).
    unset_sends: &[WhenUnset { syntax: None, any_syntax: true, sends: "" }],
    // The data file is merged over the user's config: a key saved there
    // beats the default `$OPENROUTER_API_KEY` reference (docs/tools.md#crush).
    stores: &[Store {
        path: "~/.local/share/crush/crush.json",
        format: Format::Json,
        key_at: "/providers/{provider}/api_key",
        kind: StoreKind::ApiKey,
        beats_env: true,
        fix: "remove the provider's api_key from ~/.local/share/crush/crush.json (Crush saved it there), or write the key that works there",
    }],
    process_family: &["crush", "node_modules/@charmland/crush"],
    fixes: Fixes { placeholder: &["write \"api_key\": \"${var}\""], no_key: &[], header: &[] },
    extract,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    for (id, line, prov) in doc.get("providers").map(Node::entries).unwrap_or_default() {
        let base = str_at(prov, "base_url");
        let p = provider::normalize(id).unwrap_or_else(|| provider_for(Some(id), base));
        let (kline, key) = match prov.get("api_key") {
            // `$(cmd)`: the shell's command substitution, run by Crush's embedded shell.
            Some(k) if k.as_str().is_some_and(|t| t.trim().starts_with("$(") && t.trim().ends_with(')')) => {
                let t = k.as_str().unwrap_or_default().trim();
                (prov.key_line("api_key").unwrap_or(*line), KeyRef::command(&t[2..t.len() - 1]))
            }
            Some(k) => {
                (prov.key_line("api_key").unwrap_or(*line), ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none))
            }
            // A known provider without a key: Crush's catalogue reads the provider's variable.
            None => match p.key_vars.first() {
                Some(v) => (*line, KeyRef::env(v, None)),
                None => (*line, KeyRef::none()),
            },
        };
        // The data file is merged over the user's config: a `$VAR` there loses
        // to a key saved in the data file, as an implicit variable does.
        let key = match key {
            k if k.from == crate::record::KeySource::Env && ctx.path.ends_with(".config/crush/crush.json") => {
                KeyRef::env(k.var_name(), None).with_note(format!(
                    "written {}; a key Crush saved in ~/.local/share/crush/crush.json comes first",
                    prov.get("api_key").and_then(Node::as_str).unwrap_or("")
                ))
            }
            k => k,
        };
        let key = crush_override(key);
        let mut d = Draft::new(kline, p, key).pointer(pointer(&["providers", id])).base(base, "config");
        if let Some(b) = base.filter(|b| !b.trim().is_empty() && !b.contains("://") && !b.contains('$')) {
            let note = format!(
                "base_url \"{b}\" has no scheme: Crush's requests to it never complete (it hangs, with no error)"
            );
            d.key = add_note(d.key, &note);
        }
        out.push(d);
    }
    out
}

/// `CRUSH_<NAME>` is copied over `<NAME>` while Crush decides which providers
/// are usable, and restored before a request resolves the key again: it can
/// make a provider usable, but the key sent is `<NAME>`'s (docs/tools.md#crush).
fn crush_override(key: KeyRef) -> KeyRef {
    if key.from != crate::record::KeySource::Env || key.var_name().is_empty() {
        return key;
    }
    let v = key.var_name().to_string();
    add_note(
        key,
        &format!(
            "CRUSH_{v} stands in for {v} only while Crush loads its providers: the key it sends is {v}'s (CRUSH_{v} alone sends an empty key)"
        ),
    )
}

/// The key's note with `more` after what it said already.
fn add_note(key: KeyRef, more: &str) -> KeyRef {
    let note = match key.note.as_deref() {
        Some(n) if !n.is_empty() => format!("{n}; {more}"),
        _ => more.to_string(),
    };
    key.with_note(note)
}
