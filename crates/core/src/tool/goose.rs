//! Goose (block/goose): env first, then `config.yaml`; secrets from the
//! keyring or `secrets.yaml`. docs/tools.md#goose.

use super::*;

pub static TOOL: Tool = Tool {
    name: "goose",
    display: "Goose",
    home_files: &[
        FileRule { pattern: ".config/goose/config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".config/goose/secrets.yaml", kind: FileKind::Doc(Format::Yaml) },
    ],
    other_os: &["$GOOSE_PATH_ROOT/config/config.yaml", "%APPDATA%\\Block\\goose\\config\\config.yaml"],
    env_vars: &["OPENROUTER_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOSE_PROVIDER", "GOOSE_DISABLE_KEYRING"],
    // The variable first, then secrets.yaml (with GOOSE_DISABLE_KEYRING) or the keyring.
    log_in: "goose configure",
    stores: &[Store {
        path: "~/.config/goose/secrets.yaml",
        format: Format::Yaml,
        key_at: "/{var}",
        kind: StoreKind::ApiKey,
        beats_env: false,
        fix: "goose configure (it rewrites secrets.yaml), or unset the variable so the saved secret is used",
    }],
    process_family: &["goose"],
    extract,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    if ctx.path.ends_with("secrets.yaml") {
        for (name, line, v) in doc.entries() {
            let Some(p) = key_var_provider(name) else { continue };
            let Some(text) = v.scalar_text() else { continue };
            out.push(Draft::new(*line, p, ctx.key_from_text(&text, p)).pointer(pointer(&[name])));
        }
        return out;
    }
    let Some(named) = str_at(doc, "GOOSE_PROVIDER") else { return out };
    let Some(p) = provider::normalize(named) else { return out };
    let host_key = format!("{}_HOST", p.name.to_ascii_uppercase());
    let base = str_at(doc, &host_key).map(|h| {
        if p.name == "openrouter" {
            format!("{}/api/v1", h.trim_end_matches('/'))
        } else {
            h.to_string()
        }
    });
    let Some(var) = p.key_vars.first() else { return out };
    let key = KeyRef::env(var, None)
        .with_note("goose reads the variable first, then the keyring (service goose) or secrets.yaml");
    out.push(
        Draft::new(doc.key_line("GOOSE_PROVIDER").unwrap_or(1), p, key)
            .pointer(pointer(&["GOOSE_PROVIDER"]))
            .model(str_at(doc, "GOOSE_MODEL").map(str::to_string))
            .base(base.as_deref(), "config"),
    );
    out
}
