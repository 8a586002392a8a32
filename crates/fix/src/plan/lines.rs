//! Line-level fixes (docs/fix.md#line-fixes): delete a blank or failing line
//! that shadows a working key (`delete_line`), keep one of two lines of a
//! `.env` that set the same variable (`dedupe`), strip quotes, whitespace, a
//! BOM or a `Bearer ` prefix from a literal key (`strip_value`), rename a
//! near-miss variable (`rename_variable`), and move a key to the variable
//! whose header the API reads (`swap_header_variable`).
//!
//! Each reads the evidence the records carry — `env.resolution` and the
//! probe's `alternatives` for which value works, `env.near_misses`, the
//! key's fingerprint — then the file itself, and plans only when the line
//! still holds what the record says (its fingerprint, its variable).

use std::path::Path;

use keyhole_core::provider;
use keyhole_core::record::env::{Candidate, Outcome, SourceKind};
use keyhole_core::record::{Code, Diagnosis, FixKind, KeySource, Site};
use keyhole_core::secret::{Fingerprint, Flaw};
use keyhole_core::tool;

use super::Scope;
use crate::edit::{Change, Edit, Plan};
use crate::text::Text;

/// The plans for `d` of `site`.
pub fn plan(site: &Site, d: &Diagnosis, scope: &Scope) -> Vec<Plan> {
    let plans = match d.code {
        Code::KeyShadowed => shadowed(site, d, scope),
        Code::KeyMalformed => strip_value(site, d, scope),
        Code::KeyEnvUnset | Code::KeyWrongFile => rename(site, d, scope),
        Code::HeaderWrongScheme => swap_header(site, d, scope),
        _ => None,
    };
    plans.into_iter().map(Plan::Edit).collect()
}

// ---- the evidence ----

/// What the probe found of a candidate the tool does not send
/// (`probe.alternatives`): whether it works; `None` when it was not tried.
pub(crate) fn tried(site: &Site, c: &Candidate) -> Option<bool> {
    let sha8 = &c.fp.as_ref()?.sha8;
    let a = site.probe.as_ref()?.alternatives.iter().find(|a| &a.sha8 == sha8 && a.at == c.at && a.line == c.line)?;
    (a.status.is_some() || a.error.is_some()).then_some(a.works)
}

/// Whether the value the tool sends worked, when the probe said.
pub(crate) fn sent_works(site: &Site) -> Option<bool> {
    site.probe.as_ref()?.status().map(|s| (200..300).contains(&s))
}

/// A candidate that is a line of a file the tool loads itself, line by line.
fn file_line(c: &Candidate) -> Option<(&Path, usize)> {
    let path = Path::new(&c.at);
    (c.source == SourceKind::Dotenv && path.is_absolute()).then_some(())?;
    Some((path, c.line? as usize))
}

fn has_value(c: &Candidate) -> bool {
    c.fp.as_ref().is_some_and(|f| f.len > 0)
}

/// Where a candidate is, for people.
fn at(c: &Candidate) -> String {
    c.line.map_or(c.at.clone(), |l| format!("{}:{l}", c.at))
}

// ---- reading lines ----

/// A file in scope, read for planning.
fn read(path: &Path, scope: &Scope) -> Option<Text> {
    scope.contains(path).then(|| Text::read(path)).flatten()
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where `name` stands in `line` as a whole name (not part of a longer one).
fn name_at(line: &str, name: &str) -> Option<usize> {
    let b = line.as_bytes();
    line.match_indices(name).map(|(i, _)| i).find(|&i| {
        let end = i + name.len();
        (i == 0 || !is_name_byte(b[i - 1])) && (end == b.len() || !is_name_byte(b[end]))
    })
}

/// A whole-line comment (`#`, `//`, `;`): what no tool reads.
pub(crate) fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//") || t.starts_with(';')
}

/// The line assigns `var` (`VAR=`, `export VAR=`, `VAR: `, `"VAR": `, `Environment="VAR=`).
fn assigns(line: &str, var: &str) -> bool {
    if is_comment(line) {
        return false;
    }
    let Some(i) = name_at(line, var) else { return false };
    let rest = line[i + var.len()..].trim_start_matches(['"', '\'']).trim_start();
    rest.starts_with('=') || rest.starts_with(':')
}

