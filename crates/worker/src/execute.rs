//! One claimed run, from sealed inputs to its final status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use engine::{ErrorCode, Failure, Redactor};
use serde_json::{Map, Value};
use store::seal::Sealer;
use store::{ClaimedRun, Finish, RunStatus, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::progress::{ChannelObserver, run_error, write};

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
        let (finish, healing) = self.run(&claimed).await;
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
        if let (RunStatus::Completed, Some(healing)) = (status, healing) {
            self.heal(&claimed, healing).await;
        }
    }

    /// Saves the healed workflow as the draft, then checks it by running it
    /// with AI disabled on the same inputs, and records the outcome with it.
    async fn heal(&self, claimed: &ClaimedRun, healing: Healing) {
        let notes = executor::heal_notes(&healing.heals);
        let Some(document) =
            serde_json::from_str(&claimed.definition).ok().and_then(|d| executor::healed_document(&d, &healing.heals))
        else {
            tracing::info!(run = %claimed.id, ?notes, "nothing could be healed");
            return;
        };
        let saved = self
            .store
            .save_healed_draft(&claimed.org_id, &claimed.workflow_id, &document.to_string(), &notes, &claimed.id)
            .await;
        if let Err(e) = saved {
            tracing::warn!(run = %claimed.id, "saving the healed draft failed: {e}");
            return;
        }
        let (passed, message) = match workflow::check_value(&document).workflow {
            None => (false, Some("the healed workflow is not valid".to_owned())),
            Some(healed) => match runner::Runner::start(&self.config.runner).await {
                Err(e) => (false, Some(e.to_string())),
                Ok(mut runner) => {
                    let settings = executor::Settings { agent: None, ..self.config.settings.clone() };
                    let request = executor::RunRequest {
                        workflow: Arc::new(healed),
                        inputs: healing.inputs,
                        cancel: self.cancel.clone(),
                    };
                    let check = executor::execute(request, &settings, &mut runner, &mut ()).await;
                    runner.shutdown().await;
                    match check.result {
                        Ok(_) => (true, None),
                        Err(f) => (false, Some(f.to_string())),
                    }
                }
            },
        };
        tracing::info!(run = %claimed.id, passed, "healed draft checked without AI");
        if let Err(e) = self.store.record_draft_check(&claimed.workflow_id, &claimed.id, passed, message).await {
            tracing::warn!(run = %claimed.id, "recording the healed draft's check failed: {e}");
        }
    }

    async fn run(&self, claimed: &ClaimedRun) -> (Finish, Option<Healing>) {
        let mut healing = None;
        let finish = self.execute_run(claimed, &mut healing).await;
        (finish, healing)
    }

    async fn execute_run(&self, claimed: &ClaimedRun, healing: &mut Option<Healing>) -> Finish {
        let failed = |redactor: &Redactor, code: ErrorCode, message: String| Finish {
            status: RunStatus::Failed,
            outputs: None,
            error: Some(run_error(redactor.mask_failure(&Failure::new(code, None, message)))),
        };
        // Until the inputs are open no secret is known, and none is in these messages.
        let knows_nothing = Redactor::new();
        let Some(workflow) = workflow::check(&claimed.definition).workflow else {
            return failed(&knows_nothing, ErrorCode::BrowserError, "the run's workflow snapshot is not valid".into());
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
                    &knows_nothing,
                    ErrorCode::BrowserError,
                    "the run's inputs cannot be opened: is SEGUE_SECRET_KEY the server's?".into(),
                );
            }
        };
        let redactor = engine::inputs::redactor(&workflow, &inputs);
        let inputs = match engine::inputs::prepare(&workflow, &inputs) {
            Ok(i) => i,
            Err(errors) => {
                return failed(
                    &redactor,
                    ErrorCode::InvalidInput,
                    errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "),
                );
            }
        };
        let mut runner = match runner::Runner::start(&self.config.runner).await {
            Ok(r) => r,
            Err(e) => return failed(&redactor, ErrorCode::BrowserError, e.to_string()),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write(self.store.clone(), claimed.id.clone(), self.config.id.clone(), rx));
        let request =
            executor::RunRequest { workflow: Arc::new(workflow), inputs: inputs.clone(), cancel: self.cancel.clone() };
        let outcome = executor::execute(request, &self.config.settings, &mut runner, &mut ChannelObserver(tx)).await;
        if !outcome.heals.is_empty() {
            *healing = Some(Healing { heals: outcome.heals.clone(), inputs });
        }
        // Every segment is recorded before the run is marked finished.
        let _ = writer.await;
        runner.shutdown().await;
        match outcome.result {
            Ok(outputs) => {
                Finish { status: RunStatus::Completed, outputs: Some(Value::Object(outputs.into_inner())), error: None }
            }
            Err(f) => Finish {
                status: match f.code {
                    ErrorCode::Cancelled => RunStatus::Cancelled,
                    ErrorCode::RunTimeout | ErrorCode::SegmentTimeout => RunStatus::TimedOut,
                    _ => RunStatus::Failed,
                },
                outputs: None,
                error: Some(run_error(f)),
            },
        }
    }
}

/// What a run's AI fallbacks left to heal.
struct Healing {
    heals: Vec<executor::Heal>,
    inputs: Map<String, Value>,
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
    let lease_ms = config.lease_ms();
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
