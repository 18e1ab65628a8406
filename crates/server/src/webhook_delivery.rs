//! The deliverer: every API server sends the webhook outbox's due deliveries.
//! A delivery is leased from the store (`Store::claim_deliveries`), its body is
//! fixed on the first attempt (the event's resource as the API shows it then),
//! signed with every live secret, posted to the checked address with a time
//! limit, and recorded: delivered on 2xx, else due again after the next wait of
//! the retry schedule, `FAILED` after the last. A delivery never changes a run.

use std::sync::Arc;
use std::time::Duration;

use egress::Policy;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use store::seal::Sealer;
use store::{Attempt, DueDelivery, Resource, Store};
use tokio_util::sync::CancellationToken;

use crate::dto::time;
use crate::webhook_signing::signature;
use crate::webhook_url::{parse, resolve};

/// The longest a receiver may take to answer one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a deliverer holds a delivery: past it, another one may send it.
const LEASE_MS: i64 = 60_000;
/// How often the outbox is looked at.
const POLL: Duration = Duration::from_millis(250);
/// Deliveries sent at once by one server.
const BATCH: i64 = 16;
/// The largest body sent: a run's outputs go first when it is larger.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// How much of a receiver's answer is kept.
const SNIPPET_BYTES: usize = 1024;
/// Ended deliveries are kept this long for their webhook's list.
const KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

/// What a deliverer needs. `retry_delays_ms` is `store::RETRY_DELAYS_MS` but in tests.
#[derive(Clone)]
pub struct Deliverer {
    pub store: Store,
    pub sealer: Sealer,
    /// The egress policy of the server's runs: webhooks obey the same.
    pub egress: Arc<Policy>,
    pub retry_delays_ms: Vec<i64>,
}

impl Deliverer {
    pub fn new(store: Store, sealer: Sealer, egress: Arc<Policy>) -> Deliverer {
        Deliverer { store, sealer, egress, retry_delays_ms: store::RETRY_DELAYS_MS.to_vec() }
    }

    /// Sends due deliveries until `shutdown`; a change of any run wakes it early.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut wakeups = self.store.event_wakeups();
        let mut last_prune = 0;
        loop {
            match self.deliver_due().await {
                // A full batch: more may be due at once.
                Ok(sent) if sent as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!("delivering webhooks failed: {e}"),
            }
            let now = self.store.clock().now_ms();
            if now - last_prune > 3_600_000 {
                last_prune = now;
                if let Err(e) = self.store.prune_deliveries(now - KEEP_MS).await {
                    tracing::warn!("pruning webhook deliveries failed: {e}");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
                // Lagging only means "something changed": look again.
                _ = wakeups.recv() => {}
            }
        }
    }

    /// Sends the deliveries due now, at once. Returns how many.
    pub async fn deliver_due(&self) -> Result<usize, store::Error> {
        let due = self.store.claim_deliveries(LEASE_MS, BATCH).await?;
        let count = due.len();
        let attempts = due.into_iter().map(|delivery| async move {
            let attempt = self.attempt(&delivery).await;
            let outcome = if attempt.delivered { "delivered" } else { "failed" };
            metrics::counter!("segue_webhook_attempts_total", "outcome" => outcome).increment(1);
            if let Err(e) = self.store.record_attempt(&delivery.lease, &attempt, &self.retry_delays_ms).await {
                tracing::warn!(delivery = %delivery.lease.delivery_id, "recording a webhook attempt failed: {e}");
            }
        });
        futures_util::future::join_all(attempts).await;
        Ok(count)
    }

