//! Bounded retries and outlier ejection.
//!
//! * [`Backoff`]: capped exponential delay with jitter between attempts.
//! * [`RetryBudget`]: caps retries to a fraction of recent traffic (plus a
//!   small floor) so that retries cannot amplify an overload into a storm.
//! * [`RetryPolicy`]: the named object the client consults before each retry;
//!   it combines an attempt cap, the budget and the backoff.
//! * [`HealthState`]: per-node consecutive-failure counter that ejects a node
//!   for an exponentially growing time and re-admits it after a success.
//!
//! All of it is synchronous and never holds a lock across an await. Time is
//! `tokio::time::Instant`, so tests drive it with `tokio::time::pause()`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// How the backoff delay is randomized (see the AWS "Exponential Backoff And
/// Jitter" analysis): jitter spreads retries of many clients apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Exactly the capped exponential delay (only for tests and debugging).
    None,
    /// Uniform in `[0, delay]`: least contention, may retry immediately.
    #[default]
    Full,
    /// Uniform in `[delay / 2, delay]`: keeps a minimum pause.
    Equal,
}

/// Capped exponential backoff between attempts of one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Ceiling of the delay before the first retry.
    pub base: Duration,
    /// Upper bound of every delay.
    pub max: Duration,
    /// Growth of the ceiling per retry (values below 1 or NaN count as 1).
    pub multiplier: f64,
    /// Randomization applied under the ceiling.
    pub jitter: Jitter,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(20),
            max: Duration::from_secs(1),
            multiplier: 2.0,
            jitter: Jitter::Full,
        }
    }
}

impl Backoff {
    /// Un-jittered delay for retry number `attempt` (0 = first retry):
    /// `min(base * multiplier^attempt, max)`, overflow-safe.
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let multiplier = if self.multiplier >= 1.0 && self.multiplier.is_finite() {
            self.multiplier
        } else {
            1.0
        };
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        let secs = self.base.as_secs_f64() * multiplier.powi(exp);
        match Duration::try_from_secs_f64(secs) {
            Ok(d) => d.min(self.max),
            Err(_) => self.max,
        }
    }

    /// Jittered delay before retry number `attempt` (0 = first retry);
    /// always within `[0, max]`.
    pub fn delay<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => Duration::from_nanos(rng.gen_range(0..=nanos)),
            Jitter::Equal => {
                let half = nanos / 2;
                Duration::from_nanos(half + rng.gen_range(0..=nanos - half))
            }
        }
    }
}

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

/// When a failing node is taken out of rotation, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EjectionPolicy {
    /// Consecutive failures that eject a node (0 counts as 1).
    pub failure_threshold: u32,
    /// Length of the first ejection; doubles per re-ejection.
    pub base: Duration,
    /// Longest ejection.
    pub max: Duration,
}

