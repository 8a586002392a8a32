//! LibreChat: `librechat.yaml` custom endpoints with `${VAR}`; an unset
//! variable is sent as the literal text. docs/tools.md#librechat.

use super::*;

pub static TOOL: Tool = Tool {
    name: "librechat",
    display: "LibreChat",
    workspace_files: &[FileRule { pattern: "librechat.yaml", kind: FileKind::Doc(Format::Yaml) }],
    sniff: &[Sniff::Yaml],
    other_os: &["$CONFIG_PATH", "/app/librechat.yaml"],
    expands: &["dollar_brace"],
    env_vars: &["OPENROUTER_KEY"],
    dotenv: &[DotenvRule { path: ".env", flavor: Flavor::Node, overrides_env: false }],
    unset_sends: &[
        // LibreChat returns the original string
        WhenUnset { syntax: Some("dollar_brace"), any_syntax: false, sends: "${{var}}" },
    ],
    process_family: &["librechat", "api/server/index.js"],
    fixes: Fixes {
        placeholder: &["set {var} in LibreChat's .env; an unset variable is sent as the literal text"],
        no_key: &[],
        header: &[],
    },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::NodeBundled,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    for (i, e) in doc.path(&["endpoints", "custom"]).map(Node::items).unwrap_or_default().iter().enumerate() {
        let base = str_at(e, "baseURL");
        let name = str_at(e, "name");
        let p = provider_for(name, base);
        let model =
            e.path(&["models", "default"]).and_then(|d| d.items().first()).and_then(Node::as_str).map(str::to_string);
        let (line, key) = match e.get("apiKey").and_then(Node::as_str) {
            Some("user_provided") => (e.key_line("apiKey").unwrap_or(e.line), KeyRef::store("librechat-user-keys")),
            Some(text) => {
                let mut k = ctx.key_from_text(text, p);
                if k.var.as_deref() == Some("OPENROUTER_API_KEY") {
                    k = k.with_note(
                        "LibreChat wants OPENROUTER_KEY: OPENROUTER_API_KEY also reroutes its OpenAI endpoint",
                    );
                } else if k.from == "env" {
                    k = k.with_note("an unset or empty variable is sent as the literal ${…} text");
                }
                (e.key_line("apiKey").unwrap_or(e.line), k)
            }
            None => (e.line, KeyRef::none()),
        };
        out.push(
            Draft::new(line, p, key)
                .pointer(pointer(&["endpoints", "custom", &i.to_string()]))
                .model(model)
                .base(base, "config"),
        );
    }
    out
}
