//! Capped exponential backoff with jitter between attempts of one request.

use std::time::Duration;

use rand::Rng;

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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

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
}
