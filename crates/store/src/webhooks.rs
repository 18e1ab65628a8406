//! Webhooks: an organization's subscriptions to events (`webhook_events.rs`),
//! each with a URL and a signing secret kept sealed. The server checks URLs
//! against the egress policy; this module keeps what it is given within bounds.

use serde_json::Value;
use sqlx::any::AnyRow;

use crate::db::{Sql, int, opt_int, opt_text, page_of, paginate, query, text};
use crate::ids::new_id;
use crate::limits::{DESCRIPTION_MAX_CHARS, check_optional, check_text};
use crate::webhook_events::{ALL_EVENTS, WebhookEvent};
use crate::{Error, Page, PageRequest, Result, Tenant};

/// The most webhooks one organization keeps.
pub const MAX_WEBHOOKS: i64 = 50;
/// The longest webhook URL.
pub const URL_MAX_CHARS: usize = 2048;
/// The most entries of a webhook's `events`.
const MAX_EVENTS: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// Event types, or `["*"]` for all.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// A disabled webhook gets no new deliveries.
    pub enabled: bool,
    /// Until when the secret replaced by the last rotation still signs.
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A webhook to create. `sealed_secret` is the signing secret, sealed by the caller.
#[derive(Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub sealed_secret: String,
}

/// Fields to change; `None` leaves one as it is (`Some(None)` clears the description).
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

const COLUMNS: &str = "seq, id, url, events, description, enabled, previous_secret_expires_at, created_at, updated_at";

fn webhook(row: &AnyRow) -> Result<Webhook> {
    let events = text(row, "events")?;
    Ok(Webhook {
        id: text(row, "id")?,
        url: text(row, "url")?,
        events: serde_json::from_str(&events).map_err(|e| Error::Corrupt(format!("webhook events: {e}")))?,
        description: opt_text(row, "description")?,
        enabled: int(row, "enabled")? != 0,
        previous_secret_expires_at: opt_int(row, "previous_secret_expires_at")?,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
    })
}

/// `events` as stored: known event types or `*`, at least one, each once.
fn checked_events(events: &[String]) -> Result<String> {
    let invalid = |message: String| Error::Invalid { field: "events", message };
    if events.is_empty() {
        return Err(invalid("events must name at least one event type, or \"*\" for all".into()));
    }
    if events.len() > MAX_EVENTS {
        return Err(invalid(format!("events holds at most {MAX_EVENTS} entries")));
    }
    let mut kept: Vec<&str> = Vec::new();
    for event in events {
        if event != ALL_EVENTS && WebhookEvent::parse(event).is_none() {
            let known: Vec<_> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            let shown: String = event.chars().take(64).collect();
            return Err(invalid(format!("'{shown}' is not an event type; use \"*\" or one of: {}", known.join(", "))));
        }
        if !kept.contains(&event.as_str()) {
            kept.push(event);
        }
    }
    Ok(Value::from(kept).to_string())
}

fn check_url(url: &str) -> Result<()> {
    if url.trim().is_empty() {
        return Err(Error::Invalid { field: "url", message: "url must not be empty".into() });
    }
    check_text("url", url, URL_MAX_CHARS)
}

impl Tenant<'_> {
    pub async fn create_webhook(&self, new: &NewWebhook) -> Result<Webhook> {
        check_url(&new.url)?;
        let events = checked_events(&new.events)?;
        check_optional("description", new.description.as_deref(), DESCRIPTION_MAX_CHARS)?;
        let now = self.store.clock.now_ms();
        let id = new_id("whk");
        let mut tx = self.store.begin_write().await?;
        let count = query("SELECT COUNT(*) AS n FROM webhooks WHERE org_id = $1", vec![self.org_id.into()])
            .fetch_one(&mut *tx)
            .await?;
        if int(&count, "n")? >= MAX_WEBHOOKS {
            return Err(Error::Conflict(format!(
                "an organization keeps at most {MAX_WEBHOOKS} webhooks: delete one first"
            )));
        }
        query(
            "INSERT INTO webhooks (id, org_id, url, events, description, enabled, sealed_secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
            vec![
                id.as_str().into(),
                self.org_id.into(),
                new.url.as_str().into(),
                events.into(),
                new.description.clone().into(),
                new.sealed_secret.as_str().into(),
                now.into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_webhook(&id).await
    }

    /// The organization's webhooks, newest first.
    pub async fn list_webhooks(&self, page: &PageRequest) -> Result<Page<Webhook>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM webhooks WHERE org_id = "));
        sql.bind(self.org_id);
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        page_of(rows, limit, "seq", webhook)
    }

    pub async fn get_webhook(&self, id: &str) -> Result<Webhook> {
        let row = query(
            &format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND org_id = $2"),
            vec![id.into(), self.org_id.into()],
        )
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(Error::NotFound)?;
        webhook(&row)
    }

    pub async fn update_webhook(&self, id: &str, patch: &WebhookPatch) -> Result<Webhook> {
        let mut sql = Sql::new("UPDATE webhooks SET updated_at = ");
        sql.bind(self.store.clock.now_ms());
        if let Some(url) = &patch.url {
            check_url(url)?;
            sql.push(", url = ").bind(url.as_str());
        }
        if let Some(events) = &patch.events {
            sql.push(", events = ").bind(checked_events(events)?);
        }
        if let Some(description) = &patch.description {
            check_optional("description", description.as_deref(), DESCRIPTION_MAX_CHARS)?;
            sql.push(", description = ").bind(description.clone());
        }
        if let Some(enabled) = patch.enabled {
            sql.push(", enabled = ").bind(enabled);
        }
        sql.push(" WHERE id = ").bind(id).push(" AND org_id = ").bind(self.org_id);
        if sql.query().execute(&self.store.pool).await?.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        self.get_webhook(id).await
    }

    /// Deletes the webhook and its deliveries (pending ones are never sent).
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        let deleted = query("DELETE FROM webhooks WHERE id = $1 AND org_id = $2", vec![id.into(), self.org_id.into()])
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        query("DELETE FROM webhook_deliveries WHERE webhook_id = $1", vec![id.into()]).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the signing secret with `sealed_secret`; the current one keeps
    /// signing beside it for `overlap_ms`, so receivers can switch without
    /// refusing a delivery. A rotation within the overlap drops the oldest.
    pub async fn rotate_webhook_secret(&self, id: &str, sealed_secret: &str, overlap_ms: i64) -> Result<Webhook> {
        let now = self.store.clock.now_ms();
        let rotated = query(
            "UPDATE webhooks SET sealed_previous_secret = sealed_secret, previous_secret_expires_at = $1, \
             sealed_secret = $2, updated_at = $3 WHERE id = $4 AND org_id = $5",
            vec![(now + overlap_ms).into(), sealed_secret.into(), now.into(), id.into(), self.org_id.into()],
        )
        .execute(&self.store.pool)
        .await?;
        if rotated.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        self.get_webhook(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_known_types_or_the_wildcard_each_once() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(checked_events(&list(&["run.failed", "run.failed", "*"])).unwrap(), r#"["run.failed","*"]"#);
        for bad in [list(&[]), list(&["run.exploded"]), list(&["run.failed"; MAX_EVENTS + 1])] {
            assert!(matches!(checked_events(&bad), Err(Error::Invalid { field: "events", .. })), "{bad:?}");
        }
    }
}
