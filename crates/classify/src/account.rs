//! What a working key's account can still do (`probe.account`,
//! docs/records.md#probe): a key whose own limit is used up, an account
//! without credits, the free tier and a low balance. These are root causes
//! although the key authenticates: the tool's completions fail (402, 403,
//! 429) where the key check said 200, so they rank before `ok`.

use keyhole_core::provider::Provider;
use keyhole_core::record::probe::{Account, Probe};
use keyhole_core::record::{Code, Diagnosis, Severity, Site};

use super::diag;

/// Do these diagnoses rank before the probe's `ok` (warnings included)?
pub(crate) fn before_ok(d: &Diagnosis) -> bool {
    matches!(d.code, Code::LimitKeyLimit | Code::CreditsInsufficient | Code::LimitFreeTier | Code::CreditsLow)
}

/// A value as the API wrote it.
fn n(v: Option<f64>) -> String {
    v.map_or_else(|| "null".into(), |v| format!("{v}"))
}

/// `GET URL: name value, …` for the values of `a` read from one URL.
fn said(a: &Account, names: &[(&str, String)]) -> String {
    let url = names.iter().find_map(|(k, _)| a.from.get(*k)).map_or("", String::as_str);
    let vals: Vec<String> = names.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("GET {url}: {}", vals.join(", "))
}

