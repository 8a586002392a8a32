//! One stage interface and one stream driver for every keyhole filter
//! (docs/README.md#design). The driver reads JSON lines, turns each into a
//! typed [`Record`] (a bad line into an `error` record), hands the stage a
//! batch of the lines that are ready, writes and flushes what comes out,
//! treats a closed reader as success, and derives the exit status from the
//! worst record. `keyhole doctor` calls the same stages on records in memory.

use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::jsonl::{note, too_many_values, JsonlReader, JsonlWriter, MAX_LINE, MAX_VALUES, OVER_LONG};
use crate::record::{ErrorRecord, Record};
use crate::Status;

/// At most this many lines are handed to a stage at once.
pub const MAX_BATCH: usize = 1024;
/// A batch also ends once its lines add up to this many bytes (a thousand
/// lines near [`MAX_LINE`] are not held at once).
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// What a run shares with its stages: the notes for people (said on stderr
/// at the end, once each) and the worst status so far.
#[derive(Debug)]
pub struct Ctx {
    tool: &'static str,
    status: Mutex<Status>,
    notes: Mutex<Vec<String>>,
}

impl Ctx {
    pub fn new(tool: &'static str) -> Self {
        Ctx { tool, status: Mutex::new(Status::Ok), notes: Mutex::new(Vec::new()) }
    }
    /// The name of the tool, for notes and error records.
    pub fn tool(&self) -> &'static str {
        self.tool
    }
    /// A message for people (a skipped file, a vanished process).
    pub fn note(&self, msg: impl Into<String>) {
        lock(&self.notes).push(msg.into());
    }
    /// Raise the run's status to at least `s`.
    pub fn raise(&self, s: Status) {
        let mut st = lock(&self.status);
        *st = st.worst(s);
    }
    pub fn status(&self) -> Status {
        *lock(&self.status)
    }
    /// The notes so far, sorted and each once; they are taken out.
    pub fn take_notes(&self) -> Vec<String> {
        let mut n = std::mem::take(&mut *lock(&self.notes));
        n.sort();
        n.dedup();
        n
    }
    /// Say the notes on stderr (unless `quiet`).
    pub fn say_notes(&self, quiet: bool) {
        let notes = self.take_notes();
        if !quiet {
            for n in notes {
                note(self.tool, n);
            }
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the
/// data (notes, a status) is still good.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One input line: its 1-based number and its bytes.
pub type Line = (u64, Vec<u8>);

/// A filter over records. Records it has nothing to do with pass through
/// unchanged; it never drops one.
pub trait Stage: Sync {
    /// Work on one record in place.
    fn apply(&self, record: &mut Record, ctx: &Ctx);

    /// Work on records read together, in input order (a stage that can work
    /// on several at once, such as the probe, overrides this).
    fn apply_batch(&self, records: &mut [Record], ctx: &Ctx) {
        for r in records {
            self.apply(r, ctx);
        }
    }

    /// Parse and work on raw lines read together. The default parses them
    /// here; a stage that parses on several threads overrides this.
    fn apply_lines(&self, lines: Vec<Line>, ctx: &Ctx) -> Vec<Record> {
        let mut records: Vec<Record> = lines.iter().map(|(n, l)| parse(l, *n, ctx)).collect();
        self.apply_batch(&mut records, ctx);
        records
    }

    /// What one output record adds to the exit status.
    fn status_of(&self, record: &Record) -> Status {
        let _ = record;
        Status::Ok
    }

    /// What the stage reads, said when standard input is a terminal.
    fn expects(&self) -> Expects {
        Expects::RECORDS
    }
}

/// What a stream tool reads and where it usually comes from, for the one
/// line said when standard input is a terminal (as jq and ripgrep do),
/// instead of waiting in silence (docs/records.md#flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expects {
    /// `site records`, `HTTP answers (curl -si output)`.
    pub what: &'static str,
    /// `keyhole-find's output`.
    pub from: &'static str,
}

impl Expects {
    pub const RECORDS: Expects = Expects { what: "records", from: "another keyhole tool's output" };
}

/// Say on stderr, once, what `tool` reads from standard input when that is
/// a terminal: `keyhole-classify: reading records from stdin (a terminal);
/// pipe keyhole-probe's output in, or see --help`. Then the tool reads.
pub fn hint_if_terminal(tool: &str, expects: Expects) {
    if io::stdin().is_terminal() {
        note(
            tool,
            format!("reading {} from stdin (a terminal); pipe {} in, or see --help", expects.what, expects.from),
        );
    }
}

/// Line `n` as a record; a line that is not one becomes an `error` record
/// naming the line, and the run's status becomes 2.
pub fn parse(line: &[u8], n: u64, ctx: &Ctx) -> Record {
    if line == OVER_LONG {
        return bad(ctx, n, format!("input line {n} is longer than {} MiB; skipped", MAX_LINE >> 20));
    }
    if too_many_values(line) {
        return bad(ctx, n, format!("input line {n} holds more than {MAX_VALUES} JSON values; skipped"));
    }
    let text = match std::str::from_utf8(line) {
        Ok(t) => t.trim(),
        Err(e) => {
            return bad(ctx, n, format!("input line {n} is not valid UTF-8 (at byte {}); skipped", e.valid_up_to()))
        }
    };
    match Record::from_json(text) {
        Ok(r) => r,
        Err(e) => bad(ctx, n, format!("input line {n} {}; skipped", e.0)),
    }
}

fn bad(ctx: &Ctx, n: u64, msg: String) -> Record {
    ctx.raise(Status::Failed);
    Record::Error(ErrorRecord::new(ctx.tool, msg).at_input_line(n))
}

/// Whether more input is ready without waiting (then the batch grows).
pub trait Ready {
    fn more_ready(&self) -> bool;
}

/// Run `stage` over standard input to standard output.
pub fn run<S: Stage>(stage: &S, ctx: &Ctx) -> Result<Status> {
    if crate::fsread::stdin_was_read() {
        return Err(Error::usage(format!(
            "standard input was read for a `-` file argument, so the {} cannot come from it too: name that file instead",
            stage.expects().what
        )));
    }
    hint_if_terminal(ctx.tool, stage.expects());
    let mut reader = JsonlReader::stdin(ctx.tool);
    let mut out = Output::stdout();
    let mut ready = |r: &JsonlReader<_>| r.more_ready();
    drive(stage, &mut reader, &mut ready, &mut out, ctx)
}

/// Run `stage` over any reader to any writer (tests, the umbrella).
pub fn run_on<S: Stage, R: BufRead, W: Write>(stage: &S, input: R, output: W, ctx: &Ctx) -> Result<Status> {
    let mut reader = JsonlReader::new(input, ctx.tool);
    let mut out = Output::new(output);
    let mut ready = |_: &JsonlReader<R>| true;
    drive(stage, &mut reader, &mut ready, &mut out, ctx)
}

fn drive<S: Stage, R: BufRead, W: Write>(
    stage: &S,
    reader: &mut JsonlReader<R>,
    ready: &mut dyn FnMut(&JsonlReader<R>) -> bool,
    out: &mut Output<W>,
    ctx: &Ctx,
) -> Result<Status> {
    loop {
        let mut lines = Vec::new();
        let mut bytes = 0;
        while let Some(line) = reader.next_line() {
            bytes += line.1.len();
            lines.push(line);
            if lines.len() >= MAX_BATCH || bytes >= MAX_BATCH_BYTES || !ready(reader) {
                break;
            }
        }
        if lines.is_empty() {
            break;
        }
        // A panic in a stage (a bug) turns its batch into error records naming
        // the lines, and the run's status into 2: never a record lost silently.
        let numbers: Vec<u64> = lines.iter().map(|(n, _)| *n).collect();
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stage.apply_lines(lines, ctx)));
        let records = done.unwrap_or_else(|p| {
            ctx.raise(Status::Failed);
            let why = panic_message(&*p);
            let msg = |n| format!("input line {n} could not be processed (internal error: {why}); skipped");
            numbers.iter().map(|&n| Record::Error(ErrorRecord::new(ctx.tool, msg(n)).at_input_line(n))).collect()
        });
        for r in records {
            ctx.raise(stage.status_of(&r));
            out.buffer(&r)?;
        }
        out.flush()?;
    }
    if reader.read_failed() {
        ctx.raise(Status::Failed);
    }
    Ok(ctx.status())
}

