//! keyhole: flags, then the library (`keyhole doctor`, `keyhole NAME …`).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use keyhole::{DoctorArgs, TOOL_NAME};
use keyhole_core::cli::{self, GenerateArgs};
use keyhole_core::Status;

/// Why does my AI tool get 401 when curl works?
#[derive(Parser, Debug)]
#[command(name = "keyhole", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    generate: GenerateArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Find every AI tool's key, check which launch contexts and processes see it, probe it, name the root cause and the fix
    Doctor(Box<DoctorArgs>),
    /// Plan the smallest correct edit for each site's root cause (or the command to run); show it, or apply it with --apply and check the result
    Fix(Box<keyhole::fix::FixArgs>),
    /// Run keyhole-NAME with these arguments (find, env, probe, classify, report, capture)
    #[command(external_subcommand)]
    External(Vec<String>),
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Redaction: keys never appear in clear in anything keyhole prints (records, reports, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares.\n\
Send policy of doctor: a key is sent only to a catalogued API (over https), loopback, a gateway named by --provider-url or by your own home-level tool config (never by a project's, such as a cloned repository's), or a host named with --allow-host HOST (repeatable); any other base URL is reported as \"not probed: HOST is not a known API (--allow-host HOST to probe it)\" and nothing is sent there. Keys are read only from the sources each tool reads, under the home and the PATHs given.\n\
Exit status of doctor: 0 nothing wrong; 1 a key problem was found (or no AI tool is configured); 2 it could not do all its work.\n\
Exit status of fix: 0 nothing to fix, or every edit applied and each site changed now ok (or only a restart left); 1 a fix is planned but not applied, refused, or left a site failing; 2 it could not do all its work, or --apply without a terminal and without --yes.\n\
Examples:\n  keyhole doctor\n  keyhole doctor --format markdown > report.md\n  keyhole doctor --quiet || echo 'fix the keys first'\n  keyhole fix --diff\n  keyhole fix --apply\n  keyhole fix --undo\n  keyhole find | jq .";

fn main() -> ExitCode {
    let c: Cli = cli::parse();
    match c.cmd {
        Some(Cmd::External(args)) => keyhole::external(&args),
        cmd => cli::main::<Cli>(TOOL_NAME, &c.generate, || match cmd {
            Some(Cmd::Doctor(a)) => keyhole::doctor(&a),
            Some(Cmd::Fix(a)) => keyhole::fix::fix(&a),
            _ => {
                let _ = Cli::command().print_help();
                Ok(Status::Failed)
            }
        }),
    }
}
