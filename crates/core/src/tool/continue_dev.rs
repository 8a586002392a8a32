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
        header: &[
            (
                Some(AuthHeader::OcpApimSubscriptionKey),
                "add requestOptions: { headers: { Ocp-Apim-Subscription-Key: ${{ secrets.NAME }} } } to the model: API Management reads its subscription key there",
            ),
            (
                Some(AuthHeader::XGoogApiKey),
                "set apiBase to the API's OpenAI-compatible base (Gemini's ends in /v1beta/openai/): an OpenAI-style provider sends Authorization: Bearer",
            ),
        ],
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
        let written = str_at(m, "apiBase");
        let by_base = written.and_then(provider::by_url);
        let p = match (named.and_then(provider::normalize), by_base) {
            // An OpenAI-style provider pointed at an API with its own OpenAI-compatible base
            // (Gemini), or Azure behind API Management: the API is the one of the base URL.
            (Some(n), Some(b))
                if n.name != b.name
                    && ((!b.openai_base.is_empty() && matches!(n.name, "openai" | "openai-compatible"))
                        || (n.name == "azure" && b.name == "azure-apim")) =>
            {
                b
            }
            (Some(n), _) => n,
            (None, _) => provider_for(named, written),
        };
        let azure = azure_base(m, written);
        let base = azure.as_deref().or(written);
        // The deployment is what an Azure request names (Continue: env.deployment, else model).
        let model = str_at(m, "model").map(str::to_string);
        let model = m
            .get("env")
            .and_then(|e| str_at(e, "deployment"))
            .map(str::to_string)
            .filter(|_| azure.is_some())
            .or(model);
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
        } else if !p.openai_base.is_empty() {
            // Continue's OpenAI-style client, whatever the API.
            d = d.auth(AuthHeader::Authorization, Scheme::Bearer);
        } else if p.name.starts_with("azure") {
            // Continue's azure provider sends the key in api-key (docs/wire.md#azure-openai).
            d = d.auth(AuthHeader::ApiKey, Scheme::Raw);
        }
        out.push(d);
    }
    out
}

/// The base URL Continue's `azure` provider builds (`env.apiType` azure-openai
/// or azure): `apiBase` without its trailing slash, then
/// `openai/deployments/{env.deployment}`, and `?api-version={env.apiVersion}`
/// (docs/wire.md#azure-openai); None for any other model.
fn azure_base(m: &Node, api_base: Option<&str>) -> Option<String> {
    let env = m.get("env")?;
    let named = str_at(m, "provider").and_then(provider::normalize)?;
    if !named.name.starts_with("azure") || !matches!(str_at(env, "apiType"), Some("azure-openai" | "azure")) {
        return None;
    }
    let (deployment, version) = (str_at(env, "deployment")?, str_at(env, "apiVersion")?);
    let (path, query) = match api_base?.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (api_base?, None),
    };
    let query = query.map_or(String::new(), |q| format!("{q}&"));
    Some(format!("{}/openai/deployments/{deployment}?{query}api-version={version}", path.trim_end_matches('/')))
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
