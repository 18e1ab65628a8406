//! Requests answered before any handler runs, in the API's error shape:
//! unknown routes (404), wrong methods (405) and URLs carrying NUL characters
//! (400: no id or filter contains one, and PostgreSQL refuses them in queries).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub async fn unknown_route(request: Request) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no route for {}", request.uri().path()))
}

pub async fn wrong_method(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{} is not allowed on {} (the Allow header lists what is)", request.method(), request.uri().path()),
    )
}

pub async fn refuse_nul_in_url(request: Request, next: Next) -> Response {
    // A NUL can only arrive percent-encoded: the HTTP parser refuses raw control characters.
    if request.uri().path_and_query().is_some_and(|p| p.as_str().contains("%00")) {
        return ApiError::bad_request("the URL must not contain NUL characters (%00)").into_response();
    }
    next.run(request).await
}
