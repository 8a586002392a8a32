//! Flags shared by every binary (docs/records.md#flags) as argument groups,
//! the one shape of every `main`, and man/completion generation from the one
//! clap definition of each binary.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Command, ValueEnum};

use crate::error::{Error, Result};
use crate::Status;

use crate::provider;

mod man;

#[derive(Args, Debug, Clone, Default)]
pub struct HomeArgs {
    /// The home directory to analyse (default: $HOME); every `~` path resolves against it
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

impl HomeArgs {
    /// An absolute home path (relative `--home` is taken from the cwd).
    pub fn resolve(&self) -> PathBuf {
        let h = self
            .home
            .clone()
            .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/"));
        absolute(h)
    }
}

pub fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p)
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct ProviderUrlArgs {
    /// Replace provider NAME's default base URL (a gateway, a mirror, a local test server); repeatable
    #[arg(long = "provider-url", value_name = "NAME=URL", value_parser = parse_provider_url)]
    pub provider_url: Vec<(String, String)>,
}

impl ProviderUrlArgs {
    pub fn map(&self) -> BTreeMap<String, String> {
        self.provider_url.iter().cloned().collect()
    }
}

fn parse_provider_url(s: &str) -> Result<(String, String), String> {
    let (name, url) = s.split_once('=').ok_or("expected NAME=URL, e.g. openrouter=http://127.0.0.1:8080/api/v1")?;
    let p = provider::normalize(name).ok_or_else(|| {
        let names: Vec<_> = provider::PROVIDERS.iter().map(|p| p.name).collect();
        format!("unknown provider {name:?}; known: {}", names.join(", "))
    })?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    Ok((p.name.to_string(), url.trim_end_matches('/').to_string()))
}

/// The environment and processes a run analyses.
#[derive(Args, Debug, Clone)]
pub struct EnvArgs {
    /// Analyse this environment (NAME=VALUE lines, or NUL-separated like /proc/PID/environ) instead of keyhole's own
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Where to read running processes from
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
}

impl EnvArgs {
    /// The analysed environment: `--env-file`, else keyhole's own.
    pub fn load(&self) -> Result<BTreeMap<String, Vec<u8>>> {
        crate::envfile::load(self.env_file.as_deref()).map_err(Error::input)
    }
}

/// How requests go out.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// Seconds for the whole probe of a site: connecting, TLS, every redirect hop and the answer
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// Never touch the network (nothing is probed)
    #[arg(long)]
    pub offline: bool,
    /// Also trust the CA certificates in this PEM file (repeatable), as a public root every tool's trust store holds
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Also send keys to HOST (any port) or HOST:PORT (repeatable). Without it a key goes only to a catalogued API, loopback, or a gateway named by --provider-url or by your own home-level tool config
    #[arg(long = "allow-host", value_name = "HOST", value_parser = provider::policy::HostPort::parse)]
    pub allow_host: Vec<provider::policy::HostPort>,
    /// Connect to ADDR (comma-separated addresses, IPv6 in brackets) for HOST:PORT instead of looking it up, as curl --resolve does (repeatable). TLS and the send policy still see HOST
    #[arg(long, value_name = "HOST:PORT:ADDR", value_parser = Resolve::parse)]
    pub resolve: Vec<Resolve>,
    /// Connect to HOST2:PORT2 for requests to HOST1:PORT1 (an empty HOST1 or PORT1 matches any), as curl --connect-to does (repeatable). TLS and the send policy still see HOST1
    #[arg(long = "connect-to", value_name = "HOST1:PORT1:HOST2:PORT2", value_parser = ConnectTo::parse)]
    pub connect_to: Vec<ConnectTo>,
}

/// `--resolve HOST:PORT:ADDR[,ADDR…]` (curl's syntax; docs/wire.md#trust-proxies-and-redirects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolve {
    /// Lower case, without brackets.
    pub host: String,
    pub port: u16,
    pub addrs: Vec<std::net::IpAddr>,
}

/// Split `s` at its first `:` outside brackets: `([::1], rest)`.
fn split_field(s: &str) -> Option<(&str, &str)> {
    let end = if s.starts_with('[') { s.find(']')? + 1 } else { 0 };
    let colon = end + s[end..].find(':')?;
    Some((&s[..colon], &s[colon + 1..]))
}

