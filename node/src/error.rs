//! The node's one error type for HTTP answers, mapped to statuses in a single
//! `ResponseError` impl, plus the startup error type.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kv_contract::{ErrorBody, Outcome};

/// Result alias for request handling.
pub type ApiResult<T> = Result<T, ApiError>;

/// Everything a request can fail with. Client mistakes are 4xx, never 500.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input: `code` is a stable snake_case reason.
    #[error("{message}")]
    BadRequest {
        /// Stable reason, e.g. `invalid_json`, `missing_field`.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// No route for this path.
    #[error("no such endpoint: {0}")]
    RouteNotFound(String),
    /// The route exists but not for this method.
    #[error("method {method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The methods the path serves, as the `Allow` header lists them.
        allow: &'static str,
    },
    /// Body, key or value over the configured limits.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    PayloadTooLarge {
        /// `body`, `key` or `value`.
        what: &'static str,
        /// Observed size (or a lower bound).
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// The client did not finish sending its request in time.
    #[error("request not received within {0} ms")]
    RequestTimeout(u64),
    /// No leader is known right now (election in progress or no quorum).
    #[error("no leader is known; retry shortly")]
    NoLeader,
    /// This node is not the leader and will not forward (already forwarded once).
    #[error("this node is not the leader")]
    NotLeader {
        /// Leader this node believes in, if any.
        leader_id: Option<u32>,
    },
    /// The engine did not answer in time: the write may or may not have been applied.
    #[error("timed out after {0} ms; the outcome is unknown")]
    Timeout(u64),
    /// The request was handed to the engine or sent to the leader and then
    /// cut off by something other than a timeout (the leader lost its
    /// leadership with the write in its log, the connection to it broke, it
    /// was replaced while the forwarded request waited): it may or may not
    /// have been applied.
    #[error("{0}; the outcome is unknown")]
    OutcomeUnknown(String),
    /// Forwarding to the leader failed before the request was sent (no
    /// connection could be opened): not applied.
    #[error("leader {leader_id} unreachable: {message}")]
    LeaderUnreachable {
        /// Leader that could not be reached.
        leader_id: u32,
        /// Transport detail.
        message: String,
    },
    /// The engine refused for a reason other than leadership (overload, shutdown).
    #[error("{0}")]
    Unavailable(String),
    /// An eventual read's `min_index` was not applied here within the bounded wait.
    #[error("applied index {applied} < min_index {min_index} after waiting {waited_ms} ms; retry on another node (the leader is fresh enough)")]
    MinIndexNotReached {
        /// This node's applied index when it gave up.
        applied: u64,
        /// The index the read asked for.
        min_index: u64,
        /// How long it waited.
        waited_ms: u64,
    },
    /// This node was removed from the cluster: it serves nothing but metrics.
    #[error("{0}")]
    Removed(String),
    /// Missing or wrong admin token.
    #[error("{0}")]
    Unauthorized(String),
    /// A request that conflicts with the cluster's state (e.g. promoting a lagging learner).
    #[error("{message}")]
    Conflict {
        /// Stable reason.
        code: &'static str,
        /// Detail.
        message: String,
    },
    /// This node's disk is full: the write was refused before it was proposed.
    #[error("{0}")]
    StorageFull(String),
    /// This node's storage failed (a fsync or write error): it acknowledges
    /// no more writes until restarted.
    #[error("{reason}")]
    StorageFailed {
        /// What failed, naming the file.
        reason: String,
        /// Whether the write was proposed before the failure (its outcome
        /// is then unknown) or refused before that (not applied).
        proposed: bool,
    },
    /// The operation exists in the API but the engine cannot perform it.
    #[error("{0}")]
    NotSupported(String),
    /// A bug or an unexpected engine failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 405 for `req`, whose path serves `allow` (e.g. `"GET, PUT"`).
    pub fn method_not_allowed(req: &actix_web::HttpRequest, allow: &'static str) -> Self {
        Self::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        }
    }

    /// Shorthand for a 400 with a reason code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The stable snake_case code put in the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::RouteNotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge { what, .. } => match *what {
                "key" => "key_too_large",
                "value" => "value_too_large",
                _ => "payload_too_large",
            },
            Self::RequestTimeout(_) => "request_timeout",
            Self::NoLeader => "no_leader",
            Self::NotLeader { .. } => "not_leader",
            Self::Timeout(_) => "timeout",
            Self::OutcomeUnknown(_) => "outcome_unknown",
            Self::LeaderUnreachable { .. } => "leader_unreachable",
            Self::Unavailable(_) => "unavailable",
            Self::MinIndexNotReached { .. } => kv_contract::error::MIN_INDEX_NOT_REACHED,
            Self::Removed(_) => kv_contract::error::REMOVED,
            Self::Unauthorized(_) => "unauthorized",
            Self::StorageFull(_) => kv_contract::error::STORAGE_FULL,
            Self::StorageFailed { .. } => kv_contract::error::STORAGE_FAILED,
            Self::NotSupported(_) => "not_supported",
            Self::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::NoLeader
            | Self::NotLeader { .. }
            | Self::Unavailable(_)
            | Self::MinIndexNotReached { .. }
            | Self::Removed(_)
            | Self::StorageFailed { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Timeout(_) | Self::OutcomeUnknown(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::LeaderUnreachable { .. } => StatusCode::BAD_GATEWAY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = ErrorBody::new(self.code(), self.to_string());
        if let Self::NotLeader { leader_id } = self {
            body.leader_id = Some(*leader_id);
        }
        body.outcome = match self {
            Self::Timeout(_)
            | Self::OutcomeUnknown(_)
            | Self::StorageFailed { proposed: true, .. } => Some(Outcome::Unknown),
            Self::StorageFailed {
                proposed: false, ..
            }
            | Self::StorageFull(_) => Some(Outcome::NotApplied),
            _ => None,
        };
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Self::MethodNotAllowed { allow, .. } = self {
            resp.insert_header((actix_web::http::header::ALLOW, *allow));
        }
        if let Self::MinIndexNotReached { applied, .. } = self {
            resp.insert_header((kv_contract::headers::APPLIED_INDEX, *applied));
            resp.insert_header(("Retry-After", "0"));
        }
        resp.json(body)
    }
}