/// What a caught panic said, for an error record (anything shaped like a
/// key removed).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s,
        (_, Some(s)) => s.as_str(),
        _ => "a panic",
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::secret::redact_key_shapes(&one_line).into_owned()
}

/// Records out: one JSON line each, through the redaction boundary (every
/// string and member name, docs/records.md#redaction: no stage can write a
/// key around it), flushed when asked (a batch, or each record when the
/// stage streams), a closed reader reported as
/// [`Kind::BrokenPipe`](crate::error::Kind::BrokenPipe).
pub struct Output<W: Write> {
    w: JsonlWriter<W>,
}

impl Output<io::Stdout> {
    pub fn stdout() -> Self {
        Output::new(io::stdout())
    }
}

impl<W: Write> Output<W> {
    pub fn new(w: W) -> Self {
        Output { w: JsonlWriter::new(w) }
    }
    /// Write one record and flush.
    pub fn write(&mut self, r: &Record) -> Result<()> {
        self.w.write(r).map_err(Error::from)
    }
    /// Write one record without flushing.
    pub fn buffer(&mut self, r: &Record) -> Result<()> {
        self.w.write_buffered(r).map_err(Error::from)
    }
    pub fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(Error::from)
    }
}

/// The status records contribute when each error-severity diagnosis counts
/// as a finding (classify, report, capture).
pub fn findings(records: &[Record]) -> Status {
    if records.iter().any(Record::has_error) {
        Status::Found
    } else {
        Status::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    struct Tag;
    impl Stage for Tag {
        fn apply(&self, r: &mut Record, _: &Ctx) {
            if let Some(s) = r.site_mut() {
                s.extra.insert("tagged".into(), true.into());
            }
        }
    }

    #[test]
    fn the_driver_keeps_order_passes_unknowns_and_names_bad_lines() {
        let input = b"{\"type\":\"mine\",\"a\":1}\nnot json\n\n{\"type\":\"site\"}\n{\"type\":\"x\"}\n";
        let mut out = Vec::new();
        let ctx = Ctx::new("t");
        let st = run_on(&Tag, &input[..], &mut out, &ctx).unwrap();
        assert_eq!(st, Status::Failed);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "{\"type\":\"mine\",\"a\":1}");
        assert!(lines[1].contains("\"input_line\":2") && lines[1].contains("not JSON"), "{}", lines[1]);
        assert!(lines[2].contains("\"input_line\":4") && lines[2].contains("site record"), "{}", lines[2]);
        assert_eq!(lines[3], "{\"type\":\"x\"}");
    }

    #[test]
    fn a_panicking_stage_turns_its_batch_into_error_records() {
        struct Boom;
        impl Stage for Boom {
            fn apply(&self, r: &mut Record, _: &Ctx) {
                if r.kind() == "boom" {
                    panic!("test panic");
                }
            }
        }
        let input = b"{\"type\":\"x\"}\n{\"type\":\"boom\"}\n";
        let mut out = Vec::new();
        let ctx = Ctx::new("t");
        assert_eq!(run_on(&Boom, &input[..], &mut out, &ctx).unwrap(), Status::Failed);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (i, l) in lines.iter().enumerate() {
            assert!(l.contains("\"type\":\"error\"") && l.contains(&format!("\"input_line\":{}", i + 1)), "{l}");
            assert!(l.contains("internal error: test panic"), "{l}");
        }
    }

    #[test]
    fn an_over_long_line_is_an_error_record_and_the_next_line_is_read() {
        let mut input = vec![b'x'; MAX_LINE + 1];
        input.extend(b"\n{\"type\":\"x\"}\n");
        let mut out = Vec::new();
        let ctx = Ctx::new("t");
        assert_eq!(run_on(&Tag, &input[..], &mut out, &ctx).unwrap(), Status::Failed);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("\"input_line\":1") && lines[0].contains("longer than 8 MiB"), "{}", lines[0]);
        assert_eq!(lines[1], "{\"type\":\"x\"}");
    }

    #[test]
    fn a_line_of_too_many_values_is_an_error_record() {
        let input = format!("{{\"type\":\"x\",\"a\":[{}0]}}\n{{\"type\":\"y\"}}\n", "0,".repeat(MAX_VALUES));
        let mut out = Vec::new();
        let ctx = Ctx::new("t");
        assert_eq!(run_on(&Tag, input.as_bytes(), &mut out, &ctx).unwrap(), Status::Failed);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("\"input_line\":1") && lines[0].contains("more than 100000 JSON values"), "{text}");
        assert_eq!(lines[1], "{\"type\":\"y\"}");
    }

    #[test]
    fn a_closed_reader_is_not_a_failure() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let ctx = Ctx::new("t");
        let e = run_on(&Tag, &b"{\"type\":\"x\"}\n"[..], Closed, &ctx).unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::BrokenPipe);
        assert_eq!(e.status(), None);
    }
}
