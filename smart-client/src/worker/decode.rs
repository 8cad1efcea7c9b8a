//! Decoding of reply bodies.

use bytes::Bytes;
use kv_contract::ValueAnswer;

use crate::error::AttemptError;

/// `{"value":"v"}` → `Some(v)`; `{"value":null}` → `None`.
pub(super) fn parse_value(body: &[u8]) -> std::result::Result<Option<Bytes>, AttemptError> {
    serde_json::from_slice::<ValueAnswer>(body)
        .map(|b| b.value.map(Bytes::from))
        .map_err(|e| AttemptError::Server(200, format!("unreadable body: {e}")))
}

/// A key read's 404 carries `{"value":null}`; a route 404 carries an error
/// body, which has no `value` (a [`ValueAnswer`] requires one).
pub(super) fn is_missing_value(body: &[u8]) -> bool {
    serde_json::from_slice::<ValueAnswer>(body).is_ok_and(|v| v.value.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_bodies() {
        assert!(is_missing_value(br#"{"value":null}"#));
        assert!(!is_missing_value(
            br#"{"error":"not_found","message":"no route"}"#
        ));
        assert_eq!(
            parse_value(br#"{"value":"v"}"#).unwrap(),
            Some(Bytes::from("v"))
        );
    }
}
