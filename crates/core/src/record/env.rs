//! `env`: what keyhole-env learned of one variable (docs/records.md#env):
//! where it is defined, which launch contexts and processes see it, and
//! what the tool will really get.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{is_false, Extra};
use crate::secret::Fingerprint;

/// A file and a 1-based line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileLine {
    pub file: String,
    pub line: u32,
    #[serde(flatten)]
    pub extra: Extra,
}

impl FileLine {
    pub fn new(file: impl Into<String>, line: u32) -> Self {
        FileLine { file: file.into(), line, extra: Extra::new() }
    }
}

/// The guard a definition sits below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// `case $- in *i*)`, `[ -z "$PS1" ] && return`…: interactive shells only.
    Interactive,
    /// `[ -t 0 ]`, `tty -s`: only with a terminal.
    Tty,
}

/// Where a guard stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Guard {
    pub file: String,
    pub line: u32,
    pub kind: GuardKind,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A value that is not a literal: where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueFrom {
    /// Another variable (`X=$Y`).
    Var(String),
    /// A command's output (`X=$(pass show …)`).
    Command(String),
    /// Text mixed with variables.
    Mixed(Vec<String>),
}

/// The kind of file a definition is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionKind {
    /// A POSIX shell startup file (bash, zsh, sh) or a file it sources.
    Shell,
    /// A fish file (`config.fish`, `conf.d`).
    Fish,
    /// A fish universal variable (`set -Ux`, `fish_variables`).
    FishUniversal,
    /// `/etc/environment` (pam_env).
    EtcEnvironment,
    /// `~/.pam_environment`.
    PamEnvironment,
    /// `environment.d` (systemd user units, some desktop sessions).
    EnvironmentD,
    /// VS Code's `terminal.integrated.env.*` (terminals only).
    VscodeTerminal,
    /// A `.env` file a tool loads itself.
    Dotenv,
}

/// One assignment of the variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Definition {
    pub file: String,
    pub line: u32,
    pub kind: DefinitionKind,
    pub exported: bool,
    /// null: not below a guard.
    pub after_guard: Option<Guard>,
    /// The value's fingerprint, when it is a literal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value_from: Option<ValueFrom>,
    #[serde(skip_serializing_if = "is_false", default)]
    pub in_function: bool,
    #[serde(skip_serializing_if = "is_false", default)]
    pub interactive_only: bool,
    /// The condition around it (`if [ -f … ]`), in words.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub conditional: Option<String>,
    /// The line that sources this file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sourced_from: Option<FileLine>,
    /// A fish universal variable (`set -Ux`).
    #[serde(skip_serializing_if = "is_false", default)]
    pub universal: bool,
    /// The tool that loads this `.env` file itself.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loaded_by: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The analysed environment's own value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Current {
    pub set: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why a tool process lacks the variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LacksBecause {
    Stale,
    AfterGuard,
    NotExported,
    WrongFile,
    Unknown,
}

/// A launch context (docs/launch-contexts.md#launch-contexts): how a process
/// starts, which decides the startup files its environment comes from. Its
/// name keys `contexts`, `context_sources` and `exec`, and is `launched_as`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LaunchContext {
    Interactive,
    Login,
    NonInteractive,
    SshCommand,
    VscodeResolved,
    SystemdUser,
    Gui,
}

impl LaunchContext {
    /// Every context, in output order.
    pub const ALL: [LaunchContext; 7] = [
        LaunchContext::Interactive,
        LaunchContext::Login,
        LaunchContext::NonInteractive,
        LaunchContext::SshCommand,
        LaunchContext::VscodeResolved,
        LaunchContext::SystemdUser,
        LaunchContext::Gui,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LaunchContext::Interactive => "interactive",
            LaunchContext::Login => "login",
            LaunchContext::NonInteractive => "non_interactive",
            LaunchContext::SshCommand => "ssh_command",
            LaunchContext::VscodeResolved => "vscode_resolved",
            LaunchContext::SystemdUser => "systemd_user",
            LaunchContext::Gui => "gui",
        }
    }
}

/// Whose a running process is (`role`, docs/launch-contexts.md#live-processes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role<'a> {
    /// A VS Code-family server (`vscode-server`).
    EditorServer,
    /// A VS Code-family extension host (`vscode-extension-host`).
    ExtensionHost,
    /// The tool's own process: the tool's name.
    Tool(&'a str),
}

impl<'a> Role<'a> {
    pub fn as_str(self) -> &'a str {
        match self {
            Role::EditorServer => "vscode-server",
            Role::ExtensionHost => "vscode-extension-host",
            Role::Tool(name) => name,
        }
    }
    pub fn of(role: &'a str) -> Role<'a> {
        match role {
            "vscode-server" => Role::EditorServer,
            "vscode-extension-host" => Role::ExtensionHost,
            name => Role::Tool(name),
        }
    }
    /// An editor's process rather than the tool's own.
    pub fn is_editor(self) -> bool {
        !matches!(self, Role::Tool(_))
    }
}

