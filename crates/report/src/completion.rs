//! What only a completion can tell (docs/records.md#what-the-report-says):
//! the free key check shows the key works, not that the site's model
//! answers for it (a model id the key cannot use, a provider's per-model
//! restrictions, an upstream key behind a router). A site checked that way
//! says so once, "not checked: … needs --completion"; a run that sent
//! completions says what they cost.

use std::collections::BTreeSet;

use keyhole_core::record::{Record, Site};

use crate::verdict::{Reading, Subject, Verdict};

/// The probe sent a completion (`--completion`), not the key check.
fn completion_sent(s: &Site) -> bool {
    s.probe.as_ref().and_then(|p| p.request.as_ref()).is_some_and(|r| r.method == "POST")
}

/// The line for a site whose key the key check accepted and whose model
/// no completion checked; `None` otherwise.
pub fn unchecked(s: &Subject, r: &Reading) -> Option<String> {
    let Subject::Site(s) = s else { return None };
    let model = s.model.as_deref().filter(|m| !m.is_empty())?;
    let p = s.probe.as_ref()?;
    let worked = p.status().is_some_and(|st| (200..300).contains(&st));
    if !worked || completion_sent(s) || !matches!(r.verdict(), Verdict::Ok | Verdict::Warning) {
        return None;
    }
    Some(format!("not checked: whether {model} answers for this key (needs --completion: 1 request of max_tokens 1)"))
}

/// "completions sent: …", once, when the probes sent any.
pub fn cost_line(records: &[Record]) -> Option<String> {
    let sent: BTreeSet<(String, String, String)> = records
        .iter()
        .filter_map(Record::site)
        .filter(|s| completion_sent(s))
        .filter_map(|s| {
            let req = s.probe.as_ref()?.request.as_ref()?;
            let sha8 = req.fp.as_ref().map(|f| f.sha8.clone()).unwrap_or_default();
            Some((req.url.clone(), sha8, s.model.clone().unwrap_or_default()))
        })
        .collect();
    (!sent.is_empty()).then(|| {
        format!(
            "--completion: {} completion request{} sent, max_tokens 1 each, one per distinct key and model (billed by the provider)",
            sent.len(),
            if sent.len() == 1 { "" } else { "s" }
        )
    })
}
