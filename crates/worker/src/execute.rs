//! One claimed run, from sealed inputs to its final status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use engine::{ArtifactOptions, ErrorCode, Failure, Redactor};
use serde_json::{Map, Value};
use store::seal::Sealer;
use store::{ClaimedRun, Finish, Lease, NewArtifact, RunStatus, Store, TimeLimits};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::progress::{ChannelObserver, run_error, segment_execution, write};
use crate::sign_in::{self, Login, LoginRun, SignIn};

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
        // A database that fails for a moment must not turn a finished run into a lost
        // one: the write is retried briefly (it is conditional on the lease, so a retry
        // after a write that did land changes nothing).
        let retries = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(5)
            .with_jitter();
        let finished = (|| self.store.finish(&claimed.lease, finish.clone()))
            .retry(retries)
            .notify(|e, wait| tracing::warn!(run = %run_id, ?wait, "recording the run's end failed ({e}); retrying"))
            .await;
        match finished {
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
        let mut inputs = match self
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
        // A LOGIN workflow run as an identity is its login: the identity's credentials
        // fill the inputs it was not given, and its session is saved at the end.
        let mut logs_in = None;
        if let Some(identity) = &claimed.identity_id
            && self.is_login_workflow(claimed).await
        {
            let filled =
                sign_in::for_login_run(&self.store, &self.sealer, &claimed.org_id, identity, &workflow, &mut inputs);
            match filled.await {
                Ok(credentials) => logs_in = Some((identity.as_str(), credentials)),
                Err(why) => return failed(&knows_nothing, ErrorCode::LoginFailed, why),
            }
        }
        let mut redactor = engine::inputs::redactor(&workflow, &inputs);
        if let Some((_, credentials)) = &logs_in {
            redactor.add_all(credentials.credentials.secrets().iter().map(String::as_str));
        }
        // What a person supplies while the run waits: what it was asked to defer, and
        // the codes its identity's login cannot make.
        let mut deferred = claimed.deferred_inputs.clone();
        if let Some((_, login)) = &logs_in {
            deferred.extend(login.deferred.iter().cloned());
        }
        let inputs = match engine::inputs::prepare_deferring(&workflow, &inputs, &deferred) {
            Ok(i) => i,
            Err(errors) => {
                return failed(
                    &redactor,
                    ErrorCode::InvalidInput,
                    errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "),
                );
            }
        };
        // Before the browser starts: a run that cannot sign in fails at once.
        let sign_in = match &claimed.identity_id {
            None => None,
            Some(_) if logs_in.is_some() => None,
            Some(identity) => {
                match sign_in::prepare(&self.store, &self.sealer, &claimed.org_id, identity, self.cancel.clone()).await
                {
                    Ok(sign_in) => Some((identity.as_str(), sign_in)),
                    Err(why) => return failed(&redactor, ErrorCode::LoginFailed, why),
                }
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
        if let Some((_, credentials)) = &logs_in {
            request.export_storage_state = true;
            request.one_time_codes = credentials.credentials.codes.clone();
            request.secrets = credentials.credentials.secrets();
        }
        request.deferred_inputs = deferred;
        let waiting = Arc::new(self.waiting_room(claimed));
        request.input_source = Some(waiting.clone());
        let settings = settings_within(&self.config.settings, claimed.limits);
        let outcome = match sign_in {
            None => executor::execute(request, &settings, &mut runner, &mut ChannelObserver(tx)).await,
            Some((_, SignIn::Saved(state))) => {
                request.storage_state = Some(state);
                executor::execute(request, &settings, &mut runner, &mut ChannelObserver(tx)).await
            }
            Some((identity, SignIn::Login(login))) => {
                let Login { run, request: mut login_request, credentials, generation } = *login;
                // What the login asks a person for, the run shows it waits for.
                login_request.input_source = Some(waiting);
                let started = self.store.clock().now_ms();
                let (signed_in, outcome) = executor::execute_after_login(
                    login_request,
                    credentials,
                    request,
                    &settings,
                    &mut runner,
                    &mut ChannelObserver(tx),
                )
                .await;
                self.record_login(claimed, identity, run, signed_in, started, generation).await;
                outcome
            }
        };
        if let Some((identity, credentials)) = &logs_in {
            let session = self.session_outcome(&outcome);
            let saved = self.store.save_identity_session(
                &claimed.lease,
                identity,
                &session,
                credentials.credentials.generation,
            );
            if let Err(e) = saved.await {
                tracing::warn!(run = %claimed.lease.run_id, "saving the identity's session failed: {e}");
            }
        }
        if let (Some(blobs), Some(artifacts)) = (&self.config.blobs, &outcome.artifacts) {
            self.keep_artifacts(blobs, claimed, artifacts).await;
        }
        // A run that waited for a person cannot be checked again without them.
        if !outcome.heals.is_empty() && claimed.deferred_inputs.is_empty() {
            *healing = Some(Healing { heals: outcome.heals.clone(), inputs });
        }
        // Every segment is recorded before the run is marked finished.
        let _ = writer.await;
        runner.shutdown().await;
        match outcome.result {
            Ok(outputs) => {
                Finish { status: RunStatus::Completed, outputs: Some(Value::Object(outputs.into_inner())), error: None }
            }
            Err(f) => Finish { status: finished_status(f.code), outputs: None, error: Some(run_error(f)) },
        }
    }
}

impl Job {
    /// What a login's outcome does to its identity's session: saved (sealed) when it
    /// completed, FAILED when it failed, nothing when it was cancelled.
    fn session_outcome(&self, outcome: &executor::Outcome) -> store::SessionOutcome {
        match (&outcome.result, &outcome.storage_state) {
            (Ok(_), Some(state)) => store::SessionOutcome::Saved(self.sealer.seal(&state.as_json().to_string())),
            (Err(f), _) if f.code == ErrorCode::Cancelled => store::SessionOutcome::Unchanged,
            _ => store::SessionOutcome::Failed,
        }
    }

    /// Where the claimed run waits for a person's input.
    fn waiting_room(&self, claimed: &ClaimedRun) -> crate::waiting::WaitingRoom {
        let timeout = claimed
            .input_timeout_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map_or(crate::waiting::DEFAULT_INPUT_TIMEOUT, Duration::from_millis);
        crate::waiting::WaitingRoom {
            store: self.store.clone(),
            sealer: self.sealer.clone(),
            lease: claimed.lease.clone(),
            timeout,
        }
    }

    /// Whether the claimed run's workflow is a LOGIN workflow (deleted ones included).
    async fn is_login_workflow(&self, claimed: &ClaimedRun) -> bool {
        let workflow = self.store.tenant(&claimed.org_id).get_workflow(&claimed.workflow_id).await;
        workflow.is_ok_and(|w| w.ty == store::WorkflowType::Login)
    }

    /// Records the LOGIN run executed before the claimed run, and saves (sealed) the
    /// session it signed in, or marks the identity FAILED.
    async fn record_login(
        &self,
        claimed: &ClaimedRun,
        identity: &str,
        run: LoginRun,
        outcome: executor::Outcome,
        started_at: i64,
        generation: i64,
    ) {
        let session = self.session_outcome(&outcome);
        let (status, outputs, error) = match outcome.result {
            Ok(outputs) => (RunStatus::Completed, Some(Value::Object(outputs.into_inner())), None),
            Err(f) => (finished_status(f.code), None, Some(run_error(f))),
        };
        // Segments end one after another from the start of the login.
        let mut finished_at = started_at;
        let segments = outcome
            .segments
            .into_iter()
            .map(|record| {
                finished_at += i64::try_from(record.duration.as_millis()).unwrap_or(0);
                segment_execution(1, record, finished_at)
            })
            .collect();
        let record = store::LoginRecord {
            workflow_id: run.workflow_id,
            workflow_version: run.version,
            definition: run.definition,
            inputs: run.shown_inputs,
            status,
            outputs,
            error,
            segments,
            started_at,
            finished_at,
            session,
            generation,
        };
        match self.store.record_login(&claimed.lease, identity, &record).await {
            Ok(Some(login_run)) => {
                tracing::info!(run = %claimed.lease.run_id, %login_run, status = status.as_str(), "logged in first")
            }
            Ok(None) => tracing::warn!(run = %claimed.lease.run_id, "lease lost: the login run is not recorded"),
            Err(e) => tracing::warn!(run = %claimed.lease.run_id, "recording the login run failed: {e}"),
        }
    }

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

/// The status a run ends with when it fails with `code`.
fn finished_status(code: ErrorCode) -> RunStatus {
    match code {
        ErrorCode::Cancelled => RunStatus::Cancelled,
        ErrorCode::RunTimeout | ErrorCode::SegmentTimeout => RunStatus::TimedOut,
        _ => RunStatus::Failed,
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
