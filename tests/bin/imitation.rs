//! keyhole-imitation: the tests' loopback provider imitation as a program, so
//! that `make bench` measures keyhole-probe against the same server the tests
//! use. Test tooling, not installed.
//!
//! usage: keyhole-imitation KEYS_FILE — accepts the OpenRouter keys in
//! KEYS_FILE (one per line), prints its port, and serves until killed.

#[path = "../util/imitation.rs"]
mod imitation;

use std::io::Write;

fn main() {
    let Some(file) = std::env::args_os().nth(1) else {
        eprintln!("usage: keyhole-imitation KEYS_FILE");
        std::process::exit(2);
    };
    let keys = match std::fs::read_to_string(&file) {
        Ok(t) => t.lines().map(str::to_string).filter(|k| !k.is_empty()).collect(),
        Err(e) => {
            eprintln!("keyhole-imitation: {}: {e}", std::path::Path::new(&file).display());
            std::process::exit(2);
        }
    };
    let im = imitation::Imitation::start_with(keys, None, false);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", im.port);
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
