//! The web dashboard: static pages (HTML, CSS, ES modules) embedded in the
//! binary and served at `/`, talking to the API under `/v1` from the browser
//! with the API key the user pasted (kept in `sessionStorage`, sent as
//! `Authorization: Bearer`, so no ambient credential exists for CSRF to use).
//!
//! `assets.rs` is the table of embedded files; `router()` serves them with
//! their content type, a strict Content-Security-Policy and revalidated caching.
//! The pages themselves are in `assets/` (no build step; see `assets/js/app.js`).

mod assets;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use assets::{ASSETS, Asset};

/// Scripts and styles only from our own origin (no inline code, so an injected
/// string can never execute); images also from `blob:` (artifacts fetched with
/// the key) and `data:`; API calls to our own origin; never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `/` (the page) and `/assets/NAME` for each embedded file. Only those paths are
/// routed, so every other one stays with the caller's fallback (the API's JSON 404).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for asset in ASSETS {
        let path = if asset.name == "index.html" { "/".to_owned() } else { format!("/assets/{}", asset.name) };
        router = router.route(&path, get(move |headers: HeaderMap| async move { serve(asset, &headers) }));
    }
    router
}

/// The bytes with security headers. `no-cache` with an ETag: the browser keeps
/// its copy but asks each time, so a new binary's pages are never mixed with
/// an old cached module (the names carry no version).
fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = asset.etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.bytes.into_response() };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests;
