//! Schedules: job runs started at the due times of a cron expression.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use store::{NewSchedule, Overlap, SchedulePatch, Trigger};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::cron::When;
use crate::dto::{Page, PageParams};
use crate::error::{ApiError, NotFoundAs};
use crate::extract::{Json, Path, Query};
use crate::job_plan::{JobRunAsk, plan_job_run};
use crate::jobs_dto::{self, CreateSchedule, UpdateSchedule};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_schedule, list_schedules))
        .routes(routes!(get_schedule, update_schedule, delete_schedule))
        .routes(routes!(get_job_schedule, update_job_schedule, delete_job_schedule))
}

fn when(cron: &str, timezone: &str) -> Result<When, ApiError> {
    When::parse(cron, timezone).map_err(|(field, message)| ApiError::invalid_field(field, message))
}

/// The next due time from now of an enabled schedule: a cron that never comes due
/// (`0 0 30 2 *`) is refused rather than kept silently idle.
async fn next_due(state: &AppState, when: &When, cron: &str, enabled: bool) -> Result<Option<i64>, ApiError> {
    if !enabled {
        return Ok(None);
    }
    // A cron that never comes due is searched far ahead: off the async threads.
    let now = state.store.clock().now_ms();
    let searched = when.clone();
    let next = tokio::task::spawn_blocking(move || searched.next_after(now))
        .await
        .map_err(|e| ApiError::internal("cron search", e))?;
    match next {
        Some(next) => Ok(Some(next)),
        None => Err(ApiError::invalid_field("cron", format!("cron '{cron}' never comes due"))),
    }
}

fn overlap(asked: Option<&str>) -> Result<Option<Overlap>, ApiError> {
    asked
        .map(|o| {
            Overlap::parse(o).ok_or_else(|| {
                ApiError::invalid_field("overlap", format!("overlap must be 'skip' or 'queue', got '{o}'"))
            })
        })
        .transpose()
}

/// Checks `inputs` as the job's runs would take them; returns them shown and sealed.
async fn checked_inputs(
    state: &AppState,
    tenant: &store::Tenant<'_>,
    job_id: &str,
    inputs: &Map<String, Value>,
) -> Result<(Value, String), ApiError> {
    let (job, sealed_steps) = tenant.job_with_sealed_steps(job_id).await.or_not_found("job")?;
    let ask = JobRunAsk {
        inputs,
        test: false,
        identity_id: job.identity_id.clone(),
        trigger: Trigger::Schedule,
        schedule_id: None,
    };
    let planned = plan_job_run(tenant, &state.sealer, &job, &sealed_steps, ask).await?;
    Ok((planned.inputs, state.sealer.seal(&Value::Object(inputs.clone()).to_string())))
}

/// Schedule a job: a cron expression and time zone at which job runs start.
#[utoipa::path(post, path = "/v1/jobs/{id}/schedules", tag = "jobs", request_body = CreateSchedule,
    responses((status = 201, body = jobs_dto::Schedule), (status = 404), (status = 422)))]
async fn create_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path(job_id): Path<String>,
    Json(body): Json<CreateSchedule>,
) -> Result<(StatusCode, Json<jobs_dto::Schedule>), ApiError> {
    let tenant = state.store.tenant(auth.org());
    let timezone = body.timezone.unwrap_or_else(|| "UTC".into());
    let when = when(&body.cron, &timezone)?;
    let overlap = overlap(body.overlap.as_deref())?.unwrap_or(Overlap::Skip);
    let enabled = body.enabled.unwrap_or(true);
    let next_run_at = next_due(&state, &when, &body.cron, enabled).await?;
    let (inputs, sealed_inputs) = checked_inputs(&state, &tenant, &job_id, &body.inputs).await?;
    let new = NewSchedule { job_id, cron: body.cron, timezone, inputs, sealed_inputs, enabled, overlap, next_run_at };
    Ok((StatusCode::CREATED, Json(tenant.create_schedule(new).await.or_not_found("job")?.into())))
}

/// A job's schedules, newest first.
#[utoipa::path(get, path = "/v1/jobs/{id}/schedules", tag = "jobs", params(PageParams),
    responses((status = 200, body = crate::api_doc::SchedulePage), (status = 404)))]
async fn list_schedules(
    State(state): State<AppState>,
    auth: Auth,
    Path(job_id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<jobs_dto::Schedule>>, ApiError> {
    let page = state.store.tenant(auth.org()).list_schedules(&job_id, &q.request()?).await.or_not_found("job")?;
    Ok(Json(Page::from_store(page, jobs_dto::Schedule::from)))
}

/// A schedule.
#[utoipa::path(get, path = "/v1/schedules/{id}", tag = "jobs",
    responses((status = 200, body = jobs_dto::Schedule), (status = 404)))]
