//! keyhole-classify: flags, then the library (docs/records.md#diagnoses).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use keyhole_classify::{ClassifyStage, TOOL_NAME};
use keyhole_core::cli::{self, GenerateArgs};
use keyhole_core::stage::{self, Ctx, Output};

/// Name the root cause of an API-key failure, and the fix.
///
/// Reads any record stream and adds `diagnoses` to every `site` (and
/// `capture`): an ordered list whose first element is the root cause,
/// combining the site's static facts (placeholder, no key, flaws, another
/// provider's key), keyhole-env's facts (unset, not exported, below a guard,
/// wrong file, stale process, shadowed) and the probe's answer. With --http it
/// reads raw HTTP responses (curl -si output); with --log it scans log files;
/// each answer becomes a `response` record with its diagnoses. The rules are
/// data: an embedded table, extended with --rules FILE.
#[derive(Parser, Debug)]
#[command(name = "keyhole-classify", version, after_help = AFTER_HELP)]
struct Args {
    /// Read raw HTTP responses (curl -si output) from these files, or - for stdin
    #[arg(long, value_name = "FILE", num_args = 0.., conflicts_with = "log")]
    http: Option<Vec<PathBuf>>,
    /// Scan these log files for API-key failures
    #[arg(long, value_name = "FILE", num_args = 1..)]
    log: Option<Vec<PathBuf>>,
    /// Threads that read and search a log (default: the number of CPUs, at most 8)
    #[arg(short = 'j', long, value_name = "N", requires = "log", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// The provider the raw answers come from (for --http and --log)
    #[arg(long, value_name = "NAME")]
    provider: Option<String>,
    /// More rules (TOML, the format of the embedded table), tried before the embedded ones
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Print the embedded rules table and exit
    #[arg(long)]
    print_rules: bool,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Redaction: keys never appear in clear in anything keyhole prints (records, reports, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares.\n\
Exit status: 0 nothing wrong; 1 at least one error-severity diagnosis (a CI gate); 2 bad input or arguments.\n\
Examples:\n  keyhole-find | keyhole-env | keyhole-probe | keyhole-classify | jq -c '{id, root: .diagnoses[0].code}'\n  curl -si https://openrouter.ai/api/v1/key -H \"Authorization: Bearer $K\" | keyhole-classify --http\n  keyhole-classify --log ~/.litellm/proxy.log";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        if a.print_rules {
            print!("{}", keyhole_classify::rules::EMBEDDED);
            return Ok(keyhole_core::Status::Ok);
        }
        let stage = ClassifyStage::load(a.rules.as_deref())?;
        let provider = a.provider.as_deref().and_then(keyhole_core::provider::normalize).map(|p| p.name);
        let (ctx, table) = (Ctx::new(TOOL_NAME), &stage.table);
        let status = match (&a.http, &a.log) {
            (Some(files), _) => keyhole_classify::run_http(files, table, provider, &mut Output::stdout(), &ctx),
            (_, Some(files)) => {
                let threads = a.threads.map(usize::from);
                keyhole_classify::run_log(files, threads, table, provider, &mut Output::stdout(), &ctx)
            }
            _ => stage::run(&stage, &ctx),
        };
        ctx.say_notes(false);
        status
    })
}
