//! The running script, once the cluster and the clients are up: start the
//! workload, then every [`POLL`] observe what the client sees (leader
//! changes, writes getting through again), kill the leader, restart it and
//! watch it rejoin; every [`FRAME`] redraw the view. [`super::finish`]
//! ends it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_harness::{self as harness, Cluster};
use smart_client::SmartClient;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::setup::Signals;
use super::timeline::{millis, served, Rates, Timeline};
use super::view::{self, NodeRow, Out, Snapshot};
use super::workload::{Recorder, Workload};
use super::{DemoArgs, Outcome, FRAME, POLL};

/// How long the restarted node may take to report a leader as a follower.
const REJOIN_DEADLINE: Duration = Duration::from_secs(15);

/// Everything the running script owns. Dropping it drops the cluster (every
/// node killed), on the thread that runs the demo.
pub(super) struct Script<'a> {
    pub(super) args: &'a DemoArgs,
    pub(super) out: Out,
    /// The local cluster (`None` with `--cluster`).
    pub(super) cluster: Option<Cluster>,
    /// Pids of every node process started, restarts included.
    pub(super) pids: Vec<u32>,
    /// The client that writes (and whose cached leader the view shows).
    pub(super) writer: SmartClient,
    /// The client that reads (its per-node counters are the reads per node).
    pub(super) reader: SmartClient,
    pub(super) rec: Arc<Recorder>,
    /// The writer and reader tasks (taken when the script stops them).
    load: Option<Workload>,
    pub(super) tl: Timeline,
    rates: Rates,
    /// The writer client's leader changes, seen by `watch`.
    leader_changes: UnboundedReceiver<(Instant, Option<u32>)>,
    /// Polls the writer client's cached leader every 5 ms.
    watch: JoinHandle<()>,
    /// Answers whether the restarted node came back as a follower.
    rejoin_probe: Option<oneshot::Receiver<bool>>,
    /// The script line of the view.
    script_txt: String,
    /// The cluster line of the view.
    cluster_txt: String,
    frames: u64,
}

