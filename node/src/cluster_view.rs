//! The cluster-view actor: owns this node's picture of the cluster and
//! publishes it as an immutable [`Topology`] snapshot on a watch channel.
//!
//! It is fed by events, not by request handlers: d-engine's
//! `leader_change_notifier()` and `watch_membership()` streams, plus reads of the
//! member registry from the local state machine (on every event and on a short
//! tick, since registry writes arrive through the replicated log). Request
//! handlers only `borrow()` the latest snapshot; no lock is held across `.await`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use d_engine::{EmbeddedEngine, LeaderInfo, MembershipSnapshot};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

use crate::registry::{self, MemberRecord};
use crate::topology::{self, Topology, ViewInputs};

/// Ask for an immediate re-read of the member registry (after a registration).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RefreshRecords;

/// Registry records read from the local state machine.
#[derive(Message)]
#[rtype(result = "()")]
struct RecordsLoaded(BTreeMap<u32, MemberRecord>);

/// How often the registry is re-read when nothing else happens.
const REGISTRY_TICK: Duration = Duration::from_millis(250);

/// The actor; see the module docs.
pub struct ClusterView {
    node_id: u32,
    engine: Arc<EmbeddedEngine>,
    leader: Option<LeaderInfo>,
    last_term: u64,
    voters: BTreeSet<u32>,
    learners: BTreeSet<u32>,
    membership_index: u64,
    records: BTreeMap<u32, MemberRecord>,
    initial_raft_addrs: BTreeMap<u32, String>,
    version: u64,
    refreshing: bool,
    tx: watch::Sender<Arc<Topology>>,
}

impl ClusterView {
    /// Create the actor and the receiver handlers read snapshots from.
    pub fn new(
        engine: Arc<EmbeddedEngine>,
        initial_raft_addrs: BTreeMap<u32, String>,
    ) -> (Self, watch::Receiver<Arc<Topology>>) {
        let node_id = engine.node_id();
        let (tx, rx) = watch::channel(Arc::new(Topology {
            node_id,
            ..Topology::default()
        }));
        let view = Self {
            node_id,
            engine,
            leader: None,
            last_term: 0,
            voters: initial_raft_addrs.keys().copied().collect(),
            learners: BTreeSet::new(),
            membership_index: 0,
            records: BTreeMap::new(),
            initial_raft_addrs,
            version: 0,
            refreshing: false,
            tx,
        };
        (view, rx)
    }

    fn publish(&mut self) {
        let inputs = ViewInputs {
            node_id: self.node_id,
            leader: self.leader.map(|l| (l.leader_id, l.term)),
            last_term: self.last_term,
            voters: &self.voters,
            learners: &self.learners,
            membership_index: self.membership_index,
            records: &self.records,
            initial_raft_addrs: &self.initial_raft_addrs,
        };
        let mut next = topology::build(&inputs, self.version);
        let current = self.tx.borrow().clone();
        next.version = current.version;
        if *current == next {
            return;
        }
        self.version += 1;
        next.version = self.version;
        self.tx.send_replace(Arc::new(next));
    }

    fn refresh_records(&mut self, ctx: &mut Context<Self>) {
        if self.refreshing {
            return;
        }
        self.refreshing = true;
        let engine = self.engine.clone();
        let ids: Vec<u32> = self
            .voters
            .iter()
            .chain(self.learners.iter())
            .chain(self.initial_raft_addrs.keys())
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let addr = ctx.address();
        actix::spawn(async move {
            match registry::load_records(&engine, &ids).await {
                Ok(records) => addr.do_send(RecordsLoaded(records)),
                Err(e) => {
                    tracing::debug!(error = %e, "registry read failed");
                    addr.do_send(RecordsLoaded(BTreeMap::new()));
                }
            }
        });
    }
}

impl Actor for ClusterView {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.add_stream(WatchStream::new(self.engine.leader_change_notifier()));
        ctx.add_stream(WatchStream::new(self.engine.watch_membership()));
        ctx.run_interval(REGISTRY_TICK, |act, ctx| act.refresh_records(ctx));
        self.refresh_records(ctx);
    }
}

impl StreamHandler<Option<LeaderInfo>> for ClusterView {
    fn handle(&mut self, leader: Option<LeaderInfo>, ctx: &mut Self::Context) {
        let before = self.leader.map(|l| l.leader_id);
        self.leader = leader;
        if let Some(l) = leader {
            self.last_term = self.last_term.max(l.term);
        }
        let after = self.leader.map(|l| l.leader_id);
        if before != after {
            tracing::info!(node = self.node_id, leader = ?after, term = self.last_term, "leader changed");
            if after.is_some() {
                metrics::counter!("kv_leader_changes_total").increment(1);
            }
        }
        metrics::gauge!("kv_raft_term").set(self.last_term as f64);
        metrics::gauge!("kv_is_leader").set(if after == Some(self.node_id) {
            1.0
        } else {
            0.0
        });
        metrics::gauge!("kv_leader_known").set(if after.is_some() { 1.0 } else { 0.0 });
        self.publish();
        self.refresh_records(ctx);
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {
        tracing::debug!("leader notifications ended (engine stopping)");
    }
}

impl StreamHandler<MembershipSnapshot> for ClusterView {
    fn handle(&mut self, snapshot: MembershipSnapshot, ctx: &mut Self::Context) {
        // Before the first committed ConfChange the snapshot may be empty: keep the config's view.
        if !(snapshot.members.is_empty() && snapshot.learners.is_empty()) {
            self.voters = snapshot.members;
            self.learners = snapshot.learners;
            self.membership_index = snapshot.committed_index;
            metrics::gauge!("kv_cluster_voters").set(self.voters.len() as f64);
            metrics::gauge!("kv_cluster_learners").set(self.learners.len() as f64);
        }
        self.publish();
        self.refresh_records(ctx);
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl Handler<RecordsLoaded> for ClusterView {
    type Result = ();

    fn handle(&mut self, msg: RecordsLoaded, _ctx: &mut Self::Context) {
        self.refreshing = false;
        if !msg.0.is_empty() {
            self.records = msg.0;
        }
        self.publish();
    }
}

impl Handler<RefreshRecords> for ClusterView {
    type Result = ();

    fn handle(&mut self, _msg: RefreshRecords, ctx: &mut Self::Context) {
        self.refresh_records(ctx);
    }
}
