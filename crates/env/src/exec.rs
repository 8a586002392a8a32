//! `--exec`: the user's real shells as ground truth
//! (docs/launch-contexts.md#checking-against-the-real-shells).

use indexmap::IndexMap;
use keyhole_core::record::env::{Disagreement, Env, LaunchContext};
use keyhole_core::record::Extra;

use crate::Options;

/// A variable one launch context adds (`SSH_CLIENT` for `ssh host cmd`).
type ExtraVar = (&'static str, &'static str);

/// Start the user's real shells in each context and ask a child process
/// whether it got the variable (`None`: no answer). Opt-in: this runs the
/// user's files.
pub fn exec_contexts(var: &str, opts: &Options) -> IndexMap<String, Option<bool>> {
    let mut out = IndexMap::new();
    let shell = opts.shell.as_str();
    let probe = if shell == "fish" {
        format!("if printenv {var} >/dev/null; echo KEYHOLE_SET; else; echo KEYHOLE_UNSET; end")
    } else {
        format!("if printenv {var} >/dev/null; then echo KEYHOLE_SET; else echo KEYHOLE_UNSET; fi")
    };
    // (context, flags, extra variable): what each launch context runs.
    let mut runs: Vec<(LaunchContext, &str, Option<ExtraVar>)> = vec![
        (LaunchContext::Interactive, "-ic", None),
        (LaunchContext::Login, "-lc", None),
        (LaunchContext::NonInteractive, "-c", None),
    ];
    if shell != "zsh" && shell != "fish" {
        // Debian-family bash: `ssh host cmd` reads ~/.bashrc when SSH_CLIENT is set and SHLVL is not.
        runs.push((LaunchContext::SshCommand, "-c", Some(("SSH_CLIENT", "10.0.0.1 5555 22"))));
    }
    runs.push((LaunchContext::VscodeResolved, "-ilc", None));
    let program = match shell {
        "zsh" | "fish" => shell,
        _ => "bash",
    };
    for (ctx, flags, extra) in runs {
        let args = [flags.to_string(), probe.clone()];
        let mut c = std::process::Command::new("timeout");
        if ctx == LaunchContext::Interactive {
            // A terminal tab has a tty: give the shell one (script from util-linux), so tty guards pass as they do there.
            let quoted: Vec<String> = args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
            c.arg("10").arg("script").arg("-qec").arg(format!("{program} {}", quoted.join(" "))).arg("/dev/null");
        } else {
            c.arg("10").arg(program).args(&args);
        }
        c.env_clear().env("HOME", &opts.home).env("PATH", "/usr/local/bin:/usr/bin:/bin").env("TERM", "dumb");
        if let Some((k, v)) = extra {
            c.env(k, v);
        }
        c.stdin(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        let said = c.output().ok().and_then(|o| {
            let s = String::from_utf8_lossy(&o.stdout);
            // Whole lines only: an error message may quote the command.
            let said = |w: &str| s.lines().any(|l| l.trim() == w);
            if said("KEYHOLE_SET") {
                Some(true)
            } else if said("KEYHOLE_UNSET") {
                Some(false)
            } else {
                None
            }
        });
        out.insert(ctx.as_str().to_string(), said);
    }
    out
}

/// Add what the real shells said to `env`: `exec`, and `exec_disagrees`
/// where it differs from the static answer.
pub fn add_exec(env: &mut Env, real: IndexMap<String, Option<bool>>) {
    let disagrees = real
        .iter()
        .filter_map(|(c, r)| {
            let real = (*r)?;
            let static_ = env.contexts.get(c).copied();
            (static_ != Some(real)).then(|| Disagreement {
                context: c.clone(),
                static_,
                real: Some(real),
                extra: Extra::new(),
            })
        })
        .collect();
    env.exec = Some(real);
    env.exec_disagrees = Some(disagrees);
}
