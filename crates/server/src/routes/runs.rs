use std::time::Duration;

use crate::extract::{Json, Path, Query};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use store::{NewRun, RunFilter, RunStatus, SegmentCursor, TimeLimits, VersionRef};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow::ParamType;

use crate::auth::Auth;
use crate::dto::{self, CreateRun, Page, PageParams};
use crate::error::{ApiError, NotFoundAs};
use crate::routes::workflows::version_ref;
use crate::{AppState, RequestDeadline};

pub fn router() -> OpenApiRouter<AppState> {
    // Bodies that carry inputs may hold files.
    let with_files = OpenApiRouter::new()
        .routes(routes!(create_run))
        .routes(routes!(supply_input))
        .layer(axum::extract::DefaultBodyLimit::max(crate::MAX_RUN_BODY_BYTES));
    OpenApiRouter::new()
        .merge(with_files)
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(list_segments))
        .routes(routes!(cancel_run))
        .routes(routes!(crate::events::run_events))
}

const MAX_WAIT_SECONDS: f64 = 300.0;
const MAX_ATTEMPTS: i64 = 10;
/// The longest a run may wait for a person's input: a day.
const MAX_INPUT_WAIT_SECONDS: f64 = 86_400.0;
/// Time kept between the end of a `waitSeconds` wait and the request's deadline.
const WAIT_MARGIN: Duration = Duration::from_millis(500);

/// Start a run of a workflow version. The run is durable before this answers.
#[utoipa::path(post, path = "/v1/workflows/{id}/runs", tag = "runs", request_body = CreateRun,
    responses(
        (status = 201, body = dto::Run, description = "queued"),
        (status = 200, body = dto::Run, description = "finished within waitSeconds"),
        (status = 404), (status = 422, description = "invalid inputs")))]
