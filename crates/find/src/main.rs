//! keyhole-find: flags, then the library (docs/records.md#site-records).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use keyhole_core::cli::{self, GenerateArgs, HomeArgs, ProviderUrlArgs};
use keyhole_find::TOOL_NAME;

/// List every place where an AI tool takes an API credential from.
///
/// Writes one `site` record (JSON) per line: tool, file and line, provider,
/// model, base URL, the auth header the tool will use, and where the key
/// comes from (a literal key is written only as its fingerprint). Scans the
/// catalogued locations under the home, a bounded walk of the home for
/// project files, and every PATH given. Never writes to any file.
///
/// Sites without a JSON pointer (.env and shell files) have ids
/// TOOL:FILE#VAR@LINE; key.syntax names the substitution syntax (absent when
/// the tool reads the variable implicitly); key.note says in words what the
/// tool does with the reference; error records carry file and line.
#[derive(Parser, Debug)]
#[command(name = "keyhole-find", version, after_help = format!("{}\n{AFTER_HELP}", keyhole_find::catalogue_names()))]
struct Args {
    /// Project directories or config files to scan as well
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    home: HomeArgs,
    #[command(flatten)]
    urls: ProviderUrlArgs,
    /// How deep the walk goes below the home and each PATH
    #[arg(long, value_name = "N", default_value_t = 6)]
    max_depth: usize,
    /// Skip config files larger than this many bytes (noted on stderr)
    #[arg(long, value_name = "BYTES", default_value_t = keyhole_core::fsread::DEFAULT_CAP)]
    max_filesize: u64,
    /// Only the catalogued home locations and the PATHs: no walk of the home
    #[arg(long)]
    no_walk: bool,
    /// Where to read running processes from (a gateway's --config and --port)
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    proc_root: PathBuf,
    /// Only these tools (repeatable; see --list-tools)
    #[arg(long = "tool", value_name = "NAME")]
    tools: Vec<String>,
    /// Print the tool and provider catalogues and exit
    #[arg(long)]
    list_tools: bool,
    /// No notes on stderr (skipped files); errors still go to stdout as records
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Redaction: keys never appear in clear in anything keyhole prints (records, reports, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares.\n\
Exit status: 0 sites found; 1 no site found; 2 an error record was written (unreadable or unparsable config).\n\
Examples:\n  keyhole-find | jq -c '{tool, file: .source.file, line: .source.line, key: .key.from}'\n  keyhole-find ~/code/myproject | keyhole-env | keyhole-probe | keyhole-classify | keyhole-report";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        if a.list_tools {
            print!("{}", keyhole_find::catalogue_text());
            return Ok(keyhole_core::Status::Ok);
        }
        let opts = keyhole_find::Options::new(a.home.resolve(), &a.paths, &a.urls, a.tools.clone())?;
        let opts = keyhole_find::Options {
            max_depth: a.max_depth,
            max_filesize: a.max_filesize,
            walk_home: !a.no_walk,
            proc_root: Some(a.proc_root.clone()),
            ..opts
        };
        keyhole_find::run(&opts, a.quiet)
    })
}
