#![no_main]
use keyhole_core::dotenv::{parse, Flavor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for flavor in [Flavor::Python, Flavor::Node] {
        for e in parse(&text, flavor) {
            assert!(e.line >= 1);
            let _ = keyhole_core::secret::Fingerprint::of(e.value.as_bytes(), None);
        }
    }
});
