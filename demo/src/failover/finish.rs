//! The last step of the script: stop the workload, read every acknowledged
//! write back, and sum up what the application saw in a [`Summary`].

use std::time::{Duration, Instant};

use kv_harness::Ack;
use smart_client::Stats;

use super::script::Script;
use super::setup::Signals;
use super::summary::{PerNode, Percentiles, Summary};
use super::timeline::{millis, per_node, served};
use super::workload::{self, Verification};
use super::Outcome;

impl Script<'_> {
    /// Step 6: stops the workload, verifies every acknowledged write and
    /// returns the summary; drops the cluster (every node killed). `Err`
    /// when interrupted meanwhile.
    pub(super) async fn finish(mut self, signals: &mut Signals) -> Result<Outcome, Outcome> {
        let ran = self.tl.t0.elapsed();
        self.stop_workload(signals).await?;
        // The clients' figures before the read-back adds its own reads.
        let stats = (self.writer.stats(), self.reader.stats());
        let acked = self.rec.acked();
        let verification = tokio::select! {
            v = workload::verify(&self.writer, &acked) => v,
            () = signals.recv() => return Err(self.interrupted()),
        };
        let summary = self.summary(ran, stats, &acked, verification);
        // The cluster is dropped (every node killed) before the summary is printed.
        drop(self.cluster.take());
        Ok(Outcome::Done(Box::new(summary)))
    }

    /// The figures of the run, from the clients' `(writer, reader)` stats
    /// at the end of the workload.
    fn summary(
        &self,
        ran: Duration,
        (stats_w, stats_r): (Stats, Stats),
        acked: &[Ack],
        verification: Verification,
    ) -> Summary {
        let tl = &self.tl;
        let reads_end = served(&stats_r);
        let counts = self.rec.counts();
        let (wg, rg) = self.rec.gaps();
        let (wl, rl) = self.rec.totals();
        let kill = tl.killed.map(|(_, k)| k);
        let after_kill = match (&tl.reads_at_kill, &tl.reads_at_restart) {
            (Some(k), Some(r)) => per_node(r, Some(k)),
            (Some(k), None) => per_node(&reads_end, Some(k)),
            _ => PerNode::new(),
        };
        Summary {
            cluster: if self.cluster.is_some() {
                "local"
            } else {
                "external"
            }
            .to_owned(),
            duration_ms: millis(ran),
            acked_writes: acked.len() as u64,
            lost_writes: verification.lost,
            unverified_writes: verification.unverified,
            failed_writes: counts.writes_failed,
            failed_reads: counts.reads_failed,
            reads: counts.reads_ok,
            session: !self.args.no_session,
            stale_reads: counts.reads_stale,
            wrong_reads: counts.reads_wrong,
            write_unavailable_ms: kill.zip(tl.writes_back).map(|(k, b)| millis(b - k)),
            write_gap_around_kill_ms: kill
                .zip(tl.writes_back)
                .and_then(|(k, back)| gap_around_kill(acked, k, back)),
            longest_write_gap_ms: millis(wg.longest),
            longest_read_gap_ms: millis(rg.longest),
            client_noticed_ms: kill
                .zip(tl.noticed)
                .map(|(k, n)| millis(n.saturating_duration_since(k))),
            killed_node: tl.killed.map(|(id, _)| id),
            kill_at_ms: kill.map(|k| millis(k - tl.t0)),
            rejoined_follower_ms: tl.restarted.zip(tl.rejoined).map(|(r, j)| millis(j - r)),
            reads_again_ms: tl.restarted.zip(tl.reads_again).map(|(r, j)| millis(j - r)),
            old_leader: tl.old_leader,
            new_leader: self.writer.topology().leader_id,
            reads_by_node: per_node(&reads_end, None),
            reads_by_node_before_kill: tl
                .reads_at_kill
                .as_ref()
                .map_or_else(PerNode::new, |k| per_node(k, None)),
            reads_by_node_after_kill: after_kill,
            reads_by_node_after_rejoin: tl
                .reads_at_restart
                .as_ref()
                .map_or_else(PerNode::new, |r| per_node(&reads_end, Some(r))),
            forwarded_writes: stats_w.forwarded_writes,
            retries: stats_w.retries + stats_r.retries,
            leader_changes_seen: stats_w.leader_changes_seen,
            write_latency_ms: Percentiles::of(&wl),
            read_latency_ms: Percentiles::of(&rl),
            error_samples: self.rec.error_samples(),
        }
    }
}

/// The stall itself: the longest pause between consecutive write
/// acknowledgements from the kill at `kill` up to the first write that got
/// through after it (`back`). Replies already under way when the leader died
/// land just after the kill instant, so the stall may start a little later.
fn gap_around_kill(acked: &[Ack], kill: Instant, back: Instant) -> Option<u64> {
    let mut done: Vec<Instant> = acked.iter().map(|a| a.done).collect();
    done.sort_unstable();
    done.windows(2)
        .filter(|w| w[1] > kill && w[0] <= back)
        .map(|w| millis(w[1] - w[0]))
        .max()
}
