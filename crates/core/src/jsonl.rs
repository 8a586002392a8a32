//! JSON lines in and out, as bytes: the reader hands out numbered lines
//! (the stage driver, crates/core/src/stage.rs, turns them into records),
//! the writer writes one record per line and tells a broken pipe apart.
//! Every record written and every note said passes the redaction boundary
//! (crates/core/src/redact.rs, docs/records.md#redaction).

use std::io::{self, BufRead, Write};

use serde::Serialize;

/// Why writing stopped.
#[derive(Debug)]
pub enum WriteStop {
    /// The reader went away (`| head -1`): not an error.
    BrokenPipe,
    /// Anything else (`/dev/full`, I/O error): the tool failed.
    Io(io::Error),
}

impl std::fmt::Display for WriteStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteStop::BrokenPipe => write!(f, "broken pipe"),
            WriteStop::Io(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl From<io::Error> for WriteStop {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            WriteStop::BrokenPipe
        } else {
            WriteStop::Io(e)
        }
    }
}

/// A JSON-lines writer that flushes every record, so `tail -f | keyhole-x`
/// streams, and that reports a broken pipe distinctly.
pub struct JsonlWriter<W: Write> {
    inner: io::BufWriter<W>,
    buf: Vec<u8>,
}

impl JsonlWriter<io::Stdout> {
    pub fn stdout() -> Self {
        JsonlWriter::new(io::stdout())
    }
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(w: W) -> Self {
        JsonlWriter { inner: io::BufWriter::with_capacity(64 * 1024, w), buf: Vec::with_capacity(1024) }
    }

    /// Write one record, redacted (docs/records.md#redaction), and flush.
    pub fn write<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), WriteStop> {
        self.buf.clear();
        crate::redact::to_writer(&mut self.buf, record).map_err(|e| WriteStop::Io(io::Error::other(e)))?;
        self.buf.push(b'\n');
        self.inner.write_all(&self.buf)?;
        self.inner.flush()?;
        Ok(())
    }

    /// Write without flushing (for a batch that ends with [`flush`](Self::flush)).
    pub fn write_buffered<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), WriteStop> {
        self.buf.clear();
        crate::redact::to_writer(&mut self.buf, record).map_err(|e| WriteStop::Io(io::Error::other(e)))?;
        self.buf.push(b'\n');
        self.inner.write_all(&self.buf)?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteStop> {
        self.inner.flush()?;
        Ok(())
    }
}

/// The longest input line read (docs/records.md#general-rules): a longer one
/// is skipped to its end without being held (a 300 MB line cost 300 MB)
/// and handed out as [`OVER_LONG`], which the stage driver turns into an
/// `error` record naming the line. The largest record keyhole writes, a
/// probe with a 1 MiB body of bytes each escaped as `\u00XX`, is 6 MiB; a
/// line at the limit keeps every tool under 64 MB.
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// The most JSON values one input line may hold. A record's fields a stage
/// does not know are kept as JSON values, several dozen bytes each: an
/// 8 MiB line of `[0,0,0,…]` held 300 MB. Real records hold hundreds.
pub const MAX_VALUES: usize = 100_000;

/// Whether `line` holds more than [`MAX_VALUES`] JSON values (counted by
/// the commas, brackets and braces outside strings; a line too short to
/// hold that many is not scanned).
pub fn too_many_values(line: &[u8]) -> bool {
    if line.len() <= 2 * MAX_VALUES {
        return false;
    }
    let (mut n, mut in_string, mut escaped) = (0usize, false, false);
    for &b in line {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b',' | b'[' | b'{') => n += 1,
            _ => {}
        }
    }
    n > MAX_VALUES
}

/// What [`JsonlReader::next_line`] hands out in place of a line over
/// [`MAX_LINE`]: not JSON, so it can only become an error record.
pub const OVER_LONG: &[u8] = b"\0over-long line\0";

/// Numbered lines from `r`; blank lines are skipped (and counted). A read
/// failure ends the lines, is said on stderr and remembered.
pub struct JsonlReader<R: BufRead> {
    r: R,
    tool: &'static str,
    line_no: u64,
    buf: Vec<u8>,
    read_failed: bool,
}

