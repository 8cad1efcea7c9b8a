//! The builder that configures and starts a client.

use std::time::Duration;

use crate::client::SmartClient;
use crate::config::ClientConfig;
use crate::error::Result;
use crate::retry::{EjectionPolicy, RetryPolicy};
use crate::selection::{BalancePolicy, ReadPreference, TagSet};

impl SmartClient {
    /// Starts configuring a client.
    #[must_use]
    pub fn builder() -> SmartClientBuilder {
        SmartClientBuilder::new()
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

    /// Whether eventual reads carry the session's index as `min_index`
    /// (default `true`); `false` opts out into plain eventual reads.
    #[must_use]
    pub fn session_consistency(mut self, on: bool) -> Self {
        self.config.session_consistency = on;
        self
    }

    /// Followers whose published applied index lags the leader's commit
    /// index by more than `entries` are not chosen for eventual reads (as
    /// MongoDB's `maxStalenessSeconds`, in log entries). Progress is what
    /// the last `/topology` refresh showed (nodes exchange it every 200 ms).
    /// A follower whose progress is unknown (never reached by the node that
    /// answered the refresh) cannot be shown to be within the bound and is
    /// not chosen either; the leader always is.
    #[must_use]
    pub fn max_staleness(mut self, entries: u64) -> Self {
        self.config.selection.max_staleness = Some(entries);
        self
    }

    /// Followers whose published lag in time (how long ago the leader's
    /// commit index passed their applied index, as the node answering the
    /// topology refresh knew it) exceeds `bound` are not chosen for eventual
    /// reads; unknown lag counts as too stale, the leader always qualifies.
    /// Combines with [`SmartClientBuilder::max_staleness`]: a follower must
    /// pass both. The published lag is as old as the last refresh
    /// (`refresh_interval`), so bounds well above it make sense.
    #[must_use]
    pub fn max_staleness_time(mut self, bound: Duration) -> Self {
        self.config.selection.max_staleness_time = Some(bound);
        self
    }

    /// Period of the background topology poll.
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.config.refresh_interval = interval;
        self
    }

    /// Retry writes after attempts with an unknown outcome (see
    /// [`ClientConfig::retry_unknown_writes`]: only for keys no other writer
    /// touches).
    #[must_use]
    pub fn retry_unknown_writes(mut self, retry: bool) -> Self {
        self.config.retry_unknown_writes = retry;
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
    use crate::error::Error;

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
