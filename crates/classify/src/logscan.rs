//! Scanning tool and proxy logs for API-key failures at close to `rg` speed:
//! a literal prefilter runs over large chunks, and only the lines it hits
//! are parsed. Memory stays flat: one chunk buffer, whatever the file size.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, LazyLock};

use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex::Regex;
use serde_json::Value;

use crate::rules::{Body, Table};

/// Bytes per block of work (measured: 512 KiB reads beat 128 KiB and 2 MiB on 1 GiB).
const BLOCK: usize = 512 * 1024;
/// Lines longer than this are cut for parsing (a 10 MB single line stays cheap).
const MAX_LINE: usize = 1024 * 1024;

/// A 4xx or 5xx status near words that announce one, or standing alone: not
/// the digits after a `,` or `.` (a timestamp's milliseconds, `10:01:05,456`
/// or `10:01:05.456Z`, a version).
static STATUS_NEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:Error code:|HTTP/[\d.]+|status(?:_code)?[=: ]+|Error |API Error: |^|[^\d,.])\s*([45]\d\d)\b")
        .expect("re")
});
/// The gateways' relay lines (crates/core/src/provider/), each with its evidence template.
static RELAYS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    keyhole_core::provider::RELAYS.iter().map(|r| (Regex::new(r.pattern).expect("relay pattern"), r.evidence)).collect()
});

pub struct Prefilter {
    ac: AhoCorasick,
    /// Bytes a match can reach past its start, less one: how far a block is read past its end.
    overlap: usize,
}

impl Prefilter {
    pub fn new(table: &Table) -> Prefilter {
        // Pure literals (rule messages and keywords), searched with aho-corasick's
        // SIMD multi-literal search (Teddy): measured 20% faster here than the same
        // set as a regex alternation. A literal containing another adds nothing.
        let lits = table.literals();
        let mut minimal: Vec<&String> =
            lits.iter().filter(|l| !lits.iter().any(|o| o != *l && l.contains(o.as_str()))).collect();
        minimal.sort();
        minimal.dedup();
        let overlap = minimal.iter().map(|l| l.len()).max().unwrap_or(1).saturating_sub(1);
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst) // the kind that gets the SIMD prefilter
            .build(&minimal)
            .expect("prefilter from the rules' literals");
        Prefilter { ac, overlap }
    }

    /// Whether `text` holds one of the literals.
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.find_at(text, 0).is_some()
    }

    /// The first match that starts at or after `from`.
    fn find_at(&self, hay: &[u8], from: usize) -> Option<aho_corasick::Match> {
        self.ac.find(Input::new(hay).range(from..))
    }
}

/// The JSON error inside a log line, if any (also Python's dict repr).
pub fn json_in(line: &str) -> Option<Value> {
    let start = line.find('{')?;
    let end = line.rfind('}')?;
    if end <= start {
        return None;
    }
    let cand = &line[start..=end];
    if let Ok(v) = serde_json::from_str::<Value>(cand) {
        return Some(v);
    }
    // `Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}`
    let py =
        cand.replace('\'', "\"").replace(": None", ": null").replace(": True", ": true").replace(": False", ": false");
    serde_json::from_str(&py).ok()
}

/// One hit: line number, status, body, and the log rule that matched if no JSON did.
pub struct Hit<'a> {
    pub line: u64,
    pub status: Option<u16>,
    pub body: Value,
    pub log_rule: Option<&'a crate::rules::Rule>,
    /// What a gateway's relay line says of this answer (evidence, in words).
    pub relayed: Option<String>,
}

fn classify_line<'a>(
    text: &str,
    at: usize,
    table: &'a Table,
) -> (Option<u16>, Value, Option<&'a crate::rules::Rule>, Option<String>) {
    let status = STATUS_NEAR.captures(text).and_then(|c| c[1].parse().ok());
    let group = RELAYS.iter().find_map(|(re, evidence)| re.captures(text).map(|c| evidence.replace("{group}", &c[1])));
    match json_in(text) {
        // A gateway may wrap the upstream error as a string inside its own.
        Some(v) => {
            let inner = Body(&v).error_message().and_then(json_in);
            let body = match inner {
                Some(i) if Body(&i).has_error() => i,
                _ => v,
            };
            (status, body, None, group)
        }
        None => {
            // A long line: its 2000 characters from a little before the match,
            // cut after redaction (docs/records.md#redaction).
            let rules = table.match_log(text);
            let (text, at) = keyhole_core::redact::text_at(text, at);
            let text = text.as_ref();
            let mut from = at.saturating_sub(200).min(text.len().saturating_sub(2000));
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let message = text[from..].trim().chars().take(2000).collect::<String>();
            (status, Value::String(message), rules, group)
        }
    }
}

