//! `demo bench`: the smart client against the balancer it replaces, side by
//! side in one run.
//!
//! - [`env`]: the system under test — its own 3-node cluster (or `--cluster`),
//!   HAProxy with the project's `config/haproxy.cfg`, CPU accounting of
//!   every process from `/proc`.
//! - [`load`]: the closed-loop load generator (one actix system, N tasks, one
//!   awc client or one `SmartClient`) and the workloads.
//! - [`etcd`]: a 3-member etcd cluster on loopback, the `etcd` path.
//! - [`failover`]: the write loads (open loop at a fixed rate, closed loop
//!   at full speed) during which the leader is killed.
//! - [`growth`]: the growth run (`--growth`): throughput, follower lag and
//!   memory as the key count grows.
//! - [`report`]: the markdown report and the JSON line.
//!
//! Four paths run the same load generator over the same keys: `smart`
//! (the `SmartClient`), `haproxy` (plain HTTP to the HAProxy frontend),
//! `pinned` (plain HTTP, every request to one follower, which forwards
//! writes and strong reads to the leader) and `etcd` (etcd 3.4's v3 JSON
//! gateway, for reference: writes to its leader, serializable reads spread).

mod env;
mod etcd;
mod failover;
mod growth;
mod load;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;

use env::Env;
use etcd::{EtcdCluster, EtcdOptions};
use load::{CellSpec, Route};
use report::{CellRow, FailoverLoadRow, FailoverRow, Report};

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
struct Timing {
    warmup: Duration,
    measure: Duration,
    /// Failover cell: writes start, the leader is killed `kill_after` in,
    /// writes are issued for `length` in total.
    kill_after: Duration,
    length: Duration,
    /// Failover under load: closed-loop writes for `load_before` before the
    /// kill, then for `load_after`.
    load_before: Duration,
    load_after: Duration,
}

