//! The markdown report: the throughput table, what an acknowledged write
//! means, the failover tables and the growth table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::rows::CellRow;
use super::{cpus, Report};

impl Report {
    /// The whole markdown document.
    pub(super) fn markdown(&self) -> String {
        let mut s = String::new();
        self.intro_markdown(&mut s);
        self.cells_markdown(&mut s);
        ack_markdown(&mut s);
        if !self.failover.is_empty() {
            self.failover_markdown(&mut s);
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

    /// Title, how the cells ran, idle CPU and the etcd settings.
    fn intro_markdown(&self, s: &mut String) {
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
    }

    /// The throughput table and the errors by kind under it.
    fn cells_markdown(&self, s: &mut String) {
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
        let fsyncs: Vec<&CellRow> = self
            .cells
            .iter()
            .filter(|c| c.leader_fsyncs_per_write.is_some())
            .collect();
        if !fsyncs.is_empty() {
            let _ = writeln!(
                s,
                "\nGroup commit: fsyncs of each node's Raft log per acknowledged write \
                 (`kv_fsync_total`, whole cell):\n"
            );
            for c in fsyncs {
                let _ = writeln!(
                    s,
                    "- {} {} c={}: leader {}, follower {}",
                    c.path,
                    c.workload,
                    c.concurrency,
                    opt(c.leader_fsyncs_per_write, 3),
                    opt(c.follower_fsyncs_per_write, 3),
                );
            }
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
    }

    /// The open-loop failover table and its errors.
    fn failover_markdown(&self, s: &mut String) {
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

    /// The failover-under-load table and its errors.
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

    /// The growth table.
    fn growth_markdown(&self, s: &mut String) {
        let step = self.growth.get(1).unwrap_or(&self.growth[0]);
        let _ = writeln!(
            s,
            "\n## Growth (unique keys, 256-byte values, through the smart client)\n\n\
             A fresh 3-node cluster; closed-loop writes in steps of {} keys after a first \
             step of 10k keys (the small-data baseline). *max lag*: the \
             largest leader `commit_index` − follower `applied_index` (each node's own figure from \
             its `/topology`) sampled every 200 ms during the step. *caught up*: from the end of \
             the step until every follower had applied the commit index of that moment. RSS: \
             `VmRSS` of each node process after the step.\n",
            step.step_keys
        );
        let ids: Vec<u32> = self
            .growth
            .iter()
            .flat_map(|g| g.rss_mb.keys().copied())
            .collect::<BTreeSet<_>>()
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
                "\nThroughput at the last step / at the first (10k keys): {ratio:.2}."
            );
        }
    }
}

/// `kind × count, …` for the error lists under the tables.
fn kinds_list(kinds: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} × {n}")).collect();
    parts.join(", ")
}

/// What an acknowledged write means on each path.
fn ack_markdown(s: &mut String) {
    let _ = writeln!(
        s,
        "\n## What an acknowledged write means\n\n\
         A write counts as successful when the path answered 200, and both systems then \
         promise the same: etcd answers a put once a majority of members have appended the \
         entry to their write-ahead log with fsync and the leader has applied it; kv-node \
         (d-engine 0.2.4 with engine patches 23 and 28) answers once a majority of voters \
         have the entry fsynced, the leader counted only with what it has fsynced itself, \
         and the leader has applied it. An acknowledged write survives a power cut of any \
         minority and of every node at once (node/tests/power_cut.rs, the robustness \
         faults `power_cut_*`). This is an equal-durability comparison.\n"
    );
}