async fn create_run(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    request_deadline: Option<Extension<RequestDeadline>>,
    Json(body): Json<CreateRun>,
) -> Result<Response, ApiError> {
    let which = match &body.version {
        None => VersionRef::Latest,
        Some(Value::String(s)) => version_ref(s)?,
        Some(Value::Number(n)) => version_ref(&n.to_string())?,
        Some(other) => {
            return Err(ApiError::bad_request(format!("version must be 'latest', 'draft' or a number, got {other}")));
        }
    };
    let wait = wait_seconds(body.wait_seconds)?;
    let max_attempts = body.max_attempts.unwrap_or(1);
    if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
        return Err(ApiError::bad_request(format!("maxAttempts must be between 1 and {MAX_ATTEMPTS}")));
    }
    let limits = TimeLimits {
        segment_ms: time_limit("segmentTimeoutSeconds", body.segment_timeout_seconds, state.max_time.segment)?,
        run_ms: time_limit("runTimeoutSeconds", body.run_timeout_seconds, state.max_time.run)?,
    };
    let artifacts = match &body.artifacts {
        Some(asked) => engine::ArtifactOptions::from_json(asked).map_err(ApiError::bad_request)?,
        None => engine::ArtifactOptions::default(),
    };
    let tenant = state.store.tenant(auth.org());
    tenant.get_live_workflow(&id).await.or_not_found("workflow")?;
    if let Some(identity) = &body.identity_id {
        signs_in(&tenant, identity).await?;
    }
    let version = tenant.get_version(&id, which).await.or_not_found("version")?;
    let checked = workflow::check(&version.definition);
    let Some(definition) = checked.workflow else {
        return Err(ApiError::unprocessable("INVALID_WORKFLOW", "the selected version is not a valid workflow"));
    };
    let warnings: Vec<Value> = match body.identity_id {
        Some(_) => workflow::identity_lints(&definition).iter().map(super::workflows::diagnostic_json).collect(),
        None => Vec::new(),
    };
    let input_timeout_ms = match body.input_timeout_seconds {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s <= MAX_INPUT_WAIT_SECONDS => Some((s * 1000.0).ceil() as i64),
        Some(_) => {
            let message = format!("inputTimeoutSeconds must be more than 0 and at most {MAX_INPUT_WAIT_SECONDS}");
            return Err(ApiError::invalid_field("inputTimeoutSeconds", message));
        }
    };
    let inputs =
        engine::inputs::prepare_deferring(&definition, &body.inputs, &body.deferred_inputs).map_err(|errors| {
            let details: Vec<Value> = errors.iter().map(|e| json!({"name": e.name, "message": e.message})).collect();
            let first = errors.first().map(|e| e.message.clone()).unwrap_or_default();
            ApiError::unprocessable("INVALID_INPUTS", first).with_details(json!({ "inputs": details }))
        })?;
    let new = NewRun {
        identity_id: body.identity_id,
        deferred_inputs: body.deferred_inputs,
        input_timeout_ms,
        workflow_id: id,
        workflow_version: version.version,
        sealed_inputs: state.sealer.seal(&Value::Object(inputs.clone()).to_string()),
        inputs: Value::Object(redact_inputs(&definition, inputs)),
        definition: version.definition,
        test: body.test,
        max_attempts,
        limits,
        artifacts: Some(artifacts.to_json().to_string()),
    };
    let run = tenant.create_run(new).await?;
    let location =
        HeaderValue::from_str(&format!("/v1/runs/{}", run.id)).map_err(|e| ApiError::internal("location", e))?;
    let mut headers = HeaderMap::new();
    headers.insert(header::LOCATION, location);
    if wait > 0.0 {
        let deadline = wait_until(wait, request_deadline);
        loop {
            let current = tenant.get_run(&run.id).await?;
            if current.status.is_final() {
                let answer = dto::Run { warnings, ..dto::Run::from(current) };
                return Ok((StatusCode::OK, headers, Json(answer)).into_response());
            }
            if tokio::time::Instant::now() >= deadline {
                let answer = dto::Run { warnings, ..dto::Run::from(current) };
                return Ok((StatusCode::CREATED, headers, Json(answer)).into_response());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok((StatusCode::CREATED, headers, Json(dto::Run { warnings, ..dto::Run::from(run) })).into_response())
}

/// A request's `waitSeconds`: between 0 (the default: no wait) and `MAX_WAIT_SECONDS`.
pub(crate) fn wait_seconds(asked: Option<f64>) -> Result<f64, ApiError> {
    let wait = asked.unwrap_or(0.0);
    if !(0.0..=MAX_WAIT_SECONDS).contains(&wait) {
        return Err(ApiError::bad_request(format!("waitSeconds must be between 0 and {MAX_WAIT_SECONDS}")));
    }
    Ok(wait)
}

/// When a wait of `wait` seconds ends: early enough to answer with what was queued
/// before the server's request timeout would answer 408.
pub(crate) fn wait_until(wait: f64, request_deadline: Option<Extension<RequestDeadline>>) -> tokio::time::Instant {
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(wait);
    match request_deadline {
        Some(Extension(RequestDeadline(limit))) => deadline.min(limit.checked_sub(WAIT_MARGIN).unwrap_or(limit)),
        None => deadline,
    }
}

/// An identity of the organization with a LOGIN workflow to sign it in, or a 422
/// naming `identityId` and what is missing.
pub(crate) async fn signs_in(tenant: &store::Tenant<'_>, identity: &str) -> Result<(), ApiError> {
    let field = "identityId";
    let identity = match tenant.get_identity(identity).await {
        Ok(i) => i,
        Err(store::Error::NotFound) => return Err(ApiError::invalid_field(field, format!("no identity '{identity}'"))),
        Err(e) => return Err(e.into()),
    };
    tenant.login_workflow_of(&identity).await?.map(drop).map_err(|message| ApiError::invalid_field(field, message))
}

/// A time limit a caller asked for, in milliseconds: more than zero and at most `max`.
fn time_limit(field: &str, seconds: Option<f64>, max: Duration) -> Result<Option<i64>, ApiError> {
    let Some(seconds) = seconds else { return Ok(None) };
    let most = max.as_secs_f64();
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= most) {
        return Err(ApiError::bad_request(format!(
            "{field} must be more than 0 and at most {most} (this server's limit), got {seconds}"
        )));
    }
    // Rounded up to whole milliseconds, so a tiny limit never becomes none.
    #[allow(clippy::cast_possible_truncation)]
    let ms = (seconds * 1000.0).ceil() as i64;
    Ok(Some(ms))
}

/// Secret inputs as they are shown back: masked.
pub(crate) fn redact_inputs(definition: &workflow::Workflow, mut inputs: Map<String, Value>) -> Map<String, Value> {
    for p in definition.input_parameters.iter().filter(|p| p.ty == ParamType::Secret) {
        if let Some(v) = inputs.get_mut(&p.name) {
            *v = Value::from(engine::MASK);
        }
    }
    inputs
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RunQuery {
    workflow_id: Option<String>,
    #[param(value_type = Option<crate::api_doc::RunStatus>)]
    status: Option<String>,
    test: Option<bool>,
    /// Only the workflow runs of this job run.
    job_run_id: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// List runs, newest first. Items carry `outputsSize` instead of the outputs: `GET /v1/runs/{id}` has them.
#[utoipa::path(get, path = "/v1/runs", tag = "runs", params(RunQuery), responses((status = 200, body = crate::api_doc::RunPage)))]
async fn list_runs(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<RunQuery>,
) -> Result<Json<Page<dto::RunSummary>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| RunStatus::parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown status '{s}'"))))
        .transpose()?;
    let filter = RunFilter { workflow_id: q.workflow_id, status, test: q.test, job_run_id: q.job_run_id };
    let page = PageParams { limit: q.limit, cursor: q.cursor }.request()?;
    let found = state.store.tenant(auth.org()).list_runs(&filter, &page).await?;
    Ok(Json(Page::from_store(found, dto::RunSummary::from)))
}

/// A run with its outputs.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", responses((status = 200, body = dto::Run), (status = 404)))]
async fn get_run(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Run>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_run(&id).await.or_not_found("run")?.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SegmentQuery {
    /// 1 to 100, default 100.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From a previous page's `nextCursor`.
    cursor: Option<String>,
}

/// Segment executions in the order they ran.
#[utoipa::path(get, path = "/v1/runs/{id}/segments", tag = "runs", params(SegmentQuery),
    responses((status = 200, body = crate::api_doc::SegmentExecutionPage), (status = 404)))]
async fn list_segments(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<SegmentQuery>,
) -> Result<Json<Page<dto::SegmentExecution>>, ApiError> {
    let limit = q.limit.unwrap_or(store::PageRequest::MAX_LIMIT);
    if !(1..=store::PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let after = match &q.cursor {
        Some(c) => segment_cursor(c).ok_or_else(|| ApiError::bad_request("invalid cursor"))?,
        None => SegmentCursor::default(),
    };
    let rows = state.store.tenant(auth.org()).list_segments(&id, after, limit + 1).await.or_not_found("run")?;
    let more = rows.len() > limit as usize;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = if more { rows.last().map(|s| format!("{}.{}", s.attempt, s.sequence)) } else { None };
    Ok(Json(Page { data: rows.into_iter().map(Into::into).collect(), next_cursor }))
}

/// `ATTEMPT.SEQUENCE` as `nextCursor` gives it; a bare `SEQUENCE` is in attempt 1.
fn segment_cursor(text: &str) -> Option<SegmentCursor> {
    let (attempt, sequence) = text.split_once('.').unwrap_or(("1", text));
    Some(SegmentCursor { attempt: attempt.parse().ok()?, sequence: sequence.parse().ok()? })
}

/// Supply the input a run waits for (`AWAITING_USER_INPUT`): `{"otp_code": "123456"}`.
/// 422 for a value of the wrong type or an input the run does not declare, 409 when
/// the run is not waiting for it.
#[utoipa::path(post, path = "/v1/runs/{id}/inputs", tag = "runs", request_body = Object,
    responses((status = 200, body = dto::Run), (status = 404), (status = 409), (status = 422)))]
