//! The report: a markdown table (stdout and `--out`) and, with `--json`, one
//! JSON object on the last line of stdout.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::failover_writes::{outcome, rate_between, WriteRecord};
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
    pub error_kinds: std::collections::BTreeMap<String, u64>,
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
    pub rss_mb: std::collections::BTreeMap<u32, f64>,
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

/// `kind × count, …` for the error lists under the tables.
fn kinds_list(kinds: &std::collections::BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} × {n}")).collect();
    parts.join(", ")
}

fn error_kinds(records: &[WriteRecord]) -> std::collections::BTreeMap<String, u64> {
    records.iter().filter_map(|r| r.error.clone()).fold(
        std::collections::BTreeMap::new(),
        |mut m, e| {
            *m.entry(e).or_default() += 1;
            m
        },
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

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

    fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Benchmark: smart client vs HAProxy vs pinned follower vs etcd\n"
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
             Ratios are against the `haproxy` path in the same workload and concurrency. \
             The `etcd` path is a reference point, not this project: a 3-member etcd cluster on the \
             same loopback and cores, driven by the same load generator through etcd's v3 JSON \
             gateway (`POST /v3/kv/put`, `POST /v3/kv/range`); writes and linearizable reads go to \
             its leader, eventual reads are serializable ranges spread round-robin over the members; \
             its rows count the etcd members' CPU as node CPU. The gateway translates JSON to gRPC \
             inside each etcd process, so etcd's own gRPC clients would see less overhead per request.\n",
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
        if let Some(idle) = self.idle_etcd_cpu {
            let _ = writeln!(
                s,
                "The three etcd members used {idle:.2} CPU cores when idle (same window); both \
                 clusters run during every cell.\n"
            );
        }
        if let Some(v) = &self.etcd_version {
            let _ = writeln!(
                s,
                "etcd {v}, heartbeat {} ms, election timeout {} ms (kv-node: heartbeat 100 ms, \
                 election 300–600 ms).\n",
                self.etcd_election_ms.map_or(100, |e| (e / 10).max(10)),
                self.etcd_election_ms.unwrap_or(1000)
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
                let kinds = kinds_list(&c.error_kinds);
                let _ = writeln!(
                    s,
                    "- {} {} c={}: {}",
                    c.path, c.workload, c.concurrency, kinds
                );
            }
        }
        let _ = writeln!(
            s,
            "\n## What an acknowledged write means\n\n\
             A write counts as successful when the path answered 200. What that promises differs: \
             etcd answers a put once a majority of members have appended the entry to their \
             write-ahead log with fsync and the leader has applied it.\n\n\
             kv-node (d-engine 0.2.4, MemFirst, file storage) answers once the entry is held in \
             memory by a majority and applied on the leader; its log is fsynced by a background \
             thread right after, so an acknowledged write survives the crash of any minority of \
             nodes and in practice of all processes at once, but not a power loss of every machine \
             (see README, \"The engine and its patches\").\n"
        );
        if !self.failover.is_empty() {
            let r = &self.failover[0];
            let _ = writeln!(
                s,
                "\n## Failover (leader SIGKILLed during {}/s open-loop writes, 5 s deadline each)\n\n\
                 *unavailable*: from the kill to the first successful completion of a write \
                 issued after the kill. *longest gap*: longest time between two consecutive \
                 successful completions in the cell. *errors*: writes the application saw \
                 fail (`haproxy` and `pinned` do not retry; `smart` retries inside its 5 s \
                 deadline; `etcd` retries only a refused connection, on the next member). Each \
                 failover cell runs on a fresh 3-node cluster (and, for `haproxy`, a fresh HAProxy; \
                 for `etcd`, a fresh 3-member etcd cluster).\n",
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
                let kinds = kinds_list(&f.error_kinds);
                let _ = writeln!(s, "\n- {} errors: {}", f.path, kinds);
            }
        }
        if !self.failover_load.is_empty() {
            self.failover_load_markdown(&mut s);
        }
        if !self.growth.is_empty() {
            self.growth_markdown(&mut s);
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

impl Report {
    fn failover_load_markdown(&self, s: &mut String) {
        let r = &self.failover_load[0];
        let _ = writeln!(
            s,
            "\n## Failover under load (leader SIGKILLed during closed-loop writes at c={})\n\n\
             Each cell on a fresh 3-node cluster (etcd: a fresh 3-member etcd cluster): {} concurrent \
             writers, each sending its next write when the previous one answered (5 s deadline \
             each), for {:.1} s; then the leader is SIGKILLed and the writes go on for {:.1} s. \
             *unavailable*: from the kill to the first successful completion of a write issued \
             after the kill. *longest gap*: longest time between two consecutive successful \
             completions. *errors*: writes the application saw fail (`smart` retries inside its \
             deadline; on `etcd` only a refused connection is retried on the next member, as \
             clientv3 does, and an in-flight write lost with the leader is an error). A closed \
             loop cannot issue new writes while every writer waits: if all of them are stuck in \
             the kill's aftermath (etcd followers forward proposals to the leader they still \
             believe in, and those proposals wait out the client's 5 s deadline), the first \
             write accepted again comes only after those deadlines; the error kinds below show it.\n",
            r.concurrency, r.concurrency, r.before_kill_s, r.after_kill_s
        );
        let _ = writeln!(
            s,
            "| path | writes/s before kill | unavailable ms | longest gap ms | writes/s after recovery | errors | writes | killed node |"
        );
        let _ = writeln!(
            s,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let opt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.0}"));
        for f in &self.failover_load {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} |",
                f.path,
                opt(f.ops_per_s_before_kill),
                f.unavailable_ms
                    .map_or("never".into(), |v| format!("{v:.0}")),
                f.max_gap_ms,
                opt(f.ops_per_s_after_recovery),
                f.errors,
                f.writes,
                f.killed_node
            );
        }
        for f in self.failover_load.iter().filter(|f| f.errors > 0) {
            let kinds = kinds_list(&f.error_kinds);
            let _ = writeln!(s, "\n- {} errors: {}", f.path, kinds);
        }
    }

    fn growth_markdown(&self, s: &mut String) {
        let first = &self.growth[0];
        let _ = writeln!(
            s,
            "\n## Growth (unique keys, 256-byte values, through the smart client)\n\n\
             A fresh 3-node cluster; closed-loop writes in steps of {} keys. *max lag*: the \
             largest leader `commit_index` − follower `applied_index` (each node's own figure from \
             its `/topology`) sampled every 200 ms during the step. *caught up*: from the end of \
             the step until every follower had applied the commit index of that moment. RSS: \
             `VmRSS` of each node process after the step.\n",
            first.step_keys
        );
        let ids: Vec<u32> = self
            .growth
            .iter()
            .flat_map(|g| g.rss_mb.keys().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let rss_head: String = ids.iter().map(|id| format!(" RSS n{id} MB |")).collect();
        let rss_align: String = ids.iter().map(|_| " ---: |").collect();
        let _ = writeln!(
            s,
            "| keys | writes/s | p99 µs | errors | max lag entries | caught up ms |{rss_head}"
        );
        let _ = writeln!(s, "| ---: | ---: | ---: | ---: | ---: | ---: |{rss_align}");
        for g in &self.growth {
            let rss: String = ids
                .iter()
                .map(|id| {
                    g.rss_mb
                        .get(id)
                        .map_or(" – |".to_string(), |v| format!(" {v:.0} |"))
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {:.0} | {} | {} | {} | {} |{rss}",
                g.keys_total,
                g.ops_per_s,
                g.p99_us,
                g.errors,
                g.max_lag_entries.map_or("?".into(), |v| v.to_string()),
                g.catch_up_ms
                    .map_or("> 120000".into(), |v| format!("{v:.0}")),
            );
        }
        if let Some(ratio) = self.growth_ratio() {
            let _ = writeln!(
                s,
                "\nThroughput at the last step / at the first step: {ratio:.2}."
            );
        }
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
