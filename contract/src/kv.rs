//! `/kv`: the request and answer bodies, and the `consistency` query.
//!
//! | request | body | answer |
//! | --- | --- | --- |
//! | `POST /kv` | [`PostBody`] | 200 [`OkAnswer`] |
//! | `PUT /kv/{key}` | [`PutBody`] | 200 [`OkAnswer`] |
//! | `DELETE /kv/{key}` | none | 200 [`OkAnswer`] |
//! | `GET /kv/{key}?consistency=` ([`Consistency`]) `[&min_index=N]` ([`MIN_INDEX_PARAM`]) | none | 200 / 404 [`ValueAnswer`] |
//! | `GET /kv?prefix=p&limit=N` ([`PREFIX_PARAM`], [`LIMIT_PARAM`]) `[&consistency=][&min_index=N]` | none | 200 [`ListAnswer`] |
//!
//! A successful write carries [`crate::headers::INDEX`], every read answer
//! [`crate::headers::APPLIED_INDEX`]. The node reads request bodies field by
//! field (so that each malformed body gets its own error code), with the
//! field names of these types.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Name of the query parameter that carries a read's [`Consistency`].
pub const CONSISTENCY_PARAM: &str = "consistency";

/// Name of the query parameter of an eventual read that names the lowest log
/// index the answer may reflect (`?consistency=eventual&min_index=N`): the
/// serving node answers once its applied index is at least `N`, or fails
/// with a 503 [`crate::error::MIN_INDEX_NOT_REACHED`]; it never answers with
/// older state. A session's token: the highest `x-kv-index` or
/// `x-kv-applied-index` it has seen.
pub const MIN_INDEX_PARAM: &str = "min_index";

/// Name of the query parameter of a listing (`GET /kv?prefix=p`): the keys
/// that start with it (an empty or absent prefix lists every key).
pub const PREFIX_PARAM: &str = "prefix";

/// Name of the query parameter that bounds a listing's items (1 to
/// [`MAX_LIST_LIMIT`], default [`DEFAULT_LIST_LIMIT`]).
pub const LIMIT_PARAM: &str = "limit";

/// Items of a listing without `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// Largest `limit` a listing accepts.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Longest `ttl_secs` a write accepts: ten years.
pub const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// Schema-only types of the OpenAPI description (feature `openapi`): the
/// fields of the bodies above refer to them by name, and the node fills in
/// its configured size limits when it builds the description.
#[cfg(feature = "openapi")]
pub mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    /// A key: a non-empty UTF-8 string of at most the node's
    /// `max_key_bytes` bytes. The node publishes that limit as `maxLength`
    /// (one byte per character, as for ASCII; a longer UTF-8 encoding gets
    /// a 413 `key_too_large`).
    pub struct Key;

    /// A value (schema `Value`): a UTF-8 string of at most the node's
    /// `max_value_bytes` bytes (`maxLength` as for [`Key`]; over it, 413
    /// `value_too_large`). Not called `Value`: utoipa reads a type of that
    /// name as `serde_json::Value`.
    pub struct ValueText;

    /// Seconds until a written key expires, 1 to ten years (needs TTLs
    /// enabled on the cluster, else 400 `ttl_disabled`).
    pub struct TtlSecs;

    /// A key prefix: empty (every key) or up to the node's `max_key_bytes`
    /// bytes (its `maxLength`, as for [`Key`]; over it, 400 `prefix_too_large`).
    pub struct Prefix;

    /// The prefix of `GET /watch?prefix=p`: directory-style, it starts and
    /// ends with `/` (else 400 `invalid_prefix`), at most `max_key_bytes`
    /// bytes (`maxLength`, as for [`Key`]).
    pub struct WatchPrefix;

    impl utoipa::PartialSchema for Key {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .into()
        }
    }
    impl utoipa::ToSchema for Key {}

    impl utoipa::PartialSchema for ValueText {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new().schema_type(Type::String).into()
        }
    }
    impl utoipa::ToSchema for ValueText {
        fn name() -> std::borrow::Cow<'static, str> {
            "Value".into()
        }
    }

    impl utoipa::PartialSchema for Prefix {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new().schema_type(Type::String).into()
        }
    }
    impl utoipa::ToSchema for Prefix {}

    impl utoipa::PartialSchema for WatchPrefix {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .pattern(Some(WATCH_PREFIX_PATTERN))
                .into()
        }
    }
    impl utoipa::ToSchema for WatchPrefix {}

    /// [`WatchPrefix`]'s pattern: `/`, or `/…/` with anything between.
    pub const WATCH_PREFIX_PATTERN: &str = r"^/([\s\S]*/)?$";

    impl utoipa::PartialSchema for TtlSecs {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(super::MAX_TTL_SECS as f64))
                .into()
        }
    }
    impl utoipa::ToSchema for TtlSecs {}
}

