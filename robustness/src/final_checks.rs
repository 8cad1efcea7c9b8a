//! The checks at the end of every scenario, as etcd's robustness tests do
//! them: with every fault undone, the cluster accepts a write; every key is
//! read linearizably (those reads join the history, so the checker proves
//! that no acknowledged write was lost); and once caught up, every node
//! holds the same data.

use std::time::Duration;

use kv_harness::{wait_until, Cluster};
use serde_json::Value;

use crate::history::{Kind, Outcome, Recorder};
use crate::traffic::Probe;

/// Deadline for a leader after every fault is undone.
const LEADER_DEADLINE: Duration = Duration::from_secs(30);
/// Deadline for the closing write and for the nodes to converge.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(30);

/// Undo every fault, then run the checks; returns what failed.
pub fn run(cluster: &mut Cluster, rec: &Recorder, keys: usize) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(net) = cluster.net() {
        net.heal();
    }
    for id in cluster.ids() {
        if cluster.node(id).is_running() {
            cluster.resume(id);
        } else {
            cluster.restart(id);
        }
    }
    let ids = cluster.ids();
    let Some(leader) = wait_until(LEADER_DEADLINE, || cluster.agreed_leader(&ids)) else {
        errors.push(format!(
            "no agreed leader {LEADER_DEADLINE:?} after every fault was undone"
        ));
        return errors;
    };
    rec.event(format!("final checks, leader n{leader}"));
    let url = cluster.api_url(leader);
    let mut probe = Probe::new(rec, "final", &url, Duration::from_secs(7));

    // 1. The cluster accepts a write (retried: the first may meet a leader change).
    let accepted = wait_until(CONVERGE_DEADLINE, || {
        probe.call(Kind::Put, "final-write");
        (probe.last_outcome() == Some(Outcome::Ok)).then_some(())
    });
    if accepted.is_none() {
        errors.push(format!(
            "the cluster did not accept a write within {CONVERGE_DEADLINE:?}"
        ));
    }

    // 2. A linearizable read of every key (checked with the history).
    let mut values = Vec::new();
    for k in 0..keys {
        let key = format!("k{k}");
        let read = wait_until(Duration::from_secs(10), || {
            probe.call(Kind::ReadLinearizable, &key);
            (probe.last_outcome() == Some(Outcome::Ok)).then(|| probe.last_value())
        });
        match read {
            Some(v) => values.push((key, v)),
            None => errors.push(format!("no linearizable read of {key} succeeded")),
        }
    }

    // 3. Every node applies up to the leader's commit index and then holds
    //    the same values.
    let converged = wait_until(CONVERGE_DEADLINE, || {
        let commit = cluster.topology(leader)?.commit_index?;
        let caught_up = ids.iter().all(|id| applied(cluster, *id) >= Some(commit));
        let same = caught_up
            && ids.iter().all(|id| {
                values
                    .iter()
                    .all(|(key, v)| eventual_read(&cluster.api_url(*id), key).as_ref() == Some(v))
            });
        same.then_some(())
    });
    if converged.is_none() {
        let mut detail = String::new();
        for id in &ids {
            let seen: Vec<String> = values
                .iter()
                .map(|(key, _)| format!("{key}={:?}", eventual_read(&cluster.api_url(*id), key)))
                .collect();
            detail.push_str(&format!(
                "\n  n{id} (applied {:?}): {}",
                applied(cluster, *id),
                seen.join(" ")
            ));
        }
        let expected: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        errors.push(format!(
            "nodes did not converge within {CONVERGE_DEADLINE:?}; leader n{leader} has {}{detail}",
            expected.join(" ")
        ));
    }
    errors
}

/// A node's own applied index, from its `/topology`.
fn applied(cluster: &Cluster, id: u32) -> Option<u64> {
    cluster.topology(id)?.own_applied_index()
}

/// `Some(value)` (inner `None`: absent) from an eventual read on `base`.
fn eventual_read(base: &str, key: &str) -> Option<Option<String>> {
    let (status, body): (u16, Value) =
        kv_harness::get_json(&format!("{base}/kv/{key}?consistency=eventual"))?;
    match status {
        200 => Some(body["value"].as_str().map(str::to_string)),
        404 if body["value"].is_null() => Some(None),
        _ => None,
    }
}
