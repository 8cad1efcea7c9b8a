//! Per-client (or per-request) selection settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::types::{BalancePolicy, ReadPreference, TagSet};

/// Default latency window (MongoDB's `localThresholdMS`).
pub const DEFAULT_LATENCY_WINDOW: Duration = Duration::from_millis(15);

/// Everything that shapes selection and is fixed per client (or per request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelectionConfig {
    /// Where eventual reads may go.
    pub read_preference: ReadPreference,
    /// Label filters, tried in order; the first set matching any eligible
    /// node wins. An empty list, or an empty set, matches every node.
    pub tag_sets: Vec<TagSet>,
    /// Nodes slower than the fastest suitable node by more than this are not
    /// used (serialized as `latency_window_ms`).
    #[serde(rename = "latency_window_ms", with = "duration_ms")]
    pub latency_window: Duration,
    /// How the node is picked inside the latency window.
    pub policy: BalancePolicy,
    /// Whether learners count as followers for eventual reads.
    pub allow_learner_reads: bool,
    /// Largest replication lag, in log entries, of a follower that may serve
    /// eventual reads (its published `applied_index` behind the leader's
    /// `commit_index`); `None` (default) accepts any lag. The leader is never
    /// too stale; a member whose progress is unknown is not excluded.
    pub max_staleness: Option<u64>,
    /// Largest replication lag, in time, of a follower that may serve
    /// eventual reads: how long ago the leader's commit index passed the
    /// follower's published `applied_index`, as the node that answered the
    /// client's last topology refresh knew it (serialized as
    /// `max_staleness_ms`). Under a bound, a member whose lag is unknown is
    /// not chosen; the leader always may be.
    #[serde(rename = "max_staleness_ms", with = "option_duration_ms")]
    pub max_staleness_time: Option<Duration>,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            read_preference: ReadPreference::default(),
            tag_sets: Vec::new(),
            latency_window: DEFAULT_LATENCY_WINDOW,
            policy: BalancePolicy::default(),
            allow_learner_reads: false,
            max_staleness: None,
            max_staleness_time: None,
        }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

mod option_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration_ms::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_serde_round_trip() {
        let cfg: SelectionConfig = serde_json::from_str(
            r#"{"read_preference":"nearest","policy":"key_hash","latency_window_ms":20,
                "tag_sets":[{"zone":"a"}]}"#,
        )
        .unwrap();
        assert_eq!(cfg.read_preference, ReadPreference::Nearest);
        assert_eq!(cfg.policy, BalancePolicy::KeyHash);
        assert_eq!(cfg.latency_window, Duration::from_millis(20));
        assert!(!cfg.allow_learner_reads);
        let back: SelectionConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        let d: SelectionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(d, SelectionConfig::default());
        assert_eq!(d.policy, BalancePolicy::P2cEwma);
        assert_eq!(d.read_preference, ReadPreference::FollowerPreferred);
        assert_eq!(d.max_staleness_time, None);
        let timed: SelectionConfig = serde_json::from_str(r#"{"max_staleness_ms":250}"#).unwrap();
        assert_eq!(timed.max_staleness_time, Some(Duration::from_millis(250)));
        let back: SelectionConfig =
            serde_json::from_str(&serde_json::to_string(&timed).unwrap()).unwrap();
        assert_eq!(back, timed);
    }
}
