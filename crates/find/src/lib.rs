//! keyhole-find: every place on this machine where an AI tool takes an API
//! credential from, as `site` records (docs/records.md#site-records).
//!
//! Two sources of candidate files: the catalogued locations under the home
//! (each tool entry's `home_files`), and a bounded walk of the home and of
//! the paths given on the command line for project-level files
//! (`workspace_files`). Every file is read once, safely (no FIFO, no device,
//! capped size), parsed by a real parser that keeps lines, and handed to
//! each tool whose rule matched it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use keyhole_core::cli::{self, ProviderUrlArgs};
use keyhole_core::error::{Error, Result};
use keyhole_core::fsread::ReadError;
use keyhole_core::provider;
use keyhole_core::record::{Auth, ErrorRecord, Record, Site, Source, VERSION};
use keyhole_core::scan::{self, ScanError};
use keyhole_core::stage::{Ctx, Output};
use keyhole_core::tool::{self, Draft, FileKind, FileRule, Tool, TOOLS};
use keyhole_core::Status;
use walkdir::WalkDir;

pub mod gateway;

pub const TOOL_NAME: &str = "keyhole-find";

/// Directory names never descended into: dependency trees, VCS data,
/// build output, virtualenvs and caches.
const PRUNE: &[&str] = &[
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    "target",
    "venv",
    ".venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".gradle",
    ".m2",
    ".cargo",
    ".rustup",
    ".npm",
    ".pnpm-store",
    ".yarn",
    ".cache",
    "snap",
    ".local",
    ".mozilla",
    ".vscode-server",
    ".steam",
    "Library",
    ".Trash",
    "vendor",
    "bower_components",
    ".terraform",
];

#[derive(Debug, Clone)]
pub struct Options {
    pub home: PathBuf,
    pub paths: Vec<PathBuf>,
    pub max_depth: usize,
    pub max_filesize: u64,
    pub walk_home: bool,
    pub tools: Vec<String>,
    pub provider_urls: BTreeMap<String, String>,
    pub host: String,
    /// Where running processes are read (a gateway's `--config` and
    /// `--port`); None: not at all.
    pub proc_root: Option<PathBuf>,
}

impl Options {
    /// The defaults for `home`, with the PATHs, the provider URLs and the
    /// tools asked for (an unknown tool is a usage error).
    pub fn new(home: PathBuf, paths: &[PathBuf], urls: &ProviderUrlArgs, tools: Vec<String>) -> Result<Options> {
        if let Some(t) = tools.iter().find(|t| tool::get(t).is_none()) {
            return Err(Error::usage(format!("unknown tool {t:?}; see keyhole-find --list-tools")));
        }
        // A home or PATH that is not there is a mistyped argument, not "nothing configured".
        if !home.is_dir() {
            let what = if home.exists() { "not a directory" } else { "no such directory" };
            return Err(Error::usage(format!("{what}: {} (the home to analyse: $HOME or --home DIR)", home.display())));
        }
        if let Some(p) = paths.iter().find(|p| std::fs::symlink_metadata(p).is_err()) {
            return Err(Error::usage(format!("no such file or directory: {}", p.display())));
        }
        Ok(Options {
            home,
            paths: paths.iter().cloned().map(cli::absolute).collect(),
            max_depth: 6,
            max_filesize: keyhole_core::fsread::DEFAULT_CAP,
            walk_home: true,
            tools,
            provider_urls: urls.map(),
            host: keyhole_core::record::host_name(),
            proc_root: Some(PathBuf::from("/proc")),
        })
    }
}

/// keyhole-find's run: the records on stdout, notes on stderr (unless
/// `quiet`). Status 1 when no site was found, 2 when an error record was written.
pub fn run(opts: &Options, quiet: bool) -> Result<Status> {
    let outcome = find(opts);
    let ctx = Ctx::new(TOOL_NAME);
    let status = outcome.status(opts, &ctx);
    ctx.say_notes(quiet);
    let mut out = Output::stdout();
    for r in outcome.records() {
        out.buffer(&r)?;
    }
    out.flush()?;
    Ok(status)
}

/// What a run found: sites, errors (each an `error` record), and notes for people.
#[derive(Debug, Default)]
pub struct Outcome {
    pub sites: Vec<Site>,
    pub errors: Vec<ErrorRecord>,
    pub notes: Vec<String>,
    /// How many candidate files were read.
    pub files_read: usize,
}

