//! `fix`: one edit (or command) keyhole-fix plans for a site's root cause
//! (docs/records.md#fix). `before`/`after` hold the edited lines with every
//! key replaced by its redaction marker: a `fix` record never holds a key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Code, Extra};

/// The kind of a fix (docs/fix.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixKind {
    /// Rewrite a placeholder into the tool's own substitution syntax.
    PlaceholderSyntax,
    /// Copy a value defined only in the shell into the tool's own `.env`.
    CopyToToolEnv,
    /// Move an export above the interactive-only guard.
    MoveAboveGuard,
    /// Add `export` to an assignment.
    AddExport,
    /// Write the variable into the file the launch context reads (a unit's
    /// `EnvironmentFile=`, the tool's own `.env`).
    WriteLaunchEnv,
    /// Delete a blank or failing line that shadows a working key.
    DeleteLine,
    /// Remove duplicates so the intended line is the one that loads.
    Dedupe,
    /// Strip quotes, whitespace, CR, a BOM or a `Bearer ` prefix from a key.
    StripValue,
    /// Rename a near-miss variable.
    RenameVariable,
    /// Correct a base URL.
    BaseUrl,
    /// Move a key between the variables of two headers.
    SwapHeaderVariable,
    /// Restart a process that started without the current definition.
    Restart,
    /// Log in again.
    LogIn,
    /// Buy credits.
    BuyCredits,
}

impl FixKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::PlaceholderSyntax => "placeholder_syntax",
            FixKind::CopyToToolEnv => "copy_to_tool_env",
            FixKind::MoveAboveGuard => "move_above_guard",
            FixKind::AddExport => "add_export",
            FixKind::WriteLaunchEnv => "write_launch_env",
            FixKind::DeleteLine => "delete_line",
            FixKind::Dedupe => "dedupe",
            FixKind::StripValue => "strip_value",
            FixKind::RenameVariable => "rename_variable",
            FixKind::BaseUrl => "base_url",
            FixKind::SwapHeaderVariable => "swap_header_variable",
            FixKind::Restart => "restart",
            FixKind::LogIn => "log_in",
            FixKind::BuyCredits => "buy_credits",
        }
    }
}

impl std::fmt::Display for FixKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a fix stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum FixState {
    /// Planned, nothing written (the default, without `--apply`).
    #[default]
    Planned,
    /// Written (`backup` names the copy of the file before).
    Applied,
    /// Not written, and `why` says why (the file changed since it was read,
    /// it lies outside the analysed home and the given paths).
    Refused,
    /// Not written because the user said no, or an earlier edit of the same
    /// file was refused.
    Skipped,
}

/// One planned edit or command (docs/records.md#fix).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Fix {
    #[serde(default = "super::version")]
    pub v: u32,
    /// The id of the site the fix is for.
    pub site: String,
    /// The root cause it fixes.
    pub cause: Code,
    pub kind: FixKind,
    /// The file edited (absolute), null for a command.
    #[serde(default)]
    pub file: Option<String>,
    /// The 1-based line edited (of the file as read), null for a command.
    #[serde(default)]
    pub line: Option<u32>,
    /// The line before, keys as redaction markers; null when a line is inserted.
    #[serde(default)]
    pub before: Option<String>,
    /// The line after, keys as redaction markers; null when a line is deleted.
    #[serde(default)]
    pub after: Option<String>,
    /// The command to run, for a fix that is not a file edit.
    #[serde(default)]
    pub command: Option<String>,
    /// One sentence for people.
    pub says: String,
    #[serde(default)]
    pub state: FixState,
    /// The copy of the file before the edit (`--apply`).
    #[serde(default)]
    pub backup: Option<String>,
    /// Why it was refused or skipped.
    #[serde(default)]
    pub why: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Fix {
    /// A planned fix with no file, line or command yet.
    pub fn new(site: impl Into<String>, cause: Code, kind: FixKind, says: impl Into<String>) -> Self {
        Fix {
            v: super::VERSION,
            site: site.into(),
            cause,
            kind,
            file: None,
            line: None,
            before: None,
            after: None,
            command: None,
            says: says.into(),
            state: FixState::Planned,
            backup: None,
            why: None,
            extra: Extra::new(),
        }
    }
}
