//! Man pages in the conventions of man-pages(7), from each binary's one clap
//! definition: NAME, SYNOPSIS, DESCRIPTION and OPTIONS from the flags (every
//! flag has help text: `--generate lint`), EXIT STATUS, EXAMPLES and NOTES
//! from the `after_help` text (`Exit status: …`, `Examples:` and the
//! indented lines after it, any other line a note), ENVIRONMENT and FILES
//! from the flags a binary takes (`--home` reads HOME, `--proc-root` reads
//! /proc…), SEE ALSO from the pages of the suite. A line `Exit status of
//! doctor: …` of the umbrella is also the EXIT STATUS of keyhole-doctor(1).
//! Words are never hyphenated (`.nh`): `keyhole-report` stays whole, and
//! examples are kept unfilled in `.EX` blocks.

use clap::Command;

use super::PROGRAMS;
use crate::error::{Error, Result};

/// The page of `cmd`, or of its subcommand `sub` (`keyhole-doctor`).
pub fn page(mut root: Command, sub: Option<&str>) -> Result<String> {
    root.build();
    let cmd = match sub {
        None => root.clone(),
        Some(s) => {
            let c = root
                .find_subcommand(s)
                .filter(|c| !c.is_hide_set())
                .ok_or_else(|| Error::usage(format!("{} has no subcommand {s:?}", root.get_name())))?;
            c.clone().display_name(page_name(&root, Some(s))).bin_name(format!("{} {s}", root.get_name()))
        }
    };
    let name = page_name(&root, sub);
    let source = format!("{} {}", root.get_name(), root.get_version().unwrap_or_default());
    let man = clap_mangen::Man::new(cmd.clone());
    let notes = AfterHelp::parse(&root, sub);

    let mut out = String::new();
    // The title line by hand: clap_mangen leaves an empty date out, which
    // shifts the source into the date's place.
    out.push_str(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n");
    out.push_str(&format!(".TH {} 1 \"\" \"{}\" \"keyhole manual\"\n", esc(&name.to_uppercase()), esc(&source)));
    // No hyphenation (an.tmac restores \n[HY] at every paragraph, so the
    // register too): `keyhole-report` is never broken into `key-hole-report`.
    // Ragged right (and AD, which an.tmac restores): a long flag on a narrow
    // terminal is no line troff cannot adjust.
    out.push_str(".nh\n.nr HY 0\n.ad l\n.ds AD l\n");
    render(&mut out, &man, |m, w| m.render_name_section(w))?;
    render(&mut out, &man, |m, w| m.render_synopsis_section(w))?;
    render(&mut out, &man, |m, w| m.render_description_section(w))?;
    if cmd.is_allow_external_subcommands_set() {
        out.push_str(&paragraph(&format!(
            "keyhole NAME ARGS… runs keyhole-NAME ARGS… (looked for beside {0}, then on PATH), and exits with its status.",
            root.get_name()
        )));
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        render(&mut out, &man, |m, w| m.render_options_section(w))?;
    }
    if cmd.has_subcommands() || cmd.is_allow_external_subcommands_set() {
        out.push_str(".SH COMMANDS\n");
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
            out.push_str(&format!(".TP\n.BR {} (1)\n{}\n", esc(&format!("{name}-{}", s.get_name())), esc(&about)));
        }
        if cmd.is_allow_external_subcommands_set() {
            for (p, about) in PROGRAMS.iter().filter(|(p, _)| cmd.find_subcommand(p).is_none()) {
                out.push_str(&format!(".TP\n.BR {} (1)\n{}\n", esc(&format!("{name}-{p}")), esc(about)));
            }
        }
    }

    out.push_str(".SH \"EXIT STATUS\"\n");
    if cmd.is_allow_external_subcommands_set() {
        out.push_str(&paragraph("keyhole NAME exits with the status of keyhole-NAME; 2 for a usage error."));
    }
    for e in &notes.exit_status {
        out.push_str(&paragraph(e));
    }

    out.push_str(".SH ENVIRONMENT\n");
    let env = environment(&cmd);
    if env.is_empty() {
        out.push_str(&paragraph(&format!("{name} reads no environment variable.")));
    }
    for (var, text) in env {
        out.push_str(&format!(".TP\n.B {}\n{}\n", esc(var), esc(text)));
    }

    out.push_str(".SH FILES\n");
    let files = files(&cmd);
    if files.is_empty() {
        out.push_str(&paragraph(&format!(
            "{name} reads only its standard input and the files named on its command line."
        )));
    }
    for (file, text) in files {
        out.push_str(&format!(".TP\n.I {}\n{}\n", esc(file), esc(text)));
    }

    if !notes.notes.is_empty() {
        out.push_str(".SH NOTES\n");
        for (i, n) in notes.notes.iter().enumerate() {
            if i > 0 {
                out.push_str(".PP\n");
            }
            for l in n.lines() {
                out.push_str(&format!("{}\n", esc(l)));
            }
        }
    }

    out.push_str(".SH EXAMPLES\n");
    out.push_str(".EX\n");
    for e in &notes.examples {
        out.push_str(&format!("{}\n", esc(e)));
    }
    out.push_str(".EE\n");

    out.push_str(".SH \"SEE ALSO\"\n");
    // The suite's pages: keyhole(1), its subcommands' (keyhole-doctor(1)), every program's.
    let suite = root.get_name().split('-').next().unwrap_or_default().to_string();
    let mut see: Vec<String> = vec![suite.clone()];
    if root.get_name() == suite {
        for s in root.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            see.push(format!("{suite}-{}", s.get_name()));
        }
    }
    for (p, _) in PROGRAMS {
        let page = format!("{suite}-{p}");
        if !see.contains(&page) {
            see.push(page);
        }
    }
    let see: Vec<String> = see.into_iter().filter(|p| *p != name).collect();
    for (i, p) in see.iter().enumerate() {
        let comma = if i + 1 < see.len() { "," } else { "" };
        out.push_str(&format!(".BR {} (1){comma}\n", esc(p)));
    }
    Ok(out)
}

