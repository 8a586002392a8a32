//! Continue (VS Code / JetBrains extension and the `cn` CLI).
//! docs/tools.md#continue; docs/wire.md#continue-cli (1.5.47).

use super::*;

pub static TOOL: Tool = Tool {
    name: "continue",
    display: "Continue",
    home_files: &[
        FileRule { pattern: ".continue/config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/config.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".continue/agents/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/assistants/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/models/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/.env", kind: FileKind::Dotenv(Flavor::Node) },
    ],
    workspace_files: &[
        FileRule { pattern: ".continue/config.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/agents/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/assistants/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/configs/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continue/models/*.yaml", kind: FileKind::Doc(Format::Yaml) },
        FileRule { pattern: ".continuerc.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".continue/.env", kind: FileKind::Dotenv(Flavor::Node) },
    ],
    sniff: &[Sniff::Yaml, Sniff::Json],
    other_os: &["%USERPROFILE%\\.continue\\config.yaml", "$CONTINUE_GLOBAL_DIR/config.yaml"],
    expands: &["secrets"],
    // The CLI's order (measured): process env first, then these files.
    dotenv: &[
        // The CLI loads the launch directory's .env into its environment at start
        // (without override), then reads secrets from ~/.continue/.env, then the
        // workspace's .continue/.env (measured, docs/wire.md#measured-clients).
        DotenvRule { path: ".env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: "~/.continue/.env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: ".continue/.env", flavor: Flavor::Node, overrides_env: false },
    ],
    empty_is_unset: true,
    unset_sends: &[
        // measured, Continue CLI 1.5.47: the unresolved secret is re-rendered with its location
        WhenUnset { syntax: Some("secrets"), any_syntax: false, sends: "${{ secrets.//{var} }}" },
        // measured: no apiKey → an empty Bearer
        WhenUnset { syntax: None, any_syntax: false, sends: "" },
    ],
    trims_key: true,
    process_family: &["cn", "node_modules/@continuedev/cli", "extensions/continue.continue"],
    in_extension_host: true,
    fixes: Fixes {
        placeholder: &[
            "write apiKey: ${{ secrets.{var} }}",
            "put {var}=… in ~/.continue/.env (or the project's .continue/.env)",
        ],
        // It does not read OPENROUTER_API_KEY by itself.
        no_key: &[
            "add apiKey: ${{ secrets.OPENROUTER_API_KEY }} to the model",
            "put OPENROUTER_API_KEY=… in ~/.continue/.env",
        ],
        header: &[],
    },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::NodeBundled,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let doc = match parsed {
        // ~/.continue/.env and <ws>/.continue/.env: the secrets ${{ secrets.X }} resolves from.
        Parsed::Dotenv(entries) => return env_pair_sites(ctx, &pairs_from_dotenv(entries)),
        Parsed::Doc(doc) => doc,
        _ => return Vec::new(),
    };
    // Legacy config.json: strings equal to a name listed in "env" are replaced.
    let json_env: Vec<&str> =
        doc.get("env").map(|e| e.items().iter().filter_map(Node::as_str).collect()).unwrap_or_default();
    let mut out = Vec::new();
    for (i, m) in doc.get("models").map(Node::items).unwrap_or_default().iter().enumerate() {
        let idx = i.to_string();
        let ptr = pointer(&["models", &idx]);
        if let Some(uses) = str_at(m, "uses") {
            let p =
                provider::normalize(uses.split('/').next().unwrap_or("")).unwrap_or_else(|| provider_for(None, None));
            out.push(
                Draft::new(
                    m.line,
                    p,
                    KeyRef::store("continue-hub")
                        .with_note(format!("hub block {uses}: its secrets resolve on the Continue Hub")),
                )
                .pointer(ptr),
            );
            continue;
        }
        let named = str_at(m, "provider");
        let base = str_at(m, "apiBase");
        let p = named.and_then(provider::normalize).unwrap_or_else(|| provider_for(named, base));
        let model = str_at(m, "model").map(str::to_string);
        let (line, key) = match m.get("apiKey") {
            Some(k) => {
                let line = m.key_line("apiKey").unwrap_or(m.line);
                let key = match k.as_str() {
                    Some(s) if json_env.contains(&s) => KeyRef::env(s, Some("json_env")),
                    _ => ctx.key_from_node(Some(k), p).unwrap_or_else(KeyRef::none),
                };
                (line, key)
            }
            None => (m.line, no_key(m, p)),
        };
        let mut d = Draft::new(line, p, key).pointer(ptr).model(model).base(base, "config");
        if p.name == "anthropic" {
            d = d.auth(AuthHeader::XApiKey, Scheme::Raw);
        }
        out.push(d);
    }
    out
}

fn no_key(m: &Node, p: &Provider) -> KeyRef {
    if let Some(wrong) = ["api_key", "apikey", "api-key", "key"].iter().find(|k| m.get(k).is_some()) {
        return KeyRef::none()
            .with_note(format!("continue reads apiKey, not {wrong} (continue#6191): it sends an empty Bearer"));
    }
    if p.key_vars.is_empty() {
        return KeyRef::none();
    }
    KeyRef::none().with_note(format!("no apiKey: continue sends an empty Bearer and does not read {}", p.key_vars[0]))
}
