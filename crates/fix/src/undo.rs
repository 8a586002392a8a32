//! `--undo` (docs/fix.md#undo). stub: its owner fills it in.

use keyhole_core::error::Result;
use keyhole_core::Status;

use crate::plan::Scope;

/// Restore the last run's backups (stub: changes nothing).
pub fn run(scope: &Scope) -> Result<Status> {
    let _ = scope;
    Ok(Status::Ok)
}
