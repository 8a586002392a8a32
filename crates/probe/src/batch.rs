//! keyhole-probe as a [`Stage`]: a batch of records (raw lines from a pipe,
//! or records in memory for `keyhole doctor`) is parsed and planned on every
//! CPU (see [`crate::pool`]), each distinct request is sent as soon as it is
//! planned (see [`crate::dispatch`]), and each site gets its answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use keyhole_core::error::Result;
use keyhole_core::record::probe::{Alternative, Probe, ProbeError};
use keyhole_core::record::{ErrorRecord, Record, Site};
use keyhole_core::stage::{self, Ctx, Line, Stage};
use keyhole_core::Status;

use crate::dispatch::{Dispatch, Outcome};
use crate::net::Client;
use crate::pool::{self, Pool};
use crate::{plan, Options, TOOL_NAME};

/// The probe stage: every `site` gets a `probe` (an earlier one is
/// replaced); other records pass through unchanged, and all of them do
/// offline. Identical requests are sent once a run, at most `jobs` at a time.
pub struct ProbeStage {
    client: Arc<Client>,
    dispatch: Arc<Dispatch<Probe>>,
    pool: Pool,
    offline: bool,
}

impl std::fmt::Debug for ProbeStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProbeStage({:?}, offline: {})", self.dispatch, self.offline)
    }
}

impl ProbeStage {
    /// Starts the helper threads (do it before reading the input: they are
    /// ready by the first batch) and checks `--cacert`.
    pub fn new(opts: Options, offline: bool) -> Result<ProbeStage> {
        let pool = Pool::with_warmup(cpus() - 1, (!offline).then_some(crate::net::warm_up as fn()));
        let dispatch = Arc::new(Dispatch::new(opts.jobs));
        Ok(ProbeStage { client: Arc::new(Client::new(opts)?), dispatch, pool, offline })
    }

    /// Parse (lines), plan and submit on every CPU, wait for the answers in
    /// input order, attach them on every CPU.
    fn run(&self, inputs: Vec<Input>, ctx: &Ctx) -> Vec<Record> {
        let alone = inputs.len() == 1;
        let batch = Arc::new(Batch {
            slots: inputs.into_iter().map(|input| Mutex::new(Slot::new(input))).collect(),
            client: self.client.clone(),
            dispatch: self.dispatch.clone(),
            offline: self.offline,
            alone,
            ctx: Ctx::new(ctx.tool()),
        });
        // A few sites are not worth a helper's wake-up (~50 µs).
        self.pool.run(Arc::new(PlanStep(batch.clone())), 4);
        if batch.slots.iter().any(|s| lock(s).planned.is_some()) {
            let waiting = AtomicBool::new(true);
            std::thread::scope(|sc| {
                if self.client.options().progress {
                    sc.spawn(|| progress(&self.dispatch, &waiting));
                }
                for slot in &batch.slots {
                    let mut s = lock(slot);
                    if let Some(Ok(key)) = &s.planned {
                        s.answer = self.dispatch.wait(key);
                        let main = s.answer.clone();
                        s.account.submit(main.as_deref(), &self.dispatch, &self.client, batch.alone);
                    }
                    let alts: Vec<_> = s
                        .alternatives
                        .iter()
                        .map(|(_, k)| k.as_ref().ok().and_then(|k| self.dispatch.wait(k)))
                        .collect();
                    s.alt_answers = alts;
                }
                // The account reads, sent as each site's own answer came (crate::account).
                batch.slots.iter().for_each(|slot| lock(slot).account.wait(&self.dispatch));
                waiting.store(false, Ordering::SeqCst);
            });
            self.pool.run(Arc::new(AttachStep(batch.clone())), 16);
        }
        ctx.raise(batch.ctx.status());
        batch
            .slots
            .iter()
            .map(|slot| {
                let mut s = lock(slot);
                match s.record.take() {
                    Some(r) if s.finished && s.internal.is_none() => r,
                    // Its parsing, planning or sending panicked (a bug, said on
                    // stderr): an error record and exit 2, never a site without its answer.
                    record => {
                        ctx.raise(Status::Failed);
                        let site = record.as_ref().and_then(Record::site);
                        let what = match site {
                            Some(site) => format!("{} ({})", s.what(), site.id),
                            None => s.what(),
                        };
                        let why = s.internal.as_deref().unwrap_or("a panic");
                        let mut e = ErrorRecord::new(
                            ctx.tool(),
                            format!("{what} could not be probed (internal error: {why}); skipped"),
                        );
                        if let Some(site) = site {
                            e = e.at_file(&site.source.file, Some(site.source.line));
                        }
                        Record::Error(match s.line {
                            Some(n) => e.at_input_line(n),
                            None => e,
                        })
                    }
                }
            })
            .collect()
    }
}

