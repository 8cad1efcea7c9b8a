//! `GET /openapi.json`: the OpenAPI 3.1 description of the HTTP API,
//! generated from the handlers' `#[utoipa::path]` attributes and the wire
//! contract's types (`kv-contract`'s `openapi` feature), with this node's size
//! limits filled in.
//!
//! Every status a handler can answer is declared. Answers every operation may
//! give are declared on each: 500 (a bug), 503 `removed` (a node that was
//! removed from the cluster answers nothing else). A method a path does not
//! declare answers 405 with an `Allow` header.

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use kv_contract::kv::schema::{Key, Prefix, ValueText, WatchPrefix, WATCH_PREFIX_PATTERN};
use kv_contract::ErrorBody;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::validate::Limits;

/// The description, served as built at startup.
pub struct Description(pub Bytes);

/// Register `GET /openapi.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi_json))
            .default_service(super::allow("GET")),
    );
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "cluster",
    responses(
        (status = 200, description = "This description (OpenAPI 3.1)", content_type = "application/json", body = Object),
        Always,
    )
)]
pub(super) async fn openapi_json(doc: web::Data<Description>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// The description with this node's limits in the `Key`, `Value` and
/// `Prefix` schemas (`maxLength`: their byte limits).
pub fn build(limits: &Limits) -> Bytes {
    let mut doc = ApiDoc::openapi();
    if let Some(components) = doc.components.as_mut() {
        for (name, max, min, pattern) in [
            (<Key as ToSchema>::name(), limits.max_key, Some(1), None),
            (
                <ValueText as ToSchema>::name(),
                limits.max_value,
                None,
                None,
            ),
            (<Prefix as ToSchema>::name(), limits.max_key, None, None),
            (
                <WatchPrefix as ToSchema>::name(),
                limits.max_key,
                Some(1),
                Some(WATCH_PREFIX_PATTERN),
            ),
        ] {
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(min)
                .max_length(Some(max))
                .pattern(pattern)
                .description(Some(format!(
                    "UTF-8, at most {max} bytes on this node (maxLength counts one byte per \
                     character, as for ASCII; a longer UTF-8 encoding is refused too)"
                )));
            components.schemas.insert(name.into_owned(), schema.into());
        }
    }
    Bytes::from(doc.to_json().expect("the OpenAPI description serializes"))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kv-node",
        description = "A Raft-replicated key-value service (d-engine). Every node serves the whole \
API: a write on a follower is forwarded one hop to the leader, an eventual read is served locally. \
Every answer names the node that served it and the leader it knows in `x-kv-node`, `x-kv-leader`, \
`x-kv-leader-url` and `x-kv-term` headers. Every error is JSON `{\"error\":\"<code>\",\"message\":\"…\"}`. \
A method a path does not declare answers 405 with an `Allow` header; an unknown path answers 404."
    ),
    paths(
        super::kv::post_kv,
        super::kv::list_kv,
        super::kv::get_kv,
        super::kv::put_kv,
        super::kv::delete_kv,
        super::kv::post_cas,
        super::watch::watch_key,
        super::watch::watch_prefix,
        super::cluster::topology,
        super::cluster::primary,
        super::cluster::replica,
        super::cluster::metrics,
        super::cluster::register_member,
        super::admin::promote,
        super::admin::remove,
        super::admin::removed_notice,
        openapi_json,
    ),
    components(schemas(kv_contract::Consistency)),
    modifiers(&AdminToken),
    tags(
        (name = "kv", description = "Keys and values"),
        (name = "watch", description = "Server-Sent Events streams of changes"),
        (name = "cluster", description = "Topology, health checks for balancers, metrics"),
        (name = "admin", description = "Membership changes (bearer token)"),
        (name = "internal", description = "Between nodes (bearer token)"),
    )
)]
struct ApiDoc;

/// Name of the bearer scheme of `/admin/*` and `/internal/*`.
const ADMIN_TOKEN: &str = "admin_token";

/// Declares [`ADMIN_TOKEN`]: `Authorization: Bearer <node.admin_token>`.
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "The node's `admin_token`. A node without one accepts loopback peers only, with or \
             without a token."
                .into(),
        );
        components.add_security_scheme(ADMIN_TOKEN, SecurityScheme::Http(scheme));
    }
}

