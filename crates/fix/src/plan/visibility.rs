//! Making a variable visible to the tool's launch context, in the file that
//! context reads (docs/fix.md#move_above_guard, #add_export, #write_launch_env):
//!
//! - `move_above_guard`: an export below an interactive-only guard (Debian's
//!   `.bashrc` returns early for a non-interactive shell) moves above it,
//!   out of a file sourced below the guard too;
//! - `add_export`: an assignment that is not exported gets `export` (and
//!   moves above the guard too when it sits below one);
//! - `write_launch_env`: a service that reads no startup file (a systemd
//!   unit) gets `VAR=…` in its `EnvironmentFile=`, else in the tool's own
//!   `.env`, else an `Environment=` line; a compose service gets `VAR:
//!   ${VAR}` under its `environment:`; without a service, the tool's own
//!   `.env`. The value is copied from the definition's file and line, never
//!   shown.

use std::path::{Path, PathBuf};

use keyhole_core::record::env::{Definition, DefinitionKind, Env, Launcher, LauncherKind};
use keyhole_core::record::{Code, Diagnosis, FixKind, Site};
use keyhole_core::shell::{self, Dialect};

use super::placeholder::append_line;
use super::{copyable, shown, tool_env_file, tool_of, Scope};
use crate::edit::{Change, Edit, Plan};
use crate::text::Text;

/// The plans for a diagnosis of visibility.
pub fn plan(site: &Site, d: &Diagnosis, scope: &Scope) -> Vec<Plan> {
    let Some(env) = site.env.as_ref() else {
        return Vec::new();
    };
    let plan = match d.code {
        Code::KeyAfterGuard => {
            return match move_above_guard(site, d.code, env, scope) {
                Some(Moved::One(e)) => vec![Plan::Edit(e)],
                Some(Moved::Two(a, b)) => vec![Plan::Edit(a), Plan::Edit(b)],
                None => Vec::new(),
            }
        }
        Code::KeyNotExported => env
            .definitions
            .iter()
            .filter(|x| !x.exported && matches!(x.kind, DefinitionKind::Shell | DefinitionKind::Fish))
            .find_map(|x| add_export(site, d.code, env, x, scope)),
        Code::KeyWrongFile => {
            let compose = compose_env(site, d.code, env, scope);
            if !compose.is_empty() {
                return compose.into_iter().map(Plan::Edit).collect();
            }
            write_launch_env(site, d.code, env, scope)
        }
        _ => None,
    };
    plan.map(Plan::Edit).into_iter().collect()
}

/// The one physical line of a single-line assignment of `var` at `line`
/// (None for a line continued with `\` or a quote, or one that is more than
/// the assignment).
fn assignment_line(text: &Text, line: u32, var: &str, dialect: Dialect) -> Option<String> {
    let l = text.line(line as usize)?.to_string();
    if l.trim_end().ends_with('\\') {
        return None;
    }
    let one = shell::assignments(&l, dialect);
    let only = one.len() == 1 && one[0].name == var && !one[0].command_prefix;
    let t = l.trim_start();
    let plain = t.starts_with(var) || t.starts_with("export ") || t.starts_with("set ") || t.starts_with("declare ");
    (only && plain).then_some(l)
}

/// The line a moved definition goes before: the guard's first line, above
/// the comment lines right above it (they belong to the guard).
fn above_guard(text: &Text, guard_line: u32) -> usize {
    let mut at = guard_line as usize;
    // A guard named by a line inside its `case` block: its `case` line.
    let starts = |l: &str| {
        let t = l.trim_start();
        ["case ", "if ", "[ ", "[[ ", "test ", "tty ", "not ", "status ", "return", "exit"]
            .iter()
            .any(|w| t.starts_with(w))
    };
    if !text.line(at).is_some_and(starts) {
        if let Some(up) = (at.saturating_sub(4).max(1)..at)
            .rev()
            .find(|&i| text.line(i).is_some_and(|l| l.trim_start().starts_with("case ")))
        {
            at = up;
        }
    }
    while at > 1 && text.line(at - 1).is_some_and(|l| l.trim_start().starts_with('#')) {
        at -= 1;
    }
    at
}

