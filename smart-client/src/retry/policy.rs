//! The retry decision: an attempt cap, the shared budget, then the backoff.

use std::time::Duration;

use rand::Rng;

use super::backoff::Backoff;
use super::budget::RetryBudget;

/// The retry decision the client makes after a failed attempt: a hard cap on
/// retries per request, the shared budget, then a backoff delay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries allowed per request on top of the first attempt.
    pub max_retries: u32,
    /// Delay between attempts.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff: Backoff::default(),
        }
    }
}

impl RetryPolicy {
    /// After `retries_done` retries of a request have failed (0 after the
    /// first attempt), returns how long to wait before the next one, or
    /// `None` to give up (retry cap reached or budget exhausted). A `Some`
    /// has already been withdrawn from `budget`.
    pub fn next_delay<R: Rng + ?Sized>(
        &self,
        retries_done: u32,
        budget: &RetryBudget,
        rng: &mut R,
    ) -> Option<Duration> {
        if retries_done >= self.max_retries || !budget.try_withdraw() {
            return None;
        }
        Some(self.backoff.delay(retries_done, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn retry_loop_sleeps_at_most_the_sum_of_ceilings() {
        let policy = RetryPolicy::default();
        let budget = RetryBudget::default();
        let mut rng = SmallRng::seed_from_u64(5);
        let start = Instant::now();
        budget.deposit();
        let mut retries = 0;
        while let Some(delay) = policy.next_delay(retries, &budget, &mut rng) {
            tokio::time::sleep(delay).await;
            retries += 1;
        }
        assert_eq!(retries, policy.max_retries);
        let bound: Duration = (0..policy.max_retries)
            .map(|a| policy.backoff.ceiling(a))
            .sum();
        assert!(start.elapsed() <= bound, "{:?}", start.elapsed());
    }

    #[test]
    fn retry_policy_is_bounded_by_cap_and_budget() {
        let mut rng = SmallRng::seed_from_u64(1);
        let policy = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let rich = RetryBudget::default();
        assert!(policy.next_delay(0, &rich, &mut rng).is_some());
        assert!(policy.next_delay(1, &rich, &mut rng).is_some());
        assert!(policy.next_delay(2, &rich, &mut rng).is_none());
        let broke = RetryBudget::new(Duration::from_secs(10), 0, 0.2);
        assert!(policy.next_delay(0, &broke, &mut rng).is_none());
    }
}
