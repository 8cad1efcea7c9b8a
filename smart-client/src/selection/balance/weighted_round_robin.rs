//! Smooth weighted round robin, the nginx algorithm
//! ([`BalancePolicy::WeightedRoundRobin`](crate::selection::BalancePolicy::WeightedRoundRobin)).

use std::sync::{Mutex, PoisonError};

use crate::selection::types::{Candidate, NodeId};

/// Current weights of the smooth weighted rotation.
#[derive(Debug, Default)]
pub(super) struct SmoothWeights {
    /// `(node id, current weight)` sorted by id; the mutex is held only for
    /// the few arithmetic steps of one pick, never across an await.
    state: Mutex<Vec<(NodeId, i64)>>,
}

impl SmoothWeights {
    /// Smooth weighted round robin (nginx): each node's current weight grows
    /// by its weight, the largest wins and pays back the total, so weights
    /// 5/1/1 give `a a b a c a a` rather than `a a a a a b c`.
    pub(super) fn pick(&self, candidates: &[Candidate<'_>], window: &[usize]) -> Option<usize> {
        match window {
            [] => return None,
            [only] => return Some(*only).filter(|&i| i < candidates.len()),
            _ => {}
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut total: i64 = 0;
        // (candidate index, state position, current weight) of the best so far.
        let mut best: Option<(usize, usize, i64)> = None;
        // Windows usually come in id order: try the slot after the last one
        // before falling back to a binary search.
        let mut hint = 0;
        for &i in window {
            let Some(c) = candidates.get(i) else { continue };
            let pos = if state.get(hint).is_some_and(|e| e.0 == c.id) {
                hint
            } else {
                match state.binary_search_by_key(&c.id, |e| e.0) {
                    Ok(pos) => pos,
                    Err(pos) => {
                        state.insert(pos, (c.id, 0));
                        if let Some(b) = best.as_mut().filter(|b| b.1 >= pos) {
                            b.1 += 1;
                        }
                        pos
                    }
                }
            };
            hint = pos + 1;
            let w = i64::from(c.weight.max(1));
            state[pos].1 += w;
            total += w;
            if best.is_none_or(|(_, _, cw)| state[pos].1 > cw) {
                best = Some((i, pos, state[pos].1));
            }
        }
        let (i, pos, _) = best?;
        state[pos].1 -= total;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::test_support::*;
    use crate::selection::*;
    use std::collections::HashMap;

    #[test]
    fn weighted_round_robin_is_exact_and_smooth() {
        let mut c = cluster(&NO_LABELS);
        c[0].weight = 5;
        c[1].weight = 1;
        c[2].weight = 0; // treated as 1
        let b = Balancer::new();
        let w = [0, 1, 2];
        let first: Vec<NodeId> = (0..7)
            .map(|_| c[b.weighted_round_robin(&c, &w).unwrap()].id)
            .collect();
        assert_eq!(first, vec![1, 1, 2, 1, 3, 1, 1]);
        let t = tally(
            &c,
            (0..693).map(|_| b.weighted_round_robin(&c, &w).unwrap()),
        );
        assert_eq!(t, HashMap::from([(1, 495), (2, 99), (3, 99)]));
        assert_eq!(b.weighted_round_robin(&c, &[]), None);
        assert_eq!(b.weighted_round_robin(&c, &[2]), Some(2));
    }

    #[test]
    fn weighted_round_robin_handles_any_window_order_and_new_nodes() {
        let mut c = cluster(&NO_LABELS);
        for (x, w) in c.iter_mut().zip([1, 2, 3, 4, 5]) {
            x.weight = w;
        }
        let b = Balancer::new();
        // Reverse id order, so new state entries land before the best one.
        let t = tally(
            &c,
            (0..72).map(|_| b.weighted_round_robin(&c, &[3, 2, 1]).unwrap()),
        );
        assert_eq!(t, HashMap::from([(2, 16), (3, 24), (4, 32)]));
        // Whole cycles leave the state at zero; nodes 1 and 5 join it now.
        let t = tally(
            &c,
            (0..150).map(|_| b.weighted_round_robin(&c, &[4, 2, 0, 3, 1]).unwrap()),
        );
        assert_eq!(
            t,
            HashMap::from([(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)])
        );
    }
}
