#![no_main]
use std::sync::LazyLock;

use keyhole_classify::logscan::{scan, Prefilter};
use keyhole_classify::rules::Table;
use libfuzzer_sys::fuzz_target;

static TABLE: LazyLock<Table> = LazyLock::new(|| Table::load(None).expect("embedded rules"));
static PRE: LazyLock<Prefilter> = LazyLock::new(|| Prefilter::new(&TABLE));

fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    scan(data, &TABLE, &PRE, |h| {
        assert!(h.line > last, "line numbers increase");
        last = h.line;
        Ok(true)
    })
    .expect("scanning memory cannot fail");
});
