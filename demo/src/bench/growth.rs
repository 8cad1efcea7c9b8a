//! The growth run: on a fresh 3-node cluster, unique keys with 256-byte
//! values are written through the smart client (closed loop, `concurrency`
//! tasks) in steps of `step` keys up to `keys`. After each step: the step's
//! write throughput and p99, follower lag (entries: the leader's
//! `commit_index` minus each follower's own `applied_index`, both from
//! `/topology`, sampled every 200 ms during the step, maximum reported;
//! milliseconds: from the end of the step until every follower has applied
//! the commit index the leader published at that moment), and each node's
//! RSS (`VmRSS`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kv_harness::topology_at;

use super::env::{rss_mb, Env};
use super::load::{self, CellSpec, Workload};
use super::report::GrowthRow;
use super::PathKind;

/// What the growth run does.
#[derive(Clone, Copy, Debug)]
pub struct GrowthOptions {
    /// Keys written in total.
    pub keys: u64,
    /// Keys per step.
    pub step: u64,
    /// Concurrent writers.
    pub concurrency: usize,
}

/// Longest a step may take (a bound, not an expectation).
const STEP_DEADLINE: Duration = Duration::from_secs(900);
/// Longest the followers are waited for after a step.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(120);
/// Lag sampling interval.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Runs the growth steps on a fresh cluster (dropped, every node killed, at
/// the end); each row is also printed to stderr as it is measured.
pub fn run(opts: GrowthOptions) -> Result<Vec<GrowthRow>, String> {
    let env = Env::start(&[])?;
    let route = env.route(PathKind::Smart)?;
    let urls = env.api_urls().clone();
    let pids = env.node_pids();
    let step = opts.step.max(1);
    let steps = step_totals(opts.keys, step).len();
    eprintln!(
        "bench: growth run: {} keys in {steps} steps of {step}, c={}, leader {}",
        opts.keys,
        opts.concurrency,
        env.leader()?
    );
    let mut rows = Vec::new();
    let mut written = 0u64;
    for total in step_totals(opts.keys, step) {
        let n = total - written;
        let sampler = LagSampler::start(urls.clone());
        let spec = CellSpec {
            workload: Workload::Write,
            concurrency: opts.concurrency.max(1),
            warmup: Duration::ZERO,
            measure: STEP_DEADLINE,
            ops_limit: Some(n),
        };
        let r = load::run_cell(route.clone(), spec, env.cpu_probe());
        let step_end = Instant::now();
        if r.errors > 0 {
            eprintln!(
                "bench: growth step errors by kind: {:?}, leader now {:?}",
                r.error_kinds,
                env.leader()
            );
        }
        let max_lag = sampler.stop();
        let lag_ms = catch_up(&urls, step_end);
        written += n;
        let row = GrowthRow {
            keys_total: written,
            step_keys: n,
            ops_per_s: r.ok as f64 / r.measured.as_secs_f64(),
            p99_us: if r.hist.is_empty() {
                0
            } else {
                r.hist.value_at_quantile(0.99)
            },
            errors: r.errors,
            step_s: r.measured.as_secs_f64(),
            max_lag_entries: max_lag,
            catch_up_ms: lag_ms,
            rss_mb: pids
                .iter()
                .filter_map(|(id, pid)| Some((*id, rss_mb(*pid)?)))
                .collect(),
            node_cpu_s: r.cpu.nodes,
        };
        eprintln!("bench: {}", row.one_line());
        rows.push(row);
    }
    Ok(rows)
}

/// Keys stored after the first step: the small-data baseline that throughput
/// at 1M keys is compared with.
const BASELINE_KEYS: u64 = 10_000;

/// Keys stored after each step: `BASELINE_KEYS` first (when the steps are
/// larger), then every multiple of `step` below `keys`, then `keys`.
fn step_totals(keys: u64, step: u64) -> Vec<u64> {
    let mut totals = Vec::new();
    if step > BASELINE_KEYS && keys > BASELINE_KEYS {
        totals.push(BASELINE_KEYS);
    }
    totals.extend((1..keys.div_ceil(step)).map(|i| i * step));
    totals.push(keys);
    totals
}

/// One node's own view: (is leader, commit index, own applied index).
fn own_progress(url: &str) -> Option<(bool, Option<u64>, Option<u64>)> {
    let t = topology_at(url)?;
    Some((t.is_leader(), t.commit_index, t.own_applied_index()))
}

/// Max over followers of (leader commit − follower applied), one sample;
/// `None` when no leader answered with a commit index.
fn lag_sample(urls: &BTreeMap<u32, String>) -> Option<u64> {
    let views: Vec<_> = urls.values().filter_map(|u| own_progress(u)).collect();
    let commit = views
        .iter()
        .filter(|(leader, _, _)| *leader)
        .find_map(|(_, c, _)| *c)?;
    views
        .iter()
        .filter(|(leader, _, _)| !*leader)
        .filter_map(|(_, _, a)| *a)
        .map(|a| commit.saturating_sub(a))
        .max()
}

/// Polls lag every 200 ms on its own thread until stopped.
struct LagSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Option<u64>>,
}

impl LagSampler {
    fn start(urls: BTreeMap<u32, String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let until = Instant::now() + STEP_DEADLINE + Duration::from_secs(60);
            let mut max: Option<u64> = None;
            while !flag.load(Ordering::Relaxed) && Instant::now() < until {
                let t = Instant::now();
                if let Some(l) = lag_sample(&urls) {
                    max = Some(max.map_or(l, |m| m.max(l)));
                }
                if let Some(rest) = SAMPLE_EVERY.checked_sub(t.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            max
        });
        Self { stop, handle }
    }

    fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().ok().flatten()
    }
}

/// Milliseconds from `step_end` until every follower's applied index reached
/// the leader's commit index read right after the step (`None`: not within
/// [`CATCH_UP_DEADLINE`], or no leader published a commit index).
fn catch_up(urls: &BTreeMap<u32, String>, step_end: Instant) -> Option<f64> {
    let until = step_end + CATCH_UP_DEADLINE;
    let target = loop {
        let commit = urls
            .values()
            .filter_map(|u| own_progress(u))
            .find(|(leader, _, _)| *leader)
            .and_then(|(_, c, _)| c);
        if let Some(c) = commit {
            break c;
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    loop {
        let views: Vec<_> = urls.values().map(|u| own_progress(u)).collect();
        let caught_up = views.iter().all(|v| match v {
            Some((true, _, _)) => true,
            Some((false, _, Some(applied))) => *applied >= target,
            _ => false,
        });
        if caught_up {
            return Some(step_end.elapsed().as_secs_f64() * 1000.0);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::step_totals;

    #[test]
    fn steps_start_with_the_small_baseline_and_end_at_the_total() {
        assert_eq!(
            step_totals(300_000, 100_000),
            vec![10_000, 100_000, 200_000, 300_000]
        );
        assert_eq!(
            step_totals(250_000, 100_000),
            vec![10_000, 100_000, 200_000, 250_000]
        );
        assert_eq!(step_totals(5_000, 100_000), vec![5_000]);
        assert_eq!(step_totals(30_000, 10_000), vec![10_000, 20_000, 30_000]);
    }
}
