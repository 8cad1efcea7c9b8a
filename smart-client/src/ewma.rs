//! Round-trip-time smoothing.
//!
//! The client keeps one exponentially weighted moving average (EWMA) of the
//! round-trip time per node and uses it to compute the latency window and to
//! break ties in power-of-two-choices. The smoothing factor is 0.2, the value
//! the MongoDB server-selection specification pins down: the first sample sets
//! the average, every later one moves it by `0.2 * (sample - average)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Weight of a new sample in the running average (MongoDB spec value).
pub const ALPHA: f64 = 0.2;

/// Bit pattern meaning "no sample yet"; it is a NaN that `f64::to_bits` of a
/// real average (always finite and non-negative) never produces.
const EMPTY: u64 = u64::MAX;

/// Next average from the previous one (`None` before the first sample), in any
/// unit: the formula [`AtomicEwma`] applies.
#[must_use]
pub fn next_average(previous: Option<f64>, sample: f64) -> f64 {
    match previous {
        None => sample,
        Some(old) => ALPHA * sample + (1.0 - ALPHA) * old,
    }
}

/// Lock-free RTT average (f64 bits in an `AtomicU64`), for node state shared
/// through a `DashMap` or `Arc` and updated from many tasks at once.
#[derive(Debug)]
pub struct AtomicEwma {
    bits: AtomicU64,
}

impl Default for AtomicEwma {
    fn default() -> Self {
        Self::new()
    }
}

impl AtomicEwma {
    /// Empty average: no sample observed yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            bits: AtomicU64::new(EMPTY),
        }
    }

    /// Average that starts from a known value (e.g. restored state or a test).
    #[must_use]
    pub fn with_initial(initial: Duration) -> Self {
        Self {
            bits: AtomicU64::new(initial.as_secs_f64().to_bits()),
        }
    }

    /// Folds one RTT sample into the average (CAS loop, so concurrent samples
    /// are never lost) and returns the new average.
    pub fn observe(&self, sample: Duration) -> Duration {
        let sample = sample.as_secs_f64();
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            let next = next_average(decode(current), sample);
            match self.bits.compare_exchange_weak(
                current,
                next.to_bits(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return secs_to_duration(next),
                Err(actual) => current = actual,
            }
        }
    }

    /// Current average, `None` before the first sample.
    #[must_use]
    pub fn get(&self) -> Option<Duration> {
        decode(self.bits.load(Ordering::Relaxed)).map(secs_to_duration)
    }

    /// Forgets every sample (e.g. when a node is replaced at the same address).
    pub fn reset(&self) {
        self.bits.store(EMPTY, Ordering::Relaxed);
    }
}

fn decode(bits: u64) -> Option<f64> {
    (bits != EMPTY).then(|| f64::from_bits(bits))
}

/// Converts without panicking: averages of `Duration`s are finite and
/// non-negative, but a corrupt value must not take the client down.
fn secs_to_duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1000.0)
    }

    #[test]
    fn first_sample_sets_value_then_alpha_point_two() {
        let e = AtomicEwma::new();
        assert_eq!(e.get(), None);
        e.observe(ms(10.0));
        assert!((e.get().unwrap().as_secs_f64() * 1000.0 - 10.0).abs() < 1e-9);
        e.observe(ms(20.0));
        // 0.2 * 20 + 0.8 * 10 = 12
        assert!((e.get().unwrap().as_secs_f64() * 1000.0 - 12.0).abs() < 1e-9);
        e.reset();
        assert_eq!(e.get(), None);
    }

    #[test]
    fn atomic_follows_next_average() {
        let mut p: Option<f64> = None;
        let a = AtomicEwma::new();
        for s in [3.0, 36.0, 1.0, 1000.0, 0.25] {
            let next = next_average(p, ms(s).as_secs_f64());
            p = Some(next);
            assert_eq!(secs_to_duration(next), a.observe(ms(s)));
        }
        assert_eq!(p.map(secs_to_duration), a.get());
    }

    #[test]
    fn concurrent_observers_do_not_lose_the_value() {
        let e = std::sync::Arc::new(AtomicEwma::with_initial(ms(5.0)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let e = e.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        e.observe(ms(5.0));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let v = e.get().unwrap().as_secs_f64() * 1000.0;
        assert!((v - 5.0).abs() < 1e-6, "{v}");
    }
}
