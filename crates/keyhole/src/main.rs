//! keyhole: `keyhole doctor` runs find → env → probe → classify → report in
//! one process, with the same library code the separate tools use (this
//! umbrella is the one crate that imports them all); `keyhole NAME args`
//! runs `keyhole-NAME`.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args as ClapArgs, CommandFactory, Parser, Subcommand, ValueEnum};
use keyhole_core::cli::{self, Generate, HomeArgs, ProviderUrlArgs};
use keyhole_core::jsonl::{note, JsonlWriter, WriteStop};
use keyhole_core::record::host_name;
use keyhole_core::Status;
use serde_json::Value;

const TOOL_NAME: &str = "keyhole";

/// Why does my AI tool get 401 when curl works?
#[derive(Parser, Debug)]
#[command(name = "keyhole", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Find every AI tool's key, check which launch contexts and processes see it, probe it, name the root cause and the fix
    Doctor(DoctorArgs),
    /// Run keyhole-NAME with these arguments (find, env, probe, classify, report, capture)
    #[command(external_subcommand)]
    External(Vec<String>),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Fmt {
    Text,
    Markdown,
    Json,
}

#[derive(ClapArgs, Debug)]
struct DoctorArgs {
    /// Project directories or config files to check as well
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    home: HomeArgs,
    #[command(flatten)]
    urls: ProviderUrlArgs,
    /// Analyse this environment instead of keyhole's own
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    proc_root: PathBuf,
    /// Seconds per network request
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    timeout: f64,
    /// Never touch the network (no probe)
    #[arg(long)]
    offline: bool,
    /// Write the records (JSON lines) instead of the report
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value_t = Fmt::Text)]
    format: Fmt,
    /// Print nothing; the exit status says it all (a CI preflight)
    #[arg(short, long)]
    quiet: bool,
}

const AFTER_HELP: &str = "Exit status of doctor: 0 nothing wrong; 1 a key problem was found (or no AI tool is configured); 2 it could not do all its work.\n\
Examples:\n  keyhole doctor\n  keyhole doctor --format markdown > report.md\n  keyhole doctor --quiet || echo 'fix the keys first'\n  keyhole find | jq .";

