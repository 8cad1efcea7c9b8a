//! The retry budget: retries capped to a fraction of recent traffic (plus a
//! small floor) so that retries cannot amplify an overload into a storm.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Number of buckets the budget window is split into.
const SLOTS: usize = 10;
/// Fixed-point scale: a retry costs this much, a request deposits
/// `ratio * SCALE`.
const SCALE: i64 = 1000;

#[derive(Debug)]
struct Slots {
    /// Net deposit of each bucket.
    amount: [i64; SLOTS],
    /// Absolute bucket number each entry currently holds.
    id: [u64; SLOTS],
}

/// Sliding-window retry budget, like tower's `retry::budget::TpsBudget`:
/// each request deposits `retry_ratio`, each retry withdraws 1, and a reserve
/// of `min_per_sec * window` retries is always available. Deposits and
/// withdrawals expire after `window`. `Send + Sync`; the internal mutex is
/// held for a few additions only.
#[derive(Debug)]
pub struct RetryBudget {
    epoch: Instant,
    slot_nanos: u128,
    deposit_amount: i64,
    reserve: i64,
    slots: Mutex<Slots>,
}

impl Default for RetryBudget {
    /// 10 s window, 10 retries per second floor, retries up to 20 % of requests.
    fn default() -> Self {
        Self::new(Duration::from_secs(10), 10, 0.2)
    }
}

impl RetryBudget {
    /// Budget over `window` allowing `min_per_sec` retries per second even
    /// without traffic, plus `retry_ratio` (clamped to 0..=1000) retries per
    /// request deposited within the window.
    #[must_use]
    pub fn new(window: Duration, min_per_sec: u32, retry_ratio: f64) -> Self {
        let ratio = if retry_ratio.is_finite() {
            retry_ratio.clamp(0.0, 1000.0)
        } else {
            0.0
        };
        // Round, so 0.2 deposits exactly 200 and five requests buy one retry.
        #[allow(clippy::cast_possible_truncation)]
        let deposit_amount = (ratio * SCALE as f64).round() as i64;
        let window_secs = window.as_secs_f64();
        #[allow(clippy::cast_possible_truncation)]
        let reserve_retries = (f64::from(min_per_sec) * window_secs).round() as i64;
        Self {
            epoch: Instant::now(),
            slot_nanos: (window.as_nanos() / SLOTS as u128).max(1),
            deposit_amount,
            reserve: reserve_retries.saturating_mul(SCALE),
            slots: Mutex::new(Slots {
                amount: [0; SLOTS],
                id: [0; SLOTS],
            }),
        }
    }

    fn bucket(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(since / self.slot_nanos).unwrap_or(u64::MAX)
    }

    /// Runs `f` on the buckets with the current one zeroed if it is new, and
    /// passes the balance (reserve plus live buckets) in fixed point.
    fn with_slots<T>(&self, now: Instant, f: impl FnOnce(&mut i64, i64) -> T) -> T {
        let cur = self.bucket(now);
        let idx = usize::try_from(cur % SLOTS as u64).unwrap_or(0);
        let mut s = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if s.id[idx] != cur {
            s.id[idx] = cur;
            s.amount[idx] = 0;
        }
        let live: i64 = s
            .amount
            .iter()
            .zip(s.id.iter())
            .filter(|(_, &id)| id <= cur && cur - id < SLOTS as u64)
            .map(|(a, _)| *a)
            .sum();
        f(&mut s.amount[idx], self.reserve.saturating_add(live))
    }

    /// Records one request (first attempt); call it for every request.
    pub fn deposit(&self) {
        self.deposit_at(Instant::now());
    }

    /// [`RetryBudget::deposit`] at an explicit time.
    pub fn deposit_at(&self, now: Instant) {
        let amount = self.deposit_amount;
        self.with_slots(now, |slot, _| *slot = slot.saturating_add(amount));
    }

    /// Takes one retry from the budget; `false` means do not retry.
    pub fn try_withdraw(&self) -> bool {
        self.try_withdraw_at(Instant::now())
    }

    /// [`RetryBudget::try_withdraw`] at an explicit time.
    pub fn try_withdraw_at(&self, now: Instant) -> bool {
        self.with_slots(now, |slot, balance| {
            if balance >= SCALE {
                *slot = slot.saturating_sub(SCALE);
                true
            } else {
                false
            }
        })
    }

    /// Retries currently available (for metrics and tests).
    #[must_use]
    pub fn available(&self) -> u64 {
        self.available_at(Instant::now())
    }

    /// [`RetryBudget::available`] at an explicit time.
    #[must_use]
    pub fn available_at(&self, now: Instant) -> u64 {
        self.with_slots(now, |_, balance| {
            u64::try_from(balance / SCALE).unwrap_or(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::HealthState;
    use tokio::time::advance;

    #[tokio::test(start_paused = true)]
    async fn budget_is_a_fraction_of_traffic_and_expires() {
        // No floor: retries come only from deposits, 1 per 5 requests.
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.2);
        assert!(!budget.try_withdraw());
        for _ in 0..10 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 2);
        assert!(budget.try_withdraw());
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw(), "exhausted after 20 %");
        // New traffic refills it.
        advance(Duration::from_secs(3)).await;
        for _ in 0..5 {
            budget.deposit();
        }
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
        // Everything expires after the window.
        advance(Duration::from_secs(11)).await;
        assert_eq!(budget.available(), 0);
        for _ in 0..5 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_floor_refills_after_the_window() {
        let budget = RetryBudget::default(); // 10 s, 10/s floor, 20 %
        assert_eq!(budget.available(), 100);
        let granted = (0..150).filter(|_| budget.try_withdraw()).count();
        assert_eq!(granted, 100, "floor is min_per_sec * window");
        // Still exhausted half-way through the window...
        advance(Duration::from_secs(5)).await;
        assert!(!budget.try_withdraw());
        // ...and refilled once the withdrawals slid out of it.
        advance(Duration::from_secs(6)).await;
        assert_eq!(budget.available(), 100);
    }

    #[test]
    fn budget_is_shareable() {
        fn check<T: Send + Sync>() {}
        check::<RetryBudget>();
        check::<HealthState>();
        let budget = std::sync::Arc::new(RetryBudget::new(Duration::from_secs(10), 0, 0.5));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = budget.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| b.deposit()))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(budget.available(), 2000);
    }
}
