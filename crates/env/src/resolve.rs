//! The tool's credential resolution, evaluated against the evidence
//! (docs/launch-contexts.md#resolution): every place the tool can take the
//! variable's value from, in the tool's own order (catalogue `stores` and
//! `dotenv` rules), with what each does with empty values and duplicate
//! lines. The first candidate that holds a value is what the tool sends;
//! every other one says why it lost.

use std::collections::BTreeMap;
use std::path::Path;

use keyhole_core::dotenv::{self, Flavor};
use keyhole_core::fsread;
use keyhole_core::provider::Provider;
use keyhole_core::record::env::{Candidate, Effective, Outcome, SourceKind};
use keyhole_core::record::Extra;
use keyhole_core::secret::Fingerprint;
use keyhole_core::tool::{Saved, Store, Tool};

use crate::{dotenv_files, Options, CAP};

/// What the resolver is asked.
pub struct Ask<'a> {
    pub var: &'a str,
    pub tool: Option<&'static Tool>,
    /// The tool reads the variable on its own (no reference in its config):
    /// only then do its saved credentials take part.
    pub implicit: bool,
    pub provider: Option<&'a Provider>,
    pub opts: &'a Options,
    pub project: Option<&'a Path>,
    /// The directory of the tool's installed code, when its process was found.
    pub install: Option<&'a Path>,
    /// The site's config file (for a config block that sets variables).
    pub site_file: Option<&'a Path>,
    /// The environment of the tool's own running process, when one was found.
    pub process: Option<(u32, &'a BTreeMap<String, Vec<u8>>)>,
}

/// One value found, before the order decides.
struct Found {
    source: SourceKind,
    at: String,
    line: Option<u32>,
    /// `None`: a login or an unreadable store (no value to fingerprint).
    value: Option<Vec<u8>>,
    outcome: Option<Outcome>,
    because: String,
    overrides_env: bool,
}

impl Found {
    fn new(source: SourceKind, at: String, line: Option<u32>, value: Option<Vec<u8>>) -> Found {
        Found { source, at, line, value, outcome: None, because: String::new(), overrides_env: false }
    }
}

/// The candidates, in order, and the one the tool sends.
pub fn resolve(ask: &Ask) -> (Vec<Candidate>, Option<Effective>) {
    let empty_is_unset = ask.tool.is_some_and(|t| t.empty_is_unset);
    let name = ask.tool.map_or("the tool", |t| t.display);
    let files = match ask.tool {
        Some(t) => dotenv_files(Some(t), ask.opts, ask.project, ask.install),
        None => Vec::new(),
    };
    let stores: &[Store] = match ask.tool {
        Some(t) if ask.implicit => t.stores,
        _ => &[],
    };
    // The environment the tool starts with: its process's, else the analysed one.
    let env_now = ask.process.map_or(&ask.opts.env, |(_, e)| e);
    let mut found: Vec<Found> = Vec::new();
    // The tool's config sets the variable itself (LiteLLM's environment_variables:).
    if let (Some(ce), Some(file)) = (ask.tool.and_then(|t| t.config_env), ask.site_file) {
        if ask.implicit || !ce.implicit_only {
            found.extend(config_value(file, ce.pointer, ask.var));
        }
    }
    for s in stores.iter().filter(|s| s.beats_env) {
        found.extend(store_value(s, ask, name));
    }
    for f in files.iter().filter(|f| f.rule.overrides_env) {
        found.extend(file_values(&f.path, f.flavor, ask.var, true, empty_is_unset, name, env_now));
    }
    let (at, value) = match ask.process {
        Some((pid, env)) => (format!("process:{pid}"), env.get(ask.var)),
        None => ("environment".to_string(), ask.opts.env.get(ask.var)),
    };
    if let Some(v) = value {
        let source = if ask.process.is_some() { SourceKind::Process } else { SourceKind::Environment };
        let mut f = Found::new(source, at, None, Some(v.clone()));
        if v.is_empty() && empty_is_unset {
            f.outcome = Some(Outcome::SkippedEmpty);
            f.because = format!("{name} treats an empty value as unset and goes on");
        }
        found.push(f);
    }
    for f in files.iter().filter(|f| !f.rule.overrides_env) {
        found.extend(file_values(&f.path, f.flavor, ask.var, false, empty_is_unset, name, env_now));
    }
    // Stores the variable beats fill only what is still unset after the .env files
    // (Qwen Code's settings env block loses to the project .env: measured).
    for s in stores.iter().filter(|s| !s.beats_env) {
        found.extend(store_value(s, ask, name));
    }
    // The first candidate still standing is sent; the others lose to it.
    let winner = found.iter().position(|f| f.outcome.is_none());
    if let Some(w) = winner {
        let why = winner_reason(&found[w], name);
        let wat = at_line(&found[w]);
        for (i, f) in found.iter_mut().enumerate() {
            if i == w {
                f.outcome = Some(Outcome::Sends);
                f.because = why.clone();
            } else if f.outcome.is_none() {
                f.outcome = Some(Outcome::Shadowed);
                f.because = format!("{wat} comes first: {why}");
            }
        }
    }
    let fp = |v: &[u8]| Fingerprint::of(v, ask.provider);
    let effective = winner.map(|w| {
        let f = &found[w];
        Effective {
            from: f.at.clone(),
            line: f.line,
            fp: f.value.as_deref().map(fp),
            overrides_env: f.overrides_env,
            extra: Extra::new(),
        }
    });
    let candidates = found
        .into_iter()
        .map(|f| Candidate {
            fp: f.value.as_deref().map(fp),
            source: f.source,
            at: f.at,
            line: f.line,
            outcome: f.outcome.unwrap_or(Outcome::Shadowed),
            because: f.because,
            extra: Extra::new(),
        })
        .collect();
    (candidates, effective)
}

