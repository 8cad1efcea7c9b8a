//! `/kv`: writes go to the leader (forwarded one hop from a follower); reads
//! are served locally (eventual) or by the leader (lease, linearizable).

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use d_engine::StateMachine;
use d_engine_core::client::ClientApi;
use d_engine_core::config::ReadConsistencyPolicy;
use kv_contract::headers::{APPLIED_INDEX, INDEX};
use kv_contract::kv::schema::{Key, Prefix};
use kv_contract::{
    CasBody, ErrorBody, ListAnswer, ListItem, OkAnswer, PostBody, PutBody, ValueAnswer,
};
use percent_encoding::percent_decode;
use utoipa::IntoParams;

use crate::config::Consistency;
use crate::disk::DiskState;
use crate::engine::{classify, EngineFailure};
use crate::error::{ApiError, ApiResult};
use crate::forward;
use crate::state::{AppState, Forwarder};
use crate::validate::{self, read_body, Limits};

use super::openapi::{Always, ReadFailures, WriteFailures};

/// A validated write.
enum Write {
    Put {
        key: String,
        value: String,
        ttl_secs: Option<u64>,
    },
    Delete {
        key: String,
    },
    /// Swap in `value` if the key holds `expected` (`None`: if it is absent).
    Cas {
        key: String,
        expected: Option<String>,
        value: String,
        ttl_secs: Option<u64>,
    },
}

/// Register the `/kv` routes; other methods get a JSON 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/kv")
            .route(web::post().to(post_kv))
            .route(web::get().to(list_kv))
            .default_service(super::allow("GET, POST")),
    )
    .service(
        web::resource("/kv/{key:.*}")
            .route(web::get().to(get_kv))
            .route(web::put().to(put_kv))
            .route(web::delete().to(delete_kv))
            .route(web::post().to(post_cas))
            .default_service(web::to(|req: HttpRequest| async move {
                Err::<HttpResponse, _>(ApiError::method_not_allowed(&req, key_methods(&req)))
            })),
    );
}

/// The methods `/kv/{key}` serves: POST only on `/kv/{key}/cas` (where
/// the others address the key `{key}/cas`).
fn key_methods(req: &HttpRequest) -> &'static str {
    if req.path().ends_with("/cas") {
        "GET, PUT, DELETE, POST"
    } else {
        "GET, PUT, DELETE"
    }
}

/// `{key}` in `/kv/{key}`, `/kv/{key}/cas` and `/watch/{key}` (for the
/// OpenAPI description; handlers read the raw path).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // only describes the path
pub(super) struct KeyPath {
    /// The key, percent-encoded (`%2F` or a plain `/` for a slash in the key).
    #[param(value_type = Key)]
    key: String,
}

/// The query of a read (`GET /kv/{key}`, `GET /kv`), for the description.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only describes the query
pub(super) struct ReadParams {
    /// How fresh the answer must be; absent: the node's `default_consistency`.
    consistency: Option<Consistency>,
    /// Eventual reads only: answer with state at or after this log index (a
    /// session's token), waiting up to the node's `min_index_wait_ms`, else 503
    /// `min_index_not_reached`. Ignored by lease and linearizable reads.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    min_index: Option<u64>,
}

/// The query of `GET /kv` besides [`ReadParams`], for the description.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only describes the query
pub(super) struct ListParams {
    /// Keys listed start with it; absent or empty: every key.
    #[param(value_type = Option<Prefix>)]
    prefix: Option<String>,
    /// Most items in the answer (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// The key from `/kv/{key}`, percent-decoded and checked (non-empty, UTF-8, within limits).
fn path_key(req: &HttpRequest, limits: &Limits) -> ApiResult<String> {
    let raw = req.uri().path().strip_prefix("/kv/").unwrap_or_default();
    decode_key(raw, limits)
}

/// Decode and check a raw (percent-encoded) key segment.
pub(super) fn decode_key(raw: &str, limits: &Limits) -> ApiResult<String> {
    // Decode the raw segment ourselves, so a key that is not UTF-8 after
    // decoding gets a precise `invalid_utf8` instead of the router's answer.
    let bytes: Vec<u8> = percent_decode(raw.as_bytes()).collect();
    let key = String::from_utf8(bytes).map_err(|_| {
        ApiError::bad(
            "invalid_utf8",
            "key is not valid UTF-8 after percent-decoding",
        )
    })?;
    validate::validate_key(&key, limits)?;
    Ok(key)
}

/// A write's body, within the node's size limit and request deadline.
async fn request_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> ApiResult<Bytes> {
    read_body(req, payload, state.limits.max_body, state.request_timeout()).await
}

#[utoipa::path(
    post,
    path = "/kv",
    tag = "kv",
    request_body = PostBody,
    responses(
        (status = 200, description = "Applied: the leader answered once it had applied the write", body = OkAnswer,
            headers(("x-kv-index" = u64, description = "A log index at or after the write's, applied on the leader"))),
        WriteFailures,
        Always,
    )
)]
pub(super) async fn post_kv(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let body = request_body(&req, payload, &state).await?;
    let (key, value, ttl_secs) = validate::parse_post_body(&body, &state.limits)?;
    let put = Write::Put {
        key,
        value,
        ttl_secs,
    };
    write(&state, &fwd, &req, body, put).await
}