/// How fresh a read must be (`?consistency=linearizable|lease|eventual`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Confirmed with a quorum by the leader: never stale.
    Linearizable,
    /// Served by the leader under its lease: never stale while clocks behave.
    Lease,
    /// Served by whichever node receives it: may lag the leader.
    Eventual,
}

impl Consistency {
    /// Parses the query-string spelling; `None` for unknown values.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "linearizable" => Some(Self::Linearizable),
            "lease" => Some(Self::Lease),
            "eventual" => Some(Self::Eventual),
            _ => None,
        }
    }

    /// `?consistency=<spelling>`, to append to a `/kv/{key}` path.
    #[must_use]
    pub fn query(self) -> &'static str {
        match self {
            Self::Linearizable => "?consistency=linearizable",
            Self::Lease => "?consistency=lease",
            Self::Eventual => "?consistency=eventual",
        }
    }
}

/// `?consistency=eventual&min_index={index}`: an eventual read that must
/// reflect at least log index `index` ([`MIN_INDEX_PARAM`]).
#[must_use]
pub fn eventual_min_index_query(index: u64) -> String {
    format!("?{CONSISTENCY_PARAM}=eventual&{MIN_INDEX_PARAM}={index}")
}

/// `POST /kv` body: `{"key":"k","value":"v"}`, with an optional `ttl_secs` as [`PutBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostBody<'a> {
    /// The key (UTF-8, non-empty).
    #[serde(borrow)]
    #[cfg_attr(feature = "openapi", schema(value_type = schema::Key))]
    pub key: Cow<'a, str>,
    /// The value (a JSON string).
    #[serde(borrow)]
    #[cfg_attr(feature = "openapi", schema(value_type = schema::ValueText))]
    pub value: Cow<'a, str>,
    /// Seconds until the key expires (1 to ten years); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::TtlSecs>))]
    pub ttl_secs: Option<u64>,
}

/// `PUT /kv/{key}` body: `{"value":"v"}`, or `{"value":"v","ttl_secs":N}`
/// for a key that expires N seconds after it is applied (`POST /kv` takes
/// `ttl_secs` too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutBody<'a> {
    /// The value (a JSON string); borrowed when encoding, so a large value is not copied.
    #[serde(borrow)]
    #[cfg_attr(feature = "openapi", schema(value_type = schema::ValueText))]
    pub value: Cow<'a, str>,
    /// Seconds until the key expires (1 to ten years); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::TtlSecs>))]
    pub ttl_secs: Option<u64>,
}

/// `POST /kv/{key}/cas` body: `{"expected":"old","value":"new"}` swaps only
/// if the key holds `"old"`; `"expected":null` only if the key is absent;
/// an optional `"ttl_secs"` expires the swapped-in value.
/// 200 [`OkAnswer`] when swapped, 409 `cas_failed` otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasBody<'a> {
    /// The value the key must hold, `None` (JSON `null`) for "absent".
    #[serde(borrow)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<schema::ValueText>, required = true)
    )]
    pub expected: Option<Cow<'a, str>>,
    /// The new value.
    #[serde(borrow)]
    #[cfg_attr(feature = "openapi", schema(value_type = schema::ValueText))]
    pub value: Cow<'a, str>,
    /// Seconds until the swapped-in value expires (1 to ten years); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::TtlSecs>))]
    pub ttl_secs: Option<u64>,
}