/// Why a node failed to start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// d-engine failed to start or stop.
    #[error("raft engine: {0}")]
    Engine(String),
    /// A listener or server failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_json(e: &ApiError) -> serde_json::Value {
        let bytes = e
            .error_response()
            .into_body()
            .try_into_bytes()
            .expect("sized body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn client_mistakes_are_4xx_with_codes() {
        let e = ApiError::bad("invalid_json", "expected value");
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(&e)["error"], "invalid_json");
        let e = ApiError::PayloadTooLarge {
            what: "key",
            size: 5000,
            limit: 4096,
        };
        assert_eq!(e.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body_json(&e)["error"], "key_too_large");
        assert_eq!(
            ApiError::MethodNotAllowed {
                method: "PATCH".into(),
                allow: "GET"
            }
            .status_code(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn leadership_errors_are_503_with_hint() {
        let e = ApiError::NotLeader { leader_id: Some(3) };
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let body = body_json(&e);
        assert_eq!(body["error"], "not_leader");
        assert_eq!(body["leader_id"], 3);
        assert_eq!(body_json(&ApiError::NoLeader)["error"], "no_leader");
        assert_eq!(body_json(&ApiError::Timeout(5000))["outcome"], "unknown");
        let e = ApiError::MinIndexNotReached {
            applied: 7,
            min_index: 9,
            waited_ms: 200,
        };
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let resp = e.error_response();
        assert_eq!(resp.headers().get("x-kv-applied-index").unwrap(), "7");
        let body = body_json(&e);
        assert_eq!(body["error"], "min_index_not_reached");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("applied index 7 < min_index 9"),
            "{body}"
        );
        let e = ApiError::OutcomeUnknown("connection to leader 2 broke".into());
        assert_eq!(e.status_code(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(body_json(&e)["error"], "outcome_unknown");
        assert_eq!(body_json(&e)["outcome"], "unknown");
    }
}
