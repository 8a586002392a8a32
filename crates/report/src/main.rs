//! keyhole-report: thin main over the library.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, ValueEnum};
use keyhole_core::cli::{self, Generate, HomeArgs};
use keyhole_core::jsonl::{note, InputItem, JsonlReader, JsonlWriter, WriteStop};
use keyhole_core::Status;
use keyhole_report::{Style, TOOL_NAME};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Fmt {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Tell in plain words what is wrong with each API key, and how to fix it.
///
/// Reads any keyhole record stream. Text (the default) shows, per tool and
/// site, the root cause first in one line, the evidence (file:line, process,
/// HTTP answer) and the fix; colour only on a terminal, never with NO_COLOR.
/// Markdown is safe to paste into a public bug report: keys appear only as
/// prefix, last 4 characters and length; the home directory is written as ~;
/// it adds the facts maintainers ask for (OS, shell, keyhole version).
#[derive(Parser, Debug)]
#[command(name = "keyhole-report", version, after_help = AFTER_HELP)]
struct Args {
    #[arg(long, value_enum, default_value_t = Fmt::Text)]
    format: Fmt,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(flatten)]
    home: HomeArgs,
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

const AFTER_HELP: &str = "Exit status: 0 nothing wrong; 1 at least one error-severity diagnosis; 2 bad input.\n\
Examples:\n  keyhole-find | keyhole-env | keyhole-probe | keyhole-classify | keyhole-report\n  keyhole doctor --json | keyhole-report --format markdown > report.md";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if let Some(g) = args.generate {
        return if cli::generate(Args::command(), g).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    let mut status = Status::Ok;
    let mut records = Vec::new();
    let mut w = JsonlWriter::stdout();
    let mut input = JsonlReader::stdin(TOOL_NAME);
    for item in input.items() {
        match item {
            InputItem::Record(r) => {
                if matches!(args.format, Fmt::Json) {
                    if let Err(e) = w.write(&r) {
                        return stop(e);
                    }
                }
                records.push(r);
            }
            InputItem::Bad(e) => {
                status = Status::Failed;
                records.push(serde_json::to_value(e).expect("error record serializes"));
            }
        }
    }
    if input.read_failed() {
        status = Status::Failed;
    }
    if keyhole_report::tally(&records).0 > 0 {
        status = status.worst(Status::Found);
    }
    let out = match args.format {
        Fmt::Json => return status.code(),
        Fmt::Markdown => keyhole_report::markdown(&records, &args.home.resolve().display().to_string()),
        Fmt::Text => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                        && std::env::var("TERM").map_or(true, |t| t != "dumb")
                }
            };
            let color = color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            keyhole_report::text(&records, &Style { color })
        }
    };
    match io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => status.code(),
        Err(e) => stop(WriteStop::from(e)),
    }
}

fn stop(e: WriteStop) -> ExitCode {
    match e {
        WriteStop::BrokenPipe => ExitCode::SUCCESS,
        e => {
            note(TOOL_NAME, e);
            ExitCode::from(2)
        }
    }
}
