//! The tool catalogue (docs/catalogue.md): one file per AI tool, each a [`Tool`] entry
//! of data plus an `extract` function that reads the tool's config shape.
//!
//! Everything keyhole-find, keyhole-env and keyhole-probe ask of a tool lives
//! in its entry: where its files are, which syntaxes it expands, which
//! variables it reads, which `.env` files it loads, how it joins URLs, and
//! which processes belong to it.

use std::path::Path;

use crate::doc::{Format, Node};
use crate::dotenv::{self, Flavor};
use crate::provider::{self, AuthHeader, Provider, Scheme};
use crate::record::KeyRef;
use crate::secret::Fingerprint;
use crate::shell::{self, Dialect, ShellValue};
use crate::syntax;

mod aichat;
mod aider;
mod claude_code;
mod cline;
mod codex;
mod continue_dev;
mod copilot;
mod crush;
mod cursor;
mod dotenv_files;
mod gemini_cli;
mod goose;
mod hermes;
mod home_assistant;
mod kilo;
mod librechat;
mod litellm;
mod llm;
mod mcp;
mod n8n;
mod open_webui;
mod openclaw;
mod opencode;
mod openspace;
mod qwen_code;
mod roo;
mod shell_startup;
mod trust;
mod zed;

pub use trust::{Roots, Trust};

/// How a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Doc(Format),
    Dotenv(Flavor),
    Shell(Dialect),
    /// A directory whose existence is the evidence (an extension's storage).
    Marker,
}

/// A path pattern: `/`-separated, relative to the home or to a project
/// directory; `*` matches within one component.
#[derive(Clone, Copy, Debug)]
pub struct FileRule {
    pub pattern: &'static str,
    pub kind: FileKind,
}

/// A `.env` file a tool loads, in the tool's precedence order.
#[derive(Clone, Copy, Debug)]
pub struct DotenvRule {
    /// `~/…` for the home; `…/NAME` for the first `NAME` found walking up
    /// from the directory of the tool's installed code (python-dotenv's
    /// `load_dotenv()` called from inside a package); otherwise relative to
    /// the working directory.
    pub path: &'static str,
    pub flavor: Flavor,
    /// The file beats the process environment.
    pub overrides_env: bool,
}

/// A config block that sets environment variables.
#[derive(Clone, Copy, Debug)]
pub struct ConfigEnv {
    pub pointer: &'static str,
    pub implicit_only: bool,
}

/// What a saved credential is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// An API key the tool sends as is.
    ApiKey,
    /// A login (OAuth tokens, a subscription): no API key to compare.
    Login,
}

/// A credential a tool saves itself (`opencode auth login`, Codex's
/// `auth.json`, Claude Code's `/login`).
#[derive(Clone, Copy, Debug)]
pub struct Store {
    /// `~/…` (the XDG default).
    pub path: &'static str,
    pub format: Format,
    /// The key's JSON pointer; `{provider}` stands for the provider's id as
    /// the tool names it. Empty for a login whose presence is the fact.
    pub key_at: &'static str,
    pub kind: StoreKind,
    /// The store beats the key variable in the environment (else the variable wins).
    pub beats_env: bool,
    /// The tool's own words for how to change it (`opencode auth logout`).
    pub fix: &'static str,
}

/// `var` in the block at `pointer` of a config file (`environment_variables:`):
/// its text and line, read as the file's format (by its extension).
pub fn config_env_value(file: &Path, pointer: &str, var: &str) -> Option<(String, u32)> {
    let name = file.file_name()?.to_string_lossy().to_ascii_lowercase();
    let format = if name.ends_with(".json") || name.ends_with(".jsonc") {
        Format::Json
    } else if name.ends_with(".toml") {
        Format::Toml
    } else {
        Format::Yaml
    };
    let text = crate::fsread::read_text(file, crate::fsread::DEFAULT_CAP).ok()?;
    let doc = crate::doc::parse(&text, format).ok()?;
    let mut cur = &doc;
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        cur = cur.get(part)?;
    }
    let line = cur.key_line(var)?;
    Some((cur.get(var)?.as_str()?.to_string(), line))
}

