//! `/admin/*`: membership operations, protected by [`crate::auth::check_admin`]
//! and forwarded to the leader from any node; `/internal/removed`, the notice
//! the leader's node sends a node it removed.
//!
//! Promotion and removal go through the engine's requested membership changes
//! (engine patch 14): the leader proposes the configuration entry, the engine
//! answers once it is committed, and the handler answers once this node's
//! view shows the change. d-engine's own automatic promotion (a caught-up
//! learner pair, keeping the voter count odd) stays on.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use d_engine::ErrorCode;
use kv_contract::{NodeIdBody, PromoteAnswer, RemoveAnswer, Role};

use crate::auth::check_admin;
use crate::engine::{classify, EngineFailure};
use crate::error::{ApiError, ApiResult};
use crate::forward;
use crate::membership;
use crate::state::{AppState, Forwarder};
use crate::validate::read_body;

use super::openapi::{AdminFailures, Always, ChangeFailures};

/// How long a request waits for this node's view to show a committed change
/// (below the 5 s forwarding timeout, so a forwarded request gets this answer).
const VIEW_WAIT: Duration = Duration::from_secs(3);

/// A learner further behind the leader's commit index than this many entries
/// is not promoted on request (409 `not_caught_up`): as a voter it would
/// count towards the quorum before it could acknowledge anything new.
pub const PROMOTE_MAX_LAG_ENTRIES: u64 = 1000;

/// Register the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/promote")
            .route(web::post().to(promote))
            .default_service(super::allow("POST")),
    )
    .service(
        web::resource("/admin/remove")
            .route(web::post().to(remove))
            .default_service(super::allow("POST")),
    )
    .service(
        web::resource("/internal/removed")
            .route(web::post().to(removed_notice))
            .default_service(super::allow("POST")),
    );
}

/// An authorized admin request's body and the `node_id` it names.
async fn admin_node_id(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> ApiResult<(Bytes, u32)> {
    check_admin(req, state.admin_token.as_deref())?;
    let body = read_body(req, payload, 4096, state.request_timeout()).await?;
    let node_id = parse_node_id(&body)?;
    Ok((body, node_id))
}

/// The `node_id` of a [`kv_contract::NodeIdBody`], read field by field so
/// that each malformed body gets its own error code.
fn parse_node_id(body: &[u8]) -> ApiResult<u32> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad("invalid_json", format!("malformed JSON: {e}")))?;
    let id = v
        .get("node_id")
        .ok_or_else(|| ApiError::bad("missing_field", "field \"node_id\" is required"))?;
    crate::validate::json_uint(id)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad("invalid_field", "node_id must be a positive integer"))
}

fn role_of(state: &AppState, id: u32) -> Option<Role> {
    state.topology().topology.member(id).map(|m| m.role)
}

