//! Helper threads started once a run, for the CPU work of each batch
//! (parsing, re-reading keys, serializing).
//!
//! Why not a thread per batch: on a machine whose other CPUs are idle, a
//! thread started while its parent is busy often runs only when the parent
//! stops, 1–3 ms later (measured on the 2-CPU CI machine), which is longer
//! than the batch's whole work. A thread started at the beginning of a run
//! has settled on a CPU of its own by the first batch, and waking it there
//! takes ~50 µs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Work split by index: `run(i)` for every `i` in `0..count()`.
pub trait Task: Send + Sync {
    fn count(&self) -> usize;
    fn run(&self, i: usize);
}

struct Job {
    task: Arc<dyn Task>,
    next: AtomicUsize,
    finished: AtomicUsize,
}

impl Job {
    /// Take indices until none is left; true when this call finished the last.
    fn work(&self) -> bool {
        let count = self.task.count();
        let mut last = false;
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return last;
            }
            // A panicking item must not leave the caller waiting for it: it
            // counts as finished and its result stays empty.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.task.run(i)));
            last = self.finished.fetch_add(1, Ordering::AcqRel) + 1 == count;
        }
    }
}

#[derive(Default)]
struct State {
    job: Option<Arc<Job>>,
    generation: u64,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Helpers wait here for a job.
    wake: Condvar,
    /// The caller waits here for the helpers' last items.
    done: Condvar,
}

/// A fixed set of helper threads; the caller's thread works too.
pub struct Pool {
    shared: Arc<Shared>,
    helpers: usize,
    /// One task at a time: callers on several threads take turns.
    turn: Mutex<()>,
}

impl Pool {
    /// Start `helpers` threads (0: everything runs on the caller's thread).
    pub fn new(helpers: usize) -> Pool {
        Pool::with_warmup(helpers, None)
    }

    /// The same, the first helper running `warm` before it waits for work:
    /// one-time set-up (a regex compiled, code paged in) done while the
    /// caller reads its input, instead of on its way.
    pub fn with_warmup(helpers: usize, warm: Option<fn()>) -> Pool {
        let shared = Arc::new(Shared::default());
        let mut started = 0;
        for i in 0..helpers {
            let s = shared.clone();
            let warm = if i == 0 { warm } else { None };
            // A thread that cannot start only means less parallelism.
            let spawned = std::thread::Builder::new().name("keyhole-probe-cpu".into()).spawn(move || {
                if let Some(w) = warm {
                    let _ = std::panic::catch_unwind(w);
                }
                helper(&s)
            });
            if spawned.is_ok() {
                started += 1;
            }
        }
        Pool { shared, helpers: started, turn: Mutex::new(()) }
    }

    /// Run `task` on the helpers and the caller's thread; returns when every
    /// index has run. A task of fewer than `min_split` items runs on the
    /// caller's thread alone (waking a helper costs more than it saves).
    pub fn run(&self, task: Arc<dyn Task>, min_split: usize) {
        let count = task.count();
        let job = Arc::new(Job { task, next: AtomicUsize::new(0), finished: AtomicUsize::new(0) });
        if self.helpers == 0 || count < min_split.max(2) {
            job.work();
            return;
        }
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut st = lock(&self.shared.state);
            st.job = Some(job.clone());
            st.generation += 1;
        }
        self.shared.wake.notify_all();
        job.work();
        let mut st = lock(&self.shared.state);
        while job.finished.load(Ordering::Acquire) < count {
            st = self.shared.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.job = None;
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.wake.notify_all();
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A task that panicked leaves the state consistent: keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn helper(shared: &Shared) {
    let mut seen = 0;
    loop {
        let job = {
            let mut st = lock(&shared.state);
            loop {
                if st.shutdown {
                    return;
                }
                if st.generation != seen {
                    seen = st.generation;
                    if let Some(j) = &st.job {
                        break j.clone();
                    }
                }
                st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        if job.work() {
            // Take the lock so the caller cannot miss this between its check and its wait.
            drop(lock(&shared.state));
            shared.done.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Squares {
        out: Vec<std::sync::OnceLock<usize>>,
    }
    impl Task for Squares {
        fn count(&self) -> usize {
            self.out.len()
        }
        fn run(&self, i: usize) {
            self.out[i].set(i * i).unwrap();
        }
    }

    #[test]
    fn the_warm_up_runs_once_on_a_helper() {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        fn warm() {
            RUNS.fetch_add(1, Ordering::SeqCst);
        }
        let pool = Pool::with_warmup(3, Some(warm));
        let t = Arc::new(Squares { out: (0..50).map(|_| Default::default()).collect() });
        pool.run(t.clone(), 2);
        for _ in 0..200 {
            if RUNS.load(Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
        assert!(t.out.iter().all(|o| o.get().is_some()));
    }

    #[test]
    fn every_index_runs_once_whatever_the_helpers() {
        for helpers in [0, 1, 3] {
            let pool = Pool::new(helpers);
            for n in [0, 1, 2, 7, 500] {
                let t = Arc::new(Squares { out: (0..n).map(|_| Default::default()).collect() });
                pool.run(t.clone(), 2);
                let got: Vec<usize> = t.out.iter().map(|o| *o.get().expect("index ran")).collect();
                assert_eq!(got, (0..n).map(|i| i * i).collect::<Vec<_>>(), "helpers {helpers}, n {n}");
            }
        }
    }
}
