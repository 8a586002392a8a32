//! keyhole-report: records in, words out. Text for a terminal (root cause
//! first, evidence, fix; colour only on a TTY), Markdown safe to paste into a
//! public bug report (fingerprints as prefix, last 4 and length only; the
//! home directory written as ~), or the records passed through.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

pub const TOOL_NAME: &str = "keyhole-report";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
}

pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Untrusted text (file names, server messages) made safe for a terminal:
/// control characters shown escaped. (Server text was redacted where it
/// entered: keyhole-probe and keyhole-classify; records hold no key.)
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// `/home/u/x` → `~/x`, for reports that leave the machine.
fn tilde(s: &str, home: &str) -> String {
    if home.len() > 1 && !home.is_empty() {
        s.replace(&format!("{home}/"), "~/")
    } else {
        s.to_string()
    }
}

fn fp_short(fp: &Value) -> String {
    if !fp.is_object() {
        return String::new();
    }
    let flaws: Vec<&str> =
        fp["flaws"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut s = format!(
        "{}…{} ({} bytes)",
        fp["prefix"].as_str().unwrap_or(""),
        fp["last4"].as_str().unwrap_or("").escape_debug(),
        fp["len"]
    );
    if !flaws.is_empty() {
        s.push_str(&format!(" flaws: {}", flaws.join(", ")));
    }
    s
}

fn key_line(site: &Value) -> String {
    let k = &site["key"];
    match k["from"].as_str().unwrap_or("") {
        "literal" => format!("literal key {}", fp_short(&k["fp"])),
        "env" => {
            format!("${} ({})", k["var"].as_str().unwrap_or("?"), k["syntax"].as_str().unwrap_or("read implicitly"))
        }
        "placeholder" => format!("placeholder {}", k["text"].as_str().unwrap_or("")),
        "file" => format!("file {}", k["path"].as_str().unwrap_or("")),
        "command" => format!("command {}", k["cmd"].as_str().unwrap_or("")),
        "store" => format!("store {}", k["store"].as_str().unwrap_or("")),
        other => other.to_string(),
    }
}

fn sev_mark(sev: &str, st: &Style) -> String {
    match sev {
        "error" => st.paint("1;31", "✗"),
        "warning" => st.paint("1;33", "!"),
        _ => st.paint("1;32", "✓"),
    }
}

/// Counts of root causes by severity: (errors, warnings, ok/info).
pub fn tally(records: &[Value]) -> (usize, usize, usize) {
    let mut t = (0, 0, 0);
    for r in records {
        match r["diagnoses"][0]["severity"].as_str() {
            Some("error") => t.0 += 1,
            Some("warning") => t.1 += 1,
            Some(_) => t.2 += 1,
            None => {}
        }
    }
    t
}

pub fn text(records: &[Value], st: &Style) -> String {
    let mut out = String::new();
    let subjects: Vec<&Value> =
        records.iter().filter(|r| matches!(r["type"].as_str(), Some("site" | "response" | "capture"))).collect();
    let (e, w, ok) = tally(&subjects.iter().map(|v| (*v).clone()).collect::<Vec<_>>());
    let _ = writeln!(
        out,
        "{}",
        st.paint("1", &format!("keyhole: {} checked — {e} failing, {w} with warnings, {ok} fine", subjects.len()))
    );
    for r in &subjects {
        let _ = writeln!(out);
        let head = match r["type"].as_str() {
            Some("site") => format!(
                "{} {}:{}  {} {} {}",
                st.paint("1", r["tool"].as_str().unwrap_or("?")),
                clean(r["source"]["file"].as_str().unwrap_or("?")),
                r["source"]["line"],
                r["provider"].as_str().unwrap_or(""),
                clean(r["model"].as_str().unwrap_or("")),
                st.paint("2", &clean(r["base_url"].as_str().unwrap_or("")))
            ),
            Some("capture") => format!(
                "{} {} {}",
                st.paint("1", "capture"),
                r["method"].as_str().unwrap_or(""),
                clean(r["path"].as_str().unwrap_or(""))
            ),
            _ => format!(
                "{} {}:{} HTTP {}",
                st.paint("1", "response"),
                clean(r["source"]["file"].as_str().unwrap_or("-")),
                r["source"]["line"],
                r["status"]
            ),
        };
        let _ = writeln!(out, "{head}");
        if r["type"] == "site" {
            let _ = writeln!(out, "  key: {}", clean(&key_line(r)));
        }
        let diags = r["diagnoses"].as_array().cloned().unwrap_or_default();
        if r.get("diagnoses").is_none() {
            let _ = writeln!(out, "  {}", st.paint("2", "not classified: pipe the records through keyhole-classify"));
        } else if diags.is_empty() {
            let probed = r.get("probe").is_some();
            let _ = writeln!(
                out,
                "  {}",
                st.paint(
                    "2",
                    if probed {
                        "nothing wrong found"
                    } else {
                        "nothing wrong found in the configuration (not probed)"
                    }
                )
            );
        }
        for (i, d) in diags.iter().enumerate() {
            let sev = d["severity"].as_str().unwrap_or("info");
            let label = if i == 0 { "" } else { "also " };
            let _ = writeln!(
                out,
                "  {} {label}{} {}",
                sev_mark(sev, st),
                st.paint("1", d["code"].as_str().unwrap_or("")),
                clean(d["summary"].as_str().unwrap_or(""))
            );
            for ev in d["evidence"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "      {}", st.paint("2", &clean(ev.as_str().unwrap_or(""))));
            }
            for fx in d["fix"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "      {} {}", st.paint("36", "fix:"), clean(fx.as_str().unwrap_or("")));
            }
        }
    }
    for r in records.iter().filter(|r| r["type"] == "error") {
        let _ =
            writeln!(out, "\n{} {}", st.paint("1;31", "could not check:"), clean(r["message"].as_str().unwrap_or("")));
    }
    out
}

