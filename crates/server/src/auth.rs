//! `Authorization: Bearer KEY` → the caller's organization and role.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use store::{Principal, Role};

use crate::AppState;
use crate::error::ApiError;

/// An authenticated caller. Every handler that takes one only ever touches
/// its organization's rows.
pub struct Auth(pub Principal);

impl Auth {
    pub fn org(&self) -> &str {
        &self.0.org_id
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Member => Err(ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "this requires an admin API key")),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| unauthorized("missing Authorization: Bearer API key"))?;
        let key = header.strip_prefix("Bearer ").map(str::trim).filter(|k| !k.is_empty());
        let key = key.ok_or_else(|| unauthorized("the Authorization header must be `Bearer KEY`"))?;
        match state.store.authenticate(key).await? {
            Some(principal) => Ok(Auth(principal)),
            None => Err(unauthorized("invalid or revoked API key")),
        }
    }
}

/// No `Authorization` header: `None` (the handler decides); a bad one is still refused.
impl OptionalFromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Auth>, ApiError> {
        if !parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
            return Ok(None);
        }
        <Auth as FromRequestParts<AppState>>::from_request_parts(parts, state).await.map(Some)
    }
}
