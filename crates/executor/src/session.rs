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
use crate::one_time_codes::OneTimeCodes;
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
    /// Fills the inputs named like a one-time code (`CODE_INPUTS`) with a fresh code
    /// as each segment reading them starts (a LOGIN run of an identity with a TOTP secret).
    pub one_time_codes: Option<OneTimeCodes>,
    /// Values masked besides the workflow's secret inputs (an identity's credentials).
    pub secrets: Vec<String>,
    /// Inputs a person supplies while the run waits, when a segment first reads them,
    /// through `input_source`.
    pub deferred_inputs: Vec<String>,
    pub input_source: Option<Arc<dyn InputSource>>,
    /// Whether the session's artifacts are this run's. A LOGIN run that signs a
    /// session in for the run after it leaves them to that run.
    pub leaves_artifacts: bool,
}

impl RunRequest {
    /// A run in a fresh session that keeps nothing of it.
    pub fn new(workflow: Arc<Workflow>, inputs: Map<String, Value>, cancel: CancellationToken) -> RunRequest {
        RunRequest {
            workflow,
            inputs,
            cancel,
            storage_state: None,
            export_storage_state: false,
            artifacts: None,
            one_time_codes: None,
            secrets: Vec::new(),
            deferred_inputs: Vec::new(),
            input_source: None,
            leaves_artifacts: true,
        }
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

    /// Masks `values` in every later run of this session (an identity's credentials,
    /// typed by the LOGIN run that signs the session in).
    pub fn add_secrets(&mut self, values: impl IntoIterator<Item = String>) {
        self.secrets.extend(values);
    }

    /// Runs a workflow to the end in this session (`request.storage_state` is
    /// ignored: the session was opened with its own).
    pub async fn run(&mut self, request: RunRequest, settings: &Settings, observer: &mut dyn Observer) -> Outcome {
        let RunRequest {
            workflow,
            inputs,
            cancel,
            export_storage_state,
            one_time_codes,
            leaves_artifacts,
            secrets,
            deferred_inputs,
            input_source,
            ..
        } = request;
        // Masked in this run and every later one of the session.
        self.secrets.extend(secrets);
        let mut execution = execution(workflow, inputs, settings, &self.secrets);
        execution.defer(&deferred_inputs);
        self.browser.limit_replies(settings.limits.replies());
        // Refusals belong to the segment that caused them; none is carried over from before.
        self.browser.take_denials();
        let mut result = Driver::new(settings, cancel, self.browser.files_dir())
            .with_one_time_codes(one_time_codes)
            .with_input_source(input_source)
            .drive(&mut execution, &mut *self.browser, self.collector.as_mut().filter(|_| leaves_artifacts), observer)
            .await;
        let mut storage_state = None;
        if export_storage_state && result.is_ok() {
            match self.browser.storage_state().await {
                Ok(state) => {
                    // The session's values are secrets from now on: the artifacts collected next must not show them.
                    execution.add_secrets(state.secret_values().iter().map(String::as_str));
                    storage_state = Some(state);
                }
                Err(e) => {
                    let message = format!("the run completed but its session could not be exported: {e}");
                    result = Err(failed(&mut execution, Failure::new(ErrorCode::BrowserError, None, message)));
                }
            }
        }
        let artifacts = match self.collector.take_if(|_| leaves_artifacts) {
            Some(mut collector) => {
                let redactor = execution.redactor();
                collector.page(&mut *self.browser, None, redactor, result.is_err()).await;
                collector.trace(&mut *self.browser, redactor, result.is_err()).await;
                collector.downloads(&mut *self.browser, redactor).await;
                if let Ok(outputs) = &result {
                    collector.outputs(outputs);
                }
                collector.forget_agent_screenshots_before(redactor.secret_values().len());
                Some(collector.finish())
            }
            None => None,
        };
        // Everything this run masked (the session's own secrets, one-time codes it typed,
        // secret outputs, an exported session's values) stays masked in the runs after
        // it in this session: its pages may still show them.
        self.secrets = execution.redactor().secret_values().to_vec();
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
            return unopened(request, &secrets, settings, ErrorCode::BrowserError, &e.to_string(), opening);
        }
    };
    let mut outcome = session.run(request, settings, observer).await;
    outcome.session_setup = session.close().await;
    outcome
}

