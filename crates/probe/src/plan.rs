//! What a site's tool would send (docs/records.md#probe): its key read again
//! from the site's reference (never from the stream), its URL joined the
//! tool's way, its header and scheme.

use std::path::Path;
use std::sync::Arc;

use keyhole_core::fsread;
use keyhole_core::provider::{self, Provider};
use keyhole_core::record::env::Env;
use keyhole_core::record::probe::{ErrorKind, ProbeError};
use keyhole_core::record::{KeySource, Site};
use keyhole_core::scan;
use keyhole_core::secret::{Fingerprint, Secret};
use keyhole_core::tool::{self, Tool, Unset, UrlJoin};
use serde::Serialize;

use crate::Options;

/// What the tool will put in its credential header.
#[derive(Debug)]
pub enum KeyToSend {
    Value(Secret),
    /// The tool sends no credential header at all (why, in words).
    NoHeader(String),
}

fn unresolved(message: impl Into<String>) -> ProbeError {
    ProbeError::new(ErrorKind::Unresolved, message)
}

/// What the site's tool sends in place of a key it cannot resolve.
fn unset(t: Option<&Tool>, syntax: Option<&str>, var: &str, no_header: impl FnOnce() -> String) -> KeyToSend {
    match t.map_or(Unset::NoHeader, |t| t.unset_sends(syntax, var)) {
        Unset::Text(text) => KeyToSend::Value(Secret::new(text.into_bytes())),
        Unset::NoHeader => KeyToSend::NoHeader(no_header()),
    }
}

/// Resolve the key a site's tool will send, from the site's reference. An
/// error is always of kind `unresolved`.
pub fn resolve_key(site: &Site, opts: &Options) -> Result<KeyToSend, ProbeError> {
    let key = &site.key;
    let t = tool::get(&site.tool);
    let (var, syntax, name) = (key.var_name(), key.syntax.as_deref(), site.tool.as_str());
    match key.from {
        KeySource::Literal => literal_again(site, opts).map(KeyToSend::Value),
        KeySource::Placeholder => Ok(KeyToSend::Value(Secret::new(key.text.as_deref().unwrap_or("").as_bytes()))),
        KeySource::Env => match &site.env {
            // keyhole-env said what the tool really gets: read it again from there.
            Some(env) => Ok(match from_effective(site, env, var, opts)? {
                Some(v) => KeyToSend::Value(Secret::new(v)),
                None => unset(t, syntax, var, || {
                    format!("keyhole-env found no value of {var} for {name}: it sends no credential header")
                }),
            }),
            None => Ok(match opts.env.get(var) {
                Some(v) if !(v.is_empty() && t.is_some_and(|t| t.empty_is_unset)) => {
                    KeyToSend::Value(Secret::new(v.clone()))
                }
                _ => unset(t, syntax, var, || {
                    format!("{var} is unset in the analysed environment: {name} sends no credential header")
                }),
            }),
        },
        KeySource::File => {
            let path = key.path.as_deref().unwrap_or("");
            fsread::read_bytes(Path::new(path), 64 * 1024)
                .map(|b| KeyToSend::Value(Secret::new(b)))
                .map_err(|e| unresolved(format!("{path} {e}")))
        }
        KeySource::None => Ok(unset(t, None, "", || "no key is configured".into())),
        KeySource::Command => Err(unresolved(format!(
            "the key comes from a helper command ({}); keyhole-probe does not run it",
            key.cmd.as_deref().unwrap_or("?")
        ))),
        KeySource::Store => Err(unresolved(format!(
            "the key is in {} which keyhole cannot read: verify with keyhole-capture",
            key.store.as_deref().unwrap_or("a store")
        ))),
    }
}

/// The value keyhole-env said the tool really gets (`env.effective`), read
/// again from where it lives: a `.env` file and line, a running process's
/// environment, or the analysed environment; checked against its fingerprint.
fn from_effective(site: &Site, env: &Env, var: &str, opts: &Options) -> Result<Option<Vec<u8>>, ProbeError> {
    let Some(eff) = &env.effective else { return Ok(None) };
    let from = eff.from.as_str();
    let value: Option<Vec<u8>> = if from == "environment" {
        opts.env.get(var).cloned()
    } else if let Some(pid) = from.strip_prefix("process:") {
        let path = opts.proc_root.join(pid).join("environ");
        let bytes = fsread::read_bytes(&path, 4 * 1024 * 1024)
            .map_err(|e| unresolved(format!("process {pid}: its environment {e}")))?;
        keyhole_core::envfile::parse(&bytes).remove(var)
    } else {
        let line = eff.line.unwrap_or(0);
        let text =
            fsread::read_text(Path::new(from), fsread::DEFAULT_CAP).map_err(|e| unresolved(format!("{from} {e}")))?;
        let flavor = tool::get(&site.tool)
            .and_then(|t| t.dotenv.first().map(|r| r.flavor))
            .unwrap_or(keyhole_core::dotenv::Flavor::Python);
        keyhole_core::dotenv::parse(&text, flavor)
            .into_iter()
            .find(|e| e.name == var && e.line == line)
            .map(|e| e.value.into_bytes())
    };
    let want = eff.fp.as_ref().map_or("", |f| f.sha8.as_str());
    match value {
        Some(v) if Fingerprint::of(&v, None).sha8 == want => Ok(Some(v)),
        Some(_) | None => {
            Err(unresolved(format!("the value of {var} at {from} changed since keyhole-env ran; run it again")))
        }
    }
}

