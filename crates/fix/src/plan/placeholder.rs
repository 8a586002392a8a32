//! Placeholders (docs/fix.md#placeholder_syntax): a key field the tool sends
//! as text because it is written in another tool's substitution syntax
//! (`key.placeholder`) is rewritten in the tool's own (the first syntax of
//! its catalogue `expands` that names a variable): Continue's
//! `${{ secrets.X }}`, LiteLLM's `os.environ/X`, opencode's `{env:X}`.
//!
//! `copy_to_tool_env`: when the tool resolves that syntax from its own
//! `.env` in the home (catalogue `dotenv`, `~/…`) and the value is defined
//! only in shell startup files, `X=…` is added there, the value copied from
//! the definition's file and line (docs/fix.md#copy_to_tool_env).

use std::path::{Path, PathBuf};

use keyhole_core::record::env::DefinitionKind;
use keyhole_core::record::{Code, Diagnosis, FixKind, KeySource, Site};
use keyhole_core::syntax::{self, Yields};
use keyhole_core::tool::Tool;

use super::{copyable, env_for, env_line, shown, tool_env_file, tool_of, Scope};
use crate::edit::{Change, Edit, Plan};
use crate::text::Text;

/// The plans for a `key.placeholder` diagnosis.
pub fn plan(site: &Site, d: &Diagnosis, scope: &Scope) -> Vec<Plan> {
    if d.code != Code::KeyPlaceholder || site.key.from != KeySource::Placeholder {
        return Vec::new();
    }
    let (Some(tool), Some(text), Some(var)) = (tool_of(site), site.key.text.as_deref(), site.key.var.as_deref()) else {
        return Vec::new();
    };
    if !syntax::is_identifier(var) {
        return Vec::new();
    }
    let Some((new_text, form)) = rewrite(tool, text, var) else {
        return Vec::new();
    };
    let path = PathBuf::from(&site.source.file);
    let Some(file) = Text::read(&path) else {
        return Vec::new();
    };
    let Some(n) = line_with(&file, site.source.line as usize, text) else {
        return Vec::new();
    };
    let old = file.lines[n - 1].clone();
    let new = old.replacen(text, &new_text, 1);
    let mut out = vec![Plan::Edit(Edit {
        site: site.id.clone(),
        cause: d.code,
        kind: FixKind::PlaceholderSyntax,
        path: path.clone(),
        stamp: Some(file.stamp.clone()),
        changes: vec![Change::Replace { line: n, old, new }],
        says: format!(
            "rewrite {text} as {new_text} on line {n} of {}: {} expands {form} and sends anything else as it is",
            shown(&path, scope),
            tool.display
        ),
    })];
    out.extend(copy_to_tool_env(site, tool, var, d.code, scope));
    out
}

/// `text` with its reference to `var` in the tool's own syntax, and that
/// syntax's form; checked by reading it back as the tool does.
pub fn rewrite(tool: &Tool, text: &str, var: &str) -> Option<(String, &'static str)> {
    let old_ref = syntax::detect(text).map(|(s, name)| s.form.replace("NAME", &name)).filter(|r| text.contains(r));
    for name in tool.expands {
        let (name, upper_only) = match *name {
            "dollar_brace_upper" => ("dollar_brace", true),
            n => (n, false),
        };
        let Some(s) = syntax::get(name).filter(|s| s.yields == Yields::Var && s.name != "inputs") else {
            continue;
        };
        if upper_only && !var.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
            continue;
        }
        let reference = s.form.replace("NAME", var);
        let mut candidates: Vec<String> = old_ref.iter().map(|r| text.replacen(r.as_str(), &reference, 1)).collect();
        candidates.push(reference);
        for c in candidates {
            let k = syntax::classify(tool.name, tool.expands, &c);
            if k.as_ref().is_some_and(|k| k.from == KeySource::Env && k.var.as_deref() == Some(var)) {
                return Some((c, s.form));
            }
        }
    }
    None
}

