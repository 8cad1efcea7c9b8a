//! The closed-loop load generator and the workloads.
//!
//! One cell = one actix system on its own thread with `concurrency` tasks.
//! Each task issues one request, waits for its answer, and issues the next
//! until the cell's time is up (or, with [`CellSpec::ops_limit`], until that
//! many requests were issued). Plain-HTTP paths share one awc client (pool
//! of at least `concurrency` keep-alive connections); the `smart` path calls
//! one `SmartClient` from the same kind of tasks; the `etcd` path sends the
//! same operations to etcd's v3 JSON gateway with the same kind of awc
//! client. Keys are 8 bytes, values 256 bytes, on every path.

mod sender;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use hdrhistogram::Histogram;
use smart_client::ReadConsistency;

pub use sender::{Route, Sender};

use super::env::{CpuProbe, CpuSample};

/// Keys written before the run, read by the read workloads.
pub const PRELOAD_KEYS: usize = 1000;
/// Value size of every write.
pub const VALUE_BYTES: usize = 256;
/// Deadline of one request on the plain-HTTP paths (the smart client's is
/// its `request_timeout`, also 5 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a cell's tasks do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Writes of unique keys.
    Write,
    /// Eventual reads of preloaded keys.
    ReadEventual,
    /// Linearizable reads of preloaded keys.
    ReadLinearizable,
    /// 90 % eventual reads of preloaded keys, 10 % writes of unique keys.
    Mix,
    /// `read-eventual` with session consistency (`min_index`; smart path only).
    ReadSession,
    /// `mix` with session consistency: the writes raise the session index
    /// the reads then wait for on followers (smart path only).
    MixSession,
}

impl Workload {
    /// Name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Write => "write",
            Workload::ReadEventual => "read_eventual",
            Workload::ReadLinearizable => "read_linearizable",
            Workload::Mix => "mix_90r_10w",
            Workload::ReadSession => "read_session",
            Workload::MixSession => "mix_session_90r_10w",
        }
    }

    /// Whether the workload runs through a smart client with sessions on.
    pub fn session(self) -> bool {
        matches!(self, Workload::ReadSession | Workload::MixSession)
    }

    fn next_op(self, rng: &mut XorShift) -> Op {
        let read = |rng: &mut XorShift, c| Op::Read(read_key(rng.below(PRELOAD_KEYS)), c);
        match self {
            Workload::Write => Op::Write(unique_key()),
            Workload::ReadEventual | Workload::ReadSession => read(rng, ReadConsistency::Eventual),
            Workload::ReadLinearizable => read(rng, ReadConsistency::Linearizable),
            Workload::Mix | Workload::MixSession if rng.below(10) == 0 => Op::Write(unique_key()),
            Workload::Mix | Workload::MixSession => read(rng, ReadConsistency::Eventual),
        }
    }
}

/// One request.
pub enum Op {
    /// `PUT /kv/{key}` with a 256-byte value.
    Write(String),
    /// `GET /kv/{key}?consistency=...`.
    Read(String, ReadConsistency),
}

/// The `i`-th preloaded key (8 bytes).
pub fn read_key(i: usize) -> String {
    format!("r{i:07}")
}

/// A key never written before in this process (8 bytes).
pub fn unique_key() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "w{:07x}",
        NEXT.fetch_add(1, Ordering::Relaxed) & 0x0fff_ffff
    )
}

/// The 256-byte value.
pub fn value() -> String {
    "v".repeat(VALUE_BYTES)
}

/// What one cell is.
#[derive(Clone, Copy, Debug)]
pub struct CellSpec {
    /// Request mix.
    pub workload: Workload,
    /// Concurrent tasks.
    pub concurrency: usize,
    /// Unmeasured lead time (connections, caches, RTT averages).
    pub warmup: Duration,
    /// Measured time (with `ops_limit`: the longest the cell may take).
    pub measure: Duration,
    /// Stop once this many requests were issued (warm-up included).
    pub ops_limit: Option<u64>,
}