/// Where a log is read from: by offset, so that blocks can be read and searched
/// in parallel (pread on a file; a slice in tests and fuzzing).
pub trait Source: Sync {
    fn size(&self) -> io::Result<u64>;
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl Source for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

impl Source for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let from = (offset as usize).min(self.len());
        let n = buf.len().min(self.len() - from);
        buf[..n].copy_from_slice(&self[from..from + n]);
        Ok(n)
    }
}

/// A log read whole from standard input (`--log -`).
impl Source for Vec<u8> {
    fn size(&self) -> io::Result<u64> {
        self.as_slice().size()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.as_slice().read_at(buf, offset)
    }
}

/// Fill as much of `buf` from `offset` as the source holds (short only at its end).
fn read_full<S: Source + ?Sized>(src: &S, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// How a scan splits its work.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads; each reads and searches its own blocks.
    pub threads: usize,
    /// Bytes per block (the unit of reading, and each worker's buffer).
    pub block: usize,
    /// Consecutive blocks a worker takes at a time.
    pub turn: usize,
}

impl Default for Options {
    fn default() -> Options {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Options { threads: cpus.min(8), block: BLOCK, turn: 16 }
    }
}

/// The hits of one block, with line numbers relative to the block's first line.
struct BlockOut<'a> {
    newlines: u64,
    hits: Vec<Hit<'a>>,
}

/// Consecutive blocks of one turn; `last` ends the turn.
struct Batch<'a> {
    blocks: Vec<BlockOut<'a>>,
    last: bool,
}

/// A buffer whose start is page-aligned: the kernel copies into an aligned
/// destination several times faster (measured: 4x for a 16-byte offset).
struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> AlignedBuf {
        const PAGE: usize = 4096;
        let storage = vec![0u8; len + PAGE];
        let start = (PAGE - storage.as_ptr() as usize % PAGE) % PAGE;
        AlignedBuf { storage, start, len }
    }
    fn get(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// Scan `src`; call `hit` for every line a rule can match, in file order. The
/// file is cut into blocks that `opts.threads` workers read and search in
/// parallel; the caller's thread puts their hits back in order. A line belongs
/// to the block where its first match starts, so a line that straddles two
/// blocks is reported once. Memory stays flat: one buffer per worker, and at
/// most two blocks' hits queued per worker. The file is scanned up to the size
/// it had when the scan began.
pub fn scan<'a, S: Source + ?Sized>(
    src: &S,
    table: &'a Table,
    pre: &Prefilter,
    opts: Options,
    mut hit: impl FnMut(Hit<'a>) -> io::Result<bool>,
) -> io::Result<u64> {
    let size = src.size()?;
    let block = opts.block.max(1) as u64;
    let blocks = size.div_ceil(block);
    // A worker takes `turn` consecutive blocks at a time and hands their hits
    // over in one message: a hand-over wakes a thread, which costs more than
    // searching a small block (measured: 12% of the time with one per block).
    let turn = opts.turn.max(1) as u64;
    let turns = blocks.div_ceil(turn);
    let threads = (opts.threads.max(1) as u64).min(turns.max(1)) as usize;
    let job = Job { src, size, block, pre, table };
    if threads == 1 {
        // One worker: no thread to start (a small file, -j1).
        let mut buf = AlignedBuf::new(block as usize + pre.overlap);
        let mut emit = InOrder { line_base: 1, hits: 0 };
        let mut failed = None;
        let mut pass_on = |out: BlockOut<'a>| match emit.block(out, &mut hit) {
            Ok(more) => more,
            Err(e) => {
                failed = Some(e);
                false
            }
        };
        for i in 0..blocks {
            let more = match scan_block(&job, i * block, buf.get(), &mut pass_on)? {
                Some(out) => pass_on(out),
                None => false,
            };
            if !more {
                break;
            }
        }
        return match failed {
            Some(e) => Err(e),
            None => Ok(emit.hits),
        };
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut queues = Vec::with_capacity(threads);
        for w in 0..threads {
            let (tx, rx) = mpsc::sync_channel::<io::Result<Batch<'a>>>(2);
            queues.push(rx);
            let stop = &stop;
            s.spawn(move || {
                let mut buf = AlignedBuf::new(block as usize + pre.overlap);
                let mut outbox = Outbox { tx: &tx, blocks: Vec::new(), queued: 0 };
                let mut t = w as u64;
                while t < turns {
                    for i in t * turn..((t + 1) * turn).min(blocks) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let more = match scan_block(&job, i * block, buf.get(), &mut |p| outbox.put(p)) {
                            Ok(Some(out)) => outbox.put(out),
                            Ok(None) => false,
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                false
                            }
                        };
                        if !more {
                            return; // the caller stopped reading, or a read failed
                        }
                    }
                    if !outbox.send(true) {
                        return;
                    }
                    t += threads as u64;
                }
            });
        }
        let mut emit = InOrder { line_base: 1, hits: 0 };
        let result = (|| {
            for t in 0..turns {
                loop {
                    let batch = match queues[(t % threads as u64) as usize].recv() {
                        Ok(batch) => batch?,
                        Err(_) => return Err(io::Error::other("a scanning thread stopped")),
                    };
                    for out in batch.blocks {
                        if !emit.block(out, &mut hit)? {
                            return Ok(emit.hits);
                        }
                    }
                    if batch.last {
                        break;
                    }
                }
            }
            Ok(emit.hits)
        })();
        // Workers blocked on a full queue see it closed and end.
        stop.store(true, Ordering::Relaxed);
        drop(queues);
        result
    })
}

