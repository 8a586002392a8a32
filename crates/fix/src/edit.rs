//! The edits keyhole-fix plans (docs/fix.md): in memory only. A [`Change`]
//! may hold a key (a value copied from where it is defined) and is never
//! serialized; the `fix` record (docs/records.md#fix) shows the changed lines
//! with keys as redaction markers.

use std::path::PathBuf;
use std::time::SystemTime;

use keyhole_core::record::{Code, FixKind};

/// What a file was when it was read: an edit is refused when any of it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub mtime: SystemTime,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// One line-level change of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Replace line `line` (1-based); `old` is its current text without the line ending.
    Replace { line: usize, old: String, new: String },
    /// Delete line `line`, whose current text is `old`.
    Delete { line: usize, old: String },
    /// Insert `new` as a new line before line `line` (`line` = count + 1 appends).
    Insert { line: usize, new: String },
}

impl Change {
    /// The 1-based line the change is at.
    pub fn line(&self) -> usize {
        match self {
            Change::Replace { line, .. } | Change::Delete { line, .. } | Change::Insert { line, .. } => *line,
        }
    }
}

/// The smallest correct edit of one file for one root cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The site's id.
    pub site: String,
    /// The root cause this edit fixes.
    pub cause: Code,
    pub kind: FixKind,
    /// Absolute.
    pub path: PathBuf,
    /// None: the file does not exist yet and is created (mode 0600).
    pub stamp: Option<Stamp>,
    /// Line numbers refer to the file as read; applied bottom-up.
    pub changes: Vec<Change>,
    /// One sentence for people, never a key.
    pub says: String,
}

/// A root cause that is not a file edit: the command to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub site: String,
    pub cause: Code,
    pub kind: FixKind,
    pub command: String,
    pub says: String,
}

/// One planned fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    Edit(Edit),
    Action(Action),
}

impl Plan {
    pub fn site(&self) -> &str {
        match self {
            Plan::Edit(e) => &e.site,
            Plan::Action(a) => &a.site,
        }
    }
    pub fn kind(&self) -> FixKind {
        match self {
            Plan::Edit(e) => e.kind,
            Plan::Action(a) => a.kind,
        }
    }
}
