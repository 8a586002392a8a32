//! Gemini CLI (`@google/gemini-cli`): `~/.gemini/settings.json` (the auth
//! type), `.env` files, `GEMINI_API_KEY` sent as `x-goog-api-key`.
//! docs/tools.md#gemini-cli.

use super::*;

/// The variable that switches the CLI (and Google's SDK) to Vertex AI when
/// settings.json selects no auth type (docs/tools.md#gemini-cli).
const VERTEX_SWITCH: &str = "GOOGLE_GENAI_USE_VERTEXAI";

pub static TOOL: Tool = Tool {
    name: "gemini-cli",
    display: "Gemini CLI",
    home_files: &[
        FileRule { pattern: ".gemini/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".gemini/.env", kind: FileKind::Dotenv(Flavor::Node) },
    ],
    workspace_files: &[
        FileRule { pattern: ".gemini/settings.json", kind: FileKind::Doc(Format::Json) },
        FileRule { pattern: ".gemini/.env", kind: FileKind::Dotenv(Flavor::Node) },
    ],
    sniff: &[Sniff::Json],
    other_os: &[
        "%USERPROFILE%\\.gemini\\settings.json",
        "/etc/gemini-cli/settings.json (system settings)",
        "$GEMINI_CLI_HOME/.gemini/",
    ],
    // In its precedence order: the auth type decides which key is read at all.
    env_vars: &[
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_GCA",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GEMINI_API_KEY_AUTH_MECHANISM",
    ],
    // It loads ONE file: the first of <dir>/.gemini/.env, <dir>/.env walking
    // up from the working directory, else ~/.gemini/.env, else ~/.env; a
    // variable already in the environment is kept (docs/tools.md#gemini-cli).
    dotenv: &[
        DotenvRule { path: ".gemini/.env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: ".env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: "~/.gemini/.env", flavor: Flavor::Node, overrides_env: false },
        DotenvRule { path: "~/.env", flavor: Flavor::Node, overrides_env: false },
    ],
    process_family: &["gemini", "node_modules/@google/gemini-cli"],
    fixes: Fixes {
        placeholder: &[],
        no_key: &[
            "export GEMINI_API_KEY, or put GEMINI_API_KEY=… in ~/.gemini/.env (a project's .env, when there is one, is loaded instead of it)",
        ],
        // The key goes to Vertex AI, which takes no API key: the project's
        // .env switched the CLI there (docs/tools.md#gemini-cli).
        header: &[(
            Some(AuthHeader::Authorization),
            "GOOGLE_GENAI_USE_VERTEXAI in this .env is read by Gemini CLI too and sends it to Vertex AI, which refuses an API key: remove the line (or set it in your code instead), or select \"gemini-api-key\" under security.auth.selectedType in ~/.gemini/settings.json and keep GEMINI_API_KEY in ~/.gemini/.env",
        )],
    },
    extract,
    // docs/wire.md#trust-stores
    trust: super::Trust::NodeBundled,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Dotenv(entries) => {
            let mut out = env_pair_sites(ctx, &pairs_from_dotenv(entries));
            for d in &mut out {
                if d.assigns.as_deref() == Some("GOOGLE_API_KEY") {
                    d.key.note = Some(GOOGLE_API_KEY_NOTE.into());
                }
            }
            out.extend(project_sites(ctx, entries));
            out
        }
        Parsed::Doc(doc) => settings(doc),
        _ => Vec::new(),
    }
}

const GOOGLE_API_KEY_NOTE: &str =
    "Gemini CLI sends GEMINI_API_KEY with the gemini-api-key auth type; GOOGLE_API_KEY only with vertex-ai";

/// The auth type settings.json selects (`security.auth.selectedType`, or
/// the older top-level `selectedAuthType`), with its line.
fn selected(doc: &Node) -> Option<(&str, u32)> {
    if let Some(auth) = doc.path(&["security", "auth"]) {
        if let Some(t) = str_at(auth, "selectedType") {
            return Some((t, auth.key_line("selectedType").unwrap_or(1)));
        }
    }
    str_at(doc, "selectedAuthType").map(|t| (t, doc.key_line("selectedAuthType").unwrap_or(1)))
}

