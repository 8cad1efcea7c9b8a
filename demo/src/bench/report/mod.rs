//! The report: a markdown table (stdout and `--out`) and, with `--json`, one
//! JSON object on the last line of stdout.
//!
//! [`rows`] holds one row type per kind of cell, [`markdown`] renders them.

mod markdown;
mod rows;

use std::time::Duration;

use serde::Serialize;

pub use rows::{CellRow, FailoverLoadRow, FailoverRow, GrowthRow};

use super::{BenchArgs, PathKind};

/// Everything the run produced.
pub struct Report {
    pub cells: Vec<CellRow>,
    pub failover: Vec<FailoverRow>,
    pub failover_load: Vec<FailoverLoadRow>,
    pub growth: Vec<GrowthRow>,
    /// What did not run, and why.
    pub skipped: Vec<String>,
    pub total: Duration,
    /// CPU cores the three nodes used with no traffic (2 s before the cells).
    pub idle_node_cpu: Option<f64>,
    /// Same for the three etcd members.
    pub idle_etcd_cpu: Option<f64>,
    /// `etcd --version`, when the `etcd` path is on.
    pub etcd_version: Option<String>,
    /// etcd's `--election-timeout`.
    pub etcd_election_ms: Option<u64>,
    warmup: Duration,
    measure: Duration,
    load_at_start: String,
}

#[derive(Serialize)]
struct Json<'a> {
    cells: &'a [CellRow],
    failover: &'a [FailoverRow],
    failover_under_load: &'a [FailoverLoadRow],
    growth: &'a [GrowthRow],
    /// Growth run: throughput of the last step / of the first.
    growth_throughput_ratio: Option<f64>,
    skipped: &'a [String],
    cpus: usize,
    load_average_at_start: &'a str,
    warmup_s: f64,
    measured_s: f64,
    total_s: f64,
    idle_node_cpu_cores: Option<f64>,
    idle_etcd_cpu_cores: Option<f64>,
    etcd_version: Option<&'a str>,
    etcd_election_ms: Option<u64>,
}

impl Report {
    pub fn new(_args: &BenchArgs, warmup: Duration, measure: Duration) -> Self {
        Self {
            cells: Vec::new(),
            failover: Vec::new(),
            failover_load: Vec::new(),
            growth: Vec::new(),
            skipped: Vec::new(),
            total: Duration::ZERO,
            idle_node_cpu: None,
            idle_etcd_cpu: None,
            etcd_version: None,
            etcd_election_ms: None,
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
                failover_under_load: &self.failover_load,
                growth: &self.growth,
                growth_throughput_ratio: self.growth_ratio(),
                skipped: &self.skipped,
                cpus: cpus(),
                load_average_at_start: &self.load_at_start,
                warmup_s: self.warmup.as_secs_f64(),
                measured_s: self.measure.as_secs_f64(),
                total_s: self.total.as_secs_f64(),
                idle_node_cpu_cores: self.idle_node_cpu,
                idle_etcd_cpu_cores: self.idle_etcd_cpu,
                etcd_version: self.etcd_version.as_deref(),
                etcd_election_ms: self.etcd_election_ms,
            };
            println!(
                "{}",
                serde_json::to_string(&json).map_err(|e| e.to_string())?
            );
        }
        Ok(())
    }

    /// Growth run: throughput of the last step / of the first.
    fn growth_ratio(&self) -> Option<f64> {
        let (first, last) = (self.growth.first()?, self.growth.last()?);
        (first.ops_per_s > 0.0).then(|| last.ops_per_s / first.ops_per_s)
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
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
