//! Errors that stop a tool, with their kind; [`exit`] is the one place an
//! outcome becomes an exit status (docs/records.md#exit-status).

use std::fmt;
use std::io;
use std::process::ExitCode;

use crate::jsonl::note;
use crate::Status;

/// What kind of failure stopped the tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Bad arguments or flags.
    Usage,
    /// An input named on the command line cannot be read or parsed.
    Input,
    /// The output cannot be written (a full disk, a closed file).
    Output,
    /// The reader of the output went away (`| head -1`): the tool stops,
    /// and that is not a failure.
    BrokenPipe,
    /// The tool could not do its work for another reason (cannot listen…).
    Failed,
}

/// A failure that stops a tool, said in words that tell what to do next.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(Kind::Usage, message)
    }
    pub fn input(message: impl Into<String>) -> Self {
        Error::new(Kind::Input, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(Kind::Failed, message)
    }
    /// The exit status this failure gives.
    pub fn status(&self) -> Option<Status> {
        match self.kind {
            Kind::BrokenPipe => None,
            Kind::Usage | Kind::Input | Kind::Output | Kind::Failed => Some(Status::Failed),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    /// An error writing the output.
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Error::new(Kind::BrokenPipe, "broken pipe")
        } else {
            Error::new(Kind::Output, format!("cannot write output: {e}"))
        }
    }
}

impl From<crate::jsonl::WriteStop> for Error {
    fn from(e: crate::jsonl::WriteStop) -> Self {
        match e {
            crate::jsonl::WriteStop::BrokenPipe => Error::new(Kind::BrokenPipe, "broken pipe"),
            crate::jsonl::WriteStop::Io(e) => Error::new(Kind::Output, format!("cannot write output: {e}")),
        }
    }
}

/// The exit status of a tool's run: its own status when it finished, 2
/// when it failed (said on stderr, redacted and made safe for a terminal
/// by [`note`]), 0 when the reader went away.
pub fn exit(tool: &str, outcome: Result<Status>) -> ExitCode {
    match outcome {
        Ok(status) => status.code(),
        Err(e) => match e.status() {
            None => ExitCode::SUCCESS,
            Some(s) => {
                note(tool, &e);
                s.code()
            }
        },
    }
}
