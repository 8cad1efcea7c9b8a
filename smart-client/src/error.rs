//! The crate's one error type, and the classification of a single attempt's
//! failure (transport trouble versus an answer) that drives retries.

use kv_contract::error::{MIN_INDEX_NOT_REACHED, STORAGE_FAILED, STORAGE_FULL};
use kv_contract::{ErrorBody, Outcome};

use crate::selection::NodeId;

/// Everything a [`crate::SmartClient`] call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server (or the client's own validation) rejected the request as
    /// malformed or too large; retrying cannot help.
    #[error("bad request ({code}): {message}")]
    BadRequest {
        /// Machine-readable code, e.g. `empty_key`, `value_too_large`.
        code: String,
        /// Human-readable explanation.
        message: String,
    },
    /// A leader was needed and none was known or reachable before the deadline.
    #[error("no leader was available within the request deadline")]
    NoLeader,
    /// Every attempt failed before the deadline (nodes down or unreachable).
    #[error("cluster unavailable: {last_error}")]
    Unavailable {
        /// What the last attempt ran into.
        last_error: String,
    },
    /// The request was sent but no answer came in time, or (for a write)
    /// some attempt ended in a way that leaves its outcome unknown: it may
    /// or may not have been applied. Every other error means not applied.
    #[error("request timed out; outcome unknown")]
    Timeout,
    /// The leader's disk is full (`507 storage_full`): nothing was written.
    /// Returned at once, not retried: the cluster accepts writes again once
    /// space is freed on the leader.
    #[error("storage full: {message}")]
    StorageFull {
        /// The node's explanation (which node, which file).
        message: String,
    },
    /// The client configuration is invalid, or no seed answered at bootstrap.
    #[error("configuration error: {0}")]
    Config(String),
    /// The client's background thread is gone (it panicked or shut down).
    #[error("client is shut down")]
    Shutdown,
}

impl Error {
    /// Client-side validation failure with the same shape as a server 400.
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one attempt on one node did not produce a final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttemptError {
    /// Nothing was delivered (connection refused, reset before the request
    /// went out): safe to retry anywhere; the node counts as failed.
    Connect(String),
    /// The request may have been delivered but no answer arrived within the
    /// attempt timeout: outcome unknown; the node counts as failed.
    TimedOut,
    /// The connection broke after the request may have gone out: outcome
    /// unknown; the node counts as failed.
    Broken(String),
    /// The attempt was abandoned because a new leader became known while it
    /// was outstanding (idempotent requests only): outcome unknown.
    Superseded,
    /// The node is not the leader; the hint names the one it knows.
    NotLeader(Option<NodeId>),
    /// The cluster has no leader right now (`503 no_leader`).
    NoLeader,
    /// A follower could not reach the leader (`502 leader_unreachable`):
    /// not applied, safe to retry.
    LeaderUnreachable,
    /// The server gave up waiting for its commit (`504 timeout`, outcome unknown).
    ServerTimeout,
    /// The node had not applied the read's `min_index` within its bounded
    /// wait (`503 min_index_not_reached`): try another node, the leader last.
    Behind,
    /// The node's storage failed (`503 storage_failed`): it acknowledges no
    /// writes until restarted, so it counts as failed. `proposed`: the node
    /// says the write was proposed before the failure (outcome unknown).
    StorageFailed {
        /// Whether the write may have been applied.
        proposed: bool,
    },
    /// The leader's disk is full (`507 storage_full`): not applied, final.
    StorageFull(String),
    /// Any other 5xx (e.g. `503 unavailable`).
    Server(u16, String),
    /// A 4xx answer: final, never retried.
    Rejected {
        /// Error code from the body.
        code: String,
        /// Message from the body.
        message: String,
    },
}

impl AttemptError {
    /// True when the node itself misbehaved (feeds ejection and a refresh).
    pub(crate) fn is_node_failure(&self) -> bool {
        matches!(
            self,
            AttemptError::Connect(_)
                | AttemptError::TimedOut
                | AttemptError::Broken(_)
                | AttemptError::StorageFailed { .. }
        )
    }

