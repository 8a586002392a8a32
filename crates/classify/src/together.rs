//! A request that carried several credential headers (`site.also`): the API
//! validates one of them, and when that key fails the others are never
//! checked (docs/wire.md#claude-code: Claude Code sends ANTHROPIC_AUTH_TOKEN
//! and ANTHROPIC_API_KEY together; Anthropic and OpenRouter's /messages
//! read x-api-key first).

use keyhole_core::provider::Provider;
use keyhole_core::record::{Code, Diagnosis, Severity, Site};

/// `key.shadowed`: the header the API reads first holds the failing key;
/// the fix takes that credential away (or mends it), in the tool's terms.
/// When the check passed but the headers hold different keys, a warning:
/// the others were never checked, and a route that reads another header
/// first would use one of them.
pub fn reads_first(site: &Site, p: Option<&Provider>) -> Option<Diagnosis> {
    let probe = site.probe.as_ref()?;
    let req = probe.request.as_ref()?;
    let status = probe.status()?;
    let fps: Vec<Option<&str>> = std::iter::once(req.fp.as_ref().map(|f| f.sha8.as_str()))
        .chain(req.also.iter().map(|a| a.fp.as_ref().map(|f| f.sha8.as_str())))
        .collect();
    let passed = (200..300).contains(&status) && fps.iter().any(|f| *f != fps[0]);
    if req.also.is_empty() || !(passed || matches!(status, 401 | 403)) {
        return None;
    }
    let p = p?;
    let sent: Vec<&str> =
        std::iter::once(req.auth_header.as_str()).chain(req.also.iter().map(|a| a.header.as_str())).collect();
    let first = p.validates(&sent)?;
    // Which variable (or place) each header's key came from.
    let own = (site.auth.header.as_str(), site.key.var.clone(), site.env.as_ref());
    let from_also = site.also.iter().map(|a| (a.header.as_str(), a.key.var.clone(), a.env.as_ref()));
    let creds: Vec<_> = std::iter::once(own).chain(from_also).filter(|(h, ..)| sent.contains(h)).collect();
    let (_, failing_var, failing_env) = creds.iter().find(|(h, ..)| *h == first)?;
    // A variable by its name and header; the site's own literal by where it is written.
    let named = |h: &str, v: &Option<String>| match v {
        Some(v) => format!("{v} ({h})"),
        None if h == site.auth.header => format!("the key at {} ({h})", site.at()),
        None => format!("the {h} key"),
    };
    let others: Vec<String> = creds.iter().filter(|(h, ..)| *h != first).map(|(h, v, _)| named(h, v)).collect();
    let name = failing_var.clone().unwrap_or_else(|| named(first, failing_var));
    let tool = keyhole_core::tool::get(&site.tool).map_or(site.tool.as_str(), |t| t.display);
    let mut evidence = vec![format!("{tool} sent {} in one request", sent.join(" and "))];
    let wheres: Vec<String> = failing_env
        .map(|e| e.definitions.iter().map(|d| format!("{}:{}", d.file, d.line)).collect())
        .unwrap_or_default();
    if let Some(eff) = failing_env.and_then(|e| e.effective.as_ref()) {
        evidence.push(format!("{name} comes from {}", eff.from));
    }
    if passed {
        // The key in `first` works; the others differ and went unchecked.
        let unchecked: Vec<&Option<String>> = creds.iter().filter(|(h, ..)| *h != first).map(|(_, v, _)| v).collect();
        let fix = match unchecked.as_slice() {
            [Some(v)] => format!("keep one key: unset {v} unless it holds the same key"),
            _ => "keep one key in one header".to_string(),
        };
        return Some(
            Diagnosis::new(
                Code::KeyShadowed,
                Severity::Warning,
                format!(
                    "{tool} sends different keys in one request: the API read {first} ({name}); {} was never checked",
                    others.join(", ")
                ),
            )
            .evidence(evidence)
            .fix(vec![fix]),
        );
    }
    let mut fix = Vec::new();
    let then = format!("{tool} then sends only {}", others.join(", "));
    match (failing_var, wheres.first()) {
        (Some(v), Some(at)) => fix.push(format!("unset {v} (remove it from {at}): {then}")),
        (Some(v), None) => fix.push(format!("unset {v}: {then}")),
        (None, _) => {}
    }
    fix.push(format!("or put a working key in {name}"));
    Some(
        Diagnosis::new(
            Code::KeyShadowed,
            Severity::Error,
            format!("the API reads {first} first: {name} fails there, and {} is never checked", others.join(", ")),
        )
        .evidence(evidence)
        .fix(fix),
    )
}
