//! keyhole-classify: thin main over the library.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use keyhole_classify::rules::Table;
use keyhole_classify::{logscan, rawhttp, TOOL_NAME};
use keyhole_core::cli::{self, Generate};
use keyhole_core::jsonl::{note, InputItem, JsonlReader, JsonlWriter, WriteStop};
use keyhole_core::Status;
use serde_json::{json, Value};

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
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

const AFTER_HELP: &str = "Exit status: 0 nothing wrong; 1 at least one error-severity diagnosis (a CI gate); 2 bad input or arguments.\n\
Examples:\n  keyhole-find | keyhole-env | keyhole-probe | keyhole-classify | jq -c '{id, root: .diagnoses[0].code}'\n  curl -si https://openrouter.ai/api/v1/key -H \"Authorization: Bearer $K\" | keyhole-classify --http\n  keyhole-classify --log ~/.litellm/proxy.log";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if let Some(g) = args.generate {
        return if cli::generate(Args::command(), g).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    if args.print_rules {
        print!("{}", keyhole_classify::rules::EMBEDDED);
        return ExitCode::SUCCESS;
    }
    let extra = match &args.rules {
        Some(f) => match keyhole_core::fsread::read_text(f, 4 * 1024 * 1024) {
            Ok(t) => Some(t),
            Err(e) => {
                note(TOOL_NAME, format!("--rules {} {e}", f.display()));
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let table = match Table::load(extra.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            note(TOOL_NAME, e);
            return ExitCode::from(2);
        }
    };
    let mut w = JsonlWriter::stdout();
    let mut status = Status::Ok;
    let account = |v: &Value, status: &mut Status| {
        let diags = v["diagnoses"].as_array().into_iter().flatten();
        if diags.clone().any(|d| d["severity"] == "error") {
            *status = status.worst(Status::Found);
        }
    };
    let provider = args.provider.as_deref().and_then(keyhole_core::provider::normalize).map(|p| p.name);
    let result: Result<(), WriteStop> = (|| {
        if let Some(files) = &args.http {
            let files = if files.is_empty() { vec![PathBuf::from("-")] } else { files.clone() };
            for f in files {
                let (name, bytes) = match read_input(&f) {
                    Ok(x) => x,
                    Err(m) => {
                        note(TOOL_NAME, m);
                        status = Status::Failed;
                        continue;
                    }
                };
                let found = rawhttp::parse(&bytes);
                if found.is_empty() {
                    note(TOOL_NAME, format!("{name}: no HTTP status line found (expected curl -si output)"));
                    status = status.worst(Status::Failed);
                }
                for r in found {
                    let rec = keyhole_classify::response_record(
                        &name,
                        r.line,
                        Some(r.status),
                        r.body,
                        &table,
                        provider,
                        None,
                    );
                    account(&rec, &mut status);
                    w.write(&rec)?;
                }
            }
            return Ok(());
        }
        if let Some(files) = &args.log {
            let pre = logscan::Prefilter::new(&table);
            let mut opts = logscan::Options::default();
            if let Some(n) = args.threads {
                opts.threads = n.into();
            }
            for f in files {
                let name = cli::absolute(f.clone()).display().to_string();
                let file = match open_log(f) {
                    Ok(file) => file,
                    Err(m) => {
                        note(TOOL_NAME, m);
                        status = Status::Failed;
                        continue;
                    }
                };
                let mut werr: Option<WriteStop> = None;
                let scanned = logscan::scan(&file, &table, &pre, opts, |h| {
                    let mut rec = keyhole_classify::response_record(
                        &name, h.line, h.status, h.body, &table, provider, h.log_rule,
                    );
                    if let Some(g) = h.model_group {
                        if let Some(d) = rec["diagnoses"].get_mut(0) {
                            d["evidence"].as_array_mut().expect("evidence").push(json!(format!(
                                "the LiteLLM proxy passed this on for model group '{g}' (no fallback)"
                            )));
                        }
                    }
                    account(&rec, &mut status);
                    match w.write(&rec) {
                        Ok(()) => Ok(true),
                        Err(e) => {
                            werr = Some(e);
                            Ok(false)
                        }
                    }
                });
                if let Some(e) = werr {
                    return Err(e);
                }
                if let Err(e) = scanned {
                    note(TOOL_NAME, format!("{name}: read error after part of the file: {e}"));
                    status = Status::Failed;
                }
            }
            return Ok(());
        }
        let mut input = JsonlReader::stdin(TOOL_NAME);
        for item in input.items() {
            match item {
                InputItem::Record(mut r) => {
                    if r["type"] == "site" {
                        r["diagnoses"] = Value::Array(keyhole_classify::classify_site(&r, &table));
                        account(&r, &mut status);
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
    match result {
        Ok(()) => status.code(),
        Err(WriteStop::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            note(TOOL_NAME, e);
            ExitCode::from(2)
        }
    }
}

fn read_input(f: &Path) -> Result<(String, Vec<u8>), String> {
    if f.as_os_str() == "-" {
        let mut b = Vec::new();
        io::stdin().take(256 * 1024 * 1024).read_to_end(&mut b).map_err(|e| format!("stdin: {e}"))?;
        return Ok(("-".into(), b));
    }
    let bytes = keyhole_core::fsread::read_bytes(f, 256 * 1024 * 1024).map_err(|e| format!("{} {e}", f.display()))?;
    Ok((cli::absolute(f.to_path_buf()).display().to_string(), bytes))
}

/// Open a log safely (no FIFO block, no device), for streaming any size.
fn open_log(f: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK) // a FIFO named like a log must not block the open
        .open(f)
        .map_err(|e| format!("{}: {e}", f.display()))?;
    let md = file.metadata().map_err(|e| format!("{}: {e}", f.display()))?;
    if !md.is_file() {
        return Err(format!("{} is not a regular file; skipped", f.display()));
    }
    Ok(file)
}
