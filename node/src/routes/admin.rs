//! `/admin/*`: membership operations, protected by [`crate::auth::check_admin`]
//! and forwarded to the leader from any node.
//!
//! d-engine 0.2.4 promotes a caught-up learner (status Promotable) by itself,
//! and only while the number of voters stays odd; it has no API to promote or
//! remove a member on request. `POST /admin/promote` therefore waits, with a
//! deadline, for d-engine's promotion and answers 409 when it does not happen.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use kv_contract::{PromoteAnswer, Role};

use crate::auth::check_admin;
use crate::error::{ApiError, ApiResult};
use crate::forward;
use crate::state::{AppState, Forwarder};
use crate::validate::read_body;

/// How long a promote request waits for d-engine to promote the learner
/// (below the 5 s forwarding timeout, so a forwarded request gets this answer).
const PROMOTE_WAIT: Duration = Duration::from_secs(3);

/// Register the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/promote")
            .route(web::post().to(promote))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/admin/remove")
            .route(web::post().to(remove))
            .default_service(web::to(super::method_not_allowed)),
    );
}

/// The `node_id` of a [`kv_contract::NodeIdBody`], read field by field so
/// that each malformed body gets its own error code.
fn parse_node_id(body: &[u8]) -> ApiResult<u32> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad("invalid_json", format!("malformed JSON: {e}")))?;
    let id = v
        .get("node_id")
        .ok_or_else(|| ApiError::bad("missing_field", "field \"node_id\" is required"))?;
    id.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad("invalid_field", "node_id must be a positive integer"))
}

fn role_of(state: &AppState, id: u32) -> Option<Role> {
    state.topology().topology.member(id).map(|m| m.role)
}

async fn promote(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    check_admin(&req, state.admin_token.as_deref())?;
    let body = read_body(&req, payload, 4096, state.request_timeout()).await?;
    let node_id = parse_node_id(&body)?;
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
    let mut rx = state.topology.clone();
    let promoted = tokio::time::timeout(PROMOTE_WAIT, async {
        loop {
            if let Some(role) = role_of(&state, node_id).filter(|r| *r != Role::Learner) {
                return Some(role);
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    })
    .await
    .ok()
    .flatten();
    match promoted {
        Some(role) => Ok(answer(role)),
        None => {
            let view = state.topology();
            let topo = &view.topology;
            let voters = topo
                .members
                .iter()
                .filter(|m| m.role != Role::Learner)
                .count();
            let learners: Vec<u32> = topo
                .members
                .iter()
                .filter(|m| m.role == Role::Learner)
                .map(|m| m.id)
                .collect();
            Err(ApiError::Conflict {
                code: "not_promoted",
                message: format!(
                    "learner {node_id} was not promoted within {}s: d-engine promotes a learner only \
                     once it has caught up with the leader's log, and only while the voter count \
                     stays odd ({voters} voters now, learners {learners:?}: join another learner \
                     to go from {voters} to {} voters)",
                    PROMOTE_WAIT.as_secs(),
                    voters + 2
                ),
            })
        }
    }
}

async fn remove(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    check_admin(&req, state.admin_token.as_deref())?;
    let body = read_body(&req, payload, 4096, state.request_timeout()).await?;
    let node_id = parse_node_id(&body)?;
    Err(ApiError::NotSupported(format!(
        "removing node {node_id}: d-engine 0.2.4 has no API to propose a membership removal \
         (it only removes stalled learners by itself)"
    )))
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
