//! The records of SPEC §3. Every record is one JSON object on one line with
//! `"type"` and `"v": 1`. Tools that only pass records through keep them as
//! `serde_json::Value`, so fields they do not know survive untouched.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::secret::Fingerprint;

pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pointer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Auth {
    pub header: String,
    pub scheme: String,
}

/// Where a site's key comes from (SPEC §3.1 `key`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct KeyRef {
    /// `literal`, `env`, `placeholder`, `file`, `command`, `store`, `none`.
    pub from: String,
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
}

impl KeyRef {
    pub fn literal(fp: Fingerprint) -> Self {
        KeyRef { from: "literal".into(), fp: Some(fp), ..Default::default() }
    }
    pub fn env(var: &str, syntax: Option<&str>) -> Self {
        KeyRef { from: "env".into(), var: Some(var.into()), syntax: syntax.map(str::to_string), ..Default::default() }
    }
    pub fn placeholder(text: &str, var: Option<&str>, note: String) -> Self {
        KeyRef {
            from: "placeholder".into(),
            text: Some(text.into()),
            var: var.map(str::to_string),
            note: Some(note),
            ..Default::default()
        }
    }
    pub fn file(path: &str) -> Self {
        KeyRef { from: "file".into(), path: Some(path.into()), ..Default::default() }
    }
    pub fn command(cmd: &str) -> Self {
        KeyRef { from: "command".into(), cmd: Some(cmd.into()), ..Default::default() }
    }
    pub fn store(store: &str) -> Self {
        KeyRef { from: "store".into(), store: Some(store.into()), ..Default::default() }
    }
    pub fn none() -> Self {
        KeyRef { from: "none".into(), ..Default::default() }
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// SPEC §3.1: one place a tool takes a credential from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Site {
    #[serde(rename = "type")]
    pub kind: String,
    pub v: u32,
    pub id: String,
    pub host: String,
    pub tool: String,
    pub source: Source,
    pub provider: String,
    #[serde(default)]
    pub model: Option<String>,
    pub base_url: String,
    pub base_url_from: String,
    pub auth: Auth,
    pub key: KeyRef,
    /// Fields added by later tools (`env`, `probe`, `diagnoses`) or by users.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// SPEC §3.6 `error`: a tool could not do its work on one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    #[serde(rename = "type")]
    pub kind: String,
    pub v: u32,
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    pub message: String,
}

impl ErrorRecord {
    pub fn new(tool: &str, message: impl Into<String>) -> Self {
        ErrorRecord {
            kind: "error".into(),
            v: VERSION,
            tool: tool.into(),
            input_line: None,
            file: None,
            line: None,
            message: message.into(),
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
