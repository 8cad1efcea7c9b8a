//! The rows of the report: one struct per kind of cell, with the figures
//! computed from what the cell measured, and its progress line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::bench::failover_writes::{outcome, rate_between, WriteRecord};
use crate::bench::load::{CellResult, Workload};
use crate::bench::PathKind;

/// One throughput cell.
#[derive(Clone, Debug, Serialize)]
pub struct CellRow {
    pub path: &'static str,
    pub workload: &'static str,
    pub concurrency: usize,
    pub ops_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub errors: u64,
    /// Failed requests by kind (HTTP status and error code, or transport error).
    pub error_kinds: BTreeMap<String, u64>,
    /// Successful operations in the measured window.
    pub ops: u64,
    pub measured_s: f64,
    /// CPU seconds of the node processes during the measured window.
    pub node_cpu_s: Option<f64>,
    /// CPU seconds of HAProxy (`None` if it was not running).
    pub proxy_cpu_s: Option<f64>,
    /// CPU seconds of this process (load generator + smart client thread).
    pub client_cpu_s: f64,
    /// Successful operations per CPU second of nodes + proxy + client.
    pub ops_per_cpu_s: Option<f64>,
    /// Operations per CPU second of the server side only (nodes + proxy).
    pub ops_per_server_cpu_s: Option<f64>,
    /// ops/s of this path divided by the `haproxy` path's, same cell.
    pub ops_ratio_vs_haproxy: Option<f64>,
    /// Write cells on kv-node: fsyncs of the leader's Raft log per
    /// acknowledged write (group commit: concurrent writes share one).
    pub leader_fsyncs_per_write: Option<f64>,
    /// The same on the followers (the larger of the two).
    pub follower_fsyncs_per_write: Option<f64>,
    /// p99 of this path divided by the `haproxy` path's, same cell.
    pub p99_ratio_vs_haproxy: Option<f64>,
}

impl CellRow {
    pub fn new(path: PathKind, workload: Workload, concurrency: usize, r: &CellResult) -> Self {
        let secs = r.measured.as_secs_f64();
        let q = |p: f64| {
            if r.hist.is_empty() {
                0
            } else {
                r.hist.value_at_quantile(p)
            }
        };
        let server = r.cpu.nodes.map(|n| n + r.cpu.proxy.unwrap_or(0.0));
        let per = |cpu: Option<f64>| cpu.filter(|c| *c > 0.0).map(|c| r.ok as f64 / c);
        Self {
            path: path.name(),
            workload: workload.name(),
            concurrency,
            ops_per_s: r.ok as f64 / secs,
            p50_us: q(0.5),
            p99_us: q(0.99),
            p999_us: q(0.999),
            errors: r.errors,
            error_kinds: r.error_kinds.clone(),
            ops: r.ok,
            measured_s: secs,
            node_cpu_s: r.cpu.nodes,
            proxy_cpu_s: r.cpu.proxy,
            client_cpu_s: r.cpu.client,
            ops_per_cpu_s: per(server.map(|s| s + r.cpu.client)),
            ops_per_server_cpu_s: per(server),
            ops_ratio_vs_haproxy: None,
            p99_ratio_vs_haproxy: None,
            leader_fsyncs_per_write: None,
            follower_fsyncs_per_write: None,
        }
    }

    /// Progress line for stderr.
    pub fn one_line(&self) -> String {
        let fsyncs = match (self.leader_fsyncs_per_write, self.follower_fsyncs_per_write) {
            (Some(l), Some(f)) => format!("  fsyncs/write leader {l:.3} follower {f:.3}"),
            _ => String::new(),
        };
        format!(
            "{:<8} {:<18} c={:<3} {:>9.0} ops/s  p50 {:>6} µs  p99 {:>7} µs  p99.9 {:>7} µs  errors {} {:?}",
            self.path,
            self.workload,
            self.concurrency,
            self.ops_per_s,
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.errors,
            self.error_kinds
        ) + &fsyncs
    }
}

/// One failover cell.
#[derive(Clone, Debug, Serialize)]
pub struct FailoverRow {
    pub path: &'static str,
    /// Kill instant → first success of a write issued after the kill, ms
    /// (`None`: no write issued after the kill succeeded).
    pub unavailable_ms: Option<f64>,
    /// Longest time between consecutive successful completions, ms.
    pub max_gap_ms: f64,
    /// Writes that failed.
    pub errors: usize,
    /// Writes issued.
    pub writes: usize,
    /// Failed writes by kind.
    pub error_kinds: BTreeMap<String, u64>,
    pub rate_per_s: u32,
    /// The node that was killed.
    pub killed_node: u32,
}

impl FailoverRow {
    pub fn new(
        path: PathKind,
        killed: u32,
        rate: u32,
        killed_at: Instant,
        records: &[WriteRecord],
    ) -> Self {
        let o = outcome(records, killed_at);
        Self {
            path: path.name(),
            unavailable_ms: o.unavailable.map(ms),
            max_gap_ms: ms(o.max_gap),
            errors: o.errors,
            writes: o.issued,
            error_kinds: error_kinds(records),
            rate_per_s: rate,
            killed_node: killed,
        }
    }

