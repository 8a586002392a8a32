#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let table = keyhole_classify::rules::Table::load(None).expect("embedded rules");
    for r in keyhole_classify::rawhttp::parse(data) {
        let _ = keyhole_classify::response_record("fuzz", r.line, Some(r.status), r.body, &table, None, None);
    }
});
