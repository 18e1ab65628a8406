//! Jobs: workflows in a set order, and starting job runs of them.

use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use store::{JobPatch, NewJob, Trigger};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::dto::{Page, PageParams};
use crate::error::{ApiError, NotFoundAs};
use crate::extract::{Json, Path, Query};
use crate::job_plan::{JobRunAsk, check_steps, plan_job_run};
use crate::jobs_dto::{self, CreateJob, CreateJobRun, UpdateJob};
use crate::{AppState, RequestDeadline};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job, update_job, delete_job))
        // A job run's inputs may hold files, like a run's.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(start_job_run))
                .layer(axum::extract::DefaultBodyLimit::max(crate::MAX_RUN_BODY_BYTES)),
        )
}

/// The identity a job or job run names, checked like a run's.
async fn identity(tenant: &store::Tenant<'_>, identity: Option<&str>) -> Result<(), ApiError> {
    match identity {
        Some(id) => super::runs::signs_in(tenant, id).await,
        None => Ok(()),
    }
}

/// Create a job: workflows that run one after the other.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = CreateJob,
    responses((status = 201, body = jobs_dto::Job), (status = 422, description = "an unknown workflow, version or input")))]
async fn create_job(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateJob>,
) -> Result<(StatusCode, Json<jobs_dto::Job>), ApiError> {
    let tenant = state.store.tenant(auth.org());
    identity(&tenant, body.identity_id.as_deref()).await?;
    let steps = check_steps(&tenant, &state.sealer, &body.workflow_execution_order).await?;
    let job = tenant
        .create_job(NewJob {
            name: body.name,
            source_provider: body.source_provider,
            description: body.description,
            identity_id: body.identity_id,
            steps,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(job.into())))
}

/// The organization's jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(PageParams),
    responses((status = 200, body = crate::api_doc::JobPage)))]
async fn list_jobs(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<jobs_dto::Job>>, ApiError> {
    let page = state.store.tenant(auth.org()).list_jobs(&q.request()?).await?;
    Ok(Json(Page::from_store(page, jobs_dto::Job::from)))
}

/// A job with its workflows in order.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", responses((status = 200, body = jobs_dto::Job), (status = 404)))]
async fn get_job(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<jobs_dto::Job>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_job(&id).await.or_not_found("job")?.into()))
}

/// Changes a job; job runs that exist keep the definition they started with.
#[utoipa::path(patch, path = "/v1/jobs/{id}", tag = "jobs", request_body = UpdateJob,
    responses((status = 200, body = jobs_dto::Job), (status = 404), (status = 422)))]
async fn update_job(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateJob>,
) -> Result<Json<jobs_dto::Job>, ApiError> {
    let tenant = state.store.tenant(auth.org());
    tenant.get_job(&id).await.or_not_found("job")?;
    if let Some(Some(identity_id)) = &body.identity_id {
        identity(&tenant, Some(identity_id)).await?;
    }
    let steps = match &body.workflow_execution_order {
        Some(entries) => Some(check_steps(&tenant, &state.sealer, entries).await?),
        None => None,
    };
    let patch = JobPatch {
        name: body.name,
        source_provider: body.source_provider,
        description: body.description,
        identity_id: body.identity_id,
        steps,
    };
    Ok(Json(tenant.update_job(&id, patch).await.or_not_found("job")?.into()))
}

/// Deletes the job and its schedules; its job runs stay readable.
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs", responses((status = 204), (status = 404)))]
async fn delete_job(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.store.tenant(auth.org()).delete_job(&id).await.or_not_found("job")?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start a job run: its workflows run one after the other, each as an ordinary run.
/// The job run is durable before this answers.
#[utoipa::path(post, path = "/v1/jobs/{id}/runs", tag = "jobs", request_body = CreateJobRun,
    responses(
        (status = 201, body = jobs_dto::JobRun, description = "started"),
        (status = 200, body = jobs_dto::JobRun, description = "ended within waitSeconds"),
        (status = 404), (status = 422, description = "a required input no source provides, naming the workflow")))]
async fn start_job_run(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    request_deadline: Option<Extension<RequestDeadline>>,
    Json(body): Json<CreateJobRun>,
) -> Result<Response, ApiError> {
    let wait = super::runs::wait_seconds(body.wait_seconds)?;
    let tenant = state.store.tenant(auth.org());
    let (job, sealed_steps) = tenant.job_with_sealed_steps(&id).await.or_not_found("job")?;
    let identity_id = body.identity_id.or_else(|| job.identity_id.clone());
    identity(&tenant, identity_id.as_deref()).await?;
    let ask =
        JobRunAsk { inputs: &body.inputs, test: body.test, identity_id, trigger: Trigger::Api, schedule_id: None };
    let planned = plan_job_run(&tenant, &state.sealer, &job, &sealed_steps, ask).await?;
    let job_run = tenant.create_job_run(planned).await?;
    if wait > 0.0 {
        let deadline = super::runs::wait_until(wait, request_deadline);
        loop {
            let current = tenant.get_job_run(&job_run.id).await?;
            if current.status.is_final() {
                return Ok((StatusCode::OK, Json(jobs_dto::JobRun::from(current))).into_response());
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok((StatusCode::CREATED, Json(jobs_dto::JobRun::from(current))).into_response());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok((StatusCode::CREATED, Json(jobs_dto::JobRun::from(job_run))).into_response())
}
