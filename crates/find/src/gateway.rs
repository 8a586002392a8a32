//! Gateways (docs/wire.md#gateways): a site whose base URL is a gateway
//! configured on this machine — a LiteLLM proxy's config, on the port its
//! systemd user unit or its running process names (else the catalogue's
//! default) — is that gateway's client. It gets the gateway's provider (its
//! key is the gateway's, never "another provider's key") and a
//! `gateway` link naming the gateway's own upstream sites, the next hop.

use std::path::{Path, PathBuf};

use keyhole_core::provider;
use keyhole_core::record::{Extra, GatewayLink, Site};
use keyhole_core::secret::Flaw;
use keyhole_core::tool::{self, Gateway, Tool};
use keyhole_core::weburl;

/// A command line that starts a gateway: the config it names, and the port.
#[derive(Debug, Clone, PartialEq)]
struct Launch {
    config: PathBuf,
    port: Option<u16>,
    /// `FILE:LINE` of a unit's `ExecStart=`, or `process PID`.
    at: String,
}

/// One gateway instance: a config served on a port.
struct Instance {
    tool: &'static Tool,
    spec: Gateway,
    config: String,
    port: u16,
    port_from: String,
}

/// Link every client site to the gateway its base URL points at. `proc_root`:
/// where running processes are read (None: not at all).
pub fn link(sites: &mut [Site], home: &Path, proc_root: Option<&Path>, notes: &mut Vec<String>) {
    let gateway_tools: Vec<(&'static Tool, Gateway)> =
        tool::TOOLS.iter().filter_map(|t| t.gateway.map(|g| (*t, g))).collect();
    if gateway_tools.is_empty() {
        return;
    }
    let mut launches = unit_launches(home, &gateway_tools);
    if let Some(root) = proc_root {
        launches.extend(process_launches(root, &gateway_tools));
    }
    // The configs found, each served where a launch says, else on the default port.
    let mut instances: Vec<Instance> = Vec::new();
    for s in sites.iter().filter(|s| !s.template) {
        let Some(&(t, spec)) = gateway_tools.iter().find(|(t, _)| t.name == s.tool) else { continue };
        if !s.source.pointer.as_deref().is_some_and(|p| p.starts_with(spec.upstreams)) {
            continue;
        }
        if instances.iter().any(|i| i.config == s.source.file) {
            continue;
        }
        let real = canonical(Path::new(&s.source.file));
        let mine: Vec<&Launch> = launches.iter().filter(|l| canonical(&l.config) == real).collect();
        if mine.is_empty() {
            instances.push(Instance {
                tool: t,
                spec,
                config: s.source.file.clone(),
                port: spec.default_port,
                port_from: "default".into(),
            });
        }
        for l in mine {
            let (port, port_from) = match l.port {
                Some(p) => (p, l.at.clone()),
                None => (spec.default_port, format!("default ({} names no port)", l.at)),
            };
            if !instances.iter().any(|i| i.config == s.source.file && i.port == port) {
                instances.push(Instance { tool: t, spec, config: s.source.file.clone(), port, port_from });
            }
        }
    }
    if instances.is_empty() {
        return;
    }
    let upstreams = |i: &Instance, sites: &[Site]| -> Vec<String> {
        sites
            .iter()
            .filter(|s| s.tool == i.tool.name && s.source.file == i.config)
            .filter(|s| s.source.pointer.as_deref().is_some_and(|p| p.starts_with(i.spec.upstreams)))
            .map(|s| s.id.clone())
            .collect()
    };
    let links: Vec<(GatewayLink, &Instance)> = instances
        .iter()
        .map(|i| {
            let link = GatewayLink {
                provider: i.spec.provider.into(),
                config: i.config.clone(),
                port: i.port,
                port_from: i.port_from.clone(),
                sites: upstreams(i, sites),
                extra: Extra::new(),
            };
            (link, i)
        })
        .collect();
    let host = keyhole_core::record::host_name();
    for s in sites.iter_mut().filter(|s| !s.template) {
        // The gateway's own key (its master key) is checked where the gateway listens.
        if let Some((_, i)) = links.iter().find(|(_, i)| s.tool == i.tool.name && s.source.file == i.config) {
            if s.provider == i.spec.provider && s.base_url_from == "default" {
                s.base_url = format!("http://localhost:{}", i.port);
            }
            continue;
        }
        let Some(port) = local_port(&s.base_url, &host) else { continue };
        let mut here = links.iter().filter(|(l, _)| l.port == port);
        // Two configs on one port with nothing to tell them apart: no guess.
        let (Some((link, _)), None) = (here.next(), here.next()) else {
            if links.iter().filter(|(l, _)| l.port == port).count() > 1 {
                notes.push(format!("{}: several gateway configs serve port {port}; not linked", s.id));
            }
            continue;
        };
        if let Some(fp) = s.key.fp.as_mut() {
            keep_gateway_flaws(&mut fp.flaws, &fp.prefix, link.provider.as_str());
        }
        s.provider = link.provider.clone();
        s.gateway = Some(link.clone());
    }
}

/// A literal key's flaws that judge it against the provider it was found
/// for (length, prefix) say nothing about a gateway's key: only another
/// provider's own prefix (an `sk-or-v1-` key sent to the gateway) is kept.
fn keep_gateway_flaws(flaws: &mut Vec<Flaw>, prefix: &str, gateway: &str) {
    let own = provider::get(gateway).is_some_and(|g| g.key_prefixes.contains(&prefix));
    flaws.retain(|f| match f {
        Flaw::WrongLength | Flaw::PrefixMissing | Flaw::PrefixDoubled | Flaw::PrefixMangled => false,
        Flaw::ForeignPrefix => !own,
        _ => true,
    });
    if !own
        && provider::known_prefix(prefix).is_some_and(|(p, _)| p != gateway)
        && !flaws.contains(&Flaw::ForeignPrefix)
    {
        flaws.push(Flaw::ForeignPrefix);
    }
}

/// The port of a base URL on this machine (loopback or its own host name).
fn local_port(base: &str, host: &str) -> Option<u16> {
    let u = weburl::parse(base)?;
    let h = weburl::host_of(&u)?;
    let local = provider::policy::is_loopback(&u) || h == "0.0.0.0" || h.eq_ignore_ascii_case(host);
    local.then(|| u.port_or_known_default()).flatten()
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Whether an argument vector runs one of the tool's programs: an
/// executable, script or `-m` module whose name is in its process family.
fn runs(argv: &[String], t: &Tool) -> bool {
    let base = |a: &str| a.rsplit('/').next().unwrap_or(a).to_string();
    let head = argv.iter().take(3);
    head.enumerate().any(|(i, a)| {
        t.process_family.iter().any(|f| {
            if f.contains('/') {
                a.contains(f)
            } else {
                base(a) == *f || (i > 0 && argv[i - 1] == "-m" && a == f)
            }
        })
    })
}

/// The value of a flag in `argv` (`--flag VALUE` or `--flag=VALUE`).
fn flag<'a>(argv: &'a [String], names: &[&str]) -> Option<&'a str> {
    argv.iter().enumerate().find_map(|(i, a)| {
        names.iter().find_map(|n| {
            if a == n {
                argv.get(i + 1).map(String::as_str)
            } else {
                a.strip_prefix(n).and_then(|r| r.strip_prefix('='))
            }
        })
    })
}