/// Hits handed from a worker to the caller's thread at a time, at most: with
/// two messages queued per worker, memory stays flat even when every line of
/// a log is a failure (measured before: 79 MB with 8 threads).
const HANDOVER: usize = 256;

/// A worker's side of its queue: blocks' hits, sent in batches.
struct Outbox<'q, 'a> {
    tx: &'q mpsc::SyncSender<io::Result<Batch<'a>>>,
    blocks: Vec<BlockOut<'a>>,
    queued: usize,
}

impl<'a> Outbox<'_, 'a> {
    /// Queue a block (or part of one); false when the caller stopped reading.
    fn put(&mut self, out: BlockOut<'a>) -> bool {
        self.queued += out.hits.len();
        self.blocks.push(out);
        self.queued < HANDOVER || self.send(false)
    }

    /// Send what is queued; `last` ends the turn.
    fn send(&mut self, last: bool) -> bool {
        self.queued = 0;
        self.tx.send(Ok(Batch { blocks: std::mem::take(&mut self.blocks), last })).is_ok()
    }
}

/// Blocks' hits passed on in file order, with their line numbers made absolute.
struct InOrder {
    line_base: u64,
    hits: u64,
}

impl InOrder {
    /// Pass on one block's hits; false when the caller wants no more.
    fn block<'a>(&mut self, out: BlockOut<'a>, hit: &mut impl FnMut(Hit<'a>) -> io::Result<bool>) -> io::Result<bool> {
        for mut h in out.hits {
            h.line += self.line_base;
            self.hits += 1;
            if !hit(h)? {
                return Ok(false);
            }
        }
        self.line_base += out.newlines;
        Ok(true)
    }
}

/// What every block of one scan shares.
struct Job<'r, 'a, S: ?Sized> {
    src: &'r S,
    size: u64,
    block: u64,
    pre: &'r Prefilter,
    table: &'a Table,
}

impl<S: ?Sized> Clone for Job<'_, '_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S: ?Sized> Copy for Job<'_, '_, S> {}