/// A running process of the tool's family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessFact {
    pub pid: u32,
    /// The tool's name, or `vscode-server` / `vscode-extension-host` ([`Role`]).
    pub role: String,
    /// When it started (RFC 3339, UTC).
    pub started: Option<String>,
    pub has_var: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    #[serde(skip_serializing_if = "is_false", default)]
    pub started_before_edit: bool,
    /// The launch context it came from (docs/launch-contexts.md#live-processes):
    /// a [`LaunchContext`] name, or `systemd_system`, `cron`, `container`,
    /// `tmux`, `unknown` when nothing proves one.
    pub launched_as: String,
    /// What proves `launched_as`: the cgroup's unit, the parent process…
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub launched_by: Vec<String>,
    /// The systemd unit it runs in (`litellm.service`), from /proc/PID/cgroup.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unit: Option<String>,
    /// Its working directory (/proc/PID/cwd), where tools look for `.env`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cwd: Option<String>,
    /// Why it is the tool's process: `exe /usr/bin/aider`, `script …/aider`,
    /// `package node_modules/@anthropic-ai/claude-code`, `extension …`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub matched_by: Option<String>,
    /// Its command line (/proc/PID/cmdline, words joined by spaces, keys
    /// redacted, cut at 300 bytes): what keyhole-fix names to restart.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lacks_because: Option<LacksBecause>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProcessFact {
    pub fn role(&self) -> Role<'_> {
        Role::of(&self.role)
    }
}

/// What the tool will really get.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Effective {
    /// A file, `process:PID` or `environment`.
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    /// The file's value beats the environment's (the tool loads it with override).
    #[serde(skip_serializing_if = "is_false", default)]
    pub overrides_env: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A definition under a name that differs only in case or punctuation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NearMiss {
    pub name: String,
    pub file: String,
    pub line: u32,
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a service is started, read from its definition file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LauncherKind {
    /// A unit under `~/.config/systemd/user/` (`systemctl --user`).
    SystemdUser,
    /// A unit under `/etc/systemd/system/` or `/lib/systemd/system/`.
    SystemdSystem,
    /// A docker compose service.
    Compose,
    /// A crontab line: no profile is read.
    Cron,
}

/// A definition file that starts the tool (a systemd unit, a compose
/// service, a crontab line), and whether what it starts gets the variable
/// (docs/launch-contexts.md#services).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Launcher {
    pub kind: LauncherKind,
    /// The unit, service or crontab name.
    pub name: String,
    /// The file and line that start the tool (`ExecStart=`, `command:`).
    pub file: String,
    pub line: u32,
    /// Whether the started process gets the variable; null: cannot tell
    /// (a value passed on from an environment keyhole does not see).
    pub sees: Option<bool>,
    /// Where its value is set (`Environment=`, an `EnvironmentFile=` line, `environment:`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<FileLine>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    /// Names that differ from the variable only in case or punctuation, in the files it loads.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub near_misses: Vec<NearMiss>,
    /// Files it would load that are missing (`EnvironmentFile=` without `-`), and other facts, in words.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The kind of place a tool can take its key from (docs/launch-contexts.md#resolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A credential the tool saved itself (`auth.json`, a login).
    Store,
    /// A `.env` file the tool loads itself.
    Dotenv,
    /// A running process's initial environment.
    Process,
    /// The analysed environment (`--env-file`, else keyhole's own).
    Environment,
    /// A service definition's environment (systemd, compose).
    Launcher,
    /// The tool's own config sets the variable (LiteLLM's `environment_variables:`).
    Config,
}

/// What became of one candidate value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// This is the value the tool sends.
    Sends,
    /// A value, beaten by one earlier in the order.
    Shadowed,
    /// An empty value the tool skips (it goes on to the next source).
    SkippedEmpty,
    /// An earlier line of the same file that a later line overrides.
    Overridden,
    /// The source exists but keyhole cannot read the value (keyring, encrypted).
    Unreadable,
}

/// One candidate value in the tool's resolution order: the trace of how
/// the tool picks its key (docs/launch-contexts.md#resolution).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    pub source: SourceKind,
    /// A file, `process:PID`, `environment`, or a launcher's name.
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fp: Option<Fingerprint>,
    pub outcome: Outcome,
    /// Why, in words: "the .env is loaded with override", "the last line wins".
    pub because: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where `--exec` and the static analysis disagree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Disagreement {
    pub context: String,
    #[serde(rename = "static")]
    pub static_: Option<bool>,
    pub real: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The whole `env` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Env {
    pub var: String,
    /// The user's shell the contexts are computed for.
    #[serde(default)]
    pub shell: String,
    pub current: Current,
    #[serde(default)]
    pub definitions: Vec<Definition>,
    /// Launch context → whether a process started there gets the variable.
    #[serde(default)]
    pub contexts: IndexMap<String, bool>,
    /// Launch context → `file:line` of the definition it sees.
    #[serde(default)]
    pub context_sources: IndexMap<String, String>,
    #[serde(default)]
    pub processes: Vec<ProcessFact>,
    /// null: the tool gets no value at all.
    #[serde(default)]
    pub effective: Option<Effective>,
    #[serde(default)]
    pub near_misses: Vec<NearMiss>,
    /// Every candidate value in the tool's resolution order, the one it
    /// sends marked `sends`, the others with why they lost.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub resolution: Vec<Candidate>,
    /// Service definitions that start the tool, and what they pass it.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub launchers: Vec<Launcher>,
    /// `--exec`: context → what the real shell said (null: no answer).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exec: Option<IndexMap<String, Option<bool>>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exec_disagrees: Option<Vec<Disagreement>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Env {
    /// Whether a process started in `context` gets the variable.
    pub fn visible_in(&self, context: &str) -> bool {
        self.contexts.get(context).copied().unwrap_or(false)
    }
}