/// A launch from an argument vector that runs a gateway tool with its config.
fn launch_of(argv: &[String], tools: &[(&'static Tool, Gateway)], cwd: &Path, at: String) -> Option<Launch> {
    let (_, g) = tools.iter().find(|(t, _)| runs(argv, t))?;
    let config = flag(argv, g.config_flags)?;
    let port = flag(argv, g.port_flags).and_then(|p| p.parse().ok());
    Some(Launch { config: cwd.join(config), port, at })
}

/// `ExecStart=` lines of the user's systemd units that start a gateway
/// (docs/launch-contexts.md#services): `%h` is the home, a relative config
/// is read from `WorkingDirectory=`.
fn unit_launches(home: &Path, tools: &[(&'static Tool, Gateway)]) -> Vec<Launch> {
    let dir = home.join(".config/systemd/user");
    let Ok(rd) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "service")).collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = keyhole_core::fsread::read_text(&f, keyhole_core::fsread::DEFAULT_CAP) else { continue };
        let h = home.display().to_string();
        let cwd = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("WorkingDirectory="))
            .map(|d| PathBuf::from(d.trim().trim_start_matches('-').replace("%h", &h).replacen('~', &h, 1)))
            .unwrap_or_else(|| home.to_path_buf());
        // Each line with its continuation lines (`\` at the end), numbered where it starts.
        let mut logical: Vec<(usize, String)> = Vec::new();
        let mut open = false;
        for (n, line) in text.lines().enumerate() {
            match logical.last_mut().filter(|_| open) {
                Some((_, l)) => l.push_str(line.trim_end_matches('\\')),
                None => logical.push((n, line.trim_end_matches('\\').to_string())),
            }
            open = line.ends_with('\\');
        }
        for (n, line) in logical {
            let Some(cmd) = line.trim().strip_prefix("ExecStart=") else { continue };
            let argv: Vec<String> = cmd
                .trim_start_matches(['-', '@', '+', '!', ':'])
                .split_whitespace()
                .map(|a| a.trim_matches(['"', '\'']).replace("%h", &h))
                .map(|a| if let Some(r) = a.strip_prefix("~/") { format!("{h}/{r}") } else { a })
                .collect();
            let at = format!("{}:{}", f.display(), n + 1);
            out.extend(launch_of(&argv, tools, &cwd, at));
        }
    }
    out
}

