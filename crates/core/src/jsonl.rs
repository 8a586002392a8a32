//! JSON lines in and out: one record per line, flushed per record, broken
//! pipes end the tool quietly, malformed input lines become `error` records.

use std::io::{self, BufRead, Write};

use serde::Serialize;
use serde_json::Value;

use crate::record::{ErrorRecord, Record};

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

    pub fn write<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), WriteStop> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, record).map_err(|e| WriteStop::Io(io::Error::other(e)))?;
        self.buf.push(b'\n');
        self.inner.write_all(&self.buf)?;
        self.inner.flush()?;
        Ok(())
    }

    /// Write without flushing (for a batch that ends with [`flush`]).
    pub fn write_buffered<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), WriteStop> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, record).map_err(|e| WriteStop::Io(io::Error::other(e)))?;
        self.buf.push(b'\n');
        self.inner.write_all(&self.buf)?;
        Ok(())
    }

    /// Write lines already serialized (by [`line_with`]). Not flushed.
    pub fn write_raw(&mut self, lines: &[u8]) -> Result<(), WriteStop> {
        self.inner.write_all(lines)?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteStop> {
        self.inner.flush()?;
        Ok(())
    }
}

/// Append `record` as one line to `buf` with the field `name` set to `value`
/// at its end (a field of that name it had is left out), without building
/// the combined value: a value many records share (one probe answer for 100
/// sites) is not copied into each. A record that is not an object is written
/// as it is.
pub fn line_with<U: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    record: &Value,
    name: &str,
    value: &U,
) -> serde_json::Result<()> {
    match record {
        Value::Object(map) => {
            buf.push(b'{');
            let mut first = true;
            for (k, v) in map.iter().filter(|(k, _)| k.as_str() != name) {
                if !first {
                    buf.push(b',');
                }
                first = false;
                serde_json::to_writer(&mut *buf, k)?;
                buf.push(b':');
                serde_json::to_writer(&mut *buf, v)?;
            }
            if !first {
                buf.push(b',');
            }
            serde_json::to_writer(&mut *buf, name)?;
            buf.push(b':');
            serde_json::to_writer(&mut *buf, value)?;
            buf.push(b'}');
        }
        other => serde_json::to_writer(&mut *buf, other)?,
    }
    buf.push(b'\n');
    Ok(())
}

/// One input line, read.
#[derive(Debug)]
pub enum InputItem {
    /// A JSON object with a `type` field: a record.
    Record(Value),
    /// A line that is not a record; the tool writes this error record
    /// (always a [`Record::Error`]) and goes on.
    Bad(Record),
}

/// Read JSON-lines records from `r`. Blank lines are skipped; a line that is
/// not a JSON object with a string `type` yields [`InputItem::Bad`] naming
/// its line number. Invalid UTF-8 is reported, never panicked on.
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

    /// The items until the input ends or cannot be read; a read failure is
    /// said on stderr and remembered for [`read_failed`](Self::read_failed).
    pub fn items(&mut self) -> impl Iterator<Item = InputItem> + '_ {
        std::iter::from_fn(move || match self.next()? {
            Ok(item) => Some(item),
            Err(e) => self.failed(e),
        })
    }

    /// The non-blank lines with their line numbers, unparsed (for a tool
    /// that parses them on several threads with [`parse_line`]); a read
    /// failure ends them as in [`items`](Self::items).
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

    /// Read the next non-blank line into `buf`, counting lines.
    fn read_line(&mut self) -> Option<io::Result<()>> {
        loop {
            self.buf.clear();
            match self.r.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
            self.line_no += 1;
            if !trim_ascii(&self.buf).is_empty() {
                return Some(Ok(()));
            }
        }
    }

    /// Whether [`items`](Self::items) stopped on a read failure.
    pub fn read_failed(&self) -> bool {
        self.read_failed
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = io::Result<InputItem>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.read_line()?.map(|()| parse_line(&self.buf, self.tool, self.line_no)))
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

/// Parse one input line (surrounding whitespace allowed) numbered `n`.
pub fn parse_line(line: &[u8], tool: &str, n: u64) -> InputItem {
    let line = trim_ascii(line);
    let bad = |msg: String| InputItem::Bad(Record::Error(ErrorRecord::new(tool, msg).at_input_line(n)));
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => return bad(format!("input line {n} is not valid UTF-8 (at byte {}); skipped", e.valid_up_to())),
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) if v.get("type").is_some_and(Value::is_string) => InputItem::Record(v),
        Ok(Value::Object(_)) => bad(format!("input line {n} is a JSON object without a \"type\" field; skipped")),
        Ok(_) => bad(format!("input line {n} is JSON but not a record object; skipped")),
        Err(e) => bad(format!(
            "input line {n} is not JSON ({}, column {}); skipped",
            e.to_string().split(" at line").next().unwrap_or("parse error"),
            e.column()
        )),
    }
}

/// A message for people on stderr, prefixed with the tool name. A closed
/// stderr is ignored: diagnostics must never turn into a crash.
pub fn note(tool: &str, msg: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{tool}: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_passes_records_and_flags_bad_lines() {
        let input = b"{\"type\":\"site\",\"v\":1}\n\nnot json\n[1]\n{\"x\":1}\n\xff\xfe\n{\"type\":\"x\"}\n";
        let items: Vec<_> = JsonlReader::new(&input[..], "t").map(|r| r.unwrap()).collect();
        assert_eq!(items.len(), 6);
        assert!(matches!(items[0], InputItem::Record(_)));
        match &items[1] {
            InputItem::Bad(Record::Error(e)) => assert_eq!(e.input_line, Some(3)),
            _ => panic!("expected bad line"),
        }
        assert!(matches!(items[2], InputItem::Bad(_)));
        assert!(matches!(items[3], InputItem::Bad(_)));
        assert!(matches!(items[4], InputItem::Bad(_)));
        assert!(matches!(items[5], InputItem::Record(_)));
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

    #[test]
    fn a_field_is_appended_without_building_the_value() {
        let mut out = Vec::new();
        let probe = serde_json::json!({"x": 1});
        line_with(&mut out, &serde_json::json!({"type": "site", "id": "a"}), "probe", &probe).unwrap();
        // An earlier field of that name is replaced, and moves to the end.
        line_with(&mut out, &serde_json::json!({"probe": 0, "type": "site"}), "probe", &probe).unwrap();
        line_with(&mut out, &serde_json::json!({}), "probe", &serde_json::json!(null)).unwrap();
        line_with(&mut out, &serde_json::json!([1]), "probe", &probe).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"type\":\"site\",\"id\":\"a\",\"probe\":{\"x\":1}}\n{\"type\":\"site\",\"probe\":{\"x\":1}}\n{\"probe\":null}\n[1]\n"
        );
    }
}