#[utoipa::path(
    put,
    path = "/kv/{key}",
    tag = "kv",
    params(KeyPath),
    request_body = PutBody,
    responses(
        (status = 200, description = "Applied: the leader answered once it had applied the write", body = OkAnswer,
            headers(("x-kv-index" = u64, description = "A log index at or after the write's, applied on the leader"))),
        WriteFailures,
        Always,
    )
)]
pub(super) async fn put_kv(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let key = path_key(&req, &state.limits)?;
    let body = request_body(&req, payload, &state).await?;
    let (value, ttl_secs) = validate::parse_put_body(&body, &state.limits)?;
    let put = Write::Put {
        key,
        value,
        ttl_secs,
    };
    write(&state, &fwd, &req, body, put).await
}

/// `POST /kv/{key}/cas` `{"expected": "old" | null, "value": "new"}`: 200
/// `{"ok":true}` when swapped, 409 `cas_failed` when the key held something
/// else. A POST on any other `/kv/{key}` path is a 405.
#[utoipa::path(
    post,
    path = "/kv/{key}/cas",
    tag = "kv",
    params(KeyPath),
    request_body = CasBody,
    responses(
        (status = 200, description = "Swapped", body = OkAnswer,
            headers(("x-kv-index" = u64, description = "A log index at or after the swap's, applied on the leader"))),
        (status = 409, description = "`cas_failed`: the key held another value; nothing was written", body = ErrorBody),
        WriteFailures,
        Always,
    )
)]
pub(super) async fn post_cas(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let raw = req.uri().path().strip_prefix("/kv/").unwrap_or_default();
    let Some(raw_key) = raw.strip_suffix("/cas") else {
        return Err(ApiError::method_not_allowed(&req, key_methods(&req)));
    };
    let key = decode_key(raw_key, &state.limits)?;
    let body = request_body(&req, payload, &state).await?;
    let (expected, value, ttl_secs) = validate::parse_cas_body(&body, &state.limits)?;
    let cas = Write::Cas {
        key,
        expected,
        value,
        ttl_secs,
    };
    write(&state, &fwd, &req, body, cas).await
}

#[utoipa::path(
    delete,
    path = "/kv/{key}",
    tag = "kv",
    params(KeyPath),
    responses(
        (status = 200, description = "Deleted (also when the key did not exist)", body = OkAnswer,
            headers(("x-kv-index" = u64, description = "A log index at or after the delete's, applied on the leader"))),
        WriteFailures,
        Always,
    )
)]
pub(super) async fn delete_kv(
    req: HttpRequest,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let key = path_key(&req, &state.limits)?;
    write(&state, &fwd, &req, Bytes::new(), Write::Delete { key }).await
}

/// Applies `op` on this node's engine (the leader); `Ok(false)` when a
/// compare-and-swap found another value.
async fn apply(state: &AppState, op: &Write) -> Result<bool, d_engine::ClientApiError> {
    let client = state.engine.client();
    match op {
        Write::Put {
            key,
            value,
            ttl_secs: None,
        } => client
            .put(key.as_bytes(), value.as_bytes())
            .await
            .map(|()| true),
        Write::Put {
            key,
            value,
            ttl_secs: Some(ttl),
        } => ClientApi::put_with_ttl(&*client, key.as_bytes(), value.as_bytes(), *ttl)
            .await
            .map(|()| true),
        Write::Delete { key } => client.delete(key.as_bytes()).await.map(|()| true),
        Write::Cas {
            key,
            expected,
            value,
            ttl_secs,
        } => {
            client
                .compare_and_swap_with_ttl(
                    key.as_bytes(),
                    expected.as_ref().map(String::as_bytes),
                    value.as_bytes(),
                    *ttl_secs,
                )
                .await
        }
    }
}

