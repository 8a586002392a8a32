//! OpenSpace (HKUDS): configured only through `OPENSPACE_LLM_*` variables
//! and its package `.env`. docs/tools.md#openspace.

use super::*;

pub static TOOL: Tool = Tool {
    name: "openspace",
    display: "OpenSpace",
    workspace_files: &[FileRule { pattern: "openspace/.env", kind: FileKind::Dotenv(Flavor::Python) }],
    key_vars: &[("OPENSPACE_LLM_API_KEY", "openrouter")],
    env_vars: &["OPENROUTER_API_KEY", "OR_API_KEY"],
    dotenv: &[DotenvRule { path: "openspace/.env", flavor: Flavor::Python, overrides_env: false }],
    trims_key: true,
    process_family: &["openspace", "site-packages/openspace"],
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::Certifi,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Dotenv(entries) = parsed else { return Vec::new() };
    let mut sites = env_pair_sites(ctx, &pairs_from_dotenv(entries));
    let base = entries.iter().rev().find(|e| e.name == "OPENSPACE_LLM_API_BASE").map(|e| e.value.clone());
    let model = entries.iter().rev().find(|e| e.name == "OPENSPACE_MODEL").map(|e| e.value.clone());
    for s in &mut sites {
        if s.id_suffix.as_deref().is_some_and(|x| x.starts_with("OPENSPACE_LLM_API_KEY@")) {
            if let Some(b) = &base {
                s.base_url = Some((b.clone(), "env:OPENSPACE_LLM_API_BASE".into()));
            }
            if let Some(m) = &model {
                if let Some((p, rest)) = provider::by_model_prefix(m) {
                    s.provider = p;
                    s.model = Some(rest.to_string());
                }
            }
        }
    }
    sites
}
