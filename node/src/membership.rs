//! Durable membership and the removed state, kept outside the engine.
//!
//! d-engine 0.2.4 rebuilds its membership from `cluster.initial_cluster` on
//! every start (upstream issue 431): a node of a grown cluster restarted with
//! its original config would count 3 voters instead of 5, a removed one would
//! come back. The [`run_keeper`] task therefore stores the membership the
//! engine has applied in `{data_dir}/membership.json` whenever it changes, and
//! the node hands it to d-engine as `initial_cluster` on the next start
//! ([`crate::config::NodeConfig::adopt_membership`]); configuration entries the
//! engine replays after it are idempotent (engine patch 12).
//!
//! A node that finds itself out of the applied membership, or is told so by
//! the leader's node after `POST /admin/remove`, writes `{data_dir}/removed.json`
//! and from then on answers 503 `removed` ([`RemovedFlag`]); started again, it
//! serves only that answer and does not start the engine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use d_engine::{ClientApi, EmbeddedEngine};
use serde::{Deserialize, Serialize};

/// File holding the last applied membership.
const MEMBERSHIP_FILE: &str = "membership.json";
/// File whose presence means "this node was removed" (it holds the reason).
const REMOVED_FILE: &str = "removed.json";
/// How often the keeper retries when the engine could not list its members
/// (a learner does not answer that request).
const RETRY: Duration = Duration::from_secs(1);

/// One member as d-engine's `initial_cluster` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    /// Raft node id.
    pub id: u32,
    /// Raft address the engine dials.
    pub address: String,
    /// d-engine role number (1 follower, 4 learner).
    pub role: i32,
    /// d-engine status number (1 promotable, 3 active).
    pub status: i32,
}

/// The membership stored in the data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMembership {
    /// Log index of the configuration entry it reflects.
    pub index: u64,
    /// Every member, this node included.
    pub members: Vec<StoredMember>,
}

/// Why this node no longer serves (set once).
#[derive(Debug, Default)]
pub struct RemovedFlag(OnceLock<String>);

impl RemovedFlag {
    /// A flag already set (a node started after its removal).
    pub fn set_to(reason: String) -> Self {
        let flag = Self::default();
        let _ = flag.0.set(reason);
        flag
    }

    /// The reason, once this node has been removed.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The stored membership, if this node has stored one.
pub fn load(data_dir: &Path) -> Option<StoredMembership> {
    let text = std::fs::read(data_dir.join(MEMBERSHIP_FILE)).ok()?;
    match serde_json::from_slice(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring unreadable {MEMBERSHIP_FILE}");
            None
        }
    }
}

/// Why this node was removed, if it was.
pub fn load_removed(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(REMOVED_FILE)).ok()
}

/// Record that this node was removed (durably), and set `flag`.
pub fn mark_removed(data_dir: &Path, flag: &RemovedFlag, reason: String) {
    if flag.get().is_some() {
        return;
    }
    tracing::warn!(%reason, "this node was removed from the cluster; it now answers 503 removed");
    if let Err(e) = write_atomically(&data_dir.join(REMOVED_FILE), reason.as_bytes()) {
        tracing::error!(error = %e, "cannot store the removed state");
    }
    let _ = flag.0.set(reason);
}

/// The reason a node gives once removed at `index` (0: told by the leader).
pub fn removed_reason(node_id: u32, index: u64) -> String {
    let at = if index > 0 {
        format!(" at log index {index}")
    } else {
        String::new()
    };
    format!(
        "node {node_id} was removed from the cluster{at} (POST /admin/remove); it serves no \
         data any more: use the cluster's members (GET /topology on any of them)"
    )
}

/// Keep `{data_dir}/membership.json` equal to the membership the engine has
/// applied, and notice this node's own removal. Runs until the process stops.
pub async fn run_keeper(engine: Arc<EmbeddedEngine>, data_dir: PathBuf, removed: Arc<RemovedFlag>) {
    let me = engine.node_id();
    let mut rx = engine.watch_membership();
    let mut stored = load(&data_dir);
    loop {
        let snapshot = rx.borrow_and_update().clone();
        let known = !(snapshot.members.is_empty() && snapshot.learners.is_empty());
        let mut retry = false;
        if known && snapshot.committed_index > 0 {
            if !snapshot.members.contains(&me) && !snapshot.learners.contains(&me) {
                mark_removed(
                    &data_dir,
                    &removed,
                    removed_reason(me, snapshot.committed_index),
                );
                return;
            }
            match engine.client().list_members().await {
                Ok(nodes) => {
                    let mut members: Vec<StoredMember> = nodes
                        .into_iter()
                        .map(|n| StoredMember {
                            id: n.id,
                            address: n.address,
                            role: n.role,
                            status: n.status,
                        })
                        .collect();
                    members.sort_by_key(|m| m.id);
                    let next = StoredMembership {
                        index: snapshot.committed_index,
                        members,
                    };
                    let complete = next.members.iter().any(|m| m.id == me);
                    if complete && stored.as_ref().map(|s| &s.members) != Some(&next.members) {
                        let bytes = serde_json::to_vec_pretty(&next).expect("serialisable");
                        match write_atomically(&data_dir.join(MEMBERSHIP_FILE), &bytes) {
                            Ok(()) => {
                                tracing::info!(index = next.index, members = ?next.members.iter().map(|m| m.id).collect::<Vec<_>>(), "membership stored");
                                stored = Some(next);
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "cannot store the membership");
                                retry = true;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot list members yet");
                    retry = true;
                }
            }
        }
        if retry {
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(RETRY) => {}
            }
        } else if rx.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_membership_and_removed_state_round_trip() {
        let dir = std::env::temp_dir().join(format!("kv-membership-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir), None);
        let m = StoredMembership {
            index: 7,
            members: vec![StoredMember {
                id: 1,
                address: "127.0.0.1:9081".into(),
                role: 1,
                status: 3,
            }],
        };
        write_atomically(&dir.join(MEMBERSHIP_FILE), &serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(load(&dir), Some(m));
        let flag = RemovedFlag::default();
        assert_eq!(load_removed(&dir), None);
        mark_removed(&dir, &flag, "gone".into());
        assert_eq!(flag.get(), Some("gone"));
        assert_eq!(load_removed(&dir).as_deref(), Some("gone"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
