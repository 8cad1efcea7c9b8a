//! The failover cells: on a fresh system per cell, writes while the leader
//! is SIGKILLed — open loop at a fixed rate for every path, and closed loop
//! at full speed ("under load") for the paths with client-side failover.
//! The write loads themselves are in [`super::failover_writes`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::args::{BenchArgs, PathKind, Timing};
use super::env::Env;
use super::etcd::{EtcdCluster, EtcdOptions};
use super::failover_writes::{self, WriteRecord};
use super::load::Route;
use super::report::{FailoverLoadRow, FailoverRow, Report};

/// Every failover cell: the open-loop cell for each of `paths`, then the
/// under-load cell for `smart` and `etcd` (the other paths have no
/// client-side failover to measure); rows, or why a cell failed, go to
/// `report`.
pub fn run_all(
    args: &BenchArgs,
    timing: Timing,
    paths: &[PathKind],
    etcd: Option<&EtcdOptions>,
    report: &mut Report,
) {
    for &path in paths {
        let cell = failover_cell(
            path,
            args.failover_rate,
            timing,
            args.failover_timeline,
            etcd,
        );
        match cell {
            Ok(row) => {
                eprintln!("bench: {}", row.one_line());
                report.failover.push(row);
            }
            Err(e) => {
                eprintln!("bench: failover cell for {} failed: {e}", path.name());
                report
                    .skipped
                    .push(format!("failover `{}`: {e}", path.name()));
            }
        }
    }
    if args.no_failover_load {
        report
            .skipped
            .push("failover under load: --no-failover-load".into());
        return;
    }
    for &path in paths
        .iter()
        .filter(|p| matches!(p, PathKind::Smart | PathKind::Etcd))
    {
        let cell = failover_load_cell(path, args.failover_load_concurrency, timing, etcd);
        match cell {
            Ok(row) => {
                eprintln!("bench: {}", row.one_line());
                report.failover_load.push(row);
            }
            Err(e) => {
                eprintln!(
                    "bench: failover-under-load cell for {} failed: {e}",
                    path.name()
                );
                report
                    .skipped
                    .push(format!("failover under load `{}`: {e}", path.name()));
            }
        }
    }
}

/// A fresh system for one failover cell: a kv cluster (with HAProxy for the
/// `haproxy` path), or an etcd cluster; dropping it kills every process.
enum Fresh {
    Kv(Box<Env>),
    Etcd(EtcdCluster),
}

impl Fresh {
    fn start(path: PathKind, etcd: Option<&EtcdOptions>) -> Result<Self, String> {
        match path {
            PathKind::Etcd => {
                let opts = etcd.ok_or("etcd is not available")?;
                Ok(Fresh::Etcd(EtcdCluster::start(opts.clone())?))
            }
            _ => {
                let mut env = Env::start(&[])?;
                if path == PathKind::Haproxy {
                    env.start_haproxy()?;
                }
                Ok(Fresh::Kv(Box::new(env)))
            }
        }
    }

    /// The leader's id (kv node id, or etcd member number 1..=3).
    fn leader(&self) -> Result<u32, String> {
        match self {
            Fresh::Kv(env) => env.leader(),
            Fresh::Etcd(e) => e.leader(),
        }
    }

    fn route(&self, path: PathKind) -> Result<Route, String> {
        match self {
            Fresh::Kv(env) => env.route(path),
            Fresh::Etcd(e) => e.route(),
        }
    }

    /// SIGKILL of node (or member) `id`.
    fn kill(&mut self, id: u32) {
        match self {
            Fresh::Kv(env) => env.kill(id),
            Fresh::Etcd(e) => e.kill(id),
        }
    }
}

/// One failover cell on a fresh cluster: open-loop writes, SIGKILL of the
/// leader `kill_after` in; the cluster is dropped (every node killed) after.
fn failover_cell(
    path: PathKind,
    rate: u32,
    timing: Timing,
    timeline: bool,
    etcd: Option<&EtcdOptions>,
) -> Result<FailoverRow, String> {
    let mut fresh = Fresh::start(path, etcd)?;
    let leader = fresh.leader()?;
    let route: Route = fresh.route(path)?;
    let run = failover_writes::start(route, rate, timing.length);
    let killed_at = run.sleep_until_kill(timing.kill_after);
    fresh.kill(leader);
    let records = run.join()?;
    if timeline {
        print_timeline(&records, killed_at);
    }
    Ok(FailoverRow::new(path, leader, rate, killed_at, &records))
}

/// One failover-under-load cell on a fresh cluster: `concurrency` closed-loop
/// writers for `load_before`, SIGKILL of the leader, writes go on for
/// `load_after`.
fn failover_load_cell(
    path: PathKind,
    concurrency: usize,
    timing: Timing,
    etcd: Option<&EtcdOptions>,
) -> Result<FailoverLoadRow, String> {
    let mut fresh = Fresh::start(path, etcd)?;
    let leader = fresh.leader()?;
    let route: Route = fresh.route(path)?;
    let run =
        failover_writes::start_closed(route, concurrency, timing.load_before + timing.load_after);
    let load_start = run.sleep_until_kill(Duration::ZERO);
    let killed_at = run.sleep_until_kill(timing.load_before);
    fresh.kill(leader);
    let records = run.join()?;
    Ok(FailoverLoadRow::new(
        path,
        leader,
        concurrency,
        load_start,
        killed_at,
        &records,
    ))
}

/// The failover cell's writes per 250 ms, to stderr.
fn print_timeline(records: &[WriteRecord], killed_at: Instant) {
    let t0 = records.first().map(|r| r.issued).unwrap_or(killed_at);
    let mut buckets: BTreeMap<u128, (u32, u32, u128)> = BTreeMap::new();
    for r in records {
        let b = buckets
            .entry(r.issued.duration_since(t0).as_millis() / 250)
            .or_default();
        if r.ok {
            b.0 += 1
        } else {
            b.1 += 1
        }
        b.2 = b.2.max(r.done.duration_since(r.issued).as_millis());
    }
    eprintln!("kill at {} ms", killed_at.duration_since(t0).as_millis());
    for (b, (ok, err, lat)) in buckets {
        eprintln!(
            "  issued {:>5} ms: ok {ok:>3} err {err:>3} max latency {lat} ms",
            b * 250
        );
    }
}