fn main() -> ExitCode {
    let cli: Cli = cli::parse();
    if let Some(g) = cli.generate {
        return if cli::generate(Cli::command(), g).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    match cli.cmd {
        Some(Cmd::Doctor(a)) => doctor(a),
        Some(Cmd::External(args)) => external(&args),
        None => {
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
}

/// `keyhole NAME args` → `keyhole-NAME args`, next to this binary or on PATH.
fn external(args: &[String]) -> ExitCode {
    let name = format!("keyhole-{}", args[0]);
    let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join(&name))).filter(|p| p.is_file());
    let prog = beside.unwrap_or_else(|| PathBuf::from(&name));
    match std::process::Command::new(&prog).args(&args[1..]).status() {
        Ok(s) => ExitCode::from(s.code().unwrap_or(2) as u8),
        Err(e) => {
            note(
                TOOL_NAME,
                format!("cannot run {name}: {e} (known: find, env, probe, classify, report, capture, doctor)"),
            );
            ExitCode::from(2)
        }
    }
}

fn doctor(a: DoctorArgs) -> ExitCode {
    let env = match keyhole_core::envfile::load(a.env_file.as_deref()) {
        Ok(e) => e,
        Err(m) => {
            note(TOOL_NAME, m);
            return ExitCode::from(2);
        }
    };
    let home = a.home.resolve();
    let mut notes: Vec<String> = Vec::new();
    let mut status = Status::Ok;

    // find
    let fopts = keyhole_find::Options {
        home: home.clone(),
        paths: a.paths.iter().cloned().map(cli::absolute).collect(),
        max_depth: 6,
        max_filesize: keyhole_core::fsread::DEFAULT_CAP,
        walk_home: true,
        tools: Vec::new(),
        provider_urls: a.urls.map(),
        host: host_name(),
    };
    let found = keyhole_find::find(&fopts);
    notes.extend(found.notes.iter().cloned());
    if !found.errors.is_empty() {
        status = Status::Failed;
    }
    let mut records: Vec<Value> = Vec::new();
    for r in found.records() {
        records.push(serde_json::to_value(r).expect("a record serializes"));
    }
    if found.sites.is_empty() {
        if !a.quiet {
            let tools: Vec<&str> = keyhole_core::tool::TOOLS.iter().map(|t| t.name).collect();
            let _ = writeln!(
                io::stdout(),
                "keyhole: no AI tool configuration found under {} ({} config files read).\nLooked for: {}.\nEvery path looked at: keyhole-find --list-tools. Projects elsewhere: keyhole doctor PATH…",
                home.display(),
                found.files_read,
                tools.join(", ")
            );
        }
        return status.worst(Status::Found).code();
    }

    // env
    let shell = keyhole_env::shell_of(&env);
    let eopts = keyhole_env::Options {
        home: home.clone(),
        etc: PathBuf::from("/etc"),
        proc_root: a.proc_root.clone(),
        env: env.clone(),
        shell,
    };
    for r in records.iter_mut().filter(|r| r["type"] == "site" && r["key"]["from"] == "env") {
        if let Some(var) = r["key"]["var"].as_str().map(str::to_string) {
            r["env"] = keyhole_env::analyse(&var, Some(r), &eopts, &mut notes);
        }
    }

    // probe, concurrently
    if !a.offline {
        let popts = keyhole_probe::Options {
            home: home.clone(),
            env: env.clone(),
            timeout: Duration::from_secs_f64(a.timeout.max(0.1)),
            completion: false,
            provider_urls: a.urls.map(),
            proc_root: a.proc_root.clone(),
            cacert: Vec::new(),
            roots: Default::default(),
            progress: io::stderr().is_terminal() && !a.quiet,
            agents: Default::default(),
            jobs: 8,
            dispatch: std::sync::Arc::new(keyhole_probe::Dispatch::new(8)),
        };
        let sites: Vec<Value> = records.iter().filter(|r| r["type"] == "site").cloned().collect();
        let refs: Vec<&Value> = sites.iter().collect();
        let probes = keyhole_probe::probe_all(&refs, &popts);
        let mut it = probes.into_iter();
        for r in records.iter_mut().filter(|r| r["type"] == "site") {
            if let Some(p) = it.next() {
                r["probe"] = p;
            }
        }
    }

    // classify
    let table = match keyhole_classify::rules::Table::load(None) {
        Ok(t) => t,
        Err(e) => {
            note(TOOL_NAME, e);
            return ExitCode::from(2);
        }
    };
    for r in records.iter_mut().filter(|r| r["type"] == "site") {
        r["diagnoses"] = Value::Array(keyhole_classify::classify_site(r, &table));
    }
    if keyhole_report::tally(&records).0 > 0 {
        status = status.worst(Status::Found);
    }
    if a.quiet {
        return status.code();
    }
    for n in &notes {
        note(TOOL_NAME, n);
    }
    let fmt = if a.json { Fmt::Json } else { a.format };
    let out = match fmt {
        Fmt::Json => {
            let mut w = JsonlWriter::stdout();
            for r in &records {
                match w.write(r) {
                    Ok(()) => {}
                    Err(WriteStop::BrokenPipe) => return status.code(),
                    Err(e) => {
                        note(TOOL_NAME, e);
                        return ExitCode::from(2);
                    }
                }
            }
            return status.code();
        }
        Fmt::Markdown => keyhole_report::markdown(&records, &home.display().to_string()),
        Fmt::Text => {
            let color = io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb");
            keyhole_report::text(&records, &keyhole_report::Style { color })
        }
    };
    match io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => status.code(),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => status.code(),
        Err(e) => {
            note(TOOL_NAME, format!("cannot write output: {e}"));
            ExitCode::from(2)
        }
    }
}