/// The byte range of the value whose fingerprint is `fp` in `line`: the
/// exact bytes the tool got (`fp.len` of them, equal sha8).
fn value_in(line: &str, fp: &Fingerprint) -> Option<std::ops::Range<usize>> {
    if fp.len == 0 || fp.len > line.len() {
        return None;
    }
    use sha2::{Digest, Sha256};
    let sha8 = |b: &[u8]| Sha256::digest(b)[..4].iter().map(|x| format!("{x:02x}")).collect::<String>();
    (0..=line.len() - fp.len)
        .filter(|&i| line.is_char_boundary(i) && line.is_char_boundary(i + fp.len))
        // The tail first (cheap), then the hash.
        .filter(|&i| line[i..i + fp.len].ends_with(fp.last4.as_str()))
        .find(|&i| sha8(&line.as_bytes()[i..i + fp.len]) == fp.sha8)
        .map(|i| i..i + fp.len)
}

/// The line assigns `var` an empty value (`VAR=`, `VAR=""`, `export VAR=''`).
fn assigns_empty(line: &str, var: &str) -> bool {
    let Some(i) = name_at(line, var) else { return false };
    let rest = line[i + var.len()..].trim();
    let Some(v) = rest.strip_prefix('=') else { return false };
    let v = v.split(" #").next().unwrap_or("").trim();
    matches!(v, "" | "\"\"" | "''")
}

/// An edit of one line of `text`.
fn edit(site: &Site, d: &Diagnosis, kind: FixKind, text: Text, change: Change, says: String) -> Edit {
    Edit {
        site: site.id.clone(),
        cause: d.code,
        kind,
        path: text.path,
        stamp: Some(text.stamp),
        changes: vec![change],
        says,
    }
}

/// Delete candidate `c`'s line, when it still assigns `var` the value the record names.
fn delete(
    site: &Site,
    d: &Diagnosis,
    kind: FixKind,
    c: &Candidate,
    var: &str,
    scope: &Scope,
    why: String,
) -> Option<Edit> {
    let (path, n) = file_line(c)?;
    let text = read(path, scope)?;
    let old = text.line(n)?.to_string();
    let holds = match c.fp.as_ref() {
        Some(fp) if fp.len > 0 => assigns(&old, var) && value_in(&old, fp).is_some(),
        _ => assigns_empty(&old, var),
    };
    if !holds {
        return None;
    }
    let says = format!("delete line {n} of {} ({var}=…): {why}", path.display());
    Some(edit(site, d, kind, text, Change::Delete { line: n, old }, says))
}

// ---- delete_line, dedupe ----

/// `key.shadowed`: the line that wins and should not (docs/fix.md#line-fixes).
fn shadowed(site: &Site, d: &Diagnosis, scope: &Scope) -> Option<Edit> {
    let env = site.env.as_ref()?;
    let res = &env.resolution;
    let win = res.iter().find(|c| c.outcome == Outcome::Sends)?;
    let var = env.var.as_str();
    let verdict = |c: &Candidate| match tried(site, c) {
        Some(true) => format!("then the key at {} is sent, and it works (probed)", at(c)),
        Some(false) => format!("then the key at {} is sent; it does not work either: put a working key there", at(c)),
        None => format!("then the key at {} is sent", at(c)),
    };
    // An empty value that wins over a key: never what anyone meant.
    if win.fp.as_ref().is_some_and(|f| f.len == 0) {
        let next = res.iter().find(|c| c.outcome != Outcome::Sends && has_value(c))?;
        return delete(site, d, FixKind::DeleteLine, win, var, scope, verdict(next));
    }
    // Two lines of one file with two keys: keep the one that works.
    let earlier = res.iter().find(|c| {
        c.outcome == Outcome::Overridden
            && c.at == win.at
            && has_value(c)
            && c.fp.as_ref().map(|f| &f.sha8) != win.fp.as_ref().map(|f| &f.sha8)
    });
    if let Some(e) = earlier {
        return match (tried(site, e), sent_works(site)) {
            (Some(true), _) => {
                let why = format!("line {}'s key works (probed), and the parser takes the last line", e.line?);
                delete(site, d, FixKind::Dedupe, win, var, scope, why)
            }
            (Some(false), Some(true)) => {
                let why = format!("it holds a key that does not work (probed); line {} is the one sent", win.line?);
                delete(site, d, FixKind::Dedupe, e, var, scope, why)
            }
            _ => None,
        };
    }
    // A failing key in a file that beats a working one elsewhere.
    if sent_works(site) == Some(false) {
        let works =
            res.iter().find(|c| c.outcome == Outcome::Shadowed && has_value(c) && tried(site, c) == Some(true))?;
        return delete(site, d, FixKind::DeleteLine, win, var, scope, verdict(works));
    }
    None
}

