//! keyhole-report: flags, then the library (docs/records.md).

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use keyhole_core::cli::{self, GenerateArgs, HomeArgs};
use keyhole_report::{Format, Style, TOOL_NAME};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Tell in plain words what is wrong with each API key, and how to fix it.
///
/// Reads any keyhole record stream. Text (the default) shows, per tool and
/// site, one verdict (✓ ok, ✗ failing, ! warning, ? not verifiable, – not
/// probed), the root cause first in one line, the evidence (file:line,
/// process, HTTP answer) and its fix; templates are listed once at the end;
/// colour only on a terminal, never with NO_COLOR.
/// Markdown is safe to paste into a public bug report: keys appear only as
/// prefix, last 4 characters and length; the home directory is written as ~;
/// it adds the facts maintainers ask for (OS, shell, keyhole version).
///
/// Everything keyhole prints passes one redactor, these words too: a key,
/// token or password that reached a record (a shell default, a URL, a proxy,
/// a server's answer, a log line) is written as a marker that still compares,
/// `sk-or-v1-…9c23 (redacted, sha8 0011aabb)`. Strings from the records are
/// shown with control, bidi and zero-width characters escaped (`\u{1b}`).
#[derive(Parser, Debug)]
#[command(name = "keyhole-report", version, after_help = AFTER_HELP)]
struct Args {
    /// Read the records from these files, - for standard input (default: standard input)
    #[arg(value_name = "FILE")]
    files: Vec<std::path::PathBuf>,
    /// What to write: text for a terminal, markdown for a public bug report (keys as prefix, last 4 and length; the home as ~), json to pass the records on
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Colour the text report: auto (on a terminal whose TERM is not dumb), always, never; NO_COLOR set means never
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    color: Color,
    #[command(flatten)]
    home: HomeArgs,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Exit status: 0 nothing wrong; 1 a site fails (an error-severity diagnosis, a probe without an answer; templates never do); 2 bad input.\n\
Examples:\n  keyhole-find | keyhole-env | keyhole-probe | keyhole-classify | keyhole-report\n  keyhole doctor --json | keyhole-report --format markdown > report.md";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        let style = Style::for_stdout(match a.color {
            Color::Auto => None,
            Color::Always => Some(true),
            Color::Never => Some(false),
        });
        keyhole_report::run(&a.files, a.format, &style, &a.home.resolve())
    })
}
