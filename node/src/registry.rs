//! The member registry: how nodes learn each other's HTTP addresses.
//!
//! d-engine only knows Raft addresses. Each node writes its own
//! [`MemberRecord`] (API URL, health URL, labels) through Raft under a reserved
//! key that no HTTP client can produce (it starts with byte 0xFF, which is never
//! valid UTF-8, while API keys always are). Every node reads the records from
//! its local state machine, so a node that joins later publishes itself without
//! anyone editing other nodes' configs, and the records survive restarts.
//!
//! Registration: the leader writes its own record directly; a follower or
//! learner sends its record to the leader's `POST /internal/members` (the
//! leader's URL comes from the leader's record, which it wrote on election).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use d_engine::EmbeddedEngine;
use tokio::sync::watch;

use crate::topology::NodeView;

/// Prefix of registry keys in the state machine (0xFF keeps them out of the API's UTF-8 key space).
pub const RECORD_PREFIX: &[u8] = b"\xffkv-node/member/";

/// What one node publishes about itself (defined with the wire contract:
/// it is also the body of `POST /internal/members`).
pub use kv_contract::MemberRecord;

/// The state-machine key holding node `id`'s record.
pub fn record_key(id: u32) -> Bytes {
    let mut k = RECORD_PREFIX.to_vec();
    k.extend_from_slice(id.to_string().as_bytes());
    Bytes::from(k)
}

/// Read the records of `ids` from the local state machine (no network).
pub async fn load_records(
    engine: &EmbeddedEngine,
    ids: &[u32],
) -> Result<BTreeMap<u32, MemberRecord>, String> {
    let keys: Vec<Bytes> = ids.iter().map(|id| record_key(*id)).collect();
    let values = engine
        .client()
        .get_multi_eventual(&keys)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (id, value) in ids.iter().zip(values) {
        if let Some(v) = value {
            match serde_json::from_slice::<MemberRecord>(&v) {
                Ok(rec) if rec.id == *id => {
                    out.insert(*id, rec);
                }
                Ok(_) | Err(_) => tracing::warn!(node = id, "ignoring malformed member record"),
            }
        }
    }
    Ok(out)
}

/// Write a record through Raft; only succeeds on the leader.
pub async fn write_record(engine: &EmbeddedEngine, rec: &MemberRecord) -> Result<(), String> {
    let value = serde_json::to_vec(rec).map_err(|e| e.to_string())?;
    engine
        .client()
        .put(record_key(rec.id), value)
        .await
        .map_err(|e| e.to_string())
}

/// Keep this node's record published: runs until the process stops.
///
/// Checks the published topology; when this node's record is missing or
/// differs, writes it (as leader) or sends it to the leader. Backs off while
/// there is no leader or the leader's URL is not known yet.
pub async fn run_registrar(
    engine: Arc<EmbeddedEngine>,
    mut topology: watch::Receiver<Arc<NodeView>>,
    me: MemberRecord,
    admin_token: Option<String>,
) {
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(2))
        .finish();
    let mut delay = Duration::from_millis(50);
    loop {
        let snapshot = topology.borrow_and_update().clone();
        let published = snapshot.record(me.id).is_some_and(|r| r == &me);
        if published {
            delay = Duration::from_millis(50);
            // Wait for the next change (e.g. a membership change that drops us), or re-check.
            let _ = tokio::time::timeout(Duration::from_secs(5), topology.changed()).await;
            continue;
        }
        let outcome = match snapshot.topology.leader_id {
            None => Err("no leader yet".to_string()),
            Some(leader) if leader == me.id => write_record(&engine, &me).await,
            Some(leader) => match snapshot.record(leader) {
                None => Err(format!("leader {leader} has not published its URL yet")),
                Some(leader_rec) => {
                    let mut req = http.post(format!("{}/internal/members", leader_rec.api_url));
                    if let Some(t) = &admin_token {
                        req = req.bearer_auth(t);
                    }
                    match req.send_json(&me).await {
                        Ok(resp) if resp.status().is_success() => Ok(()),
                        Ok(resp) => Err(format!("leader answered {}", resp.status())),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        };
        match outcome {
            Ok(()) => {
                tracing::info!(node = me.id, api_url = %me.api_url, "member record published");
                // The topology refresh will show it; wait for that instead of rewriting.
                let _ = tokio::time::timeout(Duration::from_millis(500), topology.changed()).await;
            }
            Err(why) => {
                tracing::debug!(%why, "member record not published yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_are_outside_the_utf8_key_space() {
        let k = record_key(12);
        assert!(std::str::from_utf8(&k).is_err());
        assert!(k.ends_with(b"member/12"));
    }

    #[test]
    fn record_round_trips_as_json() {
        let rec = MemberRecord {
            id: 4,
            api_url: "http://127.0.0.1:8084".into(),
            health_url: "http://127.0.0.1:10004".into(),
            raft_addr: "127.0.0.1:9084".into(),
            labels: BTreeMap::from([("zone".into(), "a".into())]),
            weight: Some(3),
        };
        let bytes = serde_json::to_vec(&rec).expect("serialise");
        assert_eq!(
            serde_json::from_slice::<MemberRecord>(&bytes).expect("parse"),
            rec
        );
    }
}