/// What a store holds for one provider and variable.
#[derive(Debug)]
pub enum Saved {
    Key(crate::secret::Secret),
    Login,
}

impl Store {
    /// The store's file under `home`.
    pub fn file(&self, home: &Path) -> std::path::PathBuf {
        match self.path.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => std::path::PathBuf::from(self.path),
        }
    }

    /// What the store holds for `provider` (the catalogue's name) and `var`;
    /// `None` when the file, or the entry, is not there.
    pub fn read(&self, home: &Path, provider: &str, var: &str) -> Option<Saved> {
        let text = crate::fsread::read_text(&self.file(home), crate::fsread::DEFAULT_CAP).ok()?;
        let node = crate::doc::parse(&text, self.format).ok()?;
        let pointer = self.key_at.replace("{provider}", provider).replace("{var}", var);
        let mut cur = &node;
        for part in pointer.split('/').filter(|p| !p.is_empty()) {
            cur = match (&cur.kind, part.parse::<usize>()) {
                (crate::doc::Kind::Seq(items), Ok(i)) => items.get(i)?,
                _ => cur.get(part)?,
            };
        }
        match self.kind {
            StoreKind::ApiKey => Some(Saved::Key(crate::secret::Secret::new(cur.as_str()?.as_bytes()))),
            StoreKind::Login => Some(Saved::Login),
        }
    }
}

/// How a tool turns its base URL and an API path into a request URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlJoin {
    /// Strip trailing slashes from the base, then append `/path`.
    TrimAndAppend,
    /// `base + "/" + path` as written: a trailing slash doubles.
    Naive,
    /// The Anthropic SDK: `base + "/v1/messages"` (the base has no `/v1`).
    AnthropicSdk,
}

