#![no_main]
use keyhole_core::shell::Dialect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for d in [Dialect::Posix, Dialect::Fish] {
        let _ = keyhole_core::startup::analyze(&text, d);
        let _ = keyhole_core::shell::assignments(&text, d);
    }
});