fn at_line(f: &Found) -> String {
    match f.line {
        Some(l) => format!("{}:{l}", f.at),
        None => f.at.clone(),
    }
}

/// Why the winner wins, in words.
fn winner_reason(f: &Found, name: &str) -> String {
    match f.source {
        SourceKind::Store => format!("{name} uses the credential it saved itself before the environment"),
        SourceKind::Dotenv if f.overrides_env => format!("{name} loads this file with override: it beats the shell"),
        SourceKind::Dotenv => "the variable is not in the environment, so the file's value is used".into(),
        SourceKind::Process => "the running process's own environment".into(),
        SourceKind::Environment => "the environment comes first".into(),
        SourceKind::Launcher => "the service definition sets it".into(),
        SourceKind::Config => format!("{name}'s config sets it over the environment"),
    }
}

/// The variable's lines in one `.env` file: the parsers keyhole knows
/// (python-dotenv, Node's dotenv) take the last line of a name; an earlier
/// one is overridden, and an empty one is skipped where the tool says so.
fn file_values(
    path: &Path,
    flavor: Flavor,
    var: &str,
    overrides: bool,
    empty_is_unset: bool,
    name: &str,
    env: &BTreeMap<String, Vec<u8>>,
) -> Vec<Found> {
    let Ok(text) = fsread::read_text(path, CAP) else { return Vec::new() };
    let entries: Vec<dotenv::Entry> = dotenv::parse(&text, flavor).into_iter().filter(|e| e.name == var).collect();
    let at = path.display().to_string();
    let parser = match flavor {
        Flavor::Python => "python-dotenv",
        Flavor::Node => "Node's dotenv",
    };
    // python-dotenv expands ${OTHER} in a value; the tool gets the expanded text.
    let all = dotenv::parse(&text, flavor);
    let value_of = |e: &dotenv::Entry| -> Vec<u8> {
        let i = all.iter().position(|x| x.line == e.line && x.name == e.name).unwrap_or(0);
        dotenv::loaded_value(&all, i, &|n| env.get(n).cloned(), overrides)
    };
    let last = entries.len().saturating_sub(1);
    let last_line = entries.last().map_or(0, |e| e.line);
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let value = value_of(&e);
            let empty = value.is_empty();
            let mut f = Found::new(SourceKind::Dotenv, at.clone(), Some(e.line), Some(value));
            f.overrides_env = overrides;
            if i < last {
                f.outcome = Some(Outcome::Overridden);
                f.because = format!("line {last_line} of the same file sets it again, and {parser} takes the last");
            } else if empty && empty_is_unset {
                f.outcome = Some(Outcome::SkippedEmpty);
                f.because = format!("{name} treats an empty value as unset and goes on");
            }
            f
        })
        .collect()
}

