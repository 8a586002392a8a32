#![no_main]
//! The redaction boundary (docs/records.md#redaction): a canary key put
//! anywhere in arbitrary text never survives — not in free text, not in a
//! record's string or member name, not in words for a terminal, not in a
//! note, not in a window cut after redaction.
use keyhole_core::redact;
use libfuzzer_sys::fuzz_target;

/// One key of each shape keyhole knows; low-entropy bodies, so that no
/// secret scanner takes this file for a leak.
const CANARIES: &[(&str, &str)] = &[
    ("sk-or-v1-", "ccccccccccccccc1ccccccccccccccc1ccccccccccccccc1ccccccccccccccc1"),
    ("sk-proj-", "abcdefghij0123456789ABCDEFGHIJccccccccccccccc1ghij"),
    ("sk-ant-api03-", "ABCDEFGHIJccccccccccccccc1ghij0123456789-_ABCDEFGH"),
    ("AIza", "SyAccccccccccccccc1ghijklmnopqrstu"),
    ("gsk_", "ccccccccccccccc1ghijABCDEFGHIJccccccccccccccc1ghij01"),
    ("xai-", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP"),
    ("pplx-", "ccccccccccccccc1ghijABCDEFGHIJccccccccccccccc1gh"),
    ("", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
    ("hf_", "abcdefghijABCDEFGHIJabcdefghijABCD"),
];

/// No 12-character piece of the canary's body is in `out` unless the
/// surrounding text holds it itself.
fn check(what: &str, out: &str, body: &str, text: &str) {
    let b: Vec<char> = body.chars().collect();
    for w in b.windows(12) {
        let piece: String = w.iter().collect();
        if out.contains(&piece) && !text.contains(&piece) {
            panic!("{what}: {piece:?} of the canary survives in {out:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (prefix, body) = CANARIES[usize::from(data[0]) % CANARIES.len()];
    let text = String::from_utf8_lossy(&data[2..]).into_owned();
    let mut at = usize::from(data[1]) * text.len() / 255;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    // A key of no prefix (Azure's 32 hex digits) is a key only as a word of
    // its own; every other shape anywhere, glued to anything.
    let canary = if prefix.is_empty() { format!(" {body} ") } else { format!("{prefix}{body}") };
    let s = format!("{}{canary}{}", &text[..at], &text[at..]);

    check("text", &redact::text(&s), body, &text);
    check("words", &redact::words(&s, true), body, &text);
    check("human", &redact::human(&s), body, &text);
    let (cut, pos) = redact::text_at(&s, at);
    assert!(cut.is_char_boundary(pos.min(cut.len())));
    check("text_at", &cut, body, &text);

    // A record: the text as a value under a plain, a credential and a
    // credential-text name, and as a member name.
    let mut rec = serde_json::Map::new();
    for k in ["type", "message", "api_key", "text"] {
        rec.insert(k.into(), s.clone().into());
    }
    rec.insert(s.clone(), 1.into());
    let rec = serde_json::Value::Object(rec);
    let mut buf = Vec::new();
    redact::to_writer(&mut buf, &rec).expect("a record serializes");
    let back: serde_json::Value = serde_json::from_slice(&buf).expect("the boundary writes JSON");
    let mut strings = Vec::new();
    fn all(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| all(x, out)),
            serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
                out.push(k.clone());
                all(x, out)
            }),
            _ => {}
        }
    }
    all(&back, &mut strings);
    for x in &strings {
        check("record", x, body, &text);
    }
    let mut v = rec;
    redact::value(&mut v);
    let mut strings = Vec::new();
    all(&v, &mut strings);
    for x in &strings {
        check("value", x, body, &text);
    }
});
