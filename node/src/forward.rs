//! Forwarding a request one hop to the leader.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use kv_contract::headers::{APPLIED_INDEX, FORWARDED_BY, FORWARDED_TO, INDEX};

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Forwarder};

/// Whether the request already came from another node (never forward twice).
pub fn was_forwarded(req: &HttpRequest) -> bool {
    req.headers().contains_key(FORWARDED_BY)
}

/// Send `req` (with `body`) to the leader's API and relay its answer.
///
/// A connection failure means the request never reached the leader (502,
/// safe to retry); any failure after sending means the outcome is unknown (504).
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
    let base = view.leader_url().ok_or_else(|| {
        ApiError::Unavailable(format!("leader {leader} has not published its address yet"))
    })?;
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
    let sent = out.send_body(body).await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(awc::error::SendRequestError::Connect(e)) => {
            metrics::counter!("kv_forward_errors_total", "kind" => kind).increment(1);
            return Err(ApiError::LeaderUnreachable {
                leader_id: leader,
                message: e.to_string(),
            });
        }
        Err(e) => {
            metrics::counter!("kv_forward_errors_total", "kind" => kind).increment(1);
            tracing::warn!(leader, error = %e, "forward failed after sending");
            return Err(ApiError::Timeout(state.settings.forward_timeout_ms));
        }
    };
    let payload = resp
        .body()
        .limit(state.limits.max_body + 4096)
        .await
        .map_err(|e| {
            tracing::warn!(leader, error = %e, "reading the leader's answer failed");
            ApiError::Timeout(state.settings.forward_timeout_ms)
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
