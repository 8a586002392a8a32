//! keyhole: `keyhole doctor` runs find → env → probe → classify
//! (keyhole-pipeline, the same stage values the separate tools run) and
//! renders the report in one process; `keyhole NAME args` runs
//! `keyhole-NAME`.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use keyhole_core::error::{self, Error, Result};
use keyhole_core::jsonl::note;
use keyhole_core::stage::Output;
use keyhole_core::Status;
use keyhole_pipeline::Inputs;
use keyhole_report::{Format, Probing, Style, View};

pub mod fix;

pub const TOOL_NAME: &str = "keyhole";

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Send a 1-token completion to each site's model instead of the free key check: it costs one request of max_tokens 1 per distinct key and model, billed by the provider. Only a completion shows a model the key cannot use or a provider's per-model refusal
    #[arg(long)]
    pub completion: bool,
    /// Write the records (JSON lines) instead of the report
    #[arg(long)]
    pub json: bool,
    /// What to write: text for a terminal, markdown for a public bug report (keys as prefix, last 4 and length; the home as ~), json for the records
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Colour the text report: auto (on a terminal whose TERM is not dumb), always, never; NO_COLOR set means never
    #[arg(long, value_enum, default_value_t = keyhole_core::cli::Color::Auto, value_name = "WHEN")]
    pub color: keyhole_core::cli::Color,
    /// Print nothing; the exit status says it all (a CI preflight)
    #[arg(short, long)]
    pub quiet: bool,
}

/// `keyhole doctor`: the records of `keyhole-find | keyhole-env |
/// keyhole-probe | keyhole-classify` with the same flags, as words (or as
/// records with `--json`). Status 1 when a site's verdict is failing or no
/// AI tool is configured, 2 when a stage could not do all its work.
pub fn doctor(a: &DoctorArgs) -> Result<Status> {
    let d = keyhole_pipeline::diagnose(&a.inputs.options(a.completion, io::stderr().is_terminal() && !a.quiet))?;
    let (home, records) = (&d.home, &d.records);
    let mut status = d.status;
    if d.sites == 0 {
        if !a.quiet {
            let tools: Vec<&str> = keyhole_core::tool::TOOLS.iter().map(|t| t.name).collect();
            keyhole_report::write_words(&format!(
                "keyhole: no AI tool configuration found under {} ({} config files read).\nLooked for: {}.\nEvery path looked at: keyhole-find --list-tools. Projects elsewhere: keyhole doctor PATH…\n",
                home.display(),
                d.files_read,
                tools.join(", ")
            ))?;
        }
        return Ok(status.worst(Status::Found));
    }
    // The report's verdicts decide, as keyhole-report's (docs/records.md#exit-status).
    status = status.worst(keyhole_report::status(records));
    if a.quiet {
        // Silence must not read as "all is well": what could not be checked fails too.
        return Ok(status.worst(keyhole_report::quiet_status(records)));
    }
    for n in &d.notes {
        note(TOOL_NAME, n.clone());
    }
    match if a.json { Format::Json } else { a.format } {
        Format::Json => {
            let mut out = Output::stdout();
            for r in records {
                out.buffer(r)?;
            }
            out.flush()?;
        }
        f => {
            let probing = if a.inputs.net.offline { Probing::Offline } else { Probing::Unknown };
            let view = View { probing };
            let style = Style::for_stdout(a.color.asked());
            keyhole_report::write_words(&keyhole_report::render(records, f, &style, home, view))?
        }
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