/// The line that holds `text`: `at` when it does, else the one line of the file that does.
fn line_with(file: &Text, at: usize, text: &str) -> Option<usize> {
    if file.line(at).is_some_and(|l| l.contains(text)) {
        return Some(at);
    }
    let mut hits = file.lines.iter().enumerate().filter(|(_, l)| l.contains(text)).map(|(i, _)| i + 1);
    match (hits.next(), hits.next()) {
        (Some(n), None) => Some(n),
        _ => None,
    }
}

/// `VAR=…` added to the tool's own `.env` in the home, when the value is
/// defined only in shell startup files (never a `.env` the tool loads).
pub fn copy_to_tool_env(site: &Site, tool: &Tool, var: &str, cause: Code, scope: &Scope) -> Option<Plan> {
    let (path, _) = tool_env_file(tool, scope)?;
    let env = env_for(site, var, scope);
    let shell_only = !env.definitions.is_empty()
        && env
            .definitions
            .iter()
            .all(|d| matches!(d.kind, DefinitionKind::Shell | DefinitionKind::Fish | DefinitionKind::FishUniversal));
    if !shell_only {
        return None;
    }
    let (def, value) = copyable(&env, scope)?;
    append_line(site, cause, FixKind::CopyToToolEnv, &path, var, &value, scope).map(|mut e| {
        e.says = format!(
            "copy {var} from {}:{} into {}, where {} reads it (the value is copied, never shown)",
            shown(Path::new(&def.file), scope),
            def.line,
            shown(&path, scope),
            tool.display
        );
        Plan::Edit(e)
    })
}

/// An edit that appends `VAR=value` to the `.env`-style file `path`
/// (created when missing); None when the file already assigns `var`.
pub fn append_line(
    site: &Site,
    cause: Code,
    kind: FixKind,
    path: &Path,
    var: &str,
    value: &str,
    scope: &Scope,
) -> Option<Edit> {
    let line = env_line(var, value);
    let (stamp, at) = if path.exists() {
        let t = Text::read(path)?;
        let assigns = |l: &String| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            l.strip_prefix(var).is_some_and(|r| r.trim_start().starts_with('='))
        };
        if t.lines.iter().any(assigns) {
            return None;
        }
        (Some(t.stamp.clone()), t.lines.len() + 1)
    } else {
        (None, 1)
    };
    Some(Edit {
        site: site.id.clone(),
        cause,
        kind,
        path: path.to_path_buf(),
        stamp,
        changes: vec![Change::Insert { line: at, new: line }],
        says: format!("add {var}=… to {}", shown(path, scope)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyhole_core::tool::TOOLS;

    /// Every catalogued tool that expands a variable syntax: every other
    /// tool's reference it sends as text is rewritten into one it expands.
    #[test]
    fn every_foreign_reference_is_rewritten_into_the_tools_own_syntax() {
        let foreign =
            ["${env:OR_KEY}", "${OR_KEY}", "{env:OR_KEY}", "os.environ/OR_KEY", "${{ secrets.OR_KEY }}", "$OR_KEY"];
        let mut rewritten = 0;
        for tool in TOOLS {
            for text in foreign {
                let k = syntax::classify(tool.name, tool.expands, text);
                if !k.as_ref().is_some_and(|k| k.from == KeySource::Placeholder && k.var.as_deref() == Some("OR_KEY")) {
                    continue;
                }
                let Some((new, _)) = rewrite(tool, text, "OR_KEY") else {
                    assert!(
                        !tool
                            .expands
                            .iter()
                            .any(|e| syntax::get(e).is_some_and(|s| s.yields == Yields::Var && s.name != "inputs")),
                        "{}: {text} not rewritten",
                        tool.name
                    );
                    continue;
                };
                let back = syntax::classify(tool.name, tool.expands, &new).unwrap();
                assert_eq!((back.from, back.var.as_deref()), (KeySource::Env, Some("OR_KEY")), "{}: {new}", tool.name);
                rewritten += 1;
            }
        }
        assert!(rewritten >= 20, "{rewritten}");
        // Text around the reference stays.
        let tool = TOOLS.iter().find(|t| t.expands.first() == Some(&"secrets")).unwrap();
        assert_eq!(rewrite(tool, "Bearer ${env:X}", "X").unwrap().0, "Bearer ${{ secrets.X }}");
    }
}
