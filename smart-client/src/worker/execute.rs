//! One call's retry loop: pick, attempt, learn from the answer, retry within
//! the deadline and budget, and map the last failure to an [`Error`].

use bytes::Bytes;
use tokio::time::Instant;
use tracing::Instrument;

use super::Worker;
use crate::error::{AttemptError, Error, Result};
use crate::request::{Answer, Idempotency, Op};
use crate::selection::NodeId;
use crate::stats::Counters;

impl Worker {
    /// Runs one call: pick, attempt, learn from the answer, retry within the
    /// deadline and budget, and map the last failure to an [`Error`].
    pub(super) async fn execute(&self, op: Op, path: &str, body: Option<Bytes>) -> Result<Answer> {
        let shared = &*self.shared;
        let cfg = &shared.config;
        let deadline = Instant::now() + cfg.request_timeout;
        let needs_leader = op.operation().requires_leader();
        Counters::bump(&shared.counters.requests);
        shared.budget.deposit();
        let mut deprioritized: Vec<NodeId> = Vec::new();
        let mut redirect: Option<NodeId> = None;
        // Nodes that answered `min_index_not_reached` to this call.
        let mut behind: Vec<NodeId> = Vec::new();
        let mut last: Option<AttemptError>;
        // Whether some attempt may have taken effect: then a write's final
        // error must say "unknown", whatever the last attempt ran into.
        let mut maybe_applied = false;
        let mut retries = 0u32;
        loop {
            let target = match redirect.take() {
                Some(id) => self.target_of(id),
                None => match self.pick(op, path, &deprioritized) {
                    // Every other choice is behind too: the leader has applied
                    // every index it acknowledged, so it can serve the read.
                    Some(t) if behind.contains(&t.id) => {
                        shared.cache.leader().1.and_then(|l| self.target_of(l))
                    }
                    t => t,
                },
            };
            let last_target = target.as_ref().map(|t| t.id);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = match target {
                None => {
                    shared.refresh.request();
                    Err(if needs_leader {
                        AttemptError::NoLeader
                    } else {
                        AttemptError::Connect("no selectable node".into())
                    })
                }
                Some(t) => {
                    let timeout = remaining.min(cfg.attempt_timeout);
                    let span = tracing::debug_span!("attempt", node = t.id, attempt = retries);
                    self.attempt(op, &t, path, body.clone(), timeout)
                        .instrument(span)
                        .await
                        .map_err(|e| (t.id, e))
                        .map_err(|(id, e)| {
                            if e.is_node_failure() && !deprioritized.contains(&id) {
                                deprioritized.push(id);
                            }
                            e
                        })
                }
            };
            let err = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            tracing::debug!(error = %err, "attempt failed");
            maybe_applied |= err.outcome_unknown();
            if err.outcome_unknown()
                && op.idempotency(cfg.retry_unknown_writes) == Idempotency::NotIdempotent
            {
                // Sending it again could apply it twice.
                return Err(Error::Timeout);
            }
            match &err {
                AttemptError::Rejected { code, message } => {
                    return Err(Error::BadRequest {
                        code: code.clone(),
                        message: message.clone(),
                    })
                }
                // Retrying before space is freed only fails again. (After an
                // attempt whose outcome is unknown, that stays the answer.)
                AttemptError::StorageFull(message) => {
                    return Err(if maybe_applied {
                        Error::Timeout
                    } else {
                        Error::StorageFull {
                            message: message.clone(),
                        }
                    })
                }
                AttemptError::NotLeader(Some(hint)) => redirect = Some(*hint),
                AttemptError::Behind => {
                    crate::metrics::min_index_not_reached();
                    if let Some(id) = last_target {
                        behind.push(id);
                        if !deprioritized.contains(&id) {
                            deprioritized.push(id);
                        }
                    }
                }
                e if e.is_node_failure() || e.is_leaderless() => shared.refresh.request(),
                _ => {}
            }
            last = Some(err);
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let delay = {
                let mut rng = self.rng.borrow_mut();
                if waits_for_leader(needs_leader, last.as_ref()) {
                    // Nothing reached a leader: the call waits for one (below,
                    // woken by a leader change) instead of spending the retry
                    // budget, which a leader crash under load would drain in
                    // a fraction of the election and fail the calls that
                    // arrived during it. The deadline still bounds the wait.
                    Some(cfg.retry_policy.backoff.delay(retries, &mut *rng))
                } else {
                    cfg.retry_policy
                        .next_delay(retries, &shared.budget, &mut *rng)
                }
            };
            let Some(delay) = delay else { break };
            retries += 1;
            Counters::bump(&shared.counters.retries);
            crate::metrics::retry();
            // A redirect, or a node behind the session: go elsewhere at once.
            if redirect.is_some() || matches!(last, Some(AttemptError::Behind)) {
                continue;
            }
            let wait = delay.min(deadline - now);
            // A call waiting for a leader wakes up as soon as one is known.
            let leader_changed = shared.leader_changed.notified();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = leader_changed, if needs_leader => {}
            }
        }
        let write = matches!(op, Op::Put | Op::Delete | Op::Cas);
        Err(final_error(
            needs_leader,
            write && maybe_applied,
            last,
            shared.cache.leader().1,
        ))
    }
}

