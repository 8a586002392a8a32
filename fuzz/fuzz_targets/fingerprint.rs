#![no_main]
use keyhole_core::secret::Fingerprint;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

// Never panics; never holds more of the key than prefix and last 4 (its
// `text` is never key-shaped); sha8 and last4 equal their plain
// definitions (docs/records.md#fingerprints).
fuzz_target!(|data: &[u8]| {
    let sha8: String = Sha256::digest(data)[..4].iter().map(|b| format!("{b:02x}")).collect();
    let chars: Vec<char> = String::from_utf8_lossy(data).chars().collect();
    let last4: String =
        if data.len() >= 20 && chars.len() >= 4 { chars[chars.len() - 4..].iter().collect() } else { String::new() };
    for p in keyhole_core::provider::PROVIDERS.iter().take(4) {
        let fp = Fingerprint::of(data, Some(p));
        assert_eq!(fp.len, data.len());
        assert_eq!(fp.last4, last4);
        assert_eq!(fp.sha8, sha8);
        // The value is written out only when it is no secret: never in a
        // key's shape, and only as a piece of what was found.
        if let Some(t) = &fp.text {
            assert!(!keyhole_core::provider::KEY_SHAPES.is_match(t), "{t:?}");
            assert!(String::from_utf8_lossy(data).contains(t.as_str()), "{t:?}");
        }
    }
});
