//! The webhook outbox: deliveries written in the transaction that made the change
//! they tell of (so an event is never lost nor told of a change that rolled
//! back), then leased, sent and recorded by any server's deliverer, at least once.
//!
//! A delivery is leased the way a run is: a deliverer claims due rows with a token
//! and a lease time, and its writes land only while the token still holds, so a
//! deliverer that died mid-send leaves the row to the next one when its lease
//! expires. Its first attempt fixes the body; every retry sends the same bytes.

use sqlx::any::AnyRow;

use crate::db::{Backend, Bind, Sql, int, opt_int, opt_text, page_of, paginate, query, text};
use crate::ids::new_id;
use crate::webhook_events::WebhookEvent;
use crate::{Error, JobRunStatus, Page, PageRequest, Result, Store, Tenant};

/// Deliveries of one organization sent at once, across every deliverer.
pub const MAX_IN_FLIGHT_PER_ORG: i64 = 8;

/// The waits between attempts of a delivery that failed: after the last one
/// fails the delivery is `FAILED`.
pub const RETRY_DELAYS_MS: [i64; 7] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Failed => "FAILED",
        }
    }

    fn parse(s: &str) -> Option<DeliveryStatus> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// A delivery as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    /// The `webhook-id` header: the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    /// The run, job run or identity the event is about.
    pub resource_id: String,
    pub test: bool,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed, when no status tells (timeout, refused address).
    pub last_error: Option<String>,
    /// The start of the receiver's last answer.
    pub response_snippet: Option<String>,
    pub occurred_at: i64,
    pub created_at: i64,
}

/// A deliverer's hold on one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLease {
    pub delivery_id: String,
    token: String,
}

/// A delivery a deliverer now holds, with what sending it needs.
#[derive(Clone)]
pub struct DueDelivery {
    pub lease: DeliveryLease,
    pub org_id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event: WebhookEvent,
    pub resource_id: String,
    pub test: bool,
    pub occurred_at: i64,
    /// Fixed by the first attempt; `None` before it.
    pub body: Option<String>,
    /// Attempts made before this one.
    pub attempts: i64,
    pub url: String,
    /// The signing secrets, sealed: the current one, then the previous one while it still signs.
    pub sealed_secrets: Vec<String>,
}

impl std::fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery").field("id", &self.lease.delivery_id).finish_non_exhaustive()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
}

const COLUMNS: &str = "seq, id, webhook_id, event_id, event_type, resource_id, test, status, attempts, \
                       next_attempt_at, last_attempt_at, last_status_code, last_error, response_snippet, \
                       occurred_at, created_at";

fn delivery(row: &AnyRow) -> Result<Delivery> {
    let status = text(row, "status")?;
    Ok(Delivery {
        id: text(row, "id")?,
        webhook_id: text(row, "webhook_id")?,
        event_id: text(row, "event_id")?,
        event_type: text(row, "event_type")?,
        resource_id: text(row, "resource_id")?,
        test: int(row, "test")? != 0,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("webhook delivery status '{status}'")))?,
        attempts: int(row, "attempts")?,
        next_attempt_at: opt_int(row, "next_attempt_at")?,
        last_attempt_at: opt_int(row, "last_attempt_at")?,
        last_status_code: opt_int(row, "last_status_code")?,
        last_error: opt_text(row, "last_error")?,
        response_snippet: opt_text(row, "response_snippet")?,
        occurred_at: int(row, "occurred_at")?,
        created_at: int(row, "created_at")?,
    })
}

