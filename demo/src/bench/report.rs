//! The report: a markdown table (stdout and `--out`) and, with `--json`, one
//! JSON object on the last line of stdout.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::failover::{outcome, WriteRecord};
use super::load::{CellResult, Workload};
use super::{BenchArgs, PathKind};

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
    pub error_kinds: std::collections::BTreeMap<String, u64>,
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
        }
    }

    /// Progress line for stderr.
    pub fn one_line(&self) -> String {
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
        )
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
    pub error_kinds: std::collections::BTreeMap<String, u64>,
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
            error_kinds: records.iter().filter_map(|r| r.error.clone()).fold(
                std::collections::BTreeMap::new(),
                |mut m, e| {
                    *m.entry(e).or_default() += 1;
                    m
                },
            ),
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Everything the run produced.
pub struct Report {
    pub cells: Vec<CellRow>,
    pub failover: Vec<FailoverRow>,
    /// What did not run, and why.
    pub skipped: Vec<String>,
    pub total: Duration,
    /// CPU cores the three nodes used with no traffic (2 s before the cells).
    pub idle_node_cpu: Option<f64>,
    warmup: Duration,
    measure: Duration,
    load_at_start: String,
}

#[derive(Serialize)]
struct Json<'a> {
    cells: &'a [CellRow],
    failover: &'a [FailoverRow],
    skipped: &'a [String],
    cpus: usize,
    load_average_at_start: &'a str,
    warmup_s: f64,
    measured_s: f64,
    total_s: f64,
    idle_node_cpu_cores: Option<f64>,
}