async fn get_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<jobs_dto::Schedule>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_schedule(&id).await.or_not_found("schedule")?.into()))
}

/// Changes a schedule; a new cron, time zone or `enabled` counts the next due time from now.
#[utoipa::path(patch, path = "/v1/schedules/{id}", tag = "jobs", request_body = UpdateSchedule,
    responses((status = 200, body = jobs_dto::Schedule), (status = 404), (status = 422)))]
async fn update_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateSchedule>,
) -> Result<Json<jobs_dto::Schedule>, ApiError> {
    Ok(Json(update(&state, &auth, &id, None, body).await?.into()))
}

/// Delete a schedule; the job runs it started stay readable.
#[utoipa::path(delete, path = "/v1/schedules/{id}", tag = "jobs", responses((status = 204), (status = 404)))]
async fn delete_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.tenant(auth.org()).delete_schedule(&id).await.or_not_found("schedule")?;
    Ok(StatusCode::NO_CONTENT)
}

/// A schedule of the job `job_id`, or 404.
async fn of_job(state: &AppState, auth: &Auth, job_id: &str, id: &str) -> Result<store::Schedule, ApiError> {
    let schedule = state.store.tenant(auth.org()).get_schedule(id).await.or_not_found("schedule")?;
    if schedule.job_id == job_id { Ok(schedule) } else { Err(ApiError::not_found("schedule")) }
}

/// A schedule of the job.
#[utoipa::path(get, path = "/v1/jobs/{id}/schedules/{scheduleId}", tag = "jobs",
    responses((status = 200, body = jobs_dto::Schedule), (status = 404)))]
async fn get_job_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path((job_id, id)): Path<(String, String)>,
) -> Result<Json<jobs_dto::Schedule>, ApiError> {
    Ok(Json(of_job(&state, &auth, &job_id, &id).await?.into()))
}

/// Change a schedule of the job; a new cron, time zone or `enabled` counts the next due time from now.
#[utoipa::path(patch, path = "/v1/jobs/{id}/schedules/{scheduleId}", tag = "jobs", request_body = UpdateSchedule,
    responses((status = 200, body = jobs_dto::Schedule), (status = 404), (status = 422)))]
async fn update_job_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path((job_id, id)): Path<(String, String)>,
    Json(body): Json<UpdateSchedule>,
) -> Result<Json<jobs_dto::Schedule>, ApiError> {
    Ok(Json(update(&state, &auth, &id, Some(&job_id), body).await?.into()))
}

/// Delete a schedule of the job; the job runs it started stay readable.
#[utoipa::path(delete, path = "/v1/jobs/{id}/schedules/{scheduleId}", tag = "jobs",
    responses((status = 204), (status = 404)))]
async fn delete_job_schedule(
    State(state): State<AppState>,
    auth: Auth,
    Path((job_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    of_job(&state, &auth, &job_id, &id).await?;
    state.store.tenant(auth.org()).delete_schedule(&id).await.or_not_found("schedule")?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update(
    state: &AppState,
    auth: &Auth,
    id: &str,
    job_id: Option<&str>,
    body: UpdateSchedule,
) -> Result<store::Schedule, ApiError> {
    let tenant = state.store.tenant(auth.org());
    let current = match job_id {
        Some(job_id) => of_job(state, auth, job_id, id).await?,
        None => tenant.get_schedule(id).await.or_not_found("schedule")?,
    };
    let cron = body.cron.clone().unwrap_or_else(|| current.cron.clone());
    let timezone = body.timezone.clone().unwrap_or_else(|| current.timezone.clone());
    let when = when(&cron, &timezone)?;
    let enabled = body.enabled.unwrap_or(current.enabled);
    let retimed = body.cron.is_some() || body.timezone.is_some() || body.enabled.is_some();
    let next_run_at = if retimed { Some(next_due(state, &when, &cron, enabled).await?) } else { None };
    let inputs = match &body.inputs {
        Some(inputs) => Some(checked_inputs(state, &tenant, &current.job_id, inputs).await?),
        None => None,
    };
    let patch = SchedulePatch {
        cron: body.cron,
        timezone: body.timezone,
        inputs,
        enabled: body.enabled,
        overlap: overlap(body.overlap.as_deref())?,
        next_run_at,
    };
    tenant.update_schedule(id, patch).await.or_not_found("schedule")
}
