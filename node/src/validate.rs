//! Request validation: pure functions from raw request parts to typed input,
//! so every malformed request gets a precise 4xx before touching the engine.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use kv_contract::kv::{
    CONSISTENCY_PARAM, DEFAULT_LIST_LIMIT, LIMIT_PARAM, MAX_LIST_LIMIT, MIN_INDEX_PARAM,
    PREFIX_PARAM,
};
use serde_json::Value;

use crate::config::{Consistency, NodeSettings};
use crate::error::{ApiError, ApiResult};

/// Limits applied to keys, values and bodies.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest key in bytes.
    pub max_key: usize,
    /// Largest value in bytes.
    pub max_value: usize,
    /// Largest body in bytes.
    pub max_body: usize,
}

impl From<&NodeSettings> for Limits {
    fn from(s: &NodeSettings) -> Self {
        Self {
            max_key: s.max_key_bytes,
            max_value: s.max_value_bytes,
            max_body: s.max_body_bytes(),
        }
    }
}

/// Check a key: non-empty, within the limit, not in the node's reserved space.
pub fn validate_key(key: &str, limits: &Limits) -> ApiResult<()> {
    if key.is_empty() {
        return Err(ApiError::bad("empty_key", "key must not be empty"));
    }
    if key.len() > limits.max_key {
        return Err(ApiError::PayloadTooLarge {
            what: "key",
            size: key.len(),
            limit: limits.max_key,
        });
    }
    Ok(())
}

fn validate_value(value: &str, limits: &Limits) -> ApiResult<()> {
    if value.len() > limits.max_value {
        return Err(ApiError::PayloadTooLarge {
            what: "value",
            size: value.len(),
            limit: limits.max_value,
        });
    }
    Ok(())
}

fn parse_object(body: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    if body.is_empty() {
        return Err(ApiError::bad(
            "empty_body",
            "request body must be a JSON object",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad("invalid_utf8", format!("body is not valid UTF-8: {e}")))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::bad(
            "invalid_body",
            format!("body must be a JSON object, got {}", type_name(&other)),
        )),
        Err(e) => Err(ApiError::bad(
            "invalid_json",
            format!("malformed JSON: {e}"),
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_field(map: &serde_json::Map<String, Value>, name: &str) -> ApiResult<String> {
    match map.get(name) {
        None => Err(ApiError::bad(
            "missing_field",
            format!("field {name:?} is required"),
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ApiError::bad(
            "invalid_field",
            format!("field {name:?} must be a string, got {}", type_name(other)),
        )),
    }
}

pub use kv_contract::kv::MAX_TTL_SECS;

/// A JSON number that is a non-negative integer, also when written with a
/// zero fraction (`30.0`: JSON Schema's `integer` allows it, and so does the
/// OpenAPI description).
pub fn json_uint(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..u64::MAX as f64).contains(f))
            .map(|f| f as u64)
    })
}

/// The optional `"ttl_secs"` of a write body: a positive integer up to
/// [`MAX_TTL_SECS`], else a 400 `invalid_ttl`.
fn ttl_field(map: &serde_json::Map<String, Value>) -> ApiResult<Option<u64>> {
    match map.get("ttl_secs") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => json_uint(v)
            .filter(|n| (1..=MAX_TTL_SECS).contains(n))
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad(
                    "invalid_ttl",
                    format!("ttl_secs must be an integer from 1 to {MAX_TTL_SECS}, got {v}"),
                )
            }),
    }
}

/// Parse `POST /kv` bodies: `{"key": "...", "value": "...", "ttl_secs": N}`
/// (`ttl_secs` optional).
pub fn parse_post_body(body: &[u8], limits: &Limits) -> ApiResult<(String, String, Option<u64>)> {
    let map = parse_object(body)?;
    let key = string_field(&map, "key")?;
    let value = string_field(&map, "value")?;
    validate_key(&key, limits)?;
    validate_value(&value, limits)?;
    Ok((key, value, ttl_field(&map)?))
}

/// Parse `PUT /kv/{key}` bodies: `{"value": "...", "ttl_secs": N}` (`ttl_secs` optional).
pub fn parse_put_body(body: &[u8], limits: &Limits) -> ApiResult<(String, Option<u64>)> {
    let map = parse_object(body)?;
    let value = string_field(&map, "value")?;
    validate_value(&value, limits)?;
    Ok((value, ttl_field(&map)?))
}

