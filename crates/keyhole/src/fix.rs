//! `keyhole fix` (docs/fix.md): doctor's diagnosis, then keyhole-fix's
//! plans — shown as words, records (`--json`) or a diff (`--diff`), or
//! applied (`--apply`) and checked by re-running the diagnosis for the sites
//! changed; `--undo` puts the last run's backups back.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use keyhole_core::error::Result;
use keyhole_core::jsonl::note;
use keyhole_core::record::{Fix, Record};
use keyhole_core::stage::{Ctx, Output};
use keyhole_core::Status;
use keyhole_fix::apply::Consent;
use keyhole_fix::plan::Scope;
use keyhole_fix::{verify, FixStage};
use keyhole_pipeline::Inputs;

use crate::TOOL_NAME;

#[derive(clap::Args, Debug)]
pub struct FixArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Print a unified diff of the planned edits (keys as markers) instead of words
    #[arg(long, conflicts_with_all = ["undo", "json"])]
    pub diff: bool,
    /// Write the planned edits: atomically, with a backup of each file (FILE.keyhole-bak), refusing a file changed since it was read; then re-run the diagnosis of the sites changed and show each before → after
    #[arg(long, conflicts_with_all = ["diff", "undo"])]
    pub apply: bool,
    /// With --apply: do not ask per edit (needed without a terminal)
    #[arg(long, short = 'y', requires = "apply")]
    pub yes: bool,
    /// Put back the files the last --apply changed (refusing one changed since)
    #[arg(long)]
    pub undo: bool,
    /// Write the records (JSON lines: each site, then its fix records) instead of words
    #[arg(long)]
    pub json: bool,
}

/// `keyhole fix`. Status 0 nothing to fix (or every fix applied and the
/// sites now ok); 1 a fix is planned, or one was refused or left a site
/// failing; 2 it could not do all its work (or `--apply` without a
/// terminal and without `--yes`).
pub fn fix(a: &FixArgs) -> Result<Status> {
    let home = a.inputs.home.resolve();
    let scope = Scope::new(home.clone(), a.inputs.paths.iter().cloned().map(keyhole_core::cli::absolute).collect());
    if a.undo {
        return undo(&scope, &home);
    }
    // Asked before any work: without a terminal, --apply needs --yes.
    let consent = if a.apply { Some(Consent::new(a.yes)?) } else { None };
    let o = a.inputs.options(false, io::stderr().is_terminal());
    let d = keyhole_pipeline::diagnose(&o)?;
    for n in &d.notes {
        note(TOOL_NAME, n.clone());
    }
    if d.sites == 0 {
        write(&format!("keyhole: no AI tool configuration found under {}: nothing to fix.\n", home.display()))?;
        return Ok(d.status.worst(Status::Found));
    }
    let ctx = Ctx::new(keyhole_fix::TOOL_NAME);
    let stage = FixStage::new(scope.clone());
    let records: Vec<Record> = d.records.iter().cloned().flat_map(|r| stage.fixes(r, &ctx)).collect();
    let plans = stage.take_plans();
    ctx.say_notes(false);
    let status = d.status.worst(ctx.status());

    let Some(consent) = consent else {
        let planned = if plans.is_empty() { Status::Ok } else { Status::Found };
        if a.diff {
            write(&keyhole_fix::diff::unified(&plans))?;
        } else if a.json {
            let mut out = Output::stdout();
            for r in &records {
                out.buffer(r)?;
            }
            out.flush()?;
        } else {
            let fixes: Vec<Fix> =
                records.iter().filter_map(|r| if let Record::Fix(f) = r { Some(f.clone()) } else { None }).collect();
            write(&planned_words(&fixes, &home))?;
        }
        return Ok(status.worst(planned));
    };

    let applied = keyhole_fix::apply::apply(&plans, &scope, &consent)?;
    let (checks, after) = verify::check(&d.records, &applied.fixes, &o)?;
    if a.json {
        let mut out = Output::stdout();
        for f in &applied.fixes {
            out.buffer(&Record::Fix(f.clone()))?;
        }
        for r in &after {
            out.buffer(r)?;
        }
        out.flush()?;
    } else if applied.fixes.is_empty() {
        write("keyhole fix: no mechanical fix planned; keyhole doctor explains each site.\n")?;
    } else {
        write(&verify::words(&applied.fixes, &checks, &home))?;
    }
    Ok(status.worst(verify::status(&applied.fixes, &checks)))
}

/// The planned fixes as words: where, what, the lines before and after
/// (keys as markers), or the command to run.
fn planned_words(fixes: &[Fix], home: &Path) -> String {
    if fixes.is_empty() {
        return "keyhole fix: no mechanical fix planned; keyhole doctor explains each site.\n".into();
    }
    let mut out = verify::words(fixes, &[], home);
    let edits = fixes.iter().filter(|f| f.file.is_some()).count();
    if edits > 0 {
        out.push_str(&format!(
            "\n{edits} edit(s) planned; nothing written. Review: keyhole fix --diff. Apply: keyhole fix --apply\n"
        ));
    }
    out
}

fn undo(scope: &Scope, home: &Path) -> Result<Status> {
    let done = keyhole_fix::undo::undo(scope)?;
    let tilde = |f: &str| match Path::new(f).strip_prefix(home) {
        Ok(rest) => format!("~/{}", rest.display()),
        Err(_) => f.to_string(),
    };
    let mut words = String::new();
    for u in &done {
        match &u.refused {
            None => words.push_str(&format!("✓ restored {}\n", tilde(&u.file))),
            Some(why) => words.push_str(&format!("✗ not restored: {why}\n")),
        }
    }
    write(&words)?;
    Ok(if done.iter().any(|u| u.refused.is_some()) { Status::Found } else { Status::Ok })
}

/// Words (and diffs) to stdout through the redaction boundary, made safe
/// for a terminal (docs/records.md#redaction).
fn write(words: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(keyhole_core::redact::words(words, false).as_bytes()).and_then(|()| out.flush())?;
    Ok(())
}
