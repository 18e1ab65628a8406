use crate::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use store::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{self, CreateApiKey};
use crate::error::{ApiError, NotFoundAs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_keys, create_key)).routes(routes!(revoke_key))
}

/// The organization's active API keys (never the keys themselves).
#[utoipa::path(get, path = "/v1/api-keys", tag = "keys", responses((status = 200, body = Vec<dto::ApiKey>)))]
async fn list_keys(State(state): State<AppState>, auth: Auth) -> Result<Json<Vec<dto::ApiKey>>, ApiError> {
    let keys = state.store.tenant(auth.org()).list_api_keys().await?;
    Ok(Json(keys.into_iter().map(|k| dto::ApiKey::from_store(k, None)).collect()))
}

/// Create a key (admin only). The response is the only time the key is shown.
#[utoipa::path(post, path = "/v1/api-keys", tag = "keys", request_body = CreateApiKey,
    responses((status = 201, body = dto::ApiKey), (status = 403), (status = 422, description = "invalid name")))]
async fn create_key(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateApiKey>,
) -> Result<(StatusCode, Json<dto::ApiKey>), ApiError> {
    auth.require_admin()?;
    let role = match body.role.as_deref() {
        None => Role::Member,
        Some(r) => {
            Role::parse(r).ok_or_else(|| ApiError::bad_request(format!("role must be admin or member, got '{r}'")))?
        }
    };
    let (key, clear) = state.store.tenant(auth.org()).create_api_key(&body.name, role).await?;
    Ok((StatusCode::CREATED, Json(dto::ApiKey::from_store(key, Some(clear)))))
}

/// Revoke a key (admin only). The organization's last admin key cannot be revoked (409):
/// create another admin key first, or use `segue admin create-key` on the server's machine.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "keys",
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "the last admin key")))]
async fn revoke_key(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    auth.require_admin()?;
    state.store.tenant(auth.org()).revoke_api_key(&id).await.or_not_found("API key")?;
    Ok(StatusCode::NO_CONTENT)
}