/// One change as `GET /watch/{key}` and `GET /watch?prefix=p` send it: the
/// `data:` of a Server-Sent Event (whose `id:` is the index too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchEvent {
    /// What happened to the key.
    pub kind: WatchKind,
    /// The key.
    pub key: String,
    /// The new value (`None` for a delete).
    pub value: Option<String>,
    /// The log index of the change (the serving node's applied index once it applied it).
    pub index: u64,
}

/// Kind of a [`WatchEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WatchKind {
    /// The key was written.
    Put,
    /// The key was deleted (or expired).
    Delete,
}

/// SSE event name of the last event of a watch the node ended because its
/// consumer fell behind (then events may have been missed).
pub const WATCH_CANCELED: &str = "canceled";

/// Error code of a compare-and-swap that found another value (409).
pub const CAS_FAILED: &str = "cas_failed";

/// Answer of a successful write or delete (and of a member registration): `{"ok":true}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OkAnswer {
    /// Always `true`.
    pub ok: bool,
}

impl OkAnswer {
    /// `{"ok":true}`.
    pub const OK: Self = Self { ok: true };
}

/// Answer of a key read: 200 `{"value":"v"}`, or 404 `{"value":null}` for a
/// missing key (a 404 for an unknown path carries an [`crate::ErrorBody`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueAnswer {
    /// The value, `None` when the key does not exist. Required when decoding
    /// (`null` is not absent), so an error body never reads as a missing key.
    #[serde(deserialize_with = "required")]
    pub value: Option<String>,
}

/// One key of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListItem {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// Answer of `GET /kv?prefix=p&limit=N`: the first `limit` keys starting with
/// the prefix, in byte order of the key, and whether more keys matched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAnswer {
    /// Matching keys and values, sorted by key.
    pub items: Vec<ListItem>,
    /// More keys matched than `limit` allowed.
    pub truncated: bool,
}

/// Decodes an `Option` field that must be present (it may be `null`).
fn required<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_documented_json() {
        let post = PostBody {
            key: "k".into(),
            value: "v".into(),
            ttl_secs: None,
        };
        assert_eq!(
            serde_json::to_string(&post).unwrap(),
            r#"{"key":"k","value":"v"}"#
        );
        let put = PutBody {
            value: "a\"b".into(),
            ttl_secs: None,
        };
        let text = serde_json::to_string(&put).unwrap();
        assert_eq!(text, r#"{"value":"a\"b"}"#);
        assert_eq!(serde_json::from_str::<PutBody<'_>>(&text).unwrap(), put);
        assert_eq!(
            serde_json::to_string(&OkAnswer::OK).unwrap(),
            r#"{"ok":true}"#
        );
        let found = ValueAnswer {
            value: Some("v".into()),
        };
        assert_eq!(serde_json::to_string(&found).unwrap(), r#"{"value":"v"}"#);
        let missing: ValueAnswer = serde_json::from_str(r#"{"value":null}"#).unwrap();
        assert_eq!(missing.value, None);
        assert_eq!(
            serde_json::to_string(&missing).unwrap(),
            r#"{"value":null}"#
        );
        let not_found = r#"{"error":"not_found","message":"no such endpoint: /x"}"#;
        assert!(serde_json::from_str::<ValueAnswer>(not_found).is_err());
    }

    #[test]
    fn consistency_spellings() {
        for (c, text) in [
            (Consistency::Linearizable, "linearizable"),
            (Consistency::Lease, "lease"),
            (Consistency::Eventual, "eventual"),
        ] {
            assert_eq!(Consistency::parse(text), Some(c));
            assert_eq!(c.query(), format!("?{CONSISTENCY_PARAM}={text}"));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{text}\""));
        }
        assert_eq!(Consistency::parse("lease"), Some(Consistency::Lease));
        assert_eq!(
            eventual_min_index_query(42),
            "?consistency=eventual&min_index=42"
        );
        assert_eq!(Consistency::parse("strong"), None);
        assert_eq!(Consistency::parse(""), None);
    }
}
