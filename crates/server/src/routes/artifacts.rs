//! Artifacts: the files runs left. Listed by run or workflow, read by id, their
//! bytes streamed (with byte ranges) to an API caller of their organization or
//! to anyone holding a signed link that has not expired.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use store::ArtifactsOf;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{self, Page, PageParams};
use crate::error::{ApiError, NotFoundAs};
use crate::extract::{Json, Path, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_run_artifacts))
        .routes(routes!(list_workflow_artifacts))
        .routes(routes!(get_artifact))
        .routes(routes!(artifact_content))
        .routes(routes!(create_link))
}

/// Links last 15 minutes unless asked otherwise, and never more than 7 days.
const DEFAULT_LINK_SECONDS: i64 = 15 * 60;
const MAX_LINK_SECONDS: i64 = 7 * 24 * 3600;

/// A run's artifacts, newest first.
#[utoipa::path(get, path = "/v1/runs/{id}/artifacts", tag = "artifacts", params(PageParams),
    responses((status = 200, body = crate::api_doc::ArtifactPage), (status = 404)))]
async fn list_run_artifacts(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<dto::Artifact>>, ApiError> {
    listed(&state, &auth, ArtifactsOf::Run(&id), &q, "run").await
}

/// A workflow's artifacts across its runs, newest first (a deleted workflow's too).
#[utoipa::path(get, path = "/v1/workflows/{id}/artifacts", tag = "artifacts", params(PageParams),
    responses((status = 200, body = crate::api_doc::ArtifactPage), (status = 404)))]
async fn list_workflow_artifacts(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<dto::Artifact>>, ApiError> {
    listed(&state, &auth, ArtifactsOf::Workflow(&id), &q, "workflow").await
}

/// One page of a run's or a workflow's artifacts (`what` names the owner in a 404).
async fn listed(
    state: &AppState,
    auth: &Auth,
    of: ArtifactsOf<'_>,
    q: &PageParams,
    what: &str,
) -> Result<Json<Page<dto::Artifact>>, ApiError> {
    let found = state.store.tenant(auth.org()).list_artifacts(of, &q.request()?).await.or_not_found(what)?;
    Ok(Json(Page::from_store(found, dto::Artifact::from)))
}

/// An artifact's metadata: type, name, size, checksum and the run that left it.
#[utoipa::path(get, path = "/v1/artifacts/{id}", tag = "artifacts",
    responses((status = 200, body = dto::Artifact), (status = 404)))]
async fn get_artifact(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Artifact>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_artifact(&id).await.or_not_found("artifact")?.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LinkQuery {
    /// From a signed link: when it stops working (Unix seconds).
    expires: Option<i64>,
    /// From a signed link.
    signature: Option<String>,
}

/// The artifact's bytes, with an API key or through a signed link. Honours one
/// `Range: bytes=…` (206, or 416 outside the file).
#[utoipa::path(get, path = "/v1/artifacts/{id}/content", tag = "artifacts", params(LinkQuery),
    responses((status = 200, description = "the bytes"), (status = 206, description = "the range asked for"),
        (status = 403, description = "an expired or altered link"), (status = 404), (status = 416)))]
