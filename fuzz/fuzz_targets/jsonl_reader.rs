#![no_main]
use keyhole_core::jsonl::{line_with, parse_line, InputItem, JsonlReader};
use libfuzzer_sys::fuzz_target;

// Every line is a record or an error record that names its line; never a
// panic. Reading raw lines and parsing them apart (as keyhole-probe does on
// several threads) gives the same items; a record written with a field
// appended reads back as that record with the field.
fuzz_target!(|data: &[u8]| {
    let mut last = 0;
    let whole: Vec<InputItem> = JsonlReader::new(data, "fuzz").map(|i| i.expect("memory cannot fail")).collect();
    for item in &whole {
        match item {
            InputItem::Record(v) => assert!(v["type"].is_string()),
            InputItem::Bad(bad) => {
                // Read as written (the record type may be boxed or not).
                let e = serde_json::to_value(bad).expect("records serialize");
                assert_eq!(e["type"], "error", "a bad line becomes an error record: {e}");
                let n = e["input_line"].as_u64().expect("bad lines name their line");
                assert!(n > last);
                last = n;
            }
        }
    }
    let mut raw = JsonlReader::new(data, "fuzz");
    let mut apart = Vec::new();
    while let Some((n, line)) = raw.next_line() {
        apart.push(parse_line(&line, "fuzz", n));
    }
    assert_eq!(format!("{whole:?}"), format!("{apart:?}"));
    for item in &whole {
        if let InputItem::Record(v) = item {
            let mut out = Vec::new();
            line_with(&mut out, v, "probe", &serde_json::json!({"x": 1})).unwrap();
            let mut back: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(back["probe"], serde_json::json!({"x": 1}));
            let mut want = v.clone();
            want.as_object_mut().unwrap().shift_remove("probe");
            back.as_object_mut().unwrap().shift_remove("probe");
            assert_eq!(back, want);
        }
    }
});
