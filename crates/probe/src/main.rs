//! keyhole-probe: thin main over the library.

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use keyhole_core::cli::{self, Generate, HomeArgs, ProviderUrlArgs};
use keyhole_core::jsonl::{note, JsonlReader, JsonlWriter, WriteStop};
use keyhole_core::Status;
use keyhole_probe::{Options, TOOL_NAME};
use serde_json::json;

/// Send exactly what an AI tool would send, and record the answer.
///
/// Reads `site` records (from keyhole-find or keyhole-env) on stdin and adds a
/// `probe` object to each: the request as the tool would send it (its URL
/// joining, header and scheme, the key exactly as the tool reads it, flaws
/// included) to the provider's free key-check endpoint, every redirect hop,
/// the proxy in effect, and the answer (status, headers, body capped at 1 MiB
/// and redacted). The key is resolved again from the record's reference,
/// never taken from the stream, and is only ever sent to the site's own
/// origin. Other records pass through unchanged.
///
/// See docs/records.md#probe. error.kind may also be "unresolved" (the key could not
/// be resolved: a helper command keyhole does not run, a key store, a file
/// changed since keyhole-find); request.header_invalid is true when the key
/// holds a byte no HTTP header may carry, and then nothing is sent;
/// response.body_truncated marks a body cut at 1 MiB.
#[derive(Parser, Debug)]
#[command(name = "keyhole-probe", version, after_help = AFTER_HELP)]
struct Args {
    /// Probe this URL alone (with --key-env, --key-stdin or --key-file) instead of reading records
    #[arg(value_name = "URL")]
    url: Option<String>,
    /// Standalone: read the key from this environment variable
    #[arg(long, value_name = "VAR", requires = "url")]
    key_env: Option<String>,
    /// Standalone: read the key from standard input (exactly as given, newline included)
    #[arg(long, requires = "url")]
    key_stdin: bool,
    /// Standalone: read the key from this file (exactly as stored)
    #[arg(long, value_name = "FILE", requires = "url")]
    key_file: Option<PathBuf>,
    /// Standalone: the header the key travels in
    #[arg(long, value_name = "NAME", default_value = "authorization", requires = "url")]
    header: String,
    /// Standalone: the provider whose key-check path to request (default: from the URL's host, else none)
    #[arg(long, value_name = "NAME", requires = "url")]
    provider: Option<String>,
    #[command(flatten)]
    home: HomeArgs,
    #[command(flatten)]
    urls: ProviderUrlArgs,
    /// Analyse this environment (NAME=VALUE lines, or NUL-separated like /proc/PID/environ) instead of the probe's own
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Where to read processes from, for keys keyhole-env found in a running process
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    proc_root: PathBuf,
    /// Seconds per request, redirects included
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    timeout: f64,
    /// Never touch the network: records pass through unchanged
    #[arg(long)]
    offline: bool,
    /// Send a minimal completion (1 output token) instead of the free key check
    #[arg(long)]
    completion: bool,
    /// Also trust the CA certificates in this PEM file (repeatable); the system bundle is trusted already
    #[arg(long, value_name = "FILE")]
    cacert: Vec<PathBuf>,
    /// Probes at once
    #[arg(long, value_name = "N", default_value_t = 8)]
    jobs: usize,
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

const AFTER_HELP: &str = "Exit status: 0 every site probed (whatever the API answered); 2 an input line was not a record, or bad arguments.\n\
Examples:\n  keyhole-find | keyhole-probe | jq -c '{id, status: .probe.response.status, error: .probe.error}'\n  keyhole-probe https://openrouter.ai/api/v1/key --key-env OPENROUTER_API_KEY";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if let Some(g) = args.generate {
        return if cli::generate(Args::command(), g).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    let env = match keyhole_core::envfile::load(args.env_file.as_deref()) {
        Ok(e) => e,
        Err(m) => {
            note(TOOL_NAME, m);
            return ExitCode::from(2);
        }
    };
    // An explicit --cacert is checked now, for a clear error; the roots load on the first https request.
    let roots = std::sync::Arc::new(std::sync::OnceLock::new());
    if !args.cacert.is_empty() {
        match keyhole_probe::load_roots(&args.cacert, &env) {
            Ok(r) => {
                let _ = roots.set(r);
            }
            Err(m) => {
                note(TOOL_NAME, m);
                return ExitCode::from(2);
            }
        }
    }
    let opts = Options {
        roots,
        cacert: args.cacert.clone(),
        proc_root: args.proc_root.clone(),
        agents: Default::default(),
        jobs: args.jobs,
        dispatch: std::sync::Arc::new(keyhole_probe::Dispatch::new(args.jobs)),
        progress: std::io::IsTerminal::is_terminal(&io::stderr()),
        home: args.home.resolve(),
        env,
        timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
        completion: args.completion,
        provider_urls: args.urls.map(),
    };
    let mut w = JsonlWriter::stdout();
    if let Some(url) = &args.url {
        return standalone(&args, url, &opts, &mut w);
    }
    let mut status = Status::Ok;
    // Started before the input is read, so that the helpers are ready by the first batch.
    let pool = keyhole_probe::cpu_pool();
    let opts = std::sync::Arc::new(opts);
    let mut reader = JsonlReader::stdin(TOOL_NAME);
    // Lines are read in batches so the probes of a batch run concurrently; a
    // batch ends at 256 lines or when no more input is ready (output streams),
    // and is written with one write(2).
    let mut batch: Vec<(u64, Vec<u8>)> = Vec::new();
    loop {
        let line = reader.next_line();
        let end = line.is_none();
        batch.extend(line);
        if !batch.is_empty() && (end || batch.len() >= 256 || !reader.more_ready()) {
            let (out, bad) = keyhole_probe::probe_lines(&pool, std::mem::take(&mut batch), &opts, args.offline);
            if bad {
                status = Status::Failed;
            }
            if let Err(e) = w.write_raw(&out).and_then(|()| w.flush()) {
                return write_stop(e);
            }
        }
        if end {
            break;
        }
    }
    if reader.read_failed() {
        status = Status::Failed;
    }
    status.code()
}

fn write_stop(e: WriteStop) -> ExitCode {
    match e {
        WriteStop::BrokenPipe => ExitCode::SUCCESS,
        e => {
            note(TOOL_NAME, e);
            ExitCode::from(2)
        }
    }
}

fn standalone(args: &Args, url: &str, opts: &Options, w: &mut JsonlWriter<io::Stdout>) -> ExitCode {
    let key: Vec<u8> = if let Some(var) = &args.key_env {
        match opts.env.get(var) {
            Some(v) => v.clone(),
            None => {
                note(TOOL_NAME, format!("{var} is not set in the analysed environment"));
                return ExitCode::from(2);
            }
        }
    } else if args.key_stdin {
        let mut b = Vec::new();
        if io::stdin().read_to_end(&mut b).is_err() {
            return ExitCode::from(2);
        }
        b
    } else if let Some(f) = &args.key_file {
        match keyhole_core::fsread::read_bytes(f, 64 * 1024) {
            Ok(b) => b,
            Err(e) => {
                note(TOOL_NAME, format!("{} {e}", f.display()));
                return ExitCode::from(2);
            }
        }
    } else {
        note(TOOL_NAME, "a URL needs --key-env VAR, --key-stdin or --key-file FILE");
        return ExitCode::from(2);
    };
    let provider = args
        .provider
        .as_deref()
        .and_then(keyhole_core::provider::normalize)
        .or_else(|| keyhole_core::provider::by_url(url));
    let header = keyhole_core::provider::AuthHeader::parse(&args.header);
    let Some(header) = header else {
        note(
            TOOL_NAME,
            format!("unknown header {:?}: authorization, x-api-key, api-key, x-goog-api-key, query:key", args.header),
        );
        return ExitCode::from(2);
    };
    let scheme = if header == keyhole_core::provider::AuthHeader::Authorization { "bearer" } else { "raw" };
    let secret = keyhole_core::secret::Secret::new(key);
    let plan = keyhole_probe::Plan {
        method: "GET",
        url: url.to_string(),
        header: header.as_str().to_string(),
        scheme: scheme.into(),
        fp: Some(secret.fingerprint(provider)),
        key: Some(std::sync::Arc::new(secret)),
        extra: provider
            .map(|p| p.extra_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default(),
        body: None,
        provider,
    };
    let probe = keyhole_probe::send(&plan, opts);
    let rec = json!({"type": "probe", "v": 1, "url": keyhole_probe::redact(url, None), "provider": provider.map(|p| p.name), "probe": probe});
    match w.write(&rec) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => write_stop(e),
    }
}
