//! keyhole-env: thin main over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use keyhole_core::cli::{self, Generate, HomeArgs};
use keyhole_core::jsonl::{note, InputItem, JsonlReader, JsonlWriter, WriteStop};
use keyhole_core::record::host_name;
use keyhole_core::Status;
use keyhole_env::{Options, TOOL_NAME};
use serde_json::{json, Value};

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
    /// Analyse this environment (NAME=VALUE lines, or NUL-separated like /proc/PID/environ) instead of keyhole-env's own
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Where to read processes from
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    proc_root: PathBuf,
    /// Where the system files are (/etc/profile, /etc/bash.bashrc, /etc/environment…)
    #[arg(long, value_name = "DIR", default_value = "/etc")]
    etc: PathBuf,
    /// The user's login shell (default: from SHELL in the analysed environment, else bash)
    #[arg(long, value_name = "NAME")]
    shell: Option<String>,
    /// Also start the real shells (env -i, stdin /dev/null, 10 s timeout) and report where they disagree with the static answer. This runs the user's startup files.
    #[arg(long)]
    exec: bool,
    /// No notes on stderr
    #[arg(short, long)]
    quiet: bool,
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

const AFTER_HELP: &str = "Exit status: 0 done; 2 an input line was not a record, or bad arguments.\n\
Examples:\n  keyhole-find | keyhole-env | jq -c '{id, contexts: .env.contexts, effective: .env.effective.from}'\n  keyhole-env OPENROUTER_API_KEY --exec";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if let Some(g) = args.generate {
        return if cli::generate(Args::command(), g).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    let env = match keyhole_core::envfile::load(args.env_file.as_deref()) {
        Ok(e) => e,
        Err(m) => {
            note(TOOL_NAME, m);
            return ExitCode::from(2);
        }
    };
    let shell = args.shell.clone().unwrap_or_else(|| keyhole_env::shell_of(&env));
    let opts = Options {
        home: args.home.resolve(),
        etc: cli::absolute(args.etc.clone()),
        proc_root: args.proc_root.clone(),
        env,
        shell,
    };
    let mut w = JsonlWriter::stdout();
    let mut notes = Vec::new();
    let mut status = Status::Ok;
    let analyse = |var: &str, site: Option<&Value>, notes: &mut Vec<String>| {
        let mut e = keyhole_env::analyse(var, site, &opts, notes);
        if args.exec {
            let real = keyhole_env::exec_contexts(var, &opts);
            let disagree: Vec<Value> = real
                .iter()
                .filter(|(c, v)| !v.is_null() && e["contexts"][c.as_str()] != **v)
                .map(|(c, v)| json!({"context": c, "static": e["contexts"][c.as_str()], "real": v}))
                .collect();
            e["exec"] = Value::Object(real);
            e["exec_disagrees"] = Value::Array(disagree);
        }
        e
    };
    let result: Result<(), WriteStop> = (|| {
        if !args.vars.is_empty() {
            let host = host_name();
            for v in &args.vars {
                let e = analyse(v, None, &mut notes);
                w.write(&json!({"type": "env", "v": 1, "host": host, "var": v, "env": e}))?;
            }
            return Ok(());
        }
        let mut input = JsonlReader::stdin(TOOL_NAME);
        for item in input.items() {
            match item {
                InputItem::Record(mut r) => {
                    if r["type"] == "site" && r["key"]["from"] == "env" {
                        if let Some(var) = r["key"]["var"].as_str().map(str::to_string) {
                            r["env"] = analyse(&var, Some(&r), &mut notes);
                        }
                    }
                    w.write(&r)?;
                }
                InputItem::Bad(e) => {
                    status = Status::Failed;
                    w.write(&e)?;
                }
            }
        }
        if input.read_failed() {
            status = Status::Failed;
        }
        Ok(())
    })();
    if !args.quiet {
        notes.sort();
        notes.dedup();
        for n in &notes {
            note(TOOL_NAME, n);
        }
    }
    match result {
        Ok(()) => status.code(),
        Err(WriteStop::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            note(TOOL_NAME, e);
            ExitCode::from(2)
        }
    }
}
