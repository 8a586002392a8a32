//! keyhole: `keyhole doctor` runs find → env → probe → classify → report in
//! one process, with the same stage values the separate tools run (this
//! umbrella is the one crate that imports them all); `keyhole NAME args`
//! runs `keyhole-NAME`.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use keyhole_classify::ClassifyStage;
use keyhole_core::cli::{EnvArgs, HomeArgs, NetArgs, ProviderUrlArgs};
use keyhole_core::error::{self, Error, Result};
use keyhole_core::jsonl::note;
use keyhole_core::record::Record;
use keyhole_core::stage::{Ctx, Output, Stage};
use keyhole_core::Status;
use keyhole_env::EnvStage;
use keyhole_probe::ProbeStage;
use keyhole_report::{Format, Style};

pub const TOOL_NAME: &str = "keyhole";

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Project directories or config files to check as well
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub home: HomeArgs,
    #[command(flatten)]
    pub urls: ProviderUrlArgs,
    #[command(flatten)]
    pub env: EnvArgs,
    #[command(flatten)]
    pub net: NetArgs,
    /// Write the records (JSON lines) instead of the report
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print nothing; the exit status says it all (a CI preflight)
    #[arg(short, long)]
    pub quiet: bool,
}

/// `keyhole doctor`: the records of `keyhole-find | keyhole-env |
/// keyhole-probe | keyhole-classify` with the same flags, as words (or as
/// records with `--json`). Status 1 when a root cause has error severity or
/// no AI tool is configured, 2 when a stage could not do all its work.
pub fn doctor(a: &DoctorArgs) -> Result<Status> {
    let home = a.home.resolve();
    // Every flag and file is checked before any work is done.
    let find = keyhole_find::Options::new(home.clone(), &a.paths, &a.urls, Vec::new())?;
    let env = keyhole_env::Options::new(home.clone(), a.env.load()?, a.env.proc_root.clone());
    let probe = keyhole_probe::Options {
        progress: io::stderr().is_terminal() && !a.quiet,
        ..keyhole_probe::Options::from_args(&a.home, &a.env, &a.net, &a.urls)?
    };
    let stages: [(&dyn Stage, &'static str); 3] = [
        (&EnvStage::new(env, false), keyhole_env::TOOL_NAME),
        (&ProbeStage::new(probe, a.net.offline)?, keyhole_probe::TOOL_NAME),
        (&ClassifyStage::load(None)?, keyhole_classify::TOOL_NAME),
    ];

    let ctx = Ctx::new(keyhole_find::TOOL_NAME);
    let found = keyhole_find::find(&find);
    let mut status = found.status(&find, &ctx);
    if found.sites.is_empty() {
        if !a.quiet {
            let tools: Vec<&str> = keyhole_core::tool::TOOLS.iter().map(|t| t.name).collect();
            keyhole_report::write_words(&format!(
                "keyhole: no AI tool configuration found under {} ({} config files read).\nLooked for: {}.\nEvery path looked at: keyhole-find --list-tools. Projects elsewhere: keyhole doctor PATH…\n",
                home.display(),
                found.files_read,
                tools.join(", ")
            ))?;
        }
        return Ok(status.worst(Status::Found));
    }
    let mut records: Vec<Record> = found.records();
    let mut notes = ctx.take_notes();
    // Each stage with a context of its own name, as in the pipeline: the
    // records (error records name their tool) are the pipeline's.
    for (stage, tool) in stages {
        let ctx = Ctx::new(tool);
        stage.apply_batch(&mut records, &ctx);
        status = status.worst(ctx.status());
        notes.extend(ctx.take_notes());
    }
    if keyhole_report::tally(&records).0 > 0 {
        status = status.worst(Status::Found);
    }
    if a.quiet {
        return Ok(status);
    }
    let mut said = std::collections::HashSet::new();
    for n in notes.into_iter().filter(|n| said.insert(n.clone())) {
        note(TOOL_NAME, n);
    }
    match if a.json { Format::Json } else { a.format } {
        Format::Json => {
            let mut out = Output::stdout();
            for r in &records {
                out.buffer(r)?;
            }
            out.flush()?;
        }
        f => keyhole_report::write_words(&keyhole_report::render(&records, f, &Style::for_stdout(None), &home))?,
    }
    Ok(status)
}

/// `keyhole NAME args` → `keyhole-NAME args`, next to this binary or on
/// PATH; its exit status is passed on.
pub fn external(args: &[String]) -> ExitCode {
    let name = format!("keyhole-{}", args[0]);
    let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join(&name))).filter(|p| p.is_file());
    let prog = beside.unwrap_or_else(|| PathBuf::from(&name));
    match std::process::Command::new(&prog).args(&args[1..]).status() {
        Ok(s) => s.code().map_or(Status::Failed.code(), |c| ExitCode::from(c as u8)),
        Err(e) => error::exit(
            TOOL_NAME,
            Err(Error::failed(format!(
                "cannot run {name}: {e} (known: find, env, probe, classify, report, capture, doctor)"
            ))),
        ),
    }
}