impl Stage for ProbeStage {
    fn expects(&self) -> stage::Expects {
        stage::Expects { what: "site records", from: "keyhole-find's (or keyhole-env's) output" }
    }

    fn apply(&self, record: &mut Record, ctx: &Ctx) {
        self.apply_batch(std::slice::from_mut(record), ctx);
    }

    /// Records in memory (`keyhole doctor`): the same work as for lines.
    fn apply_batch(&self, records: &mut [Record], ctx: &Ctx) {
        if self.offline || records.is_empty() {
            return;
        }
        let inputs: Vec<Input> = records
            .iter_mut()
            .map(|r| Input::Record(Box::new(std::mem::replace(r, Record::Unknown(Default::default())))))
            .collect();
        for (r, done) in records.iter_mut().zip(self.run(inputs, ctx)) {
            *r = done;
        }
    }

    /// Lines parsed on every CPU (the driver reads and writes).
    fn apply_lines(&self, lines: Vec<Line>, ctx: &Ctx) -> Vec<Record> {
        self.run(lines.into_iter().map(Input::Line).collect(), ctx)
    }
}

enum Input {
    Line(Line),
    Record(Box<Record>),
}

/// One record of a batch, as it goes through the steps.
struct Slot {
    /// Taken by [`PlanStep`].
    input: Option<Input>,
    /// Its input line, when it came from one.
    line: Option<u64>,
    record: Option<Record>,
    /// A site's request: its key in the dispatch, or why there is none.
    planned: Option<std::result::Result<String, ProbeError>>,
    answer: Option<Arc<Outcome<Probe>>>,
    /// The values the tool does not send, planned the same way (see [`alternatives`]).
    alternatives: Vec<(Alternative, std::result::Result<String, ProbeError>)>,
    alt_answers: Vec<Option<Arc<Outcome<Probe>>>>,
    /// The account reads that follow a working key (see [`crate::account`]).
    account: crate::account::Pending,
    /// [`PlanStep`] ran to its end.
    finished: bool,
    /// What a panic in this record's work said.
    internal: Option<String>,
}

impl Slot {
    fn new(input: Input) -> Slot {
        let line = match &input {
            Input::Line((n, _)) => Some(*n),
            Input::Record(_) => None,
        };
        Slot {
            input: Some(input),
            line,
            record: None,
            planned: None,
            answer: None,
            alternatives: Vec::new(),
            alt_answers: Vec::new(),
            account: Default::default(),
            finished: false,
            internal: None,
        }
    }
    fn what(&self) -> String {
        match self.line {
            Some(n) => format!("input line {n}"),
            None => "a record".into(),
        }
    }
}

/// One batch, owned by the pool's tasks.
struct Batch {
    slots: Vec<Mutex<Slot>>,
    client: Arc<Client>,
    dispatch: Arc<Dispatch<Probe>>,
    offline: bool,
    /// The only record: its request is sent by its waiter, no sender thread.
    alone: bool,
    /// The batch's own status (bad lines), raised into the run's afterwards.
    ctx: Ctx,
}

