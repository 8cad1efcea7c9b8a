//! Routing of one attempt: the cached leader for writes and strong reads,
//! the selection pipeline for eventual reads.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Worker;
use crate::node_state::NodeState;
use crate::request::Op;
use crate::selection::{Candidate, NodeId, PickRequest, Role};
use crate::topology::{effective_role, TopologyView};

/// A chosen node for one attempt.
pub(super) struct Target {
    pub(super) id: NodeId,
    pub(super) base: String,
    /// The node's state when selection already holds it (no registry lookup).
    pub(super) state: Option<Arc<NodeState>>,
}

/// Per member of one topology view under one leader: its role, staleness,
/// weight and state handle, computed once per view and leader instead of per
/// request. Only RTT, in-flight count and ejection are read per request.
pub(super) struct Members {
    view: Arc<TopologyView>,
    leader: Option<NodeId>,
    fixed: Vec<Fixed>,
}

struct Fixed {
    role: Role,
    too_stale: bool,
    weight: u32,
    state: Arc<NodeState>,
}

impl Members {
    fn new(worker: &Worker, view: Arc<TopologyView>, leader: Option<NodeId>) -> Self {
        let shared = &*worker.shared;
        let fixed = view
            .members
            .iter()
            .map(|m| {
                let role = if m.api_url.is_some() {
                    effective_role(m.role, m.id, leader)
                } else {
                    Role::Unknown
                };
                let selection = &shared.config.selection;
                Fixed {
                    role,
                    too_stale: role != Role::Leader
                        && (too_stale(selection.max_staleness, view.commit_index, m.applied_index)
                            || too_late(selection.max_staleness_time, m.lag_ms)),
                    weight: m.weight.unwrap_or(1),
                    state: shared.registry.get_or_insert(m.id),
                }
            })
            .collect();
        Self {
            view,
            leader,
            fixed,
        }
    }

    fn is_for(&self, view: &Arc<TopologyView>, leader: Option<NodeId>) -> bool {
        Arc::ptr_eq(&self.view, view) && self.leader == leader
    }
}

impl Worker {
    /// The node for the next attempt: the cached leader for writes and
    /// strong reads, otherwise the selection pipeline.
    pub(super) fn pick(&self, op: Op, path: &str, deprioritized: &[NodeId]) -> Option<Target> {
        let shared = &*self.shared;
        let (_, leader) = shared.cache.leader();
        let operation = op.operation();
        if operation.requires_leader() {
            return self.target_of(leader?);
        }
        let view = shared.cache.members();
        let mut members = self.members.borrow_mut();
        if !members.as_ref().is_some_and(|m| m.is_for(&view, leader)) {
            *members = Some(Members::new(self, view.clone(), leader));
        }
        let members = members.as_ref()?;
        let now = Instant::now();
        let candidates: Vec<Candidate<'_>> = view
            .members
            .iter()
            .zip(&members.fixed)
            .map(|(m, f)| {
                let mut c = Candidate::new(m.id, f.role, &m.labels);
                c.weight = f.weight;
                c.too_stale = f.too_stale;
                c.rtt_ewma = f.state.rtt.get().map(quantize_rtt);
                c.in_flight = f.state.in_flight.load(Ordering::Relaxed);
                c.ejected = f.state.is_ejected(now);
                c
            })
            .collect();
        crate::metrics::staleness_skips(candidates.iter().filter(|c| c.too_stale).count() as u64);
        let req = PickRequest {
            op: operation,
            key: Some(path.as_bytes()),
            deprioritized,
        };
        let idx = {
            let mut selector = self.selector.borrow_mut();
            let mut rng = self.rng.borrow_mut();
            selector.select(
                &candidates,
                &req,
                &shared.config.selection,
                &shared.balancer,
                &mut *rng,
            )
        }?;
        let m = &view.members[idx];
        Some(Target {
            id: m.id,
            base: m.api_url.clone()?,
            state: Some(members.fixed[idx].state.clone()),
        })
    }

    /// Node `id` as a target, if its URL is known.
    pub(super) fn target_of(&self, id: NodeId) -> Option<Target> {
        let view = self.shared.cache.members();
        let base = view.member(id)?.api_url.clone();
        match base {
            Some(base) => Some(Target {
                id,
                base,
                state: None,
            }),
            None => {
                self.shared.refresh.request();
                None
            }
        }
    }
}

/// Whether a member that has applied `applied` lags the leader's `commit` by
/// more than `bound` entries. Under a bound, unknown progress counts as too
/// stale: a follower that the answering node could not reach (paused,
/// partitioned) has no known applied index, and is exactly the one to avoid.
fn too_stale(bound: Option<u64>, commit: Option<u64>, applied: Option<u64>) -> bool {
    match (bound, commit, applied) {
        (None, _, _) => false,
        (Some(bound), Some(commit), Some(applied)) => commit.saturating_sub(applied) > bound,
        (Some(_), _, _) => true,
    }
}

/// Whether a member's published lag in time exceeds `bound`; unknown lag
/// counts as too stale under a bound, as in [`too_stale`].
fn too_late(bound: Option<Duration>, lag_ms: Option<u64>) -> bool {
    match (bound, lag_ms) {
        (None, _) => false,
        (Some(bound), Some(lag)) => u128::from(lag) > bound.as_millis(),
        (Some(_), None) => true,
    }
}

/// Granularity at which balancing compares RTT averages.
const RTT_GRAIN: Duration = Duration::from_millis(5);

/// Rounds an RTT average down to [`RTT_GRAIN`]. Averages are not decayed
/// while a node gets no traffic, so without this a node whose average froze
/// at one unlucky sample would lose every power-of-two comparison against
/// a node that is faster by a few microseconds of noise, and starve. Real
/// latency differences (a loaded or distant node) are milliseconds and still
/// decide, and the latency window still works on the exact averages' scale.
fn quantize_rtt(rtt: Duration) -> Duration {
    let grain = RTT_GRAIN.as_nanos();
    let q = rtt.as_nanos() / grain * grain;
    Duration::from_nanos(u64::try_from(q).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_bound() {
        assert!(!too_stale(None, Some(100), Some(0)));
        assert!(!too_stale(Some(10), Some(100), Some(90)));
        assert!(too_stale(Some(10), Some(100), Some(89)));
        assert!(!too_stale(Some(0), Some(100), Some(120)));
        assert!(too_stale(Some(10), None, Some(0)));
        assert!(too_stale(Some(10), Some(100), None));
        assert!(!too_stale(None, None, None));
    }

    #[test]
    fn staleness_bound_in_time() {
        let bound = Some(Duration::from_millis(500));
        assert!(!too_late(None, None));
        assert!(!too_late(None, Some(60_000)));
        assert!(!too_late(bound, Some(0)));
        assert!(!too_late(bound, Some(500)));
        assert!(too_late(bound, Some(501)));
        assert!(
            too_late(bound, None),
            "unknown lag is too stale under a bound"
        );
    }

    #[test]
    fn rtt_is_quantized() {
        assert_eq!(quantize_rtt(Duration::from_micros(4900)), Duration::ZERO);
        assert_eq!(
            quantize_rtt(Duration::from_millis(12)),
            Duration::from_millis(10)
        );
    }
}
