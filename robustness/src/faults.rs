//! The nemesis: the faults a scenario injects and how each one is undone.
//!
//! The disk faults (power cuts, a full disk, a failed fsync) need each
//! node's data directory on a power-cut filesystem
//! ([`Fault::needs_power_cut_fs`]); the others run on the plain disk.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use kv_harness::{wait_until, Cluster};
use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::history::{Kind, Outcome, Recorder};
use crate::traffic::Probe;

/// `EIO`, what a failing disk answers a fsync with.
const EIO: i32 = 5;

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
    /// Cut the power of the leader and one follower at once (SIGKILL, what
    /// they had not fsynced reverted), start them again.
    PowerCutLeaderAndFollower,
    /// Cut the power of every node at once, start them again.
    PowerCutAll,
    /// The leader's disk is full (ENOSPC on every data write) for the hold
    /// time, then space is freed: writes must be refused as not applied
    /// (507) meanwhile and accepted again afterwards.
    DiskFullOnLeader,
    /// One fsync on a follower's disk fails (EIO): that follower must stop
    /// (503 `storage_failed`) while the others go on; it is restarted, as an
    /// operator would, and must recover from its disk and catch up.
    FsyncErrorOnFollower,
}

impl Fault {
    /// Every fault, in a fixed order.
    pub const ALL: [Fault; 12] = [
        Fault::KillLeader,
        Fault::KillFollower,
        Fault::KillAll,
        Fault::PauseLeader,
        Fault::IsolateLeader,
        Fault::OneWayFromLeader,
        Fault::IsolateFollower,
        Fault::RaftLatency,
        Fault::PowerCutLeaderAndFollower,
        Fault::PowerCutAll,
        Fault::DiskFullOnLeader,
        Fault::FsyncErrorOnFollower,
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
            Fault::PowerCutLeaderAndFollower => "power_cut_leader_and_follower",
            Fault::PowerCutAll => "power_cut_all",
            Fault::DiskFullOnLeader => "disk_full_on_leader",
            Fault::FsyncErrorOnFollower => "fsync_error_on_follower",
        }
    }

    /// The fault named `name`.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

    /// How long the fault stays before it is undone.
    pub fn hold(self) -> Duration {
        Duration::from_millis(match self {
            Fault::KillAll | Fault::PowerCutLeaderAndFollower | Fault::PowerCutAll => 1000,
            Fault::KillLeader | Fault::KillFollower => 2000,
            Fault::PauseLeader => 2500,
            Fault::IsolateLeader | Fault::OneWayFromLeader | Fault::IsolateFollower => 3000,
            Fault::RaftLatency => 4000,
            Fault::DiskFullOnLeader | Fault::FsyncErrorOnFollower => 3000,
        })
    }

    /// Whether the fault needs each node's data directory on a power-cut
    /// filesystem ([`kv_harness::ClusterOptions::power_cut_fs`], FUSE).
    pub fn needs_power_cut_fs(self) -> bool {
        matches!(
            self,
            Fault::PowerCutLeaderAndFollower
                | Fault::PowerCutAll
                | Fault::DiskFullOnLeader
                | Fault::FsyncErrorOnFollower
        )
    }

    /// Whether the fault is a power cut (counted as such in summaries).
    pub fn is_power_cut(self) -> bool {
        matches!(self, Fault::PowerCutLeaderAndFollower | Fault::PowerCutAll)
    }

    /// Rounds a soak scenario of this fault draws from: a power cut is over
    /// in a moment, so its scenarios cut several times.
    pub fn soak_rounds(self) -> RangeInclusive<u32> {
        if self.is_power_cut() {
            3..=6
        } else {
            1..=3
        }
    }

    /// Write-only clients (write-once keys, checked at the end: no
    /// acknowledged write lost) when `ROBUSTNESS_WRITERS` does not say:
    /// some for the disk faults, none for the others (their load stays as
    /// it was).
    pub fn default_writers(self) -> usize {
        if self.needs_power_cut_fs() {
            4
        } else {
            0
        }
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
    /// The current leader when it was injected.
    pub leader: u32,
}

