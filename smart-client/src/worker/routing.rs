//! Routing of one attempt: the cached leader for writes and strong reads,
//! the selection pipeline for eventual reads.

use std::time::Duration;

use tokio::time::Instant;

use super::Worker;
use crate::request::Op;
use crate::selection::{Candidate, NodeId, PickRequest, Role};
use crate::topology::effective_role;

/// A chosen node for one attempt.
pub(super) struct Target {
    pub(super) id: NodeId,
    pub(super) base: String,
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
        let now = Instant::now();
        let candidates: Vec<Candidate<'_>> = view
            .members
            .iter()
            .map(|m| {
                let role = if m.api_url.is_some() {
                    effective_role(m.role, m.id, leader)
                } else {
                    Role::Unknown
                };
                let mut c = Candidate::new(m.id, role, &m.labels);
                c.weight = m.weight.unwrap_or(1);
                c.too_stale = role != Role::Leader
                    && too_stale(
                        shared.config.selection.max_staleness,
                        view.commit_index,
                        m.applied_index,
                    );
                if let Some(s) = shared.registry.get(m.id) {
                    c.rtt_ewma = s.rtt.get().map(quantize_rtt);
                    c.in_flight = s.in_flight.load(std::sync::atomic::Ordering::Relaxed);
                    c.ejected = s.is_ejected(now);
                }
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
        })
    }

    /// Node `id` as a target, if its URL is known.
    pub(super) fn target_of(&self, id: NodeId) -> Option<Target> {
        let view = self.shared.cache.members();
        let base = view.member(id)?.api_url.clone();
        match base {
            Some(base) => Some(Target { id, base }),
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
    fn rtt_is_quantized() {
        assert_eq!(quantize_rtt(Duration::from_micros(4900)), Duration::ZERO);
        assert_eq!(
            quantize_rtt(Duration::from_millis(12)),
            Duration::from_millis(10)
        );
    }
}