fn unbracket(h: &str) -> String {
    h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

impl Resolve {
    pub fn parse(s: &str) -> std::result::Result<Resolve, String> {
        let usage = || format!("expected HOST:PORT:ADDR, e.g. openrouter.ai:443:127.0.0.1 (got {s:?})");
        let (host, rest) = split_field(s).ok_or_else(usage)?;
        let (port, addrs) = rest.split_once(':').ok_or_else(usage)?;
        let port = port.parse().map_err(|_| usage())?;
        let addrs = addrs
            .split(',')
            .map(|a| unbracket(a.trim()).parse::<std::net::IpAddr>().map_err(|_| usage()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if host.is_empty() || addrs.is_empty() {
            return Err(usage());
        }
        Ok(Resolve { host: unbracket(host), port, addrs })
    }
}

/// `--connect-to HOST1:PORT1:HOST2:PORT2` (curl's syntax): an empty field
/// matches any host or port, or keeps the request's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

impl ConnectTo {
    pub fn parse(s: &str) -> std::result::Result<ConnectTo, String> {
        let usage = || format!("expected HOST1:PORT1:HOST2:PORT2, e.g. openrouter.ai:443:127.0.0.1:8443 (got {s:?})");
        let (h1, rest) = split_field(s).ok_or_else(usage)?;
        let (p1, rest) = rest.split_once(':').ok_or_else(usage)?;
        let (h2, p2) = split_field(rest).ok_or_else(usage)?;
        let port = |p: &str| if p.is_empty() { Ok(None) } else { p.parse().map(Some).map_err(|_| usage()) };
        let host = |h: &str| (!h.is_empty()).then(|| unbracket(h));
        Ok(ConnectTo { host: host(h1), port: port(p1)?, to_host: host(h2), to_port: port(p2)? })
    }
}

impl NetArgs {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(if self.timeout.is_finite() { self.timeout.clamp(0.1, MAX_TIMEOUT_SECS) } else { 10.0 })
    }
}

/// The longest timeout a flag takes: a day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// A `--timeout` value, checked when the flags are parsed: `inf`, `nan` or
/// `1e30` is a usage error (exit 2) that says the range, never a panic
/// when it becomes a `Duration`.
pub fn parse_timeout(s: &str) -> std::result::Result<f64, String> {
    parse_seconds(s, MAX_TIMEOUT_SECS)
}

/// Seconds: a number greater than 0 and at most `max`.
pub fn parse_seconds(s: &str, max: f64) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= max => Ok(v),
        _ => Err(format!("expected a number of seconds greater than 0 and at most {max} (e.g. 10 or 2.5)")),
    }
}

/// `--color auto|always|never` of the text report (doctor's and keyhole-report's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour on a terminal whose TERM is not dumb
    #[default]
    Auto,
    /// Colour even into a pipe or a file
    Always,
    /// No colour
    Never,
}

impl Color {
    /// What was asked: `None` lets the report decide by the terminal.
    /// NO_COLOR still wins (README.md#keyhole-report-and-keyhole-capture).
    pub fn asked(self) -> Option<bool> {
        match self {
            Color::Auto => None,
            Color::Always => Some(true),
            Color::Never => Some(false),
        }
    }
}

/// The hidden `--generate` of every binary.
#[derive(Args, Debug, Clone, Default)]
pub struct GenerateArgs {
    /// Write a man page or a completion script to stdout
    #[arg(long, value_enum, hide = true)]
    pub generate: Option<Generate>,
    /// With --generate man: the page of this subcommand (keyhole --generate man --generate-for doctor)
    #[arg(long, value_name = "SUBCOMMAND", hide = true, requires = "generate")]
    pub generate_for: Option<String>,
}

/// The one shape of every main: `--generate` answered from the clap
/// definition, else `run`, its outcome mapped to an exit status in one place
/// ([`crate::error::exit`]).
pub fn main<C: clap::CommandFactory>(
    tool: &str,
    generate: &GenerateArgs,
    run: impl FnOnce() -> Result<Status>,
) -> ExitCode {
    if let Some(g) = generate.generate {
        let done = self::generate_for(C::command(), g, generate.generate_for.as_deref());
        return crate::error::exit(tool, done);
    }
    crate::error::exit(tool, run())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Generate {
    Man,
    CompleteBash,
    CompleteZsh,
    CompleteFish,
    /// Every argument and subcommand without help text, one a line (exit 1 when there is one)
    Lint,
}

/// `--generate WHAT [--generate-for SUBCOMMAND]`.
pub fn generate_for(cmd: Command, what: Generate, sub: Option<&str>) -> Result<Status> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let name = cmd.get_name().to_string();
    let shell = match what {
        Generate::Man => {
            out.write_all(man::page(cmd, sub)?.as_bytes())?;
            return Ok(Status::Ok);
        }
        Generate::Lint => {
            let missing = undocumented(cmd);
            for m in &missing {
                writeln!(out, "{m}")?;
            }
            return Ok(if missing.is_empty() { Status::Ok } else { Status::Found });
        }
        Generate::CompleteBash => clap_complete::Shell::Bash,
        Generate::CompleteZsh => clap_complete::Shell::Zsh,
        Generate::CompleteFish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut for_completion(&cmd), name, &mut out);
    Ok(Status::Ok)
}

