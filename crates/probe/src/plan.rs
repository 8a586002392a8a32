//! What a site's tool would send (docs/records.md#probe): its key read again
//! from the site's reference (never from the stream), its URL joined the
//! tool's way, its header and scheme.
//!
//! A record only names where a key is; the probe reads it only from a
//! source the record's tool reads (README.md#security): a literal, a key
//! file or a named variable from what the site's config file (one its tool
//! reads, under the analysed home or a given path) says when read again; an
//! implicit variable only if the catalogue says the tool reads it; a `.env`
//! file only if it is one the tool loads. A record arriving through a pipe
//! cannot widen that.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use keyhole_core::fsread;
use keyhole_core::provider::{self, Provider};
use keyhole_core::record::env::Env;
use keyhole_core::record::probe::{ErrorKind, ProbeError};
use keyhole_core::record::{KeyRef, KeySource, Site};
use keyhole_core::scan;
use keyhole_core::secret::{Fingerprint, Secret};
use keyhole_core::tool::{self, Tool, Trust, Unset, UrlJoin};
use serde::Serialize;

use crate::gate::Gate;
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
    resolve_ref(site, &site.key, site.env.as_ref(), opts)
}

/// Resolve one credential of the site (its own `key`, or one of `also` with
/// its `env`), each read again from its place.
fn resolve_ref(site: &Site, key: &KeyRef, env: Option<&Env>, opts: &Options) -> Result<KeyToSend, ProbeError> {
    let t = tool::get(&site.tool);
    let (var, syntax, name) = (key.var_name(), key.syntax.as_deref(), site.tool.as_str());
    match key.from {
        KeySource::Literal => literal_again(site, key, opts).map(KeyToSend::Value),
        KeySource::Placeholder => Ok(KeyToSend::Value(Secret::new(key.text.as_deref().unwrap_or("").as_bytes()))),
        KeySource::Env => {
            reads_var(site, key, opts)?;
            match env {
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
            }
        }
        KeySource::File => {
            let path = key.path.as_deref().unwrap_or("");
            config_names(site, opts, "the key file", |k| k.from == KeySource::File && k.path.as_deref() == Some(path))?;
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

/// A path under the analysed home or a given path, without `..`.
fn within(path: &Path, opts: &Options) -> bool {
    path.is_absolute()
        && path.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && (path.starts_with(&opts.home) || opts.paths.iter().any(|p| path.starts_with(p)))
}

/// The site's config file read again as its tool reads it: the file must
/// be one the tool reads (by the catalogue's file rules), under the
/// analysed home or a given path.
fn config(site: &Site, opts: &Options) -> Result<scan::Extracted, ProbeError> {
    let (file, name) = (site.source.file.as_str(), site.tool.as_str());
    // The file is read as the reader that found the site reads it.
    let t = tool::get(name).map(Tool::reader).ok_or_else(|| unresolved(format!("unknown tool {name:?}")))?;
    let path = Path::new(file);
    if !within(path, opts) {
        return Err(unresolved(format!(
            "{file} is outside the analysed home ({}): keyhole-probe reads keys only from configs under it or under a --path",
            opts.home.display()
        )));
    }
    let kind =
        scan::kind_for(t, path, &opts.home).ok_or_else(|| unresolved(format!("{file} is not a file {name} reads")))?;
    scan::extract_file(path, kind, &[t], &opts.home, fsread::DEFAULT_CAP, false).map_err(|e| {
        unresolved(match e {
            scan::ScanError::Skip(m) | scan::ScanError::NotOurs(m) | scan::ScanError::Error { message: m, .. } => m,
        })
    })
}

/// The site's config file, read again, has a key reference that `names`
/// accepts; else why not (`what`: what the record claims it names).
fn config_names(site: &Site, opts: &Options, what: &str, names: impl Fn(&KeyRef) -> bool) -> Result<(), ProbeError> {
    if config(site, opts)?.drafts.iter().any(|(_, d)| names(&d.key)) {
        return Ok(());
    }
    Err(unresolved(format!(
        "{} does not name {what} this record names: keyhole-probe reads a key only where the tool's config says",
        site.source.file
    )))
}

/// The variable a site's key reference names is one its tool reads: an
/// implicit one the catalogue lists for the tool or the site's provider, or
/// one the site's config file names (with the same syntax).
fn reads_var(site: &Site, key: &KeyRef, opts: &Options) -> Result<(), ProbeError> {
    let (var, syntax) = (key.var_name(), key.syntax.as_deref());
    let t = tool::get(&site.tool).ok_or_else(|| unresolved(format!("unknown tool {:?}", site.tool)))?;
    let listed = t.env_vars.contains(&var)
        || t.key_vars.iter().any(|(v, _)| *v == var)
        || provider::get(&site.provider).is_some_and(|p| p.key_vars.contains(&var));
    if syntax.is_none() && listed {
        return Ok(());
    }
    let names = |k: &KeyRef| k.from == KeySource::Env && k.var.as_deref() == Some(var) && k.syntax.as_deref() == syntax;
    if config(site, opts)?.drafts.iter().any(|(_, d)| names(&d.key)) {
        return Ok(());
    }
    Err(unresolved(format!(
        "{} does not read {var}: neither the catalogue nor {} says so, and keyhole-probe reads only the variables a tool reads",
        site.tool, site.source.file
    )))
}

/// The project a workspace-level site belongs to (None for the home's own
/// tool dirs): as keyhole-env finds the `.env` files a tool loads.
fn project_dir(file: &Path, home: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?;
    while dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
        dir = dir.parent()?;
    }
    (dir != home).then(|| dir.to_path_buf())
}

/// A `.env` file the site's tool loads (its catalogue `dotenv` rules).
fn tool_loads(site: &Site, file: &Path, opts: &Options) -> bool {
    let Some(t) = tool::get(&site.tool) else { return false };
    let project = project_dir(Path::new(&site.source.file), &opts.home);
    within(file, opts)
        && t.dotenv.iter().any(|rule| match rule.path.strip_prefix("~/") {
            Some(rest) => opts.home.join(rest) == file,
            // The first one above the tool's installed code (keyhole-env found it from the process).
            None if rule.path.starts_with("…/") => file.ends_with(&rule.path["…/".len()..]),
            // The project's, or the one of the directory the tool's process runs in (keyhole-env's cwd).
            None => project.as_ref().is_some_and(|p| p.join(rule.path) == file) || file.ends_with(rule.path),
        })
}

/// The value keyhole-env said the tool really gets (`env.effective`), read
/// again from where it lives: a `.env` file the tool loads and its line, a
/// running process's environment, or the analysed environment; checked
/// against its fingerprint.
fn from_effective(site: &Site, env: &Env, var: &str, opts: &Options) -> Result<Option<Vec<u8>>, ProbeError> {
    let Some(eff) = &env.effective else { return Ok(None) };
    let from = eff.from.as_str();
    let value: Option<Vec<u8>> = if from == "environment" {
        opts.env.get(var).cloned()
    } else if let Some(pid) = from.strip_prefix("process:") {
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unresolved(format!("{from:?} is not a process")));
        }
        let path = opts.proc_root.join(pid).join("environ");
        let bytes = fsread::read_bytes(&path, 4 * 1024 * 1024)
            .map_err(|e| unresolved(format!("process {pid}: its environment {e}")))?;
        keyhole_core::envfile::parse(&bytes).remove(var)
    } else if let Some(ce) = tool::get(&site.tool).and_then(|t| t.config_env).filter(|_| from == site.source.file) {
        // The tool's config sets the variable itself (LiteLLM's environment_variables:).
        if !within(Path::new(from), opts) {
            return Err(unresolved(format!("{from} is outside the analysed home")));
        }
        tool::config_env_value(Path::new(from), ce.pointer, var).map(|(v, _)| v.into_bytes())
    } else if let Some(store) = tool::get(&site.tool)
        .and_then(|t| t.stores.iter().find(|s| s.file(&opts.home) == Path::new(from) && within(Path::new(from), opts)))
    {
        // A credential the tool saved itself (catalogue `stores`).
        match store.read(&opts.home, &site.provider, var) {
            Some(tool::Saved::Key(k)) => Some(k.expose().to_vec()),
            Some(tool::Saved::Login) => {
                return Err(unresolved(format!(
                    "{} uses the login saved in {from}, not a key: keyhole-capture shows what it sends",
                    site.tool
                )))
            }
            None => None,
        }
    } else {
        if !tool_loads(site, Path::new(from), opts) {
            return Err(unresolved(format!("{from} is not a .env file {} loads", site.tool)));
        }
        let line = eff.line.unwrap_or(0);
        let text =
            fsread::read_text(Path::new(from), fsread::DEFAULT_CAP).map_err(|e| unresolved(format!("{from} {e}")))?;
        let flavor = tool::get(&site.tool)
            .and_then(|t| t.dotenv.first().map(|r| r.flavor))
            .unwrap_or(keyhole_core::dotenv::Flavor::Python);
        // As the tool gets it: python-dotenv expands ${OTHER} from the environment it starts with.
        let entries = keyhole_core::dotenv::parse(&text, flavor);
        let start_env = |n: &str| opts.env.get(n).cloned();
        entries
            .iter()
            .position(|e| e.name == var && e.line == line)
            .map(|i| keyhole_core::dotenv::loaded_value(&entries, i, &start_env, eff.overrides_env))
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
fn literal_again(site: &Site, key: &KeyRef, opts: &Options) -> Result<Secret, ProbeError> {
    let (file, line) = (site.source.file.as_str(), site.source.line);
    let want =
        key.fp.as_ref().map(|f| f.sha8.as_str()).ok_or_else(|| unresolved("the literal key has no fingerprint"))?;
    config(site, opts)?.secrets.into_iter().find_map(|(s, sha8)| (sha8 == want).then_some(s)).ok_or_else(|| {
        unresolved(format!(
            "the key at {file}:{line} changed since keyhole-find ran (sha8 {want} is gone); run keyhole-find again"
        ))
    })
}

/// The URL a tool requests for `path`, joined its way (the tool's own string
/// joining, double slashes included: not RFC 3986's). A query on the base
/// (Azure's `api-version`) stays at the end, as the OpenAI SDKs' default
/// query does. A `path` that starts with `/` is a provider's route outside
/// the tool's base (docs/wire.md#providers): it replaces the base's path from
/// its own first segment on when the base has that segment (Azure's
/// `/openai/models` beside `…/openai/deployments/NAME`, behind an API
/// Management prefix too), else it is taken from the base's origin.
pub fn join(base: &str, join: UrlJoin, path: &str) -> String {
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let url = if let Some(rooted) = path.strip_prefix('/') {
        let first = rooted.split('/').next().unwrap_or("");
        let o = origin(base);
        let root = base[o.len()..]
            .find(&format!("/{first}/"))
            .or_else(|| base[o.len()..].ends_with(&format!("/{first}")).then(|| base.len() - o.len() - first.len() - 1))
            .filter(|_| !first.is_empty())
            .map_or(o, |i| &base[..o.len() + i]);
        format!("{root}/{rooted}")
    } else {
        match join {
            UrlJoin::TrimAndAppend => format!("{}/{}", base.trim_end_matches('/'), path),
            UrlJoin::Naive => format!("{base}/{path}"),
            UrlJoin::AnthropicSdk => format!("{}/v1/{}", base.trim_end_matches('/'), path),
        }
    };
    match query {
        Some(q) if !q.is_empty() => format!("{url}{}{q}", if url.contains('?') { '&' } else { '?' }),
        _ => url,
    }
}

/// `scheme://authority` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    url[after..].find('/').map_or(url, |i| &url[..after + i])
}

/// The base URL the tool itself starts from. A site on the provider's
/// default base takes the tool's default: the Anthropic SDK's is the API's
/// origin without `/v1`, which it appends itself (Claude Code requests
/// `https://api.anthropic.com/v1/messages`, never `/v1/v1/…`). A base the
/// user wrote is taken as written: a doubled `/v1` there is the tool's own
/// request, and the probe asks exactly that.
pub fn tool_base<'a>(base: &'a str, join: UrlJoin, from: &str) -> &'a str {
    match join {
        UrlJoin::AnthropicSdk if from == "default" => {
            let b = base.trim_end_matches('/');
            b.strip_suffix("/v1").unwrap_or(b)
        }
        _ => base,
    }
}

