#![no_main]
use std::sync::LazyLock;

use keyhole_classify::logscan::{scan, Options, Prefilter};
use keyhole_classify::rules::Table;
use libfuzzer_sys::fuzz_target;

static TABLE: LazyLock<Table> = LazyLock::new(|| Table::load(None).expect("embedded rules"));
static PRE: LazyLock<Prefilter> = LazyLock::new(|| Prefilter::new(&TABLE));

fuzz_target!(|data: &[u8]| {
    // Small blocks: the boundary logic gets exercised, and must find exactly
    // the lines a plain line-by-line search finds. One thread: the unit tests
    // cover the hand-over between threads, and spawning them here made the
    // target ~50x slower (and LeakSanitizer flags glibc's thread-exit list).
    let block = 1 + data.first().copied().unwrap_or(0) as usize;
    let want: Vec<u64> =
        data.split(|&c| c == b'\n').enumerate().filter(|(_, l)| PRE.is_match(l)).map(|(i, _)| i as u64 + 1).collect();
    let mut got = Vec::new();
    scan(data, &TABLE, &PRE, Options { threads: 1, block, turn: 2 }, |h| {
        got.push(h.line);
        Ok(true)
    })
    .expect("scanning memory cannot fail");
    assert_eq!(got, want);
});
