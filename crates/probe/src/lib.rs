//! keyhole-probe: for each `site`, resolve the key again from its reference
//! (never from the stream), send the request the tool would send, and add
//! the `probe` object of docs/records.md#probe.
//!
//! [`ProbeStage`] is the stage (`keyhole-probe` and `keyhole doctor` run the
//! same one); [`plan()`] builds a site's request, [`Client`] sends it;
//! [`standalone`] is `keyhole-probe URL --key-env VAR`; [`Gate`] is the
//! send policy of a run (README.md#security).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use keyhole_core::cli::{EnvArgs, HomeArgs, NetArgs, ProviderUrlArgs};
use keyhole_core::error::{Error, Result};
use keyhole_core::provider::policy::HostPort;
use keyhole_core::provider::{self, AuthHeader};
use keyhole_core::record::{Extra, ProbeRecord, Record, VERSION};
use keyhole_core::secret::Secret;
use keyhole_core::stage::Output;
use keyhole_core::{fsread, Status};

mod account;
mod batch;
pub mod dispatch;
pub mod gate;
mod net;
pub mod plan;
pub mod pool;
mod proxy;

pub use batch::ProbeStage;
pub use dispatch::Dispatch;
pub use gate::Gate;
pub use net::{load_roots, proxy_for, redact, Client, BODY_CAP};
pub use plan::{join, plan, resolve_key, KeyToSend, Plan};

pub const TOOL_NAME: &str = "keyhole-probe";

/// What a run of the probe needs to know.
#[derive(Clone, Debug)]
pub struct Options {
    pub home: PathBuf,
    /// The analysed environment: `--env-file`, else the probe's own.
    pub env: BTreeMap<String, Vec<u8>>,
    /// The whole probe of a site: connecting, TLS, every redirect hop, the answer.
    pub timeout: Duration,
    /// Send a minimal completion instead of the free key check.
    pub completion: bool,
    /// `--provider-url`: provider name → base URL replacing its default.
    pub provider_urls: BTreeMap<String, String>,
    /// Where running processes are read from (`env.effective` may name one).
    pub proc_root: PathBuf,
    /// `--cacert` files.
    pub cacert: Vec<PathBuf>,
    /// Show progress on stderr (a terminal) when a batch waits over a second.
    pub progress: bool,
    /// Requests in flight at once (`--jobs`).
    pub jobs: usize,
    /// `--allow-host`: hosts the user trusts with keys besides the catalogued APIs.
    pub allow_hosts: Vec<HostPort>,
    /// The paths given besides the home (keyhole doctor's PATHs, keyhole-probe's
    /// `--path`): keys are read from configs under the home or under one of these.
    pub paths: Vec<PathBuf>,
    /// `--resolve` and `--connect-to`: where to connect for a host and port.
    pub resolve: Vec<keyhole_core::cli::Resolve>,
    pub connect_to: Vec<keyhole_core::cli::ConnectTo>,
}

impl Options {
    /// The defaults of the flags, for `home` and the analysed environment `env`.
    pub fn new(home: PathBuf, env: BTreeMap<String, Vec<u8>>) -> Options {
        Options {
            home,
            env,
            timeout: Duration::from_secs(10),
            completion: false,
            provider_urls: BTreeMap::new(),
            proc_root: PathBuf::from("/proc"),
            cacert: Vec::new(),
            progress: false,
            jobs: 8,
            allow_hosts: Vec::new(),
            paths: Vec::new(),
            resolve: Vec::new(),
            connect_to: Vec::new(),
        }
    }

    /// From the shared flag groups (the analysed environment is loaded here).
    pub fn from_args(home: &HomeArgs, env: &EnvArgs, net: &NetArgs, urls: &ProviderUrlArgs) -> Result<Options> {
        Ok(Options {
            timeout: net.timeout(),
            provider_urls: urls.map(),
            proc_root: env.proc_root.clone(),
            cacert: net.cacert.clone(),
            allow_hosts: net.allow_host.clone(),
            resolve: net.resolve.clone(),
            connect_to: net.connect_to.clone(),
            ..Options::new(home.resolve(), env.load()?)
        })
    }
}

/// `keyhole-probe URL`: one request, with a key from where these flags say.
#[derive(clap::Args, Debug, Clone)]
pub struct StandaloneArgs {
    /// Probe this URL alone (with --key-env, --key-stdin or --key-file) instead of reading records
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Standalone: read the key from this environment variable
    #[arg(long, value_name = "VAR", requires = "url")]
    pub key_env: Option<String>,
    /// Standalone: read the key from standard input (exactly as given, newline included)
    #[arg(long, requires = "url")]
    pub key_stdin: bool,
    /// Standalone: read the key from this file (exactly as stored)
    #[arg(long, value_name = "FILE", requires = "url")]
    pub key_file: Option<PathBuf>,
    /// Standalone: the header the key travels in
    #[arg(long, value_name = "NAME", default_value = "authorization", requires = "url")]
    pub header: String,
    /// Standalone: the provider whose key-check path to request (default: from the URL's host, else none)
    #[arg(long, value_name = "NAME", requires = "url")]
    pub provider: Option<String>,
}

impl StandaloneArgs {
    /// The key, read exactly as given.
    fn key(&self, env: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
        if let Some(var) = &self.key_env {
            env.get(var).cloned().ok_or_else(|| Error::usage(format!("{var} is not set in the analysed environment")))
        } else if self.key_stdin {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| Error::input(format!("cannot read the key from standard input: {e}")))?;
            Ok(b)
        } else if let Some(f) = &self.key_file {
            fsread::read_arg(f, 64 * 1024).map_err(|e| Error::input(format!("--key-file: {e}")))
        } else {
            Err(Error::usage("a URL needs --key-env VAR, --key-stdin or --key-file FILE"))
        }
    }
}

/// Probe the URL of `args` alone and write one `probe` record
/// (docs/records.md#probe). The URL is the user's own choice: its host is
/// allowed by the send policy.
pub fn standalone(args: &StandaloneArgs, opts: Options) -> Result<Status> {
    let url = args.url.as_deref().ok_or_else(|| Error::usage("no URL to probe"))?;
    let mut client = Client::new(opts)?;
    client.allow(url);
    let key = args.key(&client.options().env)?;
    let provider = args.provider.as_deref().and_then(provider::normalize).or_else(|| provider::by_url(url));
    let header = AuthHeader::parse(&args.header).ok_or_else(|| {
        Error::usage(format!(
            "unknown header {:?}: authorization, x-api-key, api-key, x-goog-api-key, query:key",
            args.header
        ))
    })?;
    let scheme = if header == AuthHeader::Authorization { "bearer" } else { "raw" };
    let secret = Secret::new(key);
    let plan = Plan {
        method: "GET",
        url: url.to_string(),
        header: header.as_str().to_string(),
        scheme: scheme.into(),
        fp: Some(secret.fingerprint(provider)),
        key: Some(Arc::new(secret)),
        also: Vec::new(),
        extra: provider
            .map(|p| p.extra_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default(),
        body: None,
        provider,
        // The user's own request, as curl would send it.
        trust: keyhole_core::tool::Trust::System,
    };
    let record = Record::Probe(ProbeRecord {
        v: VERSION,
        url: redact(url, None),
        provider: provider.map(|p| p.name.to_string()),
        probe: client.send(&plan),
        diagnoses: None,
        extra: Extra::new(),
    });
    Output::stdout().write(&record)?;
    Ok(Status::Ok)
}
