//! keyhole-probe: flags, then the library (docs/records.md#probe).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use keyhole_core::cli::{self, EnvArgs, GenerateArgs, HomeArgs, NetArgs, ProviderUrlArgs};
use keyhole_core::stage::{self, Ctx};
use keyhole_probe::{Options, ProbeStage, StandaloneArgs, TOOL_NAME};

/// Send exactly what an AI tool would send, and record the answer.
///
/// Reads `site` records (from keyhole-find or keyhole-env) on stdin and adds a
/// `probe` object to each: the request as the tool would send it (its URL
/// joining, header and scheme, the key exactly as the tool reads it, flaws
/// included) to the provider's free key-check endpoint, every redirect hop,
/// the proxy in effect, and the answer (status, headers, body capped at 1 MiB
/// and redacted). The key is resolved again from the record's reference,
/// never taken from the stream, and only from a source the site's tool reads
/// (its config file under --home or a --path, a .env file it loads, a
/// variable it reads). Other records pass through unchanged.
///
/// See docs/records.md#probe. error.kind may also be "unresolved" (the key could not
/// be resolved: a helper command keyhole does not run, a key store, a file
/// changed since keyhole-find); request.header_invalid is true when the key
/// holds a byte no HTTP header may carry, and then nothing is sent;
/// response.body_truncated marks a body cut at 1 MiB.
#[derive(Parser, Debug)]
#[command(name = "keyhole-probe", version, after_help = AFTER_HELP)]
struct Args {
    #[command(flatten)]
    alone: StandaloneArgs,
    #[command(flatten)]
    home: HomeArgs,
    #[command(flatten)]
    urls: ProviderUrlArgs,
    #[command(flatten)]
    env: EnvArgs,
    #[command(flatten)]
    net: NetArgs,
    /// Send a minimal completion (1 output token) instead of the free key check
    #[arg(long)]
    completion: bool,
    /// Probes at once
    #[arg(long, value_name = "N", default_value_t = 8)]
    jobs: usize,
    /// Also read keys from configs under DIR (a path given to keyhole-find); by default only under --home
    #[arg(long = "path", value_name = "DIR")]
    paths: Vec<std::path::PathBuf>,
    #[command(flatten)]
    generate: GenerateArgs,
}

const AFTER_HELP: &str = "Writing: no keyhole tool writes to your files unless you run `keyhole fix --apply`.\n\
Redaction: keys never appear in clear in anything keyhole prints (records, reports, notes, errors): one redactor replaces them with a marker such as sk-or-v1-…9c23 (redacted, sha8 0011aabb), which still compares.\n\
Send policy: a key is sent only to a catalogued API (over https), loopback, a gateway named by --provider-url or by your own home-level tool config (never by a project's), or a host named with --allow-host; a redirect never carries it to another origin. Any other host is not contacted: error.kind \"not_allowed\", \"not probed: HOST is not a known API (--allow-host HOST to probe it)\".\n\
Exit status: 0 every site probed (whatever the API answered); 2 an input line was not a record, or bad arguments.\n\
Examples:\n  keyhole-find | keyhole-probe | jq -c '{id, status: .probe.response.status, error: .probe.error}'\n  keyhole-probe https://openrouter.ai/api/v1/key --key-env OPENROUTER_API_KEY";

fn main() -> ExitCode {
    let a: Args = cli::parse();
    cli::main::<Args>(TOOL_NAME, &a.generate, || {
        let opts = Options {
            completion: a.completion,
            jobs: a.jobs,
            progress: std::io::stderr().is_terminal(),
            paths: a.paths.iter().cloned().map(cli::absolute).collect(),
            ..Options::from_args(&a.home, &a.env, &a.net, &a.urls)?
        };
        if a.alone.url.is_some() {
            return keyhole_probe::standalone(&a.alone, opts);
        }
        // Started before the input is read, so that the helpers are ready by the first batch.
        let stage = ProbeStage::new(opts, a.net.offline)?;
        stage::run(&stage, &Ctx::new(TOOL_NAME))
    })
}
