//! A browser session: a fresh context opened with its options (recorded
//! network, a starting storage state), one workflow run in it, its storage
//! state exported when asked, and closed. `execute` does all four.

use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{ArtifactOptions, ErrorCode, Event, Execution, Failure, Masked, Record};
use runner::{Browser, SessionOptions, StorageState};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use workflow::{SegmentType, Workflow};

use crate::artifacts::{Artifacts, Collector};
use crate::drive::Driver;
use crate::settings::Settings;

/// Hears about a run as it happens. Every text it receives is `Masked`.
pub trait Observer: Send {
    fn record(&mut self, _record: &Record) {}
}

impl Observer for () {}

/// One run to execute.
pub struct RunRequest {
    pub workflow: Arc<Workflow>,
    /// From `engine::inputs::prepare`.
    pub inputs: Map<String, Value>,
    /// Cancelling it stops the run at once (killing the runner) with `CANCELLED`.
    pub cancel: CancellationToken,
    /// Cookies and local storage `execute` opens the session with (a login run's).
    pub storage_state: Option<StorageState>,
    /// Export the session's storage state when the run completes (a login run).
    pub export_storage_state: bool,
    /// What the run leaves behind besides its outputs; none: nothing.
    pub artifacts: Option<ArtifactOptions>,
}

impl RunRequest {
    /// A run in a fresh session that keeps nothing of it.
    pub fn new(workflow: Arc<Workflow>, inputs: Map<String, Value>, cancel: CancellationToken) -> RunRequest {
        RunRequest { workflow, inputs, cancel, storage_state: None, export_storage_state: false, artifacts: None }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The workflow outputs, or why the run failed.
    pub result: Result<Masked<Map<String, Value>>, Masked<Failure>>,
    pub segments: Vec<engine::SegmentRecord>,
    /// Time spent inside segment functions as measured by the runner.
    pub in_code: Duration,
    /// Time spent opening and closing the run's browser context and page.
    pub session_setup: Duration,
    /// For each segment the agent completed by fallback: deterministic code
    /// compiled from what it did, or why none could be.
    pub heals: Vec<engine::Heal>,
    /// The session's cookies and local storage at the end of a completed run,
    /// when the request asked for them.
    pub storage_state: Option<StorageState>,
    /// The files the run left, when the request asked for them.
    pub artifacts: Option<Artifacts>,
}

/// An open browser context on a browser. Close it: dropping it leaves the
/// context open, and the browser then refuses to open another.
pub struct Session<'b, B: Browser> {
    browser: &'b mut B,
    /// Values of the storage state it started from: masked like secrets in every report.
    secrets: Vec<String>,
    /// Time spent opening (and, once closed, closing) it.
    setup: Duration,
    /// Gathers what the run leaves behind, when it should.
    collector: Option<Collector>,
}

