//! HTTP on the client's I/O thread: one pooled, keep-alive awc client, and
//! the mapping of awc failures onto [`AttemptError`].
//!
//! awc's own timeout is disabled; every send runs under the attempt's
//! deadline instead, so one knob decides when an attempt is given up.

use std::time::Duration;

use awc::error::{ConnectError, SendRequestError};
use awc::http::header::{HeaderValue, CONTENT_TYPE};
use awc::http::Method;
use bytes::Bytes;

use crate::error::AttemptError;
use crate::topology::ReplyHints;

/// Largest response body accepted (values are bounded by the server too).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Content type of request bodies (a static header value, not parsed per request).
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A complete answer from one node.
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Leader/forwarding hints from the `x-kv-*` headers.
    pub hints: ReplyHints,
    /// Whole body.
    pub body: Bytes,
}

/// The awc client (which is `!Send`: it lives on the I/O thread only).
pub(crate) struct Transport {
    client: awc::Client,
}

impl Transport {
    /// Client with a pool of up to `max_connections` keep-alive connections.
    /// Must be called inside the I/O thread's actix system.
    pub(crate) fn new(max_connections: usize) -> Self {
        let connector = awc::Connector::new()
            .limit(max_connections)
            .conn_keep_alive(Duration::from_secs(30))
            .timeout(Duration::from_secs(2));
        let client = awc::Client::builder()
            .connector(connector)
            .disable_timeout()
            .disable_redirects()
            .finish();
        Self { client }
    }

    /// Sends one request and reads the whole answer within `timeout`.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Reply, AttemptError> {
        let req = self.client.request(method, url);
        let exchange = async move {
            let sent = match body {
                Some(b) => req.insert_header((CONTENT_TYPE, JSON)).send_body(b).await,
                None => req.send().await,
            };
            let mut resp = sent.map_err(map_send_error)?;
            let status = resp.status().as_u16();
            let hints = ReplyHints::from_headers(resp.headers());
            let body = resp
                .body()
                .limit(MAX_BODY)
                .await
                .map_err(|e| AttemptError::Broken(e.to_string()))?;
            Ok(Reply {
                status,
                hints,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(AttemptError::TimedOut),
        }
    }
}

/// Connection setup failures mean nothing was delivered; anything after
/// that may have reached the node. awc reports a connection that closed
/// while waiting for the answer, after the request went out, as
/// `ConnectError::Disconnected`: that one is broken, not a connect failure.
fn map_send_error(e: SendRequestError) -> AttemptError {
    match e {
        SendRequestError::Connect(ConnectError::Disconnected) => {
            AttemptError::Broken(ConnectError::Disconnected.to_string())
        }
        SendRequestError::Connect(c) => AttemptError::Connect(c.to_string()),
        SendRequestError::Url(u) => AttemptError::Connect(u.to_string()),
        SendRequestError::Timeout => AttemptError::TimedOut,
        other => AttemptError::Broken(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_closed_after_sending_is_broken_not_a_connect_failure() {
        let e = map_send_error(SendRequestError::Connect(ConnectError::Disconnected));
        assert!(e.outcome_unknown(), "{e}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = map_send_error(SendRequestError::Connect(ConnectError::Io(refused)));
        assert!(matches!(e, AttemptError::Connect(_)) && !e.outcome_unknown());
    }
}
