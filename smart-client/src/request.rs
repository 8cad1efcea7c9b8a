//! One application call as the I/O thread receives it: the message type,
//! the idempotency classification and the client-side encoding/validation.
//!
//! Encoding happens on the caller's thread, so the I/O thread only does I/O.

use std::borrow::Cow;

use bytes::Bytes;
use kv_contract::{CasBody, Consistency, PutBody};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::selection::{Operation, ReadConsistency};

/// What a call does; decides the HTTP method and the routing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `PUT /kv/{key}`.
    Put,
    /// `GET /kv/{key}?consistency=...`.
    Get(ReadConsistency),
    /// `DELETE /kv/{key}`.
    Delete,
    /// `GET /kv?prefix=...&limit=...&consistency=...`.
    List(ReadConsistency),
    /// `POST /kv/{key}/cas`.
    Cas,
}

impl Op {
    /// The routing class used by selection.
    pub(crate) fn operation(self) -> Operation {
        match self {
            Op::Get(c) | Op::List(c) => Operation::Read(c),
            Op::Put | Op::Delete | Op::Cas => Operation::Write,
        }
    }

    /// Name for spans and logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get(ReadConsistency::Linearizable) => "get_linearizable",
            Op::Get(ReadConsistency::Lease) => "get_lease",
            Op::Get(ReadConsistency::Eventual) => "get_eventual",
            Op::Delete => "delete",
            Op::List(ReadConsistency::Linearizable) => "list_linearizable",
            Op::List(ReadConsistency::Lease) => "list_lease",
            Op::List(ReadConsistency::Eventual) => "list_eventual",
            Op::Cas => "compare_and_swap",
        }
    }

    /// Whether repeating the call after an attempt with an unknown outcome
    /// is harmless. Reads are. Writes are not: a put that was applied and is
    /// sent again is applied twice, and if another client wrote the key in
    /// between, readers see the value, the other one, then the value again,
    /// which no order of single writes explains (the robustness suite found
    /// this). So writes are retried only when nothing was delivered, unless
    /// the application opts in with `retry_unknown_writes` (safe when no
    /// other writer can write the same key, e.g. one key per write).
    pub(crate) fn idempotency(self, retry_unknown_writes: bool) -> Idempotency {
        match self {
            Op::Get(_) | Op::List(_) => Idempotency::Idempotent,
            Op::Put | Op::Delete if retry_unknown_writes => Idempotency::Idempotent,
            Op::Put | Op::Delete => Idempotency::NotIdempotent,
            // Never, whatever `retry_unknown_writes` says: a swap that was
            // applied and is sent again fails (409), and the caller would be
            // told it lost although it won.
            Op::Cas => Idempotency::NotIdempotent,
        }
    }
}

/// Whether a request may be repeated after an unknown outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating it leaves the same state: retry freely within the deadline.
    Idempotent,
    /// Retry only after attempts that delivered nothing; an unknown outcome
    /// ends the call with `Error::Timeout`.
    NotIdempotent,
}

/// The message a handle sends to the I/O thread.
pub(crate) struct Call {
    /// What to do.
    pub op: Op,
    /// Path and query, e.g. `/kv/a%2Fb?consistency=eventual`.
    pub path: String,
    /// JSON body for writes.
    pub body: Option<Bytes>,
    /// Key length in bytes (for the span).
    pub key_len: usize,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Result<Answer>>,
}

/// A successful call's outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The value read (`None` for writes and absent keys).
    pub value: Option<Bytes>,
    /// The log index the answer reflects at least (`x-kv-index` of a write,
    /// `x-kv-applied-index` of a read), if the node sent one.
    pub index: Option<u64>,
}

/// Bytes that may appear unescaped in a path segment (RFC 3986 unreserved).
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `bytes` to `out`, percent-encoding all but RFC 3986 unreserved
/// bytes (valid in a path segment and in a query value alike).
fn percent_encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// Validates a key (non-empty UTF-8, as the server requires) and returns
/// `/kv/{percent-encoded key}` followed by `query`.
pub(crate) fn key_path(key: &[u8], query: &str) -> Result<String> {
    if key.is_empty() {
        return Err(Error::bad_request("empty_key", "key must not be empty"));
    }
    if std::str::from_utf8(key).is_err() {
        return Err(Error::bad_request(
            "invalid_utf8",
            "key is not valid UTF-8 (the service stores UTF-8 keys only)",
        ));
    }
    let mut path = String::with_capacity(4 + key.len() * 3 + query.len());
    path.push_str("/kv/");
    percent_encode_into(&mut path, key);
    path.push_str(query);
    Ok(path)
}

/// `/kv?prefix={percent-encoded prefix}&limit={limit}` followed by `&` and
/// `query` without its `?` (a read's consistency and session index); the
/// prefix must be UTF-8 and `limit` within 1..=1000, as the server requires.
pub(crate) fn list_path(prefix: &[u8], limit: usize, query: &str) -> Result<String> {
    let prefix = std::str::from_utf8(prefix).map_err(|_| {
        Error::bad_request(
            "invalid_utf8",
            "prefix is not valid UTF-8 (the service stores UTF-8 keys only)",
        )
    })?;
    if !(1..=kv_contract::kv::MAX_LIST_LIMIT).contains(&limit) {
        return Err(Error::bad_request(
            "invalid_limit",
            format!(
                "limit must be from 1 to {}, got {limit}",
                kv_contract::kv::MAX_LIST_LIMIT
            ),
        ));
    }
    let rest = query.strip_prefix('?').unwrap_or(query);
    let mut path = String::with_capacity(32 + prefix.len() * 3 + rest.len());
    path.push_str("/kv?");
    path.push_str(kv_contract::kv::PREFIX_PARAM);
    path.push('=');
    percent_encode_into(&mut path, prefix.as_bytes());
    path.push_str(&format!("&{}={limit}&{rest}", kv_contract::kv::LIMIT_PARAM));
    Ok(path)
}

