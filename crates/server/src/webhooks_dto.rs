//! The API's JSON shapes for webhooks and their deliveries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{non_null, present, time};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://example.com/segue-events",
    "events": ["run.completed", "run.failed"],
    "description": "Tell the billing service when runs end"
}))]
pub struct CreateWebhook {
    /// `http` or `https`; refused when it resolves to a loopback, private or
    /// link-local address unless the server allows the private network.
    pub url: String,
    /// Event types (see docs/service.md#webhooks), or `["*"]` for all.
    pub events: Vec<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub description: Option<String>,
}

/// Fields to change; `null` clears `description`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Vec<String>, required = false)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// A disabled webhook gets no new deliveries.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = bool, required = false)]
    pub enabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Until when the secret replaced by the last rotation still signs beside the new one.
    #[schema(format = DateTime)]
    pub previous_secret_expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<store::Webhook> for Webhook {
    fn from(w: store::Webhook) -> Webhook {
        Webhook {
            id: w.id,
            url: w.url,
            events: w.events,
            description: w.description,
            enabled: w.enabled,
            previous_secret_expires_at: w.previous_secret_expires_at.map(time),
            created_at: time(w.created_at),
            updated_at: time(w.updated_at),
        }
    }
}

/// A webhook with its signing secret, shown only when it is created or rotated.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` and base64 of the HMAC-SHA256 key. Keep it: it is not shown again.
    pub secret: String,
}

/// One event sent (or to be sent) to one webhook.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    /// The `webhook-id` header: the same on every attempt of this event.
    pub event_id: String,
    pub event_type: String,
    /// The run, job run or identity the event is about.
    pub resource_id: String,
    /// The event is about a test run.
    pub test: bool,
    #[schema(value_type = crate::api_doc::DeliveryStatus)]
    pub status: &'static str,
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed when no status code tells (timeout, refused address).
    pub last_error: Option<String>,
    /// The start of the receiver's last answer.
    pub response_snippet: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<store::Delivery> for Delivery {
    fn from(d: store::Delivery) -> Delivery {
        Delivery {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            resource_id: d.resource_id,
            test: d.test,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(time),
            last_attempt_at: d.last_attempt_at.map(time),
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            response_snippet: d.response_snippet,
            occurred_at: time(d.occurred_at),
            created_at: time(d.created_at),
        }
    }
}