/// Append one of clap_mangen's sections to `out`.
fn render(
    out: &mut String,
    man: &clap_mangen::Man,
    f: impl Fn(&clap_mangen::Man, &mut Vec<u8>) -> std::io::Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    f(man, &mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    // roff's writer starts every piece with the \*(Aq definitions: the page has them once.
    let text: String = text.lines().skip(2).map(|l| format!("{l}\n")).collect();
    out.push_str(&text);
    Ok(())
}

/// `keyhole`, `keyhole-find`, `keyhole-doctor`.
fn page_name(root: &Command, sub: Option<&str>) -> String {
    match sub {
        Some(s) => format!("{}-{s}", root.get_name()),
        None => root.get_name().to_string(),
    }
}

/// The after_help text sorted into sections.
#[derive(Default)]
struct AfterHelp {
    exit_status: Vec<String>,
    examples: Vec<String>,
    notes: Vec<String>,
}

impl AfterHelp {
    /// `Label: text` lines and `Examples:` with its indented lines. On a
    /// subcommand's page: the parent's lines `Label of SUB: text` as
    /// `Label: text`, and the parent's examples that run `PARENT SUB`.
    fn parse(root: &Command, sub: Option<&str>) -> AfterHelp {
        let text =
            root.get_after_long_help().or_else(|| root.get_after_help()).map(|t| t.to_string()).unwrap_or_default();
        let mut own = AfterHelp::default();
        let mut in_examples = false;
        for line in text.lines() {
            if in_examples && line.starts_with(' ') {
                let ex = line.trim().to_string();
                let runs_sub = sub.is_none_or(|s| ex.starts_with(&format!("{} {s}", root.get_name())));
                if runs_sub {
                    own.examples.push(ex);
                }
                continue;
            }
            in_examples = false;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (label, body) = line.split_once(": ").unwrap_or(("", line));
            let (label, of) = match label.split_once(" of ") {
                Some((l, of)) => (l, Some(of)),
                None => (label, None),
            };
            if line.trim_end_matches(':').eq_ignore_ascii_case("examples") {
                in_examples = true;
                continue;
            }
            // A line about another subcommand belongs on that page only.
            let mine = match (sub, of) {
                (Some(s), Some(of)) => of == s,
                (Some(_), None) => label.eq_ignore_ascii_case("redaction"),
                (None, _) => true,
            };
            if !mine {
                continue;
            }
            if label.eq_ignore_ascii_case("exit status") {
                let body = match (sub, of) {
                    (None, Some(of)) => format!("{} {of}: {body}", root.get_name()),
                    _ => body.to_string(),
                };
                own.exit_status.push(body);
            } else if sub.is_some() && of.is_some() {
                own.notes.push(format!("{label}: {body}"));
            } else if label.chars().any(|c| !(c.is_alphabetic() || c == ' ')) && !own.notes.is_empty() {
                // A line such as `Providers catalogued (24): …` goes on the
                // paragraph before it (the catalogue is one paragraph).
                let last = own.notes.last_mut().expect("not empty");
                last.push('\n');
                last.push_str(line);
            } else {
                own.notes.push(line.to_string());
            }
        }
        own
    }
}

/// The variables a command reads, by the flags it takes (its subcommands' too).
fn environment(cmd: &Command) -> Vec<(&'static str, &'static str)> {
    let has = |id: &str| takes(cmd, id);
    let mut out = Vec::new();
    if has("home") {
        out.push(("HOME", "The home directory analysed when --home is not given."));
    }
    if has("env_file") {
        out.push((
            "OPENROUTER_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY, …",
            "The variables each catalogued tool reads its key from, and every other variable below, are taken from this program's own environment unless --env-file names another.",
        ));
    }
    if has("shell") || has("env_file") && has("paths") && !has("jobs") {
        out.push((
            "SHELL",
            "The user's login shell (bash, zsh or fish), whose startup files decide what each launch context gets.",
        ));
    }
    if has("timeout") {
        out.push((
            "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
            "The proxy each request goes through, as the AI tools use them (http://, socks4://, socks5://, socks5h://); credentials in them are redacted.",
        ));
        out.push((
            "SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS",
            "More CA certificates to trust, as the tools that read them do (with the system's and every --cacert).",
        ));
    }
    if has("color") {
        out.push(("NO_COLOR", "When set and not empty, the text report has no colour, whatever --color says."));
        out.push(("TERM", "With --color auto, no colour when TERM is dumb."));
    }
    if cmd.is_allow_external_subcommands_set() {
        out.push(("PATH", "Where keyhole NAME looks for keyhole-NAME when it is not beside keyhole."));
    }
    out
}

/// The files a command reads, by the flags it takes.
fn files(cmd: &Command) -> Vec<(&'static str, &'static str)> {
    let has = |id: &str| takes(cmd, id);
    let mut out = Vec::new();
    if has("provider_url") {
        out.push((
            "~/.continue/config.yaml, ~/.config/opencode/opencode.json, ~/.aider.conf.yml, …",
            "The configuration files of every catalogued AI tool under the home, and project files found by a bounded walk of the home and each PATH (keyhole-find --list-tools prints every path). They are read, never written.",
        ));
    }
    if has("etc") || has("env_file") && has("paths") && !has("jobs") {
        out.push((
            "~/.bashrc, ~/.profile, ~/.bash_profile, ~/.zshenv, ~/.zshrc, ~/.config/fish/config.fish, ~/.config/environment.d/*.conf, ~/.pam_environment",
            "The startup files that define a key variable, and every file they source: read, never run (keyhole-env --exec runs the real shells on a throwaway view of the home).",
        ));
        out.push((
            "/etc/profile, /etc/profile.d/*.sh, /etc/bash.bashrc, /etc/environment",
            "The system's startup files (keyhole-env --etc DIR reads them elsewhere).",
        ));
    }
    if has("env_file") {
        out.push(("--env-file FILE", "An environment to analyse instead of this program's own: NAME=VALUE lines, or NUL-separated as /proc/PID/environ."));
    }
    if has("proc_root") {
        out.push((
            "/proc/PID/cmdline, /proc/PID/environ, /proc/PID/stat, /proc/stat",
            "The running processes of each tool's family, their environment and start time (--proc-root DIR reads a copy elsewhere); other users' processes are skipped.",
        ));
    }
    if has("rules") {
        out.push(("--rules FILE", "More rules, in the TOML format of the embedded table (--print-rules prints it), tried before the embedded ones."));
    }
    out
}

/// Whether `cmd` or one of its subcommands takes the argument `id`.
fn takes(cmd: &Command, id: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == id && !a.is_hide_set()) || cmd.get_subcommands().any(|s| takes(s, id))
}

/// One filled paragraph.
fn paragraph(text: &str) -> String {
    format!(".PP\n{}\n", esc(text))
}

/// Text for roff: backslashes, minus signs and quotes escaped, a leading
/// control character made inert.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\'' => out.push_str("\\*(Aq"),
            c => out.push(c),
        }
    }
    if out.starts_with('.') {
        out.insert_str(0, "\\&");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_roff() {
        assert_eq!(esc(".x a-b 'q' \\n"), "\\&.x a\\-b \\*(Aqq\\*(Aq \\en");
    }
}
