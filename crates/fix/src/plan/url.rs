//! `base_url` (docs/fix.md#base-url): a base URL that is not an API root —
//! a doubled `/v1`, a missing `/api`, the full endpoint path, no scheme, a
//! listen address (keyhole_core::baseurl says which, and the URL that is
//! right) — or an `http://` base the API redirects to `https://`, which
//! makes clients drop the key on the way. The URL is replaced where it is
//! written, inside the line as it stands: the file's own quoting, comments
//! and format (YAML, JSON, TOML, `.env`) stay as they are.

use std::path::Path;

use keyhole_core::record::{Code, Diagnosis, FixKind, Site};
use keyhole_core::{baseurl, provider, tool};

use super::Scope;
use crate::edit::{Change, Edit, Plan};
use crate::text::Text;

/// The plans for `d` of `site`.
pub fn plan(site: &Site, d: &Diagnosis, scope: &Scope) -> Vec<Plan> {
    let fixed = match d.code {
        Code::UrlBadBase => bad_base(site),
        Code::HeaderDroppedRedirect => redirected(site),
        _ => None,
    };
    let Some((url, why)) = fixed.filter(|(u, _)| *u != site.base_url) else { return Vec::new() };
    replace(site, d, scope, &url, &why).map(Plan::Edit).into_iter().collect()
}

/// The API root for a base URL that is not one, and why.
fn bad_base(site: &Site) -> Option<(String, String)> {
    let p = provider::get(&site.provider);
    let b = baseurl::check(&site.base_url, p, tool::get(&site.tool).map(|t| t.url_join))?;
    Some((b.fixed, b.what.join("; ")))
}

/// The base URL the API redirects to, when the redirect drops the key: the
/// hop's target with the same path tail cut off (`http://h/api/v1/key` →
/// `https://h/api/v1/key` makes the base `https://h/api/v1`).
fn redirected(site: &Site) -> Option<(String, String)> {
    let hop = site.probe.as_ref()?.redirects.iter().find(|h| !h.auth_kept)?;
    let base = site.base_url.trim_end_matches('/');
    let tail = hop.from.strip_prefix(base)?;
    let to = hop.to.strip_suffix(tail)?;
    (!to.is_empty()).then(|| {
        (to.to_string(), format!("the API redirects {} to {} and clients drop the key on the way", hop.from, hop.to))
    })
}

/// The files the base URL may be written in: the site's own, then, for a
/// URL from a variable, the `.env` files the tool loads.
fn files(site: &Site) -> Vec<&str> {
    let mut out = vec![site.source.file.as_str()];
    if site.base_url_from.starts_with("env:") {
        if let Some(env) = &site.env {
            out.extend(env.resolution.iter().map(|c| c.at.as_str()));
            out.extend(env.definitions.iter().map(|d| d.file.as_str()));
        }
    }
    let mut seen = Vec::new();
    out.retain(|f| {
        Path::new(f).is_absolute() && !seen.contains(f) && {
            seen.push(*f);
            true
        }
    });
    out
}

/// Replace the site's base URL by `url` on the line that writes it: in the
/// site's file the nearest at or after the site's line, else the first.
fn replace(site: &Site, d: &Diagnosis, scope: &Scope, url: &str, why: &str) -> Option<Edit> {
    let old_url = site.base_url.as_str();
    if old_url.is_empty() {
        return None;
    }
    let var = site.base_url_from.strip_prefix("env:");
    for file in files(site) {
        let path = Path::new(file);
        if !scope.contains(path) {
            continue;
        }
        let Some(text) = Text::read(path) else { continue };
        let writes = |l: &str| {
            !super::lines::is_comment(l)
                && l.contains(old_url)
                && var.is_none_or(|v| l.contains(v) || file == site.source.file)
        };
        let near = if file == site.source.file { site.source.line as usize } else { 0 };
        let hits: Vec<usize> = (1..=text.lines.len()).filter(|&n| text.line(n).is_some_and(writes)).collect();
        let Some(n) = hits.iter().copied().find(|&n| n >= near).or_else(|| hits.last().copied()) else { continue };
        let old = text.line(n)?.to_string();
        let new = old.replacen(old_url, url, 1);
        let says = format!("set the base URL on line {n} of {file} to {url}: {why}");
        return Some(Edit {
            site: site.id.clone(),
            cause: d.code,
            kind: FixKind::BaseUrl,
            path: text.path,
            stamp: Some(text.stamp),
            changes: vec![Change::Replace { line: n, old, new }],
            says,
        });
    }
    None
}
