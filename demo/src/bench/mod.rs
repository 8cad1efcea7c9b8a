//! `demo bench`: the smart client against the balancer it replaces, side by
//! side in one run.
//!
//! - [`env`]: the system under test — its own 3-node cluster (or `--cluster`),
//!   HAProxy with the project's `config/haproxy.cfg`, CPU accounting of
//!   every process from `/proc`.
//! - [`load`]: the closed-loop load generator (one actix system, N tasks, one
//!   awc client or one `SmartClient`) and the workloads.
//! - [`failover`]: the open-loop write cell that kills the leader.
//! - [`report`]: the markdown table and the JSON line.
//!
//! Three paths run the same load generator over the same keys: `smart`
//! (the `SmartClient`), `haproxy` (plain HTTP to the HAProxy frontend) and
//! `pinned` (plain HTTP, every request to one follower, which forwards
//! writes and strong reads to the leader).

mod env;
mod failover;
mod load;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;

use env::Env;
use load::{CellSpec, Route};
use report::{CellRow, FailoverRow, Report};

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
    /// Short cells and a short failover cell (CI smoke run, about a minute and a half).
    #[arg(long)]
    pub quick: bool,
    /// Paths to compare.
    #[arg(long, value_delimiter = ',', default_value = "smart,haproxy,pinned")]
    pub paths: Vec<PathKind>,
    /// Workloads to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "write,read-eventual,read-linearizable,mix"
    )]
    pub workloads: Vec<load::Workload>,
    /// Skip the failover cells.
    #[arg(long)]
    pub no_failover: bool,
    /// Write rate of the failover cell (writes per second, each with a 5 s deadline).
    #[arg(long, default_value_t = 200)]
    pub failover_rate: u32,
    /// Print each failover cell's writes per 250 ms (ok, failed, slowest) to stderr.
    #[arg(long)]
    pub failover_timeline: bool,
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
}

impl PathKind {
    /// Name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            PathKind::Smart => "smart",
            PathKind::Haproxy => "haproxy",
            PathKind::Pinned => "pinned",
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
    let mut env = Env::start(&args.cluster)?;
    let mut paths: Vec<PathKind> = Vec::new();
    for &p in &args.paths {
        if paths.contains(&p) {
            continue;
        }
        if p == PathKind::Haproxy {
            if let Err(why) = env.start_haproxy() {
                eprintln!("bench: haproxy path skipped: {why}");
                report.skipped.push(format!("`haproxy` path: {why}"));
                continue;
            }
        }
        paths.push(p);
    }
    env.preload(load::PRELOAD_KEYS)?;
    report.idle_node_cpu = env.idle_node_cpu(Duration::from_secs(2));
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
            for &path in &paths {
                let route = env.route(path)?;
                let spec = CellSpec {
                    workload,
                    concurrency: concurrency.max(1),
                    warmup: timing.warmup,
                    measure: timing.measure,
                };
                let r = load::run_cell(route, spec, env.cpu_probe());
                let row = CellRow::new(path, workload, concurrency, &r);
                eprintln!("bench: {}", row.one_line());
                report.cells.push(row);
            }
        }
    }

    // The throughput cells leave tens of thousands of log entries behind;
    // each failover cell gets a fresh cluster (and HAProxy) instead, so every
    // path meets the same state and a degraded cluster cannot spill over.
    drop(env);
    if args.no_failover {
        report.skipped.push("failover cells: --no-failover".into());
    } else if !args.cluster.is_empty() {
        report
            .skipped
            .push("failover cells: the bench only kills nodes of a cluster it started".into());
    } else {
        for &path in &paths {
            match failover_cell(path, args.failover_rate, timing, args.failover_timeline) {
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
    }
    report.total = started.elapsed();
    report.finish(args)
}

/// One failover cell on a fresh cluster: open-loop writes, SIGKILL of the
/// leader `kill_after` in; the cluster is dropped (every node killed) after.
fn failover_cell(
    path: PathKind,
    rate: u32,
    timing: Timing,
    timeline: bool,
) -> Result<FailoverRow, String> {
    let mut env = Env::start(&[])?;
    if path == PathKind::Haproxy {
        env.start_haproxy()?;
    }
    let leader = env.leader()?;
    let route: Route = env.route(path)?;
    let run = failover::start(route, rate, timing.length);
    let killed_at = run.sleep_until_kill(timing.kill_after);
    env.kill(leader);
    let records = run.join()?;
    if timeline {
        let t0 = records.first().map(|r| r.issued).unwrap_or(killed_at);
        let mut buckets: std::collections::BTreeMap<u128, (u32, u32, u128)> = Default::default();
        for r in &records {
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
    Ok(FailoverRow::new(path, leader, rate, killed_at, &records))
}
