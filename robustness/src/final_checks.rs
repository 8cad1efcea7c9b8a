//! The checks at the end of every scenario, as etcd's robustness tests do
//! them: with every fault undone, the cluster accepts a write; every key is
//! read linearizably (those reads join the history, so the checker proves
//! that no acknowledged write was lost); every write-once key of the
//! writers is read back (so is every acknowledged write, not only the last
//! one per key: [`Durability`]); and once caught up, every node holds the
//! same data. Besides, the node logs must show at most one leader per term
//! ([`election_safety`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kv_harness::{wait_until, Cluster};
use serde::Serialize;
use serde_json::Value;

use crate::faults::storage_state;
use crate::history::{Kind, Op, Outcome, Recorder};
use crate::traffic::{is_ledger_key, ledger_bucket, Probe};

/// Deadline for a leader after every fault is undone.
const LEADER_DEADLINE: Duration = Duration::from_secs(30);
/// Deadline for the closing write and for the nodes to converge.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(30);
/// Write-once keys listed at once (a bucket holds at most 1000).
const LIST_LIMIT: usize = 1000;

/// What the final checks found.
#[derive(Debug, Default)]
pub struct FinalReport {
    /// Checks that failed.
    pub errors: Vec<String>,
    /// The writers' write-once keys, read back.
    pub durability: Durability,
}

/// The writers' puts to write-once keys and what the end state holds of
/// them (each such key is written by one put only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Durability {
    /// Puts acknowledged.
    pub acked: usize,
    /// Acknowledged puts whose value is not there at the end: lost.
    pub lost: usize,
    /// Puts answered "not applied".
    pub failed: usize,
    /// "Not applied" puts whose value is there anyway.
    pub failed_present: usize,
    /// Puts with an unknown outcome.
    pub unknown: usize,
    /// Unknown puts that took effect.
    pub unknown_present: usize,
}

impl Durability {
    /// Sum of two.
    pub fn add(&mut self, o: &Durability) {
        self.acked += o.acked;
        self.lost += o.lost;
        self.failed += o.failed;
        self.failed_present += o.failed_present;
        self.unknown += o.unknown;
        self.unknown_present += o.unknown_present;
    }
}

/// Undo every fault, then run the checks.
pub fn run(cluster: &mut Cluster, rec: &Recorder, keys: usize) -> FinalReport {
    let mut report = FinalReport::default();
    let errors = &mut report.errors;
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
        let states: Vec<String> = ids
            .iter()
            .map(|id| {
                let leader = cluster
                    .topology(*id)
                    .map_or("no /topology".to_string(), |t| {
                        format!("term {} leader {:?}", t.term, t.leader_id)
                    });
                format!("n{id}: {leader}, storage {}", storage_state(cluster, *id))
            })
            .collect();
        errors.push(format!(
            "no agreed leader {LEADER_DEADLINE:?} after every fault was undone ({})",
            states.join("; ")
        ));
        return report;
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

    // 3. Every write-once key read back, by linearizable listings.
    let (durability, listings) = ledger(&url, rec, errors);
    report.durability = durability;

    // 4. Every node applies up to the leader's commit index and then holds
    //    the same values (write-once keys included).
    let converged = wait_until(CONVERGE_DEADLINE, || {
        let commit = cluster.topology(leader)?.commit_index?;
        let caught_up = ids.iter().all(|id| applied(cluster, *id) >= Some(commit));
        let same = caught_up
            && ids.iter().all(|id| {
                let base = cluster.api_url(*id);
                values
                    .iter()
                    .all(|(key, v)| eventual_read(&base, key).as_ref() == Some(v))
                    && listings.iter().all(|(prefix, items)| {
                        list(&base, prefix, "eventual").as_ref() == Some(items)
                    })
            });
        same.then_some(())
    });
    if converged.is_none() {
        let mut detail = String::new();
        for id in &ids {
            let base = cluster.api_url(*id);
            let seen: Vec<String> = values
                .iter()
                .map(|(key, _)| format!("{key}={:?}", eventual_read(&base, key)))
                .collect();
            let differ: Vec<String> = listings
                .iter()
                .filter_map(|(prefix, items)| {
                    let here = list(&base, prefix, "eventual");
                    match &here {
                        Some(h) if h == items => None,
                        Some(h) => Some(format!(
                            "{prefix}*: {} keys vs {} on the leader",
                            h.len(),
                            items.len()
                        )),
                        None => Some(format!("{prefix}*: no listing")),
                    }
                })
                .collect();
            detail.push_str(&format!(
                "\n  n{id} (applied {:?}): {}{}",
                applied(cluster, *id),
                seen.join(" "),
                if differ.is_empty() {
                    String::new()
                } else {
                    format!("; write-once keys differ: {}", differ.join(", "))
                }
            ));
        }
        let expected: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        errors.push(format!(
            "nodes did not converge within {CONVERGE_DEADLINE:?}; leader n{leader} has {}{detail}",
            expected.join(" ")
        ));
    }
    report
}