impl<'b, B: Browser> Session<'b, B> {
    /// Opens a context; with `artifacts`, one whose screenshots and downloads are kept.
    pub async fn open(
        browser: &'b mut B,
        mut options: SessionOptions,
        artifacts: Option<ArtifactOptions>,
    ) -> Result<Session<'b, B>, runner::Error> {
        let opening = Instant::now();
        let collector = match artifacts {
            Some(wanted) => Some(
                Collector::new(wanted, &browser.files_dir())
                    .map_err(|e| runner::Error::Runner(format!("cannot prepare the run's artifacts folder: {e}")))?,
            ),
            None => None,
        };
        options.downloads_dir = collector.as_ref().map(Collector::downloads_dir);
        options.trace = collector.as_ref().and_then(Collector::trace_options);
        browser.open(&options).await?;
        let secrets = options.storage_state.as_ref().map(StorageState::secret_values).unwrap_or_default();
        Ok(Session { browser, secrets, setup: opening.elapsed(), collector })
    }

    /// Runs a workflow to the end in this session (`request.storage_state` is
    /// ignored: the session was opened with its own).
    pub async fn run(&mut self, request: RunRequest, settings: &Settings, observer: &mut dyn Observer) -> Outcome {
        let RunRequest { workflow, inputs, cancel, export_storage_state, .. } = request;
        let mut execution = execution(workflow, inputs, settings, &self.secrets);
        self.browser.limit_replies(settings.limits.replies());
        // Refusals belong to the segment that caused them; none is carried over from before.
        self.browser.take_denials();
        let mut result = Driver::new(settings, cancel, self.browser.files_dir())
            .drive(&mut execution, &mut *self.browser, self.collector.as_mut(), observer)
            .await;
        let mut storage_state = None;
        if export_storage_state && result.is_ok() {
            match self.browser.storage_state().await {
                Ok(state) => {
                    // The session's values are secrets from now on: the artifacts collected next must not show them.
                    for value in state.secret_values() {
                        execution.add_secret(&value);
                    }
                    storage_state = Some(state);
                }
                Err(e) => {
                    let message = format!("the run completed but its session could not be exported: {e}");
                    result = Err(failed(&mut execution, Failure::new(ErrorCode::BrowserError, None, message)));
                }
            }
        }
        let artifacts = match self.collector.take() {
            Some(mut collector) => {
                let redactor = execution.redactor();
                collector.page(&mut *self.browser, None, redactor, result.is_err()).await;
                collector.trace(&mut *self.browser, redactor, result.is_err()).await;
                collector.downloads(&mut *self.browser, redactor).await;
                if let Ok(outputs) = &result {
                    collector.outputs(outputs);
                }
                Some(collector.finish())
            }
            None => None,
        };
        let report = execution.into_report();
        Outcome {
            result,
            segments: report.segments,
            in_code: report.in_code,
            session_setup: self.setup,
            heals: report.heals,
            storage_state,
            artifacts,
        }
    }

    /// The session's cookies and local storage now.
    pub async fn storage_state(&mut self) -> Result<StorageState, runner::Error> {
        self.browser.storage_state().await
    }

    /// Closes the context (killing the browser if it will not close) and
    /// returns the time spent opening and closing it.
    pub async fn close(self) -> Duration {
        let closing = Instant::now();
        if self.browser.is_alive() && self.browser.close().await.is_err() {
            self.browser.kill();
        }
        self.setup + closing.elapsed()
    }
}

/// Runs a workflow to the end in a session of its own on `browser`. The
/// browser is left open for another run unless a timeout, cancel or crash
/// forced it to be killed (`Browser::is_alive`).
pub async fn execute<B: Browser>(
    mut request: RunRequest,
    settings: &Settings,
    browser: &mut B,
    observer: &mut dyn Observer,
) -> Outcome {
    let options = SessionOptions {
        record_network: request.workflow.segments.iter().any(|s| s.ty == SegmentType::Network),
        storage_state: request.storage_state.take(),
        downloads_dir: None,
        trace: None,
    };
    let opening = Instant::now();
    let mut session = match Session::open(browser, options.clone(), request.artifacts).await {
        Ok(session) => session,
        Err(e) => {
            let secrets = options.storage_state.as_ref().map(StorageState::secret_values).unwrap_or_default();
            let mut execution = execution(request.workflow, request.inputs, settings, &secrets);
            let failure = failed(&mut execution, Failure::new(ErrorCode::BrowserError, None, e.to_string()));
            return Outcome {
                result: Err(failure),
                segments: Vec::new(),
                in_code: Duration::ZERO,
                session_setup: opening.elapsed(),
                heals: Vec::new(),
                storage_state: None,
                artifacts: None,
            };
        }
    };
    let mut outcome = session.run(request, settings, observer).await;
    outcome.session_setup = session.close().await;
    outcome
}

/// The engine's side of a run, masking `secrets` besides the workflow's own.
fn execution(
    workflow: Arc<Workflow>,
    inputs: Map<String, Value>,
    settings: &Settings,
    secrets: &[String],
) -> Execution {
    let mut execution = Execution::new(workflow, inputs, settings.engine_config());
    for secret in secrets {
        execution.add_secret(secret);
    }
    execution
}

/// Ends the run with a failure found around it, masked by the engine like any other.
fn failed(execution: &mut Execution, failure: Failure) -> Masked<Failure> {
    match execution.apply(Event::Failed(failure), Instant::now()).command {
        Some(engine::Command::Fail(failure)) => failure,
        other => unreachable!("a failure ends the run, not {other:?}"),
    }
}
