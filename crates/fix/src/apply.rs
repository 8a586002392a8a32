//! `--apply` (docs/fix.md#apply): each planned edit written atomically — a
//! temporary file beside the real file, fsync, rename — keeping the file's
//! mode, owner, line endings and every other byte; a backup of the file
//! before (`FILE.keyhole-bak`, named in the `fix` record); a manifest of the
//! run for `--undo`. A file that changed since it was read, or that lies
//! outside the analysed home and the given paths, is refused and left as it
//! is. Several edits of one file are one write.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use keyhole_core::error::{Error, Result};
use keyhole_core::record::{Fix, FixState};
use keyhole_core::stage::Output;
use keyhole_core::Status;

use crate::disk::{make_dirs, owned_like_parent, replace, same_owner_and_mode, sha256, sync_dir, temp_beside};
use crate::edit::{Change, Edit, Plan};
use crate::plan::Scope;
use crate::text;
use crate::undo::{self, Entry, Manifest};

/// How each edit is agreed to.
pub enum Consent {
    /// `--yes`: every edit.
    Yes,
    /// Ask per edit on the terminal (`/dev/tty`).
    Ask,
}

impl Consent {
    /// `--yes`, else asking on a terminal; without one and without `--yes`,
    /// a usage error (exit 2) before anything is read or written.
    pub fn new(yes: bool) -> Result<Consent> {
        if yes {
            return Ok(Consent::Yes);
        }
        // Someone at a terminal: stdin or stderr is one (stdin is the record
        // stream of keyhole-fix in a pipeline), and the terminal can be opened.
        let at_terminal = std::io::stdin().is_terminal() || std::io::stderr().is_terminal();
        if at_terminal && File::open("/dev/tty").is_ok() {
            return Ok(Consent::Ask);
        }
        Err(Error::usage("--apply without a terminal to ask on: add --yes to apply every planned edit"))
    }

    fn agrees(&self, e: &Edit, shown: &Fix) -> bool {
        match self {
            Consent::Yes => true,
            Consent::Ask => ask(e, shown),
        }
    }
}