/// What undoing a fault found that the history cannot show.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Broken promises (the scenario fails).
    pub errors: Vec<String>,
    /// How the cluster behaved, for the summary (e.g. a node that had to be
    /// restarted after a full disk).
    pub notes: Vec<String>,
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
        Fault::PowerCutLeaderAndFollower => {
            let ids = vec![leader, follower];
            rec.event(format!(
                "power cut: leader n{leader} and follower n{follower}; {}",
                unsynced(cluster, &ids)
            ));
            cluster.power_cut(&ids);
            rec.event(format!(
                "power back: n{leader} and n{follower} restarted on what they had fsynced"
            ));
            (ids, None)
        }
        Fault::PowerCutAll => {
            let ids = cluster.ids();
            rec.event(format!(
                "power cut: every node; {}",
                unsynced(cluster, &ids)
            ));
            cluster.power_cut(&ids);
            rec.event("power back: every node restarted on what it had fsynced");
            (ids, None)
        }
        Fault::DiskFullOnLeader => {
            cluster.disk(leader).set_full(true);
            rec.event(format!(
                "disk full on leader n{leader} (ENOSPC on every data write)"
            ));
            (vec![leader], None)
        }
        Fault::FsyncErrorOnFollower => {
            cluster.disk(follower).fail_next_fsync(EIO);
            rec.event(format!(
                "the next fsync on follower n{follower} fails (EIO)"
            ));
            (vec![follower], None)
        }
    };
    Injected {
        fault,
        nodes,
        suspect,
        leader,
    }
}

/// Undo `injected`: restart, resume, heal or free space, and for the disk
/// faults check what the node did meanwhile.
pub fn recover(cluster: &mut Cluster, injected: &Injected, rec: &Recorder) -> Recovery {
    let mut found = Recovery::default();
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
        // The power came back at the cut (Cluster::power_cut restarts).
        Fault::PowerCutLeaderAndFollower | Fault::PowerCutAll => {}
        Fault::DiskFullOnLeader => free_space(cluster, injected.nodes[0], rec, &mut found),
        Fault::FsyncErrorOnFollower => {
            after_failed_fsync(cluster, injected.nodes[0], injected.leader, rec, &mut found)
        }
    }
    found
}

/// How long the cluster has to accept a write again after a disk fault is
/// undone (or while a failed follower is down).
const WRITE_DEADLINE: Duration = Duration::from_secs(15);