    async fn attempt(&self, delivery: &DueDelivery) -> Attempt {
        let failed = |error: String| Attempt { error: Some(error), ..Attempt::default() };
        let body = match &delivery.body {
            Some(body) => body.clone(),
            None => match self.body(delivery).await {
                Ok(body) => {
                    if !self.store.fix_delivery_body(&delivery.lease, &body).await.unwrap_or(false) {
                        return failed("the delivery's lease was lost before sending".into());
                    }
                    body
                }
                Err(e) => return failed(format!("reading the event's {:?} failed: {e}", delivery.event.resource())),
            },
        };
        let secrets: Result<Vec<String>, _> = delivery.sealed_secrets.iter().map(|s| self.sealer.open(s)).collect();
        let Ok(secrets) = secrets else { return failed("the webhook's secret cannot be opened with this key".into()) };
        let timestamp = self.store.clock().now_ms() / 1000;
        let Some(signed) = signature(&secrets, &delivery.event_id, timestamp, &body) else {
            return failed("the webhook's secret is not a whsec_ secret".into());
        };
        let target = match parse(&delivery.url) {
            Ok(target) => target,
            Err(e) => return failed(e),
        };
        let address = match resolve(&target, &self.egress).await {
            Ok(address) => address,
            Err(refused) => return failed(refused.to_string()),
        };
        // The checked address, never a second resolution; no redirect leaves it.
        let client = reqwest::Client::builder()
            .resolve(&target.host, address)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("segue-webhooks/", env!("CARGO_PKG_VERSION")))
            .build();
        let client = match client {
            Ok(client) => client,
            Err(e) => return failed(format!("cannot build an HTTP client: {e}")),
        };
        let sent = client
            .post(target.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return failed(format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs())),
            Err(e) => return failed(format!("sending failed: {}", error_chain(&e))),
        };
        let status = response.status();
        let snippet = snippet(response).await;
        Attempt {
            delivered: status.is_success(),
            status_code: Some(i64::from(status.as_u16())),
            error: None,
            response_snippet: (!snippet.is_empty()).then_some(snippet),
        }
    }

    /// `{"type", "timestamp", "test", "data"}` with the event's resource as the API shows it now.
    async fn body(&self, delivery: &DueDelivery) -> Result<String, store::Error> {
        let tenant = self.store.tenant(&delivery.org_id);
        let found = match delivery.event.resource() {
            Resource::Run => tenant.get_run(&delivery.resource_id).await.map(|r| to_value(crate::dto::Run::from(r))),
            Resource::JobRun => {
                tenant.get_job_run(&delivery.resource_id).await.map(|r| to_value(crate::jobs_dto::JobRun::from(r)))
            }
            Resource::Identity => {
                tenant.get_identity(&delivery.resource_id).await.map(|i| to_value(crate::dto::Identity::from(i)))
            }
        };
        let data = match found {
            Ok(data) => data,
            // Deleted since: the receiver still learns what happened to which id.
            Err(store::Error::NotFound) => json!({"id": delivery.resource_id, "deleted": true}),
            Err(e) => return Err(e),
        };
        let body = json!({
            "type": delivery.event.as_str(),
            "timestamp": time(delivery.occurred_at),
            "test": delivery.test,
            "data": data,
        });
        Ok(fit(body, MAX_BODY_BYTES))
    }
}

fn to_value(dto: impl serde::Serialize) -> Value {
    serde_json::to_value(dto).expect("API shapes are JSON")
}

/// `body` as text within `max_bytes`: a run's outputs are dropped first (the
/// run's own page still has them), and `data.outputsOmitted` says so.
fn fit(mut body: Value, max_bytes: usize) -> String {
    let text = body.to_string();
    if text.len() <= max_bytes {
        return text;
    }
    if let Some(data) = body.get_mut("data").and_then(Value::as_object_mut) {
        data.insert("outputs".into(), Value::Null);
        data.insert("outputsOmitted".into(), Value::Bool(true));
    }
    body.to_string()
}

/// The first `SNIPPET_BYTES` of an answer, read no further.
async fn snippet(response: reqwest::Response) -> String {
    let mut kept = Vec::new();
    let mut stream = response.bytes_stream();
    while kept.len() < SNIPPET_BYTES {
        match tokio::time::timeout(ATTEMPT_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(chunk))) => kept.extend_from_slice(&chunk[..chunk.len().min(SNIPPET_BYTES - kept.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).chars().filter(|c| !c.is_control() || *c == '\n').collect()
}

/// An error with its causes ("connection refused" sits a few levels down).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_outputs_are_dropped_to_fit() {
        let small = json!({"type": "run.completed", "data": {"id": "run_1", "outputs": {"a": 1}}});
        assert_eq!(fit(small.clone(), 1024), small.to_string());
        let large = json!({"type": "run.completed", "data": {"id": "run_1", "outputs": {"a": "x".repeat(4096)}}});
        let fitted: Value = serde_json::from_str(&fit(large, 1024)).unwrap();
        assert_eq!(fitted["data"]["outputs"], Value::Null);
        assert_eq!(fitted["data"]["outputsOmitted"], true);
        assert_eq!(fitted["data"]["id"], "run_1");
    }
}