/// `/watch/{percent-encoded key}` (the key validated as for [`key_path`]).
pub(crate) fn watch_key_path(key: &[u8]) -> Result<String> {
    let kv = key_path(key, "")?;
    Ok(format!("/watch{}", &kv["/kv".len()..]))
}

/// `/watch?prefix={percent-encoded prefix}`; the prefix must be UTF-8 and
/// start and end with `/` (the server's rule for watched prefixes).
pub(crate) fn watch_prefix_path(prefix: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(prefix).map_err(|_| {
        Error::bad_request(
            "invalid_utf8",
            "prefix is not valid UTF-8 (the service stores UTF-8 keys only)",
        )
    })?;
    if !(text.starts_with('/') && text.ends_with('/')) {
        return Err(Error::bad_request(
            "invalid_prefix",
            format!(
                "a watched prefix must start and end with '/' (like /app/config/), got {text:?}"
            ),
        ));
    }
    let mut path = String::from("/watch?");
    path.push_str(kv_contract::kv::PREFIX_PARAM);
    path.push('=');
    percent_encode_into(&mut path, prefix);
    Ok(path)
}

/// The query string of a read.
pub(crate) fn consistency_query(c: ReadConsistency) -> &'static str {
    Consistency::from(c).query()
}

/// A value as UTF-8 (the service stores strings only).
fn utf8_value(value: &[u8]) -> Result<&str> {
    std::str::from_utf8(value).map_err(|_| {
        Error::bad_request(
            "invalid_utf8",
            "value is not valid UTF-8 (the service stores string values only)",
        )
    })
}

fn json_body(body: &impl serde::Serialize) -> Result<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::bad_request("invalid_field", e.to_string()))
}

/// Validates a value and encodes the `{"value": ...}` body ([`PutBody`]),
/// with `ttl_secs` when the key is to expire.
pub(crate) fn value_body(value: &[u8], ttl_secs: Option<u64>) -> Result<Bytes> {
    json_body(&PutBody {
        value: Cow::Borrowed(utf8_value(value)?),
        ttl_secs,
    })
}

/// Validates the values and encodes a compare-and-swap body ([`CasBody`]).
pub(crate) fn cas_body(
    expected: Option<&[u8]>,
    value: &[u8],
    ttl_secs: Option<u64>,
) -> Result<Bytes> {
    json_body(&CasBody {
        expected: expected.map(utf8_value).transpose()?.map(Cow::Borrowed),
        value: Cow::Borrowed(utf8_value(value)?),
        ttl_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_encoded() {
        assert_eq!(key_path(b"abc-_.~9", "").unwrap(), "/kv/abc-_.~9");
        assert_eq!(
            key_path("a/b c?d%é".as_bytes(), "?consistency=eventual").unwrap(),
            "/kv/a%2Fb%20c%3Fd%25%C3%A9?consistency=eventual"
        );
        assert!(matches!(
            key_path(b"", ""),
            Err(Error::BadRequest { code, .. }) if code == "empty_key"
        ));
        assert!(matches!(
            key_path(&[0xff, 0x00], ""),
            Err(Error::BadRequest { code, .. }) if code == "invalid_utf8"
        ));
    }

    #[test]
    fn listing_paths() {
        assert_eq!(
            list_path("a/b&c".as_bytes(), 10, "?consistency=eventual").unwrap(),
            "/kv?prefix=a%2Fb%26c&limit=10&consistency=eventual"
        );
        assert_eq!(
            list_path(b"", 1000, "?consistency=eventual&min_index=5").unwrap(),
            "/kv?prefix=&limit=1000&consistency=eventual&min_index=5"
        );
        for bad in [0, 1001] {
            assert!(matches!(
                list_path(b"p", bad, ""),
                Err(Error::BadRequest { code, .. }) if code == "invalid_limit"
            ));
        }
        assert!(matches!(
            list_path(&[0xff], 1, ""),
            Err(Error::BadRequest { code, .. }) if code == "invalid_utf8"
        ));
        assert_eq!(
            Op::List(ReadConsistency::Eventual).idempotency(false),
            Idempotency::Idempotent
        );
    }

    #[test]
    fn values_are_json_strings() {
        assert_eq!(
            &value_body(b"a\"b", None).unwrap()[..],
            br#"{"value":"a\"b"}"#
        );
        assert_eq!(
            &value_body(b"v", Some(30)).unwrap()[..],
            br#"{"value":"v","ttl_secs":30}"#
        );
        assert!(matches!(
            value_body(&[0xc3], None),
            Err(Error::BadRequest { .. })
        ));
        assert_eq!(
            &cas_body(None, b"new", None).unwrap()[..],
            br#"{"expected":null,"value":"new"}"#
        );
        assert_eq!(
            &cas_body(Some(b"old"), b"new", None).unwrap()[..],
            br#"{"expected":"old","value":"new"}"#
        );
        assert_eq!(Op::Cas.idempotency(true), Idempotency::NotIdempotent);
        assert_eq!(Op::Put.idempotency(false), Idempotency::NotIdempotent);
        assert_eq!(Op::Delete.idempotency(false), Idempotency::NotIdempotent);
        assert_eq!(Op::Put.idempotency(true), Idempotency::Idempotent);
        assert_eq!(
            Op::Get(ReadConsistency::Lease).idempotency(false),
            Idempotency::Idempotent
        );
        assert!(
            Op::Get(ReadConsistency::Eventual).operation()
                == Operation::Read(ReadConsistency::Eventual)
        );
    }
}