/// Free the space on `id`'s disk: writes through that node (forwarded if it
/// no longer leads) must be accepted again without a restart. A node that
/// does not resume (it latched "storage failed", or is stuck) fails the
/// scenario and is restarted as an operator would.
fn free_space(cluster: &mut Cluster, id: u32, rec: &Recorder, found: &mut Recovery) {
    let before = storage_state(cluster, id);
    cluster.disk(id).set_full(false);
    rec.event(format!(
        "space freed on n{id} (its storage state at that moment: {before})"
    ));
    let freed = Instant::now();
    let accepted = write_accepted(cluster, id, rec, &format!("after-full-n{id}"));
    let state = storage_state(cluster, id);
    if accepted {
        found.notes.push(format!(
            "disk full on n{id} (state at the end of the hold: {before}): writes accepted again \
             {} ms after space was freed, no restart",
            freed.elapsed().as_millis()
        ));
        return;
    }
    // Not resumed: the scenario fails (a full disk must neither fail the node
    // for good, engine patches 33-34, nor leave it stuck). Restart it as an
    // operator would, so that the rest of the scenario (no acknowledged write
    // lost, linearizable) still runs.
    let why = match &state {
        StorageState::Failed(reason) => format!("it latched storage_failed ({reason})"),
        _ => format!(
            "it did not latch storage_failed either (storage state {state}; {}; others: {})",
            node_brief(cluster, id),
            cluster
                .ids()
                .into_iter()
                .filter(|i| *i != id)
                .map(|i| node_brief(cluster, i))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    found.errors.push(format!(
        "no write accepted through n{id} within {WRITE_DEADLINE:?} after space was freed on it: \
         {why}"
    ));
    rec.event(format!(
        "n{id} did not resume after space was freed: restart it (operator action)"
    ));
    cluster.kill(id);
    cluster.restart(id);
    if !write_accepted(cluster, id, rec, &format!("after-restart-n{id}")) {
        found.errors.push(format!(
            "no write accepted through n{id} within {WRITE_DEADLINE:?} of its restart after the \
             full disk (storage state {})",
            storage_state(cluster, id)
        ));
    }
}

/// Node `id` in brief, from its `/topology`: term, leader, applied and
/// commit index.
fn node_brief(cluster: &Cluster, id: u32) -> String {
    match cluster.topology(id) {
        Some(t) => format!(
            "n{id}: term {}, leader {}, applied {}, commit {}",
            t.term,
            t.leader_id.map_or("none".into(), |l| format!("n{l}")),
            t.own_applied_index().map_or("?".into(), |a| a.to_string()),
            t.commit_index.map_or("?".into(), |c| c.to_string())
        ),
        None => format!("n{id}: no /topology"),
    }
}

/// A follower whose fsync failed must have latched "storage failed" while
/// the others went on accepting writes; then it is restarted (the operator's
/// part after a storage failure) and must recover from its disk (the final
/// checks see it catch up).
fn after_failed_fsync(
    cluster: &mut Cluster,
    id: u32,
    leader: u32,
    rec: &Recorder,
    found: &mut Recovery,
) {
    // The fsync may come a little after the hold (a follower fsyncs after
    // each batch it receives): a grace period.
    let state = wait_until(Duration::from_secs(3), || {
        let s = storage_state(cluster, id);
        matches!(s, StorageState::Failed(_)).then_some(s)
    })
    .unwrap_or_else(|| storage_state(cluster, id));
    match &state {
        StorageState::Failed(reason) => {
            rec.event(format!("n{id} answers 503 storage_failed: {reason}"));
            found.notes.push(format!(
                "failed fsync on n{id}: storage_failed latched ({reason})"
            ));
        }
        other => found.errors.push(format!(
            "n{id} did not latch storage_failed after a failed fsync (storage state {other}, \
             {} fsyncs on its disk)",
            cluster.disk(id).fsyncs()
        )),
    }
    // The two others still form a majority: they go on accepting writes.
    let other = if leader != id {
        leader
    } else {
        cluster
            .ids()
            .into_iter()
            .find(|i| *i != id)
            .unwrap_or(leader)
    };
    if !write_accepted(cluster, other, rec, &format!("while-n{id}-failed")) {
        found.errors.push(format!(
            "no write accepted through n{other} within {WRITE_DEADLINE:?} while n{id} was \
             storage_failed"
        ));
    }
    cluster.kill(id);
    cluster.restart(id);
    rec.event(format!(
        "restart n{id} (operator action after a storage failure)"
    ));
}

/// Put `after-fault` through node `id` until one is acknowledged (recorded
/// under the client `name`, made unique with the time: values must be), up
/// to [`WRITE_DEADLINE`].
fn write_accepted(cluster: &Cluster, id: u32, rec: &Recorder, name: &str) -> bool {
    let name = format!("{name}@{}ms", rec.elapsed().as_millis());
    let mut probe = Probe::new(rec, &name, &cluster.api_url(id), Duration::from_secs(7));
    wait_until(WRITE_DEADLINE, || {
        probe.call(Kind::Put, "after-fault");
        if probe.last_outcome() == Some(Outcome::Ok) {
            return Some(());
        }
        std::thread::sleep(Duration::from_millis(100));
        None
    })
    .is_some()
}

/// A node's storage as it reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageState {
    /// `kv_storage_state` 0.
    Ok,
    /// 1: the last append failed for lack of space.
    Full,
    /// 2, with the reason its 503 `storage_failed` answers give.
    Failed(String),
    /// No answer (down, starting) or no such metric.
    Unknown(String),
}

impl std::fmt::Display for StorageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageState::Ok => write!(f, "ok"),
            StorageState::Full => write!(f, "full"),
            StorageState::Failed(reason) => write!(f, "failed: {reason}"),
            StorageState::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// Node `id`'s storage state, from its `kv_storage_state` gauge (and, when
/// failed, the message of its 503 answers).
pub fn storage_state(cluster: &Cluster, id: u32) -> StorageState {
    let base = cluster.api_url(id);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(2))
        .max_idle_connections(0)
        .build();
    let text = match agent.get(&format!("{base}/metrics")).call() {
        Ok(r) => r.into_string().unwrap_or_default(),
        Err(e) => return StorageState::Unknown(e.to_string()),
    };
    let gauge = text
        .lines()
        .find_map(|l| l.strip_prefix("kv_storage_state "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|g| g.round() as u8);
    match gauge {
        Some(0) => StorageState::Ok,
        Some(1) => StorageState::Full,
        Some(_) => {
            let reason = match agent.get(&format!("{base}/topology")).call() {
                Err(ureq::Error::Status(_, r)) => r
                    .into_json::<serde_json::Value>()
                    .ok()
                    .and_then(|b| b["message"].as_str().map(str::to_string))
                    .unwrap_or_default(),
                Ok(r) => format!("but /topology answers {}", r.status()),
                Err(e) => e.to_string(),
            };
            StorageState::Failed(reason)
        }
        None => StorageState::Unknown("no kv_storage_state in /metrics".into()),
    }
}

/// What nodes `ids` hold that a power cut takes back (files written since
/// their last fsync), for the event log.
fn unsynced(cluster: &Cluster, ids: &[u32]) -> String {
    ids.iter()
        .map(|id| {
            let files: Vec<String> = cluster
                .disk(*id)
                .files()
                .into_iter()
                .filter(|f| f.volatile)
                .map(|f| f.path.display().to_string())
                .collect();
            format!("n{id} unsynced: [{}]", files.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}
