//! Login identities: a site's credentials, sealed with the service's key as soon
//! as they arrive and never shown again (answers list their names only), and the
//! session a LOGIN run saved for them.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use store::{IdentityPatch, NewIdentity, SealedCredentials, WorkflowType};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{self, CreateIdentity, Credentials, Page, PageParams, UpdateIdentity};
use crate::error::{ApiError, NotFoundAs};
use crate::extract::{Json, Path, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_identity, list_identities))
        .routes(routes!(get_identity, update_identity, delete_identity))
        .routes(routes!(forget_session))
        .routes(routes!(log_in))
}

/// The longest credential value: passwords, tokens and TOTP secrets fit with room to spare.
const MAX_CREDENTIAL_BYTES: usize = 4096;

/// Create an identity; its credentials are sealed at once and never shown again.
#[utoipa::path(post, path = "/v1/identities", tag = "identities", request_body = CreateIdentity,
    responses((status = 201, body = dto::Identity), (status = 409, description = "the name is taken"), (status = 422)))]
async fn create_identity(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateIdentity>,
) -> Result<(StatusCode, Json<dto::Identity>), ApiError> {
    let tenant = state.store.tenant(auth.org());
    if let Some(workflow) = &body.login_workflow_id {
        login_workflow(&tenant, workflow).await?;
    }
    let new = NewIdentity {
        name: body.name,
        source_provider: body.source_provider,
        login_workflow_id: body.login_workflow_id,
        credentials: sealed(&state, body.credentials)?,
        session_ttl_ms: ttl_ms(body.session_ttl_seconds)?.unwrap_or(store::DEFAULT_SESSION_TTL_MS),
    };
    let created = tenant.create_identity(&new).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The organization's identities, newest first.
#[utoipa::path(get, path = "/v1/identities", tag = "identities", params(PageParams),
    responses((status = 200, body = crate::api_doc::IdentityPage)))]
async fn list_identities(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<dto::Identity>>, ApiError> {
    let page = state.store.tenant(auth.org()).list_identities(&q.request()?).await?;
    Ok(Json(Page::from_store(page, dto::Identity::from)))
}

/// An identity: its credential names and where its saved session stands.
#[utoipa::path(get, path = "/v1/identities/{id}", tag = "identities",
    responses((status = 200, body = dto::Identity), (status = 404)))]
async fn get_identity(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Identity>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_identity(&id).await.or_not_found("identity")?.into()))
}

/// Rename, repoint or rotate: new credentials replace the old ones and forget the saved session.
#[utoipa::path(patch, path = "/v1/identities/{id}", tag = "identities", request_body = UpdateIdentity,
    responses((status = 200, body = dto::Identity), (status = 404), (status = 409), (status = 422)))]
async fn update_identity(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateIdentity>,
) -> Result<Json<dto::Identity>, ApiError> {
    let tenant = state.store.tenant(auth.org());
    if let Some(Some(workflow)) = &body.login_workflow_id {
        login_workflow(&tenant, workflow).await?;
    }
    let patch = IdentityPatch {
        name: body.name,
        source_provider: body.source_provider,
        login_workflow_id: body.login_workflow_id,
        credentials: body.credentials.map(|c| sealed(&state, c)).transpose()?,
        session_ttl_ms: ttl_ms(body.session_ttl_seconds)?,
    };
    Ok(Json(tenant.update_identity(&id, &patch).await.or_not_found("identity")?.into()))
}

/// Deletes the identity, its credentials and its session.
#[utoipa::path(delete, path = "/v1/identities/{id}", tag = "identities", responses((status = 204), (status = 404)))]
async fn delete_identity(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.tenant(auth.org()).delete_identity(&id).await.or_not_found("identity")?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forgets the saved session: the next run as the identity logs in first.
#[utoipa::path(delete, path = "/v1/identities/{id}/session", tag = "identities",
    responses((status = 200, body = dto::Identity), (status = 404)))]
async fn forget_session(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<dto::Identity>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).forget_identity_session(&id).await.or_not_found("identity")?.into()))
}