/// Read back every write-once key the writers put (one linearizable
/// listing per bucket through `url`), record each key's read in the history
/// (so the checker judges them too) and count what survived. Returns the
/// counts and the listings (for the convergence check).
fn ledger(
    url: &str,
    rec: &Recorder,
    errors: &mut Vec<String>,
) -> (Durability, BTreeMap<String, BTreeMap<String, String>>) {
    let history = rec.finish();
    let puts: BTreeMap<&str, &Op> = history
        .ops
        .iter()
        .filter(|o| o.kind == Kind::Put && is_ledger_key(&o.key))
        .map(|o| (o.key.as_str(), o))
        .collect();
    let mut d = Durability::default();
    let mut listings = BTreeMap::new();
    if puts.is_empty() {
        return (d, listings);
    }
    let client = rec.client("final-ledger");
    let buckets: BTreeSet<&str> = puts.keys().map(|k| ledger_bucket(k)).collect();
    let mut lost = Vec::new();
    for bucket in buckets {
        let mut invoke_us = 0;
        let listed = wait_until(Duration::from_secs(10), || {
            invoke_us = rec.now_us();
            list(url, bucket, "linearizable")
        });
        let return_us = rec.now_us();
        let Some(listed) = listed else {
            errors.push(format!(
                "no linearizable listing of {bucket}* succeeded: its write-once keys are unchecked"
            ));
            continue;
        };
        for (key, put) in puts
            .range(bucket..)
            .take_while(|(k, _)| k.starts_with(bucket))
        {
            let found = listed.get(*key);
            rec.record(Op {
                id: 0,
                client,
                key: key.to_string(),
                kind: Kind::ReadLinearizable,
                value: found.cloned(),
                invoke_us,
                return_us,
                outcome: Outcome::Ok,
                detail: format!("listing of {bucket}* through {url}"),
            });
            if tally(&mut d, put, found) {
                lost.push(format!(
                    "{key}={:?} (put #{} by {}, {:.3}..{:.3} ms, '{}'; now {found:?})",
                    put.value.as_deref().unwrap_or_default(),
                    put.id,
                    history
                        .clients
                        .get(put.client)
                        .map_or("?", |c| c.name.as_str()),
                    put.invoke_us as f64 / 1e3,
                    put.return_us as f64 / 1e3,
                    put.detail
                ));
            }
        }
        listings.insert(bucket.to_string(), listed);
    }
    if !lost.is_empty() {
        errors.push(format!(
            "{} of {} acknowledged writes to write-once keys lost: {}{}",
            d.lost,
            d.acked,
            lost.iter().take(10).cloned().collect::<Vec<_>>().join("; "),
            if lost.len() > 10 { "; …" } else { "" }
        ));
    }
    (d, listings)
}

/// Count `put` (to a write-once key) in `d`, given the value `found` under
/// its key at the end; true if it was acknowledged and is not there: lost.
fn tally(d: &mut Durability, put: &Op, found: Option<&String>) -> bool {
    let present = found.is_some() && found == put.value.as_ref();
    match put.outcome {
        Outcome::Ok => {
            d.acked += 1;
            d.lost += usize::from(!present);
            !present
        }
        Outcome::Fail => {
            d.failed += 1;
            d.failed_present += usize::from(present);
            false
        }
        Outcome::Unknown => {
            d.unknown += 1;
            d.unknown_present += usize::from(present);
            false
        }
    }
}

