//! Client configuration, its validation, and the builder that starts a client.

use std::time::Duration;

use crate::client::SmartClient;
use crate::error::{Error, Result};
use crate::retry::{Backoff, EjectionPolicy, Jitter, RetryPolicy};
use crate::selection::{BalancePolicy, ReadPreference, SelectionConfig, TagSet};

/// Everything that shapes a [`SmartClient`]; see the field docs for defaults.
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

/// Fluent construction of a [`SmartClient`]; finish with [`Self::build`].
#[derive(Clone, Debug, Default)]
pub struct SmartClientBuilder {
    config: ClientConfig,
}

impl SmartClientBuilder {
    /// Builder with [`ClientConfig::default`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder starting from an explicit configuration.
    #[must_use]
    pub fn from_config(config: ClientConfig) -> Self {
        Self { config }
    }

    /// Seed URLs for bootstrap (e.g. `http://127.0.0.1:8081`).
    #[must_use]
    pub fn seeds<I, S>(mut self, seeds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.seeds = seeds
            .into_iter()
            .map(|s| s.into().trim_end_matches('/').to_owned())
            .collect();
        self
    }

    /// Deadline of one call, retries included.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Longest single attempt inside the deadline.
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.config.attempt_timeout = timeout;
        self
    }

    /// Where eventual reads go.
    #[must_use]
    pub fn read_preference(mut self, pref: ReadPreference) -> Self {
        self.config.selection.read_preference = pref;
        self
    }

    /// Label filters for eventual reads, tried in order.
    #[must_use]
    pub fn tag_sets(mut self, tag_sets: Vec<TagSet>) -> Self {
        self.config.selection.tag_sets = tag_sets;
        self
    }

    /// Latency window around the fastest eligible node.
    #[must_use]
    pub fn latency_window(mut self, window: Duration) -> Self {
        self.config.selection.latency_window = window;
        self
    }

    /// Balancing policy inside the latency window.
    #[must_use]
    pub fn balance_policy(mut self, policy: BalancePolicy) -> Self {
        self.config.selection.policy = policy;
        self
    }

    /// Retry cap and backoff.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.retry_policy = policy;
        self
    }

    /// Outlier ejection thresholds.
    #[must_use]
    pub fn ejection_policy(mut self, policy: EjectionPolicy) -> Self {
        self.config.ejection = policy;
        self
    }

    /// Period of the background topology poll.
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.config.refresh_interval = interval;
        self
    }

    /// The configuration built so far.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Validates the configuration, starts the client's I/O thread and
    /// fetches the topology from the first seed that answers.
    pub async fn build(self) -> Result<SmartClient> {
        self.config.validate()?;
        SmartClient::start(self.config).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(matches!(
            ClientConfig::default().validate(),
            Err(Error::Config(_))
        ));
        let b = SmartClientBuilder::new().seeds(["http://127.0.0.1:8081/"]);
        assert_eq!(b.config().seeds, ["http://127.0.0.1:8081"]);
        assert!(b.config().validate().is_ok());
        let b = b.request_timeout(Duration::ZERO);
        assert!(b.config().validate().is_err());
        let b = SmartClientBuilder::new().seeds(["127.0.0.1:8081"]);
        assert!(b.config().validate().is_err());
    }
}
