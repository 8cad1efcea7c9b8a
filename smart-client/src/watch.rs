//! Watches that survive the death of the node they are connected to.
//!
//! A [`Watch`] reads one node's `GET /watch/{key}` (or `/watch?prefix=`)
//! Server-Sent Events. When the stream ends (the node died, restarted, or
//! ended the watch because it fell behind: `event: canceled`), it subscribes
//! again on another member, then on the next, with a short backoff.
//!
//! Gaps: each subscription's answer carries `x-kv-applied-index` = the
//! node's applied index once the watch was registered there; every change
//! with a higher index reaches the new stream. With `seen` the highest index
//! already delivered (or the start index), a new subscription at `a`
//! delivers every change after `max(seen, a)`, so:
//!
//! * `a <= seen` (the new node is not ahead of what was seen): nothing is
//!   lost; events it sends again (index `<= seen`) are skipped, and the
//!   stream resumes without a gap;
//! * `a > seen`: changes with an index in `(seen, a]` may have happened
//!   while no stream was open, and the watch yields
//!   [`WatchItem::Missed`]` { after: seen, until: a }` before going on. The
//!   application re-reads what it watches (for example with a linearizable
//!   read) and carries on.
//!
//! The stream is plain HTTP/1.1 over a tokio `TcpStream` (no awc), so a
//! watch is `Send` and runs on the caller's runtime; the task ends when the
//! [`Watch`] is dropped.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use kv_contract::kv::WATCH_CANCELED;
use kv_contract::{headers, WatchEvent};

use crate::error::{Error, Result};
use crate::shared::Shared;
use crate::topology::Member;

/// What a [`Watch`] yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchItem {
    /// One change, in log order (indexes strictly increase).
    Event(WatchEvent),
    /// The watch moved to another subscription and changes with an index in
    /// `(after, until]` may not have been delivered: re-read the watched
    /// state. Events after `until` follow without a gap.
    Missed {
        /// Highest index delivered before the gap (or the start index).
        after: u64,
        /// Applied index of the node the watch re-subscribed on.
        until: u64,
    },
}

/// A stream of [`WatchItem`]s (`futures::Stream`, or [`Watch::next`]).
/// Dropping it ends the watch.
pub struct Watch {
    items: mpsc::Receiver<WatchItem>,
    start: u64,
    node: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    /// The index the watch started at: every change after it is delivered
    /// (or announced by [`WatchItem::Missed`]).
    #[must_use]
    pub fn start_index(&self) -> u64 {
        self.start
    }

