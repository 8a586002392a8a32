//! A loopback API for tests/requests.rs that reads credential headers the
//! way the providers do (docs/wire.md#providers): Anthropic's routes read
//! `x-api-key` first and `Authorization: Bearer` only without it; Azure
//! OpenAI's read `api-key`, API Management's `Ocp-Apim-Subscription-Key`;
//! Gemini's native routes `x-goog-api-key`, its OpenAI-compatible ones a
//! Bearer key. Error bodies come from the provider files. Every request is
//! recorded (method, path with its query, headers), never printed.
#![allow(dead_code)]

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use keyhole_core::provider;

pub use super::imitation::Seen;

pub struct Api {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Api {
    /// `known`: the keys this API accepts, in whichever header it reads.
    pub fn start(known: &[&str]) -> Api {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s2, keys) = (seen.clone(), Arc::new(known.iter().map(|k| k.to_string()).collect::<Vec<_>>()));
        thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (seen, keys) = (s2.clone(), keys.clone());
                thread::spawn(move || {
                    let Ok(r) = c.try_clone() else { return };
                    let mut r = BufReader::new(r);
                    while let Some(s) = read_request(&mut r) {
                        seen.lock().unwrap().push(s.clone());
                        let (status, body) = answer(&s, &keys);
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        if (&c).write_all(head.as_bytes()).and_then(|_| (&c).write_all(body.as_bytes())).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Api { port, seen }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Seen> {
    super::imitation::read_request(r).map(|(s, _, _)| s)
}

fn body(id: &str) -> (u16, String) {
    let a = provider::answer(id).unwrap_or_else(|| panic!("no answer {id}"));
    (a.status, a.render(""))
}

const OK: &str = r#"{"object":"list","data":[]}"#;

fn answer(s: &Seen, keys: &[String]) -> (u16, String) {
    let known = |v: Option<&str>| v.is_some_and(|v| keys.iter().any(|k| k == v));
    let bearer = s.header("authorization").and_then(|a| a.strip_prefix("Bearer "));
    let path = s.path.split('?').next().unwrap_or("");
    let ok = || (200, OK.to_string());
    if path.contains("/openai/") && s.path.contains("api-version=") {
        // Azure OpenAI, behind API Management when the path has a prefix before /openai/.
        let apim = !path.starts_with("/openai/");
        let key =
            if apim { s.header("ocp-apim-subscription-key").or(s.header("api-key")) } else { s.header("api-key") };
        return match key {
            _ if known(key) => ok(),
            None if apim => body("azure-apim.no-key"),
            _ if apim => body("azure-apim.invalid-key"),
            _ => body("azure.invalid-key"),
        };
    }
    if path.starts_with("/v1beta/openai/") {
        return if known(bearer) { ok() } else { body("gemini.invalid-key") };
    }
    if path.starts_with("/v1beta/") {
        return match s.header("x-goog-api-key") {
            k if known(k) => ok(),
            Some(_) => body("gemini.invalid-key"),
            None => body("gemini.no-key"),
        };
    }
    if path.ends_with("/v1/models") || path.ends_with("/v1/messages") {
        if s.header("anthropic-version").is_none() {
            return body("anthropic.no-version");
        }
        // x-api-key is validated first (docs/wire.md#anthropic).
        return match (s.header("x-api-key"), bearer) {
            (Some(k), _) if known(Some(k)) => ok(),
            (Some(_), _) => body("anthropic.invalid-key"),
            (None, b) if known(b) => ok(),
            (None, Some(_)) => body("anthropic.invalid-bearer"),
            (None, None) => body("anthropic.no-key"),
        };
    }
    body("openrouter.not-found")
}