/// Log in now: queues a run of the identity's LOGIN workflow (the same one a run as
/// the identity would use) with its credentials; when it completes, its session is
/// saved for the runs after it, when it fails the identity is FAILED.
#[utoipa::path(post, path = "/v1/identities/{id}/login", tag = "identities",
    responses((status = 201, body = dto::Run, description = "the login run, queued"), (status = 404),
        (status = 422, description = "no LOGIN workflow signs the identity in")))]
async fn log_in(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<dto::Run>), ApiError> {
    let tenant = state.store.tenant(auth.org());
    let identity = tenant.get_identity(&id).await.or_not_found("identity")?;
    let workflow = tenant
        .login_workflow_of(&identity)
        .await?
        .map_err(|message| ApiError::unprocessable("NO_LOGIN_WORKFLOW", message))?;
    let version = tenant.get_version(&workflow.id, store::VersionRef::Latest).await.or_not_found("version")?;
    let empty = Value::Object(Map::new());
    let run = tenant
        .create_run(store::NewRun {
            identity_id: Some(identity.id),
            deferred_inputs: Vec::new(),
            input_timeout_ms: None,
            workflow_id: workflow.id,
            workflow_version: version.version,
            definition: version.definition,
            sealed_inputs: state.sealer.seal(&empty.to_string()),
            inputs: empty,
            test: false,
            max_attempts: 1,
            limits: store::TimeLimits::default(),
            artifacts: Some(engine::ArtifactOptions::default().to_json().to_string()),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(run.into())))
}

/// A live LOGIN workflow of the organization, or a 422 naming `loginWorkflowId`.
async fn login_workflow(tenant: &store::Tenant<'_>, id: &str) -> Result<(), ApiError> {
    let field = "loginWorkflowId";
    match tenant.get_live_workflow(id).await {
        Ok(w) if w.ty == WorkflowType::Login => Ok(()),
        Ok(w) => Err(ApiError::invalid_field(field, format!("workflow '{}' is not a LOGIN workflow", w.name))),
        Err(store::Error::NotFound) => Err(ApiError::invalid_field(field, format!("no workflow '{id}'"))),
        Err(e) => Err(e.into()),
    }
}

/// Checks the values and seals them at once: past this point only their names are in clear.
fn sealed(state: &AppState, credentials: Credentials) -> Result<SealedCredentials, ApiError> {
    let Credentials(values) = credentials;
    let field = "credentials";
    if values.len() > store::MAX_CREDENTIALS {
        let message = format!("an identity holds at most {} credentials", store::MAX_CREDENTIALS);
        return Err(ApiError::invalid_field(field, message));
    }
    let mut names = Vec::with_capacity(values.len());
    for (name, value) in &values {
        // The value is never quoted back: an error must not show a secret.
        let Value::String(text) = value else {
            return Err(ApiError::invalid_field(field, format!("credential '{name}' must be a string")));
        };
        if text.is_empty() || text.len() > MAX_CREDENTIAL_BYTES || text.contains('\0') {
            let message = format!("credential '{name}' must be 1 to {MAX_CREDENTIAL_BYTES} bytes, without NUL");
            return Err(ApiError::invalid_field(field, message));
        }
        if name == "totp_secret" && !is_base32_secret(text) {
            let message = "credential 'totp_secret' must be a base32 secret (A-Z and 2-7, at least 16 characters), as authenticator apps take it";
            return Err(ApiError::invalid_field(field, message));
        }
        names.push(name.clone());
    }
    names.sort();
    let sealed = state.sealer.seal(&Value::Object(Map::from_iter(values)).to_string());
    Ok(SealedCredentials { names, sealed })
}

/// Base32 as authenticator apps show it: letters and 2-7, spaces and `=` padding allowed.
fn is_base32_secret(text: &str) -> bool {
    let core: Vec<char> = text.chars().filter(|c| *c != ' ' && *c != '=').collect();
    core.len() >= 16 && core.iter().all(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(c))
}

fn ttl_ms(seconds: Option<i64>) -> Result<Option<i64>, ApiError> {
    match seconds {
        None => Ok(None),
        Some(s) if (1..=365 * 24 * 3600).contains(&s) => Ok(Some(s * 1000)),
        Some(_) => Err(ApiError::invalid_field("sessionTtlSeconds", "sessionTtlSeconds must be 1 to 31536000")),
    }
}