/// The programs `keyhole NAME …` runs (`keyhole-NAME`), with what each
/// answers: the umbrella's completions, its page and every page's SEE ALSO.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("find", "List every place where an AI tool takes an API credential from"),
    ("env", "Which launch contexts and running processes see an API-key variable"),
    ("probe", "Send exactly what an AI tool would send, and record the answer"),
    ("classify", "Name the root cause of an API-key failure, and the fix"),
    ("report", "Tell in plain words what is wrong with each API key, and how to fix it"),
    ("capture", "See what your AI tool actually sends"),
    ("fix", "Plan the smallest edit that fixes each site's root cause; show it, or apply it with --apply"),
];

/// The command the completion scripts are made from: hidden flags left out
/// (`--generate`), and for the umbrella, whose `keyhole NAME` runs
/// `keyhole-NAME`, every program of [`PROGRAMS`] as a subcommand.
fn for_completion(cmd: &Command) -> Command {
    let mut c = without_hidden(cmd);
    let mut built = cmd.clone();
    built.build();
    if built.is_allow_external_subcommands_set() {
        for (name, about) in PROGRAMS {
            if c.find_subcommand(name).is_none() {
                let args = clap::Arg::new("args")
                    .help(format!("The arguments of keyhole-{name}"))
                    .num_args(0..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true);
                c = c.subcommand(Command::new(*name).about(*about).arg(args));
            }
        }
    }
    c
}

fn without_hidden(cmd: &Command) -> Command {
    // Command names are &'static str without clap's `string` feature; this
    // runs once, just before the process exits.
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let mut c = Command::new(leak(cmd.get_name()));
    if let Some(v) = cmd.get_version() {
        c = c.version(leak(v));
    }
    if let Some(a) = cmd.get_about() {
        c = c.about(a.clone());
    }
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        c = c.arg(a.clone());
    }
    for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        c = c.subcommand(without_hidden(s));
    }
    c
}

/// Every argument (and subcommand) of `cmd` without help text, as
/// `keyhole-report --format`: the lint `--generate lint` prints.
pub fn undocumented(mut cmd: Command) -> Vec<String> {
    cmd.build();
    let mut out = Vec::new();
    walk_undocumented(&cmd, cmd.get_name(), &mut out);
    out
}

fn walk_undocumented(cmd: &Command, path: &str, out: &mut Vec<String>) {
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        if a.get_help().is_none() && a.get_long_help().is_none() {
            let name = a.get_long().map(|l| format!("--{l}")).unwrap_or_else(|| a.get_id().to_string().to_uppercase());
            out.push(format!("{path} {name}: no help text"));
        }
    }
    for s in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        if s.get_about().is_none() && s.get_long_about().is_none() {
            out.push(format!("{path} {}: no help text", s.get_name()));
        }
        walk_undocumented(s, &format!("{path} {}", s.get_name()), out);
    }
}

/// Parse the command line; a usage error is printed with anything shaped
/// like a key redacted (clap echoes the bad value: a key pasted into the
/// wrong flag must not end up in a terminal log), exit status 2.
pub fn parse<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(t) => t,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            let text = e.render().to_string();
            let _ = std::io::Write::write_all(&mut std::io::stderr(), crate::redact::words(&text, false).as_bytes());
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_and_connect_to_read_as_curl_reads_them() {
        let r = Resolve::parse("OpenRouter.ai:443:127.0.0.1,[::1]").unwrap();
        assert_eq!((r.host.as_str(), r.port, r.addrs.len()), ("openrouter.ai", 443, 2));
        assert_eq!(Resolve::parse("[::1]:80:127.0.0.2").unwrap().host, "::1");
        assert!(Resolve::parse("openrouter.ai:443").is_err());
        assert!(Resolve::parse("openrouter.ai:x:127.0.0.1").is_err());
        assert!(Resolve::parse("openrouter.ai:443:not-an-ip").is_err());
        let c = ConnectTo::parse("openrouter.ai:443:127.0.0.1:8443").unwrap();
        assert_eq!(c.host.as_deref(), Some("openrouter.ai"));
        assert_eq!((c.port, c.to_host.as_deref(), c.to_port), (Some(443), Some("127.0.0.1"), Some(8443)));
        let any = ConnectTo::parse("::[::1]:").unwrap();
        assert_eq!((any.host, any.port, any.to_host.as_deref(), any.to_port), (None, None, Some("::1"), None));
        assert!(ConnectTo::parse("a:1:b").is_err());
    }
}
