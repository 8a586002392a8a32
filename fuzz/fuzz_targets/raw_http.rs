#![no_main]
use std::sync::LazyLock;

use keyhole_classify::rules::Table;
use libfuzzer_sys::fuzz_target;

// Built once: parsing the rules on every input would leave no time to fuzz.
static TABLE: LazyLock<Table> = LazyLock::new(|| Table::load(None).expect("embedded rules"));

fuzz_target!(|data: &[u8]| {
    for r in keyhole_classify::rawhttp::parse(data) {
        let _ = keyhole_classify::response_record("fuzz", r.line, Some(r.status), r.body, &TABLE, None, None);
    }
});