/// Writes a delivery of `event` about `resource_id` to every enabled webhook of
/// `org_id` subscribed to it, inside the caller's transaction. One event id for all.
pub(crate) async fn enqueue(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    event: WebhookEvent,
    resource_id: &str,
    test: bool,
    at: i64,
) -> Result<()> {
    let hooks = query("SELECT id, events FROM webhooks WHERE org_id = $1 AND enabled = 1", vec![org_id.into()])
        .fetch_all(&mut **tx)
        .await?;
    let mut event_id = None;
    for hook in &hooks {
        let events: Vec<String> =
            serde_json::from_str(&text(hook, "events")?).map_err(|e| Error::Corrupt(format!("webhook events: {e}")))?;
        if !event.subscribed(&events) {
            continue;
        }
        let event_id = event_id.get_or_insert_with(|| new_id("msg")).clone();
        query(
            "INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_id, event_type, resource_id, test, \
             occurred_at, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $8, $8)",
            vec![
                new_id("dlv").into(),
                org_id.into(),
                text(hook, "id")?.into(),
                event_id.into(),
                event.as_str().into(),
                resource_id.into(),
                test.into(),
                at.into(),
                DeliveryStatus::Pending.as_str().into(),
            ],
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// `enqueue` for an event of run `run_id`, whose row tells its organization.
pub(crate) async fn enqueue_for_run(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    run_id: &str,
    event: WebhookEvent,
    at: i64,
) -> Result<()> {
    let row =
        query("SELECT org_id, test FROM runs WHERE id = $1", vec![run_id.into()]).fetch_optional(&mut **tx).await?;
    let Some(row) = row else { return Ok(()) };
    enqueue(tx, &text(&row, "org_id")?, event, run_id, int(&row, "test")? != 0, at).await
}

/// The event of job run `id`'s end, if the change just made to it ended it.
pub(crate) async fn enqueue_for_job_run(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: &str,
    at: i64,
) -> Result<()> {
    let row = query("SELECT org_id, test, status, finished_at FROM job_runs WHERE id = $1", vec![id.into()])
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(()) };
    let status = text(&row, "status")?;
    let status = JobRunStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("job run status '{status}'")))?;
    // Only the change that ended it (its `finished_at` is this transaction's time) is told.
    let Some(event) = WebhookEvent::job_run_finished(status) else { return Ok(()) };
    if opt_int(&row, "finished_at")? != Some(at) {
        return Ok(());
    }
    enqueue(tx, &text(&row, "org_id")?, event, id, int(&row, "test")? != 0, at).await
}