// ---- strip_value ----

/// The flaws `strip_value` removes.
const STRIPPED: &[Flaw] =
    &[Flaw::Quoted, Flaw::LeadingWhitespace, Flaw::TrailingWhitespace, Flaw::Bom, Flaw::BearerPrefix];

const QUOTES: &[(char, char)] = &[('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’'), ('`', '`')];

/// The key without what a person would not count as the key: a BOM,
/// surrounding whitespace, quotes, a `Bearer ` prefix (each as often as it is there).
fn core_of(value: &str) -> &str {
    let mut c = value;
    loop {
        let before = c;
        c = c.trim_start_matches('\u{feff}').trim();
        for (open, close) in QUOTES {
            if c.len() >= open.len_utf8() + close.len_utf8() && c.starts_with(*open) && c.ends_with(*close) {
                c = &c[open.len_utf8()..c.len() - close.len_utf8()];
                break;
            }
        }
        if c.len() > 7 && c.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
            c = &c[7..];
        }
        if c == before {
            return c;
        }
    }
}

/// `key.malformed`: the literal key with its wrapping removed, where it is written.
fn strip_value(site: &Site, d: &Diagnosis, scope: &Scope) -> Option<Edit> {
    // Where the value is: the site's own file (a literal), else the line the tool takes it from.
    let (file, near, fp) = if site.key.from == KeySource::Literal {
        (site.source.file.as_str(), site.source.line as usize, site.key.fp.as_ref()?)
    } else {
        let env = site.env.as_ref()?;
        let eff = env.effective.as_ref()?;
        let fp = eff.fp.as_ref()?;
        match eff.line {
            Some(l) => (eff.from.as_str(), l as usize, fp),
            // From the environment: the startup file line that defines this very value.
            None => {
                let def = env.definitions.iter().find(|d| d.fp.as_ref().is_some_and(|f| f.sha8 == fp.sha8))?;
                (def.file.as_str(), def.line as usize, fp)
            }
        }
    };
    if !fp.flaws.iter().any(|f| STRIPPED.contains(f)) {
        return None;
    }
    let path = Path::new(file);
    if !path.is_absolute() {
        return None;
    }
    let text = read(path, scope)?;
    // The line holding exactly these bytes, the nearest at or after the site's line.
    let found: Vec<(usize, std::ops::Range<usize>)> = text
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !is_comment(l))
        .filter_map(|(i, l)| value_in(l, fp).map(|r| (i + 1, r)))
        .collect();
    let (n, range) = found.iter().find(|(n, _)| *n >= near).or_else(|| found.last()).cloned()?;
    let old = text.line(n)?.to_string();
    let raw = &old[range.clone()];
    let core = core_of(raw);
    let p = provider::get(&site.provider);
    if core.is_empty() || Fingerprint::of(core.as_bytes(), p).flaws.iter().any(|f| STRIPPED.contains(f)) {
        return None;
    }
    let new = format!("{}{core}{}", &old[..range.start], &old[range.end..]);
    let what: Vec<&str> = fp.flaws.iter().filter(|f| STRIPPED.contains(f)).map(|f| f.as_str()).collect();
    let says = format!("remove what wraps the key on line {n} of {file} ({})", what.join(", "));
    Some(edit(site, d, FixKind::StripValue, text, Change::Replace { line: n, old, new }, says))
}

// ---- rename_variable, swap_header_variable ----

/// Rename `from` to `to` on line `n` of `file`, when the line assigns `from`
/// and the file does not set `to` already.
fn rename_in(
    site: &Site,
    d: &Diagnosis,
    kind: FixKind,
    (file, n): (&str, usize),
    (from, to): (&str, &str),
    scope: &Scope,
    why: &str,
) -> Option<Edit> {
    let path = Path::new(file);
    if !path.is_absolute() {
        return None;
    }
    let text = read(path, scope)?;
    let old = text.line(n)?.to_string();
    if !assigns(&old, from) || text.lines.iter().any(|l| assigns(l, to)) {
        return None;
    }
    let i = name_at(&old, from)?;
    let new = format!("{}{to}{}", &old[..i], &old[i + from.len()..]);
    let says = format!("rename {from} to {to} on line {n} of {file}: {why}");
    Some(edit(site, d, kind, text, Change::Replace { line: n, old, new }, says))
}

