//! A gateway's client (docs/wire.md#gateways): when the answer says the
//! gateway's upstream refused it, the fix is in the gateway's own sites,
//! which keyhole-find linked to the client (`site.gateway`).

use keyhole_core::record::{Code, Diagnosis, Site};

/// Name the gateway and the sites to fix in an `upstream.auth` of a
/// gateway's client.
pub fn name_the_hop(d: &mut Diagnosis, site: &Site) {
    let Some(g) = site.gateway.as_ref().filter(|_| d.code == Code::UpstreamAuth) else { return };
    d.evidence.push(format!(
        "the gateway: {} on port {} ({}); its upstream sites: {}",
        g.config,
        g.port,
        g.port_from,
        if g.sites.is_empty() { "none found".to_string() } else { g.sites.join(", ") }
    ));
    if let Some(first) = g.sites.first() {
        d.fix.insert(
            0,
            format!(
                "fix the gateway's site {first} (keyhole-report shows its own diagnosis), then restart the gateway"
            ),
        );
    }
}