/// Search block `[a, a + block)`: the matches that start in it, each with its line.
fn scan_block<'a, S: Source + ?Sized>(
    job: &Job<'_, 'a, S>,
    a: u64,
    buf: &mut [u8],
    part: &mut dyn FnMut(BlockOut<'a>) -> bool,
) -> io::Result<Option<BlockOut<'a>>> {
    let Job { src, size, block, pre, table } = *job;
    let b = (a + block).min(size);
    // Read a little past the block, so that a match starting in it is whole.
    let want = ((b + pre.overlap as u64).min(size) - a) as usize;
    let n = read_full(src, &mut buf[..want], a)?;
    let hay = &buf[..n];
    let own = ((b - a) as usize).min(n); // a shorter read: the file shrank
    let newlines = memchr::memchr_iter(b'\n', &hay[..own]).count() as u64;
    let mut out = BlockOut { newlines, hits: Vec::new() };
    let (mut pos, mut counted, mut rel) = (0usize, 0usize, 0u64);
    while pos < own {
        let Some(m) = pre.find_at(hay, pos) else { break };
        let ms = m.start();
        if ms >= own {
            break;
        }
        let line_end = memchr::memchr(b'\n', &hay[ms..]).map(|i| ms + i);
        let line_start = match memchr::memrchr(b'\n', &hay[..ms]) {
            Some(i) => a + i as u64 + 1,
            None if a == 0 => 0,
            None => match began_before(src, a, hay, pre)? {
                // The block that holds this line's first match reports it.
                (_, true) => match line_end {
                    Some(e) => {
                        pos = e + 1;
                        continue;
                    }
                    None => break,
                },
                (start, false) => start,
            },
        };
        // The text to classify: the line, or a window around the match in a huge line.
        let at = a + ms as u64;
        let from = line_start.max(at.saturating_sub(MAX_LINE as u64 / 2));
        let to = match line_end {
            Some(e) => (a + e as u64).min(from + MAX_LINE as u64),
            None => (from + MAX_LINE as u64).min(size),
        };
        let text = if from >= a && to <= a + n as u64 {
            String::from_utf8_lossy(&hay[(from - a) as usize..(to - a) as usize]).into_owned()
        } else {
            let mut span = vec![0u8; (to - from) as usize];
            let got = read_full(src, &mut span, from)?;
            span.truncate(got);
            if line_end.is_none() {
                // The line ends somewhere past the buffer: cut it there.
                let skip = (at - from) as usize;
                if let Some(i) = memchr::memchr(b'\n', span.get(skip..).unwrap_or_default()) {
                    span.truncate(skip + i);
                }
            }
            String::from_utf8_lossy(&span).into_owned()
        };
        rel += memchr::memchr_iter(b'\n', &hay[counted..ms]).count() as u64;
        counted = ms;
        let (status, body, log_rule, relayed) = classify_line(&text, (at - from) as usize, table);
        out.hits.push(Hit { line: rel, status, body, log_rule, relayed });
        // A block of nothing but failures: hand its hits over in parts.
        if out.hits.len() >= HANDOVER && !part(BlockOut { newlines: 0, hits: std::mem::take(&mut out.hits) }) {
            return Ok(None);
        }
        match line_end {
            Some(e) => pos = e + 1,
            None => break, // the line runs past this block: nothing else starts here
        }
    }
    Ok(Some(out))
}