/// Parse `POST /kv/{key}/cas` bodies: `{"expected": "old" | null, "value":
/// "new", "ttl_secs": N}`; `expected` is required (`null`: only if the key is
/// absent), `ttl_secs` optional (the swapped-in value expires after it;
/// engine patch 27).
pub fn parse_cas_body(
    body: &[u8],
    limits: &Limits,
) -> ApiResult<(Option<String>, String, Option<u64>)> {
    let map = parse_object(body)?;
    let value = string_field(&map, "value")?;
    validate_value(&value, limits)?;
    let expected = match map.get("expected") {
        None => {
            return Err(ApiError::bad(
                "missing_field",
                "field \"expected\" is required (null: only if the key is absent)",
            ))
        }
        Some(Value::Null) => None,
        Some(Value::String(s)) => {
            validate_value(s, limits)?;
            Some(s.clone())
        }
        Some(other) => {
            return Err(ApiError::bad(
                "invalid_field",
                format!(
                    "field \"expected\" must be a string or null, got {}",
                    type_name(other)
                ),
            ))
        }
    };
    Ok((expected, value, ttl_field(&map)?))
}

/// A read's query: `?consistency=` (absent means the node's default) and
/// `?min_index=` (absent means none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadQuery {
    /// How fresh the read must be.
    pub consistency: Consistency,
    /// Lowest log index the answer may reflect.
    pub min_index: Option<u64>,
}

/// Parse a read's query string; a bad `consistency` or a `min_index` that is
/// not a non-negative integer is a 400.
pub fn parse_read_query(query: &str, default: Consistency) -> ApiResult<ReadQuery> {
    read_query(&query_pairs(query)?, default)
}

fn query_pairs(query: &str) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .map_err(|e| ApiError::bad("invalid_query", format!("malformed query string: {e}")))
}

/// The last value of parameter `name` in `pairs`.
fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a String> {
    pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A listing's query: the read's consistency and `min_index`, the prefix
/// (empty: every key) and how many items at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Consistency and session index, as for a single read.
    pub read: ReadQuery,
    /// Keys listed start with it.
    pub prefix: String,
    /// Most items returned (1 to `MAX_LIST_LIMIT`).
    pub limit: usize,
}

/// Parse `GET /kv?prefix=p&limit=N[&consistency=][&min_index=]`; a prefix
/// longer than a key may be is a 400 `prefix_too_large`, a `limit` that is
/// not an integer in 1..=1000 a 400 `invalid_limit`.
pub fn parse_list_query(
    query: &str,
    default: Consistency,
    limits: &Limits,
) -> ApiResult<ListQuery> {
    let pairs = query_pairs(query)?;
    let read = read_query(&pairs, default)?;
    let prefix = prefix_param(&pairs, limits)?;
    let limit = match last(&pairs, LIMIT_PARAM) {
        None => DEFAULT_LIST_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad(
                    "invalid_limit",
                    format!(
                        "{LIMIT_PARAM} must be an integer from 1 to {MAX_LIST_LIMIT}, got {v:?}"
                    ),
                )
            })?,
    };
    Ok(ListQuery {
        read,
        prefix,
        limit,
    })
}

/// The `prefix` of `GET /watch?prefix=p` (empty or absent: every key).
pub fn parse_prefix_query(query: &str, limits: &Limits) -> ApiResult<String> {
    prefix_param(&query_pairs(query)?, limits)
}

/// The `prefix` parameter (empty when absent); longer than a key may be is a
/// 400 `prefix_too_large`.
fn prefix_param(pairs: &[(String, String)], limits: &Limits) -> ApiResult<String> {
    let prefix = last(pairs, PREFIX_PARAM).cloned().unwrap_or_default();
    if prefix.len() > limits.max_key {
        return Err(ApiError::bad(
            "prefix_too_large",
            format!(
                "prefix is {} bytes, longer than a key may be ({} bytes)",
                prefix.len(),
                limits.max_key
            ),
        ));
    }
    Ok(prefix)
}

/// Largest `min_index` a read accepts: 2^63 - 1, the description's `int64`
/// (a log index never gets near it).
pub const MAX_MIN_INDEX: u64 = i64::MAX as u64;

