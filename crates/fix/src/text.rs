//! A file as the planner reads it (docs/fix.md#the-smallest-edit): its lines
//! without their endings, the ending each line had, whether the last line
//! ends, and the [`Stamp`] that `--apply` checks before writing.

use std::path::{Path, PathBuf};

use crate::edit::{Change, Stamp};

/// Files larger than this are not planned for (a config or an env file is small).
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// A text file read for planning.
#[derive(Clone, Debug)]
pub struct Text {
    pub path: PathBuf,
    pub stamp: Stamp,
    /// The lines, without their endings (a `\r` before `\n` is part of the ending).
    pub lines: Vec<String>,
    /// The ending of each line: `"\n"`, `"\r\n"`, or `""` for a last line without one.
    pub endings: Vec<&'static str>,
}

impl Text {
    /// Read `path` (an absolute path of a regular text file of at most
    /// [`MAX_FILE`] bytes; a relative path in a record is never taken from
    /// the working directory).
    pub fn read(path: &Path) -> Option<Text> {
        if !path.is_absolute() {
            return None;
        }
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() > MAX_FILE {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        let stamp = stamp_of(&bytes, &meta);
        let text = String::from_utf8(bytes).ok()?;
        let (lines, endings) = split(&text);
        Some(Text { path: path.to_path_buf(), stamp, lines, endings })
    }

    /// Line `n` (1-based).
    pub fn line(&self, n: usize) -> Option<&str> {
        self.lines.get(n.checked_sub(1)?).map(String::as_str)
    }

    /// The ending new lines get: the file's own (CRLF stays CRLF).
    pub fn eol(&self) -> &'static str {
        if self.endings.contains(&"\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }
}

/// The stamp of content `bytes` whose metadata is `meta`.
pub fn stamp_of(bytes: &[u8], meta: &std::fs::Metadata) -> Stamp {
    Stamp {
        len: meta.len(),
        mtime: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
        sha256: crate::disk::sha256(bytes),
    }
}

/// The stamp of the file at `path` now (None: it does not exist or cannot be read).
pub fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    let bytes = std::fs::read(path).ok()?;
    Some(stamp_of(&bytes, &meta))
}

/// Lines and their endings.
pub fn split(text: &str) -> (Vec<String>, Vec<&'static str>) {
    let mut lines = Vec::new();
    let mut endings = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(i) => {
                let (line, crlf) = match rest[..i].strip_suffix('\r') {
                    Some(l) => (l, true),
                    None => (&rest[..i], false),
                };
                lines.push(line.to_string());
                endings.push(if crlf { "\r\n" } else { "\n" });
                rest = &rest[i + 1..];
            }
            None => {
                lines.push(rest.to_string());
                endings.push("");
                rest = "";
            }
        }
    }
    (lines, endings)
}

/// The content after `changes` (line numbers of the content as read,
/// applied bottom-up), every other byte kept; new lines take the file's
/// ending. An inserted line after a last line without an ending gives that
/// line the file's ending first. None when a change does not match the
/// content (`old` differs, a line out of range).
pub fn apply(content: &str, changes: &[Change]) -> Option<String> {
    let (mut lines, mut endings) = split(content);
    let eol = if endings.contains(&"\r\n") { "\r\n" } else { "\n" };
    let mut order: Vec<(usize, &Change)> = changes.iter().enumerate().collect();
    // Bottom-up; at one line, an insertion before it goes after the change of
    // it, and several insertions there keep their order (the last one first).
    order
        .sort_by_key(|(i, c)| (std::cmp::Reverse(c.line()), matches!(c, Change::Insert { .. }), std::cmp::Reverse(*i)));
    for (_, c) in order {
        match c {
            Change::Replace { line, old, new } => {
                let i = line.checked_sub(1)?;
                if lines.get(i)? != old {
                    return None;
                }
                lines[i] = new.clone();
            }
            Change::Delete { line, old } => {
                let i = line.checked_sub(1)?;
                if lines.get(i)? != old {
                    return None;
                }
                lines.remove(i);
                let e = endings.remove(i);
                // The deleted last line had no ending: the new last line loses its own.
                if e.is_empty() && i == lines.len() && i > 0 {
                    endings[i - 1] = "";
                }
            }
            Change::Insert { line, new } => {
                let i = line.checked_sub(1)?;
                if i > lines.len() {
                    return None;
                }
                if i == lines.len() && i > 0 && endings[i - 1].is_empty() {
                    endings[i - 1] = eol;
                    lines.push(new.clone());
                    endings.push("");
                } else {
                    lines.insert(i, new.clone());
                    endings.insert(i, eol);
                }
            }
        }
    }
    let mut out = String::with_capacity(content.len() + 64);
    for (l, e) in lines.iter().zip(&endings) {
        out.push_str(l);
        out.push_str(e);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_other_byte_is_kept() {
        let src = "a\r\nb\r\nc";
        let out = apply(src, &[Change::Replace { line: 2, old: "b".into(), new: "B".into() }]).unwrap();
        assert_eq!(out, "a\r\nB\r\nc");
        let out = apply(src, &[Change::Insert { line: 4, new: "d".into() }]).unwrap();
        assert_eq!(out, "a\r\nb\r\nc\r\nd");
        let out = apply("x\ny\n", &[Change::Delete { line: 2, old: "y".into() }]).unwrap();
        assert_eq!(out, "x\n");
        let moved = [Change::Delete { line: 3, old: "k".into() }, Change::Insert { line: 1, new: "k".into() }];
        assert_eq!(apply("a\nb\nk\nc\n", &moved).unwrap(), "k\na\nb\nc\n");
        assert!(apply("a\n", &[Change::Replace { line: 1, old: "z".into(), new: "q".into() }]).is_none());
        let two = [Change::Insert { line: 2, new: "x".into() }, Change::Insert { line: 2, new: "y".into() }];
        assert_eq!(apply("a\nb\n", &two).unwrap(), "a\nx\ny\nb\n");
    }
}