fn settings(doc: &Node) -> Vec<Draft> {
    let Some((kind, line)) = selected(doc) else { return Vec::new() };
    let p = provider::get("gemini").expect("catalogue has gemini");
    let model = doc.get("model").and_then(|m| {
        m.as_str().map(str::to_string).or_else(|| m.get("name").and_then(Node::as_str).map(str::to_string))
    });
    let key = match kind {
        "gemini-api-key" | "gateway" => KeyRef::env("GEMINI_API_KEY", None).with_note(format!(
            "auth type {kind} (settings.json): the CLI sends GEMINI_API_KEY as x-goog-api-key; GOOGLE_API_KEY and {VERTEX_SWITCH} are not read"
        )),
        "vertex-ai" => KeyRef::env("GOOGLE_API_KEY", None).with_note(
            "auth type vertex-ai (settings.json): the CLI sends GOOGLE_API_KEY to Vertex AI (express mode), or uses Google Cloud credentials with GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION",
        ),
        other => KeyRef::store(&format!("gemini-cli-{other}")).with_note(format!(
            "auth type {other} (settings.json): a Google login (~/.gemini/oauth_creds.json), no API key is sent; GEMINI_API_KEY is not read"
        )),
    };
    let ptr = if doc.path(&["security", "auth", "selectedType"]).is_some() {
        pointer(&["security", "auth", "selectedType"])
    } else {
        pointer(&["selectedAuthType"])
    };
    vec![Draft::new(line, p, key).pointer(ptr).model(model)]
}

/// A `.env` that sets `GOOGLE_GENAI_USE_VERTEXAI=true` (often written for the
/// user's own code): Gemini CLI loads it too when started in or under its
/// directory, and goes to Vertex AI, which refuses an AI Studio key ("API
/// keys are not supported by this API"). Called by the generic `.env`
/// reader as well (docs/tools.md#gemini-cli).
pub(super) fn project_sites(ctx: &FileCtx, entries: &[dotenv::Entry]) -> Vec<Draft> {
    let Some(e) = entries.iter().rev().find(|e| e.name == VERTEX_SWITCH) else { return Vec::new() };
    // Compared with `true` exactly: `TRUE` leaves 0.61.0 on its other auth
    // (measured, docs/wire.md#gemini-cli-and-qwen-code).
    if e.value.trim() != "true" {
        return Vec::new();
    }
    // An auth type pinned in settings.json (the project's, else the user's)
    // decides instead of the variable; only vertex-ai goes on to Vertex.
    let project = ctx.path.parent().map(|d| d.join(".gemini/settings.json"));
    let pinned = project.iter().chain(std::iter::once(&ctx.home.join(".gemini/settings.json"))).find_map(|f| {
        let text = crate::fsread::read_text(f, crate::fsread::DEFAULT_CAP).ok()?;
        let doc = crate::doc::parse(&text, Format::Json).ok()?;
        selected(&doc).map(|(t, _)| t.to_string())
    });
    if pinned.is_some_and(|t| t != "vertex-ai") {
        return Vec::new();
    }
    let p = provider::get("vertex-ai").expect("catalogue has vertex-ai");
    let key = KeyRef::env("GOOGLE_API_KEY", None).with_note(format!(
        "{VERTEX_SWITCH}={} at line {}: Gemini CLI loads this .env too when started here, and goes to Vertex AI, which refuses an AI Studio key (\"API keys are not supported by this API\"): settings.json selects no other auth type",
        e.value.trim(),
        e.line
    ));
    let mut d = Draft::new(e.line, p, key).suffix(format!("{VERTEX_SWITCH}@{}", e.line));
    d.tool = Some("gemini-cli");
    d.assigns = Some(VERTEX_SWITCH.into());
    vec![d.base(Some(p.base_url), &format!("env:{VERTEX_SWITCH}")).auth(AuthHeader::XGoogApiKey, Scheme::Raw)]
}