/// The export an interactive shell ends with moves above the guard; the
/// earlier assignments below the guard in the same file, which it always
/// overrode, are deleted so that every shell ends with the same value.
fn move_above_guard(site: &Site, cause: Code, env: &Env, scope: &Scope) -> Option<Moved> {
    let below = |d: &&Definition| d.kind == DefinitionKind::Shell && d.exported && d.after_guard.is_some();
    let interactive = env.context_sources.get("interactive");
    let d = env
        .definitions
        .iter()
        .filter(below)
        .find(|d| interactive.is_some_and(|at| *at == format!("{}:{}", d.file, d.line)))
        .or_else(|| env.definitions.iter().rev().find(below))?;
    let g = d.after_guard.as_ref()?;
    if d.in_function || d.conditional.is_some() {
        return None;
    }
    if g.file != d.file {
        return move_into_guard_file(site, cause, env, d, scope);
    }
    if g.line >= d.line {
        return None;
    }
    let path = PathBuf::from(&d.file);
    let text = Text::read(&path)?;
    let old = assignment_line(&text, d.line, &env.var, Dialect::Posix)?;
    let at = above_guard(&text, g.line);
    let mut changes = vec![Change::Delete { line: d.line as usize, old: old.clone() }];
    let earlier: Vec<&Definition> =
        env.definitions.iter().filter(|x| x.file == d.file && x.line > g.line && x.line < d.line).collect();
    for x in &earlier {
        if x.in_function || x.conditional.is_some() {
            return None;
        }
        let l = text.line(x.line as usize)?.to_string();
        if l.trim_end().ends_with('\\') {
            return None;
        }
        changes.push(Change::Delete { line: x.line as usize, old: l });
    }
    changes.push(Change::Insert { line: at, new: old.trim_start().to_string() });
    let tool = tool_of(site).map_or(site.tool.as_str(), |t| t.display);
    let also = match earlier.len() {
        0 => String::new(),
        _ => format!(
            "; delete the assignment{} it overrode below the guard (line {})",
            if earlier.len() > 1 { "s" } else { "" },
            earlier.iter().map(|x| x.line.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    Some(Moved::One(Edit {
        site: site.id.clone(),
        cause,
        kind: FixKind::MoveAboveGuard,
        says: format!(
            "move the export of {} from line {} to above the interactive guard (line {}) of {}{also}: {tool} starts without an interactive shell and never reaches it",
            env.var,
            d.line,
            g.line,
            shown(&path, scope)
        ),
        path,
        stamp: Some(text.stamp.clone()),
        changes,
    }))
}

/// A move within one file, or out of a file sourced below the guard into
/// the guard's file.
enum Moved {
    One(Edit),
    Two(Edit, Edit),
}

/// An export in a file sourced below the guard (`. ~/.bash_keys`) moves
/// into the guard's file, above the guard: the rest of the sourced file
/// stays interactive-only. Only when it is the one definition below the guard.
fn move_into_guard_file(site: &Site, cause: Code, env: &Env, d: &Definition, scope: &Scope) -> Option<Moved> {
    let g = d.after_guard.as_ref()?;
    let others = env.definitions.iter().filter(|x| x.after_guard.is_some() && !std::ptr::eq(*x, d)).count();
    if others > 0 || d.kind != DefinitionKind::Shell {
        return None;
    }
    let (from, to) = (PathBuf::from(&d.file), PathBuf::from(&g.file));
    let (src, dst) = (Text::read(&from)?, Text::read(&to)?);
    let old = assignment_line(&src, d.line, &env.var, Dialect::Posix)?;
    let at = above_guard(&dst, g.line);
    let tool = tool_of(site).map_or(site.tool.as_str(), |t| t.display);
    let (f, t) = (shown(&from, scope), shown(&to, scope));
    let delete = Edit {
        site: site.id.clone(),
        cause,
        kind: FixKind::MoveAboveGuard,
        says: format!(
            "move the export of {} out of {f} (line {}), which {t} sources below its interactive guard",
            env.var, d.line
        ),
        path: from,
        stamp: Some(src.stamp.clone()),
        changes: vec![Change::Delete { line: d.line as usize, old: old.clone() }],
    };
    let insert = Edit {
        site: site.id.clone(),
        cause,
        kind: FixKind::MoveAboveGuard,
        says: format!(
            "and into {t} above its interactive guard (line {}): {tool} starts without an interactive shell and never reaches {f}",
            g.line
        ),
        path: to,
        stamp: Some(dst.stamp.clone()),
        changes: vec![Change::Insert { line: at, new: old.trim_start().to_string() }],
    };
    Some(Moved::Two(insert, delete))
}

/// `VAR=value` → `export VAR=value`; fish's `set VAR value` → `set -gx VAR
/// value`, `set -g VAR value` → `set -gx VAR value` (the indentation kept).
fn exported(line: &str, var: &str) -> Option<String> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    if body.strip_prefix(var).is_some_and(|r| r.starts_with('=')) {
        return Some(format!("{indent}export {body}"));
    }
    let rest = body.strip_prefix("set ")?.trim_start();
    let (flags, after) = match rest.strip_prefix('-') {
        Some(f) => {
            let (flags, after) = f.split_once(char::is_whitespace)?;
            (flags, after.trim_start())
        }
        None => ("", rest),
    };
    let value = after.strip_prefix(var).filter(|r| r.starts_with(char::is_whitespace))?;
    if !flags.chars().all(|c| c.is_ascii_alphabetic()) || flags.contains(['x', 'U', 'e']) {
        return None;
    }
    let flags = if flags.is_empty() { "gx".to_string() } else { format!("{flags}x") };
    Some(format!("{indent}set -{flags} {var}{value}"))
}

fn add_export(site: &Site, cause: Code, env: &Env, d: &Definition, scope: &Scope) -> Option<Edit> {
    let path = PathBuf::from(&d.file);
    let text = Text::read(&path)?;
    let dialect = if d.kind == DefinitionKind::Fish { Dialect::Fish } else { Dialect::Posix };
    let old = assignment_line(&text, d.line, &env.var, dialect)?;
    let new = exported(&old, &env.var)?;
    let (changes, where_) = match d.after_guard.as_ref().filter(|g| g.file == d.file && g.line < d.line) {
        // Exported below the guard would still be unseen: it moves above it too.
        Some(g) => {
            let at = above_guard(&text, g.line);
            (
                vec![
                    Change::Delete { line: d.line as usize, old },
                    Change::Insert { line: at, new: new.trim_start().to_string() },
                ],
                format!(", and move it above the interactive guard (line {})", g.line),
            )
        }
        None => (vec![Change::Replace { line: d.line as usize, old, new }], String::new()),
    };
    Some(Edit {
        site: site.id.clone(),
        cause,
        kind: FixKind::AddExport,
        says: format!(
            "export {} on line {} of {}{where_}: an assignment without export never reaches a child process",
            env.var,
            d.line,
            shown(&path, scope)
        ),
        path,
        stamp: Some(text.stamp.clone()),
        changes,
    })
}

/// The files a unit's `EnvironmentFile=` lines name, `%h` as the home.
fn environment_files(unit: &Text, home: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut in_service = false;
    for l in &unit.lines {
        let t = l.trim();
        if t.starts_with('[') {
            in_service = t == "[Service]";
            continue;
        }
        if let Some(v) = t.strip_prefix("EnvironmentFile=").filter(|_| in_service) {
            let v = v.trim().trim_start_matches('-').trim_matches('"');
            let v = v.replace("%h", &home.display().to_string());
            if v.starts_with('/') {
                out.push(PathBuf::from(v));
            }
        }
    }
    out
}

/// Where an `Environment=` line goes: after the last `Environment=` or
/// `EnvironmentFile=` of `[Service]`, else right after `[Service]`.
fn environment_slot(unit: &Text) -> Option<usize> {
    let start = unit.lines.iter().position(|l| l.trim() == "[Service]")?;
    let end = unit.lines[start + 1..]
        .iter()
        .position(|l| l.trim().starts_with('['))
        .map_or(unit.lines.len(), |e| start + 1 + e);
    let last = (start + 1..end).rev().find(|&i| {
        let t = unit.lines[i].trim_start();
        t.starts_with("Environment=") || t.starts_with("EnvironmentFile=")
    });
    Some(last.unwrap_or(start) + 2)
}

fn write_launch_env(site: &Site, cause: Code, env: &Env, scope: &Scope) -> Option<Edit> {
    let var = env.var.as_str();
    let (def, value) = copyable(env, scope)?;
    let from = format!("{}:{}", shown(Path::new(&def.file), scope), def.line);
    let tool = tool_of(site);
    let tool_env = tool.and_then(|t| tool_env_file(t, scope));
    let units: Vec<&Launcher> = env
        .launchers
        .iter()
        .filter(|l| l.sees == Some(false) && matches!(l.kind, LauncherKind::SystemdUser | LauncherKind::SystemdSystem))
        .collect();
    let copied = "(the value is copied, never shown)";
    if let Some(l) = units.first() {
        let unit_path = PathBuf::from(&l.file);
        let unit = Text::read(&unit_path)?;
        if let Some(target) = environment_files(&unit, &scope.home).into_iter().find(|p| scope.contains(p)) {
            let mut e = append_line(site, cause, FixKind::WriteLaunchEnv, &target, var, &value, scope)?;
            e.says = format!(
                "copy {var} from {from} into {}, the EnvironmentFile= of {} {copied}",
                shown(&target, scope),
                l.name
            );
            return Some(e);
        }
        if let Some((target, _)) = tool_env {
            let mut e = append_line(site, cause, FixKind::WriteLaunchEnv, &target, var, &value, scope)?;
            e.says = format!(
                "copy {var} from {from} into {}, which {} loads itself however {} starts it {copied}",
                shown(&target, scope),
                tool.map_or(site.tool.as_str(), |t| t.display),
                l.name
            );
            return Some(e);
        }
        let at = environment_slot(&unit)?;
        let assignment = super::env_line(var, &value);
        let new = if assignment.contains(['\'', '"', ' ']) {
            format!("Environment=\"{}\"", assignment.replace('"', "\\\""))
        } else {
            format!("Environment={assignment}")
        };
        return Some(Edit {
            site: site.id.clone(),
            cause,
            kind: FixKind::WriteLaunchEnv,
            says: format!("copy {var} from {from} into an Environment= line of {} {copied}", shown(&unit_path, scope)),
            path: unit_path,
            stamp: Some(unit.stamp.clone()),
            changes: vec![Change::Insert { line: at, new }],
        });
    }
    // No service: the tool's own .env, which it loads whatever starts it.
    let (target, _) = tool_env?;
    let mut e = append_line(site, cause, FixKind::WriteLaunchEnv, &target, var, &value, scope)?;
    e.says = format!(
        "copy {var} from {from} into {}, which {} loads itself {copied}",
        shown(&target, scope),
        tool.map_or(site.tool.as_str(), |t| t.display)
    );
    Some(e)
}

/// Where a line under a compose service's `environment:` goes, and the line
/// passing `var` by name (`VAR: ${VAR}`, or `- VAR=${VAR}` in a list);
/// None when the service has no block `environment:` with items.
fn compose_slot(text: &Text, service: &str, var: &str) -> Option<(usize, String)> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let content = |l: &&String| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let lines = &text.lines;
    let services = lines.iter().position(|l| l.trim_end() == "services:")?;
    let names = [format!("{service}:"), format!("\"{service}\":"), format!("'{service}':")];
    let at =
        (services + 1..lines.len()).find(|&i| indent(&lines[i]) > 0 && names.contains(&lines[i].trim().to_string()))?;
    let own = indent(&lines[at]);
    let end = (at + 1..lines.len()).find(|&i| content(&&lines[i]) && indent(&lines[i]) <= own).unwrap_or(lines.len());
    let child = (at + 1..end).find(|&i| content(&&lines[i])).map(|i| indent(&lines[i]))?;
    let env = (at + 1..end).find(|&i| indent(&lines[i]) == child && lines[i].trim() == "environment:")?;
    let items: Vec<usize> = (env + 1..end)
        .take_while(|&i| !content(&&lines[i]) || indent(&lines[i]) > child)
        .filter(|&i| content(&&lines[i]))
        .collect();
    let (first, last) = (*items.first()?, *items.last()?);
    let item = lines[first].trim_start();
    let pad = &lines[first][..indent(&lines[first])];
    let names_var = |i: &usize| {
        let t = lines[*i].trim_start().trim_start_matches("- ").trim_start();
        t.strip_prefix(var).is_some_and(|r| r.starts_with(':') || r.starts_with('=') || r.trim().is_empty())
    };
    if items.iter().any(names_var) {
        return None;
    }
    let new =
        if item.starts_with("- ") { format!("{pad}- {var}=${{{var}}}") } else { format!("{pad}{var}: ${{{var}}}") };
    Some((last + 2, new))
}

/// A compose service that does not pass `var` on (`docker compose` reads
/// the `.env` beside the file only for `${…}` in it): `VAR: ${VAR}` under
/// its `environment:`, and `VAR=…` in that `.env` when it lacks it, the
/// value copied from its definition.
fn compose_env(site: &Site, cause: Code, env: &Env, scope: &Scope) -> Vec<Edit> {
    let var = env.var.as_str();
    let Some(l) = env.launchers.iter().find(|l| l.sees == Some(false) && l.kind == LauncherKind::Compose) else {
        return Vec::new();
    };
    let file = PathBuf::from(&l.file);
    let Some(text) = Text::read(&file) else { return Vec::new() };
    let Some((at, new)) = compose_slot(&text, &l.name, var) else { return Vec::new() };
    let beside = file.with_file_name(".env");
    let mut out = vec![Edit {
        site: site.id.clone(),
        cause,
        kind: FixKind::WriteLaunchEnv,
        says: format!(
            "pass {var} to the compose service {} in {}: the .env beside it fills in ${{{var}}}",
            l.name,
            shown(&file, scope)
        ),
        path: file,
        stamp: Some(text.stamp.clone()),
        changes: vec![Change::Insert { line: at, new }],
    }];
    let defines = Text::read(&beside).is_some_and(|t| {
        t.lines.iter().any(|x| {
            let x = x.trim_start();
            x.strip_prefix("export ").unwrap_or(x).strip_prefix(var).is_some_and(|r| r.trim_start().starts_with('='))
        })
    });
    if !defines {
        let Some((def, value)) = copyable(env, scope) else { return Vec::new() };
        let Some(mut e) = append_line(site, cause, FixKind::WriteLaunchEnv, &beside, var, &value, scope) else {
            return Vec::new();
        };
        e.says = format!(
            "copy {var} from {}:{} into {}, where compose takes ${{{var}}} from (the value is copied, never shown)",
            shown(Path::new(&def.file), scope),
            def.line,
            shown(&beside, scope)
        );
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::exported;

    #[test]
    fn export_is_added_the_shells_way() {
        assert_eq!(exported("  OR_KEY=abc", "OR_KEY").as_deref(), Some("  export OR_KEY=abc"));
        assert_eq!(exported("set OR_KEY abc", "OR_KEY").as_deref(), Some("set -gx OR_KEY abc"));
        assert_eq!(exported("    set -g OR_KEY 'a b'", "OR_KEY").as_deref(), Some("    set -gx OR_KEY 'a b'"));
        assert_eq!(exported("set -U OR_KEY abc", "OR_KEY"), None);
        assert_eq!(exported("OR_KEYS=abc", "OR_KEY"), None);
        assert_eq!(exported("set OR_KEYS abc", "OR_KEY"), None);
    }
}
