//! The cluster-view actor: owns this node's picture of the cluster and
//! publishes it as an immutable [`NodeView`] snapshot on a watch channel.
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
use kv_contract::{Role, Topology};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

use crate::registry::{self, MemberRecord};
use crate::topology::{self, NodeView, ViewInputs};

/// Ask for an immediate re-read of the member registry (after a registration).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RefreshRecords;

/// Registry records read from the local state machine.
#[derive(Message)]
#[rtype(result = "()")]
struct RecordsLoaded(BTreeMap<u32, MemberRecord>);

/// The result of fetching the leader's membership (`None`: the fetch failed).
#[derive(Message)]
#[rtype(result = "()")]
struct LeaderMembershipFetched(Option<LeaderMembership>);

/// Membership as the leader reports it in its `/topology`.
struct LeaderMembership {
    leader: u32,
    voters: BTreeSet<u32>,
    learners: BTreeSet<u32>,
}

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
    /// The current leader's membership (see [`ClusterView::reconcile_with_leader`]).
    leader_membership: Option<LeaderMembership>,
    reconciling: bool,
    /// HTTP client (one connection pool) for fetching the leader's `/topology`.
    http: awc::Client,
    tx: watch::Sender<Arc<NodeView>>,
}

impl ClusterView {
    /// Create the actor and the receiver handlers read snapshots from.
    pub fn new(
        engine: Arc<EmbeddedEngine>,
        initial_raft_addrs: BTreeMap<u32, String>,
    ) -> (Self, watch::Receiver<Arc<NodeView>>) {
        let node_id = engine.node_id();
        let (tx, rx) = watch::channel(Arc::new(NodeView::new(
            Topology {
                node_id,
                ..Topology::default()
            },
            BTreeMap::new(),
        )));
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
            leader_membership: None,
            reconciling: false,
            http: awc::Client::builder()
                .timeout(Duration::from_millis(500))
                .finish(),
            tx,
        };
        (view, rx)
    }

    fn publish(&mut self) {
        let leader_id = self.leader.map(|l| l.leader_id);
        // A follower uses the leader's membership when it has it (see reconcile_with_leader).
        let (voters, learners) = match &self.leader_membership {
            Some(m) if Some(m.leader) == leader_id => (&m.voters, &m.learners),
            _ => (&self.voters, &self.learners),
        };
        let inputs = ViewInputs {
            node_id: self.node_id,
            leader: self.leader.map(|l| (l.leader_id, l.term)),
            last_term: self.last_term,
            voters,
            learners,
            membership_index: self.membership_index,
            records: &self.records,
            initial_raft_addrs: &self.initial_raft_addrs,
        };
        let mut next = topology::build(&inputs, self.version);
        let current = self.tx.borrow().clone();
        next.topology.version = current.topology.version;
        if *current == next {
            return;
        }
        self.version += 1;
        next.topology.version = self.version;
        self.tx.send_replace(Arc::new(next));
    }

    /// Workaround for d-engine 0.2.4: on a node that caught up from a snapshot,
    /// `watch_membership()` misses members added before it joined and its own
    /// promotion. The leader's membership is authoritative, so a follower
    /// fetches it from the leader's `/topology` on every tick and prefers it.
    fn reconcile_with_leader(&mut self, ctx: &mut Context<Self>) {
        let Some(leader) = self.leader.map(|l| l.leader_id) else {
            self.leader_membership = None;
            return;
        };
        if leader == self.node_id {
            self.leader_membership = None;
            return;
        }
        let Some(url) = self.records.get(&leader).map(|r| r.api_url.clone()) else {
            return;
        };
        if self.reconciling {
            return;
        }
        self.reconciling = true;
        let addr = ctx.address();
        let client = self.http.clone();
        actix::spawn(async move {
            let fetched = async {
                let mut resp = client.get(format!("{url}/topology")).send().await.ok()?;
                let body: Topology = resp.json().limit(1 << 20).await.ok()?;
                if body.node_id != leader {
                    return None;
                }
                let mut voters = BTreeSet::new();
                let mut learners = BTreeSet::new();
                for m in &body.members {
                    if m.role == Role::Learner {
                        learners.insert(m.id);
                    } else {
                        voters.insert(m.id);
                    }
                }
                Some(LeaderMembership {
                    leader,
                    voters,
                    learners,
                })
            }
            .await;
            addr.do_send(LeaderMembershipFetched(fetched));
        });
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
            .chain(
                self.leader_membership
                    .iter()
                    .flat_map(|m| m.voters.iter().chain(m.learners.iter())),
            )
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
        ctx.run_interval(REGISTRY_TICK, |act, ctx| {
            act.refresh_records(ctx);
            act.reconcile_with_leader(ctx);
        });
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

impl Handler<LeaderMembershipFetched> for ClusterView {
    type Result = ();

    fn handle(&mut self, msg: LeaderMembershipFetched, _ctx: &mut Self::Context) {
        self.reconciling = false;
        if let Some(m) = msg.0.filter(|m| !m.voters.is_empty()) {
            self.leader_membership = Some(m);
            self.publish();
        }
    }
}