    /// API URL of the member the watch reads from now.
    #[must_use]
    pub fn node_url(&self) -> String {
        self.node
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The next item; `None` only once the client is shut down.
    pub async fn next(&mut self) -> Option<WatchItem> {
        self.items.recv().await
    }
}

impl futures_core::Stream for Watch {
    type Item = WatchItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchItem>> {
        self.items.poll_recv(cx)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("start", &self.start).finish()
    }
}

/// Items buffered between the connection task and the application; a full
/// buffer holds the task back (and then the node ends the watch, which
/// surfaces as [`WatchItem::Missed`]).
const BUFFER: usize = 1024;
/// Longest wait between two subscription attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Subscribes on the first member that accepts `path` (`/watch/...`), then
/// hands the stream to a task that re-subscribes whenever it ends.
pub(crate) async fn start(shared: Arc<Shared>, path: String) -> Result<Watch> {
    let timeout = shared.config.request_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut rotation = 0usize;
    let (stream, start, url) = loop {
        match subscribe_any(&shared, &path, &mut rotation).await {
            Ok(ok) => break ok,
            Err(e) if is_client_error(&e) => return Err(e),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(Error::Unavailable {
                    last_error: format!("no member accepted the watch: {e}"),
                })
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let (tx, rx) = mpsc::channel(BUFFER);
    let node = Arc::new(Mutex::new(url));
    let task = tokio::spawn(run(shared, path, stream, start, rotation, node.clone(), tx));
    Ok(Watch {
        items: rx,
        start,
        node,
        task,
    })
}

fn is_client_error(e: &Error) -> bool {
    matches!(e, Error::BadRequest { .. })
}

/// Reads `stream`, re-subscribing whenever it ends, until the receiver is gone.
async fn run(
    shared: Arc<Shared>,
    path: String,
    mut stream: SseStream,
    start: u64,
    mut rotation: usize,
    node: Arc<Mutex<String>>,
    tx: mpsc::Sender<WatchItem>,
) {
    let mut seen = start;
    loop {
        // Deliver until this stream ends.
        loop {
            tokio::select! {
                () = tx.closed() => return,
                event = stream.next_event() => match event {
                    Some(SseEvent::Change(event)) => {
                        if event.index <= seen {
                            continue; // already delivered by an earlier stream
                        }
                        seen = event.index;
                        if tx.send(WatchItem::Event(event)).await.is_err() {
                            return;
                        }
                    }
                    Some(SseEvent::Canceled) | None => break,
                },
            }
        }
        // Subscribe again, on the next member first.
        rotation = rotation.wrapping_add(1);
        let mut backoff = Duration::from_millis(50);
        stream = loop {
            if shared.is_closed() || tx.is_closed() {
                return;
            }
            match subscribe_any(&shared, &path, &mut rotation).await {
                Ok((stream, applied, url)) => {
                    *node.lock().unwrap_or_else(PoisonError::into_inner) = url;
                    if applied > seen {
                        let gap = WatchItem::Missed {
                            after: seen,
                            until: applied,
                        };
                        seen = applied;
                        if tx.send(gap).await.is_err() {
                            return;
                        }
                    }
                    break stream;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "watch: re-subscribe failed");
                    tokio::select! {
                        () = tx.closed() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
    }
}

/// Tries each known member once, starting at `rotation`: followers first
/// (a watch is long-lived; it stays off the leader), then the leader, then
/// the seeds. On success `rotation` names the member that answered.
async fn subscribe_any(
    shared: &Shared,
    path: &str,
    rotation: &mut usize,
) -> Result<(SseStream, u64, String)> {
    let view = shared.cache.members();
    let (leader, followers): (Vec<&Member>, Vec<&Member>) = view
        .members
        .iter()
        .filter(|m| m.api_url.is_some())
        .partition(|m| Some(m.id) == view.leader_id);
    let mut urls: Vec<String> = followers
        .iter()
        .chain(leader.iter())
        .filter_map(|m| m.api_url.clone())
        .collect();
    for seed in &shared.config.seeds {
        let seed = seed.trim_end_matches('/');
        if !urls.iter().any(|u| u == seed) {
            urls.push(seed.to_owned());
        }
    }
    if urls.is_empty() {
        return Err(Error::Unavailable {
            last_error: "no member address known".into(),
        });
    }
    let mut last = None;
    for i in 0..urls.len() {
        let at = (*rotation + i) % urls.len();
        let attempt = tokio::time::timeout(
            shared.config.attempt_timeout,
            SseStream::open(&urls[at], path),
        )
        .await
        .unwrap_or_else(|_| {
            Err(Error::Unavailable {
                last_error: format!("{} did not answer in time", urls[at]),
            })
        });
        match attempt {
            Ok((stream, applied)) => {
                *rotation = at;
                return Ok((stream, applied, urls[at].clone()));
            }
            Err(e) if is_client_error(&e) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(Error::Unavailable {
        last_error: "no member".into(),
    }))
}

/// One SSE event of interest.
enum SseEvent {
    Change(WatchEvent),
    Canceled,
}

/// An open `text/event-stream` answer.
struct SseStream {
    body: Body,
    /// Bytes of the current event's `data:` and `event:` lines.
    pending: Vec<u8>,
}

/// The answer body: chunked (HTTP/1.1 streaming) or delimited by the close.
struct Body {
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Bytes left in the current chunk.
    chunk_left: usize,
    buf: Vec<u8>,
}

impl SseStream {
    /// `GET {base}{path}`; returns the stream and its `x-kv-applied-index`.
    async fn open(base: &str, path: &str) -> Result<(Self, u64)> {
        let unavailable = |what: String| Error::Unavailable { last_error: what };
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| Error::Config(format!("watch needs an http:// URL, got {base}")))?
            .trim_end_matches('/');
        let tcp = TcpStream::connect(authority)
            .await
            .map_err(|e| unavailable(format!("{authority}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let mut reader = BufReader::new(tcp);
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {authority}\r\naccept: text/event-stream\r\n\r\n"
        );
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(|e| unavailable(format!("{authority}: {e}")))?;
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .await
            .map_err(|e| unavailable(format!("{authority}: {e}")))?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unavailable(format!("{authority}: bad status line {line:?}")))?;
        let (mut chunked, mut length, mut applied) = (false, None, None);
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .await
                .map_err(|e| unavailable(format!("{authority}: {e}")))?;
            let header = line.trim_end();
            if n == 0 || header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                } else if name == "content-length" {
                    length = value.parse::<usize>().ok();
                } else if name == headers::APPLIED_INDEX {
                    applied = value.parse::<u64>().ok();
                }
            }
        }
        if status != 200 {
            // A short JSON error body; 4xx are the caller's mistake.
            let mut body = vec![0; length.unwrap_or(0).min(64 * 1024)];
            let _ = reader.read_exact(&mut body).await;
            let text = String::from_utf8_lossy(&body).into_owned();
            if (400..500).contains(&status) {
                let code = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(|c| c.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| status.to_string());
                return Err(Error::BadRequest {
                    code,
                    message: text,
                });
            }
            return Err(unavailable(format!("{authority}: {status} {text}")));
        }
        let applied = applied.ok_or_else(|| {
            unavailable(format!(
                "{authority}: the watch answer has no {}",
                headers::APPLIED_INDEX
            ))
        })?;
        let body = Body {
            reader,
            chunked,
            chunk_left: 0,
            buf: Vec::new(),
        };
        Ok((
            Self {
                body,
                pending: Vec::new(),
            },
            applied,
        ))
    }

    /// The next change or cancel notice; `None` when the stream ended or
    /// broke.
    async fn next_event(&mut self) -> Option<SseEvent> {
        let mut event_name: Option<String> = None;
        loop {
            let line = self.body.line().await?;
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                // End of an event.
                let data = std::mem::take(&mut self.pending);
                let name = event_name.take();
                if name.as_deref() == Some(WATCH_CANCELED) {
                    return Some(SseEvent::Canceled);
                }
                if data.is_empty() {
                    continue;
                }
                match serde_json::from_slice::<WatchEvent>(&data) {
                    Ok(event) => return Some(SseEvent::Change(event)),
                    Err(e) => {
                        tracing::warn!(error = %e, "watch: unreadable event; re-subscribing");
                        return None;
                    }
                }
            } else if line.starts_with(':') {
                // Comment (keep-alive, progress).
            } else if let Some(data) = line.strip_prefix("data:") {
                self.pending
                    .extend_from_slice(data.strip_prefix(' ').unwrap_or(data).as_bytes());
            } else if let Some(name) = line.strip_prefix("event:") {
                event_name = Some(name.trim().to_owned());
            }
            // `id:` repeats the index carried in `data`.
        }
    }
}

impl Body {
    /// The next line of the decoded body (without `\n`); `None` at the end.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(pos + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return String::from_utf8(line).ok();
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Appends more decoded body bytes to `buf`; false at the end or on error.
    async fn fill(&mut self) -> bool {
        if !self.chunked {
            let mut chunk = [0u8; 4096];
            return match self.reader.read(&mut chunk).await {
                Ok(0) | Err(_) => false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    true
                }
            };
        }
        if self.chunk_left == 0 {
            let mut size = String::new();
            // The CRLF closing the previous chunk, then the size line.
            loop {
                size.clear();
                match self.reader.read_line(&mut size).await {
                    Ok(0) | Err(_) => return false,
                    Ok(_) if size.trim().is_empty() => continue,
                    Ok(_) => break,
                }
            }
            let hex = size.trim().split(';').next().unwrap_or("");
            match usize::from_str_radix(hex, 16) {
                Ok(0) | Err(_) => return false, // last chunk, or garbage
                Ok(n) => self.chunk_left = n,
            }
        }
        let mut chunk = vec![0u8; self.chunk_left.min(16 * 1024)];
        match self.reader.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.chunk_left -= n;
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }
}