/// What a parsed file holds, by kind.
pub enum Parsed<'a> {
    Doc(&'a Node),
    Dotenv(&'a [dotenv::Entry]),
    Shell(&'a [shell::Assignment]),
    Marker,
}

/// One site before the finder adds host, tool name, defaults and id.
#[derive(Clone, Debug)]
pub struct Draft {
    pub pointer: Option<String>,
    /// Distinguishes sites of one file without a pointer (`#VAR@line`).
    pub id_suffix: Option<String>,
    pub line: u32,
    pub provider: &'static Provider,
    pub model: Option<String>,
    /// `(url, from)`; `None` takes the provider's default.
    pub base_url: Option<(String, String)>,
    pub auth: Option<(AuthHeader, Scheme)>,
    pub key: KeyRef,
    /// Set when a generic reader recognises another tool's file (Open WebUI's variables in a `.env`).
    pub tool: Option<&'static str>,
    /// The variable the site's line assigns (`NAME=value`).
    pub assigns: Option<String>,
}

impl Draft {
    pub fn new(line: u32, provider: &'static Provider, key: KeyRef) -> Self {
        Draft {
            pointer: None,
            id_suffix: None,
            line,
            provider,
            model: None,
            base_url: None,
            auth: None,
            key,
            tool: None,
            assigns: None,
        }
    }
    pub fn pointer(mut self, p: impl Into<String>) -> Self {
        self.pointer = Some(p.into());
        self
    }
    pub fn suffix(mut self, s: impl Into<String>) -> Self {
        self.id_suffix = Some(s.into());
        self
    }
    pub fn model(mut self, m: Option<String>) -> Self {
        self.model = m.filter(|m| !m.is_empty());
        self
    }
    pub fn base(mut self, url: Option<&str>, from: &str) -> Self {
        if let Some(u) = url.filter(|u| !u.trim().is_empty()) {
            self.base_url = Some((u.to_string(), from.to_string()));
        }
        self
    }
    pub fn auth(mut self, h: AuthHeader, s: Scheme) -> Self {
        self.auth = Some((h, s));
        self
    }
}

/// What an extractor knows about the file it reads.
pub struct FileCtx<'a> {
    pub path: &'a Path,
    pub home: &'a Path,
    pub tool: &'static Tool,
    /// Every literal key value met while extracting, with its sha8, so that
    /// keyhole-probe can find the one a record's fingerprint names (never
    /// written out).
    pub seen: std::cell::RefCell<Vec<(crate::secret::Secret, String)>>,
}

impl<'a> FileCtx<'a> {
    pub fn new(path: &'a Path, home: &'a Path, tool: &'static Tool) -> Self {
        FileCtx { path, home, tool, seen: Default::default() }
    }

    /// A literal key: remembered for probing, returned as its fingerprint.
    pub fn literal(&self, text: &str, provider: &Provider) -> KeyRef {
        let fp = Fingerprint::of(text.as_bytes(), Some(provider));
        self.seen.borrow_mut().push((crate::secret::Secret::new(text.as_bytes()), fp.sha8.clone()));
        KeyRef::literal(fp)
    }

    /// Resolve `~/…` and relative paths the way the tool does: against the
    /// home, or the config file's directory. Records never hold `~`.
    pub fn resolve(&self, p: &str) -> String {
        let p = p.trim();
        if let Some(rest) = p.strip_prefix("~/") {
            return self.home.join(rest).display().to_string();
        }
        if p == "~" {
            return self.home.display().to_string();
        }
        let path = Path::new(p);
        if path.is_absolute() {
            return p.to_string();
        }
        self.path.parent().unwrap_or(Path::new("/")).join(path).display().to_string()
    }

    /// The key reference for a key field's text, as this tool reads it.
    pub fn key_from_text(&self, text: &str, provider: &Provider) -> KeyRef {
        match syntax::classify(self.tool.name, self.tool.expands, text) {
            Some(mut k) => {
                if let Some(p) = k.path.take() {
                    k.path = Some(self.resolve(&p));
                }
                k
            }
            None => self.literal(text, provider),
        }
    }

    /// A key field that may be a string, a SecretRef-like object, or absent.
    pub fn key_from_node(&self, node: Option<&Node>, provider: &Provider) -> Option<KeyRef> {
        let n = node?;
        if let Some(s) = n.as_str() {
            return Some(self.key_from_text(s, provider));
        }
        if n.is_map() {
            // SecretRef objects: {source: env|file|exec, id: …} (OpenClaw and others).
            let source = n.get("source").and_then(Node::as_str).unwrap_or("");
            let id = n.get("id").and_then(Node::as_str).unwrap_or("");
            return Some(match source {
                "env" => KeyRef::env(id, Some("secret_ref")),
                "file" => KeyRef::file(&self.resolve(id)),
                "exec" => KeyRef::command(id),
                other => KeyRef::store(if other.is_empty() { "secret_ref" } else { other }),
            });
        }
        None
    }
}

/// A gateway's config, as a client's base URL meets it (docs/wire.md#gateways).
#[derive(Clone, Copy, Debug)]
pub struct Gateway {
    /// The provider entry of the gateway's own API (its keys, its key check).
    pub provider: &'static str,
    /// The port it listens on when nothing says otherwise.
    pub default_port: u16,
    /// The flags that name its config file and its port on a command line
    /// (`--config FILE`, `--port N`, or `--flag=value`).
    pub config_flags: &'static [&'static str],
    pub port_flags: &'static [&'static str],
    /// The JSON pointer under which its upstream entries lie (`/model_list/`).
    pub upstreams: &'static str,
}