/// A slot whose step panicked is still good to read.
fn lock(m: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Batch {
    /// Plan a site's request and submit it to the run's dispatch: it is sent
    /// at once unless an identical one was. Returns its key.
    fn submit(
        &self,
        site: &Site,
        account: Option<&mut crate::account::Pending>,
    ) -> std::result::Result<String, ProbeError> {
        let plan = plan::plan(site, self.client.options(), self.client.gate())?;
        if let Some(a) = account {
            *a = crate::account::Pending::of(&plan, self.client.gate());
        }
        let key = plan.dedupe_key();
        let client = self.client.clone();
        self.dispatch.submit(key.clone(), move || client.send(&plan), self.alone);
        Ok(key)
    }
}

/// Parse a line and, for a site, plan its request (re-read its key) and submit it.
struct PlanStep(Arc<Batch>);

impl pool::Task for PlanStep {
    fn count(&self) -> usize {
        self.0.slots.len()
    }
    fn run(&self, i: usize) {
        let b = &self.0;
        let mut guard = lock(&b.slots[i]);
        let s = &mut *guard;
        // Caught here, with the slot in hand: the panic's message goes into its error record.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.record = match s.input.take() {
                Some(Input::Line((n, bytes))) => Some(stage::parse(&bytes, n, &b.ctx)),
                Some(Input::Record(r)) => Some(*r),
                None => return,
            };
            if let (false, Some(Record::Site(site))) = (b.offline, &s.record) {
                s.planned = Some(b.submit(site, Some(&mut s.account)));
                if matches!(s.planned, Some(Ok(_))) {
                    s.alternatives = alternatives(site).into_iter().map(|(a, alt)| (a, b.submit(&alt, None))).collect();
                }
            }
            s.finished = true;
        }));
        if let Err(p) = done {
            s.internal = Some(stage::panic_message(&*p));
        }
    }
}

/// Give each site its answer (or its planning error).
struct AttachStep(Arc<Batch>);

impl pool::Task for AttachStep {
    fn count(&self) -> usize {
        self.0.slots.len()
    }
    fn run(&self, i: usize) {
        let mut guard = lock(&self.0.slots[i]);
        let s = &mut *guard;
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let probe = match (s.planned.take(), s.answer.as_deref()) {
                (Some(Ok(_)), Some(Ok(answer))) => answer.clone(),
                (Some(Ok(_)), Some(Err(why))) => {
                    s.internal = Some(why.clone());
                    return;
                }
                (Some(Err(e)), _) => Probe { error: Some(e), ..Probe::default() },
                _ => return,
            };
            let mut probe = probe;
            for ((alt, planned), answer) in s.alternatives.drain(..).zip(s.alt_answers.drain(..)) {
                let mut alt = alt;
                match (planned, answer.as_deref()) {
                    (Ok(_), Some(Ok(p))) => {
                        alt.status = p.status();
                        alt.works = alt.status.is_some_and(|st| (200..300).contains(&st));
                        alt.error = p.error.clone();
                    }
                    (Err(e), _) => alt.error = Some(e),
                    _ => continue,
                }
                probe.alternatives.push(alt);
            }
            s.account.attach(&mut probe);
            if let Some(site) = s.record.as_mut().and_then(Record::site_mut) {
                site.probe = Some(probe);
            }
        }));
        if let Err(p) = done {
            s.internal = Some(stage::panic_message(&*p));
        }
    }
}

/// At most this many values the tool does not send are probed per site.
const MAX_ALTERNATIVES: usize = 3;

/// The site as it would be if the tool sent another candidate of its
/// resolution trace (docs/launch-contexts.md#what-the-tool-really-gets):
/// values it reads anyway, sent to the same URL, so the send policy is the
/// same. Only for keys read from a variable; distinct, non-empty values.
fn alternatives(site: &Site) -> Vec<(Alternative, Site)> {
    use keyhole_core::record::env::{Effective, Outcome as Won};
    use keyhole_core::record::KeySource;
    let Some(env) = site.env.as_ref().filter(|_| site.key.from == KeySource::Env) else { return Vec::new() };
    let sent = env.effective.as_ref().and_then(|e| e.fp.as_ref()).map(|f| f.sha8.clone());
    let mut seen: Vec<String> = sent.into_iter().collect();
    let mut out = Vec::new();
    for c in &env.resolution {
        let Some(fp) = c.fp.as_ref().filter(|f| f.len > 0) else { continue };
        if !matches!(c.outcome, Won::Shadowed | Won::Overridden) || seen.contains(&fp.sha8) {
            continue;
        }
        seen.push(fp.sha8.clone());
        let mut alt = site.clone();
        alt.probe = None;
        if let Some(e) = alt.env.as_mut() {
            e.effective = Some(Effective {
                from: c.at.clone(),
                line: c.line,
                fp: Some(fp.clone()),
                overrides_env: false,
                extra: Default::default(),
            });
        }
        let a = Alternative { at: c.at.clone(), line: c.line, sha8: fp.sha8.clone(), ..Alternative::default() };
        out.push((a, alt));
        if out.len() == MAX_ALTERNATIVES {
            break;
        }
    }
    out
}