/// Non-secret facts maintainers always ask for.
pub fn machine_facts() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let kernel = format!("{} {}", read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/osrelease"));
    let shell = std::env::var("SHELL")
        .ok()
        .and_then(|s| Path::new(&s).file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_default();
    vec![
        ("OS".into(), os),
        ("kernel".into(), kernel.trim().to_string()),
        ("shell".into(), shell),
        ("keyhole".into(), env!("CARGO_PKG_VERSION").to_string()),
    ]
}

fn md_escape(s: &str) -> String {
    clean(s).replace('|', "\\|").replace('`', "'")
}

pub fn markdown(records: &[Value], home: &str) -> String {
    let t = |s: &str| md_escape(&tilde(s, home));
    let mut out = String::new();
    let _ = writeln!(out, "## keyhole report\n");
    let _ = writeln!(out, "| fact | value |\n|---|---|");
    for (k, v) in machine_facts() {
        let _ = writeln!(out, "| {k} | {} |", md_escape(&v));
    }
    let subjects: Vec<&Value> =
        records.iter().filter(|r| matches!(r["type"].as_str(), Some("site" | "response" | "capture"))).collect();
    for r in subjects {
        let _ = writeln!(out);
        match r["type"].as_str() {
            Some("site") => {
                let _ = writeln!(
                    out,
                    "### {} — `{}:{}`\n",
                    t(r["tool"].as_str().unwrap_or("?")),
                    t(r["source"]["file"].as_str().unwrap_or("?")),
                    r["source"]["line"]
                );
                let _ = writeln!(out, "| | |\n|---|---|");
                let _ = writeln!(out, "| provider | {} |", t(r["provider"].as_str().unwrap_or("")));
                let _ = writeln!(out, "| model | {} |", t(r["model"].as_str().unwrap_or("")));
                let _ = writeln!(
                    out,
                    "| base URL | {} ({}) |",
                    t(r["base_url"].as_str().unwrap_or("")),
                    t(r["base_url_from"].as_str().unwrap_or(""))
                );
                let _ = writeln!(
                    out,
                    "| auth header | {} ({}) |",
                    t(r["auth"]["header"].as_str().unwrap_or("")),
                    t(r["auth"]["scheme"].as_str().unwrap_or(""))
                );
                let _ = writeln!(out, "| key | {} |", t(&key_line(r)));
                if let Some(p) = r.get("probe").filter(|p| p.is_object()) {
                    let msg = p["response"]["body"]["error"]["message"]
                        .as_str()
                        .or_else(|| p["error"]["message"].as_str())
                        .unwrap_or("");
                    let _ = writeln!(out, "| API answer | {} {} |", p["response"]["status"], t(msg));
                }
            }
            Some("capture") => {
                let _ = writeln!(
                    out,
                    "### capture — {} `{}`\n",
                    t(r["method"].as_str().unwrap_or("")),
                    t(r["path"].as_str().unwrap_or(""))
                );
                let auth = &r["auth"];
                let a = if auth.is_null() {
                    "no credential header".to_string()
                } else if let Some(p) = auth["placeholder"].as_str() {
                    format!("placeholder {p}")
                } else {
                    format!(
                        "{} {} {}",
                        auth["header"].as_str().unwrap_or(""),
                        auth["scheme"].as_str().unwrap_or(""),
                        fp_short(&auth["fp"])
                    )
                };
                let _ =
                    writeln!(out, "arrived: {}; user agent: {}\n", t(&a), t(r["user_agent"].as_str().unwrap_or("")));
            }
            _ => {
                let _ = writeln!(
                    out,
                    "### response — `{}:{}` (HTTP {})\n",
                    t(r["source"]["file"].as_str().unwrap_or("-")),
                    r["source"]["line"],
                    r["status"]
                );
            }
        }
        let diags = r["diagnoses"].as_array().cloned().unwrap_or_default();
        for (i, d) in diags.iter().enumerate() {
            let role = if i == 0 { "**Root cause**" } else { "Also" };
            let _ = writeln!(
                out,
                "\n{role}: `{}` ({}) — {}",
                d["code"].as_str().unwrap_or(""),
                d["severity"].as_str().unwrap_or(""),
                t(d["summary"].as_str().unwrap_or(""))
            );
            for ev in d["evidence"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "- evidence: {}", t(ev.as_str().unwrap_or("")));
            }
            for fx in d["fix"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "- fix: {}", t(fx.as_str().unwrap_or("")));
            }
        }
    }
    let _ = writeln!(out, "\n<sub>Keys appear only as prefix, last 4 characters and length.</sub>");
    out
}