/// `key.env_unset` / `key.wrong_file`: a definition under a near-miss name,
/// renamed to the variable the tool reads (the tool's own near misses, then
/// those in the files its service loads).
fn rename(site: &Site, d: &Diagnosis, scope: &Scope) -> Option<Edit> {
    let env = site.env.as_ref()?;
    let var = env.var.as_str();
    // The tool's own near misses when the variable is set nowhere; a service's when it starts the tool without it.
    let own = env.near_misses.iter().filter(|_| d.code == Code::KeyEnvUnset);
    let service = env.launchers.iter().filter(|l| l.sees == Some(false) && d.code == Code::KeyWrongFile);
    own.chain(service.flat_map(|l| &l.near_misses)).filter(|m| m.name != var).find_map(|m| {
        let why = format!("{} reads {var}", site.tool);
        rename_in(site, d, FixKind::RenameVariable, (&m.file, m.line as usize), (&m.name, var), scope, &why)
    })
}

/// `header.wrong_scheme`: the key moved to the variable the tool sends in a
/// header the API reads (catalogue `sends_together`, `key_var_fallback`).
fn swap_header(site: &Site, d: &Diagnosis, scope: &Scope) -> Option<Edit> {
    let t = tool::get(&site.tool)?;
    let p = provider::get(&site.provider)?;
    // The variable the site's own line sets (a `.env` line, the config's env block), else the one it reads.
    let block = t.config_env.and_then(|ce| site.source.pointer.as_deref()?.strip_prefix(ce.pointer)?.strip_prefix('/'));
    let own = site.assigns.as_deref().or(block);
    let var = own.or(site.key.var.as_deref())?;
    let vars =
        t.sends_together.iter().map(|(v, h, _)| (*v, *h)).chain(t.key_var_fallback.iter().map(|(_, v, h, _)| (*v, *h)));
    let (to, header) = vars.filter(|(v, _)| *v != var).find(|(_, h)| p.reads_at(&site.base_url, h.as_str()))?;
    let why = format!("{} sends {to} as {}, which {} reads", t.display, header.as_str(), p.display);
    // Where the variable is set: the site's own line, else the line the tool takes it from.
    let at = if own.is_some() {
        (site.source.file.as_str(), site.source.line as usize)
    } else {
        let eff = site.env.as_ref()?.effective.as_ref()?;
        (eff.from.as_str(), eff.line? as usize)
    };
    rename_in(site, d, FixKind::SwapHeaderVariable, at, (var, to), scope, &why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_without_its_wrapping() {
        assert_eq!(core_of("Bearer sk-1"), "sk-1");
        assert_eq!(core_of("\"sk-1\""), "sk-1");
        assert_eq!(core_of(" 'Bearer  sk-1' "), "sk-1");
        assert_eq!(core_of("\u{feff}sk-1\t"), "sk-1");
    }

    #[test]
    fn names_and_values_on_a_line() {
        assert!(assigns("export OPENROUTER_API_KEY=x", "OPENROUTER_API_KEY"));
        assert!(assigns("    \"ANTHROPIC_AUTH_TOKEN\": \"x\"", "ANTHROPIC_AUTH_TOKEN"));
        assert!(!assigns("export MY_OPENROUTER_API_KEY=x", "OPENROUTER_API_KEY"));
        assert!(!assigns("# OPENROUTER_API_KEY=old one", "OPENROUTER_API_KEY"));
        assert!(assigns_empty("OPENROUTER_API_KEY=", "OPENROUTER_API_KEY"));
        assert!(assigns_empty("export OPENROUTER_API_KEY=\"\"  # later", "OPENROUTER_API_KEY"));
        assert!(!assigns_empty("OPENROUTER_API_KEY=x", "OPENROUTER_API_KEY"));
        let fp = Fingerprint::of(b"Bearer abcdefgh", None);
        assert_eq!(value_in("  apiKey: \"Bearer abcdefgh\"", &fp), Some(11..26));
    }
}
