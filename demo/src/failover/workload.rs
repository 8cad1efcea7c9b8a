//! The application side of the demo: writers of unique keys, readers of
//! already-acknowledged keys, and the [`Recorder`] that keeps what they saw.
//!
//! Everything is measured as the application sees it: a write counts as
//! acknowledged only when `put_str` returned `Ok`, an error is anything the
//! smart client could not hide within its 5 s request deadline.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_harness::{Ack, AckLog};
use rand::Rng;
use smart_client::{ReadConsistency, SmartClient};
use tokio::task::JoinSet;

/// Longest latency a histogram holds (µs); longer samples are clamped.
const MAX_LATENCY_US: u64 = 60_000_000;
/// Error messages kept for the summary (the rest are only counted).
const MAX_ERROR_SAMPLES: usize = 10;

/// Outcome counters, as seen by the application.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Writes acknowledged.
    pub writes_ok: u64,
    /// Writes that returned an error.
    pub writes_failed: u64,
    /// Eventual reads that returned a value or "absent".
    pub reads_ok: u64,
    /// Eventual reads that returned an error.
    pub reads_failed: u64,
    /// Eventual reads of an acknowledged key that the serving follower did
    /// not have yet (allowed for eventual reads; counted to show the lag).
    pub reads_stale: u64,
    /// Eventual reads that returned a value that was never written (a bug).
    pub reads_wrong: u64,
}

/// Longest pause between two consecutive successful completions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gap {
    /// Longest pause so far.
    pub longest: Duration,
    /// When that pause ended.
    pub ended_at: Option<Instant>,
    last: Option<Instant>,
}

impl Gap {
    fn on_completion(&mut self, now: Instant) {
        if let Some(prev) = self.last {
            let gap = now.saturating_duration_since(prev);
            if gap > self.longest {
                self.longest = gap;
                self.ended_at = Some(now);
            }
        }
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }
}

/// Latency of one kind of operation: since the start, and since the view
/// last took a window.
struct Latency {
    total: Histogram<u64>,
    window: Histogram<u64>,
}

impl Latency {
    fn new() -> Self {
        let h = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds");
        Self {
            total: h.clone(),
            window: h,
        }
    }

    fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros())
            .unwrap_or(MAX_LATENCY_US)
            .clamp(1, MAX_LATENCY_US);
        // Cannot fail: the value is clamped into the histogram's bounds.
        let _ = self.total.record(us);
        let _ = self.window.record(us);
    }
}

struct Inner {
    counts: Counts,
    writes: Latency,
    reads: Latency,
    write_gap: Gap,
    read_gap: Gap,
    errors: Vec<String>,
}

/// What the workload saw; shared by its tasks, the live view and the summary.
/// The lock is held for a few field updates, never across an `.await`.
pub struct Recorder {
    inner: Mutex<Inner>,
    /// Every acknowledged write (the key is also the value written).
    acks: AckLog,
    /// The writers' session index, raised before each acknowledgement is
    /// recorded: the causal token readers carry in session mode.
    token: AtomicU64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            acks: AckLog::default(),
            token: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                counts: Counts::default(),
                writes: Latency::new(),
                reads: Latency::new(),
                write_gap: Gap::default(),
                read_gap: Gap::default(),
                errors: Vec::new(),
            }),
        }
    }
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_ok(&self, key: String, started: Instant) {
        let done = self.acks.record(key.clone(), key, started);
        let mut g = self.lock();
        g.counts.writes_ok += 1;
        g.writes.record(done - started);
        g.write_gap.on_completion(done);
    }

    fn error(&self, write: bool, message: String) {
        let mut g = self.lock();
        if write {
            g.counts.writes_failed += 1;
        } else {
            g.counts.reads_failed += 1;
        }
        if g.errors.len() < MAX_ERROR_SAMPLES {
            g.errors.push(message);
        }
    }

    fn read_ok(&self, started: Instant, stale: bool, wrong: bool) {
        let done = Instant::now();
        let mut g = self.lock();
        g.counts.reads_ok += 1;
        g.counts.reads_stale += u64::from(stale);
        g.counts.reads_wrong += u64::from(wrong);
        g.reads.record(done - started);
        g.read_gap.on_completion(done);
    }

    /// A random acknowledged key, if any.
    fn pick_key(&self, rng: &mut impl Rng) -> Option<String> {
        let n = self.acks.len();
        (n > 0)
            .then(|| rng.gen_range(0..n))
            .and_then(|i| self.acks.key_at(i))
    }

    /// Counters so far.
    pub fn counts(&self) -> Counts {
        self.lock().counts
    }

    /// Write and read latency since the last call (then starts a new window).
    pub fn take_window(&self) -> (Histogram<u64>, Histogram<u64>) {
        let mut g = self.lock();
        let w = g.writes.window.clone();
        let r = g.reads.window.clone();
        g.writes.window.reset();
        g.reads.window.reset();
        (w, r)
    }

    /// Write and read latency since the start.
    pub fn totals(&self) -> (Histogram<u64>, Histogram<u64>) {
        let g = self.lock();
        (g.writes.total.clone(), g.reads.total.clone())
    }

    /// Longest pauses between successful write and read completions.
    pub fn gaps(&self) -> (Gap, Gap) {
        let g = self.lock();
        (g.write_gap, g.read_gap)
    }

    /// Acknowledgement time of the first write *started* at or after `t`.
    pub fn first_ack_started_after(&self, t: Instant) -> Option<Instant> {
        self.acks.first_ack_started_after(t)
    }

    /// Every acknowledged write.
    pub fn acked(&self) -> Vec<Ack> {
        self.acks.snapshot()
    }

    /// The first few error messages the application saw.
    pub fn error_samples(&self) -> Vec<String> {
        self.lock().errors.clone()
    }
}

