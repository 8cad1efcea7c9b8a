//! `demo bench`: the smart client against the balancer it replaces, side by
//! side in one run.
//!
//! - [`env`]: the system under test — its own 3-node cluster (or `--cluster`),
//!   HAProxy with the project's `config/haproxy.cfg`, CPU accounting of
//!   every process from `/proc`.
//! - [`load`]: the closed-loop load generator (one actix system, N tasks, one
//!   awc client or one `SmartClient`) and the workloads.
//! - [`etcd`]: a 3-member etcd cluster on loopback, the `etcd` path.
//! - [`failover_cell`]: the failover cells, each on a fresh system, and
//!   [`failover_writes`]: their write loads (open loop at a fixed rate,
//!   closed loop at full speed) during which the leader is killed.
//! - [`growth`]: the growth run (`--growth`): throughput, follower lag and
//!   memory as the key count grows.
//! - [`report`]: the markdown report and the JSON line.
//!
//! Four paths run the same load generator over the same keys: `smart`
//! (the `SmartClient`), `haproxy` (plain HTTP to the HAProxy frontend),
//! `pinned` (plain HTTP, every request to one follower, which forwards
//! writes and strong reads to the leader) and `etcd` (etcd 3.4's v3 JSON
//! gateway, for reference: writes to its leader, serializable reads spread).

mod args;
mod env;
mod etcd;
mod failover_cell;
mod failover_writes;
mod growth;
mod load;
mod report;

use std::process::ExitCode;
use std::time::Duration;

pub use args::{BenchArgs, PathKind};

use args::Timing;
use env::Env;
use etcd::EtcdOptions;
use load::{CellSpec, Workload};
use report::{CellRow, Report};

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

/// The whole run: throughput cells on one system, then the failover cells
/// and the growth run, each on fresh systems; then the report.
fn run(args: &BenchArgs) -> Result<(), String> {
    let timing = Timing::from_args(args);
    let started = std::time::Instant::now();
    let mut report = Report::new(args, timing.warmup, timing.measure);
    let etcd_opts = etcd_options(args, &mut report);
    let cells = !(args.no_cells || args.growth_only);
    let mut paths: Vec<PathKind> = Vec::new();
    if cells || !(args.no_failover || args.growth_only) {
        let node_extra = args
            .node_workers
            .map(|n| vec![format!("workers = {n}")])
            .unwrap_or_default();
        let mut env = Env::start_with(&args.cluster, node_extra)?;
        paths = start_paths(args, cells, etcd_opts.as_ref(), &mut env, &mut report);
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
        failover_cell::run_all(args, timing, &paths, etcd_opts.as_ref(), &mut report);
    }
    if args.growth || args.growth_only {
        run_growth(args, &mut report);
    }
    report.total = started.elapsed();
    report.finish(args)
}

/// The paths of `--paths` that can run on `env`, each once: HAProxy and
/// (for the throughput cells) etcd are started here; a path whose system
/// does not start is skipped, with the reason in the report.
fn start_paths(
    args: &BenchArgs,
    cells: bool,
    etcd_opts: Option<&EtcdOptions>,
    env: &mut Env,
    report: &mut Report,
) -> Vec<PathKind> {
    let mut paths: Vec<PathKind> = Vec::new();
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
                let Some(opts) = etcd_opts else { continue };
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
    paths
}

/// The growth run (`--growth`, `--growth-only`), on a fresh cluster.
fn run_growth(args: &BenchArgs, report: &mut Report) {
    if !args.cluster.is_empty() {
        report
            .skipped
            .push("growth run: it needs a fresh cluster started by the bench".into());
        return;
    }
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
                // Sessions are the smart client's: other paths have no cell.
                let route = match (workload.session(), path) {
                    (false, _) => env.route(path)?,
                    (true, PathKind::Smart) => env.smart_route(true)?,
                    (true, _) => continue,
                };
                let spec = CellSpec {
                    workload,
                    concurrency: concurrency.max(1),
                    warmup: timing.warmup,
                    measure: timing.measure,
                    ops_limit: None,
                };
                // Group commit: fsyncs of each node's Raft log per
                // acknowledged write, over the whole cell (warm-up included).
                let counts_fsyncs = workload == Workload::Write && path != PathKind::Etcd;
                let before = counts_fsyncs.then(|| env.fsync_counts());
                let r = load::run_cell(route, spec, env.cpu_probe_for(path));
                let mut row = CellRow::new(path, workload, concurrency, &r);
                if let (Some(before), Ok(leader)) = (before, env.leader()) {
                    let after = env.fsync_counts();
                    let per_write = |id: u32| fsyncs_per_write(&before, &after, id, r.ok_all);
                    row.leader_fsyncs_per_write = per_write(leader);
                    row.follower_fsyncs_per_write = after
                        .keys()
                        .filter(|id| **id != leader)
                        .filter_map(|id| per_write(*id))
                        .reduce(f64::max);
                }
                eprintln!("bench: {}", row.one_line());
                report.cells.push(row);
            }
        }
    }
    Ok(())
}

/// Fsyncs node `id` made between two `Env::fsync_counts` per write acknowledged
/// in between (`None` when a count is missing or nothing was acknowledged).
fn fsyncs_per_write(
    before: &std::collections::BTreeMap<u32, f64>,
    after: &std::collections::BTreeMap<u32, f64>,
    id: u32,
    writes: u64,
) -> Option<f64> {
    let n = after.get(&id)? - before.get(&id)?;
    (writes > 0).then(|| n / writes as f64)
}
