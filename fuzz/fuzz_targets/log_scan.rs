#![no_main]
use keyhole_classify::logscan::{scan, Prefilter};
use keyhole_classify::rules::Table;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let table = Table::load(None).expect("embedded rules");
    let pre = Prefilter::new(&table);
    let mut last = 0;
    scan(data, &table, &pre, |h| {
        assert!(h.line > last, "line numbers increase");
        last = h.line;
        Ok(true)
    })
    .expect("scanning memory cannot fail");
});
