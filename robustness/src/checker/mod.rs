//! Checking a recorded [`History`]: per key, linearizability of puts,
//! deletes, linearizable and lease reads ([`porcupine`]), plus the weaker
//! rule for eventual reads, with a time budget; a violation comes with the
//! shortest excerpt [`minimize`] finds.
//!
//! Outcomes are handled as etcd's robustness tests do: a write that failed
//! ("not applied") is left out, and a read of its value is a violation by
//! itself; a write with an unknown outcome may take effect at any time after
//! its invocation or never (its return is put at infinity), and one whose
//! (unique) value nobody read is dropped; failed or unknown reads are
//! dropped (they changed nothing).

pub mod minimize;
pub mod porcupine;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::history::{History, Kind, Op, Outcome};
use porcupine::{Call, RegOp, Value, Verdict, ABSENT};

/// What is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// No linearization of the key's strong operations exists.
    NotLinearizable,
    /// The search ran out of time (counts as a failure).
    CheckerTimeout,
    /// A read returned a value whose write was answered "not applied".
    FailedWriteObserved,
    /// A read returned a value no put on this key wrote.
    UnknownValue,
    /// An eventual read returned a value written only after it returned.
    ReadFromFuture,
    /// A session read returned a value older than one its client had
    /// already written (acknowledged) or read: read-your-writes or
    /// monotonic reads broken.
    SessionOrder,
}

/// One problem, with the operations that show it.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// Key.
    pub key: String,
    /// What.
    pub kind: ViolationKind,
    /// In words.
    pub message: String,
    /// Ids of the operations of the shortest excerpt found.
    pub excerpt: Vec<usize>,
}

/// The result of checking a history.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    /// Operations in the history.
    pub ops: usize,
    /// Operations with an unknown outcome.
    pub unknown: usize,
    /// Operations answered "not applied".
    pub failed: usize,
    /// Operations that took part in a check (strong ops in the
    /// linearizability search, eventual reads in theirs).
    pub checked: usize,
    /// Unknown writes dropped because nobody observed them.
    pub unknown_dropped: usize,
    /// What was found.
    pub violations: Vec<Violation>,
    /// Time spent.
    pub took_ms: u64,
}

impl CheckReport {
    /// No violation and no timeout.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Budgets of the checker.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Per key linearizability search.
    pub per_key: Duration,
    /// Total time spent minimizing one violation.
    pub minimize: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            per_key: Duration::from_secs(20),
            minimize: Duration::from_secs(10),
        }
    }
}

/// One key's strong operations, ready for the search.
pub(crate) struct KeyHistory {
    /// Calls for [`porcupine::check`].
    pub calls: Vec<Call>,
    /// History op id of each call.
    pub op_ids: Vec<usize>,
}

/// Check `history` within `budget`.
pub fn check(history: &History, budget: Budget) -> CheckReport {
    let started = Instant::now();
    let mut report = CheckReport {
        ops: history.ops.len(),
        unknown: history.count(Outcome::Unknown),
        failed: history.count(Outcome::Fail),
        ..CheckReport::default()
    };
    let mut by_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in &history.ops {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }
    for (key, ops) in by_key {
        check_key(key, &ops, budget, &mut report);
    }
    report.took_ms = started.elapsed().as_millis() as u64;
    report
}

