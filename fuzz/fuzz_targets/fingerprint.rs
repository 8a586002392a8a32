#![no_main]
use keyhole_core::secret::Fingerprint;
use libfuzzer_sys::fuzz_target;

// Never panics; never holds more of the key than prefix and last 4.
fuzz_target!(|data: &[u8]| {
    for p in keyhole_core::provider::PROVIDERS.iter().take(4) {
        let fp = Fingerprint::of(data, Some(p));
        assert_eq!(fp.len, data.len());
        assert!(fp.last4.chars().count() <= 4);
        assert_eq!(fp.sha8.len(), 8);
    }
});