fn read_query(pairs: &[(String, String)], default: Consistency) -> ApiResult<ReadQuery> {
    let last = |name: &str| last(pairs, name);
    let consistency = match last(CONSISTENCY_PARAM) {
        None => default,
        Some(v) => Consistency::parse(v).ok_or_else(|| {
            ApiError::bad(
                "invalid_consistency",
                format!("consistency must be linearizable, lease or eventual, got {v:?}"),
            )
        })?,
    };
    let min_index = match last(MIN_INDEX_PARAM) {
        None => None,
        Some(v) => Some(v.parse::<u64>().ok().filter(|n| *n <= MAX_MIN_INDEX).ok_or_else(|| {
            ApiError::bad(
                "invalid_min_index",
                format!(
                    "{MIN_INDEX_PARAM} must be an integer from 0 to {MAX_MIN_INDEX} (a log index), got {v:?}"
                ),
            )
        })?),
    };
    Ok(ReadQuery {
        consistency,
        min_index,
    })
}

/// Read a request body with a size limit and a deadline, so a client that
/// stalls mid-body gets a 408 and one that sends too much gets a 413.
pub async fn read_body(
    req: &actix_web::HttpRequest,
    mut payload: actix_web::web::Payload,
    limit: usize,
    timeout: Duration,
) -> ApiResult<Bytes> {
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(ApiError::PayloadTooLarge {
                what: "body",
                size: len,
                limit,
            });
        }
    }
    let read = async {
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad("invalid_body", e.to_string()))?;
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge {
                    what: "body",
                    size: buf.len() + chunk.len(),
                    limit,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ApiError::RequestTimeout(timeout.as_millis() as u64))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_key: 8,
        max_value: 16,
        max_body: 1024,
    };

    fn code(r: ApiResult<impl std::fmt::Debug>) -> &'static str {
        r.expect_err("should be rejected").code()
    }

    #[test]
    fn accepts_well_formed_bodies() {
        let (k, v, ttl) =
            parse_post_body(br#"{"key":"a","value":"b","extra":1}"#, &LIMITS).expect("valid");
        assert_eq!((k.as_str(), v.as_str(), ttl), ("a", "b", None));
        assert_eq!(
            parse_put_body(br#"{"value":""}"#, &LIMITS).expect("valid"),
            (String::new(), None)
        );
        let (_, _, ttl) =
            parse_post_body(br#"{"key":"a","value":"b","ttl_secs":30}"#, &LIMITS).expect("ttl");
        assert_eq!(ttl, Some(30));
        let (_, ttl) = parse_put_body(br#"{"value":"v","ttl_secs":30.0}"#, &LIMITS).expect("30.0");
        assert_eq!(ttl, Some(30));
        for bad in ["0", "-1", "1.5", "\"30\"", "true", "315360001", "1e300"] {
            let body = format!(r#"{{"value":"v","ttl_secs":{bad}}}"#);
            assert_eq!(
                code(parse_put_body(body.as_bytes(), &LIMITS)),
                "invalid_ttl",
                "{bad}"
            );
        }
    }

    #[test]
    fn cas_bodies() {
        assert_eq!(
            parse_cas_body(br#"{"expected":"old","value":"new"}"#, &LIMITS).expect("ok"),
            (Some("old".into()), "new".into(), None)
        );
        assert_eq!(
            parse_cas_body(br#"{"expected":null,"value":"new"}"#, &LIMITS).expect("ok"),
            (None, "new".into(), None)
        );
        assert_eq!(
            code(parse_cas_body(br#"{"value":"n"}"#, &LIMITS)),
            "missing_field"
        );
        assert_eq!(
            code(parse_cas_body(br#"{"expected":1,"value":"n"}"#, &LIMITS)),
            "invalid_field"
        );
        assert_eq!(
            parse_cas_body(br#"{"expected":null,"value":"n","ttl_secs":5}"#, &LIMITS).expect("ttl"),
            (None, "n".to_string(), Some(5))
        );
        assert_eq!(
            code(parse_cas_body(
                br#"{"expected":null,"value":"n","ttl_secs":0}"#,
                &LIMITS
            )),
            "invalid_ttl"
        );
        assert_eq!(
            code(parse_cas_body(
                br#"{"expected":"12345678901234567","value":"n"}"#,
                &LIMITS
            )),
            "value_too_large"
        );
    }

    #[test]
    fn rejects_malformed_bodies_with_specific_codes() {
        assert_eq!(code(parse_post_body(b"", &LIMITS)), "empty_body");
        assert_eq!(code(parse_post_body(b"{not json", &LIMITS)), "invalid_json");
        assert_eq!(code(parse_post_body(b"[1,2]", &LIMITS)), "invalid_body");
        assert_eq!(code(parse_post_body(b"\"str\"", &LIMITS)), "invalid_body");
        assert_eq!(
            code(parse_post_body(b"{\"key\":\"\xff\"}", &LIMITS)),
            "invalid_utf8"
        );
        assert_eq!(
            code(parse_post_body(br#"{"value":"v"}"#, &LIMITS)),
            "missing_field"
        );
        assert_eq!(
            code(parse_post_body(br#"{"key":"k"}"#, &LIMITS)),
            "missing_field"
        );
        assert_eq!(
            code(parse_post_body(br#"{"key":1,"value":"v"}"#, &LIMITS)),
            "invalid_field"
        );
        assert_eq!(
            code(parse_post_body(br#"{"key":"k","value":null}"#, &LIMITS)),
            "invalid_field"
        );
        assert_eq!(
            code(parse_post_body(br#"{"key":"","value":"v"}"#, &LIMITS)),
            "empty_key"
        );
        assert_eq!(
            code(parse_put_body(br#"{"value":{"a":1}}"#, &LIMITS)),
            "invalid_field"
        );
    }

    #[test]
    fn enforces_key_and_value_limits_as_413() {
        let e = parse_post_body(br#"{"key":"123456789","value":"v"}"#, &LIMITS)
            .expect_err("key over 8 bytes");
        assert_eq!(e.code(), "key_too_large");
        let e = parse_put_body(br#"{"value":"12345678901234567"}"#, &LIMITS)
            .expect_err("value over 16 bytes");
        assert_eq!(e.code(), "value_too_large");
        assert!(validate_key("12345678", &LIMITS).is_ok());
    }

    fn parse_consistency(query: &str, d: Consistency) -> ApiResult<Consistency> {
        parse_read_query(query, d).map(|q| q.consistency)
    }

    #[test]
    fn min_index_query() {
        let d = Consistency::Lease;
        let q = |s| parse_read_query(s, d);
        assert_eq!(q("").expect("ok").min_index, None);
        assert_eq!(
            q("consistency=eventual&min_index=42").expect("ok"),
            ReadQuery {
                consistency: Consistency::Eventual,
                min_index: Some(42)
            }
        );
        assert_eq!(q("min_index=0").expect("ok").min_index, Some(0));
        for bad in [
            "min_index=",
            "min_index=abc",
            "min_index=-1",
            "min_index=1.5",
            "min_index=99999999999999999999",
            "min_index=9223372036854775808",
        ] {
            assert_eq!(code(q(bad)), "invalid_min_index", "{bad}");
        }
    }

    #[test]
    fn list_query() {
        let d = Consistency::Lease;
        let q = |s| parse_list_query(s, d, &LIMITS);
        let all = q("").expect("ok");
        assert_eq!((all.prefix.as_str(), all.limit), ("", 100));
        assert_eq!(all.read.consistency, d);
        let some = q("prefix=a%2Fb&limit=1000&consistency=eventual&min_index=7").expect("ok");
        assert_eq!((some.prefix.as_str(), some.limit), ("a/b", 1000));
        assert_eq!(some.read.min_index, Some(7));
        for bad in ["limit=0", "limit=1001", "limit=x", "limit=", "limit=-3"] {
            assert_eq!(code(q(bad)), "invalid_limit", "{bad}");
        }
        assert_eq!(code(q("prefix=123456789")), "prefix_too_large");
        assert_eq!(code(q("consistency=strong")), "invalid_consistency");
    }

    #[test]
    fn consistency_query() {
        let d = Consistency::Lease;
        assert_eq!(parse_consistency("", d).expect("ok"), d);
        assert_eq!(
            parse_consistency("consistency=eventual", d).expect("ok"),
            Consistency::Eventual
        );
        assert_eq!(
            parse_consistency("x=1&consistency=linearizable", d).expect("ok"),
            Consistency::Linearizable
        );
        assert_eq!(
            code(parse_consistency("consistency=strong", d)),
            "invalid_consistency"
        );
        assert_eq!(
            code(parse_consistency("consistency=", d)),
            "invalid_consistency"
        );
    }
}