fn check_key(key: &str, ops: &[&Op], budget: Budget, report: &mut CheckReport) {
    // Puts by value (values are unique), and every value some read returned.
    let puts: HashMap<&str, &Op> = ops
        .iter()
        .filter(|o| o.kind == Kind::Put)
        .filter_map(|o| o.value.as_deref().map(|v| (v, *o)))
        .collect();
    let reads: Vec<&Op> = ops
        .iter()
        .copied()
        .filter(|o| !o.kind.is_write() && o.outcome == Outcome::Ok)
        .collect();
    let mut direct = Vec::new();
    for r in &reads {
        let Some(v) = r.value.as_deref() else {
            continue;
        };
        match puts.get(v) {
            None => direct.push(Violation {
                key: key.into(),
                kind: ViolationKind::UnknownValue,
                message: format!("op {} read {v:?}, which no put on {key:?} wrote", r.id),
                excerpt: vec![r.id],
            }),
            Some(w) if w.outcome == Outcome::Fail => direct.push(Violation {
                key: key.into(),
                kind: ViolationKind::FailedWriteObserved,
                message: format!(
                    "op {} read {v:?}, written by op {} whose answer said it was not applied ({})",
                    r.id, w.id, w.detail
                ),
                excerpt: vec![w.id, r.id],
            }),
            Some(w) if r.kind.is_eventual() && w.invoke_us > r.return_us => {
                direct.push(Violation {
                    key: key.into(),
                    kind: ViolationKind::ReadFromFuture,
                    message: format!(
                        "eventual read op {} returned {v:?} before its put (op {}) was invoked",
                        r.id, w.id
                    ),
                    excerpt: vec![r.id, w.id],
                })
            }
            Some(_) => {}
        }
    }
    report.checked += reads.iter().filter(|r| r.kind.is_eventual()).count();
    direct.extend(session_violations(key, ops, &puts));
    if !direct.is_empty() {
        // The search would only restate these; keep the clear message.
        report.violations.extend(direct);
        return;
    }

    // Each value's earliest observation: a put with an unknown outcome took
    // effect before the first read that saw its value returned.
    let mut observed: HashMap<&str, u64> = HashMap::new();
    for r in &reads {
        if let Some(v) = r.value.as_deref() {
            let first = observed.entry(v).or_insert(u64::MAX);
            *first = (*first).min(r.return_us);
        }
    }
    let (kh, dropped) = strong_history(ops, &observed);
    report.unknown_dropped += dropped;
    report.checked += kh.calls.len();
    let deadline = Instant::now() + budget.per_key;
    match porcupine::check(&kh.calls, ABSENT, deadline) {
        Verdict::Linearizable => {}
        Verdict::Timeout => report.violations.push(Violation {
            key: key.into(),
            kind: ViolationKind::CheckerTimeout,
            message: format!(
                "linearizability search on {key:?} ({} ops) did not finish within {:?}",
                kh.calls.len(),
                budget.per_key
            ),
            excerpt: Vec::new(),
        }),
        Verdict::Illegal => {
            let keep = minimize::shortest(&kh.calls, budget.minimize);
            let excerpt: Vec<usize> = keep.iter().map(|&i| kh.op_ids[i]).collect();
            report.violations.push(Violation {
                key: key.into(),
                kind: ViolationKind::NotLinearizable,
                message: format!(
                    "no linearization of {} operations on {key:?}; {} of them suffice to show it",
                    kh.calls.len(),
                    excerpt.len()
                ),
                excerpt,
            });
        }
    }
}

