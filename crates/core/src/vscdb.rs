//! VS Code-family `state.vscdb` (docs/tools.md#vs-code-secretstorage): the
//! SQLite key-value store of VS Code, Cursor, Windsurf and VSCodium. Its
//! `ItemTable` names every secret an extension stored
//! (`secret://{"extensionId":…,"key":…}`, the value encrypted with the OS
//! keychain's key) and holds the editors' own plain settings.
//!
//! Opened with SQLite itself, read-only and immutable (`mode=ro&immutable=1`):
//! no lock is taken, no journal or WAL file is created, nothing is written.
//! Secret values are never read, only their names.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// The largest plain value read (an editor's settings blob); longer ones are skipped.
const VALUE_CAP: usize = 256 * 1024;

/// A secret an extension stored: its name, never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretName {
    pub extension: String,
    pub key: String,
}

pub struct StateDb {
    conn: Connection,
    path: PathBuf,
}

/// `state.vscdb` in an editor's `globalStorage` directory.
pub fn in_global_storage(dir: &Path) -> PathBuf {
    dir.join("state.vscdb")
}

impl StateDb {
    /// Open `path` read-only and immutable; `None` when it is not there or not SQLite.
    pub fn open(path: &Path) -> Option<StateDb> {
        if !path.is_file() {
            return None;
        }
        let abs = std::fs::canonicalize(path).ok()?;
        let mut uri = url::Url::from_file_path(&abs).ok()?;
        uri.set_query(Some("mode=ro&immutable=1"));
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(uri.as_str(), flags).ok()?;
        // A file that is not a database fails here, not at open.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())).ok()?;
        Some(StateDb { conn, path: abs })
    }

    /// The names of the secrets `extension` stored (case-insensitive: VS
    /// Code writes the id as the extension's manifest spells it).
    pub fn secrets_of(&self, extension: &str) -> Vec<SecretName> {
        self.secrets().into_iter().filter(|s| s.extension.eq_ignore_ascii_case(extension)).collect()
    }

    /// Every `secret://` row's name, in key order.
    pub fn secrets(&self) -> Vec<SecretName> {
        let Ok(mut st) = self.conn.prepare("SELECT key FROM ItemTable WHERE key LIKE 'secret://%' ORDER BY key") else {
            return Vec::new();
        };
        let Ok(rows) = st.query_map([], |r| r.get::<_, String>(0)) else { return Vec::new() };
        rows.flatten().filter_map(|k| parse_secret_key(&k)).collect()
    }

    /// Is there a row named `key`?
    pub fn has(&self, key: &str) -> bool {
        self.conn.query_row("SELECT 1 FROM ItemTable WHERE key = ?1", [key], |_| Ok(())).is_ok()
    }

    /// A plain row's value as text (TEXT or BLOB); `None` when absent, empty, not UTF-8 or too long.
    pub fn text(&self, key: &str) -> Option<String> {
        self.conn
            .query_row("SELECT value FROM ItemTable WHERE key = ?1", [key], |r| {
                Ok(r.get_ref(0)?.as_bytes_or_null().ok().flatten().map(<[u8]>::to_vec))
            })
            .ok()
            .flatten()
            .filter(|b| !b.is_empty() && b.len() <= VALUE_CAP)
            .and_then(|b| String::from_utf8(b).ok())
    }

    /// When the database was last written (its mtime), as `YYYY-MM-DD`.
    pub fn written(&self) -> Option<String> {
        let m = std::fs::metadata(&self.path).ok()?.modified().ok()?;
        let secs = m.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        Some(date(secs))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The editor a `globalStorage` path belongs to, in its own name.
pub fn editor_of(path: &Path) -> &'static str {
    let s = path.to_string_lossy();
    [
        ("/.vscode-server/", "VS Code (remote)"),
        ("/.cursor-server/", "Cursor (remote)"),
        ("/.windsurf-server/", "Windsurf (remote)"),
        ("/Cursor/", "Cursor"),
        ("/Windsurf/", "Windsurf"),
        ("/VSCodium/", "VSCodium"),
        ("/Code - Insiders/", "VS Code Insiders"),
        ("/Code/", "VS Code"),
    ]
    .iter()
    .find(|(part, _)| s.contains(part))
    .map_or("VS Code", |(_, name)| name)
}

/// The sites an extension's SecretStorage gives, from the `state.vscdb` next
/// to its `globalStorage/<extension id>` directory (`ctx.path`): one per
/// secret it stored, its provider from `fields` (secret name → provider),
/// else `fallback`; the key a store keyhole cannot read, with a note saying
/// what is known. `None` when there is no database to read, or a remote
/// server's holds none of the extension's (the caller says what it can
/// without one); empty when the extension stored no secret.
pub fn secret_drafts(
    ctx: &crate::tool::FileCtx,
    fields: &[(&str, &str)],
    fallback: &str,
) -> Option<Vec<crate::tool::Draft>> {
    use crate::record::KeyRef;
    let extension = ctx.path.file_name()?.to_str()?;
    let db = StateDb::open(&in_global_storage(ctx.path.parent()?))?;
    let written = db.written().map(|d| format!(", state.vscdb last written {d}")).unwrap_or_default();
    let editor = editor_of(ctx.path);
    let mut out = Vec::new();
    for s in db.secrets_of(extension) {
        let mapped = fields.iter().find(|(f, _)| *f == s.key).map(|(_, p)| *p);
        // A tool that names its key secrets: its other secrets (an account id) are no key.
        if mapped.is_none() && !fields.is_empty() {
            continue;
        }
        let named = mapped.unwrap_or(fallback);
        let Some(p) = crate::provider::normalize(named).or_else(|| crate::provider::get(named)) else { continue };
        // The secret's name goes in the pointer (a camel-case name in free text reads as a token).
        let what = match mapped {
            Some(_) => format!("{} {} key", article(p.display), p.display),
            None => "its provider profiles, keys included,".to_string(),
        };
        let note = format!(
            "{} has {what} stored in {editor}'s SecretStorage ({}), encrypted with the OS keychain's key",
            ctx.tool.display,
            written.trim_start_matches(", "),
        );
        out.push(
            crate::tool::Draft::new(1, p, KeyRef::store("vscode-secretstorage").with_note(note))
                .pointer(crate::tool::pointer(&[&s.key])),
        );
    }
    // A remote machine's server may hold no secret at all: the editor on the
    // user's own computer can keep them (docs/tools.md#vs-code-secretstorage).
    if out.is_empty() && ctx.path.to_string_lossy().contains("-server/data/") {
        return None;
    }
    Some(out)
}

/// "a" or "an" before a name.
pub fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// `secret://{"extensionId":"x","key":"y"}` → its two names.
pub fn parse_secret_key(row: &str) -> Option<SecretName> {
    let json = row.strip_prefix("secret://")?;
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(SecretName {
        extension: v.get("extensionId")?.as_str()?.to_string(),
        key: v.get("key")?.as_str()?.to_string(),
    })
}

/// Seconds since 1970 → `YYYY-MM-DD` (UTC; the proleptic Gregorian calendar).
pub fn date(secs: u64) -> String {
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_764_460_800), "2025-11-30");
    }

    #[test]
    fn secret_names() {
        let s =
            parse_secret_key(r#"secret://{"extensionId":"saoudrizwan.claude-dev","key":"openRouterApiKey"}"#).unwrap();
        assert_eq!((s.extension.as_str(), s.key.as_str()), ("saoudrizwan.claude-dev", "openRouterApiKey"));
        assert!(parse_secret_key("secret://cursorAuth/openAIKey").is_none());
        assert!(parse_secret_key("workbench.panel").is_none());
    }
}
