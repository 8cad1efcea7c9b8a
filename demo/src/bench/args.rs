//! The benchmark's flags, the paths it compares, and the timing resolved
//! from the flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

use super::load;

/// Flags of the benchmark.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Benchmark an already running cluster (comma-separated API URLs)
    /// instead of starting one; failover cells and node CPU are then skipped.
    #[arg(long, value_delimiter = ',')]
    pub cluster: Vec<String>,
    /// Concurrency levels (concurrent requests of the load generator).
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub concurrency: Vec<usize>,
    /// Measured time of each cell, after the warm-up [default: 10, --quick: 1.5].
    #[arg(long)]
    pub duration_secs: Option<f64>,
    /// Warm-up before each cell's measurement [default: 1, --quick: 0.5].
    #[arg(long)]
    pub warmup_secs: Option<f64>,
    /// Short cells and short failover cells (CI smoke run, about three minutes).
    #[arg(long)]
    pub quick: bool,
    /// Paths to compare.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "smart,haproxy,pinned,etcd"
    )]
    pub paths: Vec<PathKind>,
    /// Workloads to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "write,read-eventual,read-linearizable,mix"
    )]
    pub workloads: Vec<load::Workload>,
    /// Skip the throughput cells (e.g. to run only the failover cells or the growth run).
    #[arg(long)]
    pub no_cells: bool,
    /// Skip the failover cells (open loop and under load).
    #[arg(long)]
    pub no_failover: bool,
    /// Skip only the failover-under-load cells.
    #[arg(long)]
    pub no_failover_load: bool,
    /// Failover under load: closed-loop writes for this long before the
    /// leader is killed [default: 30, --quick: 5].
    #[arg(long)]
    pub failover_load_secs: Option<f64>,
    /// Failover under load: how long the writes go on after the kill
    /// [default: 10, --quick: 7].
    #[arg(long)]
    pub failover_load_tail_secs: Option<f64>,
    /// Failover under load: concurrent closed-loop writers.
    #[arg(long, default_value_t = 64)]
    pub failover_load_concurrency: usize,
    /// Write rate of the failover cell (writes per second, each with a 5 s deadline).
    #[arg(long, default_value_t = 200)]
    pub failover_rate: u32,
    /// Print each failover cell's writes per 250 ms (ok, failed, slowest) to stderr.
    #[arg(long)]
    pub failover_timeline: bool,
    /// The etcd binary of the `etcd` path [default: /usr/bin/etcd, else `etcd` on PATH].
    #[arg(long)]
    pub etcd_bin: Option<PathBuf>,
    /// etcd's `--election-timeout` in ms (heartbeat: a tenth of it); etcd's default is 1000.
    #[arg(long, default_value_t = 1000)]
    pub etcd_election_ms: u64,
    /// `[node] workers` (HTTP worker threads) of the nodes the bench starts
    /// [default: the node's default].
    #[arg(long)]
    pub node_workers: Option<usize>,
    /// Run the growth run (off by default, also with --quick): unique keys
    /// through the smart client in steps, throughput, follower lag and RSS per step.
    #[arg(long)]
    pub growth: bool,
    /// Run only the growth run (no throughput or failover cells).
    #[arg(long)]
    pub growth_only: bool,
    /// Keys written by the growth run in total.
    #[arg(long, default_value_t = 1_000_000)]
    pub growth_keys: u64,
    /// Keys per growth step.
    #[arg(long, default_value_t = 100_000)]
    pub growth_step: u64,
    /// Concurrent writers of the growth run.
    #[arg(long, default_value_t = 64)]
    pub growth_concurrency: usize,
    /// Where the markdown report is written.
    #[arg(long, default_value = "target/bench-report.md")]
    pub out: PathBuf,
    /// Print one JSON object with every figure on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// One way for an application to reach the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PathKind {
    /// The smart client: writes to the cached leader, eventual reads spread over followers.
    Smart,
    /// Plain HTTP to HAProxy (writes to the `/primary` server, reads round-robin).
    Haproxy,
    /// Plain HTTP to one follower (writes and strong reads forwarded by it).
    Pinned,
    /// etcd 3.4 (3 members) through its v3 JSON gateway: writes and
    /// linearizable reads to the leader, serializable reads round-robin.
    Etcd,
}

impl PathKind {
    /// Name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            PathKind::Smart => "smart",
            PathKind::Haproxy => "haproxy",
            PathKind::Pinned => "pinned",
            PathKind::Etcd => "etcd",
        }
    }
}

/// Timing of the run, resolved from the flags.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Unmeasured lead time of each throughput cell.
    pub warmup: Duration,
    /// Measured time of each throughput cell.
    pub measure: Duration,
    /// Failover cell: writes start, the leader is killed `kill_after` in,
    /// writes are issued for `length` in total.
    pub kill_after: Duration,
    /// See `kill_after`.
    pub length: Duration,
    /// Failover under load: closed-loop writes for `load_before` before the
    /// kill, then for `load_after`.
    pub load_before: Duration,
    /// See `load_before`.
    pub load_after: Duration,
}

impl Timing {
    /// The timing `a` asks for (`--quick` shortens the defaults).
    pub fn from_args(a: &BenchArgs) -> Self {
        let secs = |v: Option<f64>, quick: f64, full: f64| {
            Duration::from_secs_f64(v.unwrap_or(if a.quick { quick } else { full }).max(0.0))
        };
        let (kill_after, length) = if a.quick { (1.5, 4.5) } else { (3.0, 10.0) };
        Self {
            warmup: secs(a.warmup_secs, 0.5, 1.0),
            measure: secs(a.duration_secs, 1.5, 10.0).max(Duration::from_millis(100)),
            kill_after: Duration::from_secs_f64(kill_after),
            length: Duration::from_secs_f64(length),
            load_before: secs(a.failover_load_secs, 5.0, 30.0),
            // Longer than the 5 s request deadline, so that writes stuck
            // in the kill's aftermath can expire and their successors show
            // the recovery.
            load_after: secs(a.failover_load_tail_secs, 7.0, 10.0).max(Duration::from_millis(500)),
        }
    }
}
