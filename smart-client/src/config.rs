//! Client configuration and its validation (the builder is in `builder`).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::retry::{Backoff, EjectionPolicy, Jitter, RetryPolicy};
use crate::selection::SelectionConfig;

/// Everything that shapes a [`SmartClient`](crate::SmartClient); see the field
/// docs for defaults.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URLs used to bootstrap (any subset of the cluster is enough).
    pub seeds: Vec<String>,
    /// Deadline of one call, retries included (default 5 s).
    pub request_timeout: Duration,
    /// Longest single attempt (default 1 s): a paused node must not eat the
    /// whole deadline, there has to be time left to retry elsewhere.
    pub attempt_timeout: Duration,
    /// Read preference, tag sets, latency window and balancing policy.
    pub selection: SelectionConfig,
    /// Retry cap and backoff. The default allows many short retries because
    /// the request deadline, not the count, is the real bound: an election
    /// takes a second or two and a write should ride it out.
    pub retry_policy: RetryPolicy,
    /// When a failing node is ejected (default: after 3 failures, for 0.5 s
    /// doubling up to 5 s, so a restarted node is back within seconds).
    pub ejection: EjectionPolicy,
    /// Period of the background `/topology` poll (default 150 ms; see
    /// [`crate::refresher`] for why that is cheap enough).
    pub refresh_interval: Duration,
    /// Period of the prober that re-admits ejected nodes (default 100 ms).
    pub probe_interval: Duration,
    /// Connection pool limit of the HTTP client (default 512).
    pub max_connections: usize,
    /// Whether eventual reads carry the session's index as `min_index`
    /// (default `true`: read-your-writes and monotonic reads). `false` gives
    /// plain eventual reads that may lag behind the session's own writes.
    pub session_consistency: bool,
    /// Retry a put or delete even after an attempt whose outcome is unknown
    /// (default false: such a call ends with `Error::Timeout`). A retried
    /// write may be applied twice; that is harmless only when no other
    /// writer can write the same key in between (e.g. one key per write),
    /// and otherwise breaks linearizability.
    pub retry_unknown_writes: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            request_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(1),
            selection: SelectionConfig::default(),
            retry_policy: RetryPolicy {
                max_retries: 50,
                backoff: Backoff {
                    base: Duration::from_millis(10),
                    max: Duration::from_millis(200),
                    multiplier: 2.0,
                    jitter: Jitter::Equal,
                },
            },
            ejection: EjectionPolicy {
                failure_threshold: 3,
                base: Duration::from_millis(500),
                max: Duration::from_secs(5),
            },
            refresh_interval: Duration::from_millis(150),
            probe_interval: Duration::from_millis(100),
            max_connections: 512,
            session_consistency: true,
            retry_unknown_writes: false,
        }
    }
}

impl ClientConfig {
    /// Checks the configuration; every problem is an [`Error::Config`].
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.to_owned()));
        if self.seeds.is_empty() {
            return bad("at least one seed URL is required");
        }
        if let Some(s) = self.seeds.iter().find(|s| !s.starts_with("http://")) {
            return Err(Error::Config(format!("seed {s:?} is not an http:// URL")));
        }
        if self.request_timeout.is_zero() || self.attempt_timeout.is_zero() {
            return bad("timeouts must be positive");
        }
        if self.refresh_interval.is_zero() || self.probe_interval.is_zero() {
            return bad("refresh and probe intervals must be positive");
        }
        if self.max_connections == 0 {
            return bad("max_connections must be positive");
        }
        Ok(())
    }
}
