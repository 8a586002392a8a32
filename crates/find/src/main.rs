//! keyhole-find: thin main over the library; parse flags, run, exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use keyhole_core::cli::{self, Generate, HomeArgs, ProviderUrlArgs};
use keyhole_core::jsonl::{note, JsonlWriter, WriteStop};
use keyhole_core::record::host_name;
use keyhole_core::Status;
use keyhole_find::{Item, Options, TOOL_NAME};

/// List every place where an AI tool takes an API credential from.
///
/// Writes one `site` record (JSON) per line: tool, file and line, provider,
/// model, base URL, the auth header the tool will use, and where the key
/// comes from (a literal key is written only as its fingerprint). Scans the
/// catalogued locations under the home, a bounded walk of the home for
/// project files, and every PATH given. Never writes to any file.
///
/// See docs/records.md#site-records. Sites without a JSON pointer (.env and shell files) have
/// ids TOOL:FILE#VAR@LINE; key.syntax names the substitution syntax (absent
/// when the tool reads the variable implicitly); key.note says in words what
/// the tool does with the reference; error records carry file and line.
#[derive(Parser, Debug)]
#[command(name = "keyhole-find", version, after_help = AFTER_HELP)]
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
    /// Only these tools (repeatable; see --list-tools)
    #[arg(long = "tool", value_name = "NAME")]
    tools: Vec<String>,
    /// Print the tool and provider catalogues and exit
    #[arg(long)]
    list_tools: bool,
    /// No notes on stderr (skipped files); errors still go to stdout as records
    #[arg(short, long)]
    quiet: bool,
    /// Write a man page or a completion script to stdout
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

const AFTER_HELP: &str = "Exit status: 0 sites found; 1 no site found; 2 an error record was written (unreadable or unparsable config).\n\
Examples:\n  keyhole-find | jq -c '{tool, file: .source.file, line: .source.line, key: .key.from}'\n  keyhole-find ~/code/myproject | keyhole-env | keyhole-probe | keyhole-classify | keyhole-report";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if let Some(g) = args.generate {
        return match cli::generate(Args::command(), g) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        };
    }
    if args.list_tools {
        print!("{}", keyhole_find::catalogue_text());
        return ExitCode::SUCCESS;
    }
    for t in &args.tools {
        if keyhole_core::tool::get(t).is_none() {
            note(TOOL_NAME, format!("unknown tool {t:?}; see keyhole-find --list-tools"));
            return ExitCode::from(2);
        }
    }
    let opts = Options {
        home: args.home.resolve(),
        paths: args.paths.iter().cloned().map(cli::absolute).collect(),
        max_depth: args.max_depth,
        max_filesize: args.max_filesize,
        walk_home: !args.no_walk,
        tools: args.tools.clone(),
        provider_urls: args.urls.map(),
        host: host_name(),
    };
    let outcome = keyhole_find::find(&opts);
    if !args.quiet {
        for n in &outcome.notes {
            note(TOOL_NAME, n);
        }
    }
    let mut w = JsonlWriter::stdout();
    for item in outcome.ordered() {
        let r = match item {
            Item::Site(s) => w.write(s),
            Item::Error(e) => w.write(e),
        };
        match r {
            Ok(()) => {}
            Err(WriteStop::BrokenPipe) => return ExitCode::SUCCESS,
            Err(e) => {
                note(TOOL_NAME, e);
                return ExitCode::from(2);
            }
        }
    }
    match w.flush() {
        Ok(()) => {}
        Err(WriteStop::BrokenPipe) => return ExitCode::SUCCESS,
        Err(e) => {
            note(TOOL_NAME, e);
            return ExitCode::from(2);
        }
    }
    let status = if !outcome.errors.is_empty() {
        Status::Failed
    } else if outcome.sites.is_empty() {
        if !args.quiet {
            note(
                TOOL_NAME,
                format!(
                    "no site found under {} ({} config files read); see --list-tools for where each tool is looked for",
                    opts.home.display(),
                    outcome.files_read
                ),
            );
        }
        Status::Found
    } else {
        Status::Ok
    };
    status.code()
}
