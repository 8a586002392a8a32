//! keyhole-env: flags, then the stage (docs/records.md#env).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use keyhole_core::cli::{self, EnvArgs, GenerateArgs, HomeArgs};
use keyhole_core::stage::{self, Ctx};
use keyhole_env::{EnvStage, Options, TOOL_NAME};

/// Which launch contexts and running processes see an API-key variable.
///
/// Reads `site` records and adds an `env` object to every site whose key
/// comes from a variable: every place the variable is defined (shell startup
/// files and the files they source, zsh, fish, /etc/environment, pam_env,
/// environment.d, VS Code's terminal-only settings), whether it is exported,
/// below an interactive-only guard, inside a function or a condition; which
/// launch contexts get it (interactive, login, non_interactive, ssh_command,
/// vscode_resolved, systemd_user, gui); which running processes of the tool's
/// family have it and when they started; and the value the tool will really
/// get, in the tool's own precedence. The startup files are read, never
/// executed, unless --exec asks for the real shells as ground truth.
/// With VAR arguments, writes one `{"type":"env"}` record per variable.
#[derive(Parser, Debug)]
#[command(name = "keyhole-env", version, after_help = AFTER_HELP)]
struct Args {
    /// Analyse these variables instead of reading site records
    #[arg(value_name = "VAR")]
    vars: Vec<String>,
    #[command(flatten)]
    home: HomeArgs,
    #[command(flatten)]
    env: EnvArgs,
    /// Where the system files are (/etc/profile, /etc/bash.bashrc, /etc/environment…)
    #[arg(long, value_name = "DIR", default_value = "/etc")]
    etc: PathBuf,
    /// The user's login shell (default: from SHELL in the analysed environment, else bash)
    #[arg(long, value_name = "NAME")]
    shell: Option<String>,
    /// Also start the real shells (env -i, stdin /dev/null, 10 s timeout) and report where they disagree with the static answer. This runs the user's startup files, in a private mount namespace that throws away what they write to the home; only a variable name that is an identifier is asked about, as an argument, never as code.
    #[arg(long)]
    exec: bool,
    /// No notes on stderr
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Redaction: keys never appear in clear in anything keyhole prints (records, reports, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares.\n\
Exit status: 0 done; 2 an input line was not a record, or bad arguments.\n\
Examples:\n  keyhole-find | keyhole-env | jq -c '{id, contexts: .env.contexts, effective: .env.effective.from}'\n  keyhole-env OPENROUTER_API_KEY --exec";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        let opts = Options::new(a.home.resolve(), a.env.load()?, a.env.proc_root.clone());
        let opts = Options { etc: cli::absolute(a.etc.clone()), shell: a.shell.clone().unwrap_or(opts.shell), ..opts };
        let stage = EnvStage::new(opts, a.exec);
        let ctx = Ctx::new(TOOL_NAME);
        let status = if a.vars.is_empty() { stage::run(&stage, &ctx) } else { stage.run_vars(&a.vars, &ctx) };
        ctx.say_notes(a.quiet);
        status
    })
}