async fn artifact_content(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
    auth: Option<Auth>,
) -> Result<Response, ApiError> {
    let artifact = match (link.expires, link.signature.as_deref(), auth) {
        (Some(expires), Some(signature), _) => {
            let forbidden = || ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "the link expired or is not valid");
            let now = state.store.clock().now_ms() / 1000;
            if expires <= now || !state.sealer.verify(&link_message(&id, expires), signature) {
                return Err(forbidden());
            }
            state.store.artifact_for_link(&id).await.map_err(|_| forbidden())?
        }
        (_, _, Some(auth)) => state.store.tenant(auth.org()).get_artifact(&id).await.or_not_found("artifact")?,
        _ => {
            let message = "missing Authorization: Bearer API key (or a signed link)";
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message));
        }
    };
    let blobs = state.blobs.as_ref().ok_or_else(|| ApiError::not_found("artifact content"))?;
    let size = u64::try_from(artifact.size).unwrap_or(0);
    let range = match headers.get(header::RANGE).and_then(|r| r.to_str().ok()) {
        Some(asked) => Some(byte_range(asked, size).ok_or_else(|| {
            ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RANGE_NOT_SATISFIABLE",
                format!("the file has {size} bytes"),
            )
        })?),
        None => None,
    };
    let fetched = blobs.get(&artifact.object_key, range.clone()).await.map_err(|e| match e {
        // Removed by retention meanwhile, or uploaded by a worker that uses another store.
        blobs::Error::NotFound(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "the artifact's bytes are not in the artifact store (removed, or uploaded to a store this server does not use)",
        ),
        e => ApiError::internal("artifact content", e),
    })?;
    let mut response = Response::new(Body::from_stream(fetched.bytes));
    let h = response.headers_mut();
    let value =
        |v: &str| HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, value(&artifact.content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(fetched.range.end - fetched.range.start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_DISPOSITION, value(&disposition(&artifact.name)));
    // A page the run saw must not run as this API's own page (its scripts, its cookies).
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if range.is_some() {
        let r = &fetched.range;
        h.insert(header::CONTENT_RANGE, value(&format!("bytes {}-{}/{}", r.start, r.end - 1, fetched.size)));
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}

/// A link to the artifact's content that works without a key until it expires.
#[utoipa::path(post, path = "/v1/artifacts/{id}/link", tag = "artifacts", request_body = dto::CreateLink,
    responses((status = 200, body = dto::Link), (status = 404)))]
async fn create_link(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<dto::Link>, ApiError> {
    // The body is optional: an empty one asks for the defaults.
    let asked: dto::CreateLink = if body.iter().all(u8::is_ascii_whitespace) {
        dto::CreateLink::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?
    };
    state.store.tenant(auth.org()).get_artifact(&id).await.or_not_found("artifact")?;
    let seconds = asked.expires_in_seconds.unwrap_or(DEFAULT_LINK_SECONDS);
    if !(1..=MAX_LINK_SECONDS).contains(&seconds) {
        return Err(ApiError::bad_request(format!("expiresInSeconds must be between 1 and {MAX_LINK_SECONDS}")));
    }
    let expires = state.store.clock().now_ms() / 1000 + seconds;
    let signature = state.sealer.sign(&link_message(&id, expires));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    let url = format!("{scheme}://{host}/v1/artifacts/{id}/content?expires={expires}&signature={signature}");
    Ok(Json(dto::Link { url, expires_at: dto::time(expires * 1000) }))
}

/// What a link's signature covers: the artifact and the expiry.
fn link_message(id: &str, expires: i64) -> String {
    format!("artifact-link:{id}:{expires}")
}

/// One `bytes=START-END`, `bytes=START-` or `bytes=-SUFFIX` range of a file of
/// `size` bytes, as `start..end` (end exclusive); none when it cannot be served.
fn byte_range(asked: &str, size: u64) -> Option<std::ops::Range<u64>> {
    let spec = asked.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            size.saturating_sub(n)..size
        }
        (start, "") => start.parse().ok()?..size,
        (start, end) => start.parse().ok()?..end.parse::<u64>().ok()?.saturating_add(1).min(size),
    };
    (range.start < range.end && range.start < size).then_some(range)
}

/// `attachment` with the name as plain ASCII and as UTF-8 (RFC 6266).
fn disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_like_http_says() {
        assert_eq!(byte_range("bytes=0-3", 10), Some(0..4));
        assert_eq!(byte_range("bytes=4-", 10), Some(4..10));
        assert_eq!(byte_range("bytes=-3", 10), Some(7..10));
        assert_eq!(byte_range("bytes=5-100", 10), Some(5..10));
        assert_eq!(byte_range("bytes=10-", 10), None);
        assert_eq!(byte_range("bytes=0-1,4-5", 10), None);
        assert_eq!(byte_range("lines=0-1", 10), None);
    }

    #[test]
    fn names_are_safe_in_the_header() {
        assert_eq!(disposition("a \"b\".csv"), "attachment; filename=\"a__b_.csv\"; filename*=UTF-8''a%20%22b%22.csv");
    }
}