pub struct Tool {
    pub name: &'static str,
    pub display: &'static str,
    /// Files under the home directory (Linux layout).
    pub home_files: &'static [FileRule],
    /// Files in project directories (the paths given to keyhole-find, and
    /// projects found under the home).
    pub workspace_files: &'static [FileRule],
    /// Workspace patterns so generic (`config.yaml`) that a file is the
    /// tool's only when its content says so: one that does not parse is
    /// skipped with a note, not reported as an error.
    pub sniffed_files: &'static [&'static str],
    /// Hidden directories the bounded walk of projects enters besides the
    /// first component of each workspace pattern (`.continue/…` is entered
    /// already).
    pub walk_into: &'static [&'static str],
    /// The kinds of file, guessed from the name, the tool is offered when a
    /// file named on the command line matches no rule.
    pub sniff: &'static [Sniff],
    /// The same files on macOS and Windows, and paths set by variables:
    /// for people (`keyhole-find --list-tools`).
    pub other_os: &'static [&'static str],
    /// Substitution syntaxes the tool expands in key fields (see `syntax`).
    pub expands: &'static [&'static str],
    /// Key variables of the tool's own, with the provider each holds a key
    /// for: a file that assigns one is a site (`AIDER_OPENAI_API_KEY`).
    pub key_vars: &'static [(&'static str, &'static str)],
    /// Other variables the tool reads on its own (providers' key variables,
    /// base URLs, switches), in its precedence order: for people
    /// (`keyhole-find --list-tools`).
    pub env_vars: &'static [&'static str],
    /// `.env` files the tool loads, highest precedence first.
    pub dotenv: &'static [DotenvRule],
    /// A block of the tool's own config that sets environment variables
    /// (LiteLLM's `environment_variables:`): its JSON pointer, and whether
    /// its values beat the environment only for variables the tool reads
    /// on its own (not for a reference written in the config).
    pub config_env: Option<ConfigEnv>,
    /// A variable the tool falls back to when the site's variable is unset,
    /// and the header that one travels in (Claude Code: ANTHROPIC_AUTH_TOKEN,
    /// else ANTHROPIC_API_KEY as x-api-key).
    pub key_var_fallback: &'static [(&'static str, &'static str, AuthHeader, Scheme)],
    /// Credentials the tool sends together in one request, each in its own
    /// header: every variable of the list that is set, and a helper
    /// command's output in all of them (Claude Code, measured:
    /// docs/wire.md#claude-code). The API decides which one it reads.
    pub sends_together: &'static [(&'static str, AuthHeader, Scheme)],
    /// Credentials the tool saves itself (`auth.json`, a login), and where
    /// each stands against the environment (docs/catalogue.md#stores).
    pub stores: &'static [Store],
    /// The tool's own command to save a new credential in its store
    /// (`opencode auth login`): what keyhole-fix prints when the saved key
    /// fails (docs/catalogue.md#stores). Empty: none.
    pub log_in: &'static str,
    /// An empty value counts as unset: the tool goes on to its next source
    /// (Continue's secrets, measured).
    pub empty_is_unset: bool,
    /// What the tool sends in place of a key it cannot resolve, by the key
    /// reference's syntax; when none applies it sends no credential header
    /// at all (LiteLLM, measured).
    pub unset_sends: &'static [WhenUnset],
    /// Fixed texts the tool sends in place of a key in some setups
    /// (`not-provided`, `no-key-required`): what keyhole-capture recognises
    /// as a stand-in rather than a key.
    pub stand_ins: &'static [&'static str],
    pub url_join: UrlJoin,
    /// The CA roots the tool's HTTP client trusts (docs/wire.md#trust-stores).
    pub trust: Trust,
    /// The tool strips whitespace around the key before sending it (Continue
    /// CLI, measured; Cline's SDK `apiKey.trim()`; OpenSpace).
    pub trims_key: bool,
    /// The tool strips a trailing newline (only) before sending (Claude
    /// Code, opencode's auth.json key; measured).
    pub strips_newline: bool,
    /// The tool's HTTP client refuses a header value with whitespace or a
    /// newline at its ends, and what the user sees then (httpx: "Illegal
    /// header value", shown as "Connection error."; measured).
    pub refuses_flawed_header: Option<&'static str>,
    /// The tool's code as its running processes show it, never a word of a
    /// command line (docs/launch-contexts.md#live-processes): an executable,
    /// script or Python module name (`aider`, `cn`), a package path its code
    /// lies under (`node_modules/@anthropic-ai/claude-code`,
    /// `site-packages/litellm`, which stands for `dist-packages/` too), or a
    /// VS Code-family extension (`extensions/continue.continue`).
    pub process_family: &'static [&'static str],
    /// The tool runs in an editor's extension host (VS Code, Cursor): those
    /// processes, and the editor's server, are its family too.
    pub in_extension_host: bool,
    /// How to fix what keyhole-classify finds, in this tool's own terms.
    pub fixes: Fixes,
    /// The tool is a gateway other tools point their base URL at (the
    /// LiteLLM proxy): how keyhole-find links its clients (docs/wire.md#gateways).
    pub gateway: Option<Gateway>,
    /// The tool's sites are found by another entry's reader (Open WebUI's
    /// variables in a generic `.env` file): a key is read again through it.
    pub found_by: Option<&'static str>,
    /// A reader of last resort (generic `.env` files): a file another tool
    /// also reads is left to that tool.
    pub yields: bool,
    pub extract: fn(&FileCtx, &Parsed) -> Vec<Draft>,
}