/// Read the site's file again and take the literal whose fingerprint the record names.
fn literal_again(site: &Site, opts: &Options) -> Result<Secret, ProbeError> {
    let (file, line, name) = (site.source.file.as_str(), site.source.line, site.tool.as_str());
    let want = site
        .key
        .fp
        .as_ref()
        .map(|f| f.sha8.as_str())
        .ok_or_else(|| unresolved("the literal key has no fingerprint"))?;
    // The file is read as the reader that found the site reads it.
    let t = tool::get(name).map(Tool::reader).ok_or_else(|| unresolved(format!("unknown tool {name:?}")))?;
    let path = Path::new(file);
    let kind =
        scan::kind_for(t, path, &opts.home).ok_or_else(|| unresolved(format!("{file} is not a file {name} reads")))?;
    let ex = scan::extract_file(path, kind, &[t], &opts.home, fsread::DEFAULT_CAP, false)
        .map_err(|e| unresolved(format!("{e:?}")))?;
    ex.secrets.into_iter().find_map(|(s, sha8)| (sha8 == want).then_some(s)).ok_or_else(|| {
        unresolved(format!(
            "the key at {file}:{line} changed since keyhole-find ran (sha8 {want} is gone); run keyhole-find again"
        ))
    })
}

/// The URL a tool requests for `path`, joined its way (the tool's own string
/// joining, double slashes included: not RFC 3986's).
pub fn join(base: &str, join: UrlJoin, path: &str) -> String {
    match join {
        UrlJoin::TrimAndAppend => format!("{}/{}", base.trim_end_matches('/'), path),
        UrlJoin::Naive => format!("{base}/{path}"),
        UrlJoin::AnthropicSdk => format!("{}/v1/{}", base.trim_end_matches('/'), path),
    }
}

/// One prepared request: everything that makes two sites' probes identical.
#[derive(Clone, Debug)]
pub struct Plan {
    pub method: &'static str,
    pub url: String,
    pub header: String,
    pub scheme: String,
    pub key: Option<Arc<Secret>>,
    pub extra: Vec<(String, String)>,
    pub body: Option<String>,
    pub fp: Option<Fingerprint>,
    pub provider: Option<&'static Provider>,
}

impl Plan {
    /// Two plans with equal keys send the same request.
    pub fn dedupe_key(&self) -> String {
        format!(
            "{} {} {} {} {:?} {:?}",
            self.method,
            self.url,
            self.header,
            self.scheme,
            self.fp.as_ref().map(|f| &f.sha8),
            self.body
        )
    }
}

/// The smallest completion (`--completion`): one output token.
#[derive(Serialize)]
struct Completion<'a> {
    model: &'a str,
    max_tokens: u32,
    messages: [Message<'a>; 1],
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

/// Build the request a site's tool would send, or why it cannot be built
/// (kind `unresolved`).
pub fn plan(site: &Site, opts: &Options) -> Result<Plan, ProbeError> {
    let pname = site.provider.as_str();
    let p: &'static Provider = provider::get(pname).ok_or_else(|| unresolved(format!("unknown provider {pname:?}")))?;
    let t = tool::get(&site.tool);
    let join_rule = t.map_or(UrlJoin::TrimAndAppend, |t| t.url_join);
    let base = match opts.provider_urls.get(pname) {
        Some(u) if site.base_url_from == "default" => u.as_str(),
        _ => site.base_url.as_str(),
    };
    if base.is_empty() {
        return Err(unresolved(format!("{} has no default base URL and the site names none", p.display)));
    }
    let (method, path, body) = if opts.completion {
        let model = site.model.as_deref().unwrap_or("openrouter/auto");
        // Anthropic-style APIs take /messages; every other one the OpenAI chat route.
        let path =
            if p.name == "anthropic" || join_rule == UrlJoin::AnthropicSdk { "messages" } else { "chat/completions" };
        let body = Completion { model, max_tokens: 1, messages: [Message { role: "user", content: "ping" }] };
        ("POST", path, Some(serde_json::to_string(&body).expect("a completion serializes")))
    } else {
        let check = p
            .check
            .ok_or_else(|| unresolved(format!("{} has no free key-check endpoint; use --completion", p.display)))?;
        (check.method, check.path, None)
    };
    let mut url = join(base, join_rule, path);
    let (header, scheme) = (site.auth.header.clone(), site.auth.scheme.clone());
    let key = match resolve_key(site, opts)? {
        // A tool that trims the key sends it trimmed (Continue, measured).
        KeyToSend::Value(s) if t.is_some_and(|t| t.trims_key) => {
            let trimmed = String::from_utf8_lossy(s.expose()).trim().as_bytes().to_vec();
            Some(Arc::new(Secret::new(trimmed)))
        }
        KeyToSend::Value(s) => Some(Arc::new(s)),
        KeyToSend::NoHeader(_) => None,
    };
    if header == "query:key" {
        if let Some(k) = &key {
            // Appended as the tool appends it (not percent-encoded).
            let sep = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{sep}key={}", String::from_utf8_lossy(k.expose()));
        }
    }
    let fp = key.as_ref().map(|k| k.fingerprint(Some(p)));
    let mut extra: Vec<(String, String)> =
        p.extra_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if body.is_some() {
        extra.push(("content-type".into(), "application/json".into()));
    }
    Ok(Plan { method, url, header, scheme, key, extra, body, fp, provider: Some(p) })
}