impl Report {
    pub fn new(_args: &BenchArgs, warmup: Duration, measure: Duration) -> Self {
        Self {
            cells: Vec::new(),
            failover: Vec::new(),
            skipped: Vec::new(),
            total: Duration::ZERO,
            idle_node_cpu: None,
            warmup,
            measure,
            load_at_start: std::fs::read_to_string("/proc/loadavg")
                .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "unknown".into()),
        }
    }

    /// Fills in the ratios, prints the table (and JSON) and writes `--out`.
    pub fn finish(mut self, args: &BenchArgs) -> Result<(), String> {
        self.fill_ratios();
        let md = self.markdown();
        print!("{md}");
        if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(&args.out, &md) {
            Ok(()) => eprintln!("bench: report written to {}", args.out.display()),
            Err(e) => eprintln!("bench: cannot write {}: {e}", args.out.display()),
        }
        if args.json {
            let json = Json {
                cells: &self.cells,
                failover: &self.failover,
                skipped: &self.skipped,
                cpus: cpus(),
                load_average_at_start: &self.load_at_start,
                warmup_s: self.warmup.as_secs_f64(),
                measured_s: self.measure.as_secs_f64(),
                total_s: self.total.as_secs_f64(),
                idle_node_cpu_cores: self.idle_node_cpu,
            };
            println!(
                "{}",
                serde_json::to_string(&json).map_err(|e| e.to_string())?
            );
        }
        Ok(())
    }

    fn fill_ratios(&mut self) {
        let base: Vec<(&'static str, usize, f64, u64)> = self
            .cells
            .iter()
            .filter(|c| c.path == PathKind::Haproxy.name())
            .map(|c| (c.workload, c.concurrency, c.ops_per_s, c.p99_us))
            .collect();
        for c in &mut self.cells {
            let Some(&(_, _, ops, p99)) = base
                .iter()
                .find(|b| b.0 == c.workload && b.1 == c.concurrency)
            else {
                continue;
            };
            c.ops_ratio_vs_haproxy = (ops > 0.0).then(|| c.ops_per_s / ops);
            c.p99_ratio_vs_haproxy = (p99 > 0).then(|| c.p99_us as f64 / p99 as f64);
        }
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Benchmark: smart client vs HAProxy vs pinned follower\n"
        );
        let _ = writeln!(
            s,
            "Client, nodes and proxy share one small machine ({} CPUs, load average {} at the start): \
             every figure includes their competition for the same cores. \
             Each cell: {:.1} s warm-up, then {:.1} s measured; closed loop (each task sends its next \
             request when the previous one answered); 8-byte keys, 256-byte values; \
             latency of successful requests (HDR histogram). CPU columns are user+system seconds \
             during the measured window (`/proc/<pid>/stat`): nodes (all three), HAProxy, and the \
             load generator process (on `smart` this includes the client's I/O thread). \
             `ops/CPU-s` divides successful operations by the sum of all three. \
             Ratios are against the `haproxy` path in the same workload and concurrency.\n",
            cpus(),
            self.load_at_start,
            self.warmup.as_secs_f64(),
            self.measure.as_secs_f64(),
        );
        if let Some(idle) = self.idle_node_cpu {
            let _ = writeln!(
                s,
                "With no traffic at all the three nodes used {idle:.2} CPU cores (2 s before the \
                 first cell); that baseline is part of every cell's node CPU.\n"
            );
        }
        let _ = writeln!(
            s,
            "| path | workload | c | ops/s | ×haproxy ops/s | p50 µs | p99 µs | p99.9 µs | ×haproxy p99 | errors | node CPU s | proxy CPU s | client CPU s | ops/CPU-s |"
        );
        let _ = writeln!(
            s,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let opt =
            |v: Option<f64>, prec: usize| v.map_or("–".to_string(), |v| format!("{v:.prec$}"));
        for c in &self.cells {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} |",
                c.path,
                c.workload,
                c.concurrency,
                c.ops_per_s,
                opt(c.ops_ratio_vs_haproxy, 2),
                c.p50_us,
                c.p99_us,
                c.p999_us,
                opt(c.p99_ratio_vs_haproxy, 2),
                c.errors,
                opt(c.node_cpu_s, 2),
                opt(c.proxy_cpu_s, 2),
                c.client_cpu_s,
                opt(c.ops_per_cpu_s, 0),
            );
        }
        let with_errors: Vec<&CellRow> = self.cells.iter().filter(|c| c.errors > 0).collect();
        if !with_errors.is_empty() {
            let _ = writeln!(s, "\nErrors by kind:\n");
            for c in with_errors {
                let kinds: Vec<String> = c
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k} × {n}"))
                    .collect();
                let _ = writeln!(
                    s,
                    "- {} {} c={}: {}",
                    c.path,
                    c.workload,
                    c.concurrency,
                    kinds.join(", ")
                );
            }
        }
        if !self.failover.is_empty() {
            let r = &self.failover[0];
            let _ = writeln!(
                s,
                "\n## Failover (leader SIGKILLed during {}/s open-loop writes, 5 s deadline each)\n\n\
                 *unavailable*: from the kill to the first successful completion of a write \
                 issued after the kill. *longest gap*: longest time between two consecutive \
                 successful completions in the cell. *errors*: writes the application saw \
                 fail (`haproxy` and `pinned` do not retry; `smart` retries inside its 5 s \
                 deadline). Each failover cell runs on a fresh 3-node cluster (and, for `haproxy`, a fresh HAProxy).\n",
                r.rate_per_s
            );
            let _ = writeln!(
                s,
                "| path | unavailable ms | longest gap ms | errors | writes | killed node |"
            );
            let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for f in &self.failover {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0} | {} | {} | {} |",
                    f.path,
                    f.unavailable_ms
                        .map_or("never".into(), |v| format!("{v:.0}")),
                    f.max_gap_ms,
                    f.errors,
                    f.writes,
                    f.killed_node
                );
            }
            for f in self.failover.iter().filter(|f| f.errors > 0) {
                let kinds: Vec<String> = f
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k} × {n}"))
                    .collect();
                let _ = writeln!(s, "\n- {} errors: {}", f.path, kinds.join(", "));
            }
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(s, "\n## Skipped\n");
            for k in &self.skipped {
                let _ = writeln!(s, "- {k}");
            }
        }
        let _ = writeln!(s, "\nTotal run time {:.0} s.", self.total.as_secs_f64());
        s
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