/// For a match in the first line of block `a`, which began in an earlier block:
/// where that line starts (at most MAX_LINE/2 back) and whether a match starts
/// in it before `a` (then an earlier block reported the line).
fn began_before<S: Source + ?Sized>(src: &S, a: u64, hay: &[u8], pre: &Prefilter) -> io::Result<(u64, bool)> {
    // Read back in growing steps: lines are short, the cap is rarely reached.
    let cap = a.min(MAX_LINE as u64 / 2);
    let mut back = cap.min(4096);
    let (mut tail, cut) = loop {
        let mut tail = vec![0u8; back as usize];
        let got = read_full(src, &mut tail, a - back)?;
        tail.truncate(got);
        match memchr::memrchr(b'\n', &tail) {
            Some(i) => break (tail, i + 1),
            None if back == cap => break (tail, 0),
            None => back = cap.min(back * 8),
        }
    };
    let before = tail.len() - cut;
    let mut joined = tail.split_off(cut);
    joined.extend_from_slice(&hay[..pre.overlap.min(hay.len())]);
    let earlier = pre.find_at(&joined, 0).is_some_and(|m| m.start() < before);
    Ok((a - before as u64, earlier))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_and_their_numbers_across_chunks() {
        let table = Table::load(None).unwrap();
        let pre = Prefilter::new(&table);
        let mut log = String::new();
        for i in 0..200_000 {
            log.push_str(&format!("2026-11-23 info request {i} ok\n"));
            if i == 150_000 {
                log.push_str("litellm.AuthenticationError: AuthenticationError: OpenrouterException - {\"error\": {\"message\": \"Missing Authentication header\", \"code\": 401}}\n");
            }
        }
        let mut found = Vec::new();
        scan(log.as_bytes(), &table, &pre, Options::default(), |h| {
            found.push((h.line, h.status, h.body["error"]["message"].as_str().map(str::to_string)));
            Ok(true)
        })
        .unwrap();
        assert_eq!(found, vec![(150_002, Some(401), Some("Missing Authentication header".into()))]);
    }

    /// What the block scanner must equal: every line with a match, numbered.
    fn reference(log: &[u8], pre: &Prefilter) -> Vec<(u64, String)> {
        log.split(|&c| c == b'\n')
            .enumerate()
            .filter(|(_, l)| pre.is_match(l))
            .map(|(i, l)| (i as u64 + 1, String::from_utf8_lossy(l).trim().chars().take(2000).collect()))
            .collect()
    }

    #[test]
    fn blocks_and_threads_change_nothing() {
        let table = Table::load(None).unwrap();
        let pre = Prefilter::new(&table);
        // Lines of every length, failures at every offset, some lines with two.
        let mut log = Vec::new();
        let mut seed = 7u64;
        for i in 0..3000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pad = "x".repeat((seed >> 33) as usize % 300);
            match (seed >> 20) % 7 {
                0 => log.extend(format!("{pad} Missing Authentication header {i}\n").bytes()),
                1 => log.extend(format!("User not found. {pad} Provider returned error\n").bytes()),
                2 => log.extend(b"\n"),
                _ => log.extend(format!("INFO ok {i} {pad}\n").bytes()),
            }
        }
        log.extend(b"Provider returned error without a newline");
        assert!(reference(&log, &pre).len() > 500);
        // Tiny blocks cost a thread hand-over each: they get the log's last 20 KB.
        let tail = &log[log.len() - 20_000..];
        // Every line a failure: blocks hand their hits over in parts.
        let dense = "User not found.\n".repeat(5 * HANDOVER).into_bytes();
        for (threads, block, turn, log) in [
            (2, 1 << 16, 3, &dense[..]),
            (1, 1 << 16, 3, &dense[..]),
            (1, 1, 1, tail),
            (2, 7, 3, tail),
            (2, 64, 1, &log[..]),
            (3, 100, 16, &log[..]),
            (4, 4096, 5, &log[..]),
            (2, 1 << 20, 16, &log[..]),
        ] {
            let want = reference(log, &pre);
            let mut got = Vec::new();
            scan(log, &table, &pre, Options { threads, block, turn }, |h| {
                got.push((h.line, h.body.as_str().unwrap_or_default().to_string()));
                Ok(true)
            })
            .unwrap();
            assert_eq!(got, want, "threads {threads}, block {block}, turn {turn}");
        }
    }

    #[test]
    fn stopping_early_ends_the_workers() {
        let table = Table::load(None).unwrap();
        let pre = Prefilter::new(&table);
        let log = "User not found.\n".repeat(100_000);
        let mut n = 0;
        let hits = scan(log.as_bytes(), &table, &pre, Options { threads: 4, block: 1000, turn: 2 }, |_| {
            n += 1;
            Ok(n < 3)
        })
        .unwrap();
        assert_eq!((hits, n), (3, 3));
    }

    #[test]
    fn a_huge_line_is_cut_around_its_match() {
        let table = Table::load(None).unwrap();
        let pre = Prefilter::new(&table);
        let mut log = "a".repeat(3 * MAX_LINE);
        log.push_str(" Missing Authentication header ");
        log.push_str(&"b".repeat(3 * MAX_LINE));
        log.push_str("\nnext\n");
        let mut got = Vec::new();
        scan(log.as_bytes(), &table, &pre, Options { threads: 2, block: 64 * 1024, turn: 1 }, |h| {
            got.push((h.line, h.body.as_str().map(|t| (t.contains("Missing Authentication"), t.len()))));
            Ok(true)
        })
        .unwrap();
        assert_eq!(got, vec![(1, Some((true, 2000)))]);
    }

    #[test]
    fn python_dict_repr() {
        let v = json_in("Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}").unwrap();
        assert_eq!(v["error"]["message"], "User not found.");
    }
}
