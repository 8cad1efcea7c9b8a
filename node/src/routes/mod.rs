//! HTTP routes: `/kv`, `/topology`, health checks, `/metrics`, internal and admin.

pub mod admin;
pub mod cluster;
pub mod kv;
pub mod watch;

use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;

/// JSON 405 for a known path with an unsupported method.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(req.method().to_string()))
}

/// JSON 404 for unknown paths.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound(req.path().to_string()))
}