/// Another credential header of the same request (`site.also`).
#[derive(Clone, Debug)]
pub struct AlsoKey {
    pub header: String,
    pub scheme: String,
    pub key: Arc<Secret>,
    pub fp: Fingerprint,
}

/// One prepared request: everything that makes two sites' probes identical.
#[derive(Clone, Debug)]
pub struct Plan {
    pub method: &'static str,
    pub url: String,
    pub header: String,
    pub scheme: String,
    pub key: Option<Arc<Secret>>,
    /// The other credential headers the tool sends in the same request.
    pub also: Vec<AlsoKey>,
    pub extra: Vec<(String, String)>,
    pub body: Option<String>,
    pub fp: Option<Fingerprint>,
    pub provider: Option<&'static Provider>,
    /// The CA roots the tool trusts (docs/wire.md#trust-stores).
    pub trust: Trust,
}

impl Plan {
    /// Two plans with equal keys send the same request (the same credential
    /// headers, in any order).
    pub fn dedupe_key(&self) -> String {
        let mut creds: Vec<String> =
            std::iter::once(format!("{} {} {:?}", self.header, self.scheme, self.fp.as_ref().map(|f| &f.sha8)))
                .chain(self.also.iter().map(|a| format!("{} {} {:?}", a.header, a.scheme, Some(&a.fp.sha8))))
                .collect();
        creds.sort();
        // The trust store too: one TLS server, two tools, two verdicts (docs/wire.md#trust-stores).
        format!("{} {} {:?} {:?} {}", self.method, self.url, creds, self.body, self.trust.as_str())
    }

