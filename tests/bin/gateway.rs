//! keyhole-gateway-imitation: the tests' LiteLLM-like gateway imitation as a
//! program, for measuring a two-hop chain probe by hand or in `make bench`.
//! Test tooling, not installed.
//!
//! usage: keyhole-gateway-imitation UPSTREAM_BASE UPSTREAM_KEY KEY… — accepts
//! the KEYs, passes completions on to UPSTREAM_BASE with UPSTREAM_KEY,
//! prints its port, and serves until killed.

#[path = "../util/gateway.rs"]
mod gateway;
#[path = "../util/imitation.rs"]
mod imitation;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: keyhole-gateway-imitation UPSTREAM_BASE UPSTREAM_KEY KEY…");
        std::process::exit(2);
    }
    let keys: Vec<&str> = args[2..].iter().map(String::as_str).collect();
    let gw = gateway::Gateway::start(&keys, &args[0], Some(&args[1]));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", gw.port);
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
