//! keyhole-core: what every keyhole tool shares, once — the typed record
//! contract (docs/records.md), the stage interface and stream driver,
//! errors and exit status, JSON-lines I/O, secrets and fingerprints, the
//! config parsers, and the tool and provider catalogues (docs/catalogue.md).

pub mod baseurl;
pub mod cli;
pub mod diagnose;
pub mod doc;
pub mod dotenv;
pub mod envfile;
pub mod error;
pub mod fsread;
pub mod jsonl;
pub mod provider;
pub mod record;
pub mod redact;
pub mod scan;
pub mod secret;
pub mod shell;
pub mod stage;
pub mod startup;
pub mod syntax;
pub mod tool;
pub mod vscdb;
pub mod weburl;

/// Exit status (docs/records.md#exit-status), worst wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Did its work, found nothing wrong.
    Ok = 0,
    /// Did its work and found a problem (or, for find, no site).
    Found = 1,
    /// Could not do all its work.
    Failed = 2,
}

impl Status {
    pub fn worst(self, other: Status) -> Status {
        self.max(other)
    }
    pub fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self as u8)
    }
}