/// The variable in a block of the site's config that sets environment variables.
fn config_value(file: &Path, pointer: &str, var: &str) -> Option<Found> {
    let (value, line) = keyhole_core::tool::config_env_value(file, pointer, var)?;
    let mut f = Found::new(SourceKind::Config, file.display().to_string(), Some(line), Some(value.into_bytes()));
    f.overrides_env = true;
    Some(f)
}

/// A credential the tool saved itself: its key, a login, or nothing.
fn store_value(s: &Store, ask: &Ask, name: &str) -> Option<Found> {
    let at = s.file(&ask.opts.home).display().to_string();
    match s.read(&ask.opts.home, ask.provider.map_or("", |p| p.name), ask.var)? {
        Saved::Key(k) => Some(Found::new(SourceKind::Store, at, None, Some(k.expose().to_vec()))),
        Saved::Login => {
            let mut f = Found::new(SourceKind::Store, at, None, None);
            if !s.beats_env {
                // A login the tool uses only when no key is set: not a value that competes.
                f.outcome = Some(Outcome::Unreadable);
                f.because = format!("a login {name} uses only when no key is set");
            }
            Some(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyhole_core::tool;

    fn opts(home: &Path, env: &[(&str, &str)]) -> Options {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
        Options::new(home.to_path_buf(), env, home.join("proc"))
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("keyhole-resolve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_last_duplicate_line_wins_and_the_earlier_is_overridden() {
        let home = temp("dup");
        std::fs::create_dir_all(home.join(".hermes")).unwrap();
        std::fs::write(home.join(".hermes/.env"), "OPENROUTER_API_KEY=first\nOTHER=1\nOPENROUTER_API_KEY=second\n")
            .unwrap();
        let o = opts(&home, &[("OPENROUTER_API_KEY", "shell")]);
        let ask = Ask {
            var: "OPENROUTER_API_KEY",
            tool: tool::get("hermes"),
            implicit: true,
            provider: None,
            opts: &o,
            project: None,
            install: None,
            site_file: None,
            process: None,
        };
        let (c, eff) = resolve(&ask);
        let outcomes: Vec<(Option<u32>, Outcome)> = c.iter().map(|c| (c.line, c.outcome)).collect();
        assert_eq!(
            outcomes,
            vec![(Some(1), Outcome::Overridden), (Some(3), Outcome::Sends), (None, Outcome::Shadowed)],
            "{c:?}"
        );
        assert_eq!(eff.unwrap().line, Some(3));
        let _ = std::fs::remove_dir_all(home);
    }

    #[test]
    fn an_empty_line_with_override_is_sent_and_shadows_the_shell() {
        let home = temp("blank");
        let project = home.join("proj");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join(".env"), "ANTHROPIC_API_KEY=\n").unwrap();
        let o = opts(&home, &[("ANTHROPIC_API_KEY", "sk-ant-good")]);
        let ask = Ask {
            var: "ANTHROPIC_API_KEY",
            tool: tool::get("aider"),
            implicit: true,
            provider: None,
            opts: &o,
            project: Some(&project),
            install: None,
            site_file: None,
            process: None,
        };
        let (c, eff) = resolve(&ask);
        assert_eq!(c[0].outcome, Outcome::Sends);
        assert_eq!(c[0].fp.as_ref().unwrap().len, 0);
        assert_eq!(c[1].outcome, Outcome::Shadowed);
        assert!(eff.unwrap().overrides_env);
        let _ = std::fs::remove_dir_all(home);
    }
}
