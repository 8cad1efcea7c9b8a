//! Step 3 of selection: one node of the latency window, by
//! [`BalancePolicy`]. Each policy lives in its own file; [`Balancer`] holds
//! the state the stateful ones share.

mod key_hash;
mod least_in_flight;
mod p2c;
mod round_robin;
mod sticky;
mod weighted_round_robin;

pub use key_hash::{hash_key, key_hash};
pub use p2c::p2c;

use rand::Rng;

use super::types::{BalancePolicy, Candidate};
use round_robin::Cursor;
use sticky::Stuck;
use weighted_round_robin::SmoothWeights;

/// Shared, `Send + Sync` state of the stateful policies: the round-robin
/// cursor, the smooth-WRR current weights and the sticky node. Keep one per
/// client.
#[derive(Debug, Default)]
pub struct Balancer {
    cursor: Cursor,
    smooth: SmoothWeights,
    stuck: Stuck,
}

impl Balancer {
    /// Fresh balancer: cursor at zero, no weighted state.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Picks one index of `window` (indices into `candidates`) by `policy`;
    /// `None` only when `window` is empty. `rng` feeds power of two choices.
    pub fn pick<R: Rng + ?Sized>(
        &self,
        policy: BalancePolicy,
        candidates: &[Candidate<'_>],
        window: &[usize],
        key: Option<&[u8]>,
        rng: &mut R,
    ) -> Option<usize> {
        match policy {
            BalancePolicy::RoundRobin => self.round_robin(window),
            BalancePolicy::WeightedRoundRobin => self.weighted_round_robin(candidates, window),
            BalancePolicy::LeastInFlight => self.least_in_flight(candidates, window),
            BalancePolicy::P2cEwma => p2c(candidates, window, rng),
            BalancePolicy::KeyHash => match key {
                Some(key) => key_hash(candidates, window, key),
                None => p2c(candidates, window, rng),
            },
            BalancePolicy::Sticky => self.sticky(candidates, window, window),
        }
    }

    /// The node this client stuck to if it is in `suitable`, else a
    /// round-robin pick from `window` that it then sticks to.
    pub fn sticky(
        &self,
        candidates: &[Candidate<'_>],
        suitable: &[usize],
        window: &[usize],
    ) -> Option<usize> {
        sticky::sticky(&self.stuck, &self.cursor, candidates, suitable, window)
    }

    /// Strict rotation: the n-th call returns `window[n % len]`.
    pub fn round_robin(&self, window: &[usize]) -> Option<usize> {
        round_robin::round_robin(&self.cursor, window)
    }

    /// Fewest in-flight requests; ties are rotated with the shared cursor.
    pub fn least_in_flight(&self, candidates: &[Candidate<'_>], window: &[usize]) -> Option<usize> {
        least_in_flight::least_in_flight(&self.cursor, candidates, window)
    }

    /// Smooth weighted round robin (nginx): each node's current weight grows
    /// by its weight, the largest wins and pays back the total, so weights
    /// 5/1/1 give `a a b a c a a` rather than `a a a a a b c`.
    pub fn weighted_round_robin(
        &self,
        candidates: &[Candidate<'_>],
        window: &[usize],
    ) -> Option<usize> {
        self.smooth.pick(candidates, window)
    }
}