/// What a tool sends when the variable a key reference names is unset.
#[derive(Clone, Copy, Debug)]
pub struct WhenUnset {
    /// The key reference's syntax: `Some("secrets")`; `None` for a reference
    /// without one (no key configured, or a variable the tool reads itself).
    pub syntax: Option<&'static str>,
    /// Applies whatever the syntax.
    pub any_syntax: bool,
    /// The text sent as the key (may be empty: `Bearer ` and nothing);
    /// `{var}` stands for the variable's name.
    pub sends: &'static str,
}

/// Fix texts in a tool's own terms; `{var}` stands for the variable the key
/// reference names, `{var_upper}` for it in upper case. An empty list takes
/// keyhole-classify's generic text.
#[derive(Clone, Copy, Debug)]
pub struct Fixes {
    /// A key field the tool sends as literal text (`key.placeholder`).
    pub placeholder: &'static [&'static str],
    /// No key configured (`key.none`).
    pub no_key: &'static [&'static str],
    /// The key travels in a header the API does not read
    /// (`header.wrong_scheme`): by the header the API reads, `None` for any.
    pub header: &'static [(Option<AuthHeader>, &'static str)],
}

impl Fixes {
    pub const NONE: Fixes = Fixes { placeholder: &[], no_key: &[], header: &[] };
}

/// A file kind guessed from a file's name alone, for a file named on the
/// command line that matches no rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// `.yaml`, `.yml`
    Yaml,
    /// `.json`, `.jsonc`, `.json5`
    Json,
    /// `.toml`
    Toml,
    /// a name with `env` in it, read as python-dotenv does
    Dotenv,
    /// `.sh`, `…rc`, `…profile`, read as a POSIX shell file
    Shell,
}

impl Sniff {
    /// What a file name suggests, the first test that holds winning (in the
    /// order of the variants: `.env.yaml` is YAML).
    pub fn of_name(name: &str) -> Option<Sniff> {
        let name = name.to_ascii_lowercase();
        Some(if name.ends_with(".yaml") || name.ends_with(".yml") {
            Sniff::Yaml
        } else if name.ends_with(".json") || name.ends_with(".jsonc") || name.ends_with(".json5") {
            Sniff::Json
        } else if name.ends_with(".toml") {
            Sniff::Toml
        } else if name.contains("env") {
            Sniff::Dotenv
        } else if name.ends_with(".sh") || name.ends_with("rc") || name.ends_with("profile") {
            Sniff::Shell
        } else {
            return None;
        })
    }

    pub fn kind(self) -> FileKind {
        match self {
            Sniff::Yaml => FileKind::Doc(Format::Yaml),
            Sniff::Json => FileKind::Doc(Format::Json),
            Sniff::Toml => FileKind::Doc(Format::Toml),
            Sniff::Dotenv => FileKind::Dotenv(Flavor::Python),
            Sniff::Shell => FileKind::Shell(Dialect::Posix),
        }
    }
}

/// Fill a fix or `unset_sends` template: `{var_upper}`, then `{var}`.
pub fn fill(template: &str, var: &str) -> String {
    template.replace("{var_upper}", &var.to_ascii_uppercase()).replace("{var}", var)
}

impl Tool {
    /// What the tool sends when the variable its key reference names is
    /// unset (or, with `syntax` `None` and an empty `var`, when no key is
    /// configured).
    pub fn unset_sends(&self, syntax: Option<&str>, var: &str) -> Unset {
        match self.unset_sends.iter().find(|w| w.any_syntax || w.syntax == syntax) {
            Some(w) => Unset::Text(fill(w.sends, var)),
            None => Unset::NoHeader,
        }
    }

