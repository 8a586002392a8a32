//! A key's account state (docs/records.md#probe, `account`): once a site's
//! request was answered 2xx, the provider's free account reads (its
//! catalogue `account`) are sent with the same key to the same origin,
//! each distinct request once a run. The key check's own answer is read
//! when it is one of them (OpenRouter's `GET key`): no second request.
//! Only a site's own request is followed up, never `probe.alternatives`.

use std::sync::Arc;

use keyhole_core::provider::AccountRead;
use keyhole_core::record::probe::{Account, Probe, Unread};
use keyhole_core::record::Extra;

use crate::dispatch::{Dispatch, Outcome};
use crate::gate::Gate;
use crate::net::Client;
use crate::plan::Plan;

/// One account read of a site: the request to send, or `None` when the
/// site's own request was that read.
struct Read {
    read: &'static AccountRead,
    plan: Option<Plan>,
    /// Its key in the run's dispatch, once submitted.
    key: Option<String>,
    answer: Option<Arc<Outcome<Probe>>>,
}

/// The account reads of one site, from its plan to its `probe.account`.
#[derive(Default)]
pub(crate) struct Pending {
    reads: Vec<Read>,
}

/// The URL before the path the site's request was joined with.
fn base_of(plan: &Plan) -> Option<&str> {
    let p = plan.provider?;
    let paths = [p.check.map(|c| c.path).unwrap_or(""), p.completion_path, "messages"];
    paths.iter().filter(|s| !s.is_empty()).find_map(|s| plan.url.strip_suffix(s))
}

/// `path` joined to `base` (which ends in `/`), or from the origin when it starts with `/`.
fn joined(base: &str, path: &str) -> String {
    match path.strip_prefix('/') {
        Some(rest) => {
            let after_scheme = base.find("://").map_or(0, |i| i + 3);
            let end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
            format!("{}/{rest}", &base[..end])
        }
        None => format!("{base}{path}"),
    }
}

impl Pending {
    /// The account reads a site's `plan` is followed by: none when its
    /// provider has no free account endpoint, the key travels in the URL,
    /// or the send policy keeps the key from a read's URL.
    pub(crate) fn of(plan: &Plan, gate: &Gate) -> Pending {
        let (Some(p), Some(base)) = (plan.provider, base_of(plan)) else { return Pending::default() };
        if plan.url.contains('?') || !base.ends_with('/') {
            return Pending::default();
        }
        let was_check = plan.body.is_none();
        let reads = p
            .account
            .reads
            .iter()
            .filter_map(|read| {
                let url = joined(base, read.path);
                if was_check && url == plan.url {
                    return Some(Read { read, plan: None, key: None, answer: None });
                }
                gate.check(&url).ok()?;
                let extra = plan.extra.iter().filter(|(k, _)| k != "content-type").cloned().collect();
                let plan = Plan { method: "GET", url, body: None, extra, ..plan.clone() };
                Some(Read { read, plan: Some(plan), key: None, answer: None })
            })
            .collect();
        Pending { reads }
    }

    /// The site's own request answered `main`: when it was 2xx, send the
    /// account reads (each distinct one once a run).
    pub(crate) fn submit(
        &mut self,
        main: Option<&Outcome<Probe>>,
        dispatch: &Dispatch<Probe>,
        client: &Arc<Client>,
        alone: bool,
    ) {
        let worked = matches!(main, Some(Ok(p)) if p.status().is_some_and(|s| (200..300).contains(&s)));
        if !worked {
            self.reads.clear();
            return;
        }
        for r in &mut self.reads {
            let Some(plan) = r.plan.clone() else { continue };
            // One read per distinct key and URL, whatever trust store the
            // site's tool has: the same server answers the same account.
            let full = plan.dedupe_key();
            let key = format!("account {}", full.strip_suffix(plan.trust.as_str()).unwrap_or(&full));
            let client = client.clone();
            dispatch.submit(key.clone(), move || client.send(&plan), alone);
            r.key = Some(key);
        }
    }

    /// Wait for the answers of what [`submit`](Self::submit) sent.
    pub(crate) fn wait(&mut self, dispatch: &Dispatch<Probe>) {
        for r in &mut self.reads {
            if let Some(k) = &r.key {
                r.answer = dispatch.wait(k);
            }
        }
    }

    /// `probe.account` from the answers (the site's own `probe` among them).
    pub(crate) fn attach(&mut self, probe: &mut Probe) {
        if self.reads.is_empty() {
            return;
        }
        let mut acct = Account::default();
        for r in self.reads.drain(..) {
            let answer: Option<&Probe> = match (&r.plan, r.answer.as_deref()) {
                (None, _) => Some(probe),
                (Some(_), Some(Ok(p))) => Some(p),
                _ => None,
            };
            let Some(a) = answer else { continue };
            let url = a.request.as_ref().map(|q| q.url.clone()).unwrap_or_default();
            let body = a.response.as_ref().map(|x| &x.body);
            let status = a.status();
            let read =
                status.is_some_and(|s| (200..300).contains(&s)) && body.is_some_and(|b| acct.take(r.read, &url, b));
            if !read {
                let why = match (&a.error, a.response.as_ref().and_then(|x| x.error_message())) {
                    (Some(e), _) => e.message.clone(),
                    (None, Some(m)) => m.to_string(),
                    (None, None) => "no account values in the answer".to_string(),
                };
                acct.unread.push(Unread { url, status, why, extra: Extra::new() });
            }
        }
        acct.finish();
        if !acct.is_empty() {
            probe.account = Some(Box::new(acct));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_join_to_the_base_or_the_origin() {
        assert_eq!(joined("https://openrouter.ai/api/v1/", "credits"), "https://openrouter.ai/api/v1/credits");
        assert_eq!(joined("https://api.deepseek.com/v1/", "/user/balance"), "https://api.deepseek.com/user/balance");
        assert_eq!(joined("http://127.0.0.1:9/x/", "/user/balance"), "http://127.0.0.1:9/user/balance");
    }
}
