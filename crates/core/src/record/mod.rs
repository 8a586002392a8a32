//! The record contract (docs/records.md), as types. Every record is one JSON
//! object on one line with `"type"` and `"v": 1`. A stage deserializes a line
//! once into a [`Record`], works on the types, and serializes once.
//!
//! Every struct keeps the fields it does not know in `extra`, so a field a
//! user adds with `jq` (or a later version of keyhole writes) survives every
//! stage. A record of a type this version does not know is passed through as
//! it is ([`Record::Unknown`]).
//!
//! docs/records.schema.json is generated from these types (`keyhole-find
//! --generate schema`); a test fails when the committed file is stale.

pub mod diagnosis;
pub mod env;
pub mod fix;
pub mod probe;
mod schema;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use diagnosis::{Code, Diagnosis, Severity};
pub use env::Env;
pub use fix::{Fix, FixKind, FixState};
pub use probe::Probe;
pub use schema::schema;

use crate::secret::Fingerprint;

/// The contract's version, written as `"v"` in every record.
pub const VERSION: u32 = 1;

/// Fields a stage does not know, kept in their order for the round trip.
pub type Extra = Map<String, Value>;

fn version() -> u32 {
    VERSION
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a site's configuration was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// Absolute path of the file.
    pub file: String,
    /// 1-based line of the key reference (of the entry when there is no key).
    pub line: u32,
    /// JSON pointer of the entry in a structured file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pointer: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Source {
    pub fn new(file: impl Into<String>, line: u32, pointer: Option<String>) -> Self {
        Source { file: file.into(), line, pointer, extra: Extra::new() }
    }
}

/// The header a tool sends the key in, and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Auth {
    /// `authorization`, `x-api-key`, `api-key`, `x-goog-api-key`, `query:key` or `none`.
    pub header: String,
    /// `bearer` or `raw`.
    pub scheme: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Auth {
    pub fn new(header: impl Into<String>, scheme: impl Into<String>) -> Self {
        Auth { header: header.into(), scheme: scheme.into(), extra: Extra::new() }
    }
}

/// Where a site's key comes from (`key.from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Written in the file; only its fingerprint is recorded.
    Literal,
    /// Read from a variable (`var`), through `syntax` or implicitly.
    Env,
    /// Text the tool sends as it is, because it does not expand it.
    Placeholder,
    /// Read from a file (`path`).
    File,
    /// The output of a helper command (`cmd`).
    Command,
    /// In a store keyhole cannot read (`store`).
    Store,
    /// No key configured.
    #[default]
    None,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Literal => "literal",
            KeySource::Env => "env",
            KeySource::Placeholder => "placeholder",
            KeySource::File => "file",
            KeySource::Command => "command",
            KeySource::Store => "store",
            KeySource::None => "none",
        }
    }
}

impl PartialEq<&str> for KeySource {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a site's key comes from (`key`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct KeyRef {
    pub from: KeySource,
    /// The literal key's fingerprint (never the key).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    /// Placeholder text, sent as it is (not a secret).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub var: Option<String>,
    /// The substitution syntax that names `var` (absent: read implicitly).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub syntax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cmd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub store: Option<String>,
    /// Why, in words: what the tool expands, what it does instead.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// A key written in the site's file where the tool never reads it (Zed's
    /// `api_key` in settings.json): the tool takes `from` instead.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ignored: Option<IgnoredKey>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A key the tool does not read (`key.ignored`, docs/records.md#site-records).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IgnoredKey {
    /// The field's JSON pointer.
    pub pointer: String,
    pub line: u32,
    pub fp: Fingerprint,
    /// Where the tool takes its key from instead, and how to put it there, in the tool's words.
    pub fix: String,
}

