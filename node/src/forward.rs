//! Forwarding a request one hop to the leader.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use awc::error::{ConnectError, SendRequestError};
use bytes::Bytes;
use kv_contract::headers::{APPLIED_INDEX, FORWARDED_BY, FORWARDED_TO, INDEX};
use tokio::sync::watch;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Forwarder};
use crate::topology::NodeView;

/// Whether the request already came from another node (never forward twice).
pub fn was_forwarded(req: &HttpRequest) -> bool {
    req.headers().contains_key(FORWARDED_BY)
}

/// Send `req` (with `body`) to the leader's API and relay its answer.
///
/// Only a connection that could not be opened proves the request never
/// reached the leader (502, not applied); any other failure, and a leader
/// replaced while the request waits, leave the outcome unknown (504). See
/// [`send_failure`].
pub async fn to_leader(
    state: &AppState,
    fwd: &Forwarder,
    req: &HttpRequest,
    body: Bytes,
    kind: &'static str,
) -> ApiResult<HttpResponse> {
    let view = state.topology();
    let leader = match view.topology.leader_id {
        Some(l) if l != state.node_id => l,
        Some(_) => return Err(ApiError::NotLeader { leader_id: None }),
        None => return Err(ApiError::NoLeader),
    };
    if was_forwarded(req) {
        return Err(ApiError::NotLeader {
            leader_id: Some(leader),
        });
    }
    let (leader, base) = match view.leader_url() {
        Some(url) => (leader, url.to_string()),
        None => leader_address(state, leader).await?,
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut out = fwd
        .client
        .request(req.method().clone(), format!("{base}{path}"))
        .timeout(std::time::Duration::from_millis(
            state.settings.forward_timeout_ms,
        ))
        .insert_header((FORWARDED_BY, state.node_id.to_string()));
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        out = out.insert_header((header::CONTENT_TYPE, ct.clone()));
    }
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        out = out.insert_header((header::AUTHORIZATION, auth.clone()));
    }
    // A leader that is replaced while we wait (e.g. SIGSTOPped) would hold the
    // request until the forward timeout; give up as soon as the view changes.
    let sent = tokio::select! {
        sent = out.send_body(body) => sent.map_err(Failed),
        now = leader_replaced(state.topology.clone(), leader) => Err(Replaced(now)),
    };
    let mut resp = match sent {
        Ok(r) => r,
        Err(failure) => {
            metrics::counter!("kv_forward_errors_total", "kind" => kind).increment(1);
            let err = match failure {
                Replaced(now) => ApiError::OutcomeUnknown(format!(
                    "leader {leader} was replaced (now {}) while the forwarded request waited",
                    now.map_or("none".into(), |l| l.to_string())
                )),
                Failed(e) => send_failure(leader, e, state.settings.forward_timeout_ms),
            };
            tracing::warn!(leader, error = %err, "forward failed");
            return Err(err);
        }
    };
    let status = resp.status();
    let payload = resp
        .body()
        .limit(state.limits.max_body + 4096)
        .await
        .map_err(|e| {
            tracing::warn!(leader, error = %e, "reading the leader's answer failed");
            ApiError::OutcomeUnknown(format!(
                "leader {leader} answered {status} but its body was lost: {e}"
            ))
        })?;
    metrics::counter!("kv_forwarded_total", "kind" => kind).increment(1);
    let mut builder = HttpResponse::build(resp.status());
    for name in [header::CONTENT_TYPE.as_str(), INDEX, APPLIED_INDEX] {
        if let Some(value) = resp.headers().get(name) {
            builder.insert_header((name, value.clone()));
        }
    }
    builder.insert_header((
        HeaderName::from_static(FORWARDED_TO),
        HeaderValue::from(leader),
    ));
    Ok(builder.body(payload))
}

