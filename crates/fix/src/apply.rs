//! `--apply` (docs/fix.md#apply). stub: its owner fills it in.

use keyhole_core::error::Result;
use keyhole_core::Status;

use crate::edit::Plan;
use crate::plan::Scope;

/// Apply `plans` (stub: changes nothing).
pub fn run(plans: &[Plan], scope: &Scope, yes: bool) -> Result<Status> {
    let _ = (plans, scope, yes);
    Ok(Status::Ok)
}
