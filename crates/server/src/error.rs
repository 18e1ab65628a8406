//! The one error type of the HTTP layer: `{error: {code, message, details?}}`.
//! Internal errors are logged and never shown to clients.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: None }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 422 for one field of the request body: `details.field` names it.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::unprocessable("INVALID_FIELD", message).with_details(json!({ "field": field }))
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
        tracing::error!("{context}: {error}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error")
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> ApiError {
        match e {
            store::Error::NotFound => ApiError::not_found("resource"),
            store::Error::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "CONFLICT", message),
            store::Error::BadCursor => ApiError::bad_request("invalid cursor"),
            store::Error::Invalid { field, message } => ApiError::invalid_field(field, message),
            other => ApiError::internal("store", other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(details) = self.details {
            error["details"] = details;
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// Turns store `NotFound` into a message naming what was looked for.
pub trait NotFoundAs<T> {
    fn or_not_found(self, what: &str) -> Result<T, ApiError>;
}

impl<T> NotFoundAs<T> for Result<T, store::Error> {
    fn or_not_found(self, what: &str) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            store::Error::NotFound => ApiError::not_found(what),
            other => other.into(),
        })
    }
}