/// Wait (up to [`VIEW_WAIT`]) until `done` holds for this node's view.
async fn wait_view(state: &AppState, done: impl Fn(&AppState) -> bool) -> bool {
    let mut rx = state.topology.clone();
    tokio::time::timeout(VIEW_WAIT, async {
        loop {
            if done(state) {
                return true;
            }
            if rx.changed().await.is_err() {
                return false;
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// An engine refusal of a requested change, as an answer.
fn change_failure(err: d_engine::ClientApiError, timeout_ms: u64, node_id: u32) -> ApiError {
    match err.code() {
        ErrorCode::InvalidRequest => ApiError::Conflict {
            code: "unknown_node",
            message: format!("node {node_id}: {err}"),
        },
        ErrorCode::RetryRequired => ApiError::Conflict {
            code: "change_in_progress",
            message: format!("{err}; retry once it is committed"),
        },
        _ => match classify(err, timeout_ms) {
            EngineFailure::NotLeader => ApiError::NotLeader { leader_id: None },
            EngineFailure::Api(e) => e,
        },
    }
}

#[utoipa::path(
    post,
    path = "/admin/promote",
    tag = "admin",
    security(("admin_token" = [])),
    request_body = NodeIdBody,
    responses(
        (status = 200, description = "The learner is a voter (the change is committed and this node shows it)", body = PromoteAnswer),
        AdminFailures,
        ChangeFailures,
        Always,
    )
)]
pub(super) async fn promote(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let (body, node_id) = admin_node_id(&req, payload, &state).await?;
    if !state.engine.is_leader() {
        return forward::to_leader(&state, &fwd, &req, body, "admin").await;
    }
    let answer = |role: Role| {
        HttpResponse::Ok().json(PromoteAnswer {
            node_id,
            role,
            voter: true,
        })
    };
    match role_of(&state, node_id) {
        None => {
            return Err(ApiError::Conflict {
                code: "unknown_node",
                message: format!("node {node_id} is not a member of the cluster (has it joined?)"),
            })
        }
        Some(Role::Learner) => {}
        Some(role) => return Ok(answer(role)),
    }
    let commit = state.progress.commit_index();
    let Some(applied) = state.progress.member_applied(node_id) else {
        return Err(ApiError::Conflict {
            code: "not_caught_up",
            message: format!(
                "learner {node_id} has not reported its applied index yet (it is still \
                 joining); retry shortly"
            ),
        });
    };
    let behind = commit.saturating_sub(applied);
    if behind > PROMOTE_MAX_LAG_ENTRIES {
        return Err(ApiError::Conflict {
            code: "not_caught_up",
            message: format!(
                "learner {node_id} is {behind} entries behind the leader's commit index {commit} \
                 (at most {PROMOTE_MAX_LAG_ENTRIES} to be promoted); retry once it has caught up"
            ),
        });
    }
    match state.engine.client().promote_learner(node_id).await {
        Ok(index) => tracing::info!(node_id, index, "learner promoted on request"),
        // Promoted meanwhile (d-engine's automatic promotion): fine.
        Err(e) if e.code() == ErrorCode::InvalidRequest && e.to_string().contains("voter") => {}
        Err(e) => return Err(change_failure(e, state.engine_timeout_ms(), node_id)),
    }
    if wait_view(&state, |s| {
        role_of(s, node_id).is_some_and(|r| r != Role::Learner)
    })
    .await
    {
        Ok(answer(role_of(&state, node_id).unwrap_or(Role::Follower)))
    } else {
        Err(ApiError::Unavailable(format!(
            "the promotion of {node_id} is committed but not yet applied on this node"
        )))
    }
}

#[utoipa::path(
    post,
    path = "/admin/remove",
    tag = "admin",
    security(("admin_token" = [])),
    request_body = NodeIdBody,
    responses(
        (status = 200, description = "The node is out of the configuration (committed and shown here)", body = RemoveAnswer),
        AdminFailures,
        ChangeFailures,
        Always,
    )
)]
pub(super) async fn remove(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let (body, node_id) = admin_node_id(&req, payload, &state).await?;
    if !state.engine.is_leader() {
        return forward::to_leader(&state, &fwd, &req, body, "admin").await;
    }
    if role_of(&state, node_id).is_none() {
        return Err(ApiError::Conflict {
            code: "unknown_node",
            message: format!("node {node_id} is not a member of the cluster"),
        });
    }
    // Its URL, for the notice below (the view drops it once the removal applies).
    let url = state.topology().record(node_id).map(|r| r.api_url.clone());
    let index = state
        .engine
        .client()
        .remove_node(node_id)
        .await
        .map_err(|e| change_failure(e, state.engine_timeout_ms(), node_id))?;
    tracing::warn!(node_id, index, "member removed on request");
    if node_id == state.node_id {
        // The leader removed itself: the engine steps down once it applies the entry.
        membership::mark_removed(
            &state.data_dir,
            &state.removed,
            membership::removed_reason(node_id, index),
        );
    } else {
        wait_view(&state, |s| role_of(s, node_id).is_none()).await;
        if let Some(url) = url {
            notify_removed(&state, &url, node_id, index).await;
        }
    }
    Ok(HttpResponse::Ok().json(RemoveAnswer { node_id, index }))
}

/// Tell a removed node (best effort): the leader stops replicating to it once
/// the removal commits, so its engine may never apply its own removal.
async fn notify_removed(state: &AppState, url: &str, node_id: u32, index: u64) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(1))
        .finish();
    let mut req = client.post(format!("{url}/internal/removed"));
    if let Some(token) = &state.admin_token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let body = serde_json::json!({ "node_id": node_id, "index": index });
    match req.send_json(&body).await {
        Ok(resp) => tracing::info!(node_id, status = %resp.status(), "removed node notified"),
        Err(e) => tracing::warn!(node_id, error = %e, "could not notify the removed node"),
    }
}

#[utoipa::path(
    post,
    path = "/internal/removed",
    tag = "internal",
    security(("admin_token" = [])),
    request_body(content = NodeIdBody, description = "The leader's node tells a node it removed (`node_id`: the receiver; an optional `index`)"),
    responses(
        (status = 200, description = "Recorded: this node now answers 503 `removed`", body = RemoveAnswer),
        AdminFailures,
        Always,
    )
)]
pub(super) async fn removed_notice(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (body, node_id) = admin_node_id(&req, payload, &state).await?;
    if node_id != state.node_id {
        return Err(ApiError::bad(
            "invalid_field",
            format!("this is node {}, not {node_id}", state.node_id),
        ));
    }
    let index = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("index").and_then(|i| i.as_u64()))
        .unwrap_or(0);
    membership::mark_removed(
        &state.data_dir,
        &state.removed,
        membership::removed_reason(node_id, index),
    );
    Ok(HttpResponse::Ok().json(RemoveAnswer { node_id, index }))
}

#[cfg(test)]
mod tests {
    use super::parse_node_id;

    #[test]
    fn node_id_parsing() {
        assert_eq!(parse_node_id(br#"{"node_id":4}"#).expect("ok"), 4);
        assert_eq!(parse_node_id(b"{").unwrap_err().code(), "invalid_json");
        assert_eq!(parse_node_id(b"{}").unwrap_err().code(), "missing_field");
        assert_eq!(
            parse_node_id(br#"{"node_id":0}"#).unwrap_err().code(),
            "invalid_field"
        );
        assert_eq!(
            parse_node_id(br#"{"node_id":"4"}"#).unwrap_err().code(),
            "invalid_field"
        );
    }
}