impl<'a> Script<'a> {
    /// Step 4: starts the workload through the two clients and the timeline.
    pub(super) fn start(
        args: &'a DemoArgs,
        out: Out,
        cluster: Option<Cluster>,
        pids: Vec<u32>,
        (writer, reader): (SmartClient, SmartClient),
    ) -> Self {
        let rec = Arc::new(Recorder::default());
        let prefix = format!(
            "demo-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        );
        let leader = cluster
            .as_ref()
            .and_then(|c| c.agreed_leader(&c.live_ids()))
            .or(writer.topology().leader_id);
        let tl = Timeline::new(leader, writer.topology().leader_id);
        let (leader_changes, watch) = watch_leader(&writer, tl.seen_leader);
        let load = Workload::start(
            (&writer, &reader),
            (args.writers, args.readers),
            !args.no_session,
            &prefix,
            &rec,
        );
        let (script_txt, cluster_txt) = describe(args, cluster.is_some());
        let mut script = Self {
            args,
            out,
            cluster,
            pids,
            writer,
            reader,
            rec,
            load: Some(load),
            tl,
            rates: Rates::default(),
            leader_changes,
            watch,
            rejoin_probe: None,
            script_txt,
            cluster_txt,
            frames: 0,
        };
        script.out.begin();
        let leader_txt = leader.map_or_else(|| "unknown".to_owned(), |l| format!("n{l}"));
        let text = match &script.cluster {
            Some(_) => format!(
                "workload started; leader {leader_txt}; kv-node pids {:?}",
                script.pids
            ),
            None => format!(
                "workload started; leader {leader_txt}; --cluster: kill step skipped (kill a node yourself)"
            ),
        };
        script.tl.event(&script.out, text);
        script
    }

    /// Step 5: runs until `--duration-secs`: observes, kills, restarts,
    /// redraws. `Err` when interrupted (the workload is then aborted).
    pub(super) async fn run(&mut self, signals: &mut Signals) -> Result<(), Outcome> {
        let duration = Duration::from_secs(self.args.duration_secs);
        let mut poll = tokio::time::interval(POLL);
        let mut frame = tokio::time::interval(FRAME);
        loop {
            tokio::select! {
                () = signals.recv() => {
                    if let Some(load) = self.load.take() {
                        load.abort();
                    }
                    return Err(self.interrupted());
                }
                _ = poll.tick() => {}
                _ = frame.tick() => {
                    self.frame(duration);
                    continue;
                }
            }
            if self.tl.t0.elapsed() >= duration {
                return Ok(());
            }
            self.observe_leader_changes();
            self.observe_writes_back();
            if self.cluster.is_some() {
                self.kill_leader();
                self.restart_killed();
                self.observe_rejoin();
            }
        }
    }

    /// The outcome when SIGINT/SIGTERM arrives.
    pub(super) fn interrupted(&self) -> Outcome {
        Outcome::Interrupted(self.pids.clone())
    }

    /// Stops the leader watch and the workload (requests in flight end
    /// within the client's deadline); `Err` when interrupted meanwhile.
    pub(super) async fn stop_workload(&mut self, signals: &mut Signals) -> Result<(), Outcome> {
        self.watch.abort();
        self.tl.event(
            &self.out,
            "workload stopping; reading every acknowledged write back".to_owned(),
        );
        let Some(load) = self.load.take() else {
            return Ok(());
        };
        tokio::select! {
            () = load.stop() => Ok(()),
            () = signals.recv() => Err(self.interrupted()),
        }
    }

    /// Leader changes as the writing client sees them.
    fn observe_leader_changes(&mut self) {
        while let Ok((now, now_leader)) = self.leader_changes.try_recv() {
            let tl = &mut self.tl;
            tl.seen_leader = now_leader;
            let text = match now_leader {
                None => format!("client: leader unknown (election){}", tl.since_kill(now)),
                Some(l) => format!(
                    "client: new leader n{l}, writes go there{}",
                    tl.since_kill(now)
                ),
            };
            tl.event_at(&self.out, now, text);
            let changed = now_leader.is_some() && now_leader != tl.old_leader;
            if changed && tl.noticed.is_none() && (tl.killed.is_some() || self.cluster.is_none()) {
                tl.noticed = Some(now);
            }
        }
    }

    /// Writes succeed again after the kill.
    fn observe_writes_back(&mut self) {
        let (Some((_, k)), None) = (self.tl.killed, self.tl.writes_back) else {
            return;
        };
        let Some(done) = self.rec.first_ack_started_after(k) else {
            return;
        };
        self.tl.writes_back = Some(done);
        let leader = self
            .writer
            .topology()
            .leader_id
            .map_or_else(|| "?".to_owned(), |l| format!("n{l}"));
        let text = format!(
            "writes succeed again on {leader}{}",
            self.tl.since_kill(done)
        );
        self.tl.event_at(&self.out, done, text);
    }

    /// SIGKILL of the leader, once, at `--kill-after-secs`.
    fn kill_leader(&mut self) {
        let kill_at = Duration::from_secs(self.args.kill_after_secs);
        if self.tl.killed.is_some() || self.tl.t0.elapsed() < kill_at {
            return;
        }
        let Some(c) = self.cluster.as_mut() else {
            return;
        };
        let victim = c
            .agreed_leader(&c.live_ids())
            .or(self.writer.topology().leader_id);
        if let Some(id) = victim {
            self.tl.reads_at_kill = Some(served(&self.reader.stats()));
            let pid = c.node(id).pid().unwrap_or(0);
            let at = Instant::now();
            c.kill(id);
            self.tl.killed = Some((id, at));
            self.tl
                .event_at(&self.out, at, format!("SIGKILL leader n{id} (pid {pid})"));
        }
    }

    /// Restart of the killed node, `--restart-after-secs` after the kill,
    /// and a probe that waits (on a pool thread) for it to rejoin.
    fn restart_killed(&mut self) {
        let restart_after = Duration::from_secs(self.args.restart_after_secs);
        let (Some((id, k)), None) = (self.tl.killed, self.tl.restarted) else {
            return;
        };
        let Some(c) = self.cluster.as_mut() else {
            return;
        };
        if k.elapsed() < restart_after {
            return;
        }
        self.tl.reads_at_restart = Some(served(&self.reader.stats()));
        c.restart(id);
        self.tl.restarted = Some(Instant::now());
        let pid = c.node(id).pid().unwrap_or(0);
        self.pids.push(pid);
        self.tl.event(
            &self.out,
            format!("restarted n{id} (pid {pid}), same ports and data"),
        );
        let url = c.api_url(id);
        let (tx, rx) = oneshot::channel();
        // Blocking HTTP polls on a pool thread; it spawns no process.
        tokio::task::spawn_blocking(move || {
            let follower = harness::wait_until(REJOIN_DEADLINE, || {
                let t = harness::topology_at(&url)?;
                (t.leader_id.is_some() && !t.is_leader()).then_some(())
            });
            let _ = tx.send(follower.is_some());
        });
        self.rejoin_probe = Some(rx);
    }

    /// The restarted node rejoins as a follower and serves reads again.
    fn observe_rejoin(&mut self) {
        let (Some((id, _)), Some(r)) = (self.tl.killed, self.tl.restarted) else {
            return;
        };
        if let Some(rx) = self.rejoin_probe.as_mut() {
            match rx.try_recv() {
                Ok(true) => {
                    let now = Instant::now();
                    self.tl.rejoined = Some(now);
                    self.rejoin_probe = None;
                    let text = format!(
                        "n{id} is back as a follower ({} ms after restart)",
                        millis(now - r)
                    );
                    self.tl.event(&self.out, text);
                }
                Ok(false) | Err(oneshot::error::TryRecvError::Closed) => {
                    self.rejoin_probe = None;
                    self.tl.event(
                        &self.out,
                        format!(
                            "n{id} did not report a leader within {} s",
                            REJOIN_DEADLINE.as_secs()
                        ),
                    );
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
        }
        if self.tl.reads_again.is_none() {
            let base = self
                .tl
                .reads_at_restart
                .as_ref()
                .and_then(|m| m.get(&id))
                .copied()
                .unwrap_or(0);
            if served(&self.reader.stats()).get(&id).copied().unwrap_or(0) > base {
                let now = Instant::now();
                self.tl.reads_again = Some(now);
                let text = format!(
                    "n{id} serves reads again ({} ms after restart)",
                    millis(now - r)
                );
                self.tl.event(&self.out, text);
            }
        }
    }

    /// One frame of the live view (or, without a terminal, a status line
    /// every fourth frame).
    fn frame(&mut self, duration: Duration) {
        self.frames += 1;
        let reads = served(&self.reader.stats());
        let (stats_w, stats_r) = (self.writer.stats(), self.reader.stats());
        let counts = self.rec.counts();
        self.rates.push(
            (
                Instant::now(),
                counts.writes_ok,
                counts.reads_ok,
                reads.clone(),
            ),
            self.rec.take_window(),
        );
        let (write_rate, read_rate, node_rates) = self.rates.rates();
        let (wl, rl) = self.rates.latency();
        let (wg, rg) = self.rec.gaps();
        let topo = self.writer.topology();
        let nodes = topo
            .members
            .iter()
            .map(|m| {
                let ejected = stats_r.node(m.id).is_some_and(|n| n.ejected)
                    || stats_w.node(m.id).is_some_and(|n| n.ejected);
                let mut row = self.node_row(m.id, ejected, &format!("{:?}", m.role));
                row.reads = reads.get(&m.id).copied().unwrap_or(0);
                row.reads_rate = node_rates.get(&m.id).copied().unwrap_or(0.0);
                row
            })
            .collect();
        let snap = Snapshot {
            elapsed: self.tl.t0.elapsed(),
            duration,
            cluster: &self.cluster_txt,
            script: &self.script_txt,
            leader: topo.leader_id,
            term: topo.term,
            leader_changes: stats_w.leader_changes_seen,
            retries: stats_w.retries + stats_r.retries,
            forwarded: stats_w.forwarded_writes,
            nodes,
            write_rate,
            read_rate,
            counts,
            write_lat: &wl,
            read_lat: &rl,
            write_gap: wg.longest,
            read_gap: rg.longest,
            events: &self.tl.events,
        };
        if self.out.live {
            self.out.frame(&view::render_live(&snap));
        } else if self.frames.is_multiple_of(4) {
            self.out.line(&view::render_plain(&snap));
        }
    }

    /// Node `id`'s row (reads still zero): its state and role as the script
    /// knows them (`role` is the client's, shown unless the node is down).
    fn node_row(&self, id: u32, ejected: bool, role: &str) -> NodeRow {
        let was_killed = self.tl.killed.is_some_and(|(k, _)| k == id);
        let killed_now = was_killed && self.tl.restarted.is_none();
        let state = if killed_now {
            "KILLED"
        } else if ejected {
            "ejected"
        } else if was_killed {
            "restarted"
        } else {
            "up"
        };
        NodeRow {
            id,
            role: if killed_now {
                "down".to_owned()
            } else {
                role.to_lowercase()
            },
            pid: self
                .cluster
                .as_ref()
                .and_then(|c| c.ids().contains(&id).then(|| c.node(id).pid()).flatten()),
            state,
            reads: 0,
            reads_rate: 0.0,
        }
    }
}

/// Watches the writing client's cached leader closely (every 5 ms), so the
/// moment it notices a new leader is measured, not the script's poll.
fn watch_leader(
    writer: &SmartClient,
    mut last: Option<u32>,
) -> (UnboundedReceiver<(Instant, Option<u32>)>, JoinHandle<()>) {
    let (leader_tx, leader_changes) = tokio::sync::mpsc::unbounded_channel();
    let writer = writer.clone();
    let watch = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let now = writer.topology().leader_id;
            if now != last {
                last = now;
                if leader_tx.send((Instant::now(), now)).is_err() {
                    break;
                }
            }
        }
    });
    (leader_changes, watch)
}

/// The script and cluster lines of the view.
fn describe(args: &DemoArgs, local: bool) -> (String, String) {
    if local {
        (
            format!(
                "script: SIGKILL leader at {}s, restart it at {}s, verify at {}s  (Ctrl-C stops)",
                args.kill_after_secs,
                args.kill_after_secs + args.restart_after_secs,
                args.duration_secs
            ),
            "local 3-node cluster".to_owned(),
        )
    } else {
        (
            format!(
                "script: external cluster, no kill by the demo; verify at {}s (Ctrl-C stops)",
                args.duration_secs
            ),
            format!("cluster {}", args.cluster.join(",")),
        )
    }
}