    /// The entry whose reader finds this tool's sites (itself, or `found_by`).
    pub fn reader(&'static self) -> &'static Tool {
        self.found_by.and_then(get).unwrap_or(self)
    }

    /// The hidden directories of a project the walk enters for this tool.
    pub fn hidden_dirs(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.workspace_files
            .iter()
            .filter_map(|r| r.pattern.split_once('/').map(|(first, _)| first))
            .filter(|d| d.starts_with('.'))
            .chain(self.walk_into.iter().copied())
    }

    /// The flaws of a value this tool removes before sending: harmless here.
    pub fn harmless_flaws(&self) -> &'static [crate::secret::Flaw] {
        use crate::secret::Flaw;
        if self.trims_key {
            &[Flaw::LeadingWhitespace, Flaw::TrailingWhitespace, Flaw::TrailingNewline]
        } else if self.strips_newline {
            &[Flaw::TrailingNewline]
        } else {
            &[]
        }
    }

    /// The fix for a key sent in a header `reads` does not name, if the
    /// tool has its own words for it.
    pub fn header_fix(&self, reads: AuthHeader) -> Option<&'static str> {
        self.fixes.header.iter().find(|(h, _)| h.is_none_or(|h| h == reads)).map(|(_, f)| *f)
    }
}

/// What an entry is when it says nothing else: no files, no syntaxes, no
/// variables, URLs joined by trimming and appending, no fixes of its own.
/// Each tool file writes only what differs (`..BASE`).
pub const BASE: Tool = Tool {
    name: "",
    display: "",
    home_files: &[],
    workspace_files: &[],
    sniffed_files: &[],
    walk_into: &[],
    sniff: &[],
    other_os: &[],
    expands: &[],
    key_vars: &[],
    env_vars: &[],
    dotenv: &[],
    config_env: None,
    key_var_fallback: &[],
    stores: &[],
    log_in: "",
    empty_is_unset: false,
    unset_sends: &[],
    stand_ins: &[],
    sends_together: &[],
    url_join: UrlJoin::TrimAndAppend,
    trust: Trust::System,
    trims_key: false,
    strips_newline: false,
    refuses_flawed_header: None,
    process_family: &[],
    in_extension_host: false,
    fixes: Fixes::NONE,
    gateway: None,
    found_by: None,
    yields: false,
    extract: extract_nothing,
};

fn extract_nothing(_: &FileCtx, _: &Parsed) -> Vec<Draft> {
    Vec::new()
}

pub static TOOLS: &[&Tool] = &[
    &continue_dev::TOOL,
    &litellm::TOOL,
    &aider::TOOL,
    &opencode::TOOL,
    &kilo::TOOL,
    &openclaw::TOOL,
    &openspace::TOOL,
    &hermes::TOOL,
    &cline::TOOL,
    &roo::TOOL,
    &home_assistant::TOOL,
    &claude_code::TOOL,
    &codex::TOOL,
    &crush::TOOL,
    &goose::TOOL,
    &zed::TOOL,
    &cursor::TOOL,
    &copilot::TOOL,
    &llm::TOOL,
    &open_webui::TOOL,
    &librechat::TOOL,
    &gemini_cli::TOOL,
    &qwen_code::TOOL,
    &mcp::CLAUDE_DESKTOP,
    &mcp::CURSOR,
    &mcp::VSCODE,
    &mcp::CLAUDE_CODE,
    &mcp::CODEX,
    &aichat::TOOL,
    &n8n::TOOL,
    &dotenv_files::TOOL,
    &shell_startup::TOOL,
];

pub fn get(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().copied().find(|t| t.name == name)
}

/// Does a `/`-separated relative path match a pattern with `*` components?
pub fn matches(pattern: &str, rel: &str) -> bool {
    let mut p = pattern.split('/');
    let mut r = rel.split('/');
    loop {
        match (p.next(), r.next()) {
            (None, None) => return true,
            (Some(pp), Some(rr)) if glob(pp, rr) => {}
            _ => return false,
        }
    }
}

fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((pre, post)) => name.len() >= pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post),
    }
}

// ---- helpers shared by the tool entries ----

/// JSON pointer of a path of keys and indices.
pub fn pointer(parts: &[&str]) -> String {
    let mut s = String::new();
    for p in parts {
        s.push('/');
        s.push_str(&p.replace('~', "~0").replace('/', "~1"));
    }
    s
}