    /// True when the request may have taken effect although no answer says so.
    pub(crate) fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            AttemptError::TimedOut
                | AttemptError::Broken(_)
                | AttemptError::Superseded
                | AttemptError::ServerTimeout
                | AttemptError::StorageFailed { proposed: true }
        )
    }

    /// True when the cluster told us it lacks a (reachable) leader.
    pub(crate) fn is_leaderless(&self) -> bool {
        matches!(
            self,
            AttemptError::NoLeader
                | AttemptError::LeaderUnreachable
                | AttemptError::NotLeader(None)
        )
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Connect(e) => write!(f, "connection failed: {e}"),
            AttemptError::TimedOut => f.write_str("attempt timed out"),
            AttemptError::Broken(e) => write!(f, "connection broken: {e}"),
            AttemptError::Superseded => f.write_str("abandoned for a new leader"),
            AttemptError::NotLeader(Some(id)) => write!(f, "not leader (leader is {id})"),
            AttemptError::NotLeader(None) => f.write_str("not leader (leader unknown)"),
            AttemptError::NoLeader => f.write_str("no leader"),
            AttemptError::LeaderUnreachable => f.write_str("leader unreachable"),
            AttemptError::ServerTimeout => f.write_str("server timed out, outcome unknown"),
            AttemptError::Behind => f.write_str("node behind the session's index"),
            AttemptError::StorageFailed { proposed } => write!(
                f,
                "node storage failed ({})",
                if *proposed {
                    "outcome unknown"
                } else {
                    "not applied"
                }
            ),
            AttemptError::StorageFull(message) => write!(f, "storage full: {message}"),
            AttemptError::Server(status, code) => write!(f, "server error {status} {code}"),
            AttemptError::Rejected { code, message } => write!(f, "{code}: {message}"),
        }
    }
}

/// Classifies a non-success answer (`status` not 2xx and not a 404 on a
/// key read) from its status and JSON [`ErrorBody`].
pub(crate) fn classify(status: u16, body: &[u8]) -> AttemptError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    match (status, parsed.error.as_str()) {
        (503, "not_leader") => AttemptError::NotLeader(parsed.leader_hint()),
        (503, "no_leader") => AttemptError::NoLeader,
        (503, MIN_INDEX_NOT_REACHED) => AttemptError::Behind,
        (503, STORAGE_FAILED) => AttemptError::StorageFailed {
            proposed: parsed.outcome == Some(Outcome::Unknown),
        },
        (507, _) => AttemptError::StorageFull(if parsed.message.is_empty() {
            STORAGE_FULL.to_owned()
        } else {
            parsed.message
        }),
        (502, _) => AttemptError::LeaderUnreachable,
        (504, _) | (408, _) => AttemptError::ServerTimeout,
        (400..=499, _) => AttemptError::Rejected {
            code: if parsed.error.is_empty() {
                format!("http_{status}")
            } else {
                parsed.error
            },
            message: if parsed.message.is_empty() {
                String::from_utf8_lossy(body).into_owned()
            } else {
                parsed.message
            },
        },
        (_, code) => AttemptError::Server(status, code.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_server_answers() {
        assert_eq!(
            classify(
                503,
                br#"{"error":"not_leader","message":"x","leader_id":3}"#
            ),
            AttemptError::NotLeader(Some(3))
        );
        assert_eq!(
            classify(503, br#"{"error":"no_leader","message":"x"}"#),
            AttemptError::NoLeader
        );
        assert_eq!(
            classify(502, br#"{"error":"leader_unreachable","message":"x"}"#),
            AttemptError::LeaderUnreachable
        );
        let t = classify(504, br#"{"error":"timeout","outcome":"unknown"}"#);
        assert!(t.outcome_unknown() && !t.is_node_failure());
        assert_eq!(
            classify(413, br#"{"error":"value_too_large","message":"too big"}"#),
            AttemptError::Rejected {
                code: "value_too_large".into(),
                message: "too big".into()
            }
        );
        assert_eq!(
            classify(400, b"garbage"),
            AttemptError::Rejected {
                code: "http_400".into(),
                message: "garbage".into()
            }
        );
        assert_eq!(
            classify(503, br#"{"error":"unavailable"}"#),
            AttemptError::Server(503, "unavailable".into())
        );
        let behind = classify(
            503,
            br#"{"error":"min_index_not_reached","message":"applied index 3 < min_index 9"}"#,
        );
        assert_eq!(behind, AttemptError::Behind);
        assert!(!behind.is_node_failure() && !behind.outcome_unknown() && !behind.is_leaderless());
        assert!(AttemptError::Connect("refused".into()).is_node_failure());
        let failed = classify(
            503,
            br#"{"error":"storage_failed","message":"fsync","outcome":"not_applied"}"#,
        );
        assert_eq!(failed, AttemptError::StorageFailed { proposed: false });
        assert!(failed.is_node_failure() && !failed.outcome_unknown());
        let proposed = classify(
            503,
            br#"{"error":"storage_failed","message":"fsync","outcome":"unknown"}"#,
        );
        assert!(proposed.is_node_failure() && proposed.outcome_unknown());
        assert_eq!(
            classify(507, br#"{"error":"storage_full","message":"node 1 full"}"#),
            AttemptError::StorageFull("node 1 full".into())
        );
        assert!(AttemptError::TimedOut.outcome_unknown());
        assert!(AttemptError::NotLeader(None).is_leaderless());
    }
}
