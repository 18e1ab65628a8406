use crate::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{NewWorkflow, Tenant, VersionRef, WorkflowFilter, WorkflowPatch, WorkflowType};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{self, CreateWorkflow, Page, PageParams, PutDraft, UpdateWorkflow};
use crate::error::{ApiError, NotFoundAs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workflow, list_workflows))
        .routes(routes!(get_workflow, update_workflow, delete_workflow))
        .routes(routes!(put_draft, get_draft))
        .routes(routes!(publish_draft))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
}

/// Validates a workflow document: 422 with the diagnostics `segue validate` gives.
pub fn validated(definition: &Value) -> Result<(), ApiError> {
    let checked = workflow::check_value(definition);
    if checked.errors().next().is_none() {
        return Ok(());
    }
    Err(invalid_workflow(&checked.diagnostics))
}

/// A diagnostic as the API shows it.
pub fn diagnostic_json(d: &workflow::Diagnostic) -> Value {
    json!({"severity": d.severity.as_str(), "code": d.code, "location": d.location, "message": d.message})
}

/// 422 `INVALID_WORKFLOW` with the diagnostics, the first error in the message.
pub fn invalid_workflow(diagnostics: &[workflow::Diagnostic]) -> ApiError {
    let first = diagnostics
        .iter()
        .find(|d| d.severity == workflow::Severity::Error)
        .map(|d| format!("{}: {}", d.location, d.message))
        .unwrap_or_default();
    let diagnostics: Vec<Value> = diagnostics.iter().map(diagnostic_json).collect();
    ApiError::unprocessable("INVALID_WORKFLOW", format!("the workflow definition is invalid ({first})"))
        .with_details(json!({ "diagnostics": diagnostics }))
}

fn workflow_type(s: Option<&str>) -> Result<Option<WorkflowType>, ApiError> {
    s.map(|t| {
        WorkflowType::parse(t)
            .ok_or_else(|| ApiError::bad_request(format!("type must be LOGIN or USER_DEFINED, got '{t}'")))
    })
    .transpose()
}

async fn with_definition(tenant: Tenant<'_>, w: store::Workflow) -> Result<dto::Workflow, ApiError> {
    let latest = tenant.get_version(&w.id, VersionRef::Latest).await?;
    Ok(dto::Workflow::from_store(w, serde_json::from_str(&latest.definition).ok()))
}

/// Create a workflow; its definition becomes published version 1.
#[utoipa::path(post, path = "/v1/workflows", tag = "workflows", request_body = CreateWorkflow,
    responses((status = 201, body = dto::Workflow), (status = 422, description = "invalid definition")))]
async fn create_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateWorkflow>,
) -> Result<(StatusCode, Json<dto::Workflow>), ApiError> {
    let ty = workflow_type(body.ty.as_deref())?.unwrap_or(WorkflowType::UserDefined);
    validated(&body.definition)?;
    let new = NewWorkflow {
        name: body.name,
        source_provider: body.source_provider,
        ty,
        description: body.description,
        definition: body.definition.to_string(),
    };
    let created = state.store.tenant(auth.org()).create_workflow(new).await?;
    Ok((StatusCode::CREATED, Json(dto::Workflow::from_store(created, Some(body.definition)))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct WorkflowQuery {
    source_provider: Option<String>,
    /// Workflows whose name holds this text (any case; `%` and `_` are plain characters).
    search: Option<String>,
    /// Workflows named exactly this.
    name: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<crate::api_doc::WorkflowType>)]
    ty: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// List the organization's workflows, newest first.
#[utoipa::path(get, path = "/v1/workflows", tag = "workflows", params(WorkflowQuery),
    responses((status = 200, body = crate::api_doc::WorkflowPage)))]
async fn list_workflows(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<WorkflowQuery>,
) -> Result<Json<Page<dto::Workflow>>, ApiError> {
    for (field, text) in [("search", &q.search), ("name", &q.name)] {
        if text.as_ref().is_some_and(|t| t.chars().nth(store::limits::NAME_MAX_CHARS).is_some()) {
            let message = format!("{field} is at most {} characters", store::limits::NAME_MAX_CHARS);
            return Err(ApiError::bad_request(message));
        }
    }
    let filter = WorkflowFilter {
        source_provider: q.source_provider,
        ty: workflow_type(q.ty.as_deref())?,
        search: q.search.filter(|s| !s.is_empty()),
        name: q.name,
    };
    let page = PageParams { limit: q.limit, cursor: q.cursor }.request()?;
    let found = state.store.tenant(auth.org()).list_workflows(&filter, &page).await?;
    Ok(Json(Page::from_store(found, |w| dto::Workflow::from_store(w, None))))
}