/// Where a run waiting for a deferred input gets it: a person, through the service.
pub trait InputSource: Send + Sync {
    /// The value, or why none came (no answer in time): the run then fails with `INPUT_TIMEOUT`.
    fn ask<'a>(
        &'a self,
        wanted: &'a engine::InputWanted,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send + 'a>>;
}

/// How a run as an identity without a saved session starts: `login` (its LOGIN
/// workflow, exporting the session) runs first, then `request` in the same
/// browser session, signed in. `credentials` are masked in both. Returns the
/// login's outcome, and the run's: when the login fails, the run fails with
/// `LOGIN_FAILED` without running. The login leaves the session's artifacts to
/// the run; its segments are in its outcome, not told to `observer`.
pub async fn execute_after_login<B: Browser>(
    mut login: RunRequest,
    credentials: Vec<String>,
    mut request: RunRequest,
    settings: &Settings,
    browser: &mut B,
    observer: &mut dyn Observer,
) -> (Outcome, Outcome) {
    login.export_storage_state = true;
    login.leaves_artifacts = false;
    let network = |r: &RunRequest| r.workflow.segments.iter().any(|s| s.ty == SegmentType::Network);
    let options = SessionOptions {
        record_network: network(&login) || network(&request),
        storage_state: None,
        downloads_dir: None,
        trace: None,
    };
    let opening = Instant::now();
    let mut session = match Session::open(browser, options, request.artifacts.take()).await {
        Ok(session) => session,
        Err(e) => {
            let message = format!("the browser session could not open: {e}");
            let login_failed = unopened(login, &credentials, settings, ErrorCode::BrowserError, &message, opening);
            let failed = unopened(request, &credentials, settings, ErrorCode::BrowserError, &message, opening);
            return (login_failed, failed);
        }
    };
    session.add_secrets(credentials.iter().cloned());
    let signed_in = session.run(login, settings, &mut ()).await;
    if let Err(why) = &signed_in.result {
        let (code, message) = match why.code {
            // Cancelled while logging in: the run was cancelled, the login did not fail.
            ErrorCode::Cancelled => (ErrorCode::Cancelled, "cancelled while the identity was logging in".to_owned()),
            _ => (ErrorCode::LoginFailed, format!("the identity's LOGIN run failed: {}", **why)),
        };
        let failed = unopened(request, &credentials, settings, code, &message, opening);
        session.close().await;
        return (signed_in, failed);
    }
    // One time limit for both: the run's own starts where its login ended.
    let left = settings.run_timeout.saturating_sub(opening.elapsed()).max(Duration::from_millis(1));
    let within = Settings { run_timeout: left, ..settings.clone() };
    let mut outcome = session.run(request, &within, observer).await;
    outcome.session_setup = session.close().await;
    (signed_in, outcome)
}

/// The outcome of a run that failed before its first segment, masked by the engine.
fn unopened(
    request: RunRequest,
    secrets: &[String],
    settings: &Settings,
    code: ErrorCode,
    message: &str,
    opening: Instant,
) -> Outcome {
    let secrets: Vec<String> = secrets.iter().chain(&request.secrets).cloned().collect();
    let mut execution = execution(request.workflow, request.inputs, settings, &secrets);
    let failure = failed(&mut execution, Failure::new(code, None, message.to_owned()));
    Outcome {
        result: Err(failure),
        segments: Vec::new(),
        in_code: Duration::ZERO,
        session_setup: opening.elapsed(),
        heals: Vec::new(),
        storage_state: None,
        artifacts: None,
    }
}

/// The engine's side of a run, masking `secrets` besides the workflow's own.
fn execution(
    workflow: Arc<Workflow>,
    inputs: Map<String, Value>,
    settings: &Settings,
    secrets: &[String],
) -> Execution {
    let mut execution = Execution::new(workflow, inputs, settings.engine_config());
    execution.add_secrets(secrets.iter().map(String::as_str));
    execution
}

/// Ends the run with a failure found around it, masked by the engine like any other.
fn failed(execution: &mut Execution, failure: Failure) -> Masked<Failure> {
    match execution.apply(Event::Failed(failure), Instant::now()).command {
        Some(engine::Command::Fail(failure)) => failure,
        other => unreachable!("a failure ends the run, not {other:?}"),
    }
}
