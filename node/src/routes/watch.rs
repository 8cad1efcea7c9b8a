//! `/watch`: the changes of one key (`GET /watch/{key}`) or of every key
//! under a directory-style prefix (`GET /watch?prefix=/app/`: it must start
//! and end with `/`, as d-engine requires) as Server-Sent Events, in the order
//! this node applies them (any node serves watches: followers apply every
//! change too).
//!
//! The answer's `x-kv-applied-index` is the node's applied index once the
//! watch was registered: every change with a higher index is sent. Each
//! change is one event, `id:` its index and `data:` a
//! [`kv_contract::WatchEvent`] in JSON; a comment line every
//! [`KEEPALIVE`] keeps proxies and clients from timing out an idle stream.
//! A consumer that reads too slowly does not stall the node: once its buffer
//! (d-engine's `[raft.watch] watcher_buffer_size`, 256 events by default) is
//! full, the watch ends with an `event: canceled` and the client must
//! re-read the state (events may have been missed). Every watch of the node
//! ends that way when d-engine's shared watch queue overflows (engine patch
//! 22; before it, those events were dropped without a sign).

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use d_engine_core::watch::{WatchEventType, WatcherHandle};
use futures_util::stream;
use kv_contract::headers::APPLIED_INDEX;
use kv_contract::kv::schema::WatchPrefix;
use kv_contract::kv::WATCH_CANCELED;
use kv_contract::{ErrorBody, WatchEvent, WatchKind};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::validate;

use super::openapi::{Always, WatchSse};

/// The description of a watch's 200 answer.
const WATCH_STREAM: &str = "Server-Sent Events until the client leaves: one `data:` per change, \
a JSON `WatchEvent` (`{\"kind\":\"put\"|\"delete\",\"key\",\"value\",\"index\"}`, `id:` the index), \
keep-alive comments, and a last `event: canceled` if the client fell too far behind";

/// Interval of the keep-alive comments of an idle watch.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// Register `/watch` and `/watch/{key}`; other methods get a JSON 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/watch")
            .route(web::get().to(watch_prefix))
            .default_service(super::allow("GET")),
    )
    .service(
        web::resource("/watch/{key:.*}")
            .route(web::get().to(watch_key))
            .default_service(super::allow("GET")),
    );
}

#[utoipa::path(
    get,
    path = "/watch/{key}",
    tag = "watch",
    params(super::kv::KeyPath),
    responses(
        (status = 200, description = WATCH_STREAM, content_type = "text/event-stream", body = WatchSse,
            headers(("x-kv-applied-index" = u64, description = "This node's applied index once the watch was registered: every later change is sent"))),
        (status = 400, description = "`empty_key`, `invalid_utf8`", body = ErrorBody),
        (status = 413, description = "`key_too_large`", body = ErrorBody),
        Always,
    )
)]
pub(super) async fn watch_key(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let raw = req.uri().path().strip_prefix("/watch/").unwrap_or_default();
    let key = super::kv::decode_key(raw, &state.limits)?;
    let handle = state.engine.client().watch(key.as_bytes());
    respond(
        handle,
        state.progress.applied(),
        format!("watching key {key:?}"),
    )
}

#[utoipa::path(
    get,
    path = "/watch",
    tag = "watch",
    params(("prefix" = WatchPrefix, Query, description = "A directory-style prefix: starts and ends with `/`")),
    responses(
        (status = 200, description = WATCH_STREAM, content_type = "text/event-stream", body = WatchSse,
            headers(("x-kv-applied-index" = u64, description = "This node's applied index once the watch was registered: every later change is sent"))),
        (status = 400, description = "`invalid_prefix` (not `/…/`), `prefix_too_large`, `invalid_query`", body = ErrorBody),
        Always,
    )
)]
pub(super) async fn watch_prefix(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let prefix = validate::parse_prefix_query(req.query_string(), &state.limits)?;
    // d-engine 0.2.4 watches directory-style prefixes only.
    if !(prefix.starts_with('/') && prefix.ends_with('/')) {
        return Err(ApiError::bad(
            "invalid_prefix",
            format!(
                "a watched prefix must start and end with '/' (like /app/config/), got {prefix:?}"
            ),
        ));
    }
    let handle = state.engine.client().watch_prefix(prefix.as_bytes());
    respond(
        handle,
        state.progress.applied(),
        format!("watching prefix {prefix:?}"),
    )
}

/// The SSE answer over `handle`, or a 503 when the node cannot register a
/// watch (d-engine's `max_watcher_count` reached). `applied` is this node's
/// applied index read *after* the watch was registered, sent as
/// `x-kv-applied-index`: every change with a higher index reaches the stream,
/// so a client that re-subscribes knows which range it may have missed.
fn respond(
    handle: Result<WatcherHandle, d_engine::ClientApiError>,
    applied: u64,
    what: String,
) -> ApiResult<HttpResponse> {
    let handle = handle.map_err(|e| ApiError::Unavailable(format!("cannot watch: {e}")))?;
    let opening = Bytes::from(format!(": {what}\n\n"));
    let events = stream::unfold(Some(handle), |handle| async move {
        let mut handle = handle?;
        let chunk = match tokio::time::timeout(KEEPALIVE, handle.receiver_mut().recv()).await {
            Err(_) => Bytes::from_static(b": keep-alive\n\n"),
            Ok(None) => return None,
            Ok(Some(event)) => match event.event_type {
                WatchEventType::Put | WatchEventType::Delete => sse_event(&event),
                WatchEventType::Progress => {
                    Bytes::from(format!(": progress {}\n\n", event.revision))
                }
                WatchEventType::Canceled => {
                    let last = Bytes::from(format!(
                        "event: {WATCH_CANCELED}\ndata: {{\"reason\":\"the watch fell behind; events may have been missed\"}}\n\n"
                    ));
                    return Some((Ok::<_, actix_web::Error>(last), None));
                }
            },
        };
        Some((Ok(chunk), Some(handle)))
    });
    let body = futures_util::StreamExt::chain(stream::once(async move { Ok(opening) }), events);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header((APPLIED_INDEX, applied))
        .streaming(body))
}

/// One change as an SSE event: `id:` and `data:` lines.
fn sse_event(event: &d_engine_core::watch::WatchEvent) -> Bytes {
    let text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    let kind = if event.event_type == WatchEventType::Put {
        WatchKind::Put
    } else {
        WatchKind::Delete
    };
    let body = WatchEvent {
        kind,
        key: text(&event.key),
        value: (kind == WatchKind::Put).then(|| text(&event.value)),
        index: event.revision,
    };
    let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("id: {}\ndata: {json}\n\n", event.revision))
}
