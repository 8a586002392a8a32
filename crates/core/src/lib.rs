//! keyhole-core: what every keyhole tool shares, once — the records of
//! SPEC §3, JSON-lines I/O, secrets and fingerprints, the config parsers,
//! and the provider and tool catalogues (SPEC §5).

pub mod cli;
pub mod doc;
pub mod dotenv;
pub mod envfile;
pub mod fsread;
pub mod jsonl;
pub mod provider;
pub mod record;
pub mod scan;
pub mod secret;
pub mod shell;
pub mod startup;
pub mod syntax;
pub mod tool;

/// SPEC §6 exit status, worst wins.
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