impl Outcome {
    /// The run's status (2 an error record, 1 no site, else 0); the notes go to `ctx`.
    pub fn status(&self, opts: &Options, ctx: &Ctx) -> Status {
        for n in &self.notes {
            ctx.note(n.clone());
        }
        if !self.errors.is_empty() {
            Status::Failed
        } else if self.sites.is_empty() {
            ctx.note(format!(
                "no site found under {} ({} config files read); see --list-tools for where each tool is looked for",
                opts.home.display(),
                self.files_read
            ));
            Status::Found
        } else {
            Status::Ok
        }
    }

    /// Sites and errors as records, sorted by file, line and id (the output's order).
    pub fn records(&self) -> Vec<Record> {
        let mut v: Vec<(&str, u32, &str, Record)> =
            self.sites
                .iter()
                .map(|s| (s.source.file.as_str(), s.source.line, s.id.as_str(), Record::from(s.clone())))
                .chain(self.errors.iter().map(|e| {
                    (e.file.as_deref().unwrap_or_default(), e.line.unwrap_or(0), "", Record::Error(e.clone()))
                }))
                .collect();
        v.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        v.into_iter().map(|(_, _, _, r)| r).collect()
    }
}

/// A file to read, and the tools that read it.
#[derive(Default)]
struct Candidate {
    kind: Option<FileKind>,
    tools: Vec<&'static Tool>,
    sniffed_only: bool,
}

pub fn find(opts: &Options) -> Outcome {
    let mut out = Outcome::default();
    let selected: Vec<&'static Tool> =
        TOOLS.iter().copied().filter(|t| opts.tools.is_empty() || opts.tools.iter().any(|n| n == t.name)).collect();
    // Keyed by path as found, in a stable order.
    let mut cands: BTreeMap<PathBuf, Candidate> = BTreeMap::new();
    let mut add = |path: PathBuf, kind: FileKind, tool: &'static Tool, sniffed: bool| {
        let c = cands.entry(path).or_default();
        if c.kind.is_none() {
            c.kind = Some(kind);
            c.sniffed_only = sniffed;
        } else {
            c.sniffed_only &= sniffed;
        }
        if !c.tools.iter().any(|t| t.name == tool.name) {
            c.tools.push(tool);
        }
    };

    // 1. Catalogued locations under the home.
    for t in &selected {
        for rule in t.home_files {
            for p in expand(&opts.home, rule.pattern, rule.kind == FileKind::Marker) {
                add(p, rule.kind, t, false);
            }
        }
    }

    // 2. The walk: the home (bounded) and every directory given.
    let mut roots: Vec<PathBuf> = Vec::new();
    if opts.walk_home {
        roots.push(opts.home.clone());
    }
    for p in &opts.paths {
        match std::fs::metadata(p) {
            Ok(md) if md.is_dir() => roots.push(p.clone()),
            Ok(_) => {
                let matched = match_workspace(p, &selected, true);
                if matched.is_empty() {
                    match sniff_tools(p, &selected) {
                        Some((kind, tools)) => tools.into_iter().for_each(|t| add(p.clone(), kind, t, false)),
                        None => out.notes.push(format!(
                            "{}: no catalogued tool reads a file like this; skipped (see --list-tools)",
                            p.display()
                        )),
                    }
                }
                for (t, rule) in matched {
                    add(p.clone(), rule.kind, t, false);
                }
            }
            Err(e) => out.errors.push(
                ErrorRecord::new(TOOL_NAME, format!("{}: {}", p.display(), ReadError::Io(e)))
                    .at_file(&p.display().to_string(), None),
            ),
        }
    }
    for root in &roots {
        walk(root, opts.max_depth, &selected, &mut out.notes, &mut |p, t, rule| {
            // Known only from its content (a generic config.yaml): a parse failure is not an error.
            let sniffed = t.sniffed_files.contains(&rule.pattern);
            add(p, rule.kind, t, sniffed)
        });
    }

    // 3. Read, parse and extract; one read per file, the same real file once.
    let mut seen_real: HashSet<(PathBuf, &'static str)> = HashSet::new();
    for (path, cand) in &cands {
        let Some(kind) = cand.kind else { continue };
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let tools: Vec<&'static Tool> =
            cand.tools.iter().copied().filter(|t| seen_real.insert((real.clone(), t.name))).collect();
        if tools.is_empty() {
            continue;
        }
        let file = path.display().to_string();
        match scan::extract_file(path, kind, &tools, &opts.home, opts.max_filesize, cand.sniffed_only) {
            Ok(ex) => {
                if kind != FileKind::Marker {
                    out.files_read += 1;
                }
                for (t, d) in ex.drafts {
                    out.sites.push(to_site(d, t, &file, opts));
                }
            }
            Err(ScanError::Skip(m)) | Err(ScanError::NotOurs(m)) => out.notes.push(m),
            Err(ScanError::Error { message, line }) => {
                out.errors.push(ErrorRecord::new(TOOL_NAME, message).at_file(&file, line))
            }
        }
    }
    dedupe_ids(&mut out.sites);
    gateway::link(&mut out.sites, &opts.home, opts.proc_root.as_deref(), &mut out.notes);
    out
}

