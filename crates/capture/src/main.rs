//! keyhole-capture: thin main over the library.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{CommandFactory, Parser, ValueEnum};
use keyhole_capture::{Options, Reply, TOOL_NAME};
use keyhole_core::cli::{self, Generate};
use keyhole_core::jsonl::{note, JsonlWriter, WriteStop};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ReplyArg {
    Error,
    Ok,
}

/// See what your AI tool actually sends.
///
/// Point the tool's base URL at this address and make one request. Each
/// request becomes one `capture` record: method, path, which credential
/// header arrived, its scheme, the key's fingerprint (or the literal
/// placeholder text), header names, user agent, and diagnoses of what
/// arrived. It answers like the imitated provider (its real error body for a
/// missing or unknown key; a minimal completion, streaming too, with --reply
/// ok), so the tool shows its usual error and does not hang. With --forward
/// URL it is a transparent hop that records what arrived and what the
/// upstream answered, to put between two hops of a chain. Never prints a key.
#[derive(Parser, Debug)]
#[command(name = "keyhole-capture", version, after_help = AFTER_HELP)]
struct Args {
    /// Address to listen on (loopback unless you say otherwise; port 0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: String,
    /// The provider to imitate
    #[arg(long = "as", value_name = "PROVIDER", default_value = "openrouter")]
    as_provider: String,
    /// Answer a well-formed key with its error (default) or a minimal valid completion
    #[arg(long, value_enum, default_value_t = ReplyArg::Error)]
    reply: ReplyArg,
    /// Pass every request on to this base URL and record the upstream's answer
    #[arg(long, value_name = "URL")]
    forward: Option<String>,
    /// Stop after N requests
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// Stop after S seconds
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// Seconds for a forwarded request
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    #[arg(long, value_enum, hide = true)]
    generate: Option<Generate>,
}

const AFTER_HELP: &str = "Exit status: 0 done; 1 an error-severity diagnosis for what arrived; 2 cannot listen or bad arguments.\n\
Examples:\n  keyhole-capture --count 1 &   # then set the tool's base URL to http://127.0.0.1:8787/api/v1\n  keyhole-capture --listen 127.0.0.1:8788 --forward http://127.0.0.1:4000   # between a client and a LiteLLM proxy";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    if let Some(g) = args.generate {
        return if cli::generate(Args::command(), g).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    let Some(provider) = keyhole_capture::provider_named(&args.as_provider) else {
        note(TOOL_NAME, format!("unknown provider {:?} for --as", args.as_provider));
        return ExitCode::from(2);
    };
    let listener = match TcpListener::bind(&args.listen) {
        Ok(l) => l,
        Err(e) => {
            note(TOOL_NAME, format!("cannot listen on {}: {e} (pick another --listen port)", args.listen));
            return ExitCode::from(2);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    note(TOOL_NAME, format!("listening on http://{addr} as {} — point the tool's base URL here", provider.name));
    let writer = Arc::new(Mutex::new(JsonlWriter::stdout()));
    let failed = Arc::new(Mutex::new((false, false))); // (error diagnosis, write failed)
    let (w2, f2) = (writer.clone(), failed.clone());
    let emit = Arc::new(move |rec: serde_json::Value| {
        let err = rec["diagnoses"].as_array().is_some_and(|d| d.iter().any(|x| x["severity"] == "error"));
        let mut f = f2.lock().expect("lock");
        f.0 |= err;
        if let Err(e) = w2.lock().expect("lock").write(&rec) {
            if !matches!(e, WriteStop::BrokenPipe) {
                note(TOOL_NAME, e);
            }
            f.1 = true;
        }
    });
    let o = Options {
        provider,
        reply: if matches!(args.reply, ReplyArg::Ok) { Reply::Ok } else { Reply::Error },
        forward: args.forward.clone(),
        timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
    };
    let r = keyhole_capture::serve(listener, o, args.count, args.duration.map(Duration::from_secs_f64), emit);
    if let Err(e) = r {
        note(TOOL_NAME, format!("stopped: {e}"));
        return ExitCode::from(2);
    }
    let f = *failed.lock().expect("lock");
    if f.1 {
        return ExitCode::SUCCESS; // the reader went away
    }
    ExitCode::from(if f.0 { 1 } else { 0 })
}