/// What every operation may answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only describes answers
pub(super) enum Always {
    /// A bug or an unexpected engine failure (`internal`)
    #[response(status = 500)]
    Internal(#[to_schema] ErrorBody),
    /// `removed` (this node was removed from the cluster), `storage_failed` (a fsync or
    /// write of its storage failed; `outcome` says whether a write may have been
    /// applied), or: `no_leader`, `not_leader`, `unavailable`, `min_index_not_reached`
    /// where the operation can meet them; retry, on another node for `removed`,
    /// `storage_failed` and `min_index_not_reached`
    #[response(status = 503)]
    Unavailable(#[to_schema] ErrorBody),
}

/// What a write or an admin request may also answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only describes answers
pub(super) enum WriteFailures {
    /// Malformed input: `empty_body`, `invalid_json`, `invalid_body`, `missing_field`,
    /// `invalid_field`, `invalid_ttl`, `ttl_disabled`, `empty_key`, `invalid_utf8`
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// The body did not arrive within the node's request timeout (`request_timeout`)
    #[response(status = 408)]
    RequestTimeout(#[to_schema] ErrorBody),
    /// Body, key or value over the node's limits (`payload_too_large`, `key_too_large`,
    /// `value_too_large`)
    #[response(status = 413)]
    TooLarge(#[to_schema] ErrorBody),
    /// The leader could not be reached to forward to (`leader_unreachable`): not applied
    #[response(status = 502)]
    LeaderUnreachable(#[to_schema] ErrorBody),
    /// `storage_full`, with `"outcome":"not_applied"`: the leader's disk is full; writes
    /// resume by themselves once space is freed
    #[response(status = 507)]
    StorageFull(#[to_schema] ErrorBody),
    /// `timeout` or `outcome_unknown`, with `"outcome":"unknown"`: the write may or may
    /// not have been applied
    #[response(status = 504)]
    OutcomeUnknown(#[to_schema] ErrorBody),
}

/// What an admin or internal request may also answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only describes answers
pub(super) enum AdminFailures {
    /// Malformed input: `invalid_json`, `missing_field`, `invalid_field`, `invalid_member`,
    /// `empty_body`, `invalid_body`
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// `unauthorized`: missing or wrong bearer token (or, without a token configured, a
    /// peer that is not on loopback)
    #[response(status = 401)]
    Unauthorized(#[to_schema] ErrorBody),
    /// The body did not arrive within the node's request timeout (`request_timeout`)
    #[response(status = 408)]
    RequestTimeout(#[to_schema] ErrorBody),
    /// The body is over the endpoint's limit (`payload_too_large`)
    #[response(status = 413)]
    TooLarge(#[to_schema] ErrorBody),
}

/// What a membership change may also answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only describes answers
pub(super) enum ChangeFailures {
    /// The cluster's state does not allow it: `unknown_node`, `not_caught_up`,
    /// `change_in_progress`
    #[response(status = 409)]
    Conflict(#[to_schema] ErrorBody),
    /// The leader could not be reached to forward to (`leader_unreachable`)
    #[response(status = 502)]
    LeaderUnreachable(#[to_schema] ErrorBody),
    /// `storage_full`, with `"outcome":"not_applied"`: the leader's disk is full; writes
    /// resume by themselves once space is freed
    #[response(status = 507)]
    StorageFull(#[to_schema] ErrorBody),
    /// `timeout` or `outcome_unknown`: the change may or may not have been made
    #[response(status = 504)]
    Timeout(#[to_schema] ErrorBody),
}

/// What a read may also answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only describes answers
pub(super) enum ReadFailures {
    /// Malformed input: `invalid_query`, `invalid_consistency`, `invalid_min_index`,
    /// `invalid_limit`, `prefix_too_large`, `empty_key`, `invalid_utf8`
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// The key is over the node's limit (`key_too_large`)
    #[response(status = 413)]
    TooLarge(#[to_schema] ErrorBody),
    /// A lease or linearizable read could not be forwarded to the leader (`leader_unreachable`)
    #[response(status = 502)]
    LeaderUnreachable(#[to_schema] ErrorBody),
    /// `storage_full`, with `"outcome":"not_applied"`: the leader's disk is full; writes
    /// resume by themselves once space is freed
    #[response(status = 507)]
    StorageFull(#[to_schema] ErrorBody),
    /// A lease or linearizable read timed out (`timeout`, `outcome_unknown`)
    #[response(status = 504)]
    Timeout(#[to_schema] ErrorBody),
}

/// Answer of `/primary` and `/replica` when the check fails: the node's role,
/// or the error body of a removed node.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only describes answers
pub(super) enum RoleOrError {
    /// The node's role (the check failed).
    Role(kv_contract::RoleAnswer),
    /// This node was removed (`removed`).
    Error(ErrorBody),
}

/// One Server-Sent Event of a watch (`text/event-stream`), as OpenAPI 3.1
/// describes an event stream: each event is an object.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes answers
pub(super) struct WatchSse {
    /// A change: a JSON `WatchEvent` (`{"kind":"put"|"delete","key","value","index"}`);
    /// on the last event of a watch the node ended, `{"reason":"…"}`.
    data: String,
    /// `message` for a change, `canceled` for the last event of a watch whose
    /// consumer fell too far behind (events may have been missed).
    event: SseEventName,
    /// The change's log index (also in `data`).
    #[schema(pattern = "^[0-9]+$")]
    id: Option<String>,
}

/// The `event:` of a watch's Server-Sent Event.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // only describes answers
pub(super) enum SseEventName {
    /// A change (the SSE default event name).
    Message,
    /// The node ended the watch.
    Canceled,
}