/// The account diagnoses of a site whose probe was answered 2xx.
pub(crate) fn diagnoses(site: &Site, probe: &Probe, p: Option<&Provider>) -> Vec<Diagnosis> {
    let (Some(a), Some(p)) = (probe.account.as_ref(), p) else { return Vec::new() };
    let data = &p.account;
    let money = |v: f64| format!("{}{v:.2}", data.currency);
    let model = site.model.as_deref().unwrap_or("");
    let free_model = !data.free_suffix.is_empty() && model.ends_with(data.free_suffix);
    let mut out = Vec::new();

    // The key's own limit (forgecode#571's case: limit_remaining 0).
    if let (Some(limit), Some(left)) = (a.limit, a.limit_remaining) {
        let ev = said(a, &[("limit", n(a.limit)), ("limit_remaining", n(a.limit_remaining)), ("usage", n(a.usage))]);
        if left <= 0.0 {
            out.push(diag(
                Code::LimitKeyLimit,
                Severity::Error,
                format!(
                    "the key works, but its own limit is used up: {} of {} spent; completions are refused",
                    money(a.usage.unwrap_or(limit)),
                    money(limit)
                ),
                vec![site.at(), ev],
                vec![
                    format!("raise or remove this key's limit ({}) at {}", money(limit), data.limit_page),
                    "or put a key that has room under its limit in its place".into(),
                ],
            ));
        } else if left < data.low {
            out.push(diag(
                Code::CreditsLow,
                Severity::Warning,
                format!("the key's own limit leaves {} of {}", money(left), money(limit)),
                vec![site.at(), ev],
                vec![format!("raise this key's limit at {}", data.limit_page)],
            ));
        }
    }

    // The account's balance.
    let credits_ev = || {
        let mut names = vec![("balance", n(a.balance))];
        if a.credits_total.is_some() {
            names = vec![("credits_total", n(a.credits_total)), ("credits_used", n(a.credits_used))];
        }
        if a.available.is_some() {
            names.push(("available", a.available.map_or("null".into(), |b| b.to_string())));
        }
        said(a, &names)
    };
    let empty = a.balance.is_some_and(|b| b <= 0.0) || a.available == Some(false);
    let negative = a.balance.is_some_and(|b| b < 0.0);
    let mut no_credits = false;
    if empty && (negative || !free_model || a.available == Some(false)) {
        no_credits = true;
        let mut fix = vec![format!("add credits at {}", data.credits_page)];
        if !data.free_suffix.is_empty() && !negative {
            fix.push(format!(
                "or use a free model: an id ending in {} (only those answer without credits)",
                data.free_suffix
            ));
        }
        let why =
            if negative { "even free models are refused with a negative balance" } else { "paid models answer 402" };
        out.push(diag(
            Code::CreditsInsufficient,
            Severity::Error,
            format!(
                "the key works, but the account has no credits left (balance {}): {why}",
                money(a.balance.unwrap_or(0.0))
            ),
            vec![site.at(), credits_ev()],
            fix,
        ));
    } else if let Some(b) = a.balance.filter(|b| *b > 0.0 && *b < data.low) {
        out.push(diag(
            Code::CreditsLow,
            Severity::Warning,
            format!("little is left on the account: balance {}", money(b)),
            vec![site.at(), credits_ev()],
            vec![format!("add credits at {}", data.credits_page)],
        ));
    }

    // The free tier: what it allows, and today's free-model requests.
    if a.is_free_tier == Some(true) && !no_credits && !data.free_tier.is_empty() {
        let today = match (a.free_daily_remaining, a.free_daily_limit) {
            (Some(r), Some(l)) => format!(" ({} of {} free-model requests left today)", n(Some(r)), n(Some(l))),
            _ => String::new(),
        };
        let used_up = free_model && a.free_daily_remaining.is_some_and(|r| r <= 0.0);
        let ev = said(
            a,
            &[
                ("is_free_tier", "true".into()),
                ("free_daily_limit", n(a.free_daily_limit)),
                ("free_daily_remaining", n(a.free_daily_remaining)),
            ],
        );
        out.push(diag(
            Code::LimitFreeTier,
            if used_up { Severity::Error } else { Severity::Warning },
            if used_up {
                format!("the account is on the free tier and today's free-model requests are used up{today}")
            } else {
                format!("the account is on the free tier: {}{today}", data.free_tier)
            },
            vec![site.at(), ev],
            vec![format!("buy credits at {} for paid models and a higher daily limit", data.credits_page)],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyhole_core::provider;
    use keyhole_core::record::Record;

    fn site(model: &str, account: &str) -> Site {
        let r = Record::from_json(&format!(
            r#"{{"type":"site","v":1,"id":"t","host":"h","tool":"continue","source":{{"file":"/h/c","line":3}},"provider":"openrouter","model":"{model}","base_url":"u","base_url_from":"config","auth":{{"header":"authorization","scheme":"bearer"}},"key":{{"from":"none"}},"probe":{{"request":null,"response":{{"status":200}},"account":{account}}}}}"#
        ))
        .unwrap();
        match r {
            Record::Site(s) => *s,
            _ => unreachable!(),
        }
    }

    fn first(model: &str, account: &str) -> Option<(Code, Severity, Vec<String>)> {
        let s = site(model, account);
        let d = diagnoses(&s, s.probe.as_ref().unwrap(), provider::get("openrouter"));
        d.into_iter().next().map(|d| (d.code, d.severity, d.fix))
    }

    #[test]
    fn a_negative_balance_refuses_free_models_too() {
        let (code, sev, fix) = first("x/y:free", r#"{"credits_total":5,"credits_used":5.5,"balance":-0.5}"#).unwrap();
        assert_eq!((code, sev), (Code::CreditsInsufficient, Severity::Error));
        assert!(fix.iter().all(|f| !f.contains(":free")), "{fix:?}");
        // Zero on a free model that was paid for before: nothing to say.
        assert_eq!(first("x/y:free", r#"{"is_free_tier":false,"credits_total":5,"credits_used":5,"balance":0}"#), None);
    }

    #[test]
    fn a_free_model_without_requests_left_today_fails() {
        let acct = r#"{"is_free_tier":true,"free_daily_limit":50,"free_daily_remaining":0}"#;
        let (code, sev, _) = first("x/y:free", acct).unwrap();
        assert_eq!((code, sev), (Code::LimitFreeTier, Severity::Error));
        let (code, sev, _) = first("x/y", r#"{"is_free_tier":true}"#).unwrap();
        assert_eq!((code, sev), (Code::LimitFreeTier, Severity::Warning), "paid model, balance unknown");
    }

    #[test]
    fn room_under_the_key_limit_is_not_a_finding() {
        assert_eq!(first("x/y", r#"{"limit":100,"limit_remaining":74.5,"usage":25.5}"#), None);
        let (code, _, _) = first("x/y", r#"{"limit":100,"limit_remaining":0.25,"usage":99.75}"#).unwrap();
        assert_eq!(code, Code::CreditsLow);
    }
}
