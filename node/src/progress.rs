//! Replication progress: this node's applied index (read from the state
//! machine), every other member's applied index as that member publishes it,
//! the leader's commit index, and how far each member lags behind it.
//!
//! d-engine 0.2.4 exposes neither the commit index nor follower match indexes,
//! so progress is gathered the way an operator would: each node reads its own
//! applied index from its state machine and polls the other members'
//! `/topology`, where every node publishes its own `applied_index` (and the
//! leader its `commit_index`). On the leader, the commit index published is its
//! applied index: the leader applies an entry as soon as it is committed, so the
//! two differ only by what sits in its apply queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use d_engine::{FileStateMachine, StateMachine};
use dashmap::DashMap;
use tokio::sync::watch;

use kv_contract::Topology;

use crate::topology::NodeView;

/// How often other members' progress is fetched.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long the leader's progress history is kept, for lag in milliseconds.
const HISTORY: Duration = Duration::from_secs(600);

/// Shared progress figures (all reads lock-free except the lag history).
pub struct Progress {
    node_id: u32,
    state_machine: Arc<FileStateMachine>,
    /// Applied index each other member last published in its `/topology`.
    peers: DashMap<u32, u64>,
    /// The leader's commit index as last known (own applied index when leader).
    commit: AtomicU64,
    /// (when, commit index) samples, oldest first, to turn an entry lag into time.
    history: Mutex<VecDeque<(Instant, u64)>>,
}

impl Progress {
    /// Progress of the node whose state machine is `state_machine`.
    pub fn new(node_id: u32, state_machine: Arc<FileStateMachine>) -> Self {
        Self {
            node_id,
            state_machine,
            peers: DashMap::new(),
            commit: AtomicU64::new(0),
            history: Mutex::new(VecDeque::new()),
        }
    }

    /// The highest log index this node's state machine has applied.
    pub fn applied(&self) -> u64 {
        self.state_machine.last_applied().index
    }

    /// Waits until this node has applied `index`, for at most `max_wait`:
    /// `Ok(applied)` once it has (at once when it already has), `Err(applied)`
    /// when the wait ran out. Polls the state machine's applied index (d-engine
    /// 0.2.4 has no notification for it) with a step growing from 0.5 to 5 ms.
    pub async fn wait_applied(&self, index: u64, max_wait: Duration) -> Result<u64, u64> {
        let applied = self.applied();
        if applied >= index {
            return Ok(applied);
        }
        let deadline = Instant::now() + max_wait;
        let mut step = Duration::from_micros(500);
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(self.applied());
            }
            tokio::time::sleep(step.min(deadline - now)).await;
            let applied = self.applied();
            if applied >= index {
                return Ok(applied);
            }
            step = (step * 2).min(Duration::from_millis(5));
        }
    }

    /// The leader's commit index as this node knows it (never below its own applied index).
    pub fn commit_index(&self) -> u64 {
        self.commit.load(Ordering::Relaxed).max(self.applied())
    }

    /// The applied index of member `id`: exact for this node, as last fetched for others.
    pub fn member_applied(&self, id: u32) -> Option<u64> {
        if id == self.node_id {
            Some(self.applied())
        } else {
            self.peers.get(&id).map(|v| *v)
        }
    }

    /// How long ago the commit index first passed `applied` (0 when caught
    /// up; `None` when no sample this node kept shows it).
    pub fn lag_ms(&self, applied: u64) -> Option<u64> {
        if applied >= self.commit_index() {
            return Some(0);
        }
        let history = self.history.lock().expect("progress history");
        history
            .iter()
            .find(|(_, commit)| *commit > applied)
            .map(|(at, _)| at.elapsed().as_millis() as u64)
    }

    fn record_commit(&self, commit: u64) {
        self.commit.fetch_max(commit, Ordering::Relaxed);
        let now = Instant::now();
        let mut history = self.history.lock().expect("progress history");
        if history.back().is_none_or(|(_, last)| *last < commit) {
            history.push_back((now, commit));
        }
        while history
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > HISTORY)
        {
            history.pop_front();
        }
    }

    fn export_metrics(&self, topo: &Topology) {
        metrics::gauge!("kv_applied_index").set(self.applied() as f64);
        metrics::gauge!("kv_commit_index").set(self.commit_index() as f64);
        for m in &topo.members {
            let Some(applied) = self.member_applied(m.id) else {
                continue;
            };
            let node = m.id.to_string();
            let entries = self.commit_index().saturating_sub(applied);
            metrics::gauge!("kv_replication_lag_entries", "node" => node.clone())
                .set(entries as f64);
            metrics::gauge!("kv_replication_lag_ms", "node" => node)
                .set(self.lag_ms(applied).unwrap_or(0) as f64);
        }
    }
}

/// Keep `progress` current until the task is dropped: sample the local commit
/// index and fetch every other member's `/topology` each [`POLL_INTERVAL`].
/// Runs on the actix system (awc's client is not `Send`).
pub async fn run_poller(progress: Arc<Progress>, topology: watch::Receiver<Arc<NodeView>>) {
    let client = awc::Client::builder()
        .timeout(Duration::from_millis(500))
        .finish();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let snapshot = topology.borrow().clone();
        let topo = &snapshot.topology;
        if topo.leader_id == Some(progress.node_id) {
            progress.record_commit(progress.applied());
        }
        let fetches = topo
            .members
            .iter()
            .filter(|m| m.id != progress.node_id)
            .filter_map(|m| m.api_url.clone().map(|url| (m.id, url)))
            .map(|(id, url)| {
                let client = &client;
                async move {
                    let mut resp = client.get(format!("{url}/topology")).send().await.ok()?;
                    let view: Topology = resp.json().limit(1 << 20).await.ok()?;
                    (view.node_id == id).then_some(view)
                }
            });
        for view in futures_util::future::join_all(fetches)
            .await
            .into_iter()
            .flatten()
        {
            if let Some(applied) = view.own_applied_index() {
                progress.peers.insert(view.node_id, applied);
            }
            if view.is_leader() && topo.leader_id == Some(view.node_id) {
                if let Some(commit) = view.commit_index {
                    progress.record_commit(commit);
                }
            }
        }
        progress.export_metrics(topo);
    }
}