/// CPUs to plan on (read once: std looks in cgroup files each time).
fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `keyhole-probe: 12/40 probes` on stderr, from the first second of a
/// wait on, until the batch's answers are in.
fn progress(dispatch: &Dispatch<Probe>, waiting: &AtomicBool) {
    use std::io::Write;
    let start = Instant::now();
    let mut shown = false;
    while waiting.load(Ordering::SeqCst) {
        if start.elapsed() >= Duration::from_secs(1) {
            let (done, total) = dispatch.progress();
            let _ = write!(std::io::stderr(), "\r{TOOL_NAME}: {done}/{total} probes");
            shown = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if shown {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &str, from: &str) -> String {
        format!(
            r#"{{"type":"site","v":1,"id":"{id}","host":"h","tool":"continue","source":{{"file":"/nonexistent/config.yaml","line":3}},"provider":"openrouter","model":null,"base_url":"http://127.0.0.1:9/api/v1","base_url_from":"config","auth":{{"header":"authorization","scheme":"bearer"}},"key":{{"from":"{from}","cmd":"pass show k","store":"keychain"}},"mine":1}}"#
        )
    }

    fn stage(offline: bool) -> ProbeStage {
        ProbeStage::new(Options::new("/nonexistent".into(), Default::default()), offline).unwrap()
    }

    #[test]
    fn records_in_memory_and_lines_take_the_same_path() {
        let texts = [site("a", "command"), r#"{"type":"note","x":1}"#.to_string(), site("b", "store")];
        let lines: Vec<Line> = texts.iter().enumerate().map(|(i, t)| (i as u64 + 1, t.as_bytes().to_vec())).collect();
        let s = stage(false);
        let ctx = Ctx::new(TOOL_NAME);
        let from_lines = s.apply_lines(lines, &ctx);
        let mut in_memory: Vec<Record> = texts.iter().map(|t| Record::from_json(t).unwrap()).collect();
        s.apply_batch(&mut in_memory, &ctx);
        assert_eq!(from_lines, in_memory);
        assert_eq!(ctx.status(), Status::Ok);
        let p = from_lines[0].site().unwrap().probe.as_ref().unwrap();
        let e = p.error.as_ref().unwrap();
        assert_eq!(e.kind, keyhole_core::record::probe::ErrorKind::Unresolved);
        assert!(e.message.contains("helper command (pass show k)"), "{}", e.message);
        assert!(p.request.is_none());
        assert_eq!(from_lines[1].kind(), "note");
        let back = serde_json::to_string(&from_lines[2]).unwrap();
        assert!(back.contains(r#""mine":1"#) && back.contains("keychain which keyhole cannot read"), "{back}");
    }

    #[test]
    fn offline_passes_everything_through_and_bad_lines_fail_the_run() {
        let s = stage(true);
        let ctx = Ctx::new(TOOL_NAME);
        let text = site("a", "command");
        let out = s.apply_lines(vec![(1, text.clone().into_bytes()), (2, b"not json".to_vec())], &ctx);
        assert_eq!(out[0], Record::from_json(&text).unwrap());
        assert!(matches!(&out[1], Record::Error(e) if e.input_line == Some(2)), "{:?}", out[1]);
        assert_eq!(ctx.status(), Status::Failed);
        let mut recs = vec![Record::from_json(&text).unwrap()];
        s.apply_batch(&mut recs, &ctx);
        assert_eq!(recs[0], Record::from_json(&text).unwrap());
    }
}
