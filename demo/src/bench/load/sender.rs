//! The per-thread executor of one route: the same operations through the
//! smart client, plain HTTP to one base URL, or etcd's v3 JSON gateway.

use std::cell::Cell;
use std::time::Duration;

use awc::error::SendRequestError;
use bytes::Bytes;
use kv_contract::{Consistency, ErrorBody, PutBody};
use smart_client::{LocalClient, ReadConsistency, SmartClient};

use super::{value, Op, REQUEST_TIMEOUT};
use crate::bench::etcd::b64;

/// Where a path's requests go.
#[derive(Clone, Debug)]
pub enum Route {
    /// Through the smart client.
    Smart(SmartClient),
    /// Plain HTTP to one base URL (HAProxy's frontend or a pinned node).
    Http {
        /// e.g. `http://127.0.0.1:8080`.
        base: String,
    },
    /// etcd's v3 JSON gateway: writes and linearizable reads to the leader,
    /// serializable reads round-robin over every member.
    Etcd {
        /// Client URL of every member.
        members: Vec<String>,
        /// Index of the leader in `members` when the route was made.
        leader: usize,
    },
}

/// The per-thread executor of one route.
pub enum Sender {
    /// A [`LocalClient`]: calls run inline on this load thread.
    Smart(LocalClient, String),
    Http {
        client: awc::Client,
        base: String,
        body: Bytes,
    },
    Etcd {
        client: awc::Client,
        members: Vec<String>,
        /// Member that gets writes and linearizable reads: the leader when
        /// the route was made, the next member after a transport error.
        leader: Cell<usize>,
        /// Round-robin position of serializable reads.
        next_read: Cell<usize>,
        /// The 256-byte value, base64.
        value_b64: String,
    },
}

impl Sender {
    /// Must be called inside an actix system; `pool` bounds the connections.
    pub fn new(route: Route, pool: usize) -> Self {
        let http_client = || {
            let connector = awc::Connector::new()
                .limit(pool)
                .conn_keep_alive(Duration::from_secs(30));
            awc::Client::builder()
                .connector(connector)
                .timeout(REQUEST_TIMEOUT)
                .disable_redirects()
                .finish()
        };
        match route {
            Route::Smart(c) => Sender::Smart(
                c.local()
                    .expect("Sender::new runs on an actix system thread"),
                value(),
            ),
            Route::Etcd { members, leader } => Sender::Etcd {
                client: http_client(),
                leader: Cell::new(leader.min(members.len().saturating_sub(1))),
                members,
                next_read: Cell::new(0),
                value_b64: b64(value().as_bytes()),
            },
            Route::Http { base } => {
                let client = http_client();
                let body = serde_json::to_vec(&PutBody {
                    value: value().into(),
                    ttl_secs: None,
                })
                .expect("serialize value")
                .into();
                Sender::Http { client, base, body }
            }
        }
    }

    /// Runs one request; `Err` names what went wrong (a read must find its key).
    pub async fn exec(&self, op: Op) -> Result<(), String> {
        match self {
            Sender::Smart(c, value) => smart(c, value, op).await,
            Sender::Http { client, base, body } => http(client, base, body, op).await,
            Sender::Etcd {
                client,
                members,
                leader,
                next_read,
                value_b64,
            } => {
                let (path, body, to_leader, must_find) = etcd_request(op, value_b64);
                let n = members.len().max(1);
                let target = if to_leader {
                    leader.get()
                } else {
                    let i = next_read.get() % n;
                    next_read.set((i + 1) % n);
                    i
                };
                let leader = to_leader.then_some(leader);
                etcd(client, members, leader, target, path, body, must_find).await
            }
        }
    }
}

/// One operation through the smart client.
async fn smart(c: &LocalClient, value: &str, op: Op) -> Result<(), String> {
    match op {
        Op::Write(key) => c.put(key, value).await.map_err(smart_error),
        Op::Read(key, consistency) => match c.get(key, consistency).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err("smart: key missing".into()),
            Err(e) => Err(smart_error(e)),
        },
    }
}