/// Raft's election safety, from the node logs (`(id, text)`): d-engine
/// prints `[Node N] Candidate → Leader (term T)` on every election won; two
/// nodes winning the same term means some node voted twice in it (e.g. its
/// vote was lost with unsynced data). Returns one message per such term.
pub fn election_safety(logs: &[(u32, String)]) -> Vec<String> {
    let mut leaders: BTreeMap<u64, BTreeSet<u32>> = BTreeMap::new();
    for (_, text) in logs {
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("[Node ") else {
                continue;
            };
            let Some((id, rest)) = rest.split_once("] Candidate → Leader (term ") else {
                continue;
            };
            let (Ok(id), Ok(term)) = (id.parse(), rest.trim_end_matches(')').parse()) else {
                continue;
            };
            leaders.entry(term).or_default().insert(id);
        }
    }
    leaders
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(term, ids)| {
            let ids: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
            format!(
                "election safety broken: {} each won an election in term {term} (a vote was given twice)",
                ids.join(" and ")
            )
        })
        .collect()
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

/// The keys under `prefix` and their values, listed by the node at `base`
/// with `consistency` (`None`: no answer, an error, or more than a bucket).
fn list(base: &str, prefix: &str, consistency: &str) -> Option<BTreeMap<String, String>> {
    let (status, body): (u16, Value) = kv_harness::get_json(&format!(
        "{base}/kv?prefix={prefix}&limit={LIST_LIMIT}&consistency={consistency}"
    ))?;
    if status != 200 || body["truncated"] != Value::Bool(false) {
        return None;
    }
    body["items"]
        .as_array()?
        .iter()
        .map(|item| {
            Some((
                item["key"].as_str()?.to_string(),
                item["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(outcome: Outcome, value: &str) -> Op {
        Op {
            id: 0,
            client: 0,
            key: "w/00/000001".into(),
            kind: Kind::Put,
            value: Some(value.into()),
            invoke_us: 0,
            return_us: 1,
            outcome,
            detail: String::new(),
        }
    }

    #[test]
    fn two_leaders_in_one_term_break_election_safety() {
        let n1 = "[Node 1] Follower → Candidate (term 2)\n[Node 1] Candidate → Leader (term 2)\n\
                  [Node 1] Candidate → Leader (term 5)\n"
            .to_string();
        let n2 = "[Node 2] Candidate → Leader (term 3)\n[Node 2] Candidate → Leader (term 5)\n"
            .to_string();
        // A node winning the same term again after a restart is no violation.
        let n3 = "[Node 3] Candidate → Leader (term 7)\n[Node 3] Candidate → Leader (term 7)\n"
            .to_string();
        let found = election_safety(&[(1, n1.clone()), (2, n2), (3, n3)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("n1 and n2") && found[0].contains("term 5"));
        assert!(election_safety(&[(1, n1)]).is_empty());
    }

    #[test]
    fn an_acknowledged_write_missing_or_replaced_at_the_end_is_lost() {
        let mut d = Durability::default();
        let v = "writer-0.1".to_string();
        let other = "writer-9.9".to_string();
        assert!(!tally(&mut d, &put(Outcome::Ok, &v), Some(&v)));
        assert!(tally(&mut d, &put(Outcome::Ok, &v), None));
        assert!(tally(&mut d, &put(Outcome::Ok, &v), Some(&other)));
        assert!(!tally(&mut d, &put(Outcome::Fail, &v), Some(&v)));
        assert!(!tally(&mut d, &put(Outcome::Fail, &v), None));
        assert!(!tally(&mut d, &put(Outcome::Unknown, &v), Some(&v)));
        assert!(!tally(&mut d, &put(Outcome::Unknown, &v), None));
        assert_eq!(
            d,
            Durability {
                acked: 3,
                lost: 2,
                failed: 2,
                failed_present: 1,
                unknown: 2,
                unknown_present: 1,
            }
        );
    }
}
