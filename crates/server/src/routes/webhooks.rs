//! Webhooks: subscriptions to events, their signing secrets (shown only when made),
//! and the deliveries the outbox sent or will send to them.

use axum::extract::State;
use axum::http::StatusCode;
use store::{NewWebhook, WebhookPatch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{Page, PageParams};
use crate::error::{ApiError, NotFoundAs};
use crate::extract::{Json, Path, Query};
use crate::webhook_url;
use crate::webhooks_dto::{CreateWebhook, Delivery, UpdateWebhook, Webhook, WebhookWithSecret};

/// How long the previous secret keeps signing after a rotation.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

/// Subscribes a URL to events. The answer holds the signing secret, shown only here and on rotation.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 409, description = "too many webhooks"),
        (status = 422, description = "a bad URL or event type; a URL the egress policy refuses")))]
async fn create_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let url = webhook_url::check(&body.url, &state.egress).await?;
    let secret = store::new_webhook_secret();
    let new = NewWebhook {
        url,
        events: body.events,
        description: body.description,
        sealed_secret: state.sealer.seal(&secret),
    };
    let created = state.store.tenant(auth.org()).create_webhook(&new).await?;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { webhook: created.into(), secret })))
}

/// The organization's webhooks, newest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageParams),
    responses((status = 200, body = crate::api_doc::WebhookPage)))]
async fn list_webhooks(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<Webhook>>, ApiError> {
    let page = state.store.tenant(auth.org()).list_webhooks(&q.request()?).await?;
    Ok(Json(Page::from_store(page, Webhook::from)))
}

/// A webhook (its secret is shown only on creation and rotation).
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 200, body = Webhook), (status = 404)))]
async fn get_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    Ok(Json(state.store.tenant(auth.org()).get_webhook(&id).await.or_not_found("webhook")?.into()))
}

/// Change the URL, events, description, or disable it (no new deliveries).
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 404), (status = 422)))]
async fn update_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateWebhook>,
) -> Result<Json<Webhook>, ApiError> {
    let url = match &body.url {
        Some(url) => Some(webhook_url::check(url, &state.egress).await?),
        None => None,
    };
    let patch = WebhookPatch { url, events: body.events, description: body.description, enabled: body.enabled };
    Ok(Json(state.store.tenant(auth.org()).update_webhook(&id, &patch).await.or_not_found("webhook")?.into()))
}

/// Deletes the webhook and its deliveries: pending ones are never sent.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", responses((status = 204), (status = 404)))]
async fn delete_webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.tenant(auth.org()).delete_webhook(&id).await.or_not_found("webhook")?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret. The previous one keeps signing beside it for 24 hours
/// (both signatures in `webhook-signature`), so receivers can switch without a gap.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    responses((status = 200, body = WebhookWithSecret), (status = 404)))]
async fn rotate_secret(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    let secret = store::new_webhook_secret();
    let rotated = state
        .store
        .tenant(auth.org())
        .rotate_webhook_secret(&id, &state.sealer.seal(&secret), ROTATION_OVERLAP_MS)
        .await
        .or_not_found("webhook")?;
    Ok(Json(WebhookWithSecret { webhook: rotated.into(), secret }))
}

/// The webhook's deliveries, newest first: event, attempts, last answer, next attempt.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(PageParams),
    responses((status = 200, body = crate::api_doc::DeliveryPage), (status = 404)))]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<PageParams>,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let page = state.store.tenant(auth.org()).list_deliveries(&id, &q.request()?).await.or_not_found("webhook")?;
    Ok(Json(Page::from_store(page, Delivery::from)))
}

/// Sends a delivery again now, with the same event id and body: one more attempt
/// for a failed one, a resend for a delivered one.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    responses((status = 202, body = Delivery), (status = 404), (status = 409, description = "being sent right now")))]
async fn retry_delivery(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    let retried =
        state.store.tenant(auth.org()).retry_delivery(&id, &delivery_id).await.or_not_found("webhook delivery")?;
    Ok((StatusCode::ACCEPTED, Json(retried.into())))
}