/// Running processes that start a gateway: `/proc/PID/cmdline`, a relative
/// config read from `/proc/PID/cwd`.
fn process_launches(root: &Path, tools: &[(&'static Tool, Gateway)]) -> Vec<Launch> {
    let Ok(rd) = std::fs::read_dir(root) else { return Vec::new() };
    let mut pids: Vec<u32> = rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    let mut out = Vec::new();
    for pid in pids {
        let dir = root.join(pid.to_string());
        let Ok(raw) = keyhole_core::fsread::read_bytes(&dir.join("cmdline"), 64 * 1024) else { continue };
        let argv: Vec<String> =
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let cwd = std::fs::read_link(dir.join("cwd")).unwrap_or_else(|_| PathBuf::from("/"));
        out.extend(launch_of(&argv, tools, &cwd, format!("process {pid}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_command_line_names_the_config_and_the_port() {
        let tools: Vec<(&'static Tool, Gateway)> =
            tool::TOOLS.iter().filter_map(|t| t.gateway.map(|g| (*t, g))).collect();
        let l =
            launch_of(&argv("/h/.venv/bin/litellm --config c.yaml --port 4001"), &tools, Path::new("/h"), "x".into());
        assert_eq!(l.map(|l| (l.config, l.port)), Some((PathBuf::from("/h/c.yaml"), Some(4001))));
        let l = launch_of(&argv("python3 -m litellm --config=/c.yaml"), &tools, Path::new("/h"), "x".into());
        assert_eq!(l.map(|l| (l.config, l.port)), Some((PathBuf::from("/c.yaml"), None)));
        // Noise: an editor on a file named after it, a script given it as an argument.
        assert!(launch_of(&argv("vim /h/litellm/config.yaml"), &tools, Path::new("/h"), "x".into()).is_none());
        assert!(launch_of(
            &argv("python3 run.py --client litellm --config c.yaml"),
            &tools,
            Path::new("/"),
            "x".into()
        )
        .is_none());
    }

    #[test]
    fn a_gateway_key_keeps_only_another_providers_prefix() {
        let mut f = vec![Flaw::WrongLength, Flaw::ForeignPrefix, Flaw::Quoted];
        keep_gateway_flaws(&mut f, "sk-", "litellm");
        assert_eq!(f, [Flaw::Quoted]);
        let mut f = vec![];
        keep_gateway_flaws(&mut f, "sk-or-v1-", "litellm");
        assert_eq!(f, [Flaw::ForeignPrefix]);
    }
}