impl KeyRef {
    fn of(from: KeySource) -> Self {
        KeyRef { from, ..Default::default() }
    }
    pub fn literal(fp: Fingerprint) -> Self {
        KeyRef { fp: Some(fp), ..KeyRef::of(KeySource::Literal) }
    }
    pub fn env(var: &str, syntax: Option<&str>) -> Self {
        KeyRef { var: Some(var.into()), syntax: syntax.map(str::to_string), ..KeyRef::of(KeySource::Env) }
    }
    pub fn placeholder(text: &str, var: Option<&str>, note: String) -> Self {
        KeyRef {
            text: Some(text.into()),
            var: var.map(str::to_string),
            note: Some(note),
            ..KeyRef::of(KeySource::Placeholder)
        }
    }
    pub fn file(path: &str) -> Self {
        KeyRef { path: Some(path.into()), ..KeyRef::of(KeySource::File) }
    }
    pub fn command(cmd: &str) -> Self {
        KeyRef { cmd: Some(cmd.into()), ..KeyRef::of(KeySource::Command) }
    }
    pub fn store(store: &str) -> Self {
        KeyRef { store: Some(store.into()), ..KeyRef::of(KeySource::Store) }
    }
    pub fn none() -> Self {
        KeyRef::of(KeySource::None)
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
    /// The variable named, or "".
    pub fn var_name(&self) -> &str {
        self.var.as_deref().unwrap_or("")
    }
}

/// Another credential the tool sends in the same request as the site's own
/// (`site.also`, docs/records.md#site): Claude Code sends
/// `ANTHROPIC_AUTH_TOKEN` as Bearer and `ANTHROPIC_API_KEY` as `x-api-key`
/// when both are set, and its helper's output in both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlsoAuth {
    /// `authorization`, `x-api-key`, `api-key`…
    pub header: String,
    /// `bearer` or `raw`.
    pub scheme: String,
    pub key: KeyRef,
    /// What keyhole-env found of `key.var`: its `effective` is what the tool sends.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub env: Option<Env>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One place a tool takes a credential from, with what each later stage
/// added: `env` (keyhole-env), `probe` (keyhole-probe), `diagnoses`
/// (keyhole-classify).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Site {
    #[serde(default = "version")]
    pub v: u32,
    /// `TOOL:FILE#POINTER`, or `TOOL:FILE#VAR@LINE` where there is no pointer.
    pub id: String,
    /// The machine's host name, to merge records of many machines.
    pub host: String,
    /// A name from the tool catalogue.
    pub tool: String,
    pub source: Source,
    /// A name from the provider catalogue.
    pub provider: String,
    #[serde(default)]
    pub model: Option<String>,
    pub base_url: String,
    /// `config`, `default` or `env:NAME`.
    pub base_url_from: String,
    pub auth: Auth,
    pub key: KeyRef,
    /// The other credentials the tool sends in the same request, each in its
    /// own header (keyhole-env adds them; keyhole-probe sends them all).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub also: Vec<AlsoAuth>,
    /// The variable the site's line assigns (`NAME=value` in a `.env` or
    /// shell file): keyhole-env then says whether the tool uses this line.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub assigns: Option<String>,
    /// The file is a template (`.env.example`, `.env.sample`…): what it
    /// holds is an example, never what a tool loads.
    #[serde(skip_serializing_if = "is_false", default)]
    pub template: bool,
    /// The base URL is a gateway found on this machine (a LiteLLM proxy's
    /// config): the gateway and its own sites, the next hop of the chain
    /// (docs/wire.md#gateways).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gateway: Option<GatewayLink>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub env: Option<Env>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub probe: Option<Probe>,
    /// Root cause first.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnoses: Option<Vec<Diagnosis>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Site {
    /// `file:line` of the site's source, for evidence.
    pub fn at(&self) -> String {
        format!("{}:{}", self.source.file, self.source.line)
    }
}

