//! keyhole-fix: flags, then the library (docs/fix.md).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use keyhole_core::cli::{self, GenerateArgs, HomeArgs};
use keyhole_core::stage::{self, Ctx};
use keyhole_fix::plan::Scope;
use keyhole_fix::{FixStage, TOOL_NAME};

/// Plan the smallest correct edit for each site's root cause; show it, or apply it.
///
/// Reads a record stream (keyhole-classify's output) and passes every record
/// on, each `site` followed by the `fix` records planned for it: the file, the
/// line, the kind of edit, the line before and after with keys shown as
/// redaction markers, or the command to run (restart, log in, buy credits).
/// Nothing outside the analysed home and the given PATHs is ever planned.
/// Without --apply nothing is written.
#[derive(Parser, Debug)]
#[command(name = "keyhole-fix", version, after_help = AFTER_HELP)]
struct Args {
    #[command(flatten)]
    home: HomeArgs,
    /// Files and directories outside the home that may be edited too (the ones given to keyhole-find)
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print a unified diff of the planned edits (keys as markers) instead of records
    #[arg(long, conflicts_with = "undo")]
    diff: bool,
    /// Write the planned edits: atomically, with a backup of each file, refusing a file changed since it was read
    #[arg(long, conflicts_with_all = ["diff", "undo"])]
    apply: bool,
    /// With --apply: do not ask per edit
    #[arg(long, short = 'y', requires = "apply")]
    yes: bool,
    /// Restore the backups of the last --apply
    #[arg(long)]
    undo: bool,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run keyhole-fix --apply (or keyhole fix --apply).\n\
Redaction: keys never appear in clear in anything keyhole prints (records, diffs, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares. A value copied from where it is defined is read from that file, never from the pipe.\n\
Exit status: 0 done; 2 bad input or arguments.\n\
Examples:\n  keyhole-find | keyhole-env | keyhole-probe | keyhole-classify | keyhole-fix | jq -c 'select(.type==\"fix\")'\n  keyhole-find | keyhole-env | keyhole-probe | keyhole-classify | keyhole-fix --diff";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        let paths = a.paths.iter().cloned().map(cli::absolute).collect();
        let scope = Scope::new(a.home.resolve(), paths);
        if a.undo {
            return keyhole_fix::undo::run(&scope);
        }
        // Without a terminal to ask on, --apply needs --yes: said before any record is read.
        if a.apply {
            keyhole_fix::apply::Consent::new(a.yes)?;
        }
        let ctx = Ctx::new(TOOL_NAME);
        let stage = FixStage::new(scope);
        let status = if a.diff {
            let status = stage::run_on(&stage, std::io::stdin().lock(), std::io::sink(), &ctx)?;
            let text = keyhole_fix::diff::unified(&stage.take_plans());
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())?;
            status
        } else {
            let mut status = stage::run(&stage, &ctx)?;
            if a.apply {
                // Each fix record again, with its state; 1 when one was refused or skipped.
                status = status.worst(keyhole_fix::apply::run(&stage.take_plans(), &stage.scope, a.yes)?);
            }
            status
        };
        ctx.say_notes(false);
        Ok(status)
    })
}