/// One operation as plain HTTP to `base` (`body`: the encoded write).
async fn http(client: &awc::Client, base: &str, body: &Bytes, op: Op) -> Result<(), String> {
    let sent = match op {
        Op::Write(key) => {
            client
                .put(format!("{base}/kv/{key}"))
                .insert_header(("content-type", "application/json"))
                .send_body(body.clone())
                .await
        }
        Op::Read(key, c) => {
            client
                .get(format!("{base}/kv/{key}{}", Consistency::from(c).query()))
                .send()
                .await
        }
    };
    match sent {
        Ok(mut r) => {
            // Read the body so the connection goes back to the pool.
            let body = r.body().await;
            match (r.status().as_u16(), body) {
                (200, Ok(_)) => Ok(()),
                (_, Err(e)) => Err(format!("body: {e}")),
                (status, Ok(b)) => Err(format!(
                    "http {status} {}",
                    error_code(&b).unwrap_or_default()
                )),
            }
        }
        Err(e) => Err(transport_error(e)),
    }
}

/// The gateway request of `op`: (path, JSON body, goes to the leader, a
/// read that must find its key).
fn etcd_request(op: Op, value_b64: &str) -> (&'static str, String, bool, bool) {
    match op {
        Op::Write(key) => (
            "/v3/kv/put",
            format!(
                r#"{{"key":"{}","value":"{value_b64}"}}"#,
                b64(key.as_bytes())
            ),
            true,
            false,
        ),
        Op::Read(key, c) => {
            let serializable = c == ReadConsistency::Eventual;
            let body = if serializable {
                format!(r#"{{"key":"{}","serializable":true}}"#, b64(key.as_bytes()))
            } else {
                format!(r#"{{"key":"{}"}}"#, b64(key.as_bytes()))
            };
            ("/v3/kv/range", body, !serializable, true)
        }
    }
}

/// Sends one gateway request to member `target`. A refused connection means
/// the request was never sent, so trying the next member is safe (clientv3
/// does the same); every other failure is the application's error. `leader`
/// (for requests that go to the leader) moves on with a failed target.
async fn etcd(
    client: &awc::Client,
    members: &[String],
    leader: Option<&Cell<usize>>,
    mut target: usize,
    path: &str,
    body: String,
    must_find: bool,
) -> Result<(), String> {
    let n = members.len().max(1);
    let body = Bytes::from(body);
    for attempt in 1..=n {
        let sent = client
            .post(format!("{}{path}", members[target]))
            .insert_header(("content-type", "application/json"))
            .send_body(body.clone())
            .await;
        let next = (target + 1) % n;
        let move_leader = |leader: Option<&Cell<usize>>| {
            if let Some(l) = leader.filter(|l| l.get() == target) {
                l.set(next);
            }
        };
        match sent {
            Ok(mut r) => {
                let b = r.body().limit(1 << 20).await;
                return match (r.status().as_u16(), b) {
                    (200, Ok(b)) if must_find && !contains(&b, b"\"kvs\"") => {
                        Err("etcd: key missing".into())
                    }
                    (200, Ok(_)) => Ok(()),
                    (_, Err(e)) => Err(format!("body: {e}")),
                    (status, Ok(b)) => Err(format!(
                        "http {status} {}",
                        error_code(&b).unwrap_or_default()
                    )),
                };
            }
            Err(SendRequestError::Connect(_)) if attempt < n => {
                move_leader(leader);
                target = next;
            }
            Err(e) => {
                if !matches!(e, SendRequestError::Timeout) {
                    move_leader(leader);
                }
                return Err(transport_error(e));
            }
        }
    }
    Err("connect error".into())
}

fn transport_error(e: SendRequestError) -> String {
    match e {
        SendRequestError::Connect(_) => "connect error".into(),
        SendRequestError::Timeout => "timeout (5 s)".into(),
        other => format!("send: {other}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `Error::Unavailable { last_error }` carries a per-request detail: keep
/// only the variant so that errors group.
fn smart_error(e: smart_client::Error) -> String {
    let s = format!("smart: {e:?}");
    s.split([' ', '(', '{'])
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `error` code of a JSON error body (etcd's gateway sends one too).
fn error_code(body: &[u8]) -> Option<String> {
    let body: ErrorBody = serde_json::from_slice(body).ok()?;
    (!body.error.is_empty()).then_some(body.error)
}
