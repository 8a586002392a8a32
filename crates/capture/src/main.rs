//! keyhole-capture: flags, then the library (docs/records.md#capture-records).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use keyhole_capture::{Options, Reply, TOOL_NAME};
use keyhole_core::cli::{self, GenerateArgs};
use keyhole_core::error::Error;

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
    #[arg(long, value_name = "URL", value_parser = keyhole_capture::parse_forward)]
    forward: Option<String>,
    /// Stop after N requests
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// Stop after S seconds
    #[arg(long, value_name = "S", value_parser = keyhole_capture::parse_duration)]
    duration: Option<f64>,
    /// Seconds for a forwarded request
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = cli::parse_timeout)]
    timeout: f64,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Redaction: keys never appear in clear in anything keyhole prints (records, reports, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares.\n\
Exit status: 0 done; 1 an error-severity diagnosis for what arrived; 2 cannot listen or bad arguments.\n\
Examples:\n  keyhole-capture --count 1 &   # then set the tool's base URL to http://127.0.0.1:8787/api/v1\n  keyhole-capture --listen 127.0.0.1:8788 --forward http://127.0.0.1:4000   # between a client and a LiteLLM proxy";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        let provider = keyhole_capture::provider_named(&a.as_provider)
            .ok_or_else(|| Error::usage(format!("unknown provider {:?} for --as", a.as_provider)))?;
        let o = Options {
            provider,
            reply: if matches!(a.reply, ReplyArg::Ok) { Reply::Ok } else { Reply::Error },
            forward: a.forward.clone(),
            timeout: Duration::from_secs_f64(a.timeout.max(0.1)),
        };
        keyhole_capture::run(&a.listen, o, a.count, a.duration.map(Duration::from_secs_f64))
    })
}
