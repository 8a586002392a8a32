#![no_main]
use keyhole_core::record::Record;
use keyhole_core::stage::{self, Ctx, Stage};
use libfuzzer_sys::fuzz_target;

/// The name the driver's own error records carry (an input line is unlikely to forge it).
const DRIVER: &str = "keyhole-fuzz-driver";

/// A stage that changes nothing: what comes out is what the driver read.
struct Pass;
impl Stage for Pass {
    fn apply(&self, _: &mut Record, _: &Ctx) {}
}

// Through the stream driver every line is a record or an error record that
// names its line, in input order; never a panic. A record read and written
// again reads back as the same record (unknown fields kept).
fuzz_target!(|data: &[u8]| {
    let ctx = Ctx::new(DRIVER);
    let mut out = Vec::new();
    stage::run_on(&Pass, data, &mut out, &ctx).expect("memory cannot fail");
    let mut last = 0;
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let r = Record::from_json(std::str::from_utf8(line).expect("output is UTF-8"))
            .unwrap_or_else(|e| panic!("output line does not read back: {}", e.0));
        if let Record::Error(e) = &r {
            if e.tool == DRIVER {
                let n = e.input_line.expect("bad lines name their line");
                assert!(n > last);
                last = n;
            }
        }
        let again = serde_json::to_vec(&r).expect("records serialize");
        assert_eq!(Record::from_json(std::str::from_utf8(&again).unwrap()).ok(), Some(r));
    }
});