/// Ask on the terminal whether to apply one edit (the lines as the `fix`
/// record shows them: keys as markers).
fn ask(e: &Edit, shown: &Fix) -> bool {
    let mut q = format!("{}: {}\n", e.path.display(), shown.says);
    for l in shown.before.iter().flat_map(|b| b.lines()) {
        q.push_str(&format!("  - {l}\n"));
    }
    for l in shown.after.iter().flat_map(|a| a.lines()) {
        q.push_str(&format!("  + {l}\n"));
    }
    q.push_str("Apply this edit? [y/N] ");
    let Ok(tty) = OpenOptions::new().read(true).write(true).open("/dev/tty") else {
        return false;
    };
    let mut w = &tty;
    // Through the redaction boundary, made safe for a terminal (docs/records.md#redaction).
    let q = keyhole_core::redact::words(&q, false);
    if w.write_all(q.as_bytes()).and_then(|()| w.flush()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = std::io::BufReader::new(&tty).read_line(&mut answer);
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// What `--apply` did: one `fix` record per plan, in the order of the plans,
/// with its state (`applied` and the backup, `refused` or `skipped` and why,
/// `planned` for a command, which only a person runs).
#[derive(Debug, Default)]
pub struct Applied {
    pub fixes: Vec<Fix>,
    /// The files written, real paths.
    pub written: Vec<PathBuf>,
}

impl Applied {
    /// 0 every edit written; 1 an edit was refused or skipped (the problem stays).
    pub fn status(&self) -> Status {
        if self.fixes.iter().any(|f| matches!(f.state, FixState::Refused | FixState::Skipped)) {
            Status::Found
        } else {
            Status::Ok
        }
    }
}

/// Apply `plans` within `scope`, each edit as `consent` agrees; the manifest
/// of the run is written for `--undo` (docs/fix.md#undo) when a file was.
pub fn apply(plans: &[Plan], scope: &Scope, consent: &Consent) -> Result<Applied> {
    let mut fixes: Vec<Fix> = plans.iter().map(crate::fix_record).collect();
    // The edits of each file, in the order planned.
    let mut files: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    let mut order: Vec<PathBuf> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if let Plan::Edit(e) = p {
            if !files.contains_key(&e.path) {
                order.push(e.path.clone());
            }
            files.entry(e.path.clone()).or_default().push(i);
        }
    }
    let mut applied = Applied::default();
    let mut manifest = Manifest::new();
    for path in order {
        let idx = &files[&path];
        let edits: Vec<&Edit> = idx
            .iter()
            .map(|&i| match &plans[i] {
                Plan::Edit(e) => e,
                Plan::Action(_) => unreachable!("only edits are grouped"),
            })
            .collect();
        let refuse = |fixes: &mut Vec<Fix>, which: &[usize], why: &str| {
            for &i in which {
                fixes[i].state = FixState::Refused;
                fixes[i].why = Some(why.to_string());
            }
        };
        if !scope.contains(&path) {
            refuse(&mut fixes, idx, &format!("{} lies outside the analysed home and the given paths", path.display()));
            continue;
        }
        // Per edit, yes or no.
        let mut agreed: Vec<usize> = Vec::new();
        for (&i, e) in idx.iter().zip(&edits) {
            if consent.agrees(e, &fixes[i]) {
                agreed.push(i);
            } else {
                fixes[i].state = FixState::Skipped;
                fixes[i].why = Some("not agreed to".into());
            }
        }
        if agreed.is_empty() {
            continue;
        }
        let agreed_edits: Vec<&Edit> = agreed
            .iter()
            .map(|&i| match &plans[i] {
                Plan::Edit(e) => e,
                Plan::Action(_) => unreachable!(),
            })
            .collect();
        match write_file(&path, &agreed_edits) {
            Ok(w) => {
                for (&i, ok) in agreed.iter().zip(&w.taken) {
                    if *ok {
                        fixes[i].state = FixState::Applied;
                        fixes[i].backup = w.backup.as_ref().map(|b| b.display().to_string());
                    } else {
                        fixes[i].state = FixState::Skipped;
                        fixes[i].why = Some(
                            "it overlaps an earlier edit of the same file; run keyhole fix again to plan it anew"
                                .into(),
                        );
                    }
                }
                manifest.files.push(Entry {
                    file: w.real.display().to_string(),
                    backup: w.backup.as_ref().map(|b| b.display().to_string()),
                    created: w.backup.is_none(),
                    sha256: w.sha256,
                });
                applied.written.push(w.real);
            }
            Err(why) => refuse(&mut fixes, &agreed, &why),
        }
    }
    if !manifest.files.is_empty() {
        undo::save(scope, &manifest)?;
    }
    applied.fixes = fixes;
    Ok(applied)
}

/// keyhole-fix's `--apply` after its records were written: the edits
/// applied as `yes` says, then every `fix` record again with its state.
pub fn run(plans: &[Plan], scope: &Scope, yes: bool) -> Result<Status> {
    let consent = Consent::new(yes)?;
    let applied = apply(plans, scope, &consent)?;
    let mut out = Output::stdout();
    for f in &applied.fixes {
        out.buffer(&keyhole_core::record::Record::Fix(f.clone()))?;
    }
    out.flush()?;
    Ok(applied.status())
}

/// One file written.
struct Written {
    /// The real path (symbolic links resolved): the file that was replaced.
    real: PathBuf,
    /// None: the file was created.
    backup: Option<PathBuf>,
    /// SHA-256 of the content written, for `--undo`'s check.
    sha256: String,
    /// Per edit, whether its changes were taken.
    taken: Vec<bool>,
}

/// Write `edits` (all of one file) in one atomic write, or say why not.
fn write_file(path: &Path, edits: &[&Edit]) -> std::result::Result<Written, String> {
    let stamp = edits[0].stamp.clone();
    if edits.iter().any(|e| e.stamp != stamp) {
        return Err(format!("{}: the edits were planned from different readings of it", path.display()));
    }
    match stamp {
        None => create(path, edits),
        Some(stamp) => {
            let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let meta = std::fs::metadata(&real).map_err(|e| format!("{}: {e}", path.display()))?;
            if !meta.is_file() {
                return Err(format!("{} is not a regular file", path.display()));
            }
            // A rename would leave the other names with the old content.
            if meta.nlink() > 1 {
                return Err(format!(
                    "{} has {} hard links, which a replace would split; edit it by hand",
                    path.display(),
                    meta.nlink()
                ));
            }
            let bytes = std::fs::read(&real).map_err(|e| format!("{}: {e}", path.display()))?;
            if text::stamp_of(&bytes, &meta) != stamp {
                return Err(format!(
                    "{} changed since it was read; run keyhole fix again to plan from what it holds now",
                    path.display()
                ));
            }
            let content = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
            let (new, taken) = merge(&content, edits).ok_or_else(|| {
                format!("{}: the planned lines no longer match it; run keyhole fix again", path.display())
            })?;
            let backup = backup(&real, content.as_bytes(), &meta)?;
            if let Err(e) = replace(&real, new.as_bytes(), &meta) {
                let _ = std::fs::remove_file(&backup);
                return Err(e);
            }
            Ok(Written { real, backup: Some(backup), sha256: sha256(new.as_bytes()), taken })
        }
    }
}

/// The content after the edits that fit together: each edit's changes are
/// taken in turn and an edit that no longer applies on top of the ones
/// before (it overlaps them) is left out. None when none applies.
fn merge(content: &str, edits: &[&Edit]) -> Option<(String, Vec<bool>)> {
    let mut changes: Vec<Change> = Vec::new();
    let mut taken = Vec::new();
    for e in edits {
        let mut with: Vec<Change> = changes.clone();
        for c in &e.changes {
            if !with.contains(c) {
                with.push(c.clone());
            }
        }
        let ok = text::apply(content, &with).is_some();
        if ok {
            changes = with;
        }
        taken.push(ok);
    }
    if !taken.iter().any(|t| *t) {
        return None;
    }
    Some((text::apply(content, &changes)?, taken))
}

/// A file the edits create (it did not exist when planned): mode 0600, its
/// directory created (0700) when missing; refused when it exists now.
fn create(path: &Path, edits: &[&Edit]) -> std::result::Result<Written, String> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(format!(
            "{} exists now and did not when it was read; run keyhole fix again to plan from what it holds",
            path.display()
        ));
    }
    let dir = path.parent().ok_or_else(|| format!("{} has no directory", path.display()))?;
    make_dirs(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (new, taken) = merge("", edits).ok_or_else(|| format!("{}: nothing to write", path.display()))?;
    let real = std::fs::canonicalize(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .join(path.file_name().unwrap_or_default());
    let tmp = temp_beside(&real);
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(new.as_bytes())?;
        owned_like_parent(&tmp)?;
        f.sync_all()?;
        // A link, not a rename: it fails when the file appeared meanwhile.
        std::fs::hard_link(&tmp, &real)?;
        std::fs::remove_file(&tmp)?;
        sync_dir(&real)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(Written { real, backup: None, sha256: sha256(new.as_bytes()), taken })
}

/// `FILE.keyhole-bak`, else `FILE.keyhole-bak.1`, `.2`…: a copy of `bytes`
/// with the file's mode and owner, synced before the file is replaced.
fn backup(real: &Path, bytes: &[u8], meta: &std::fs::Metadata) -> std::result::Result<PathBuf, String> {
    let name = real.file_name().unwrap_or_default().to_string_lossy().into_owned();
    for n in 0..1000 {
        let b =
            real.with_file_name(if n == 0 { format!("{name}.keyhole-bak") } else { format!("{name}.keyhole-bak.{n}") });
        let mut f = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&b) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot write the backup {}: {e}", b.display())),
        };
        let done = f
            .write_all(bytes)
            .and_then(|()| same_owner_and_mode(&f, meta))
            .and_then(|()| f.sync_all())
            .and_then(|()| sync_dir(&b));
        return match done {
            Ok(()) => Ok(b),
            Err(e) => {
                let _ = std::fs::remove_file(&b);
                Err(format!("cannot write the backup {}: {e}", b.display()))
            }
        };
    }
    Err(format!("{}: too many backups beside it", real.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use keyhole_core::record::{Code, FixKind};

    use super::*;
    use crate::text::Text;

    fn home(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("keyhole-apply-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn edit(path: &Path, line: usize, old: &str, new: &str) -> Plan {
        let t = Text::read(path);
        Plan::Edit(Edit {
            site: "t:site".into(),
            cause: Code::KeyPlaceholder,
            kind: FixKind::PlaceholderSyntax,
            path: path.to_path_buf(),
            stamp: t.map(|t| t.stamp),
            changes: vec![Change::Replace { line, old: old.into(), new: new.into() }],
            says: "rewrite".into(),
        })
    }

    #[test]
    fn a_write_keeps_mode_endings_and_every_other_byte_and_backs_up() {
        let h = home("keep");
        let f = h.join("config.yaml");
        std::fs::write(&f, "a: 1\r\nkey: ${X}\r\nz: 2").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let p = edit(&f, 2, "key: ${X}", "key: os.environ/X");
        let a = apply(&[p], &Scope::new(h.clone(), vec![]), &Consent::Yes).unwrap();
        assert_eq!(a.fixes[0].state, FixState::Applied, "{:?}", a.fixes[0]);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a: 1\r\nkey: os.environ/X\r\nz: 2");
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777, 0o640);
        let bak = h.join("config.yaml.keyhole-bak");
        assert_eq!(a.fixes[0].backup.as_deref(), Some(bak.to_str().unwrap()));
        assert_eq!(std::fs::read_to_string(&bak).unwrap(), "a: 1\r\nkey: ${X}\r\nz: 2");
        assert!(!std::fs::read_dir(&h).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("tmp")));
        // Undo: the file as it was, the backup and the manifest gone.
        let u = undo::undo(&Scope::new(h.clone(), vec![])).unwrap();
        assert!(u.iter().all(|u| u.refused.is_none()), "{u:?}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a: 1\r\nkey: ${X}\r\nz: 2");
        assert!(!bak.exists() && !undo::manifest_path(&Scope::new(h.clone(), vec![])).exists());
        let _ = std::fs::remove_dir_all(&h);
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_refused_and_left_alone() {
        let h = home("stale");
        let f = h.join("config.yaml");
        std::fs::write(&f, "key: ${X}\n").unwrap();
        let p = edit(&f, 1, "key: ${X}", "key: os.environ/X");
        std::fs::write(&f, "key: ${X}\n# mine\n").unwrap();
        let a = apply(&[p], &Scope::new(h.clone(), vec![]), &Consent::Yes).unwrap();
        assert_eq!(a.fixes[0].state, FixState::Refused);
        assert!(a.fixes[0].why.as_deref().unwrap().contains("changed since it was read"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "key: ${X}\n# mine\n");
        assert_eq!(std::fs::read_dir(&h).unwrap().count(), 1, "no backup, no manifest");
        assert_eq!(a.status(), Status::Found);
        let _ = std::fs::remove_dir_all(&h);
    }

    #[test]
    fn a_file_with_hard_links_is_refused() {
        let h = home("nlink");
        let f = h.join("config.yaml");
        std::fs::write(&f, "key: ${X}\n").unwrap();
        std::fs::hard_link(&f, h.join("other-name.yaml")).unwrap();
        let p = edit(&f, 1, "key: ${X}", "key: os.environ/X");
        let a = apply(&[p], &Scope::new(h.clone(), vec![]), &Consent::Yes).unwrap();
        assert_eq!(a.fixes[0].state, FixState::Refused);
        assert!(a.fixes[0].why.as_deref().unwrap().contains("2 hard links"), "{:?}", a.fixes[0]);
        assert_eq!(std::fs::read_to_string(h.join("other-name.yaml")).unwrap(), "key: ${X}\n");
        let _ = std::fs::remove_dir_all(&h);
    }

    #[test]
    fn a_file_outside_the_scope_is_refused_even_through_a_link() {
        let (h, out) = (home("scope"), home("scope-out"));
        let real = out.join("config.yaml");
        std::fs::write(&real, "key: ${X}\n").unwrap();
        std::os::unix::fs::symlink(&real, h.join("config.yaml")).unwrap();
        for path in [real.clone(), h.join("config.yaml")] {
            let p = edit(&path, 1, "key: ${X}", "key: os.environ/X");
            let a = apply(&[p], &Scope::new(h.clone(), vec![]), &Consent::Yes).unwrap();
            assert_eq!(a.fixes[0].state, FixState::Refused, "{}", path.display());
            assert!(a.fixes[0].why.as_deref().unwrap().contains("outside the analysed home"));
        }
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "key: ${X}\n");
        let _ = (std::fs::remove_dir_all(&h), std::fs::remove_dir_all(&out));
    }

    #[test]
    fn as_root_what_keyhole_makes_in_a_users_home_is_the_users() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: not root (a file made as root in another user's home)");
            return;
        }
        let h = home("owner");
        std::os::unix::fs::chown(&h, Some(4321), Some(4322)).unwrap();
        let f = h.join(".continue/.env");
        let p = Plan::Edit(Edit {
            site: "t:site".into(),
            cause: Code::KeyEnvUnset,
            kind: FixKind::CopyToToolEnv,
            path: f.clone(),
            stamp: None,
            changes: vec![Change::Insert { line: 1, new: "X=v".into() }],
            says: "copy".into(),
        });
        let scope = Scope::new(h.clone(), vec![]);
        let a = apply(&[p], &scope, &Consent::Yes).unwrap();
        assert_eq!(a.fixes[0].state, FixState::Applied, "{:?}", a.fixes[0]);
        let manifest = undo::manifest_path(&scope);
        for made in [f.clone(), h.join(".continue"), manifest.clone(), h.join(".local/state/keyhole"), h.join(".local")]
        {
            let m = std::fs::metadata(&made).unwrap();
            assert_eq!((m.uid(), m.gid()), (4321, 4322), "{}", made.display());
        }
        let _ = std::fs::remove_dir_all(&h);
    }

    #[test]
    fn a_new_file_is_created_0600_and_undo_removes_it() {
        let h = home("create");
        let f = h.join(".continue/.env");
        let p = Plan::Edit(Edit {
            site: "t:site".into(),
            cause: Code::KeyEnvUnset,
            kind: FixKind::CopyToToolEnv,
            path: f.clone(),
            stamp: None,
            changes: vec![Change::Insert { line: 1, new: "X=v".into() }],
            says: "copy".into(),
        });
        let scope = Scope::new(h.clone(), vec![]);
        let a = apply(std::slice::from_ref(&p), &scope, &Consent::Yes).unwrap();
        assert_eq!((a.fixes[0].state, a.fixes[0].backup.as_deref()), (FixState::Applied, None));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "X=v\n");
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        // Planned as new, existing by now: refused.
        let again = apply(&[p], &scope, &Consent::Yes).unwrap();
        assert_eq!(again.fixes[0].state, FixState::Refused);
        // The refused run wrote no manifest: undo undoes the first run, removing the file it created.
        let u = undo::undo(&scope).unwrap();
        assert!(u.iter().all(|u| u.refused.is_none()) && !f.exists(), "{u:?}");
        assert!(undo::undo(&scope).is_err(), "nothing left to undo");
        let _ = std::fs::remove_dir_all(&h);
    }
}