impl JsonlReader<io::BufReader<io::StdinLock<'static>>> {
    /// The tool's standard input.
    pub fn stdin(tool: &'static str) -> Self {
        JsonlReader::new(io::BufReader::new(io::stdin().lock()), tool)
    }

    /// Whether more input can be read without waiting: read lines are
    /// buffered, or standard input is readable now (a file always is; a pipe
    /// when its writer has written). A tool that batches its input ends a
    /// batch when this is false, so that `tail -f | keyhole-x` answers each
    /// line as it comes.
    pub fn more_ready(&self) -> bool {
        if !self.r.buffer().is_empty() {
            return true;
        }
        let mut fds = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, a zero timeout.
        let n = unsafe { libc::poll(&mut fds, 1, 0) };
        n > 0 && fds.revents != 0
    }
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(r: R, tool: &'static str) -> Self {
        JsonlReader { r, tool, line_no: 0, buf: Vec::new(), read_failed: false }
    }
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next non-blank line with its 1-based number.
    pub fn next_line(&mut self) -> Option<(u64, Vec<u8>)> {
        match self.read_line()? {
            Ok(()) => Some((self.line_no, std::mem::take(&mut self.buf))),
            Err(e) => self.failed(e),
        }
    }

    fn failed<T>(&mut self, e: io::Error) -> Option<T> {
        note(self.tool, format!("cannot read standard input: {e}"));
        self.read_failed = true;
        None
    }

    /// Read the next non-blank line into `buf`, counting lines; a line over
    /// [`MAX_LINE`] is read no further than that and skipped to its end.
    fn read_line(&mut self) -> Option<io::Result<()>> {
        loop {
            self.buf.clear();
            match io::Read::take(&mut self.r, MAX_LINE as u64 + 1).read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
            self.line_no += 1;
            if self.buf.len() > MAX_LINE && self.buf.last() != Some(&b'\n') {
                self.buf = OVER_LONG.to_vec();
                return Some(self.r.skip_until(b'\n').map(|_| ()));
            }
            if !trim_ascii(&self.buf).is_empty() {
                return Some(Ok(()));
            }
        }
    }

    /// Whether the lines stopped on a read failure.
    pub fn read_failed(&self) -> bool {
        self.read_failed
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

/// A message for people on stderr, prefixed with the tool name: redacted
/// and made safe for a terminal, on one line (docs/records.md#redaction). A
/// closed stderr is ignored: diagnostics must never turn into a crash.
pub fn note(tool: &str, msg: impl std::fmt::Display) {
    let msg = crate::redact::human(&msg.to_string());
    let _ = writeln!(io::stderr().lock(), "{tool}: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_numbers_lines_and_skips_blank_ones() {
        let input = b"{\"type\":\"site\"}\n\n  \nnot json\n\xff\xfe";
        let mut r = JsonlReader::new(&input[..], "t");
        let mut got = Vec::new();
        while let Some((n, l)) = r.next_line() {
            got.push((n, l));
        }
        assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 4, 5]);
        assert_eq!(got[1].1, b"not json\n");
        assert!(!r.read_failed());
    }

    #[test]
    fn an_over_long_line_is_skipped_to_its_end() {
        let mut input = b"{\"type\":\"a\"}\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend(b"\n{\"type\":\"b\"}\n");
        input.extend(std::iter::repeat_n(b'y', MAX_LINE));
        input.push(b'\n');
        let mut r = JsonlReader::new(&input[..], "t");
        assert_eq!(r.next_line().unwrap(), (1, b"{\"type\":\"a\"}\n".to_vec()));
        assert_eq!(r.next_line().unwrap(), (2, OVER_LONG.to_vec()));
        assert_eq!(r.next_line().unwrap(), (3, b"{\"type\":\"b\"}\n".to_vec()));
        // A line of exactly the limit, its newline not counted, is a line.
        assert_eq!(r.next_line().map(|(n, l)| (n, l.len())), Some((4, MAX_LINE + 1)));
        assert!(r.next_line().is_none() && !r.read_failed());
    }

    #[test]
    fn values_are_counted_outside_strings() {
        let many = format!("[{}0]", "0,".repeat(MAX_VALUES));
        assert!(too_many_values(many.as_bytes()));
        let text = format!("{{\"s\":\"{}\\\"\",\"n\":[1,2]}}", ",".repeat(3 * MAX_VALUES));
        assert!(!too_many_values(text.as_bytes()));
        assert!(!too_many_values(b"[0,0,0]"));
    }

    #[test]
    fn writer_writes_one_line_per_record() {
        let mut out = Vec::new();
        {
            let mut w = JsonlWriter::new(&mut out);
            w.write(&serde_json::json!({"type":"a"})).unwrap();
            w.write(&serde_json::json!({"type":"b"})).unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "{\"type\":\"a\"}\n{\"type\":\"b\"}\n");
    }
}
