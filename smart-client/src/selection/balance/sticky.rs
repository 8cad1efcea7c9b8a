//! Sticky ([`BalancePolicy::Sticky`](crate::selection::BalancePolicy::Sticky)):
//! a client keeps the node it chose while that node stays suitable, and
//! chooses anew, by round robin over the latency window, once it fails a
//! request, is ejected or stops being suitable.

use std::sync::atomic::{AtomicU32, Ordering};

use super::round_robin::{round_robin, Cursor};
use crate::selection::types::Candidate;

/// The node a client sticks to: its id + 1, 0 before the first choice.
#[derive(Debug, Default)]
pub(super) struct Stuck(AtomicU32);

/// The stuck node if it is in `suitable`, else a round-robin pick from
/// `window` that becomes the stuck node.
pub(super) fn sticky(
    stuck: &Stuck,
    cursor: &Cursor,
    candidates: &[Candidate<'_>],
    suitable: &[usize],
    window: &[usize],
) -> Option<usize> {
    let current = stuck.0.load(Ordering::Relaxed);
    if let Some(&i) = suitable
        .iter()
        .find(|&&i| current != 0 && candidates[i].id == current - 1)
    {
        return Some(i);
    }
    let i = round_robin(cursor, window)?;
    stuck.0.store(candidates[i].id + 1, Ordering::Relaxed);
    Some(i)
}

#[cfg(test)]
mod tests {
    use crate::selection::test_support::*;
    use crate::selection::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn sticks_until_the_node_fails_then_sticks_to_the_next() {
        let mut c = cluster(&NO_LABELS);
        let cfg = SelectionConfig {
            read_preference: ReadPreference::Follower,
            policy: BalancePolicy::Sticky,
            allow_learner_reads: true,
            ..SelectionConfig::default()
        };
        let b = Balancer::new();
        let mut sel = Selector::new();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut pick = |c: &[Candidate<'_>], deprioritized: &[NodeId]| {
            let req = PickRequest {
                deprioritized,
                ..PickRequest::new(EVENTUAL)
            };
            let i = sel.select(c, &req, &cfg, &b, &mut rng).unwrap();
            c[i].id
        };
        let first = pick(&c, &[]);
        assert!((0..50).all(|_| pick(&c, &[]) == first), "stays on {first}");
        // It fails one request: that request goes elsewhere, and so do the next.
        let second = pick(&c, &[first]);
        assert_ne!(second, first);
        assert!((0..50).all(|_| pick(&c, &[]) == second));
        // Ejected: move again.
        c.iter_mut().find(|n| n.id == second).unwrap().ejected = true;
        let third = pick(&c, &[]);
        assert!(third != second);
        assert!((0..50).all(|_| pick(&c, &[]) == third));
    }
}