impl Store {
    /// Leases up to `limit` deliveries due now to a deliverer for `lease_ms`.
    /// Many deliverers may call this at once; each delivery goes to one.
    ///
    /// Only deliveries of enabled webhooks are due (disabling one pauses it), and
    /// an organization with `MAX_IN_FLIGHT_PER_ORG` deliveries being sent gets no
    /// more until some end: one organization's slow receivers cannot hold every
    /// deliverer while the others' events wait.
    pub async fn claim_deliveries(&self, lease_ms: i64, limit: i64) -> Result<Vec<DueDelivery>> {
        let now = self.clock.now_ms();
        let due = "d.status = $1 AND d.next_attempt_at <= $2 AND (d.lease_expires_at IS NULL OR d.lease_expires_at < $2) \
                   AND d.org_id NOT IN (SELECT o.org_id FROM webhook_deliveries o WHERE o.status = $1 \
                   AND o.lease_expires_at >= $2 GROUP BY o.org_id HAVING COUNT(*) >= $3)";
        let from = "webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.enabled = 1";
        let binds =
            || -> Vec<Bind> { vec![DeliveryStatus::Pending.as_str().into(), now.into(), MAX_IN_FLIGHT_PER_ORG.into()] };
        // A read first: an idle deliverer never takes SQLite's write lock.
        let any = query(&format!("SELECT 1 AS one FROM {from} WHERE {due} LIMIT 1"), binds())
            .fetch_optional(&self.pool)
            .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let token = new_id("dls");
        let mut tx = self.begin_write().await?;
        let mut claim = binds();
        claim.extend([token.as_str().into(), (now + lease_ms).into(), limit.into()]);
        query(
            &format!(
                "UPDATE webhook_deliveries SET lease_owner = $4, lease_expires_at = $5 WHERE seq IN \
                 (SELECT d.seq FROM {from} WHERE {due} ORDER BY d.next_attempt_at LIMIT $6 {lock})"
            ),
            claim,
        )
        .execute(&mut *tx)
        .await?;
        let rows = query(
            "SELECT d.id, d.org_id, d.webhook_id, d.event_id, d.event_type, d.resource_id, d.test, d.occurred_at, \
             d.body, d.attempts, w.url, w.sealed_secret, w.sealed_previous_secret, w.previous_secret_expires_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.lease_owner = $1",
            vec![token.as_str().into()],
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                let event_type = text(r, "event_type")?;
                let mut sealed_secrets = vec![text(r, "sealed_secret")?];
                if opt_int(r, "previous_secret_expires_at")?.is_some_and(|until| until > now)
                    && let Some(previous) = opt_text(r, "sealed_previous_secret")?
                {
                    sealed_secrets.push(previous);
                }
                Ok(DueDelivery {
                    lease: DeliveryLease { delivery_id: text(r, "id")?, token: token.clone() },
                    org_id: text(r, "org_id")?,
                    webhook_id: text(r, "webhook_id")?,
                    event_id: text(r, "event_id")?,
                    event: WebhookEvent::parse(&event_type)
                        .ok_or_else(|| Error::Corrupt(format!("webhook event type '{event_type}'")))?,
                    resource_id: text(r, "resource_id")?,
                    test: int(r, "test")? != 0,
                    occurred_at: int(r, "occurred_at")?,
                    body: opt_text(r, "body")?,
                    attempts: int(r, "attempts")?,
                    url: text(r, "url")?,
                    sealed_secrets,
                })
            })
            .collect()
    }

    /// Fixes the body every attempt of the leased delivery sends. `false` when the lease is gone.
    pub async fn fix_delivery_body(&self, lease: &DeliveryLease, body: &str) -> Result<bool> {
        let fixed = query(
            "UPDATE webhook_deliveries SET body = $1 WHERE id = $2 AND lease_owner = $3 AND body IS NULL",
            vec![body.into(), lease.delivery_id.as_str().into(), lease.token.as_str().into()],
        )
        .execute(&self.pool)
        .await?;
        Ok(fixed.rows_affected() == 1)
    }

    /// Records an attempt of the leased delivery and releases it: delivered, due
    /// again after the next wait of `retry_delays_ms`, or failed for good when
    /// none is left. `false` (nothing written) when the lease is gone.
    pub async fn record_attempt(
        &self,
        lease: &DeliveryLease,
        attempt: &Attempt,
        retry_delays_ms: &[i64],
    ) -> Result<bool> {
        let now = self.clock.now_ms();
        let mut tx = self.begin_write().await?;
        let row = query(
            "SELECT attempts FROM webhook_deliveries WHERE id = $1 AND lease_owner = $2 AND status = $3",
            vec![
                lease.delivery_id.as_str().into(),
                lease.token.as_str().into(),
                DeliveryStatus::Pending.as_str().into(),
            ],
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let attempts = int(&row, "attempts")? + 1;
        let retry_after = usize::try_from(attempts - 1).ok().and_then(|i| retry_delays_ms.get(i)).copied();
        let (status, next) = match (attempt.delivered, retry_after) {
            (true, _) => (DeliveryStatus::Delivered, None),
            (false, Some(wait)) => (DeliveryStatus::Pending, Some(now + wait)),
            (false, None) => (DeliveryStatus::Failed, None),
        };
        query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_attempt_at = $4, \
             last_status_code = $5, last_error = $6, response_snippet = $7, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $8 AND lease_owner = $9",
            vec![
                status.as_str().into(),
                attempts.into(),
                next.into(),
                now.into(),
                attempt.status_code.into(),
                attempt.error.clone().into(),
                attempt.response_snippet.clone().into(),
                lease.delivery_id.as_str().into(),
                lease.token.as_str().into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes deliveries that ended (delivered or failed) before `before_ms`, and
    /// any whose webhook is gone (written by a change that raced its deletion).
    pub async fn prune_deliveries(&self, before_ms: i64) -> Result<u64> {
        let pruned = query(
            "DELETE FROM webhook_deliveries WHERE (status <> $1 AND last_attempt_at < $2) \
             OR NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = webhook_deliveries.webhook_id)",
            vec![DeliveryStatus::Pending.as_str().into(), before_ms.into()],
        )
        .execute(&self.pool)
        .await?;
        Ok(pruned.rows_affected())
    }
}

impl Tenant<'_> {
    /// A webhook's deliveries, newest first.
    pub async fn list_deliveries(&self, webhook_id: &str, page: &PageRequest) -> Result<Page<Delivery>> {
        self.get_webhook(webhook_id).await?;
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE webhook_id = "));
        sql.bind(webhook_id).push(" AND org_id = ").bind(self.org_id);
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        page_of(rows, limit, "seq", delivery)
    }

    pub async fn get_delivery(&self, webhook_id: &str, id: &str) -> Result<Delivery> {
        let row = query(
            &format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2 AND org_id = $3"),
            vec![id.into(), webhook_id.into(), self.org_id.into()],
        )
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(Error::NotFound)?;
        delivery(&row)
    }

    /// Makes a delivery due now: a failed one gets one more attempt, a delivered
    /// one is sent again (same event id), a pending one is not kept waiting.
    /// Refused while a deliverer is sending it.
    pub async fn retry_delivery(&self, webhook_id: &str, id: &str) -> Result<Delivery> {
        let now = self.store.clock.now_ms();
        let retried = query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2 \
             WHERE id = $3 AND webhook_id = $4 AND org_id = $5 \
             AND (lease_expires_at IS NULL OR lease_expires_at < $2)",
            vec![DeliveryStatus::Pending.as_str().into(), now.into(), id.into(), webhook_id.into(), self.org_id.into()],
        )
        .execute(&self.store.pool)
        .await?;
        if retried.rows_affected() == 0 {
            self.get_delivery(webhook_id, id).await?;
            return Err(Error::Conflict(
                "the delivery is being sent right now: retry it once this attempt ends".into(),
            ));
        }
        self.get_delivery(webhook_id, id).await
    }
}
