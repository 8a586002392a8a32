//! `--undo` (docs/fix.md#undo): the manifest of the last `--apply` names
//! each file it wrote, its backup (or that it created the file) and the hash
//! of what it wrote. Undo puts each backup back — refusing a file that changed
//! since the fix — and removes the files the fix created, the backups and the
//! manifest. The manifest holds paths and hashes, never a key.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use keyhole_core::error::{Error, Result};
use keyhole_core::Status;
use serde::{Deserialize, Serialize};

use crate::plan::Scope;

/// The manifest of one `--apply` run.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub v: u32,
    pub files: Vec<Entry>,
}

impl Manifest {
    pub fn new() -> Self {
        Manifest { v: 1, files: Vec::new() }
    }
}

/// One file the run wrote.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The real path written.
    pub file: String,
    /// The copy of the file before; None when the run created the file.
    pub backup: Option<String>,
    pub created: bool,
    /// SHA-256 (hex) of the content the run wrote.
    pub sha256: String,
}

pub use crate::disk::sha256;

/// Where the manifest lives: `$XDG_STATE_HOME/keyhole/last-fix.json` when
/// the analysed home is this user's own `$HOME`, else
/// `~/.local/state/keyhole/last-fix.json` under the analysed home.
pub fn manifest_path(scope: &Scope) -> PathBuf {
    let own_home = std::env::var_os("HOME").map(PathBuf::from).is_some_and(|h| same(&h, &scope.home));
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|s| own_home && s.is_absolute())
        .unwrap_or_else(|| scope.home.join(".local/state"));
    state.join("keyhole/last-fix.json")
}

fn same(a: &Path, b: &Path) -> bool {
    let c = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    c(a) == c(b)
}

/// Write the manifest (0600, its directory 0700), replacing the last one.
pub fn save(scope: &Scope, m: &Manifest) -> Result<()> {
    let path = manifest_path(scope);
    let fail = |e: std::io::Error| Error::failed(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        crate::disk::make_dirs(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(m).map_err(|e| Error::failed(e.to_string()))? + "\n";
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        crate::disk::owned_like_parent(&tmp)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// What `--undo` did to one file.
#[derive(Debug)]
pub struct Undone {
    pub file: String,
    /// None: restored (or the created file removed); else why not.
    pub refused: Option<String>,
}

/// Undo the last `--apply` recorded for `scope`'s home: the files restored,
/// and the ones refused with why. An input error when there is nothing to undo.
pub fn undo(scope: &Scope) -> Result<Vec<Undone>> {
    let path = manifest_path(scope);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(format!("nothing to undo: no keyhole fix --apply recorded in {}", path.display())))
        }
        Err(e) => return Err(Error::failed(format!("cannot read {}: {e}", path.display()))),
    };
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("{}: not a keyhole fix manifest ({e})", path.display())))?;
    let mut out = Vec::new();
    for e in m.files.iter().rev() {
        out.push(Undone { file: e.file.clone(), refused: restore(scope, e).err() });
    }
    if out.iter().all(|u| u.refused.is_none()) {
        let _ = std::fs::remove_file(&path);
    } else {
        // What could not be undone stays recorded, for another try.
        let rest: Vec<Entry> =
            m.files.into_iter().filter(|e| out.iter().any(|u| u.file == e.file && u.refused.is_some())).collect();
        save(scope, &Manifest { v: 1, files: rest })?;
    }
    Ok(out)
}

/// Put one file back as it was before the fix.
fn restore(scope: &Scope, e: &Entry) -> std::result::Result<(), String> {
    let file = PathBuf::from(&e.file);
    if !scope.contains(&file) {
        return Err(format!("{} lies outside the analysed home and the given paths", e.file));
    }
    let now = match std::fs::read(&file) {
        Ok(b) => Some(b),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(format!("{}: {err}", e.file)),
    };
    if now.as_deref().map(sha256).as_deref() != Some(e.sha256.as_str()) {
        return Err(format!("{} changed since the fix (or is gone); left as it is", e.file));
    }
    if e.created {
        return std::fs::remove_file(&file).map_err(|err| format!("{}: {err}", e.file));
    }
    let Some(backup) = e.backup.as_deref().map(PathBuf::from) else {
        return Err(format!("{}: no backup recorded", e.file));
    };
    if !scope.contains(&backup) {
        return Err(format!("{} lies outside the analysed home and the given paths", backup.display()));
    }
    let bytes = std::fs::read(&backup).map_err(|err| format!("the backup {}: {err}", backup.display()))?;
    let meta = std::fs::metadata(&file).map_err(|err| format!("{}: {err}", e.file))?;
    crate::disk::replace(&file, &bytes, &meta)?;
    let _ = std::fs::remove_file(&backup);
    Ok(())
}

/// keyhole-fix's `--undo`: a line per file on stdout; 0 all restored, 1 a
/// file was refused (it stays as it is).
pub fn run(scope: &Scope) -> Result<Status> {
    let done = undo(scope)?;
    let mut words = String::new();
    for u in &done {
        match &u.refused {
            None => words.push_str(&format!("restored {}\n", u.file)),
            Some(why) => words.push_str(&format!("not restored: {why}\n")),
        }
    }
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, words.as_bytes()).and_then(|()| std::io::Write::flush(&mut out))?;
    Ok(if done.iter().any(|u| u.refused.is_some()) { Status::Found } else { Status::Ok })
}