/// The gateway a client site talks to (docs/wire.md#gateways): client →
/// gateway is the site's own hop, gateway → upstream the hops of `sites`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GatewayLink {
    /// The gateway's provider (`litellm`).
    pub provider: String,
    /// The gateway's config file.
    pub config: String,
    /// The port the gateway listens on.
    pub port: u16,
    /// What says so: `FILE:LINE` of the unit or the process that starts it
    /// with its config, or `default`.
    pub port_from: String,
    /// The gateway's upstream sites (its model list entries), by id.
    pub sites: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool could not do its work on one input; it goes on with the next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorRecord {
    #[serde(default = "version")]
    pub v: u32,
    /// The keyhole tool that wrote it.
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    pub message: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ErrorRecord {
    pub fn new(tool: &str, message: impl Into<String>) -> Self {
        ErrorRecord {
            v: VERSION,
            tool: tool.into(),
            input_line: None,
            file: None,
            line: None,
            message: message.into(),
            extra: Extra::new(),
        }
    }
    pub fn at_input_line(mut self, n: u64) -> Self {
        self.input_line = Some(n);
        self
    }
    pub fn at_file(mut self, file: &str, line: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }
}

/// An HTTP answer read by `keyhole-classify --http` or found in a log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Response {
    #[serde(default = "version")]
    pub v: u32,
    pub source: Source,
    pub status: Option<u16>,
    /// The body as JSON when it parses, else as text; key shapes redacted.
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The credential that arrived at keyhole-capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CapturedAuth {
    pub header: String,
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    /// Substitution text that arrived instead of a key (not a secret).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub placeholder: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One request keyhole-capture received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Capture {
    #[serde(default = "version")]
    pub v: u32,
    /// When it arrived (RFC 3339, UTC).
    pub at: String,
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// null: no credential arrived.
    pub auth: Option<CapturedAuth>,
    /// Header names that arrived, lower case, sorted.
    pub headers: Vec<String>,
    pub user_agent: Option<String>,
    /// The provider imitated.
    #[serde(rename = "as", skip_serializing_if = "Option::is_none", default)]
    pub as_provider: Option<String>,
    /// The status keyhole-capture answered (imitation mode).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub answered: Option<u16>,
    /// With `--forward`: what the upstream answered.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upstream: Option<Upstream>,
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What the upstream answered a request keyhole-capture passed on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Upstream {
    /// The base URL passed on to.
    pub url: String,
    /// null: no answer came (`error` says why).
    pub status: Option<u16>,
    /// When it answered: its error message, redacted (null: none).
    #[serde(skip_serializing_if = "Option::is_none", default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub message: Option<Option<String>>,
    /// When no answer came: why.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A field that is present, null or not: `Some(None)` for null.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `keyhole-env VAR`: one variable, no site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnvRecord {
    #[serde(default = "version")]
    pub v: u32,
    pub host: String,
    pub var: String,
    pub env: Env,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `keyhole-probe URL`: one request, no site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeRecord {
    #[serde(default = "version")]
    pub v: u32,
    pub url: String,
    #[serde(default)]
    pub provider: Option<String>,
    pub probe: Probe,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnoses: Option<Vec<Diagnosis>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Any record of the contract, by its `"type"`.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Site(Box<Site>),
    Error(ErrorRecord),
    Response(Response),
    Capture(Capture),
    Env(EnvRecord),
    Probe(ProbeRecord),
    /// A planned fix (keyhole-fix).
    Fix(Fix),
    /// A record of a type this version does not know: passed on untouched.
    #[serde(untagged)]
    #[schemars(skip)]
    Unknown(Map<String, Value>),
}

/// Why a line could not become a record.
#[derive(Debug)]
pub struct NotARecord(pub String);

impl Record {
    /// Parse one record from JSON text. A record of a known type that does
    /// not fit the contract is an error naming the field; an object with a
    /// string `type` this version does not know is [`Record::Unknown`].
    pub fn from_json(text: &str) -> Result<Record, NotARecord> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            NotARecord(format!(
                "is not JSON ({}, column {})",
                e.to_string().split(" at line").next().unwrap_or("parse error"),
                e.column()
            ))
        })?;
        Record::from_value(v)
    }

    /// A record from a parsed JSON value (see [`from_json`](Self::from_json)).
    pub fn from_value(v: Value) -> Result<Record, NotARecord> {
        let Value::Object(map) = v else {
            return Err(NotARecord("is JSON but not a record object".into()));
        };
        let kind = match map.get("type") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(NotARecord("is a JSON object without a \"type\" field".into())),
        };
        fn typed<T: serde::de::DeserializeOwned>(kind: &str, map: Map<String, Value>) -> Result<T, NotARecord> {
            let mut map = map;
            map.remove("type");
            serde_json::from_value(Value::Object(map)).map_err(|e| {
                NotARecord(format!("is a {kind} record that does not fit the contract (docs/records.md): {e}"))
            })
        }
        Ok(match kind.as_str() {
            "site" => Record::Site(Box::new(typed(&kind, map)?)),
            "error" => Record::Error(typed(&kind, map)?),
            "response" => Record::Response(typed(&kind, map)?),
            "capture" => Record::Capture(typed(&kind, map)?),
            "env" => Record::Env(typed(&kind, map)?),
            "probe" => Record::Probe(typed(&kind, map)?),
            "fix" => Record::Fix(typed(&kind, map)?),
            _ => Record::Unknown(map),
        })
    }

    /// The record's `"type"`.
    pub fn kind(&self) -> &str {
        match self {
            Record::Site(_) => "site",
            Record::Error(_) => "error",
            Record::Response(_) => "response",
            Record::Capture(_) => "capture",
            Record::Env(_) => "env",
            Record::Probe(_) => "probe",
            Record::Fix(_) => "fix",
            Record::Unknown(m) => m.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    pub fn site(&self) -> Option<&Site> {
        match self {
            Record::Site(s) => Some(s),
            _ => None,
        }
    }

    pub fn site_mut(&mut self) -> Option<&mut Site> {
        match self {
            Record::Site(s) => Some(s),
            _ => None,
        }
    }

    /// The diagnoses the record carries (none for records without any).
    pub fn diagnoses(&self) -> &[Diagnosis] {
        match self {
            Record::Site(s) => s.diagnoses.as_deref().unwrap_or(&[]),
            Record::Response(r) => &r.diagnoses,
            Record::Capture(c) => &c.diagnoses,
            Record::Probe(p) => p.diagnoses.as_deref().unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Whether any diagnosis has error severity (exit status 1).
    pub fn has_error(&self) -> bool {
        self.diagnoses().iter().any(|d| d.severity == Severity::Error)
    }

    /// One JSON line, with its newline, through the redaction boundary
    /// (docs/records.md#redaction).
    pub fn to_line(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        crate::redact::to_writer(&mut *buf, self)?;
        buf.push(b'\n');
        Ok(())
    }
}

impl From<Site> for Record {
    fn from(s: Site) -> Self {
        Record::Site(Box::new(s))
    }
}

impl From<ErrorRecord> for Record {
    fn from(e: ErrorRecord) -> Self {
        Record::Error(e)
    }
}

/// The machine's host name, for records merged from many machines.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            let mut buf = [0u8; 256];
            // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates on success.
            let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
            (rc == 0).then(|| {
                let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
                String::from_utf8_lossy(&buf[..end]).into_owned()
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = r#"{"type":"site","v":1,"id":"continue:/h/.continue/config.yaml#/models/0","host":"pi4","tool":"continue","source":{"file":"/h/.continue/config.yaml","line":7,"pointer":"/models/0"},"provider":"openrouter","model":"m","base_url":"https://openrouter.ai/api/v1","base_url_from":"default","auth":{"header":"authorization","scheme":"bearer"},"key":{"from":"placeholder","text":"${env:X}","var":"X","note":"n","mine":1},"team":"blue","diagnoses":[{"code":"key.placeholder","severity":"error","summary":"s","evidence":[],"fix":[],"seen_by":"jq"}]}"#;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let r = Record::from_json(SITE).unwrap();
        let back: Value = serde_json::to_value(&r).unwrap();
        let orig: Value = serde_json::from_str(SITE).unwrap();
        assert_eq!(back, orig);
        let s = r.site().unwrap();
        assert_eq!(s.key.from, KeySource::Placeholder);
        assert!(r.has_error());
    }

    #[test]
    fn unknown_types_pass_and_bad_known_types_are_named() {
        let r = Record::from_json(r#"{"type":"mine","x":[1]}"#).unwrap();
        assert_eq!(r.kind(), "mine");
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"type":"mine","x":[1]}"#);
        let e = Record::from_json(r#"{"type":"site","v":1}"#).unwrap_err();
        assert!(e.0.contains("site record"), "{}", e.0);
        assert!(Record::from_json("[1]").is_err());
        assert!(Record::from_json(r#"{"x":1}"#).is_err());
    }
}
