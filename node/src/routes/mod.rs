//! HTTP routes: `/kv`, `/topology`, health checks, `/metrics`, internal and admin.

pub mod admin;
pub mod cluster;
pub mod kv;
pub mod openapi;
pub mod watch;

use actix_web::{web, HttpRequest, HttpResponse, Route};

use crate::error::ApiError;

/// The default service of a resource that serves `methods` (as the `Allow`
/// header spells them): a JSON 405 with that `Allow` header.
pub fn allow(methods: &'static str) -> Route {
    web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::method_not_allowed(&req, methods))
    })
}

/// JSON 404 for unknown paths.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound(req.path().to_string()))
}
