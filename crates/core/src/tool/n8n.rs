//! n8n keeps every credential encrypted in `~/.n8n/database.sqlite`
//! (`credentials_entity.data`, with the key in `~/.n8n/config` or
//! `N8N_ENCRYPTION_KEY`): keyhole can only say what it cannot see. It
//! reads the database read-only and immutable for each AI credential's
//! name, type and date, never its data. docs/tools.md#n8n.

use super::*;

use rusqlite::{Connection, OpenFlags};

pub static TOOL: Tool = Tool {
    name: "n8n",
    display: "n8n",
    home_files: &[FileRule { pattern: ".n8n", kind: FileKind::Marker }],
    other_os: &["$N8N_USER_FOLDER/.n8n", "%USERPROFILE%\\.n8n", "a Docker volume mounted at /home/node/.n8n"],
    env_vars: &["N8N_USER_FOLDER", "N8N_ENCRYPTION_KEY", "DB_TYPE"],
    process_family: &["n8n", "node_modules/n8n"],
    extract,
    ..BASE
};

/// n8n's credential types for the providers keyhole catalogues.
const TYPES: &[(&str, &str)] = &[
    ("openAiApi", "openai"),
    ("anthropicApi", "anthropic"),
    ("openRouterApi", "openrouter"),
    ("googlePalmApi", "gemini"),
    ("groqApi", "groq"),
    ("mistralCloudApi", "mistral"),
    ("deepSeekApi", "deepseek"),
    ("xAiApi", "xai"),
    ("azureOpenAiApi", "azure"),
    ("ollamaApi", "ollama"),
];

const STORE: &str = "n8n's encrypted credentials";

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    if !matches!(parsed, Parsed::Marker) {
        return Vec::new();
    }
    let db = ctx.path.join("database.sqlite");
    let verify = "to see what n8n sends, point the credential's Base URL at keyhole-capture";
    let rows = credentials(&db);
    let mut out = Vec::new();
    for (name, kind, updated) in rows.iter().flatten() {
        let Some((_, p)) = TYPES.iter().find(|(t, _)| t == kind) else { continue };
        let Some(p) = provider::get(p) else { continue };
        let note = format!(
            "n8n credential \"{name}\" ({kind}), last updated {updated}: its data is encrypted with the key in ~/.n8n/config (or N8N_ENCRYPTION_KEY), which keyhole does not use; {verify}"
        );
        out.push(
            Draft::new(1, p, KeyRef::store(STORE).with_note(note)).pointer(pointer(&["credentials_entity", name])),
        );
    }
    if out.is_empty() {
        let what = match rows {
            Some(_) => "database.sqlite holds no AI credential keyhole knows",
            None if db.is_file() => "database.sqlite could not be read",
            None => "no database.sqlite here (a Postgres database, DB_TYPE=postgresdb, or none yet)",
        };
        let note = format!("n8n keeps its credentials encrypted: {what}; {verify}");
        out.push(Draft::new(1, provider_for(None, None), KeyRef::store(STORE).with_note(note)));
    }
    out
}

/// (name, type, updated date) of every credential, read-only and immutable;
/// `None` when there is no readable database.
fn credentials(db: &std::path::Path) -> Option<Vec<(String, String, String)>> {
    if !db.is_file() {
        return None;
    }
    let abs = std::fs::canonicalize(db).ok()?;
    let mut uri = url::Url::from_file_path(&abs).ok()?;
    uri.set_query(Some("mode=ro&immutable=1"));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri.as_str(), flags).ok()?;
    let mut st =
        conn.prepare("SELECT name, type, CAST(updatedAt AS TEXT) FROM credentials_entity ORDER BY name").ok()?;
    let rows = st
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default()))
        })
        .ok()?;
    Some(rows.flatten().map(|(n, t, u)| (n, t, u.chars().take(10).collect())).collect())
}