pub fn str_at<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get(key).and_then(Node::as_str)
}

/// The provider for a base URL, else the named one, else OpenAI-compatible.
pub fn provider_for(named: Option<&str>, base_url: Option<&str>) -> &'static Provider {
    base_url
        .and_then(provider::by_url)
        .or_else(|| named.and_then(provider::normalize))
        .unwrap_or_else(|| provider::get("openai-compatible").expect("catalogue has openai-compatible"))
}

/// Sites from `NAME=value` pairs (dotenv entries or shell assignments):
/// every well-known key variable becomes a site; a base-URL variable in the
/// same file sets the base of that provider's sites.
pub fn env_pair_sites(ctx: &FileCtx, pairs: &[(String, u32, PairValue)]) -> Vec<Draft> {
    let mut out = Vec::new();
    for (name, line, value) in pairs {
        let Some(p) = key_var_provider(name) else { continue };
        let key = match value {
            PairValue::Text(t) => ctx.literal(t, p),
            PairValue::Var(v) => KeyRef::env(v, Some("dollar")),
            PairValue::Command(c) => KeyRef::command(c),
            PairValue::Mixed(raw, vars) => match vars.first() {
                Some(v) => KeyRef::placeholder(
                    raw,
                    Some(v),
                    format!("the value mixes text with ${v}: the key is built at run time"),
                ),
                None => ctx.literal(raw, p),
            },
        };
        let base = pairs.iter().rev().find_map(|(n, _, v)| match v {
            PairValue::Text(t) if p.base_vars.contains(&n.as_str()) && !t.is_empty() => Some((t.clone(), n.clone())),
            _ => None,
        });
        let mut d = Draft::new(*line, p, key).suffix(format!("{name}@{line}"));
        d.assigns = Some(name.clone());
        if let Some((url, var)) = base {
            d = d.base(Some(&url), &format!("env:{var}"));
        }
        if name == "ANTHROPIC_AUTH_TOKEN" {
            d = d.auth(AuthHeader::Authorization, Scheme::Bearer);
        }
        out.push(d);
    }
    out
}

pub enum PairValue {
    Text(String),
    Var(String),
    Command(String),
    Mixed(String, Vec<String>),
}

pub fn pairs_from_dotenv(entries: &[dotenv::Entry]) -> Vec<(String, u32, PairValue)> {
    entries
        .iter()
        .map(|e| {
            let v = if e.interpolates.len() == 1 && e.value.trim() == format!("${{{}}}", e.interpolates[0]) {
                PairValue::Var(e.interpolates[0].clone())
            } else if !e.interpolates.is_empty() {
                PairValue::Mixed(e.value.clone(), e.interpolates.clone())
            } else {
                PairValue::Text(e.value.clone())
            };
            (e.name.clone(), e.line, v)
        })
        .collect()
}

pub fn pairs_from_shell(assignments: &[shell::Assignment]) -> Vec<(String, u32, PairValue)> {
    assignments
        .iter()
        .filter(|a| !a.command_prefix)
        .map(|a| {
            let v = match &a.value {
                ShellValue::Literal(t) => PairValue::Text(t.clone()),
                ShellValue::Var(v) => PairValue::Var(v.clone()),
                ShellValue::Command(c) => PairValue::Command(c.clone()),
                ShellValue::Mixed { raw, vars } => PairValue::Mixed(raw.clone(), vars.clone()),
            };
            (a.name.clone(), a.line, v)
        })
        .collect()
}

/// The provider of a well-known key variable: a provider's own
/// (`OPENROUTER_API_KEY`), else one a tool reads (`AIDER_OPENAI_API_KEY`).
pub fn key_var_provider(name: &str) -> Option<&'static Provider> {
    provider::by_key_var(name).or_else(|| {
        TOOLS.iter().flat_map(|t| t.key_vars.iter()).find(|(v, _)| *v == name).and_then(|(_, p)| provider::get(p))
    })
}

/// Every well-known key variable, for scanners and keyhole-env.
pub fn well_known_key_vars() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = provider::PROVIDERS.iter().flat_map(|p| p.key_vars.iter().copied()).collect();
    v.extend(TOOLS.iter().flat_map(|t| t.key_vars.iter().map(|(n, _)| *n)));
    v
}