/// Expand a home pattern with `*` components into the paths that exist.
fn expand(home: &Path, pattern: &str, want_dir: bool) -> Vec<PathBuf> {
    let mut current = vec![home.to_path_buf()];
    let parts: Vec<&str> = pattern.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for dir in &current {
            if part.contains('*') {
                let Ok(rd) = std::fs::read_dir(dir) else { continue };
                let mut names: Vec<PathBuf> = rd
                    .flatten()
                    .filter(|e| e.file_name().to_str().is_some_and(|n| tool::matches(part, n)))
                    .map(|e| e.path())
                    .collect();
                names.sort();
                next.extend(names);
            } else {
                next.push(dir.join(part));
            }
        }
        current = next
            .into_iter()
            .filter(|p| match std::fs::symlink_metadata(p) {
                // Symlinked dotfiles are common: follow links for catalogued files.
                Ok(md) if md.file_type().is_symlink() => true,
                Ok(md) => !last || (want_dir == md.is_dir()) || !md.is_dir(),
                Err(_) => false,
            })
            .collect();
    }
    if want_dir {
        current.retain(|p| p.is_dir());
    }
    current
}

/// Tools whose workspace rules (or, for a file named on the command line,
/// home rules too) match the end of `path`.
fn match_workspace(path: &Path, tools: &[&'static Tool], include_home: bool) -> Vec<(&'static Tool, FileRule)> {
    let comps: Vec<String> = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let mut out = Vec::new();
    for t in tools {
        let rules = t.workspace_files.iter().chain(if include_home { t.home_files.iter() } else { [].iter() });
        for rule in rules {
            if rule.kind == FileKind::Marker {
                continue;
            }
            let n = rule.pattern.split('/').count();
            if comps.len() < n {
                continue;
            }
            let tail = comps[comps.len() - n..].join("/");
            if tool::matches(rule.pattern, &tail) {
                out.push((*t, *rule));
                break;
            }
        }
    }
    out
}

/// A file named on the command line that matches no rule: guess by its name
/// (the catalogue's `sniff`).
fn sniff_tools(path: &Path, tools: &[&'static Tool]) -> Option<(FileKind, Vec<&'static Tool>)> {
    let guess = tool::Sniff::of_name(&path.file_name()?.to_string_lossy())?;
    let t: Vec<&'static Tool> = tools.iter().copied().filter(|t| t.sniff.contains(&guess)).collect();
    (!t.is_empty()).then_some((guess.kind(), t))
}

fn walk(
    root: &Path,
    max_depth: usize,
    tools: &[&'static Tool],
    notes: &mut Vec<String>,
    found: &mut dyn FnMut(PathBuf, &'static Tool, FileRule),
) {
    // Hidden directories holding project-level configs; every other hidden
    // directory is skipped (the catalogued home locations cover the home's own).
    let hidden: Vec<&str> = TOOLS.iter().flat_map(|t| t.hidden_dirs()).collect();
    // Only names that some workspace rule could match are looked at closely.
    let it = WalkDir::new(root).max_depth(max_depth).follow_links(false).sort_by_file_name().into_iter();
    let it = it.filter_entry(|e| {
        if e.depth() == 0 || !e.file_type().is_dir() {
            return true;
        }
        let name = e.file_name().to_string_lossy();
        if PRUNE.contains(&name.as_ref()) {
            return false;
        }
        !name.starts_with('.') || hidden.contains(&name.as_ref())
    });
    let mut first_names: HashMap<&'static str, ()> = HashMap::new();
    for t in tools {
        for r in t.workspace_files {
            first_names.insert(r.pattern.rsplit('/').next().unwrap_or(r.pattern), ());
        }
    }
    let name_could_match = |n: &str| first_names.keys().any(|p| tool::matches(p, n));
    for entry in it {
        let e = match entry {
            Ok(e) => e,
            Err(err) => {
                // Unreadable directories and loops are noted, never fatal.
                let p = err.path().map(|p| p.display().to_string()).unwrap_or_default();
                notes.push(format!(
                    "{p}: {}; skipped",
                    err.io_error().map_or_else(|| err.to_string(), |e| e.to_string())
                ));
                continue;
            }
        };
        let ft = e.file_type();
        if ft.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy();
        if !name_could_match(&name) {
            continue;
        }
        for (t, rule) in match_workspace(e.path(), tools, false) {
            found(e.path().to_path_buf(), t, rule);
        }
    }
}

fn to_site(d: Draft, tool: &Tool, file: &str, opts: &Options) -> Site {
    let p = d.provider;
    let (base_url, base_url_from) = match d.base_url {
        Some((u, from)) => (u, from),
        None => {
            (opts.provider_urls.get(p.name).cloned().unwrap_or_else(|| p.base_url.to_string()), "default".to_string())
        }
    };
    let (header, scheme) = d.auth.unwrap_or((p.auth_header, p.scheme));
    let tool_name = d.tool.unwrap_or(tool.name);
    let id = match (&d.pointer, &d.id_suffix) {
        (Some(ptr), _) => format!("{tool_name}:{file}#{ptr}"),
        (None, Some(s)) => format!("{tool_name}:{file}#{s}"),
        (None, None) => format!("{tool_name}:{file}"),
    };
    Site {
        v: VERSION,
        id,
        host: opts.host.clone(),
        tool: tool_name.into(),
        source: Source::new(file, d.line.max(1), d.pointer),
        provider: p.name.into(),
        model: d.model,
        base_url,
        base_url_from,
        auth: Auth::new(header.as_str(), scheme.as_str()),
        key: d.key,
        also: Vec::new(),
        assigns: d.assigns,
        template: is_template(Path::new(file)),
        gateway: None,
        env: None,
        probe: None,
        diagnoses: None,
        extra: Default::default(),
    }
}

/// A template a project ships for people to copy (`.env.example`,
/// `.env.sample`, `config.yaml.template`, `example.env`): no tool loads it.
pub fn is_template(file: &Path) -> bool {
    let name = file.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    const MARKS: &[&str] = &["example", "sample", "template", "tmpl", "dist", "defaults"];
    name.split(['.', '-', '_']).any(|part| MARKS.contains(&part))
}

/// Ids are unique: a second site with the same id gets `~2`, `~3`…
fn dedupe_ids(sites: &mut [Site]) {
    let mut count: HashMap<String, usize> = HashMap::new();
    for s in sites.iter_mut() {
        let n = count.entry(s.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            s.id = format!("{}~{}", s.id, n);
        }
    }
}

/// The catalogue's names in one paragraph each, as the man page and the
/// README list them (tests/tools_long_tail.rs keeps the three in step).
pub fn catalogue_names() -> String {
    let tools: Vec<&str> = TOOLS.iter().map(|t| t.display).collect();
    let providers: Vec<&str> = provider::PROVIDERS.iter().map(|p| p.display).collect();
    format!(
        "Tools catalogued ({}): {}.\nProviders catalogued ({}): {}.",
        tools.len(),
        tools.join(", "),
        providers.len(),
        providers.join(", ")
    )
}

/// The catalogue as people read it (`--list-tools`).
pub fn catalogue_text() -> String {
    let mut s = String::new();
    for t in TOOLS {
        s.push_str(&format!("{:<16} {}\n", t.name, t.display));
        for r in t.home_files {
            s.push_str(&format!("{:<16}   ~/{}\n", "", r.pattern));
        }
        for r in t.workspace_files {
            s.push_str(&format!("{:<16}   <project>/{}\n", "", r.pattern));
        }
        if !t.expands.is_empty() {
            s.push_str(&format!("{:<16}   expands: {}\n", "", t.expands.join(", ")));
        }
        let reads: Vec<&str> = t.key_vars.iter().map(|(v, _)| *v).chain(t.env_vars.iter().copied()).collect();
        if !reads.is_empty() {
            s.push_str(&format!("{:<16}   reads: {}\n", "", reads.join(", ")));
        }
        if !t.other_os.is_empty() {
            s.push_str(&format!("{:<16}   elsewhere: {}\n", "", t.other_os.join(", ")));
        }
    }
    s.push_str("\nproviders:\n");
    for p in provider::PROVIDERS {
        s.push_str(&format!(
            "{:<18} {:<48} {}\n",
            p.name,
            if p.base_url.is_empty() { "(no default)" } else { p.base_url },
            p.auth_header.as_str()
        ));
    }
    s
}
