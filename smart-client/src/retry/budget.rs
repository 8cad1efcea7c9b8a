//! The retry budget: retries capped to a fraction of recent traffic (plus a
//! small floor) so that retries cannot amplify an overload into a storm.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Number of buckets the budget window is split into.
const SLOTS: usize = 10;
/// Fixed-point scale: a retry costs this much, a request deposits
/// `ratio * SCALE`.
const SCALE: i64 = 1000;
/// Low bits of a bucket word holding the bucket number (modulo 2^24).
const ID_BITS: u32 = 24;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// Bounds of the net deposit held in the remaining 40 bits.
const AMOUNT_MAX: i64 = (1 << (63 - ID_BITS)) - 1;

/// One bucket as one word: the bucket number modulo 2^24 in the low bits and
/// its signed net deposit above them, so that starting a new bucket and
/// adding to it is one compare-and-swap.
fn pack(id: u64, amount: i64) -> u64 {
    #[allow(clippy::cast_sign_loss)]
    let amount = amount.clamp(-AMOUNT_MAX, AMOUNT_MAX) as u64;
    (amount << ID_BITS) | (id & ID_MASK)
}

fn unpack(word: u64) -> (u64, i64) {
    #[allow(clippy::cast_possible_wrap)]
    let amount = (word as i64) >> ID_BITS;
    (word & ID_MASK, amount)
}

/// Sliding-window retry budget, like tower's `retry::budget::TpsBudget`:
/// each request deposits `retry_ratio`, each retry withdraws 1, and a reserve
/// of `min_per_sec * window` retries is always available. Deposits and
/// withdrawals expire after `window`. `Send + Sync` and lock-free: each
/// bucket is one atomic word. Concurrent withdrawals may overdraw by the
/// number of threads racing for the last retry.
#[derive(Debug)]
pub struct RetryBudget {
    epoch: Instant,
    slot_nanos: u128,
    deposit_amount: i64,
    reserve: i64,
    slots: [AtomicU64; SLOTS],
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
            slots: Default::default(),
        }
    }

    fn bucket(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(since / self.slot_nanos).unwrap_or(u64::MAX)
    }

    /// Reserve plus the net deposits of the buckets within the window, in
    /// fixed point.
    fn balance(&self, cur: u64) -> i64 {
        let live: i64 = self
            .slots
            .iter()
            .map(|w| unpack(w.load(Ordering::Acquire)))
            .filter(|(id, _)| (cur.wrapping_sub(*id) & ID_MASK) < SLOTS as u64)
            .map(|(_, amount)| amount)
            .sum();
        self.reserve.saturating_add(live)
    }

    /// Adds `delta` to the current bucket (starting it afresh if it still
    /// holds an older one), if the balance is at least `required` (when set).
    fn add(&self, now: Instant, delta: i64, required: Option<i64>) -> bool {
        let cur = self.bucket(now);
        let idx = usize::try_from(cur % SLOTS as u64).unwrap_or(0);
        let slot = &self.slots[idx];
        let mut word = slot.load(Ordering::Acquire);
        loop {
            if required.is_some_and(|r| self.balance(cur) < r) {
                return false;
            }
            let (id, amount) = unpack(word);
            let base = if id == cur & ID_MASK { amount } else { 0 };
            let next = pack(cur, base.saturating_add(delta));
            match slot.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(seen) => word = seen,
            }
        }
    }

    /// Records one request (first attempt); call it for every request.
    pub fn deposit(&self) {
        self.deposit_at(Instant::now());
    }

    /// [`RetryBudget::deposit`] at an explicit time.
    pub fn deposit_at(&self, now: Instant) {
        self.add(now, self.deposit_amount, None);
    }

    /// Takes one retry from the budget; `false` means do not retry.
    pub fn try_withdraw(&self) -> bool {
        self.try_withdraw_at(Instant::now())
    }

    /// [`RetryBudget::try_withdraw`] at an explicit time.
    pub fn try_withdraw_at(&self, now: Instant) -> bool {
        self.add(now, -SCALE, Some(SCALE))
    }

    /// Retries currently available (for metrics and tests).
    #[must_use]
    pub fn available(&self) -> u64 {
        self.available_at(Instant::now())
    }

    /// [`RetryBudget::available`] at an explicit time.
    #[must_use]
    pub fn available_at(&self, now: Instant) -> u64 {
        u64::try_from(self.balance(self.bucket(now)) / SCALE).unwrap_or(0)
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
