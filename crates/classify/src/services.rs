//! Causes found in the service definitions that start a tool (`env.launchers`,
//! docs/launch-contexts.md#services): a systemd unit, a compose service or a
//! crontab line that starts the tool without the variable, and a running
//! process of a unit that started before the unit had it. They come before
//! the shell-based causes: a unit reads no `.bashrc`, so "move the export"
//! cannot help it.

use keyhole_core::record::env::{Env, Launcher, LauncherKind, Outcome, SourceKind};
use keyhole_core::record::{Code, Diagnosis, Severity, Site};
use keyhole_core::tool;

/// The unit's name without `.service`, as `systemctl` takes it.
fn stem(name: &str) -> &str {
    name.strip_suffix(".service").unwrap_or(name)
}

/// How the started process gets a changed definition: `reload` when the
/// unit file itself changed.
fn restart(l: &Launcher, reload: bool) -> String {
    let unit = stem(&l.name);
    match l.kind {
        LauncherKind::SystemdUser if reload => {
            format!("then systemctl --user daemon-reload && systemctl --user restart {unit}")
        }
        LauncherKind::SystemdUser => format!("then systemctl --user restart {unit}"),
        LauncherKind::SystemdSystem if reload => {
            format!("then sudo systemctl daemon-reload && sudo systemctl restart {unit}")
        }
        LauncherKind::SystemdSystem => format!("then sudo systemctl restart {unit}"),
        LauncherKind::Compose => {
            format!("then docker compose up -d {} (a restart keeps the old environment)", l.name)
        }
        LauncherKind::Cron => "the next run gets it".into(),
    }
}

/// What the launcher is, in a summary.
fn what(l: &Launcher) -> String {
    match l.kind {
        LauncherKind::SystemdUser => format!("the systemd user unit {}", l.name),
        LauncherKind::SystemdSystem => format!("the systemd unit {}", l.name),
        LauncherKind::Compose => format!("the compose service {}", l.name),
        LauncherKind::Cron => format!("the {} line {}", l.name, l.line),
    }
}

/// Why such a launcher does not see the shell's definitions.
fn reads(kind: LauncherKind) -> &'static str {
    match kind {
        LauncherKind::SystemdUser | LauncherKind::SystemdSystem => {
            "a unit reads no shell startup file, only its Environment= and EnvironmentFile= lines"
        }
        LauncherKind::Compose => "a container gets only its service's environment: and env_file:",
        LauncherKind::Cron => "cron reads no startup file, only the crontab's own NAME=value lines",
    }
}

/// The fix that makes a launcher pass the variable.
fn add_fix(l: &Launcher, var: &str, tool_name: &str) -> Vec<String> {
    match l.kind {
        LauncherKind::SystemdUser | LauncherKind::SystemdSystem => vec![format!(
            "add Environment={var}=… to {} (or an EnvironmentFile= with {var}=…), {}",
            l.file,
            restart(l, true)
        )],
        LauncherKind::Compose => vec![format!(
            "add {var}: ${{{var}}} under environment: of service {} in {} (the .env beside it fills it in), {}",
            l.name,
            l.file,
            restart(l, false)
        )],
        LauncherKind::Cron => {
            let mut fix =
                vec![format!("add {var}=… on a line of its own above line {} of the crontab (crontab -e)", l.line)];
            if tool::get(tool_name).is_some_and(|t| !t.dotenv.is_empty()) {
                fix.push(format!("or put {var} in the .env file {tool_name} loads itself"));
            }
            fix
        }
    }
}

/// The tool finds a value itself whatever its launcher passes: its own
/// `.env` or a credential it saved is what it sends.
fn supplied_by_tool(env: &Env) -> bool {
    if !env.resolution.is_empty() {
        return env
            .resolution
            .iter()
            .any(|c| c.outcome == Outcome::Sends && matches!(c.source, SourceKind::Dotenv | SourceKind::Store));
    }
    env.effective.as_ref().is_some_and(|e| e.line.is_some())
}

/// The diagnoses the tool's launchers give `var`, root cause first.
pub fn launcher_causes(site: &Site, env: &Env, tool_name: &str, var: &str) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    if env.launchers.is_empty() || supplied_by_tool(env) {
        return out;
    }
    for l in &env.launchers {
        let procs: Vec<_> = env
            .processes
            .iter()
            .filter(|p| {
                p.unit.as_deref() == Some(l.name.as_str())
                    && matches!(l.kind, LauncherKind::SystemdUser | LauncherKind::SystemdSystem)
            })
            .collect();
        let starts = format!("{}:{} starts {tool_name}", l.file, l.line);
        match l.sees {
            Some(false) => {
                // A process of the unit has it all the same (imported into the manager): not this.
                if procs.iter().any(|p| p.has_var) {
                    continue;
                }
                let mut evidence = vec![starts, format!("{} reads {var}", site.at())];
                evidence.extend(
                    l.near_misses
                        .iter()
                        .map(|n| format!("{}:{} defines {} — a misspelling of {var}?", n.file, n.line, n.name)),
                );
                evidence.extend(procs.iter().map(|p| format!("pid {} of {} has no {var}", p.pid, l.name)));
                evidence.extend(l.notes.iter().cloned());
                let fix = match l.near_misses.first() {
                    Some(n) => {
                        let unit_file = n.file == l.file || n.file.contains(&format!("/{}.d/", l.name));
                        vec![format!("rename {} to {var} in {}", n.name, n.file), restart(l, unit_file)]
                    }
                    None => add_fix(l, var, tool_name),
                };
                out.push(
                    Diagnosis::new(
                        Code::KeyWrongFile,
                        Severity::Error,
                        format!("{} starts {tool_name} without {var}: {}", what(l), reads(l.kind)),
                    )
                    .evidence(evidence)
                    .fix(fix),
                );
            }
            Some(true) => {
                let Some(fp) = &l.fp else { continue };
                for p in procs {
                    let differs = p.fp.as_ref().is_some_and(|f| f.sha8 != fp.sha8);
                    if p.has_var && !differs {
                        continue;
                    }
                    let has = match &p.fp {
                        Some(f) if differs => format!("has another {var} (…{})", f.last4),
                        _ => format!("has no {var}"),
                    };
                    let at =
                        l.from.as_ref().map(|f| format!("{}:{}", f.file, f.line)).unwrap_or_else(|| l.file.clone());
                    out.push(
                        Diagnosis::new(
                            Code::KeyStaleProcess,
                            Severity::Error,
                            format!(
                                "process {} ({}) of {} started before {var} was set there as it is now, and {has}",
                                p.pid, p.role, l.name
                            ),
                        )
                        .evidence(vec![
                            format!("pid {} started {}", p.pid, p.started.as_deref().unwrap_or("?")),
                            format!("{at} sets {var} (…{})", fp.last4),
                        ])
                        .fix(vec![restart(l, false).trim_start_matches("then ").to_string()]),
                    );
                }
            }
            None => {}
        }
    }
    out
}