impl Default for EjectionPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl EjectionPolicy {
    /// Length of ejection number `nth` (1-based): `min(base * 2^(nth-1), max)`.
    #[must_use]
    pub fn ejection_time(&self, nth: u32) -> Duration {
        let factor = 2u32.saturating_pow(nth.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Outlier-detection state of one node, updated after every response.
///
/// After `failure_threshold` consecutive failures the node is ejected until
/// `ejected_until`. When that passes it is due for a probe: it is selectable
/// again, and its next outcome decides — a success re-admits it and resets
/// everything, a failure ejects it again for twice as long (up to `max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthState {
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// End of the current ejection; stays set after it passes (probation)
    /// until a success clears it.
    pub ejected_until: Option<Instant>,
    /// Ejections since the last success; sets the next ejection's length.
    pub ejections: u32,
    /// Thresholds and durations.
    pub policy: EjectionPolicy,
}

impl HealthState {
    /// Healthy node under `policy`.
    #[must_use]
    pub fn new(policy: EjectionPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// Records a successful response: the node is healthy again.
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.ejected_until = None;
        self.ejections = 0;
    }

    /// Records a failed response; returns `true` when this failure ejects
    /// the node (first ejection or a failed probe), so the caller can log it.
    /// Failures of requests still in flight when it was ejected are counted
    /// but do not extend the ejection.
    pub fn on_failure(&mut self, now: Instant) -> bool {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let eject = match self.ejected_until {
            Some(until) => now >= until,
            None => self.consecutive_failures >= self.policy.failure_threshold.max(1),
        };
        if eject {
            self.ejections = self.ejections.saturating_add(1);
            let time = self.policy.ejection_time(self.ejections);
            self.ejected_until = Some(now.checked_add(time).unwrap_or(now));
        }
        eject
    }

    /// True while the node must not be selected (feeds `Candidate::ejected`).
    #[must_use]
    pub fn is_ejected(&self, now: Instant) -> bool {
        self.ejected_until.is_some_and(|until| now < until)
    }

    /// True when an ejection has run out but no success has been seen yet:
    /// the node is selectable again and its next request is the probe.
    #[must_use]
    pub fn due_for_probe(&self, now: Instant) -> bool {
        self.ejected_until.is_some_and(|until| now >= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use tokio::time::advance;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_ceiling_grows_and_caps() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (0..8)
            .map(|a| u64::try_from(b.ceiling(a).as_millis()).unwrap())
            .collect();
        assert_eq!(ceilings, vec![20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), b.max);
        let odd = Backoff {
            multiplier: f64::NAN,
            ..b
        };
        assert_eq!(odd.ceiling(10), b.base);
        let shrinking = Backoff {
            multiplier: 0.5,
            ..b
        };
        assert_eq!(shrinking.ceiling(10), b.base);
        let base_above_max = Backoff {
            base: Duration::from_secs(5),
            ..b
        };
        assert_eq!(base_above_max.ceiling(0), b.max);
    }

    #[test]
    fn backoff_delay_stays_within_bounds() {
        let mut rng = SmallRng::seed_from_u64(11);
        for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
            let b = Backoff {
                jitter,
                ..Backoff::default()
            };
            for attempt in [0, 1, 2, 5, 6, 7, 40, u32::MAX] {
                let ceiling = b.ceiling(attempt);
                let mut lowest = Duration::MAX;
                for _ in 0..500 {
                    let d = b.delay(attempt, &mut rng);
                    assert!(d <= ceiling && d <= b.max, "{jitter:?} {attempt} {d:?}");
                    match jitter {
                        Jitter::None => assert_eq!(d, ceiling),
                        Jitter::Equal => assert!(d >= ceiling / 2),
                        Jitter::Full => {}
                    }
                    lowest = lowest.min(d);
                }
                if jitter == Jitter::Full {
                    // Full jitter really uses the bottom of the range.
                    assert!(lowest < ceiling / 10, "{attempt} {lowest:?}");
                }
            }
        }
    }

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

    #[test]
    fn ejection_time_doubles_and_caps() {
        let p = EjectionPolicy::default();
        let secs: Vec<u64> = (1..=8).map(|n| p.ejection_time(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(p.ejection_time(u32::MAX), p.max);
    }

    #[tokio::test(start_paused = true)]
    async fn ejection_and_readmission_schedule() {
        let mut h = HealthState::new(EjectionPolicy::default());
        let now = Instant::now;
        assert!(!h.on_failure(now()));
        assert!(!h.on_failure(now()));
        assert!(!h.is_ejected(now()));
        // Third consecutive failure ejects for 1 s.
        assert!(h.on_failure(now()));
        assert!(h.is_ejected(now()));
        assert!(!h.due_for_probe(now()));
        // Stragglers do not extend the ejection.
        assert!(!h.on_failure(now()));
        advance(999 * MS).await;
        assert!(h.is_ejected(now()));
        advance(MS).await;
        assert!(!h.is_ejected(now()));
        assert!(h.due_for_probe(now()));
        // Failed probe: ejected again at once, for 2 s.
        assert!(h.on_failure(now()));
        assert_eq!(h.ejections, 2);
        advance(1999 * MS).await;
        assert!(h.is_ejected(now()));
        advance(MS).await;
        assert!(h.due_for_probe(now()));
        // Failed again: 4 s, and so on up to 30 s.
        assert!(h.on_failure(now()));
        assert_eq!(h.ejected_until, Some(now() + Duration::from_secs(4)));
        for _ in 0..10 {
            advance(Duration::from_secs(30)).await;
            assert!(h.on_failure(now()));
        }
        assert_eq!(h.ejected_until, Some(now() + Duration::from_secs(30)));
        // A successful probe re-admits and resets the schedule.
        advance(Duration::from_secs(30)).await;
        h.on_success();
        assert!(!h.is_ejected(now()));
        assert!(!h.due_for_probe(now()));
        assert_eq!(h.consecutive_failures, 0);
        assert!(!h.on_failure(now()));
        assert!(!h.on_failure(now()));
        assert!(h.on_failure(now()));
        assert_eq!(h.ejected_until, Some(now() + Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn success_between_failures_prevents_ejection() {
        let mut h = HealthState::default();
        for _ in 0..10 {
            assert!(!h.on_failure(Instant::now()));
            assert!(!h.on_failure(Instant::now()));
            h.on_success();
        }
        assert!(!h.is_ejected(Instant::now()));
        assert_eq!(h.ejections, 0);
    }
}
