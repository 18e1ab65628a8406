//! `Json`, `Query` and `Path` whose rejections use the API's error shape
//! instead of axum's plain-text bodies.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, MissingJsonContentType, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Nesting deeper than a workflow document may hold is refused
/// before it is parsed, with the validator's `too-deeply-nested` diagnostic: the
/// JSON parser's own recursion limit would only say "recursion limit exceeded".
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Json<T>, ApiError> {
        if !json_content_type(request.headers()) {
            return Err(JsonRejection::from(MissingJsonContentType::default()).into());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(JsonRejection::from)?;
        // A workflow definition is one level down, a field of the body's object.
        let too_deep = std::str::from_utf8(&bytes).ok().and_then(|text| workflow::too_deeply_nested(text, 1));
        if let Some(mut too_deep) = too_deep {
            // Located like every other diagnostic of the definition: from the document's root.
            let inside =
                too_deep.location.strip_prefix("definition").filter(|r| r.is_empty() || r.starts_with(['.', '[']));
            if let Some(inside) = inside {
                too_deep.location = inside.strip_prefix('.').unwrap_or(inside).to_owned();
            }
            return Err(crate::routes::workflows::invalid_workflow(&[too_deep]));
        }
        Ok(Json(axum::Json::<T>::from_bytes(&bytes)?.0))
    }
}

/// `application/json` or any `…+json` type, as axum's own extractor accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(mime) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let status = if r.status().is_client_error() { r.status() } else { StatusCode::BAD_REQUEST };
        let code = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            // Well-formed JSON with a missing, unknown, `null` or mistyped field: serde's message names it.
            StatusCode::UNPROCESSABLE_ENTITY => "INVALID_FIELD",
            _ => "BAD_REQUEST",
        };
        // The body is the client's own input, so describing what was wrong with it leaks nothing.
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                format!("the request body is larger than {} bytes", crate::MAX_BODY_BYTES)
            }
            _ => r.body_text(),
        };
        ApiError::new(status, code, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
