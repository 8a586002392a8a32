//! keyhole-pipeline: `keyhole-find | keyhole-env | keyhole-probe |
//! keyhole-classify` in one process, with the same stage values the
//! separate tools run. `keyhole doctor` renders what it returns; `keyhole
//! fix` plans from it and re-runs it for the sites it changed (the check
//! after a fix, docs/records.md#fix).

use std::path::PathBuf;

use keyhole_classify::ClassifyStage;
use keyhole_core::cli::{EnvArgs, HomeArgs, NetArgs, ProviderUrlArgs};
use keyhole_core::error::Result;
use keyhole_core::record::{ErrorRecord, Record};
use keyhole_core::stage::{self, Ctx, Stage};
use keyhole_core::Status;
use keyhole_env::EnvStage;
use keyhole_probe::ProbeStage;

/// What a diagnosis looks at: the flags `keyhole doctor` and `keyhole fix`
/// share (one definition, so the two never drift apart).
#[derive(clap::Args, Debug)]
pub struct Inputs {
    /// Project directories or config files to check as well (keyhole fix: and to fix)
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
}

impl Inputs {
    /// The options of a whole diagnosis of these inputs.
    pub fn options(&self, completion: bool, progress: bool) -> Options<'_> {
        Options {
            home: &self.home,
            paths: &self.paths,
            env: &self.env,
            net: &self.net,
            urls: &self.urls,
            completion,
            progress,
            only: None,
        }
    }
}

/// What a diagnosis runs on: doctor's flags.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub home: &'a HomeArgs,
    /// Project directories or config files to check as well.
    pub paths: &'a [PathBuf],
    pub env: &'a EnvArgs,
    pub net: &'a NetArgs,
    pub urls: &'a ProviderUrlArgs,
    /// A 1-token completion instead of the free key check.
    pub completion: bool,
    /// Show the probe's progress on stderr.
    pub progress: bool,
    /// Only the sites whose id, or whose source file, is one of these (the
    /// check after a fix: a fix may rename what the id names); None: all.
    pub only: Option<&'a [String]>,
}

/// A diagnosis: the classified records (sites and errors in find's order),
/// the pipeline's status, and the stages' notes for people, said once each.
#[derive(Debug)]
pub struct Diagnosis {
    /// The analysed home, absolute.
    pub home: PathBuf,
    pub records: Vec<Record>,
    /// The stages' worst status (not yet the report's verdicts).
    pub status: Status,
    pub notes: Vec<String>,
    /// How many sites keyhole-find found (0: no AI tool is configured, and
    /// no later stage ran).
    pub sites: usize,
    /// How many config files keyhole-find read.
    pub files_read: usize,
}

/// find → env → probe → classify. Every flag and file is checked before
/// any work is done (a usage or input error is returned, nothing probed).
pub fn diagnose(o: &Options) -> Result<Diagnosis> {
    let home = o.home.resolve();
    let find = keyhole_find::Options {
        proc_root: Some(o.env.proc_root.clone()),
        ..keyhole_find::Options::new(home.clone(), o.paths, o.urls, Vec::new())?
    };
    let env = keyhole_env::Options::new(home.clone(), o.env.load()?, o.env.proc_root.clone());
    let probe = keyhole_probe::Options {
        progress: o.progress,
        completion: o.completion,
        // Keys are read from configs under the home and the paths given (README.md#security).
        paths: o.paths.iter().cloned().map(keyhole_core::cli::absolute).collect(),
        ..keyhole_probe::Options::from_args(o.home, o.env, o.net, o.urls)?
    };
    let stages: [(&dyn Stage, &'static str); 3] = [
        (&EnvStage::new(env, false), keyhole_env::TOOL_NAME),
        (&ProbeStage::new(probe, o.net.offline)?, keyhole_probe::TOOL_NAME),
        (&ClassifyStage::load(None)?, keyhole_classify::TOOL_NAME),
    ];

    let ctx = Ctx::new(keyhole_find::TOOL_NAME);
    let mut found = keyhole_find::find(&find);
    if let Some(ids) = o.only {
        found.sites.retain(|s| ids.contains(&s.id) || ids.contains(&s.source.file));
        found.errors.clear();
    }
    let mut status = found.status(&find, &ctx);
    let mut records: Vec<Record> = found.records();
    let mut notes = ctx.take_notes();
    if !found.sites.is_empty() {
        // Each stage with a context of its own name, as in the pipeline: the
        // records (error records name their tool) are the pipeline's.
        for (stage, tool) in stages {
            let ctx = Ctx::new(tool);
            apply_guarded(stage, &mut records, &ctx);
            status = status.worst(ctx.status());
            notes.extend(ctx.take_notes());
        }
    }
    let mut said = std::collections::HashSet::new();
    notes.retain(|n| said.insert(n.clone()));
    Ok(Diagnosis { home, records, status, notes, sites: found.sites.len(), files_read: found.files_read })
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
