//! Cluster endpoints: `/topology`, `/primary`, `/replica`, `/metrics`, and the
//! internal registration endpoint used by the member registry.

use actix_web::{web, HttpRequest, HttpResponse};
use kv_contract::{OkAnswer, RoleAnswer, Topology};

use crate::auth::check_admin;
use crate::cluster_view::RefreshRecords;
use crate::error::{ApiError, ApiResult};
use crate::registry::{self, MemberRecord};
use crate::state::AppState;
use crate::validate::read_body;

use super::openapi::{AdminFailures, Always, RoleOrError};

/// Routes served on the API port (besides `/kv`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/topology")
            .route(web::get().to(topology))
            .default_service(super::allow("GET")),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(metrics))
            .default_service(super::allow("GET")),
    )
    .service(
        web::resource("/internal/members")
            .route(web::post().to(register_member))
            .default_service(super::allow("POST")),
    );
    health(cfg);
}

/// `/primary` and `/replica`, served on both the API and the health port.
pub fn health(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/primary")
            .route(web::get().to(primary))
            .route(web::head().to(primary))
            .default_service(super::allow("GET, HEAD")),
    )
    .service(
        web::resource("/replica")
            .route(web::get().to(replica))
            .route(web::head().to(replica))
            .default_service(super::allow("GET, HEAD")),
    );
}

#[utoipa::path(
    get,
    path = "/topology",
    tag = "cluster",
    responses(
        (status = 200, description = "This node's view of the cluster", body = Topology),
        Always,
    )
)]
pub(super) async fn topology(state: web::Data<AppState>) -> HttpResponse {
    let mut topo = state.topology().topology.clone();
    for m in &mut topo.members {
        m.applied_index = state.progress.member_applied(m.id);
        m.lag_ms = m.applied_index.and_then(|a| state.progress.lag_ms(a));
    }
    topo.commit_index = Some(state.progress.commit_index());
    HttpResponse::Ok().json(&topo)
}

fn role_body(state: &AppState) -> RoleAnswer {
    let view = state.topology();
    let topo = &view.topology;
    RoleAnswer {
        leader_id: topo.leader_id,
        node_id: state.node_id,
        role: topo.member(state.node_id).map(|m| m.role),
        term: topo.term,
    }
}

/// 200 when this node is the leader (balancers send writes here), else 503.
#[utoipa::path(
    get,
    path = "/primary",
    tag = "cluster",
    responses(
        (status = 200, description = "This node is the leader", body = RoleAnswer),
        (status = 503, description = "This node is not the leader (its role), or was removed (`removed`)", body = RoleOrError),
    )
)]
pub(super) async fn primary(state: web::Data<AppState>) -> HttpResponse {
    let body = role_body(&state);
    if state.engine.is_leader() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// 200 when this node is a replica (not the leader), else 503.
#[utoipa::path(
    get,
    path = "/replica",
    tag = "cluster",
    responses(
        (status = 200, description = "This node is not the leader", body = RoleAnswer),
        (status = 503, description = "This node is the leader (its role), or was removed (`removed`)", body = RoleOrError),
    )
)]
pub(super) async fn replica(state: web::Data<AppState>) -> HttpResponse {
    let body = role_body(&state);
    if state.engine.is_leader() {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "cluster",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
    )
)]
pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// A member publishing its URLs: the leader writes the record through Raft.
#[utoipa::path(
    post,
    path = "/internal/members",
    tag = "internal",
    security(("admin_token" = [])),
    request_body(content = MemberRecord, description = "A member publishing its URLs (sent to the leader by every node)"),
    responses(
        (status = 200, description = "Recorded through Raft", body = OkAnswer),
        AdminFailures,
        Always,
    )
)]
pub(super) async fn register_member(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    check_admin(&req, state.admin_token.as_deref())?;
    let body = read_body(&req, payload, 64 * 1024, state.request_timeout()).await?;
    let rec: MemberRecord = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("invalid_member", format!("bad member record: {e}")))?;
    if !state.engine.is_leader() {
        return Err(ApiError::NotLeader {
            leader_id: state.topology().topology.leader_id,
        });
    }
    match registry::write_record(&state.engine, &rec).await {
        Ok(()) => {
            state.view.do_send(RefreshRecords);
            Ok(HttpResponse::Ok().json(OkAnswer::OK))
        }
        Err(e) => Err(ApiError::Unavailable(format!(
            "could not record member: {e}"
        ))),
    }
}