    /// The other credential headers as they go on the wire: (name, value).
    pub fn also_values(&self) -> Vec<(&str, Vec<u8>)> {
        self.also
            .iter()
            .map(|a| {
                let mut v = Vec::new();
                if a.scheme == "bearer" {
                    v.extend_from_slice(b"Bearer ");
                }
                v.extend_from_slice(a.key.expose());
                (a.header.as_str(), v)
            })
            .collect()
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
/// (kind `unresolved`) or may not be sent (kind `not_allowed`: `gate` keeps
/// the credential from the URL's host; checked before any key is read).
pub fn plan(site: &Site, opts: &Options, gate: &Gate) -> Result<Plan, ProbeError> {
    if site.template {
        return Err(unresolved(format!("{} is a template no tool loads: not probed", site.source.file)));
    }
    let pname = site.provider.as_str();
    let p: &'static Provider = provider::get(pname).ok_or_else(|| unresolved(format!("unknown provider {pname:?}")))?;
    let t = tool::get(&site.tool);
    let join_rule = t.map_or(UrlJoin::TrimAndAppend, |t| t.url_join);
    let base = match opts.provider_urls.get(pname) {
        Some(u) if site.base_url_from == "default" => u.as_str(),
        _ => site.base_url.as_str(),
    };
    let base = tool_base(base, join_rule, &site.base_url_from);
    if base.is_empty() {
        return Err(unresolved(format!("{} has no default base URL and the site names none", p.display)));
    }
    let (method, path, body) = if opts.completion {
        let model = site.model.as_deref().unwrap_or(p.default_model);
        // Anthropic-style APIs take /messages (the provider's route, or the tool's SDK).
        let path = if join_rule == UrlJoin::AnthropicSdk { "messages" } else { p.completion_path };
        let body = Completion { model, max_tokens: 1, messages: [Message { role: "user", content: "ping" }] };
        ("POST", path, Some(serde_json::to_string(&body).expect("a completion serializes")))
    } else {
        let check = p
            .check
            .ok_or_else(|| unresolved(format!("{} has no free key-check endpoint; use --completion", p.display)))?;
        (check.method, check.path, None)
    };
    let mut url = join(base, join_rule, path);
    gate.check(&url)?;
    let (header, scheme) = (site.auth.header.clone(), site.auth.scheme.clone());
    let as_sent = |k: KeyToSend| match k {
        // A tool that trims the key sends it trimmed (Continue, measured).
        KeyToSend::Value(s) if t.is_some_and(|t| t.trims_key) => {
            let trimmed = String::from_utf8_lossy(s.expose()).trim().as_bytes().to_vec();
            Some(Arc::new(Secret::new(trimmed)))
        }
        // One that strips a trailing newline sends it without (Claude Code, opencode; measured).
        KeyToSend::Value(s) if t.is_some_and(|t| t.strips_newline) => {
            let v = s.expose();
            let end = v.strip_suffix(b"\r\n").or_else(|| v.strip_suffix(b"\n")).unwrap_or(v);
            Some(Arc::new(Secret::new(end.to_vec())))
        }
        KeyToSend::Value(s) => Some(Arc::new(s)),
        KeyToSend::NoHeader(_) => None,
    };
    let key = as_sent(resolve_key(site, opts)?);
    // Every other credential the tool sends in the same request, each read again from its place.
    let mut also = Vec::new();
    for a in &site.also {
        if let Some(k) = as_sent(resolve_ref(site, &a.key, a.env.as_ref(), opts)?) {
            let fp = k.fingerprint(Some(p));
            also.push(AlsoKey { header: a.header.clone(), scheme: a.scheme.clone(), key: k, fp });
        }
    }
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
    Ok(Plan {
        method,
        url,
        header,
        scheme,
        key,
        also,
        extra,
        body,
        fp,
        provider: Some(p),
        trust: t.map_or(Trust::System, |t| t.trust),
    })
}

#[cfg(test)]
mod join_tests {
    use super::*;

    #[test]
    fn each_tool_joins_its_own_way() {
        let anthropic = "https://api.anthropic.com/v1";
        // Claude Code on the catalogue's default: the SDK's own base, /v1 once.
        let b = tool_base(anthropic, UrlJoin::AnthropicSdk, "default");
        assert_eq!(join(b, UrlJoin::AnthropicSdk, "models"), "https://api.anthropic.com/v1/models");
        // A base the user wrote is the tool's: OpenRouter's guide, and a doubled /v1 kept as the tool sends it.
        let or = tool_base("https://openrouter.ai/api", UrlJoin::AnthropicSdk, "config");
        assert_eq!(join(or, UrlJoin::AnthropicSdk, "messages"), "https://openrouter.ai/api/v1/messages");
        let v1 = tool_base("https://openrouter.ai/api/v1", UrlJoin::AnthropicSdk, "config");
        assert_eq!(join(v1, UrlJoin::AnthropicSdk, "key"), "https://openrouter.ai/api/v1/v1/key");
        // Continue trims a trailing slash; a naive joiner doubles it.
        assert_eq!(
            join("https://openrouter.ai/api/v1/", UrlJoin::TrimAndAppend, "key"),
            "https://openrouter.ai/api/v1/key"
        );
        assert_eq!(join("https://openrouter.ai/api/v1/", UrlJoin::Naive, "key"), "https://openrouter.ai/api/v1//key");
    }

    #[test]
    fn azure_routes_keep_the_api_version_and_the_management_prefix() {
        let dep = "https://contoso.azure-api.net/aoai/openai/deployments/gpt-4o?api-version=2024-10-21";
        assert_eq!(
            join(dep, UrlJoin::TrimAndAppend, "chat/completions"),
            "https://contoso.azure-api.net/aoai/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            join(dep, UrlJoin::TrimAndAppend, "/openai/models"),
            "https://contoso.azure-api.net/aoai/openai/models?api-version=2024-10-21"
        );
        assert_eq!(
            join("https://r.openai.azure.com", UrlJoin::TrimAndAppend, "/openai/models"),
            "https://r.openai.azure.com/openai/models"
        );
        assert_eq!(join("https://x.example/api/v1", UrlJoin::TrimAndAppend, "/credits"), "https://x.example/credits");
    }
}
