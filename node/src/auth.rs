//! Protection of `/admin/*` and `/internal/*`: a bearer token compared in
//! constant time, or, with no token configured, loopback peers only.

use actix_web::http::header;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Allow the request if it carries the right token, or if no token is
/// configured and the peer is on loopback.
pub fn check_admin(req: &HttpRequest, token: Option<&str>) -> Result<(), ApiError> {
    match token {
        Some(expected) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
            if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::Unauthorized("wrong bearer token".into()))
            }
        }
        None => {
            let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(ApiError::Unauthorized(
                    "no admin token configured: admin endpoints accept loopback peers only".into(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn token_must_match() {
        let ok = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer s3cret"))
            .to_http_request();
        assert!(check_admin(&ok, Some("s3cret")).is_ok());
        let wrong = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer s3cre"))
            .to_http_request();
        assert_eq!(
            check_admin(&wrong, Some("s3cret")).unwrap_err().code(),
            "unauthorized"
        );
        let missing = TestRequest::default().to_http_request();
        assert!(check_admin(&missing, Some("s3cret")).is_err());
    }

    #[test]
    fn without_token_only_loopback() {
        let local = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().expect("addr"))
            .to_http_request();
        assert!(check_admin(&local, None).is_ok());
        let remote = TestRequest::default()
            .peer_addr("192.0.2.1:5000".parse().expect("addr"))
            .to_http_request();
        assert!(check_admin(&remote, None).is_err());
    }
}