/// Waits, up to the forward timeout, until the cluster view names a leader
/// other than this node together with its API URL. Right after an election
/// the new leader's address record takes a moment to replicate; a request
/// that needs the leader waits for it instead of failing. Nothing has been
/// sent yet, so the leader may change meanwhile.
async fn leader_address(state: &AppState, leader: u32) -> ApiResult<(u32, String)> {
    let mut view = state.topology.clone();
    let wait = std::time::Duration::from_millis(state.settings.forward_timeout_ms);
    let found = tokio::time::timeout(wait, async {
        loop {
            {
                let now = view.borrow_and_update();
                match now.topology.leader_id {
                    Some(l) if l == state.node_id => {
                        return Err(ApiError::NotLeader { leader_id: None })
                    }
                    Some(l) => {
                        if let Some(url) = now.leader_url() {
                            return Ok((l, url.to_string()));
                        }
                    }
                    None => {}
                }
            }
            if view.changed().await.is_err() {
                return Err(ApiError::Unavailable("node is shutting down".into()));
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| {
        Err(ApiError::Unavailable(format!(
            "leader {leader} did not publish its address within {} ms",
            wait.as_millis()
        )))
    })
}

/// Why a forwarded request got no answer.
enum ForwardFailure {
    /// The cluster view names another leader (or none) now.
    Replaced(Option<u32>),
    /// awc failed.
    Failed(SendRequestError),
}
use ForwardFailure::{Failed, Replaced};

/// Resolves when the view's leader is no longer `leader` (with the new one).
async fn leader_replaced(mut view: watch::Receiver<Arc<NodeView>>, leader: u32) -> Option<u32> {
    loop {
        let now = view.borrow_and_update().topology.leader_id;
        if now != Some(leader) {
            return now;
        }
        if view.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// What a failed forward means for the caller. Only a connection that could
/// not be opened (refused, unresolvable, connect timeout) proves that nothing
/// was sent. awc also reports `ConnectError::Disconnected` when the connection
/// closes while it waits for the answer, after the request went out; that,
/// a reset, or a broken answer leave the outcome unknown, as a timeout does.
pub(crate) fn send_failure(leader: u32, e: SendRequestError, timeout_ms: u64) -> ApiError {
    let never_sent = match &e {
        SendRequestError::Url(_) => true,
        SendRequestError::Connect(c) => matches!(
            c,
            ConnectError::Io(_)
                | ConnectError::Timeout
                | ConnectError::Resolver(_)
                | ConnectError::NoRecords
                | ConnectError::Unresolved
                | ConnectError::SslIsNotSupported
        ),
        _ => false,
    };
    match e {
        _ if never_sent => ApiError::LeaderUnreachable {
            leader_id: leader,
            message: e.to_string(),
        },
        SendRequestError::Timeout => ApiError::Timeout(timeout_ms),
        e => ApiError::OutcomeUnknown(format!(
            "the connection to leader {leader} failed after the request was sent: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use actix_web::ResponseError;

    use super::*;

    /// A fake leader that reads one whole request, then does `then` with the socket.
    fn fake_leader(then: fn(std::net::TcpStream)) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"\"v\"}") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            then(s);
        });
        format!("http://{addr}/kv/k")
    }

    async fn send(url: &str) -> SendRequestError {
        awc::Client::default()
            .put(url)
            .insert_header(("content-type", "application/json"))
            .send_body(r#"{"value":"v"}"#)
            .await
            .expect_err("no answer")
    }

    async fn forward(url: &str) -> ApiError {
        send_failure(7, send(url).await, 5000)
    }

    #[actix_web::test]
    async fn a_connection_closed_after_sending_is_outcome_unknown_not_502() {
        // awc reports this as Connect(Disconnected); it used to be a 502
        // "not applied" although the leader may have applied the write.
        let url = fake_leader(drop);
        let raw = send(&url).await;
        assert!(
            matches!(raw, SendRequestError::Connect(ConnectError::Disconnected)),
            "{raw:?}"
        );
        let e = send_failure(7, raw, 5000);
        assert_eq!(e.code(), "outcome_unknown", "{e}");
        assert_eq!(
            e.status_code(),
            actix_web::http::StatusCode::GATEWAY_TIMEOUT
        );
    }

    #[actix_web::test]
    async fn a_reset_after_sending_is_outcome_unknown() {
        let url = fake_leader(|s| {
            use std::os::fd::AsRawFd;
            // SO_LINGER 0: close with a RST instead of a FIN.
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket and a correctly sized option value.
            unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    std::ptr::from_ref(&linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        });
        assert_eq!(forward(&url).await.code(), "outcome_unknown");
    }

    #[actix_web::test]
    async fn only_a_refused_connection_is_leader_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = forward(&format!("http://127.0.0.1:{port}/kv/k")).await;
        assert_eq!(e.code(), "leader_unreachable", "{e}");
        assert_eq!(
            send_failure(7, SendRequestError::Timeout, 5000).code(),
            "timeout"
        );
    }
}