async fn write(
    state: &AppState,
    fwd: &Forwarder,
    req: &HttpRequest,
    body: Bytes,
    op: Write,
) -> ApiResult<HttpResponse> {
    // d-engine would accept a TTL write with TTLs off and then fail to apply
    // it on every node: refuse it here.
    if matches!(
        op,
        Write::Put {
            ttl_secs: Some(_),
            ..
        } | Write::Cas {
            ttl_secs: Some(_),
            ..
        }
    ) && !state.ttl_enabled
    {
        return Err(ApiError::bad(
            "ttl_disabled",
            "keys with a TTL are off on this cluster: set [raft.state_machine.lease] enabled = true \
             in every node's config",
        ));
    }
    if state.engine.is_leader() {
        state.may_propose()?;
        let applied = apply(state, &op).await;
        if let (Err(_), DiskState::Failed(reason)) = (&applied, state.disk.state()) {
            return Err(state.storage_failed(reason, true));
        }
        match applied {
            // The leader answers a write once it has applied it, so its applied
            // index now is at or after this write's index: a client that reads
            // with `min_index` set to it sees the write.
            Ok(true) => {
                return Ok(HttpResponse::Ok()
                    .insert_header((INDEX, state.progress.applied()))
                    .json(OkAnswer::OK))
            }
            Ok(false) => {
                return Err(ApiError::Conflict {
                    code: kv_contract::kv::CAS_FAILED,
                    message: "the key does not hold the expected value; nothing was written".into(),
                })
            }
            Err(e) => match classify(e, state.engine_timeout_ms()) {
                EngineFailure::Api(err) => return Err(err),
                // Lost leadership mid-request: fall through and forward to the new leader.
                EngineFailure::NotLeader => {}
            },
        }
    }
    forward::to_leader(state, fwd, req, body, "write").await
}

#[utoipa::path(
    get,
    path = "/kv/{key}",
    tag = "kv",
    params(KeyPath, ReadParams),
    responses(
        (status = 200, description = "The value", body = ValueAnswer,
        headers(("x-kv-applied-index" = u64, description = "The serving node's applied index after the read"))),
        (status = 404, description = "No such key: `{\"value\":null}`", body = ValueAnswer,
        headers(("x-kv-applied-index" = u64, description = "The serving node's applied index after the read"))),
        ReadFailures,
        Always,
    )
)]
pub(super) async fn get_kv(
    req: HttpRequest,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let key = path_key(&req, &state.limits)?;
    let query = validate::parse_read_query(req.query_string(), state.settings.default_consistency)?;
    let consistency = query.consistency;
    let policy = match consistency {
        Consistency::Eventual => ReadConsistencyPolicy::EventualConsistency,
        Consistency::Lease => ReadConsistencyPolicy::LeaseRead,
        Consistency::Linearizable => ReadConsistencyPolicy::LinearizableRead,
    };
    // The `x-kv-applied-index` of a read is this node's applied index taken
    // after the read: the value may come from an entry applied while the read
    // ran, and a session that continues from a smaller index could then see
    // an older value on another node.
    if consistency == Consistency::Eventual {
        if let Some(min_index) = query.min_index {
            wait_for_index(&state, min_index).await?;
        }
        // What d-engine's own eventual read does (`StateMachine::get` on the
        // local state machine), without queueing behind the Raft loop.
        let value = state
            .state_machine
            .get(key.as_bytes())
            .map_err(|e| ApiError::Internal(format!("state machine read failed: {e}")))?;
        return Ok(value_response(value, state.progress.applied()));
    }
    if state.engine.is_leader() {
        match state
            .engine
            .client()
            .get_with_consistency(key.as_bytes(), policy)
            .await
        {
            Ok(value) => return Ok(value_response(value, state.progress.applied())),
            Err(e) => match classify(e, state.engine_timeout_ms()) {
                EngineFailure::Api(err) => return Err(err),
                EngineFailure::NotLeader => {}
            },
        }
    }
    forward::to_leader(&state, &fwd, &req, Bytes::new(), "read").await
}

