//! One claimed run, from sealed inputs to its final status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use engine::{ArtifactOptions, ErrorCode, Failure, Redactor};
use serde_json::{Map, Value};
use store::seal::Sealer;
use store::{ClaimedRun, Finish, Lease, NewArtifact, RunStatus, Store, TimeLimits};
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
        let run_id = claimed.lease.run_id.clone();
        tracing::info!(run = %run_id, attempt = claimed.lease.attempt, "run claimed");
        let lost = Arc::new(AtomicBool::new(false));
        let done = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            claimed.lease.clone(),
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
        match self.store.finish(&claimed.lease, finish).await {
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
            tracing::info!(run = %claimed.lease.run_id, ?notes, "nothing could be healed");
            return;
        };
        let tenant = self.store.tenant(&claimed.org_id);
        let saved =
            tenant.save_healed_draft(&claimed.workflow_id, &document.to_string(), &notes, &claimed.lease.run_id).await;
        if let Err(e) = saved {
            tracing::warn!(run = %claimed.lease.run_id, "saving the healed draft failed: {e}");
            return;
        }
        let (passed, message) = match workflow::check_value(&document).workflow {
            None => (false, Some("the healed workflow is not valid".to_owned())),
            Some(healed) => match runner::Runner::start(&self.config.runner).await {
                Err(e) => (false, Some(e.to_string())),
                Ok(mut runner) => {
                    let settings = executor::Settings { agent: None, ..self.config.settings.clone() };
                    let request = executor::RunRequest::new(Arc::new(healed), healing.inputs, self.cancel.clone());
                    let check = executor::execute(request, &settings, &mut runner, &mut ()).await;
                    runner.shutdown().await;
                    match check.result {
                        Ok(_) => (true, None),
                        Err(f) => (false, Some(f.to_string())),
                    }
                }
            },
        };
        tracing::info!(run = %claimed.lease.run_id, passed, "healed draft checked without AI");
        if let Err(e) = tenant.record_draft_check(&claimed.workflow_id, &claimed.lease.run_id, passed, message).await {
            tracing::warn!(run = %claimed.lease.run_id, "recording the healed draft's check failed: {e}");
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
        let writer = tokio::spawn(write(self.store.clone(), claimed.lease.clone(), rx));
        let mut request = executor::RunRequest::new(Arc::new(workflow), inputs.clone(), self.cancel.clone());
        if self.config.blobs.is_some() {
            // What the run asked for; runs queued before artifacts existed get the defaults.
            let asked = claimed.artifacts.as_deref().and_then(|a| serde_json::from_str::<Value>(a).ok());
            request.artifacts = Some(asked.and_then(|a| ArtifactOptions::from_json(&a).ok()).unwrap_or_default());
        }
        let settings = settings_within(&self.config.settings, claimed.limits);
        let outcome = executor::execute(request, &settings, &mut runner, &mut ChannelObserver(tx)).await;
        if let (Some(blobs), Some(artifacts)) = (&self.config.blobs, &outcome.artifacts) {
            self.keep_artifacts(blobs, claimed, artifacts).await;
        }
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

impl Job {
    /// Uploads the run's artifacts and records them under the lease, before the run is finished.
    async fn keep_artifacts(&self, blobs: &blobs::Blobs, claimed: &ClaimedRun, artifacts: &executor::Artifacts) {
        let lease = &claimed.lease;
        let mut kept = Vec::with_capacity(artifacts.list.len());
        for a in &artifacts.list {
            let key = blobs::Blobs::key(&claimed.org_id, &lease.run_id, lease.attempt, &a.name);
            if let Err(e) = blobs.put_file(&key, &a.path).await {
                tracing::warn!(run = %lease.run_id, "artifact {} not kept: {e}", a.name);
                continue;
            }
            kept.push(NewArtifact {
                kind: a.kind.as_str().to_owned(),
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: i64::try_from(a.size).unwrap_or(i64::MAX),
                sha256: a.sha256.clone(),
                segment_name: a.segment.clone(),
                object_key: key,
            });
        }
        match self.store.record_artifacts(lease, &kept).await {
            Ok(true) => metrics::counter!("segue_artifacts_kept_total").increment(kept.len() as u64),
            Ok(false) => {
                // The lease is gone: nothing may point at these bytes.
                for a in &kept {
                    let _ = blobs.delete(&a.object_key).await;
                }
            }
            Err(e) => tracing::warn!(run = %lease.run_id, "recording artifacts failed: {e}"),
        }
    }
}

/// What a run's AI fallbacks left to heal.
struct Healing {
    heals: Vec<executor::Heal>,
    inputs: Map<String, Value>,
}

/// The worker's settings with the run's own time limits, which never exceed the worker's.
fn settings_within(worker: &executor::Settings, limits: TimeLimits) -> executor::Settings {
    let within = |asked: Option<i64>, most: Duration| {
        asked.and_then(|ms| u64::try_from(ms).ok()).map_or(most, |ms| Duration::from_millis(ms).min(most))
    };
    executor::Settings {
        segment_timeout: within(limits.segment_ms, worker.segment_timeout),
        run_timeout: within(limits.run_ms, worker.run_timeout),
        ..worker.clone()
    }
}

/// Extends the lease until `done`. A cancel request or a lost lease cancels the run.
async fn heartbeat(
    store: Store,
    lease: Lease,
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
        let run_id = &lease.run_id;
        match store.heartbeat(&lease, lease_ms).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_gets_its_own_limits_but_never_more_than_the_workers() {
        let worker = executor::Settings {
            segment_timeout: Duration::from_secs(300),
            run_timeout: Duration::from_secs(3600),
            ..executor::Settings::default()
        };
        let own = settings_within(&worker, TimeLimits::default());
        assert_eq!((own.segment_timeout, own.run_timeout), (worker.segment_timeout, worker.run_timeout));
        let shorter = settings_within(&worker, TimeLimits { segment_ms: Some(1_500), run_ms: Some(60_000) });
        assert_eq!(
            (shorter.segment_timeout, shorter.run_timeout),
            (Duration::from_millis(1_500), Duration::from_secs(60))
        );
        let greedy = settings_within(&worker, TimeLimits { segment_ms: Some(10_000_000), run_ms: Some(i64::MAX) });
        assert_eq!((greedy.segment_timeout, greedy.run_timeout), (worker.segment_timeout, worker.run_timeout));
    }
}
