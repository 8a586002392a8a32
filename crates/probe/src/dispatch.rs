//! Requests are sent as soon as they are planned, while the rest of the
//! batch is still being planned: each distinct request once a run, at most
//! `jobs` at a time, on sender threads that end after a second without work.
//! A job that panics answers with the panic's message, never with nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// A job's answer, or what its panic said.
pub type Outcome<T> = Result<T, String>;

struct State<T> {
    /// Every request of the run by its key: `None` while queued or in flight.
    answers: HashMap<String, Option<Arc<Outcome<T>>>>,
    queue: VecDeque<(String, Job<T>)>,
    senders: usize,
    /// Senders waiting for work that no submitter has woken yet.
    idle: usize,
    /// Wake-ups given and not yet taken by a sender.
    wakeups: usize,
    /// Requests being sent now (by senders and waiters), at most `jobs`.
    running: usize,
    done: usize,
}

impl<T> Default for State<T> {
    fn default() -> Self {
        State { answers: HashMap::new(), queue: VecDeque::new(), senders: 0, idle: 0, wakeups: 0, running: 0, done: 0 }
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    /// Idle senders wait here for a request.
    work: Condvar,
    /// Callers wait here for answers.
    answered: Condvar,
}

/// The run's requests: queued, in flight, answered (each answer a `T`).
pub struct Dispatch<T> {
    inner: Arc<Inner<T>>,
    jobs: usize,
}

impl<T: Send + Sync + 'static> std::fmt::Debug for Dispatch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (done, total) = self.progress();
        write!(f, "Dispatch({done}/{total} answered, at most {} at once)", self.jobs)
    }
}

impl<T: Send + Sync + 'static> Dispatch<T> {
    pub fn new(jobs: usize) -> Dispatch<T> {
        let inner = Inner { state: Mutex::default(), work: Condvar::new(), answered: Condvar::new() };
        Dispatch { inner: Arc::new(inner), jobs: jobs.max(1) }
    }

    /// Send `job` under `key`, unless a request with that key was submitted
    /// already this run (its answer is shared). With `alone` (nothing else
    /// to do meanwhile), no sender thread is started for it: the caller of
    /// [`wait`](Self::wait) sends it, which saves a thread's start.
    pub fn submit(&self, key: String, job: impl FnOnce() -> T + Send + 'static, alone: bool) {
        let mut st = lock(&self.inner.state);
        if st.answers.contains_key(&key) {
            return;
        }
        st.answers.insert(key.clone(), None);
        st.queue.push_back((key, Box::new(job)));
        if st.idle > 0 {
            // Claimed here, so that the next submit wakes another sender.
            st.idle -= 1;
            st.wakeups += 1;
            self.inner.work.notify_one();
        } else if st.senders < self.jobs && !alone {
            let (inner, jobs) = (self.inner.clone(), self.jobs);
            // A sender that cannot start leaves the job to the caller of `wait`.
            if std::thread::Builder::new().name("keyhole-probe-send".into()).spawn(move || sender(&inner, jobs)).is_ok()
            {
                st.senders += 1;
            }
        }
    }

    /// The answer to the request submitted under `key` (`None`: never submitted).
    pub fn wait(&self, key: &str) -> Option<Arc<Outcome<T>>> {
        let mut st = lock(&self.inner.state);
        loop {
            match st.answers.get(key)? {
                Some(v) => return Some(v.clone()),
                None if !st.queue.is_empty() && st.running < self.jobs => {
                    // Send what no sender has taken yet on this thread, rather than wait.
                    if let Some(job) = st.queue.pop_front() {
                        st = send_one(&self.inner, st, job);
                        // A sender may have been held back by the limit.
                        self.inner.work.notify_one();
                    }
                }
                None => st = self.inner.answered.wait(st).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// (answered, submitted) this run.
    pub fn progress(&self) -> (usize, usize) {
        let st = lock(&self.inner.state);
        (st.done, st.answers.len())
    }
}

fn lock<T>(m: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A job that panics must not leave its waiters waiting, nor answer as if
/// it had worked: its answer is the panic's message.
fn run<T>(job: Job<T>) -> Arc<Outcome<T>> {
    Arc::new(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            .map_err(|p| keyhole_core::stage::panic_message(&*p)),
    )
}

fn sender<T>(inner: &Inner<T>, jobs: usize) {
    let mut st = lock(&inner.state);
    loop {
        let next = if st.running < jobs { st.queue.pop_front() } else { None };
        let Some(job) = next else {
            st.idle += 1;
            let (g, timeout) = inner.work.wait_timeout(st, Duration::from_secs(1)).unwrap_or_else(|e| e.into_inner());
            st = g;
            if st.wakeups > 0 {
                st.wakeups -= 1;
            } else {
                st.idle -= 1;
            }
            if timeout.timed_out() && st.queue.is_empty() {
                st.senders -= 1;
                return;
            }
            continue;
        };
        st = send_one(inner, st, job);
    }
}

/// Run one queued job with the lock released, record its answer and wake the waiters.
fn send_one<'a, T>(
    inner: &'a Inner<T>,
    mut st: MutexGuard<'a, State<T>>,
    (key, job): (String, Job<T>),
) -> MutexGuard<'a, State<T>> {
    st.running += 1;
    drop(st);
    let v = run(job);
    let mut st = lock(&inner.state);
    st.running -= 1;
    st.answers.insert(key, Some(v));
    st.done += 1;
    inner.answered.notify_all();
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_key_is_sent_once_and_never_more_than_jobs_at_once() {
        let d = Dispatch::new(3);
        let (running, most, calls) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for round in 0..2 {
            for i in 0..12 {
                let (running, most, calls) = (running.clone(), most.clone(), calls.clone());
                d.submit(
                    format!("k{i}"),
                    move || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Value::from(i)
                    },
                    false,
                );
            }
            for i in 0..12 {
                assert_eq!(*d.wait(&format!("k{i}")).unwrap(), Ok(Value::from(i)), "round {round}");
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 12, "the second round was answered from the first");
        assert!(most.load(Ordering::SeqCst) <= 3, "{} at once", most.load(Ordering::SeqCst));
        assert_eq!(d.progress(), (12, 12));
        assert!(d.wait("never").is_none());
    }

    #[test]
    fn a_panicking_job_answers_its_panic_instead_of_hanging() {
        let d: Dispatch<Value> = Dispatch::new(2);
        d.submit("p".into(), || panic!("test panic"), false);
        assert_eq!(*d.wait("p").unwrap(), Err("test panic".to_string()));
        d.submit("q".into(), || panic!("test panic {}", 2), true);
        assert_eq!(*d.wait("q").unwrap(), Err("test panic 2".to_string()), "sent by the waiter");
    }
}
