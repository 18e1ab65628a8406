//! The deliverer: every API server sends the webhook outbox's due deliveries.
//! A delivery is leased from the store (`Store::claim_deliveries`), its body is
//! fixed on the first attempt (the event's resource as the API shows it then),
//! signed with every live secret, posted to the checked address with a time
//! limit, and recorded: delivered on 2xx, else due again after the next wait of
//! the retry schedule, `FAILED` after the last. A delivery never changes a run.
//! Attempts run as tasks of their own, a bounded number at once.

use std::sync::Arc;
use std::time::Duration;

use egress::Policy;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use store::seal::Sealer;
use store::{Attempt, DueDelivery, Resource, Store};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::dto::time;
use crate::webhook_signing::signature;
use crate::webhook_url::{parse, resolve};

/// The longest a receiver may take to answer one attempt, body included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest connecting may take: a receiver that drops packets costs less.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a deliverer holds a delivery: past it, another one may send it.
const LEASE_MS: i64 = 60_000;
/// How often the outbox is looked at when nothing wakes the deliverer.
const POLL: Duration = Duration::from_millis(250);
/// Attempts one server makes at once. Each organization has at most
/// `store::MAX_IN_FLIGHT_PER_ORG` of them, so slow receivers of one cannot take them all.
const IN_FLIGHT: usize = 32;
/// Deliveries leased per claim: small bites keep an organization near its cap.
const CLAIM_BITE: usize = 4;
/// The largest body sent: outputs, then inputs are dropped to fit.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// How much of a receiver's answer is kept.
const SNIPPET_BYTES: usize = 1024;
/// Ended deliveries are kept this long for their webhook's list.
const KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

/// What a deliverer needs.
pub struct Deliverer {
    store: Store,
    sealer: Sealer,
    /// The egress policy of the server's runs: webhooks obey the same.
    egress: Arc<Policy>,
}

impl Deliverer {
    pub fn new(store: Store, sealer: Sealer, egress: Arc<Policy>) -> Deliverer {
        Deliverer { store, sealer, egress }
    }

    /// Sends due deliveries until `shutdown`, up to `IN_FLIGHT` at once: a slow
    /// receiver holds one slot, never the others. A change of any run, or an
    /// attempt ending, wakes it early. On shutdown it lets attempts in flight end.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let ended = Arc::new(Notify::new());
        let mut wakeups = this.store.event_wakeups();
        let mut last_prune = 0;
        loop {
            this.start_due(&slots, &ended).await;
            let now = this.store.clock().now_ms();
            if now - last_prune > 3_600_000 {
                last_prune = now;
                if let Err(e) = this.store.prune_deliveries(now - KEEP_MS).await {
                    tracing::warn!("pruning webhook deliveries failed: {e}");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(POLL) => {}
                () = ended.notified() => {}
                // Lagging only means "something changed": look again.
                _ = wakeups.recv() => {}
            }
        }
        // Every slot back: the attempts in flight ended (each within its time limit).
        let _ = slots.acquire_many(IN_FLIGHT as u32).await;
    }

    /// Leases due deliveries while slots are free, each attempt a task of its own.
    async fn start_due(self: &Arc<Self>, slots: &Arc<Semaphore>, ended: &Arc<Notify>) {
        loop {
            let free = slots.available_permits().min(CLAIM_BITE);
            if free == 0 {
                return;
            }
            let due = match self.store.claim_deliveries(LEASE_MS, free as i64).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!("claiming webhook deliveries failed: {e}");
                    return;
                }
            };
            let claimed = due.len();
            for delivery in due {
                let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
                let (this, ended) = (self.clone(), ended.clone());
                tokio::spawn(async move {
                    this.deliver(&delivery).await;
                    drop(slot);
                    ended.notify_one();
                });
            }
            if claimed < free {
                return;
            }
        }
    }

    /// One attempt of a leased delivery, recorded.
    async fn deliver(&self, delivery: &DueDelivery) {
        let attempt = self.attempt(delivery).await;
        let outcome = if attempt.delivered { "delivered" } else { "failed" };
        metrics::counter!("segue_webhook_attempts_total", "outcome" => outcome).increment(1);
        if let Err(e) = self.store.record_attempt(&delivery.lease, &attempt, &store::RETRY_DELAYS_MS).await {
            tracing::warn!(delivery = %delivery.lease.delivery_id, "recording a webhook attempt failed: {e}");
        }
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
            .connect_timeout(CONNECT_TIMEOUT)
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

/// `body` as text within `max_bytes`: the resource's outputs go first, then
/// its inputs (named in `data.omitted`; the resource's own page still has
/// them), and when even that is too large, `data` keeps only its id and status.
fn fit(mut body: Value, max_bytes: usize) -> String {
    let mut text = body.to_string();
    for field in ["outputs", "inputs"] {
        if text.len() <= max_bytes {
            return text;
        }
        if let Some(data) = body.get_mut("data").and_then(Value::as_object_mut)
            && data.get(field).is_some_and(|v| !v.is_null())
        {
            data.insert(field.into(), Value::Null);
            let omitted = data.entry("omitted").or_insert_with(|| json!([]));
            if let Some(list) = omitted.as_array_mut() {
                list.push(field.into());
            }
            text = body.to_string();
        }
    }
    if text.len() <= max_bytes {
        return text;
    }
    let data = &body["data"];
    body["data"] = json!({"id": data["id"], "status": data["status"], "omitted": ["*"]});
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
    fn bodies_are_cut_to_fit_outputs_first() {
        let run = |outputs: usize, inputs: usize| {
            json!({"type": "run.completed", "data": {"id": "run_1", "status": "COMPLETED",
                "outputs": {"a": "o".repeat(outputs)}, "inputs": {"b": "i".repeat(inputs)}}})
        };
        let small = run(10, 10);
        assert_eq!(fit(small.clone(), 1024), small.to_string());
        for (body, omitted) in [(run(4096, 10), json!(["outputs"])), (run(4096, 4096), json!(["outputs", "inputs"]))] {
            let fitted = fit(body, 1024);
            assert!(fitted.len() <= 1024, "{}", fitted.len());
            let fitted: Value = serde_json::from_str(&fitted).unwrap();
            assert_eq!(fitted["data"]["omitted"], omitted);
            assert_eq!(fitted["data"]["id"], "run_1");
        }
        let huge = json!({"type": "run.completed", "data": {"id": "run_1", "status": "FAILED",
            "error": {"message": "e".repeat(4096)}}});
        let fitted = fit(huge, 1024);
        assert!(fitted.len() <= 1024);
        let fitted: Value = serde_json::from_str(&fitted).unwrap();
        assert_eq!(fitted["data"], json!({"id": "run_1", "status": "FAILED", "omitted": ["*"]}));
    }
}