/// What one cell measured.
pub struct CellResult {
    /// Successful requests issued inside the measured window.
    pub ok: u64,
    /// Successful requests of the whole cell, warm-up included.
    pub ok_all: u64,
    /// Failed requests issued inside the measured window.
    pub errors: u64,
    /// Failed requests by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Latency of successful requests, µs.
    pub hist: Histogram<u64>,
    /// Length of the measured window (with `ops_limit`: until the last
    /// request answered).
    pub measured: Duration,
    /// CPU seconds spent during the measured window.
    pub cpu: CpuSample,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Runs one cell on a fresh actix system in its own thread; returns when
/// every task has stopped (each request is bounded by a 5 s deadline).
pub fn run_cell(route: Route, spec: CellSpec, probe: CpuProbe) -> CellResult {
    super::env::run_local(move || cell(route, spec, probe))
}

async fn cell(route: Route, spec: CellSpec, probe: CpuProbe) -> CellResult {
    let sender = Rc::new(Sender::new(route, spec.concurrency.max(8)));
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.measure;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let cpu = actix_rt::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = probe.sample();
        tokio::select! {
            _ = tokio::time::sleep_until(end.into()) => {}
            _ = done_rx => {}
        }
        probe.sample().since(&before)
    });
    let issued = Rc::new(Cell::new(0u64));
    let tasks: Vec<_> = (0..spec.concurrency)
        .map(|t| {
            let sender = sender.clone();
            let issued = issued.clone();
            actix_rt::spawn(async move {
                let mut rng = XorShift::new(t as u64);
                let mut hist = new_hist();
                let (mut ok, mut ok_all, mut errors) = (0u64, 0u64, 0u64);
                let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
                loop {
                    let began = Instant::now();
                    if began >= end {
                        break;
                    }
                    if let Some(limit) = spec.ops_limit {
                        if issued.get() >= limit {
                            break;
                        }
                        issued.set(issued.get() + 1);
                    }
                    let op = spec.workload.next_op(&mut rng);
                    let result = sender.exec(op).await;
                    ok_all += u64::from(result.is_ok());
                    // Requests issued in the window count, even if they end
                    // after it: a stall shows up in the latency.
                    if began < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => {
                            ok += 1;
                            let us = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let _ = hist.record(us.max(1));
                        }
                        Err(kind) => {
                            errors += 1;
                            *kinds.entry(kind).or_default() += 1;
                        }
                    }
                }
                (ok, ok_all, errors, kinds, hist)
            })
        })
        .collect();
    let mut hist = new_hist();
    let (mut ok, mut ok_all, mut errors) = (0, 0, 0);
    let mut error_kinds: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        if let Ok((o, all, e, kinds, h)) = t.await {
            ok += o;
            ok_all += all;
            errors += e;
            for (k, n) in kinds {
                *error_kinds.entry(k).or_default() += n;
            }
            let _ = hist.add(&h);
        }
    }
    let measured = match spec.ops_limit {
        Some(_) => Instant::now()
            .saturating_duration_since(measure_from)
            .min(spec.measure)
            .max(Duration::from_millis(1)),
        None => spec.measure,
    };
    let _ = done_tx.send(());
    CellResult {
        ok,
        ok_all,
        errors,
        error_kinds,
        hist,
        measured,
        cpu: cpu.await.unwrap_or_default(),
    }
}

/// Writes the preloaded keys through `route` (the leader), 32 at a time;
/// returns the number of failed writes.
pub async fn preload(route: Route, n: usize) -> usize {
    let sender = Rc::new(Sender::new(route, 32));
    let next = Rc::new(std::cell::Cell::new(0usize));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (sender, next) = (sender.clone(), next.clone());
            actix_rt::spawn(async move {
                let mut failed = 0;
                loop {
                    let i = next.get();
                    if i >= n {
                        return failed;
                    }
                    next.set(i + 1);
                    if sender.exec(Op::Write(read_key(i))).await.is_err() {
                        failed += 1;
                    }
                }
            })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(n);
    }
    failed
}

/// Small, fast, seedable PRNG for key choice (no shared state between tasks).
pub struct XorShift(u64);

impl XorShift {
    /// Generator for task `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform-enough integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_have_the_stated_sizes() {
        assert_eq!(read_key(0).len(), 8);
        assert_eq!(read_key(PRELOAD_KEYS - 1).len(), 8);
        assert_eq!(unique_key().len(), 8);
        assert_ne!(unique_key(), unique_key());
        assert_eq!(value().len(), VALUE_BYTES);
        let mut rng = XorShift::new(3);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}