/// The running writer and reader tasks.
pub struct Workload {
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

impl Workload {
    /// Starts `writers` tasks writing unique keys `{prefix}-w{n}-{seq}` through
    /// `writer` and `readers` tasks reading acknowledged keys through `reader`.
    /// With `session`, each acknowledged write's session index is handed to
    /// the readers (a causal token) before the key can be picked, so their
    /// eventual reads never miss it.
    pub fn start(
        (writer, reader): (&SmartClient, &SmartClient),
        (writers, readers): (usize, usize),
        session: bool,
        prefix: &str,
        rec: &Arc<Recorder>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for w in 0..writers {
            let (client, rec, stop) = (writer.clone(), rec.clone(), stop.clone());
            let prefix = format!("{prefix}-w{w}");
            tasks.spawn(write_loop(client, rec, stop, prefix));
        }
        for _ in 0..readers {
            let (client, rec, stop) = (reader.clone(), rec.clone(), stop.clone());
            tasks.spawn(read_loop(client, rec, stop, session));
        }
        Self { stop, tasks }
    }

    /// Stops issuing requests and waits for the ones in flight (each ends
    /// within the client's request deadline).
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Stops at once, abandoning requests in flight (Ctrl-C).
    pub fn abort(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tasks.abort_all();
    }
}

/// Pause after an error so a broken client cannot spin.
const ERROR_PAUSE: Duration = Duration::from_millis(20);

async fn write_loop(
    client: SmartClient,
    rec: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    prefix: String,
) {
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let key = format!("{prefix}-{seq}");
        let started = Instant::now();
        match client.put_str(&key, &key).await {
            Ok(()) => {
                // At or after this write's index; published before the ack.
                rec.token
                    .fetch_max(client.session_index(), Ordering::AcqRel);
                rec.write_ok(key, started);
            }
            Err(e) => {
                rec.error(true, format!("write {key}: {e}"));
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

async fn read_loop(client: SmartClient, rec: Arc<Recorder>, stop: Arc<AtomicBool>, session: bool) {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::from_entropy();
    while !stop.load(Ordering::Relaxed) {
        let Some(key) = rec.pick_key(&mut rng) else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if session {
            client.advance_session_index(rec.token.load(Ordering::Acquire));
        }
        let started = Instant::now();
        match client.get_str(&key, ReadConsistency::Eventual).await {
            Ok(Some(v)) => rec.read_ok(started, false, v != key),
            Ok(None) => rec.read_ok(started, true, false),
            Err(e) => {
                rec.error(false, format!("read {key}: {e}"));
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

/// Result of reading every acknowledged write back.
#[derive(Clone, Copy, Debug, Default)]
pub struct Verification {
    /// Keys read back with the value written.
    pub found: u64,
    /// Keys missing or holding another value.
    pub lost: u64,
    /// Keys that could not be read at all (after retries).
    pub unverified: u64,
}

/// Reads every acknowledged key back with linearizable reads (32 at a time,
/// each retried up to three times on errors).
pub async fn verify(client: &SmartClient, acked: &[Ack]) -> Verification {
    use futures_util::stream::{self, StreamExt};
    let outcomes: Vec<Result<bool, ()>> = stream::iter(acked)
        .map(|a| async move {
            for _ in 0..3 {
                match client.get_str(&a.key, ReadConsistency::Linearizable).await {
                    Ok(v) => return Ok(v.as_deref() == Some(a.value.as_str())),
                    Err(e) => tracing::warn!(key = %a.key, error = %e, "verification read failed"),
                }
            }
            Err(())
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut v = Verification::default();
    for o in outcomes {
        match o {
            Ok(true) => v.found += 1,
            Ok(false) => v.lost += 1,
            Err(()) => v.unverified += 1,
        }
    }
    v
}
