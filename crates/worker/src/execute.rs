//! One claimed run, from sealed inputs to its final status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use engine::ErrorCode;
use serde_json::{Map, Value};
use store::seal::Sealer;
use store::{ClaimedRun, Finish, RunError, RunStatus, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::progress::{ChannelObserver, write};

pub struct Job {
    pub store: Store,
    pub sealer: Sealer,
    pub config: Arc<Config>,
    /// Cancelled when the worker gives up on in-flight runs (drain deadline).
    pub cancel: CancellationToken,
}

impl Job {
    pub async fn execute(self, claimed: ClaimedRun) {
        let run_id = claimed.id.clone();
        tracing::info!(run = %run_id, attempt = claimed.attempts, "run claimed");
        let lost = Arc::new(AtomicBool::new(false));
        let done = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            run_id.clone(),
            Arc::clone(&self.config),
            self.cancel.clone(),
            Arc::clone(&lost),
            done.clone(),
        ));
        let finish = self.run(&claimed).await;
        done.cancel();
        let _ = heartbeat.await;
        if lost.load(Ordering::SeqCst) {
            tracing::warn!(run = %run_id, "lease lost: the run's outcome is not recorded by this worker");
            return;
        }
        let status = finish.status;
        match self.store.finish(&run_id, &self.config.id, finish).await {
            Ok(true) => tracing::info!(run = %run_id, status = status.as_str(), "run finished"),
            Ok(false) => tracing::warn!(run = %run_id, "the run was no longer ours to finish"),
            Err(e) => tracing::error!(run = %run_id, "recording the run's end failed: {e}"),
        }
    }

    async fn run(&self, claimed: &ClaimedRun) -> Finish {
        let failed = |code: ErrorCode, message: String| Finish {
            status: RunStatus::Failed,
            outputs: None,
            error: Some(RunError { segment_name: None, code: code.as_str().to_owned(), message }),
        };
        let Some(workflow) = workflow::check(&claimed.definition).workflow else {
            return failed(ErrorCode::BrowserError, "the run's workflow snapshot is not valid".into());
        };
        let inputs = match self
            .sealer
            .open(&claimed.sealed_inputs)
            .ok()
            .and_then(|t| serde_json::from_str::<Map<String, Value>>(&t).ok())
        {
            Some(inputs) => inputs,
            None => {
                return failed(
                    ErrorCode::BrowserError,
                    "the run's inputs cannot be opened: is SEGUE_SECRET_KEY the server's?".into(),
                );
            }
        };
        let inputs = match engine::inputs::prepare(&workflow, &inputs) {
            Ok(i) => i,
            Err(errors) => {
                return failed(
                    ErrorCode::InvalidInput,
                    errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "),
                );
            }
        };
        let mut runner = match runner::Runner::start(&self.config.runner).await {
            Ok(r) => r,
            Err(e) => return failed(ErrorCode::BrowserError, e.to_string()),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write(self.store.clone(), claimed.id.clone(), self.config.id.clone(), rx));
        let request = executor::RunRequest { workflow: Arc::new(workflow), inputs, cancel: self.cancel.clone() };
        let outcome = executor::execute(request, &self.config.settings, &mut runner, &mut ChannelObserver(tx)).await;
        // Every segment is recorded before the run is marked finished.
        let _ = writer.await;
        runner.shutdown().await;
        match outcome.result {
            Ok(outputs) => Finish { status: RunStatus::Completed, outputs: Some(Value::Object(outputs)), error: None },
            Err(f) => Finish {
                status: match f.code {
                    ErrorCode::Cancelled => RunStatus::Cancelled,
                    ErrorCode::RunTimeout | ErrorCode::SegmentTimeout => RunStatus::TimedOut,
                    _ => RunStatus::Failed,
                },
                outputs: None,
                error: Some(RunError { segment_name: f.segment, code: f.code.as_str().to_owned(), message: f.message }),
            },
        }
    }
}

/// Extends the lease until `done`. A cancel request or a lost lease cancels the run.
async fn heartbeat(
    store: Store,
    run_id: String,
    config: Arc<Config>,
    cancel: CancellationToken,
    lost: Arc<AtomicBool>,
    done: CancellationToken,
) {
    let lease_ms = i64::try_from(config.lease.as_millis()).unwrap_or(i64::MAX);
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            () = tokio::time::sleep(config.heartbeat) => {}
        }
        match store.heartbeat(&run_id, &config.id, lease_ms).await {
            Ok(Some(false)) => {}
            Ok(Some(true)) => {
                tracing::info!(run = %run_id, "cancel requested");
                cancel.cancel();
            }
            Ok(None) => {
                lost.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            Err(e) => tracing::warn!(run = %run_id, "heartbeat failed: {e}"),
        }
    }
}