/// What a tool sends in place of a key it cannot resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unset {
    /// No credential header at all (LiteLLM, measured; gptel).
    NoHeader,
    /// This text as the key (possibly empty: `Bearer ` with nothing after it).
    Text(String),
}

/// What the named tool sends when the variable its key reference names is
/// unset (an unknown tool: no header).
pub fn unset_sends(tool: &str, syntax: Option<&str>, var: &str) -> Unset {
    get(tool).map_or(Unset::NoHeader, |t| t.unset_sends(syntax, var))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches(".continue/agents/*.yaml", ".continue/agents/a.yaml"));
        assert!(!matches(".continue/agents/*.yaml", ".continue/agents/a.json"));
        assert!(matches(".env.*", ".env.local"));
        assert!(!matches(".env", "x/.env"));
    }

    #[test]
    fn catalogue_names_are_unique() {
        let mut names: Vec<_> = TOOLS.iter().map(|t| t.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn what_tools_send_for_an_unset_key() {
        let t = |n: &str, syntax: Option<&str>, var: &str| unset_sends(n, syntax, var);
        assert_eq!(t("continue", Some("secrets"), "X"), Unset::Text("${{ secrets.//X }}".into()));
        assert_eq!(t("continue", None, ""), Unset::Text(String::new()));
        assert_eq!(t("opencode", Some("brace_env"), "X"), Unset::Text(String::new()));
        assert_eq!(t("kilo", Some("brace_env"), "X"), Unset::Text(String::new()));
        assert_eq!(t("librechat", Some("dollar_brace"), "X"), Unset::Text("${X}".into()));
        assert_eq!(t("openclaw", Some("dollar_brace"), "X"), Unset::Text("${X}".into()));
        assert_eq!(t("roo", Some("anything"), "X"), Unset::Text("not-provided".into()));
        assert_eq!(t("hermes", Some("key_env"), "X"), Unset::Text("no-key-required".into()));
        assert_eq!(t("hermes", Some("dollar_brace"), "X"), Unset::Text("${X}".into()));
        assert_eq!(t("hermes", None, "X"), Unset::NoHeader);
        assert_eq!(t("litellm", Some("os_environ"), "X"), Unset::NoHeader);
        assert_eq!(t("nonesuch", None, ""), Unset::NoHeader);
    }

    #[test]
    fn file_names_suggest_kinds() {
        assert_eq!(Sniff::of_name("My.YAML"), Some(Sniff::Yaml));
        assert_eq!(Sniff::of_name("x.env.yaml"), Some(Sniff::Yaml));
        assert_eq!(Sniff::of_name("env.json"), Some(Sniff::Json));
        assert_eq!(Sniff::of_name(".envrc"), Some(Sniff::Dotenv));
        assert_eq!(Sniff::of_name("bashrc"), Some(Sniff::Shell));
        assert_eq!(Sniff::of_name("notes.txt"), None);
    }

    #[test]
    fn the_walk_enters_the_hidden_directories_of_workspace_files() {
        let mut dirs: Vec<&str> = TOOLS.iter().flat_map(|t| t.hidden_dirs()).collect();
        dirs.sort();
        dirs.dedup();
        let want =
            ".claude .continue .cursor .gemini .homeassistant .kilo .kilocode .opencode .qwen .storage .vscode .zed";
        assert_eq!(dirs.join(" "), want);
    }

    #[test]
    fn references_between_entries_resolve() {
        for t in TOOLS {
            if let Some(r) = t.found_by {
                assert!(get(r).is_some(), "{}: found_by {r}", t.name);
            }
            for (var, p) in t.key_vars {
                assert!(provider::get(p).is_some(), "{}: {var} names provider {p}", t.name);
            }
        }
        assert_eq!(get("open-webui").unwrap().reader().name, "dotenv");
        assert_eq!(get("continue").unwrap().reader().name, "continue");
        assert_eq!(key_var_provider("AIDER_ANTHROPIC_API_KEY").unwrap().name, "anthropic");
        assert_eq!(key_var_provider("OPENSPACE_LLM_API_KEY").unwrap().name, "openrouter");
    }
}
