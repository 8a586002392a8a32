//! A loopback imitation of OpenRouter's account endpoints (docs/records.md#account-state):
//! `GET /api/v1/key` and `GET /api/v1/credits` answer what a key's account
//! holds, and `POST /api/v1/chat/completions` answers what that account can
//! do — a canary's 4-character tag chooses the account. It counts the
//! requests per path (the credentials it saw stay in memory, never printed).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use keyhole_core::provider;

/// One account: what `/key` and `/credits` answer for its key.
#[derive(Clone, Copy, Debug)]
pub struct AccountState {
    pub tag: &'static str,
    /// `/key`'s `data` object.
    pub key: &'static str,
    /// `/credits`' `data` object (`None`: 403 management keys only, as documented).
    pub credits: Option<&'static str>,
}

/// The key's own limit is used up (limit_remaining 0).
pub const KEY_LIMIT: AccountState = AccountState {
    tag: "0a11",
    key: r#"{"label":"sk-or-v1-c...0a11","limit":10,"limit_remaining":0,"limit_reset":"monthly","usage":10,"usage_daily":0.4,"is_free_tier":false,"is_management_key":false,"rate_limit":{"requests":-1,"interval":"10s"}}"#,
    credits: Some(r#"{"total_credits":50,"total_usage":31.25}"#),
};

/// Paid before, balance used up: total_usage equals total_credits.
pub const NO_CREDITS: AccountState = AccountState {
    tag: "ba10",
    key: r#"{"label":"sk-or-v1-c...ba10","limit":null,"limit_remaining":null,"limit_reset":null,"usage":20,"is_free_tier":false,"is_management_key":false,"rate_limit":{"requests":-1,"interval":"10s"}}"#,
    credits: Some(r#"{"total_credits":20,"total_usage":20}"#),
};

/// Never paid: the free tier, with its daily free-model requests.
pub const FREE_TIER: AccountState = AccountState {
    tag: "f4ee",
    key: r#"{"label":"sk-or-v1-c...f4ee","limit":null,"limit_remaining":null,"limit_reset":null,"usage":0,"is_free_tier":true,"is_management_key":false,"free_model_daily_requests":{"limit":50,"remaining":42,"used":8},"rate_limit":{"requests":-1,"interval":"10s"}}"#,
    credits: Some(r#"{"total_credits":0,"total_usage":0}"#),
};

/// Healthy: no key limit, credits left.
pub const HEALTHY: AccountState = AccountState {
    tag: "600d",
    key: r#"{"label":"sk-or-v1-c...600d","limit":null,"limit_remaining":null,"limit_reset":null,"usage":3.2,"is_free_tier":false,"is_management_key":false,"rate_limit":{"requests":-1,"interval":"10s"}}"#,
    credits: Some(r#"{"total_credits":20,"total_usage":3.2}"#),
};

/// A little left: 0.40 of 10.
pub const LOW: AccountState = AccountState {
    tag: "10e1",
    key: r#"{"label":"sk-or-v1-c...10e1","limit":null,"limit_remaining":null,"limit_reset":null,"usage":9.6,"is_free_tier":false,"is_management_key":false,"rate_limit":{"requests":-1,"interval":"10s"}}"#,
    credits: Some(r#"{"total_credits":10,"total_usage":9.6}"#),
};

/// A funded inference key whose `/credits` answers zeros (the quirk of
/// docs/records.md#account-state): not an empty account.
pub const ZEROS: AccountState = AccountState {
    tag: "2e60",
    key: r#"{"label":"sk-or-v1-c...2e60","limit":null,"limit_remaining":null,"limit_reset":null,"usage":41.5,"is_free_tier":false,"is_management_key":false,"rate_limit":{"requests":-1,"interval":"10s"}}"#,
    credits: Some(r#"{"total_credits":0,"total_usage":0}"#),
};

/// A healthy key that a test holds where the tool does not read it (an alternative).
pub const ALT: AccountState = AccountState { tag: "a17e", ..HEALTHY };

pub const ALL: [AccountState; 7] = [KEY_LIMIT, NO_CREDITS, FREE_TIER, HEALTHY, LOW, ZEROS, ALT];

pub struct AccountImitation {
    pub port: u16,
    /// Requests by path (query cut), in arrival order.
    pub seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl AccountImitation {
    pub fn start() -> AccountImitation {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let seen = s2.clone();
                thread::spawn(move || {
                    let Ok(read_half) = conn.try_clone() else { return };
                    let mut r = BufReader::new(read_half);
                    while handle(&mut r, &conn, &seen) {}
                });
            }
        });
        AccountImitation { port, seen }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.port)
    }

    /// How many requests each `METHOD path` got.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for (method, path) in self.seen.lock().unwrap().iter() {
            *m.entry(format!("{method} {path}")).or_default() += 1;
        }
        m
    }
}

fn reply(mut c: &TcpStream, status: u16, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncache-control: private, no-store\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let _ = c.write_all(head.as_bytes());
    let _ = c.write_all(body.as_bytes());
}

fn error(c: &TcpStream, id: &str) {
    let a = provider::answer(id).unwrap_or_else(|| panic!("no provider answer {id}"));
    reply(c, a.status, &a.render(""));
}

fn handle(r: &mut BufReader<TcpStream>, c: &TcpStream, seen: &Mutex<Vec<(String, String)>>) -> bool {
    let Some((req, body, _)) = super::imitation::read_request(r) else { return false };
    let (method, path) = (req.method.clone(), req.route().to_string());
    let (auth, close) = (req.header("authorization").map(str::to_string), req.wants_close());
    seen.lock().unwrap().push((method.clone(), path.clone()));
    let key = auth.as_deref().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    let state = (key.len() == 73).then(|| ALL.iter().find(|s| key.ends_with(s.tag))).flatten();
    let Some(st) = state else {
        match auth {
            None => error(c, "openrouter.no-credentials"),
            Some(_) if key.starts_with("sk-or-v1-") => error(c, "openrouter.user-not-found"),
            Some(_) => error(c, "openrouter.missing-auth"),
        }
        return !close;
    };
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/v1/key") => reply(c, 200, &format!(r#"{{"data":{}}}"#, st.key)),
        ("GET", "/api/v1/credits") => match st.credits {
            Some(d) => reply(c, 200, &format!(r#"{{"data":{d}}}"#)),
            None => {
                reply(c, 403, r#"{"error":{"code":403,"message":"Only management keys can perform this operation"}}"#)
            }
        },
        ("POST", "/api/v1/chat/completions") => {
            let text = String::from_utf8_lossy(&body);
            let free_model = text.contains(":free\"");
            if text.contains("nonexistent/") {
                error(c, "openrouter.invalid-model")
            } else if st.tag == KEY_LIMIT.tag {
                error(c, "openrouter.key-limit")
            } else if st.tag == NO_CREDITS.tag || (st.tag == FREE_TIER.tag && !free_model) {
                error(c, "openrouter.credits")
            } else {
                reply(
                    c,
                    200,
                    r#"{"id":"gen-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"p"},"finish_reason":"length"}]}"#,
                )
            }
        }
        _ => error(c, "openrouter.not-found"),
    }
    !close
}