async fn supply_input(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> Result<Json<dto::Run>, ApiError> {
    let tenant = state.store.tenant(auth.org());
    let run = tenant.get_run(&id).await.or_not_found("run")?;
    let mut given = body.into_iter();
    let (Some((name, value)), None) = (given.next(), given.next()) else {
        return Err(ApiError::bad_request("give exactly one input: {\"NAME\": VALUE}"));
    };
    let awaited = run.awaiting_input.as_ref().filter(|a| a["name"] == name.as_str());
    let Some(awaited) = awaited else {
        // Not what it waits for: while it waits for another, a name its workflow does
        // not declare is a mistake (422); otherwise it is not waiting for it (409).
        let which = run.workflow_version.map_or(VersionRef::Draft, VersionRef::Number);
        let declared = tenant.get_version(&run.workflow_id, which).await.ok().and_then(|v| {
            workflow::check(&v.definition).workflow.map(|w| w.input_parameters.iter().any(|p| p.name == name))
        });
        if run.awaiting_input.is_some() && declared == Some(false) {
            return Err(ApiError::invalid_field(&name, format!("the run's workflow declares no input '{name}'")));
        }
        let message = format!("the run is not waiting for input '{name}' (status {})", run.status.as_str());
        return Err(ApiError::new(StatusCode::CONFLICT, "CONFLICT", message));
    };
    let ty = awaited["type"].as_str().and_then(workflow::ParamType::parse).unwrap_or(workflow::ParamType::String);
    let options: Option<Vec<String>> =
        awaited["options"].as_array().map(|all| all.iter().filter_map(|o| o.as_str().map(str::to_owned)).collect());
    let expected = match &options {
        Some(allowed) => format!("one of {}", allowed.iter().map(|o| format!("'{o}'")).collect::<Vec<_>>().join(", ")),
        None => format!("a {}", ty.as_str()),
    };
    let param =
        workflow::Parameter { name: name.clone(), ty, required: true, description: None, default_value: None, options };
    // Checked here as the run will check it, so a wrong answer is refused now
    // instead of failing the run. The value is never quoted back: it may be a secret.
    let checked = workflow::values::check(&param, Some(&value), workflow::values::Mode::Convert)
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::invalid_field(&name, format!("input '{name}' must be {expected}")))?;
    let sealed = state.sealer.seal(&checked.to_string());
    Ok(Json(tenant.supply_input(&id, &name, &sealed).await.or_not_found("run")?.into()))
}

/// Cancel a run: a pending one at once, a running one within a few seconds.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", responses((status = 200, body = dto::Run), (status = 404)))]
async fn cancel_run(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Run>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).request_cancel(&id).await.or_not_found("run")?.into()))
}
