#![no_main]
use keyhole_core::jsonl::{InputItem, JsonlReader};
use libfuzzer_sys::fuzz_target;

// Every line is a record or an error record that names its line; never a panic.
fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    for item in JsonlReader::new(data, "fuzz") {
        match item.expect("reading from memory cannot fail") {
            InputItem::Record(v) => assert!(v["type"].is_string()),
            InputItem::Bad(e) => {
                let n = e.input_line.expect("bad lines name their line");
                assert!(n > last);
                last = n;
            }
        }
    }
});
