//! The body of every error answer: `{"error":"<snake_case_code>","message":"…"}`,
//! plus `leader_id` on `not_leader` and `"outcome":"unknown"` on `timeout`.

use serde::{Deserialize, Deserializer, Serialize};

/// Error code of a 503 answer to an eventual read with `min_index=N` when the
/// serving node's applied index stayed below `N` for the node's bounded wait
/// (`node.min_index_wait_ms`). Retryable on another node: the leader has
/// applied every index it acknowledged a write with. The answer carries
/// [`crate::headers::APPLIED_INDEX`] too.
pub const MIN_INDEX_NOT_REACHED: &str = "min_index_not_reached";

/// Error code of the 503 a node answers once it has been removed from the
/// cluster (`POST /admin/remove`): it serves no data, no health check and no
/// topology any more; clients go to the members.
pub const REMOVED: &str = "removed";

/// Error code of the 507 a node answers to a write while its disk is full
/// (appending to its Raft log failed with "no space left"). Nothing was
/// written; reads go on; the node accepts writes again by itself once space
/// is freed. Retrying the same write before then only fails again.
pub const STORAGE_FULL: &str = "storage_full";

/// Error code of the 503 a node answers once a fsync or write of its storage
/// failed: it stops acknowledging writes (data it had written since its last
/// good fsync may be gone) until restarted on a working disk. `outcome`
/// says whether a write answered with it may have been applied (`unknown`:
/// it was proposed before the failure) or not (`not_applied`).
pub const STORAGE_FAILED: &str = "storage_failed";

/// The JSON body of every error answer (any 4xx or 5xx from a node).
///
/// Fields are declared in the order the node has always sent them (sorted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable snake_case reason, e.g. `invalid_json`, `no_leader` (README lists them all).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: String,
    /// Only on `not_leader`: `Some(Some(id))` names the leader this node
    /// knows, `Some(None)` (JSON `null`) says it knows none; `None` (absent)
    /// on every other error.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub leader_id: Option<Option<u32>>,
    /// Human-readable detail.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub message: String,
    /// On `timeout` and `outcome_unknown`: whether the request took effect is
    /// unknown; on `storage_failed` and `storage_full`: which of the two it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// What is known about a request's effect when the answer is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The write may or may not have been applied.
    Unknown,
    /// The write was refused before it was proposed: it was not applied.
    NotApplied,
}

impl ErrorBody {
    /// A body with `error` and `message` only.
    #[must_use]
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
            ..Self::default()
        }
    }

    /// The leader a `not_leader` answer names, if any.
    #[must_use]
    pub fn leader_hint(&self) -> Option<u32> {
        self.leader_id.flatten()
    }
}

/// A field that is present decodes as `Some`, also when it is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_byte_for_byte() {
        for text in [
            r#"{"error":"invalid_json","message":"malformed JSON"}"#,
            r#"{"error":"not_leader","leader_id":3,"message":"this node is not the leader"}"#,
            r#"{"error":"not_leader","leader_id":null,"message":"this node is not the leader"}"#,
            r#"{"error":"timeout","message":"timed out after 3000 ms; the outcome is unknown","outcome":"unknown"}"#,
        ] {
            let body: ErrorBody = serde_json::from_str(text).expect(text);
            assert_eq!(serde_json::to_string(&body).unwrap(), text);
        }
    }

    #[test]
    fn leader_hints_and_lenient_decoding() {
        let hint = |text: &str| serde_json::from_str::<ErrorBody>(text).unwrap();
        assert_eq!(
            hint(r#"{"error":"not_leader","leader_id":3}"#).leader_hint(),
            Some(3)
        );
        let unknown = hint(r#"{"error":"not_leader","leader_id":null}"#);
        assert_eq!(
            (unknown.leader_id, unknown.leader_hint()),
            (Some(None), None)
        );
        let other = hint(r#"{"error":"unavailable"}"#);
        assert_eq!((other.leader_id, other.message.as_str()), (None, ""));
        assert_eq!(ErrorBody::new("no_leader", "x").outcome, None);
    }
}