    /// Progress line for stderr.
    pub fn one_line(&self) -> String {
        format!(
            "failover {:<8} unavailable {} ms  longest gap {:.0} ms  errors {}/{} {:?}",
            self.path,
            self.unavailable_ms
                .map_or("never recovered".into(), |v| format!("{v:.0}")),
            self.max_gap_ms,
            self.errors,
            self.writes,
            self.error_kinds
        )
    }
}

/// One failover-under-load cell: closed-loop writes at full speed, leader
/// SIGKILLed while they go on.
#[derive(Clone, Debug, Serialize)]
pub struct FailoverLoadRow {
    pub path: &'static str,
    pub concurrency: usize,
    /// Writes ran this long before the kill.
    pub before_kill_s: f64,
    /// ... and this long after it.
    pub after_kill_s: f64,
    /// Successful writes per second before the kill.
    pub ops_per_s_before_kill: Option<f64>,
    /// Kill instant → first success of a write issued after the kill, ms.
    pub unavailable_ms: Option<f64>,
    /// Longest time between consecutive successful completions, ms.
    pub max_gap_ms: f64,
    /// Successful writes per second from the recovery to the end.
    pub ops_per_s_after_recovery: Option<f64>,
    /// Writes that failed (errors the application saw).
    pub errors: usize,
    /// Writes issued.
    pub writes: usize,
    pub error_kinds: BTreeMap<String, u64>,
    /// The node (etcd: member number) that was killed.
    pub killed_node: u32,
}

impl FailoverLoadRow {
    pub fn new(
        path: PathKind,
        killed: u32,
        concurrency: usize,
        load_start: Instant,
        killed_at: Instant,
        records: &[WriteRecord],
    ) -> Self {
        let o = outcome(records, killed_at);
        let end = records.iter().map(|r| r.issued).max().unwrap_or(killed_at);
        let recovered = o.unavailable.map(|u| killed_at + u);
        Self {
            path: path.name(),
            concurrency,
            before_kill_s: killed_at
                .saturating_duration_since(load_start)
                .as_secs_f64(),
            after_kill_s: end.saturating_duration_since(killed_at).as_secs_f64(),
            ops_per_s_before_kill: rate_between(records, load_start, killed_at),
            unavailable_ms: o.unavailable.map(ms),
            max_gap_ms: ms(o.max_gap),
            ops_per_s_after_recovery: recovered.and_then(|r| rate_between(records, r, end)),
            errors: o.errors,
            writes: o.issued,
            error_kinds: error_kinds(records),
            killed_node: killed,
        }
    }

    /// Progress line for stderr.
    pub fn one_line(&self) -> String {
        format!(
            "failover under load {:<6} c={} {:.0} ops/s before the kill; unavailable {} ms  longest gap {:.0} ms  errors {}/{} {:?}; {} ops/s after",
            self.path,
            self.concurrency,
            self.ops_per_s_before_kill.unwrap_or(0.0),
            self.unavailable_ms
                .map_or("never recovered".into(), |v| format!("{v:.0}")),
            self.max_gap_ms,
            self.errors,
            self.writes,
            self.error_kinds,
            self.ops_per_s_after_recovery
                .map_or("–".into(), |v| format!("{v:.0}")),
        )
    }
}

/// One step of the growth run.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthRow {
    /// Keys written so far (this step included).
    pub keys_total: u64,
    /// Keys written in this step.
    pub step_keys: u64,
    /// Successful writes per second in this step.
    pub ops_per_s: f64,
    pub p99_us: u64,
    pub errors: u64,
    /// Length of the step.
    pub step_s: f64,
    /// Largest (leader commit index − follower applied index) seen during the
    /// step (sampled every 200 ms; `None`: never sampled).
    pub max_lag_entries: Option<u64>,
    /// From the end of the step until every follower applied the commit
    /// index of that moment (`None`: not within 120 s).
    pub catch_up_ms: Option<f64>,
    /// RSS per node id after the step, MB.
    pub rss_mb: BTreeMap<u32, f64>,
    /// CPU seconds of the nodes during the step.
    pub node_cpu_s: Option<f64>,
}

impl GrowthRow {
    /// Progress line for stderr.
    pub fn one_line(&self) -> String {
        let rss: Vec<String> = self
            .rss_mb
            .iter()
            .map(|(id, mb)| format!("n{id} {mb:.0}"))
            .collect();
        format!(
            "growth {:>8} keys: {:>6.0} writes/s  p99 {:>7} µs  errors {}  max lag {} entries  caught up {} ms after  RSS MB {}",
            self.keys_total,
            self.ops_per_s,
            self.p99_us,
            self.errors,
            self.max_lag_entries
                .map_or("?".into(), |v| v.to_string()),
            self.catch_up_ms
                .map_or("> 120000".into(), |v| format!("{v:.0}")),
            rss.join(", ")
        )
    }
}

fn error_kinds(records: &[WriteRecord]) -> BTreeMap<String, u64> {
    records
        .iter()
        .filter_map(|r| r.error.clone())
        .fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e).or_default() += 1;
            m
        })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