/// Read-your-writes and monotonic reads of each client's session reads on
/// one key. A client's floor is every write it had acknowledged and every
/// put whose value it had read, before a session read was invoked (one
/// operation in flight per client). The read must not return a value whose
/// put was acknowledged before some floor write was invoked (definitely
/// older), nor "absent" after a floor put unless a delete of the key may
/// have taken effect since that put was invoked.
fn session_violations(key: &str, ops: &[&Op], puts: &HashMap<&str, &Op>) -> Vec<Violation> {
    let deletes: Vec<&Op> = ops
        .iter()
        .copied()
        .filter(|o| o.kind == Kind::Delete && o.outcome != Outcome::Fail)
        .collect();
    // Per client: (write, "written" or "read") pairs.
    let mut floors: HashMap<usize, Vec<(&Op, &str)>> = HashMap::new();
    let mut found = Vec::new();
    let mut by_invoke: Vec<&Op> = ops.to_vec();
    by_invoke.sort_by_key(|o| o.invoke_us);
    for op in by_invoke {
        let floor = floors.entry(op.client).or_default();
        if op.kind.is_write() {
            if op.outcome == Outcome::Ok {
                floor.push((op, "written"));
            }
            continue;
        }
        if op.kind != Kind::ReadSession || op.outcome != Outcome::Ok {
            continue;
        }
        let read_put = op.value.as_deref().and_then(|v| puts.get(v).copied());
        let older = floor
            .iter()
            .find(|(f, _)| match (op.value.as_deref(), read_put) {
                // The value read was acknowledged before the floor write began.
                (Some(_), Some(p)) => {
                    p.id != f.id && p.outcome == Outcome::Ok && p.return_us < f.invoke_us
                }
                // Absent, though the client knows a put and no delete may have
                // come after it.
                (None, _) => {
                    f.kind == Kind::Put
                        && !deletes
                            .iter()
                            .any(|d| d.invoke_us < op.return_us && d.return_us > f.invoke_us)
                }
                (Some(_), None) => false,
            });
        if let Some((f, how)) = older {
            found.push(Violation {
                key: key.into(),
                kind: ViolationKind::SessionOrder,
                message: format!(
                    "session read op {} (client {}) returned {:?}, older than op {} ({} {:?}) that the client had already {}",
                    op.id,
                    op.client,
                    op.value,
                    f.id,
                    f.kind.short(),
                    f.value,
                    how
                ),
                excerpt: [f.id, op.id]
                    .into_iter()
                    .chain(read_put.map(|p| p.id))
                    .collect(),
            });
            continue;
        }
        if let Some(p) = read_put {
            floor.push((p, "read"));
        }
    }
    found
}

