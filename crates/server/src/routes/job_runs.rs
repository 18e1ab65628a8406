//! Job runs: reading, listing, cancelling and following them.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, stream};
use serde::Deserialize;
use store::{JobRunFilter, JobRunStatus};
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::dto::Page;
use crate::error::{ApiError, NotFoundAs};
use crate::extract::{Json, Path, Query};
use crate::jobs_dto;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_job_runs))
        .routes(routes!(get_job_run))
        .routes(routes!(cancel_job_run))
        .routes(routes!(job_run_events))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct JobRunQuery {
    job_id: Option<String>,
    #[param(value_type = Option<crate::api_doc::JobRunStatus>)]
    status: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Job runs, newest first.
#[utoipa::path(get, path = "/v1/job-runs", tag = "jobs", params(JobRunQuery),
    responses((status = 200, body = crate::api_doc::JobRunPage)))]
async fn list_job_runs(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<JobRunQuery>,
) -> Result<Json<Page<jobs_dto::JobRun>>, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(JobRunStatus::parse(s).ok_or_else(|| {
            let known: Vec<&str> = JobRunStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(format!("unknown status '{s}' (one of {})", known.join(", ")))
        })?),
    };
    let page = crate::dto::PageParams { limit: q.limit, cursor: q.cursor }.request()?;
    let filter = JobRunFilter { job_id: q.job_id, status };
    let runs = state.store.tenant(auth.org()).list_job_runs(&filter, &page).await?;
    Ok(Json(Page::from_store(runs, jobs_dto::JobRun::from)))
}

/// A job run with the status of each of its workflow runs.
#[utoipa::path(get, path = "/v1/job-runs/{id}", tag = "jobs",
    responses((status = 200, body = jobs_dto::JobRun), (status = 404)))]
async fn get_job_run(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<jobs_dto::JobRun>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_job_run(&id).await.or_not_found("job run")?.into()))
}

/// Cancels the running workflow run and skips the rest. A job run that ended is returned as it is.
#[utoipa::path(post, path = "/v1/job-runs/{id}/cancel", tag = "jobs",
    responses((status = 200, body = jobs_dto::JobRun), (status = 404)))]
async fn cancel_job_run(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<jobs_dto::JobRun>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).cancel_job_run(&id).await.or_not_found("job run")?.into()))
}

struct Follow {
    state: AppState,
    org: String,
    id: String,
    /// The revision last sent.
    sent: i64,
    wakeups: broadcast::Receiver<String>,
    done: bool,
}

/// Follow a job run: a `job_run` event (the job run as `GET` shows it) whenever it
/// or one of its workflow runs changes status, then `end` with the ended job run.
/// Each event's id is the job run's revision; `Last-Event-ID` resumes after it.
#[utoipa::path(get, path = "/v1/job-runs/{id}/events", tag = "jobs",
    params(("Last-Event-ID" = Option<i64>, Header, description = "resume after this event id")),
    responses((status = 200, content_type = "text/event-stream", description = "job_run and end events"), (status = 404)))]
async fn job_run_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let wakeups = state.store.event_wakeups();
    state.store.tenant(auth.org()).get_job_run(&id).await.or_not_found("job run")?;
    let sent = crate::events::resume_after(&headers);
    let follow = Follow { state, org: auth.org().to_owned(), id, sent, wakeups, done: false };
    let events = stream::unfold(follow, |mut f| async move {
        loop {
            if f.done {
                return None;
            }
            let current = match f.state.store.tenant(&f.org).get_job_run(&f.id).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("job run events: {e}");
                    return None;
                }
            };
            let revision = current.revision;
            if current.status.is_final() {
                f.done = true;
                let body = serde_json::to_string(&jobs_dto::JobRun::from(current)).unwrap_or_default();
                return Some((Ok(Event::default().event("end").id(revision.to_string()).data(body)), f));
            }
            if revision > f.sent {
                f.sent = revision;
                let body = serde_json::to_string(&jobs_dto::JobRun::from(current)).unwrap_or_default();
                return Some((Ok(Event::default().event("job_run").id(revision.to_string()).data(body)), f));
            }
            crate::events::woken_or_fallback(&mut f.wakeups, &f.id).await;
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
