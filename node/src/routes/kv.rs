//! `/kv`: writes go to the leader (forwarded one hop from a follower); reads
//! are served locally (eventual) or by the leader (lease, linearizable).

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use d_engine_core::config::ReadConsistencyPolicy;
use serde_json::json;

use crate::config::Consistency;
use crate::engine::{classify, EngineFailure};
use crate::error::{ApiError, ApiResult};
use crate::forward;
use crate::state::{AppState, Forwarder};
use crate::validate::{self, read_body};

/// A validated write.
enum Write {
    Put { key: String, value: String },
    Delete { key: String },
}

/// Register the `/kv` routes; other methods get a JSON 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/kv")
            .route(web::post().to(post_kv))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/kv/{key:.*}")
            .route(web::get().to(get_kv))
            .route(web::put().to(put_kv))
            .route(web::delete().to(delete_kv))
            .default_service(web::to(super::method_not_allowed)),
    );
}

fn path_key(req: &HttpRequest) -> ApiResult<String> {
    // The router percent-decodes; a decoded key that is not UTF-8 is rejected there,
    // so re-decode the raw segment ourselves to report it precisely.
    let raw = req.uri().path().strip_prefix("/kv/").unwrap_or_default();
    let bytes: Vec<u8> = percent_decode(raw.as_bytes());
    String::from_utf8(bytes).map_err(|_| {
        ApiError::bad(
            "invalid_utf8",
            "key is not valid UTF-8 after percent-decoding",
        )
    })
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

async fn post_kv(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let body = read_body(
        &req,
        payload,
        state.limits.max_body,
        state.request_timeout(),
    )
    .await?;
    let (key, value) = validate::parse_post_body(&body, &state.limits)?;
    write(&state, &fwd, &req, body, Write::Put { key, value }).await
}

async fn put_kv(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let key = path_key(&req)?;
    validate::validate_key(&key, &state.limits)?;
    let body = read_body(
        &req,
        payload,
        state.limits.max_body,
        state.request_timeout(),
    )
    .await?;
    let value = validate::parse_put_body(&body, &state.limits)?;
    write(&state, &fwd, &req, body, Write::Put { key, value }).await
}

async fn delete_kv(
    req: HttpRequest,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let key = path_key(&req)?;
    validate::validate_key(&key, &state.limits)?;
    write(&state, &fwd, &req, Bytes::new(), Write::Delete { key }).await
}

async fn write(
    state: &AppState,
    fwd: &Forwarder,
    req: &HttpRequest,
    body: Bytes,
    op: Write,
) -> ApiResult<HttpResponse> {
    if state.engine.is_leader() {
        let client = state.engine.client();
        let result = match &op {
            Write::Put { key, value } => client.put(key.as_bytes(), value.as_bytes()).await,
            Write::Delete { key } => client.delete(key.as_bytes()).await,
        };
        match result {
            Ok(()) => return Ok(HttpResponse::Ok().json(json!({ "ok": true }))),
            Err(e) => match classify(e, state.engine_timeout_ms()) {
                EngineFailure::Api(err) => return Err(err),
                // Lost leadership mid-request: fall through and forward to the new leader.
                EngineFailure::NotLeader => {}
            },
        }
    }
    forward::to_leader(state, fwd, req, body, "write").await
}

async fn get_kv(
    req: HttpRequest,
    state: web::Data<AppState>,
    fwd: web::Data<Forwarder>,
) -> ApiResult<HttpResponse> {
    let key = path_key(&req)?;
    validate::validate_key(&key, &state.limits)?;
    let consistency =
        validate::parse_consistency(req.query_string(), state.settings.default_consistency)?;
    let policy = match consistency {
        Consistency::Eventual => ReadConsistencyPolicy::EventualConsistency,
        Consistency::Lease => ReadConsistencyPolicy::LeaseRead,
        Consistency::Linearizable => ReadConsistencyPolicy::LinearizableRead,
    };
    if consistency == Consistency::Eventual || state.engine.is_leader() {
        match state
            .engine
            .client()
            .get_with_consistency(key.as_bytes(), policy)
            .await
        {
            Ok(value) => return Ok(value_response(value)),
            Err(e) => match classify(e, state.engine_timeout_ms()) {
                EngineFailure::Api(err) => return Err(err),
                EngineFailure::NotLeader if consistency == Consistency::Eventual => {
                    return Err(ApiError::Unavailable("node cannot serve reads yet".into()))
                }
                EngineFailure::NotLeader => {}
            },
        }
    }
    forward::to_leader(&state, &fwd, &req, Bytes::new(), "read").await
}

fn value_response(value: Option<Bytes>) -> HttpResponse {
    match value {
        Some(v) => HttpResponse::Ok().json(json!({ "value": String::from_utf8_lossy(&v) })),
        None => HttpResponse::NotFound().json(json!({ "value": null })),
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"a%20b"), b"a b");
        assert_eq!(percent_decode(b"%ff"), vec![0xff]);
        assert_eq!(percent_decode(b"100%"), b"100%");
        assert_eq!(percent_decode(b"%zz"), b"%zz");
        assert_eq!(percent_decode(b"a%2"), b"a%2");
    }
}
