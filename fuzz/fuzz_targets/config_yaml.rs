#![no_main]
use libfuzzer_sys::fuzz_target;

// YAML → the positioned tree, then every catalogued tool's extractor on it.
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(node) = keyhole_core::doc::parse_yaml(text) {
            for t in keyhole_core::tool::TOOLS {
                let path = std::path::Path::new("/nonexistent/fuzz/config");
                let ctx = keyhole_core::tool::FileCtx::new(path, std::path::Path::new("/nonexistent/fuzz"), t);
                let _ = (t.extract)(&ctx, &keyhole_core::tool::Parsed::Doc(&node));
            }
        }
    }
});