/// `GET /kv?prefix=p&limit=N`: the keys starting with `p`, sorted, at most
/// `N`. Eventual listings are served from this node's state machine (after
/// `min_index`, as reads). Lease and linearizable listings run on the leader:
/// a read of the same consistency confirms leadership and waits until the
/// state machine has applied the read index, then the state machine is
/// scanned, so the listing reflects at least every write acknowledged before
/// it started. (d-engine's own prefix scan reads the leader's state machine
/// without that confirmation.)
#[utoipa::path(
    get,
    path = "/kv",
    tag = "kv",
    params(ListParams, ReadParams),
    responses(
        (status = 200, description = "The first `limit` keys with the prefix, sorted by their bytes", body = ListAnswer,
        headers(("x-kv-applied-index" = u64, description = "The serving node's applied index after the read"))),
        ReadFailures,
        Always,
    )
)]
pub(super) async fn list_kv(
    req: HttpRequest,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let query = validate::parse_list_query(
        req.query_string(),
        state.settings.default_consistency,
        &state.limits,
    )?;
    let policy = match query.read.consistency {
        Consistency::Eventual => {
            if let Some(min_index) = query.read.min_index {
                wait_for_index(&state, min_index).await?;
            }
            return list_response(&state, &query.prefix, query.limit);
        }
        Consistency::Lease => ReadConsistencyPolicy::LeaseRead,
        Consistency::Linearizable => ReadConsistencyPolicy::LinearizableRead,
    };
    if state.engine.is_leader() {
        // The barrier: any key will do, the answer is not used.
        let barrier = state
            .engine
            .client()
            .get_with_consistency(query.prefix.as_bytes(), policy)
            .await;
        match barrier {
            Ok(_) => return list_response(&state, &query.prefix, query.limit),
            Err(e) => match classify(e, state.engine_timeout_ms()) {
                EngineFailure::Api(err) => return Err(err),
                EngineFailure::NotLeader => {}
            },
        }
    }
    forward::to_leader(&state, &fwd, &req, Bytes::new(), "read").await
}

/// This node's keys starting with `prefix` (API keys only), sorted, at most
/// `limit`, with the applied index taken after the scan (as for reads).
fn list_response(state: &AppState, prefix: &str, limit: usize) -> ApiResult<HttpResponse> {
    let scan = state
        .state_machine
        .scan_prefix(prefix.as_bytes())
        .map_err(|e| ApiError::Internal(format!("state machine scan failed: {e}")))?;
    let mut entries = scan.entries;
    // Only the API's key space: UTF-8 keys. The node's own records live
    // under a 0xFF prefix (`registry::RECORD_PREFIX`), which is not UTF-8.
    entries.retain(|(k, _)| std::str::from_utf8(k).is_ok());
    let truncated = entries.len() > limit;
    if truncated {
        entries.select_nth_unstable_by(limit - 1, |a, b| a.0.cmp(&b.0));
        entries.truncate(limit);
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let items = entries
        .into_iter()
        .map(|(k, v)| ListItem {
            key: String::from_utf8_lossy(&k).into_owned(),
            value: String::from_utf8_lossy(&v).into_owned(),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((APPLIED_INDEX, state.progress.applied()))
        .json(ListAnswer { items, truncated }))
}

/// This node's applied index once it is at least `min_index`, waiting up to
/// `node.min_index_wait_ms`. When the wait runs out the read fails with a
/// retryable 503 `min_index_not_reached` rather than being forwarded to the
/// leader: the client picks another node from its topology (possibly a
/// fresh follower), the leader takes no hidden load exactly when followers
/// lag, and a `curl` user sees why.
async fn wait_for_index(state: &AppState, min_index: u64) -> ApiResult<u64> {
    let max_wait = Duration::from_millis(state.settings.min_index_wait_ms);
    let started = Instant::now();
    state
        .progress
        .wait_applied(min_index, max_wait)
        .await
        .map_err(|applied| {
            metrics::counter!("kv_min_index_not_reached_total").increment(1);
            ApiError::MinIndexNotReached {
                applied,
                min_index,
                waited_ms: started.elapsed().as_millis() as u64,
            }
        })
}

fn value_response(value: Option<Bytes>, applied: u64) -> HttpResponse {
    let mut resp = match value {
        Some(_) => HttpResponse::Ok(),
        None => HttpResponse::NotFound(),
    };
    let body = ValueAnswer {
        value: value.map(|v| String::from_utf8_lossy(&v).into_owned()),
    };
    resp.insert_header((APPLIED_INDEX, applied)).json(body)
}

#[cfg(test)]
mod tests {
    use super::path_key;
    use crate::validate::Limits;
    use actix_web::test::TestRequest;

    const LIMITS: Limits = Limits {
        max_key: 8,
        max_value: 16,
        max_body: 1024,
    };

    fn key(path: &str) -> Result<String, &'static str> {
        path_key(&TestRequest::with_uri(path).to_http_request(), &LIMITS).map_err(|e| e.code())
    }

    #[test]
    fn path_keys_are_decoded_and_checked() {
        assert_eq!(key("/kv/a%20b"), Ok("a b".into()));
        assert_eq!(key("/kv/100%"), Ok("100%".into()));
        assert_eq!(key("/kv/%zz"), Ok("%zz".into()));
        assert_eq!(key("/kv/a%2"), Ok("a%2".into()));
        assert_eq!(key("/kv/a%2Fb"), Ok("a/b".into()));
        assert_eq!(key("/kv/%ff"), Err("invalid_utf8"));
        assert_eq!(key("/kv/"), Err("empty_key"));
        assert_eq!(key("/kv/123456789"), Err("key_too_large"));
    }
}