impl Timing {
    fn from_args(a: &BenchArgs) -> Self {
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

/// Runs the benchmark; `ExitCode::FAILURE` only if it could not run at all.
pub fn main(args: BenchArgs) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &BenchArgs) -> Result<(), String> {
    let timing = Timing::from_args(args);
    let started = std::time::Instant::now();
    let mut report = Report::new(args, timing.warmup, timing.measure);
    let etcd_opts = etcd_options(args, &mut report);
    let cells = !(args.no_cells || args.growth_only);
    let mut paths: Vec<PathKind> = Vec::new();
    if cells || !(args.no_failover || args.growth_only) {
        let mut env = Env::start(&args.cluster)?;
        for &p in &args.paths {
            if paths.contains(&p) {
                continue;
            }
            match p {
                PathKind::Haproxy => {
                    if let Err(why) = env.start_haproxy() {
                        eprintln!("bench: haproxy path skipped: {why}");
                        report.skipped.push(format!("`haproxy` path: {why}"));
                        continue;
                    }
                }
                PathKind::Etcd => {
                    let Some(opts) = &etcd_opts else { continue };
                    if cells {
                        if let Err(why) = env.start_etcd(opts.clone()) {
                            eprintln!("bench: etcd path skipped: {why}");
                            report.skipped.push(format!("`etcd` path: {why}"));
                            continue;
                        }
                    }
                }
                _ => {}
            }
            paths.push(p);
        }
        if cells {
            run_cells(args, timing, &env, &paths, &mut report)?;
        }
        // The throughput cells leave tens of thousands of log entries behind;
        // each failover cell gets a fresh cluster (and HAProxy, or etcd) instead,
        // so every path meets the same state and a degraded cluster cannot
        // spill over.
        drop(env);
    }
    if args.growth_only {
        report
            .skipped
            .push("throughput and failover cells: --growth-only".into());
    } else if args.no_failover {
        report.skipped.push("failover cells: --no-failover".into());
    } else if !args.cluster.is_empty() {
        report
            .skipped
            .push("failover cells: the bench only kills nodes of a cluster it started".into());
    } else {
        for &path in &paths {
            let cell = failover_cell(
                path,
                args.failover_rate,
                timing,
                args.failover_timeline,
                etcd_opts.as_ref(),
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
        } else {
            // Under load: the smart client and etcd (the other paths have
            // no client-side failover to measure).
            for &path in paths
                .iter()
                .filter(|p| matches!(p, PathKind::Smart | PathKind::Etcd))
            {
                let cell = failover_load_cell(
                    path,
                    args.failover_load_concurrency,
                    timing,
                    etcd_opts.as_ref(),
                );
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
    }
    if args.growth || args.growth_only {
        if !args.cluster.is_empty() {
            report
                .skipped
                .push("growth run: it needs a fresh cluster started by the bench".into());
        } else {
            let opts = growth::GrowthOptions {
                keys: args.growth_keys.max(1),
                step: args.growth_step.max(1),
                concurrency: args.growth_concurrency.max(1),
            };
            match growth::run(opts) {
                Ok(rows) => report.growth = rows,
                Err(e) => {
                    eprintln!("bench: growth run failed: {e}");
                    report.skipped.push(format!("growth run: {e}"));
                }
            }
        }
    }
    report.total = started.elapsed();
    report.finish(args)
}

/// The etcd settings, or `None` (with the reason in the report) when the
/// `etcd` path is not wanted or its binary is missing.
fn etcd_options(args: &BenchArgs, report: &mut Report) -> Option<EtcdOptions> {
    if args.growth_only || !args.paths.contains(&PathKind::Etcd) {
        return None;
    }
    match etcd::find_binary(args.etcd_bin.as_deref()) {
        Ok(binary) => {
            report.etcd_version = etcd::version(&binary);
            report.etcd_election_ms = Some(args.etcd_election_ms);
            Some(EtcdOptions {
                binary,
                election_ms: args.etcd_election_ms.max(50),
            })
        }
        Err(why) => {
            eprintln!("bench: etcd path skipped: {why}");
            report.skipped.push(format!("`etcd` path: {why}"));
            None
        }
    }
}

/// The throughput cells on `env`.
fn run_cells(
    args: &BenchArgs,
    timing: Timing,
    env: &Env,
    paths: &[PathKind],
    report: &mut Report,
) -> Result<(), String> {
    env.preload(load::PRELOAD_KEYS)?;
    env.preload_etcd(load::PRELOAD_KEYS)?;
    (report.idle_node_cpu, report.idle_etcd_cpu) = env.idle_node_cpu(Duration::from_secs(2));
    eprintln!(
        "bench: cluster ready ({}), leader {}; {} paths x {} workloads x {:?} concurrency, {:?} + {:?} warm-up per cell",
        env.describe(),
        env.leader()?,
        paths.len(),
        args.workloads.len(),
        args.concurrency,
        timing.measure,
        timing.warmup,
    );

    // Cells interleave the paths (workload, concurrency, then path) so that
    // slow drift of the cluster (log growth, compaction) hits every path alike.
    for &workload in &args.workloads {
        for &concurrency in &args.concurrency {
            for &path in paths {
                let route = env.route(path)?;
                let spec = CellSpec {
                    workload,
                    concurrency: concurrency.max(1),
                    warmup: timing.warmup,
                    measure: timing.measure,
                    ops_limit: None,
                };
                let r = load::run_cell(route, spec, env.cpu_probe_for(path));
                let row = CellRow::new(path, workload, concurrency, &r);
                eprintln!("bench: {}", row.one_line());
                report.cells.push(row);
            }
        }
    }
    Ok(())
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
    let run = failover::start(route, rate, timing.length);
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
    let run = failover::start_closed(route, concurrency, timing.load_before + timing.load_after);
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
fn print_timeline(records: &[failover::WriteRecord], killed_at: std::time::Instant) {
    let t0 = records.first().map(|r| r.issued).unwrap_or(killed_at);
    let mut buckets: std::collections::BTreeMap<u128, (u32, u32, u128)> = Default::default();
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
