//! Simon Willison's `llm` with llm-openrouter: `keys.json` beats the
//! variable, and the variable is `OPENROUTER_KEY`. docs/tools.md#llm.

use super::*;

pub static TOOL: Tool = Tool {
    name: "llm",
    display: "llm",
    home_files: &[
        FileRule { pattern: ".config/io.datasette.llm/keys.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".config/io.datasette.llm/extra-openai-models.yaml", kind: FileKind::Doc(Format::Yaml) },
    ],
    other_os: &[
        "$LLM_USER_PATH/keys.json",
        "~/Library/Application Support/io.datasette.llm/keys.json",
        "%APPDATA%\\io.datasette.llm\\keys.json",
    ],
    env_vars: &["OPENROUTER_KEY", "OPENAI_API_KEY"],
    refuses_flawed_header: Some(
        "httpx refuses the header (\"Illegal header value\"), and the tool says \"Connection error.\"",
    ),
    // A model without api_key_name gets the text DUMMY_KEY (measured).
    unset_sends: &[WhenUnset { syntax: None, any_syntax: false, sends: "DUMMY_KEY" }],
    stand_ins: &["DUMMY_KEY"],
    process_family: &["llm", "site-packages/llm"],
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    if ctx.path.ends_with("keys.json") {
        for (alias, line, v) in doc.entries() {
            if alias == "// Note" {
                continue;
            }
            let p = provider::normalize(alias).unwrap_or_else(|| provider_for(Some(alias), None));
            let Some(text) = v.as_str() else { continue };
            out.push(Draft::new(*line, p, ctx.key_from_text(text, p)).pointer(pointer(&[alias])));
        }
        return out;
    }
    for (i, m) in doc.items().iter().enumerate() {
        let Some(base) = str_at(m, "api_base") else { continue };
        let p = provider_for(None, Some(base));
        // api_key_name is an alias in llm's plain-JSON keys.json, read as llm reads it (measured).
        let key = match str_at(m, "api_key_name") {
            Some(alias) => match saved_key(ctx, alias) {
                Some(text) => ctx.literal(&text, p),
                None => KeyRef::none()
                    .with_note(format!("api_key_name {alias} is not in keys.json: set it with llm keys set {alias}")),
            },
            None => KeyRef::none()
                .with_note("with api_base set and no api_key_name, llm sends the text DUMMY_KEY as the key"),
        };
        out.push(
            Draft::new(m.key_line("api_base").unwrap_or(m.line), p, key)
                .pointer(pointer(&[&i.to_string()]))
                .model(str_at(m, "model_name").map(str::to_string))
                .base(Some(base), "config"),
        );
    }
    out
}

/// The key llm keeps under `alias` in its keys.json (the user directory's).
fn saved_key(ctx: &FileCtx, alias: &str) -> Option<String> {
    let dir = ctx.path.parent()?;
    let text = crate::fsread::read_text(&dir.join("keys.json"), crate::fsread::DEFAULT_CAP).ok()?;
    let doc = crate::doc::parse_json(&text).ok()?;
    str_at(&doc, alias).map(str::to_string)
}