/// Whether a failed attempt of a leader-bound call only shows that there is
/// no reachable leader right now: the cached leader refused the connection
/// (crashed: nothing was delivered) or the cluster answered that it has none.
/// Retrying such a call adds no load to a live leader, so it does not draw
/// on the retry budget (the deadline and the backoff still bound it).
fn waits_for_leader(needs_leader: bool, last: Option<&AttemptError>) -> bool {
    needs_leader && last.is_some_and(|e| matches!(e, AttemptError::Connect(_)) || e.is_leaderless())
}

/// The error a call surfaces once it ran out of time or retries.
/// `maybe_applied`: a write had an attempt whose outcome is unknown, so
/// whatever the later attempts ran into, it may have been applied.
fn final_error(
    needs_leader: bool,
    maybe_applied: bool,
    last: Option<AttemptError>,
    leader: Option<NodeId>,
) -> Error {
    match last {
        _ if maybe_applied => Error::Timeout,
        None => Error::Unavailable {
            last_error: "deadline passed before any attempt".into(),
        },
        Some(e) if needs_leader && (e.is_leaderless() || leader.is_none()) => Error::NoLeader,
        Some(e) if needs_leader && e.outcome_unknown() => Error::Timeout,
        Some(e) => Error::Unavailable {
            last_error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaderless_retries_wait_outside_the_budget() {
        let refused = AttemptError::Connect("refused".into());
        assert!(waits_for_leader(true, Some(&refused)));
        assert!(waits_for_leader(true, Some(&AttemptError::NoLeader)));
        assert!(waits_for_leader(
            true,
            Some(&AttemptError::LeaderUnreachable)
        ));
        // Eventual reads go elsewhere; delivered-but-failed attempts cost the leader.
        assert!(!waits_for_leader(false, Some(&refused)));
        assert!(!waits_for_leader(true, Some(&AttemptError::TimedOut)));
        assert!(!waits_for_leader(true, Some(&AttemptError::ServerTimeout)));
        assert!(!waits_for_leader(true, None));
    }

    #[test]
    fn final_errors() {
        assert_eq!(
            final_error(true, false, Some(AttemptError::NoLeader), Some(1)),
            Error::NoLeader
        );
        assert_eq!(
            final_error(true, false, Some(AttemptError::Connect("x".into())), None),
            Error::NoLeader
        );
        assert_eq!(
            final_error(true, false, Some(AttemptError::TimedOut), Some(1)),
            Error::Timeout
        );
        // A write timed out on the old leader, then met "no leader": it may
        // have been applied, so it is not reported as `NoLeader`.
        assert_eq!(
            final_error(true, true, Some(AttemptError::NoLeader), None),
            Error::Timeout
        );
        assert!(matches!(
            final_error(false, false, Some(AttemptError::Connect("refused".into())), Some(1)),
            Error::Unavailable { last_error } if last_error.contains("refused")
        ));
    }
}
