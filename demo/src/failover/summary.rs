//! The end-of-run summary: printed for humans and, with `--json`, as one
//! JSON object on the last line of stdout.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::view::ms;

/// Latency figures in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest call.
    pub max: f64,
}

impl Percentiles {
    /// Figures of a microsecond histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        Self {
            p50: ms(h, 0.5),
            p99: ms(h, 0.99),
            p999: ms(h, 0.999),
            max: h.max() as f64 / 1000.0,
        }
    }
}

/// Reads served per node (`"1"` → count), as JSON wants string keys.
pub type PerNode = BTreeMap<String, u64>;

/// What the run showed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// `local` (the demo ran its own nodes) or `external` (`--cluster`).
    pub cluster: String,
    /// How long the workload ran.
    pub duration_ms: u64,
    /// Writes the client acknowledged to the application.
    pub acked_writes: u64,
    /// Acknowledged writes missing (or changed) in the final linearizable read-back.
    pub lost_writes: u64,
    /// Acknowledged writes the read-back could not read at all.
    pub unverified_writes: u64,
    /// Writes that returned an error to the application.
    pub failed_writes: u64,
    /// Eventual reads that returned an error to the application.
    pub failed_reads: u64,
    /// Eventual reads that succeeded.
    pub reads: u64,
    /// Whether readers used session consistency (not `--no-session`).
    pub session: bool,
    /// Eventual reads served by a follower that did not have the key yet.
    pub stale_reads: u64,
    /// Eventual reads that returned a value never written (must be 0).
    pub wrong_reads: u64,
    /// Kill instant → acknowledgement of the first write started after the kill.
    pub write_unavailable_ms: Option<u64>,
    /// Longest pause between consecutive write acknowledgements from the kill
    /// until writes got through again (the stall the kill caused).
    pub write_gap_around_kill_ms: Option<u64>,
    /// Longest pause between consecutive write acknowledgements (whole run).
    pub longest_write_gap_ms: u64,
    /// Longest pause between consecutive successful reads (whole run).
    pub longest_read_gap_ms: u64,
    /// Kill instant → the client's cached leader names the new leader.
    pub client_noticed_ms: Option<u64>,
    /// Node the demo killed (the leader at that moment).
    pub killed_node: Option<u32>,
    /// When the kill happened, after the workload started.
    pub kill_at_ms: Option<u64>,
    /// Restart → the restarted node answers as a follower that knows the leader.
    pub rejoined_follower_ms: Option<u64>,
    /// Restart → the restarted node served its first read again.
    pub reads_again_ms: Option<u64>,
    /// Leader when the workload started.
    pub old_leader: Option<u32>,
    /// Leader when the workload ended.
    pub new_leader: Option<u32>,
    /// Reads served per node over the whole run.
    pub reads_by_node: PerNode,
    /// Reads served per node before the kill.
    pub reads_by_node_before_kill: PerNode,
    /// Reads served per node between the kill and the restart.
    pub reads_by_node_after_kill: PerNode,
    /// Reads served per node after the restart.
    pub reads_by_node_after_rejoin: PerNode,
    /// Writes a follower forwarded to the leader (the client's leader was stale).
    pub forwarded_writes: u64,
    /// Attempts beyond the first, both clients.
    pub retries: u64,
    /// Leader changes the writing client noticed.
    pub leader_changes_seen: u64,
    /// Write latency over the run.
    pub write_latency_ms: Percentiles,
    /// Read latency over the run.
    pub read_latency_ms: Percentiles,
    /// The first few errors the application saw.
    pub error_samples: Vec<String>,
}

impl Summary {
    /// True when every acknowledged write was read back and no read was wrong.
    pub fn ok(&self) -> bool {
        self.lost_writes == 0 && self.unverified_writes == 0 && self.wrong_reads == 0
    }

    /// The summary for humans.
    pub fn human(&self) -> Vec<String> {
        let opt = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v} ms"));
        let node = |v: Option<u32>| v.map_or_else(|| "none".to_owned(), |v| format!("n{v}"));
        let per_node = |m: &PerNode| {
            if m.is_empty() {
                "n/a".to_owned()
            } else {
                m.iter()
                    .map(|(k, v)| format!("n{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let mut out = vec![
            "------------------------------- summary -------------------------------".to_owned(),
            format!(
                "acked writes {}  lost {}  unverified {}  ({} read back linearizably)",
                self.acked_writes,
                self.lost_writes,
                self.unverified_writes,
                self.acked_writes - self.lost_writes - self.unverified_writes
            ),
            format!(
                "app errors: writes {}  reads {}   (reads ok {}, stale {}, wrong {}; {})",
                self.failed_writes,
                self.failed_reads,
                self.reads,
                self.stale_reads,
                self.wrong_reads,
                if self.session {
                    "session reads"
                } else {
                    "plain eventual reads, --no-session"
                }
            ),
            format!(
                "leader: old {} new {} (killed {}); client saw the new leader after {}",
                node(self.old_leader),
                node(self.new_leader),
                node(self.killed_node),
                opt(self.client_noticed_ms)
            ),
            format!(
                "writes unavailable: kill -> ack of first write started after it: {}",
                opt(self.write_unavailable_ms)
            ),
            format!(
                "  longest pause between write acks: around the kill {}, run {} ms",
                opt(self.write_gap_around_kill_ms),
                self.longest_write_gap_ms
            ),
            format!(
                "reads never stopped: longest read pause {} ms",
                self.longest_read_gap_ms
            ),
            format!(
                "restarted node: follower after {}, serving reads after {}",
                opt(self.rejoined_follower_ms),
                opt(self.reads_again_ms)
            ),
            format!("reads by node, before kill:   {}", per_node(&self.reads_by_node_before_kill)),
            format!("reads by node, after kill:    {}", per_node(&self.reads_by_node_after_kill)),
            format!("reads by node, after rejoin:  {}", per_node(&self.reads_by_node_after_rejoin)),
            format!("reads by node, whole run:     {}", per_node(&self.reads_by_node)),
            format!(
                "client: retries {}  forwarded writes {}  leader changes seen {}",
                self.retries, self.forwarded_writes, self.leader_changes_seen
            ),
            format!(
                "latency ms: writes p50 {:.1} p99 {:.1} max {:.0}; reads p50 {:.1} p99 {:.1} max {:.0}",
                self.write_latency_ms.p50,
                self.write_latency_ms.p99,
                self.write_latency_ms.max,
                self.read_latency_ms.p50,
                self.read_latency_ms.p99,
                self.read_latency_ms.max
            ),
        ];
        for e in &self.error_samples {
            out.push(format!("  error: {e}"));
        }
        out.push(if self.ok() {
            "RESULT: OK, every acknowledged write survived the failover".to_owned()
        } else {
            "RESULT: FAILED, acknowledged writes were lost or unreadable".to_owned()
        });
        out
    }
}
