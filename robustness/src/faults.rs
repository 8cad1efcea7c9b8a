//! The nemesis: the faults a scenario injects and how each one is undone.

use std::time::Duration;

use kv_harness::Cluster;
use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::history::Recorder;

/// One kind of fault (one scenario each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// SIGKILL the leader, restart it later.
    KillLeader,
    /// SIGKILL a follower, restart it later.
    KillFollower,
    /// SIGKILL every node at once, restart them all.
    KillAll,
    /// SIGSTOP the leader for longer than the election timeout, then
    /// SIGCONT: the old leader must not serve stale lease reads.
    PauseLeader,
    /// Cut the leader's Raft links to both followers, both ways.
    IsolateLeader,
    /// Lose everything the leader sends to one follower; that follower's
    /// messages to the leader still arrive.
    OneWayFromLeader,
    /// Cut one follower's Raft links, both ways.
    IsolateFollower,
    /// Add 20–150 ms of delay to each direction of each Raft link.
    RaftLatency,
}

impl Fault {
    /// Every fault, in a fixed order.
    pub const ALL: [Fault; 8] = [
        Fault::KillLeader,
        Fault::KillFollower,
        Fault::KillAll,
        Fault::PauseLeader,
        Fault::IsolateLeader,
        Fault::OneWayFromLeader,
        Fault::IsolateFollower,
        Fault::RaftLatency,
    ];

    /// Snake-case name (for directories and `ROBUSTNESS_FAULTS`).
    pub fn name(self) -> &'static str {
        match self {
            Fault::KillLeader => "kill_leader",
            Fault::KillFollower => "kill_follower",
            Fault::KillAll => "kill_all",
            Fault::PauseLeader => "pause_leader",
            Fault::IsolateLeader => "isolate_leader",
            Fault::OneWayFromLeader => "one_way_from_leader",
            Fault::IsolateFollower => "isolate_follower",
            Fault::RaftLatency => "raft_latency",
        }
    }

    /// The fault named `name`.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

    /// How long the fault stays before it is undone.
    pub fn hold(self) -> Duration {
        Duration::from_millis(match self {
            Fault::KillAll => 1000,
            Fault::KillLeader | Fault::KillFollower => 2000,
            Fault::PauseLeader => 2500,
            Fault::IsolateLeader | Fault::OneWayFromLeader | Fault::IsolateFollower => 3000,
            Fault::RaftLatency => 4000,
        })
    }

    /// Whether the fault needs the Raft link proxies.
    pub fn needs_proxies(self) -> bool {
        matches!(
            self,
            Fault::IsolateLeader
                | Fault::OneWayFromLeader
                | Fault::IsolateFollower
                | Fault::RaftLatency
        )
    }
}

/// An injected fault, with what is needed to undo it.
#[derive(Debug)]
pub struct Injected {
    /// Which.
    pub fault: Fault,
    /// Nodes it targets.
    pub nodes: Vec<u32>,
    /// A node that may wrongly believe it still leads (probe its lease reads).
    pub suspect: Option<u32>,
}

/// Inject `fault` against the current `leader`; records what was done.
pub fn inject(
    cluster: &mut Cluster,
    fault: Fault,
    leader: u32,
    rec: &Recorder,
    rng: &mut StdRng,
) -> Injected {
    let followers: Vec<u32> = cluster.ids().into_iter().filter(|i| *i != leader).collect();
    let follower = followers[rng.gen_range(0..followers.len())];
    let net = || cluster.net().expect("scenario started with Raft proxies");
    let (nodes, suspect) = match fault {
        Fault::KillLeader => {
            cluster.kill(leader);
            rec.event(format!("SIGKILL leader n{leader}"));
            (vec![leader], None)
        }
        Fault::KillFollower => {
            cluster.kill(follower);
            rec.event(format!("SIGKILL follower n{follower}"));
            (vec![follower], None)
        }
        Fault::KillAll => {
            let ids = cluster.ids();
            for id in &ids {
                cluster.kill(*id);
            }
            rec.event("SIGKILL every node");
            (ids, None)
        }
        Fault::PauseLeader => {
            cluster.pause(leader);
            rec.event(format!("SIGSTOP leader n{leader}"));
            (vec![leader], Some(leader))
        }
        Fault::IsolateLeader => {
            net().isolate(leader);
            rec.event(format!(
                "isolate leader n{leader} (Raft links cut both ways)"
            ));
            (vec![leader], Some(leader))
        }
        Fault::OneWayFromLeader => {
            net().set_lossy(leader, follower, true);
            rec.event(format!(
                "one-way loss: n{leader} (leader) -> n{follower} lost, n{follower} -> n{leader} delivered"
            ));
            (vec![leader, follower], Some(leader))
        }
        Fault::IsolateFollower => {
            net().isolate(follower);
            rec.event(format!("isolate follower n{follower}"));
            (vec![follower], None)
        }
        Fault::RaftLatency => {
            let ids = cluster.ids();
            let mut desc = Vec::new();
            for &a in &ids {
                for &b in &ids {
                    if a != b {
                        let ms = rng.gen_range(20..=150);
                        net().delay(a, b, ms);
                        desc.push(format!("{a}->{b} {ms}ms"));
                    }
                }
            }
            rec.event(format!("Raft latency: {}", desc.join(", ")));
            (ids, None)
        }
    };
    Injected {
        fault,
        nodes,
        suspect,
    }
}

/// Undo `injected`: restart, resume or heal.
pub fn recover(cluster: &mut Cluster, injected: &Injected, rec: &Recorder) {
    match injected.fault {
        Fault::KillLeader | Fault::KillFollower | Fault::KillAll => {
            for id in &injected.nodes {
                cluster.restart(*id);
            }
            rec.event(format!("restart {:?}", injected.nodes));
        }
        Fault::PauseLeader => {
            for id in &injected.nodes {
                cluster.resume(*id);
            }
            rec.event(format!("SIGCONT {:?}", injected.nodes));
        }
        Fault::IsolateLeader
        | Fault::OneWayFromLeader
        | Fault::IsolateFollower
        | Fault::RaftLatency => {
            if let Some(net) = cluster.net() {
                net.heal();
            }
            rec.event("network healed");
        }
    }
}
