//! Re-run the diagnosis after applying (docs/fix.md#apply). stub: its owner fills it in.

use crate::edit::Plan;

/// The sites the plans touch, for the re-run (stub: none).
pub fn affected_sites(plans: &[Plan]) -> Vec<String> {
    let _ = plans;
    Vec::new()
}
