//! The send policy applied to a run (README.md#security): the catalogue's
//! hosts, loopback and `--allow-host` (known from the flags), the
//! `--provider-url` gateways, and the gateways the user's own home-level
//! tool configs name — read from those files when a URL needs them, never
//! taken from a record.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keyhole_core::fsread;
use keyhole_core::provider::policy::{Allowed, SendPolicy};
use keyhole_core::record::probe::ProbeError;
use keyhole_core::scan;
use keyhole_core::tool::{self, FileKind};
use keyhole_core::weburl::{self, Url};

use crate::Options;

/// Entries read from one directory while expanding a `*` of a home-level pattern.
const MAX_DIR_ENTRIES: usize = 1000;

/// Decides, for a run, where a credential may go.
#[derive(Debug)]
pub struct Gate {
    /// `--allow-host` and `--provider-url`.
    flags: SendPolicy,
    home: PathBuf,
    /// `flags` plus the home-level configs' gateways, read on first need.
    full: OnceLock<SendPolicy>,
}

impl Gate {
    pub fn new(opts: &Options) -> Gate {
        let mut flags = SendPolicy::new(opts.allow_hosts.clone());
        for url in opts.provider_urls.values() {
            flags.add_gateway(url);
        }
        Gate { flags, home: opts.home.clone(), full: OnceLock::new() }
    }

    /// Also allow the origin of `url` (the standalone probe's URL, which the user typed).
    pub fn allow(&mut self, url: &str) {
        self.flags.add_gateway(url);
        if let Some(f) = self.full.get_mut() {
            f.add_gateway(url);
        }
    }

    /// Why `url` may receive a credential; `None`: it may not.
    pub fn allows(&self, url: &Url) -> Option<Allowed> {
        if let Some(a) = self.flags.allows(url) {
            return Some(a);
        }
        let full = self.full.get_or_init(|| {
            let mut p = self.flags.clone();
            for u in home_gateways(&self.home) {
                p.add_gateway(&u);
            }
            p
        });
        full.allows(url)
    }

    /// `Ok(url parsed)` when a request to `url` may carry a credential, else
    /// the `not_allowed` error that says so (a URL that does not parse is
    /// not sent either).
    pub fn check(&self, url: &str) -> Result<Url, ProbeError> {
        let Some(u) = weburl::parse(url) else {
            return Err(ProbeError::new(
                keyhole_core::record::probe::ErrorKind::Unresolved,
                format!("{} is not an http(s) URL", keyhole_core::secret::redact_key_shapes(url)),
            ));
        };
        match self.allows(&u) {
            Some(_) => Ok(u),
            None => {
                let (message, host) = SendPolicy::refusal(&u);
                Err(ProbeError::not_allowed(message, host))
            }
        }
    }
}

/// The base URLs written in the user's own home-level tool configs (every
/// tool's `home_files` under `home`): gateways configured on this machine.
/// Project configs (workspace files) are not read here: a cloned
/// repository's base URL is never trusted by itself.
pub fn home_gateways(home: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for t in tool::TOOLS {
        for rule in t.home_files.iter().filter(|r| r.kind != FileKind::Marker) {
            for path in expand(home, rule.pattern) {
                let Ok(ex) = scan::extract_file(&path, rule.kind, &[t], home, fsread::DEFAULT_CAP, false) else {
                    continue;
                };
                out.extend(ex.drafts.into_iter().filter_map(|(_, d)| d.base_url.map(|(u, _)| u)));
            }
        }
    }
    out
}

/// The files a home-level pattern (`/`-separated, `*` within a component) names.
fn expand(home: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![home.to_path_buf()];
    for comp in pattern.split('/') {
        let mut next = Vec::new();
        for dir in &found {
            if !comp.contains('*') {
                next.push(dir.join(comp));
                continue;
            }
            let Ok(rd) = std::fs::read_dir(dir) else { continue };
            for e in rd.flatten().take(MAX_DIR_ENTRIES) {
                if tool::matches(comp, &e.file_name().to_string_lossy()) {
                    next.push(e.path());
                }
            }
        }
        found = next;
    }
    found.retain(|p| p.is_file());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_level_configs_name_gateways_and_project_configs_do_not() {
        let home = std::env::temp_dir().join(format!("keyhole-gate-{}", std::process::id()));
        let w = |rel: &str, text: &str| {
            let p = home.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w(".continue/config.yaml", "models:\n  - provider: openrouter\n    apiBase: http://gw.example:4000/v1\n");
        w(".hermes/profiles/a/config.yaml", "model:\n  provider: custom\n  base_url: http://hermes-gw.example/v1\n");
        w("proj/.continue/config.yaml", "models:\n  - provider: openrouter\n    apiBase: http://evil.example/v1\n");
        let mut opts = Options::new(home.clone(), Default::default());
        opts.provider_urls.insert("openai".into(), "http://mirror.example:9000/v1".into());
        let gate = Gate::new(&opts);
        let ok = |u: &str| gate.allows(&weburl::parse(u).unwrap()).is_some();
        assert!(ok("http://gw.example:4000/v1/key"));
        assert!(ok("http://mirror.example:9000/x"));
        assert!(!ok("http://gw.example/v1/key"), "another port is another origin");
        assert!(!ok("http://evil.example/v1/key"));
        let err = gate.check("http://evil.example/v1/key").unwrap_err();
        assert_eq!(err.host.as_deref(), Some("evil.example"));
        let gws = home_gateways(&home);
        assert!(gws.iter().any(|g| g.contains("hermes-gw.example")), "{gws:?}");
        std::fs::remove_dir_all(&home).unwrap();
    }
}
