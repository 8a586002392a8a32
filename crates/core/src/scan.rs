//! Reading one candidate file and running the tool extractors on it: shared
//! by keyhole-find (which writes the sites) and keyhole-probe (which needs
//! the literal key again, and finds it by the record's fingerprint).

use std::path::Path;

use crate::doc;
use crate::dotenv;
use crate::fsread::{self, ReadError};
use crate::secret::Secret;
use crate::shell;
use crate::tool::{self, Draft, FileCtx, FileKind, Parsed, Tool};

pub struct Extracted {
    pub drafts: Vec<(&'static Tool, Draft)>,
    /// Literal key values met with their sha8, for probing; never written out.
    pub secrets: Vec<(Secret, String)>,
}

#[derive(Debug)]
pub enum ScanError {
    /// Not a config at all (FIFO, loop, binary, too large): note and skip.
    Skip(String),
    /// The user's config could not be read or parsed: an error record.
    Error { message: String, line: Option<u32> },
    /// A content-sniffed file (a `config.yaml` that may be a tool's, see
    /// `Tool::sniffed_files`) did not parse.
    NotOurs(String),
}

/// Read `path` as `kind` and run each tool's extractor on it.
pub fn extract_file(
    path: &Path,
    kind: FileKind,
    tools: &[&'static Tool],
    home: &Path,
    cap: u64,
    sniffed_only: bool,
) -> Result<Extracted, ScanError> {
    let file = path.display().to_string();
    let mut out = Extracted { drafts: Vec::new(), secrets: Vec::new() };
    if kind == FileKind::Marker {
        for t in tools {
            let ctx = FileCtx::new(path, home, t);
            out.drafts.extend((t.extract)(&ctx, &Parsed::Marker).into_iter().map(|d| (*t, d)));
            // A plain key an editor keeps in its state.vscdb (docs/tools.md#cursor).
            out.secrets.extend(ctx.seen.take());
        }
        return Ok(out);
    }
    let text = match fsread::read_text(path, cap) {
        Ok(t) => t,
        Err(e) if e.is_skip() => return Err(ScanError::Skip(format!("{file} {e}"))),
        Err(e @ ReadError::Io(_)) | Err(e) => {
            return Err(ScanError::Error { message: format!("{file} {e}"), line: None })
        }
    };
    let parsed_doc;
    let parsed_env;
    let parsed_sh;
    let parsed = match kind {
        FileKind::Doc(f) => match doc::parse(&text, f) {
            Ok(n) => {
                parsed_doc = n;
                Parsed::Doc(&parsed_doc)
            }
            Err(e) if sniffed_only => {
                let whose: Vec<&str> = tools.iter().map(|t| t.display).collect();
                return Err(ScanError::NotOurs(format!(
                    "{file}: not parsed as a {} config ({})",
                    whose.join(" or "),
                    e.message
                )));
            }
            Err(e) => {
                let at = e.line.map(|l| format!(" at line {l}")).unwrap_or_default();
                return Err(ScanError::Error {
                    message: format!(
                        "{file}: does not parse{at}: {}; its sites are missing until it is fixed",
                        e.message
                    ),
                    line: e.line,
                });
            }
        },
        FileKind::Dotenv(flavor) => {
            parsed_env = dotenv::parse(&text, flavor);
            Parsed::Dotenv(&parsed_env)
        }
        FileKind::Shell(d) => {
            parsed_sh = shell::assignments(&text, d);
            Parsed::Shell(&parsed_sh)
        }
        FileKind::Marker => unreachable!("handled above"),
    };
    // A tool's own .env (e.g. ~/.hermes/.env) is reported once, as that tool's.
    let owned_dotenv = matches!(parsed, Parsed::Dotenv(_)) && tools.iter().any(|t| !t.yields);
    for t in tools {
        if owned_dotenv && t.yields {
            continue;
        }
        let ctx = FileCtx::new(path, home, t);
        out.drafts.extend((t.extract)(&ctx, &parsed).into_iter().map(|d| (*t, d)));
        out.secrets.extend(ctx.seen.take());
    }
    Ok(out)
}

/// How `tool` reads `path`: by its home rules (relative to `home`), then by
/// its workspace rules (matched on the path's last components).
pub fn kind_for(t: &Tool, path: &Path, home: &Path) -> Option<FileKind> {
    if let Ok(rel) = path.strip_prefix(home) {
        let rel = rel.to_string_lossy();
        if let Some(r) = t.home_files.iter().find(|r| tool::matches(r.pattern, &rel)) {
            return Some(r.kind);
        }
    }
    let comps: Vec<String> = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    t.workspace_files.iter().chain(t.home_files.iter()).find_map(|r| {
        let n = r.pattern.split('/').count();
        (comps.len() >= n && tool::matches(r.pattern, &comps[comps.len() - n..].join("/"))).then_some(r.kind)
    })
}