/// The key's puts, deletes and strong reads as register calls; also how
/// many unknown puts were dropped as unobserved.
pub(crate) fn strong_history<'a>(
    ops: &[&'a Op],
    observed: &HashMap<&str, u64>,
) -> (KeyHistory, usize) {
    let mut ids: HashMap<&'a str, Value> = HashMap::new();
    let mut value_id = |v: &'a str| -> Value {
        let next = ids.len() as Value + 1;
        *ids.entry(v).or_insert(next)
    };
    let mut kh = KeyHistory {
        calls: Vec::new(),
        op_ids: Vec::new(),
    };
    let mut dropped = 0;
    for op in ops {
        let mut ret = match op.outcome {
            Outcome::Ok => op.return_us,
            Outcome::Unknown if op.kind.is_write() => u64::MAX,
            _ => continue,
        };
        let reg = match (op.kind, op.value.as_deref()) {
            (Kind::Put, Some(v)) => {
                if op.outcome == Outcome::Unknown {
                    match observed.get(v) {
                        None => {
                            dropped += 1;
                            continue;
                        }
                        Some(&first_seen) => ret = first_seen.max(op.invoke_us),
                    }
                }
                RegOp::Put(value_id(v))
            }
            (Kind::Delete, _) => RegOp::Delete,
            (k, v) if k.is_strong_read() => RegOp::Read(v.map_or(ABSENT, &mut value_id)),
            _ => continue,
        };
        kh.calls.push(Call {
            op: reg,
            invoke: op.invoke_us,
            ret,
        });
        kh.op_ids.push(op.id);
    }
    (kh, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{ClientInfo, Op};

    /// `(client, kind, value, invoke, return, outcome)`.
    type Row<'a> = (usize, Kind, Option<&'a str>, u64, u64, Outcome);

    /// Build a history from rows.
    fn history(ops: &[Row<'_>]) -> History {
        let mut h = History {
            clients: (0..4)
                .map(|i| ClientInfo {
                    name: format!("c{i}"),
                })
                .collect(),
            ..History::default()
        };
        for (id, &(client, kind, value, invoke_us, return_us, outcome)) in ops.iter().enumerate() {
            h.ops.push(Op {
                id,
                client,
                key: "k".into(),
                kind,
                value: value.map(str::to_string),
                invoke_us,
                return_us,
                outcome,
                detail: String::new(),
            });
        }
        h
    }

    use Kind::{Delete, Put, ReadEventual, ReadLease, ReadLinearizable};
    use Outcome::{Fail, Ok, Unknown};

    fn kinds(r: &CheckReport) -> Vec<ViolationKind> {
        r.violations.iter().map(|v| v.kind).collect()
    }

    #[test]
    fn a_good_history_passes() {
        let h = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (1, ReadLinearizable, Some("a"), 5, 20, Ok),
            (2, ReadLease, Some("a"), 21, 30, Ok),
            (0, Delete, None, 31, 40, Ok),
            (1, ReadLinearizable, None, 41, 50, Ok),
            (2, ReadEventual, Some("a"), 51, 60, Ok),
            (3, Put, Some("b"), 61, 70, Fail),
            (3, Put, Some("c"), 71, 80, Unknown),
        ]);
        let r = check(&h, Budget::default());
        assert!(r.is_ok(), "{:?}", r.violations);
        assert_eq!(
            (r.ops, r.unknown, r.failed, r.unknown_dropped),
            (8, 1, 1, 1)
        );
    }

    #[test]
    fn a_stale_read_is_flagged_with_a_short_excerpt() {
        let h = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (1, ReadLinearizable, Some("a"), 11, 15, Ok),
            (0, Put, Some("b"), 20, 30, Ok),
            (2, ReadLinearizable, Some("b"), 31, 35, Ok),
            (3, ReadEventual, Some("a"), 36, 37, Ok),
            (1, ReadLease, Some("a"), 40, 50, Ok),
            (2, ReadLinearizable, Some("b"), 51, 55, Ok),
        ]);
        let r = check(&h, Budget::default());
        assert_eq!(kinds(&r), vec![ViolationKind::NotLinearizable]);
        // put a, put b, stale lease read of a: three operations show it.
        assert_eq!(r.violations[0].excerpt, vec![0, 2, 5]);
    }

    #[test]
    fn a_lost_write_is_flagged() {
        let h = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (1, Put, Some("b"), 20, 30, Ok),
            (2, ReadLinearizable, Some("a"), 40, 50, Ok),
        ]);
        assert_eq!(
            kinds(&check(&h, Budget::default())),
            vec![ViolationKind::NotLinearizable]
        );
        let h = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (2, ReadLinearizable, None, 40, 50, Ok),
        ]);
        assert_eq!(
            kinds(&check(&h, Budget::default())),
            vec![ViolationKind::NotLinearizable]
        );
    }

    #[test]
    fn a_not_applied_write_that_was_applied_is_flagged() {
        // The 502 `leader_unreachable` lie: "not applied", read afterwards.
        let h = history(&[
            (0, Put, Some("a"), 0, 10, Fail),
            (1, ReadLinearizable, Some("a"), 20, 30, Ok),
        ]);
        assert_eq!(
            kinds(&check(&h, Budget::default())),
            vec![ViolationKind::FailedWriteObserved]
        );
    }

    #[test]
    fn eventual_reads_need_a_value_written_before_they_returned() {
        let ok = history(&[
            (0, Put, Some("a"), 0, 100, Unknown),
            (1, ReadEventual, Some("a"), 50, 60, Ok),
        ]);
        assert!(check(&ok, Budget::default()).is_ok());
        let future = history(&[
            (1, ReadEventual, Some("a"), 0, 10, Ok),
            (0, Put, Some("a"), 20, 30, Ok),
        ]);
        assert_eq!(
            kinds(&check(&future, Budget::default())),
            vec![ViolationKind::ReadFromFuture]
        );
        let invented = history(&[(1, ReadEventual, Some("zzz"), 0, 10, Ok)]);
        assert_eq!(
            kinds(&check(&invented, Budget::default())),
            vec![ViolationKind::UnknownValue]
        );
    }

    #[test]
    fn session_reads_see_their_own_writes_and_never_go_back() {
        use Kind::ReadSession;
        let ok = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (0, ReadSession, Some("a"), 11, 12, Ok),
            (1, Put, Some("b"), 20, 30, Ok),
            (0, ReadSession, Some("b"), 31, 32, Ok),
            // Another client's session may still see a: it wrote nothing.
            (2, ReadSession, Some("a"), 33, 34, Ok),
            (1, Delete, None, 40, 50, Ok),
            (0, ReadSession, None, 51, 52, Ok),
        ]);
        let r = check(&ok, Budget::default());
        assert!(r.is_ok(), "{:?}", r.violations);
        // Read-your-writes: the client wrote b, then read the older a.
        let stale = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (1, Put, Some("b"), 20, 30, Ok),
            (1, ReadSession, Some("a"), 31, 32, Ok),
        ]);
        let r = check(&stale, Budget::default());
        assert_eq!(kinds(&r), vec![ViolationKind::SessionOrder]);
        assert_eq!(r.violations[0].excerpt, vec![1, 2, 0]);
        // Absent after the client's own put, with no delete.
        let lost = history(&[
            (1, Put, Some("b"), 20, 30, Ok),
            (1, ReadSession, None, 31, 32, Ok),
        ]);
        assert_eq!(
            kinds(&check(&lost, Budget::default())),
            vec![ViolationKind::SessionOrder]
        );
        // Monotonic reads: b was read, then the older a.
        let back = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (0, Put, Some("b"), 20, 30, Ok),
            (2, ReadSession, Some("b"), 31, 32, Ok),
            (2, ReadSession, Some("a"), 33, 34, Ok),
        ]);
        assert_eq!(
            kinds(&check(&back, Budget::default())),
            vec![ViolationKind::SessionOrder]
        );
        // Plain eventual reads may do all of that.
        let plain = history(&[
            (0, Put, Some("a"), 0, 10, Ok),
            (1, Put, Some("b"), 20, 30, Ok),
            (1, ReadEventual, Some("a"), 31, 32, Ok),
        ]);
        assert!(check(&plain, Budget::default()).is_ok());
    }

    #[test]
    fn unknown_writes_seen_count_and_may_apply_late() {
        // Unknown put of a seen late; an ok put of b earlier; a read of a after b
        // is fine because a's put was still in flight (it may apply last).
        let h = history(&[
            (0, Put, Some("a"), 0, 5, Unknown),
            (1, Put, Some("b"), 10, 20, Ok),
            (2, ReadLinearizable, Some("b"), 21, 25, Ok),
            (2, ReadLinearizable, Some("a"), 30, 40, Ok),
        ]);
        assert!(check(&h, Budget::default()).is_ok());
        // But an unknown put cannot apply twice.
        let h = history(&[
            (0, Put, Some("a"), 0, 5, Unknown),
            (2, ReadLinearizable, Some("a"), 6, 8, Ok),
            (1, Put, Some("b"), 10, 20, Ok),
            (2, ReadLinearizable, Some("a"), 30, 40, Ok),
        ]);
        assert_eq!(
            kinds(&check(&h, Budget::default())),
            vec![ViolationKind::NotLinearizable]
        );
    }

    #[test]
    fn a_search_out_of_time_is_a_failure() {
        let mut ops = Vec::new();
        let values: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
        for v in &values {
            ops.push((0, Put, Some(v.as_str()), 0, 5, Unknown));
        }
        for v in &values {
            ops.push((1, ReadLinearizable, Some(v.as_str()), 10, 20, Ok));
        }
        let budget = Budget {
            per_key: Duration::ZERO,
            minimize: Duration::ZERO,
        };
        assert_eq!(
            kinds(&check(&history(&ops), budget)),
            vec![ViolationKind::CheckerTimeout]
        );
    }
}
