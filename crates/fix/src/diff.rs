//! `--diff`: a unified diff of every planned edit, per file, for review
//! (docs/fix.md#--diff). Keys appear as their redaction markers, never in clear.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::edit::{Change, Edit, Plan};
use crate::redaction;
use crate::text;

/// The unified diff of `plans` (edits of one file merged), keys as markers.
/// Commands are listed after the diffs, one `# run:` line each.
pub fn unified(plans: &[Plan]) -> String {
    let mut by_file: BTreeMap<PathBuf, Vec<&Edit>> = BTreeMap::new();
    let mut out = String::new();
    for p in plans {
        if let Plan::Edit(e) = p {
            by_file.entry(e.path.clone()).or_default().push(e);
        }
    }
    for (path, edits) in &by_file {
        let old = if edits.iter().all(|e| e.stamp.is_none()) {
            String::new()
        } else {
            match std::fs::read_to_string(path) {
                Ok(s) => s,
                Err(e) => {
                    out.push_str(&format!(
                        "# {}: cannot be read ({e}): no diff\n",
                        redaction::line(&path.display().to_string())
                    ));
                    continue;
                }
            }
        };
        let changes: Vec<Change> = edits.iter().flat_map(|e| e.changes.iter().cloned()).collect();
        let Some(new) = text::apply(&old, &changes) else {
            out.push_str(&format!(
                "# {}: the planned edits no longer fit the file (it changed since it was read): run the pipeline again\n",
                redaction::line(&path.display().to_string())
            ));
            continue;
        };
        let shown = path.display().to_string();
        let from = if old.is_empty() && edits.iter().all(|e| e.stamp.is_none()) {
            "/dev/null".to_string()
        } else {
            format!("a{shown}")
        };
        let d = similar::TextDiff::from_lines(&old, &new);
        let body = d.unified_diff().context_radius(3).header(&from, &format!("b{shown}")).to_string();
        for e in edits {
            out.push_str(&format!("# {}\n", keyhole_core::redact::text(&e.says)));
        }
        for line in body.split_inclusive('\n') {
            out.push_str(&redaction::line(line));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    for p in plans {
        if let Plan::Action(a) = p {
            out.push_str(&format!(
                "# {}\n# run: {}\n",
                keyhole_core::redact::text(&a.says),
                redaction::line(&a.command)
            ));
        }
    }
    out
}
