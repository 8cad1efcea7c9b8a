//! Strict rotation ([`BalancePolicy::RoundRobin`](crate::selection::BalancePolicy::RoundRobin)),
//! and the cursor it shares with least-in-flight tie-breaking.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Rotation counter shared by round robin and least-in-flight ties.
#[derive(Debug, Default)]
pub(super) struct Cursor(AtomicUsize);

impl Cursor {
    /// The current position, advancing the cursor by one.
    pub(super) fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// Strict rotation: the n-th call returns `window[n % len]`.
pub(super) fn round_robin(cursor: &Cursor, window: &[usize]) -> Option<usize> {
    if window.is_empty() {
        return None;
    }
    window.get(cursor.next() % window.len()).copied()
}

#[cfg(test)]
mod tests {
    use crate::selection::test_support::*;
    use crate::selection::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::HashMap;

    #[test]
    fn round_robin_is_exactly_even() {
        let c = cluster(&NO_LABELS);
        let cfg = SelectionConfig {
            read_preference: ReadPreference::Follower,
            policy: BalancePolicy::RoundRobin,
            allow_learner_reads: true,
            ..SelectionConfig::default()
        };
        let b = Balancer::new();
        let mut sel = Selector::new();
        let mut rng = SmallRng::seed_from_u64(7);
        let picks: Vec<usize> = (0..300)
            .map(|_| {
                sel.select(&c, &PickRequest::new(EVENTUAL), &cfg, &b, &mut rng)
                    .unwrap()
            })
            .collect();
        let t = tally(&c, picks.iter().copied());
        assert_eq!(t, HashMap::from([(2, 100), (3, 100), (4, 100)]));
        // Strict rotation, not just the right totals.
        assert!(picks.windows(2).all(|w| w[0] != w[1]));
    }
}
