//! How keyhole-fix touches the disk (docs/fix.md#--apply): an atomic
//! replace that keeps owner and mode, directories and files owned like the
//! directory they are made in, and the SHA-256 that stamps and manifests
//! compare. `apply` and `undo` both write through here.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, as lower-case hex.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Replace `real` with `bytes` atomically: a temporary file beside it with
/// its mode and owner, fsync, rename, fsync of the directory.
pub fn replace(real: &Path, bytes: &[u8], meta: &std::fs::Metadata) -> std::result::Result<(), String> {
    let tmp = temp_beside(real);
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(bytes)?;
        same_owner_and_mode(&f, meta)?;
        f.sync_all()?;
        std::fs::rename(&tmp, real)?;
        sync_dir(real)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", real.display())
    })
}

/// The file's owner and mode on `f` (a different owner only as root; for
/// anyone else a file owned by someone else is refused, never taken over).
pub fn same_owner_and_mode(f: &File, meta: &std::fs::Metadata) -> std::io::Result<()> {
    let mine = f.metadata()?;
    if mine.uid() != meta.uid() || mine.gid() != meta.gid() {
        std::os::unix::fs::fchown(f, Some(meta.uid()), Some(meta.gid()))?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
}

/// `dir` and its missing ancestors, each 0700 and owned like the directory
/// it is made in (as root in someone's home: theirs, never root's).
pub fn make_dirs(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        make_dirs(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if !(e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir()) => Err(e),
        _ => owned_like_parent(dir),
    }
}

/// A file or directory keyhole made: owned by its directory's owner when
/// keyhole runs as root (a file root made in a user's home would be root's);
/// anyone else makes only their own.
pub fn owned_like_parent(p: &Path) -> std::io::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Some(parent) = p.parent() else { return Ok(()) };
    let (dir, mine) = (std::fs::metadata(parent)?, std::fs::symlink_metadata(p)?);
    if (dir.uid(), dir.gid()) == (mine.uid(), mine.gid()) {
        return Ok(());
    }
    std::os::unix::fs::lchown(p, Some(dir.uid()), Some(dir.gid()))
}

/// A temporary name beside `real`, hidden, naming this process.
pub fn temp_beside(real: &Path) -> PathBuf {
    let name = real.file_name().unwrap_or_default().to_string_lossy().into_owned();
    real.with_file_name(format!(".{name}.keyhole-tmp.{}", std::process::id()))
}

/// fsync of the directory `file` is in (a rename is durable only then).
pub fn sync_dir(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(d) => File::open(d)?.sync_all(),
        None => Ok(()),
    }
}