/// A workflow with its latest published definition.
#[utoipa::path(get, path = "/v1/workflows/{id}", tag = "workflows",
    responses((status = 200, body = dto::Workflow), (status = 404)))]
async fn get_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Workflow>, ApiError> {
    let tenant = state.store.tenant(auth.org());
    let w = tenant.get_workflow(&id).await.or_not_found("workflow")?;
    Ok(Json(with_definition(tenant, w).await?))
}

/// Change metadata; a new `definition` publishes a new version.
#[utoipa::path(patch, path = "/v1/workflows/{id}", tag = "workflows", request_body = UpdateWorkflow,
    responses((status = 200, body = dto::Workflow), (status = 404), (status = 422)))]
async fn update_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateWorkflow>,
) -> Result<Json<dto::Workflow>, ApiError> {
    if let Some(definition) = &body.definition {
        validated(definition)?;
    }
    let patch = WorkflowPatch {
        name: body.name,
        source_provider: body.source_provider,
        ty: workflow_type(body.ty.as_deref())?,
        description: body.description,
        definition: body.definition.map(|d| d.to_string()),
    };
    let tenant = state.store.tenant(auth.org());
    let updated = tenant.update_workflow(&id, patch).await.or_not_found("workflow")?;
    Ok(Json(with_definition(tenant, updated).await?))
}

/// Soft delete: the workflow stops being listed and cannot run; its versions and runs stay readable.
#[utoipa::path(delete, path = "/v1/workflows/{id}", tag = "workflows", responses((status = 204), (status = 404)))]
async fn delete_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.tenant(auth.org()).delete_workflow(&id).await.or_not_found("workflow")?;
    Ok(StatusCode::NO_CONTENT)
}

/// Save the draft (replacing any previous draft). Published versions never change.
#[utoipa::path(put, path = "/v1/workflows/{id}/draft", tag = "workflows", request_body = PutDraft,
    responses((status = 200, body = dto::Version), (status = 404), (status = 422)))]
async fn put_draft(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<PutDraft>,
) -> Result<Json<dto::Version>, ApiError> {
    validated(&body.definition)?;
    let draft =
        state.store.tenant(auth.org()).put_draft(&id, &body.definition.to_string()).await.or_not_found("workflow")?;
    Ok(Json(dto::Version::from_store(draft)))
}

/// The workflow's draft, if it has one.
#[utoipa::path(get, path = "/v1/workflows/{id}/draft", tag = "workflows",
    responses((status = 200, body = dto::Version), (status = 404, description = "no such workflow or no draft")))]
async fn get_draft(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Version>, ApiError> {
    let draft = state.store.tenant(auth.org()).get_version(&id, VersionRef::Draft).await.or_not_found("draft")?;
    Ok(Json(dto::Version::from_store(draft)))
}

/// Publish the draft as the next version number.
#[utoipa::path(post, path = "/v1/workflows/{id}/publish", tag = "workflows",
    responses((status = 201, body = dto::Version), (status = 404), (status = 409, description = "no draft")))]
async fn publish_draft(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<dto::Version>), ApiError> {
    let published = state.store.tenant(auth.org()).publish_draft(&id).await.or_not_found("workflow")?;
    Ok((StatusCode::CREATED, Json(dto::Version::from_store(published))))
}

/// Published versions, newest first.
#[utoipa::path(get, path = "/v1/workflows/{id}/versions", tag = "workflows", params(PageParams),
    responses((status = 200, body = crate::api_doc::VersionPage), (status = 404)))]
async fn list_versions(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<dto::Version>>, ApiError> {
    let found = state.store.tenant(auth.org()).list_versions(&id, &page.request()?).await.or_not_found("workflow")?;
    Ok(Json(Page::from_store(found, dto::Version::from_store)))
}

/// Parses `latest`, `draft` or a version number.
pub fn version_ref(s: &str) -> Result<VersionRef, ApiError> {
    match s {
        "latest" => Ok(VersionRef::Latest),
        "draft" => Ok(VersionRef::Draft),
        n => n.parse::<i64>().ok().filter(|n| *n >= 1).map(VersionRef::Number).ok_or_else(|| {
            ApiError::bad_request(format!("version must be 'latest', 'draft' or a number from 1, got '{n}'"))
        }),
    }
}

/// One version: a number, `latest` or `draft`.
#[utoipa::path(get, path = "/v1/workflows/{id}/versions/{version}", tag = "workflows",
    responses((status = 200, body = dto::Version), (status = 404)))]
async fn get_version(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<dto::Version>, ApiError> {
    let which = version_ref(&version)?;
    let found = state.store.tenant(auth.org()).get_version(&id, which).await.or_not_found("version")?;
    Ok(Json(dto::Version::from_store(found)))
}
