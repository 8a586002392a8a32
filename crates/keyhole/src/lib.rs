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
use keyhole_core::record::{ErrorRecord, Record};
use keyhole_core::stage::{self, Ctx, Output, Stage};
use keyhole_core::Status;
use keyhole_env::EnvStage;
use keyhole_probe::ProbeStage;
use keyhole_report::{Format, Probing, Style, View};

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
    /// Send a 1-token completion to each site's model instead of the free key check: it costs one request of max_tokens 1 per distinct key and model, billed by the provider. Only a completion shows a model the key cannot use or a provider's per-model refusal
    #[arg(long)]
    pub completion: bool,
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
/// records with `--json`). Status 1 when a site's verdict is failing or no
/// AI tool is configured, 2 when a stage could not do all its work.
pub fn doctor(a: &DoctorArgs) -> Result<Status> {
    let home = a.home.resolve();
    // Every flag and file is checked before any work is done.
    let find = keyhole_find::Options {
        proc_root: Some(a.env.proc_root.clone()),
        ..keyhole_find::Options::new(home.clone(), &a.paths, &a.urls, Vec::new())?
    };
    let env = keyhole_env::Options::new(home.clone(), a.env.load()?, a.env.proc_root.clone());
    let probe = keyhole_probe::Options {
        progress: io::stderr().is_terminal() && !a.quiet,
        completion: a.completion,
        // Keys are read from configs under the home and the paths given (README.md#security).
        paths: a.paths.iter().cloned().map(keyhole_core::cli::absolute).collect(),
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
        apply_guarded(stage, &mut records, &ctx);
        status = status.worst(ctx.status());
        notes.extend(ctx.take_notes());
    }
    // The report's verdicts decide, as keyhole-report's (docs/records.md#exit-status).
    status = status.worst(keyhole_report::status(&records));
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
        f => {
            let probing = if a.net.offline { Probing::Offline } else { Probing::Unknown };
            let view = View { probing };
            keyhole_report::write_words(&keyhole_report::render(&records, f, &Style::for_stdout(None), &home, view))?
        }
    }
    Ok(status)
}

/// A stage's work on the records, where a panic (a bug) in one record's work
/// becomes an `error` record for that record and the status 2, never a
/// record without its stage's field and "nothing wrong found". After a
/// panic the batch is done again record by record (a stage replaces what it
/// wrote before), so that only the records whose own work panics are lost.
pub fn apply_guarded(stage: &dyn Stage, records: &mut [Record], ctx: &Ctx) {
    let guarded = |f: &mut dyn FnMut()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    if guarded(&mut || stage.apply_batch(records, ctx)).is_ok() {
        return;
    }
    for r in records.iter_mut() {
        if let Err(p) = guarded(&mut || stage.apply(r, ctx)) {
            ctx.raise(Status::Failed);
            let what = r.site().map_or_else(|| format!("a {} record", r.kind()), |s| s.id.clone());
            let why = stage::panic_message(&*p);
            *r = Record::Error(ErrorRecord::new(
                ctx.tool(),
                format!("{what} could not be processed (internal error: {why}); skipped"),
            ));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Panics on a site whose id ends in `!`; tags the others.
    struct Fragile;
    impl Stage for Fragile {
        fn apply(&self, r: &mut Record, _: &Ctx) {
            if let Some(s) = r.site_mut() {
                assert!(!s.id.ends_with('!'), "test panic");
                s.extra.insert("seen".into(), true.into());
            }
        }
    }

    fn site(id: &str) -> Record {
        Record::from_json(&format!(
            r#"{{"type":"site","v":1,"id":"{id}","host":"h","tool":"continue","source":{{"file":"/f","line":1}},"provider":"openrouter","model":null,"base_url":"","base_url_from":"default","auth":{{"header":"authorization","scheme":"bearer"}},"key":{{"from":"none"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_panic_in_one_records_work_is_an_error_record_for_it_alone() {
        let mut records = vec![site("a"), site("b!"), site("c")];
        let ctx = Ctx::new("t");
        apply_guarded(&Fragile, &mut records, &ctx);
        assert_eq!(ctx.status(), Status::Failed);
        assert!(records[0].site().unwrap().extra.contains_key("seen"));
        assert!(records[2].site().unwrap().extra.contains_key("seen"));
        match &records[1] {
            Record::Error(e) => assert!(e.message.contains("b! could not be processed (internal error: test panic)")),
            other => panic!("{other:?}"),
        }
    }
}
