//! A run waiting for a person: the executor asks for a deferred input, the run
//! shows `AWAITING_USER_INPUT` with what it waits for, and the answer a person
//! gives through the API (sealed in the run's row) is taken under the run's lease.

use std::pin::Pin;
use std::time::Duration;

use serde_json::{Value, json};
use store::seal::Sealer;
use store::{Lease, Store};

/// How long a run waits for an input when it was not told.
pub const DEFAULT_INPUT_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the run looks for the answer.
const POLL: Duration = Duration::from_millis(250);

pub(crate) struct WaitingRoom {
    pub store: Store,
    pub sealer: Sealer,
    pub lease: Lease,
    pub timeout: Duration,
}

impl executor::InputSource for WaitingRoom {
    fn ask<'a>(
        &'a self,
        wanted: &'a engine::InputWanted,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send + 'a>> {
        Box::pin(self.wait_for(wanted))
    }
}

impl WaitingRoom {
    async fn wait_for(&self, wanted: &engine::InputWanted) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timeout_ms = i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX);
        let awaiting = json!({
            "name": wanted.name,
            "type": wanted.ty.as_str(),
            "description": wanted.description,
            "options": wanted.options,
            "expiresAtMs": self.store.clock().now_ms().saturating_add(timeout_ms),
        });
        let lost = || "the run's lease was lost while it waited for input".to_owned();
        if !self.store.await_input(&self.lease, &awaiting).await.map_err(|e| e.to_string())? {
            return Err(lost());
        }
        loop {
            let stop = tokio::time::Instant::now() >= deadline;
            let taken = match self.store.take_supplied_input(&self.lease, stop).await {
                Ok(taken) => taken,
                // A database that fails once is asked again until the wait is over.
                Err(e) if !stop => {
                    tracing::warn!(run = %self.lease.run_id, "reading the supplied input failed: {e}");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                Err(e) => return Err(format!("the supplied input could not be read: {e}")),
            };
            match taken {
                None => return Err(lost()),
                Some(Some(sealed)) => {
                    let opened =
                        self.sealer.open(&sealed).map_err(|_| "the supplied input cannot be opened".to_owned())?;
                    return serde_json::from_str(&opened).map_err(|_| "the supplied input is not JSON".to_owned());
                }
                Some(None) if stop => {
                    return Err(format!(
                        "nobody supplied input '{}' within {} seconds",
                        wanted.name,
                        self.timeout.as_secs()
                    ));
                }
                Some(None) => tokio::time::sleep(POLL.min(deadline - tokio::time::Instant::now())).await,
            }
        }
    }
}
