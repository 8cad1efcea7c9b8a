//! Outlier ejection: a node failing repeatedly is taken out of rotation for
//! an exponentially growing time and re-admitted after a success.

use std::time::Duration;

use tokio::time::Instant;

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
    use tokio::time::advance;

    const MS: Duration = Duration::from_millis(1);

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
