use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Action, ErrorCode, Failure, Masked, Mode, Run};
use runner::Runner;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use workflow::{SegmentType, Workflow};

use crate::files::RunFiles;
use crate::limits::{self, Limits, LogBudget, OutputBudget};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Limit for one segment execution (code, agent or router).
    pub segment_timeout: Duration,
    /// Limit for the whole run.
    pub run_timeout: Duration,
    pub engine: engine::Config,
    /// Completes agent segments and falls back for failing ui/network code; none: no AI.
    pub agent: Option<Arc<agent::Agent>>,
    /// What one run may produce (outputs, logs, runner lines).
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            segment_timeout: Duration::from_secs(300),
            run_timeout: Duration::from_secs(3600),
            engine: engine::Config::default(),
            agent: None,
            limits: Limits::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentStatus {
    Completed,
    Failed,
}

/// One execution of one segment. Every text in it went through the run's
/// `Redactor` (segment names are the workflow's own).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord {
    pub name: String,
    /// 1 for the first execution of the run, counting loops.
    pub sequence: u32,
    pub mode: Mode,
    pub status: SegmentStatus,
    pub duration: Duration,
    pub error: Option<Masked<Failure>>,
    pub logs: Vec<Masked>,
    /// For an AI Fallback: why the deterministic code failed.
    pub fallback_from: Option<Masked<Failure>>,
    /// Model tokens (input, output) the agent used, when it ran.
    pub tokens: Option<(u64, u64)>,
}

/// Hears about a run as it happens. Every text it receives is `Masked`.
pub trait Observer: Send {
    fn segment_started(&mut self, _name: &str, _sequence: u32, _mode: Mode) {}
    fn log(&mut self, _segment: &str, _text: &Masked) {}
    fn warning(&mut self, _text: &Masked) {}
    fn segment_finished(&mut self, _record: &SegmentRecord) {}
}

impl Observer for () {}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The workflow outputs, or why the run failed.
    pub result: Result<Masked<Map<String, Value>>, Masked<Failure>>,
    pub segments: Vec<SegmentRecord>,
    /// Time spent inside segment functions as measured by the runner.
    pub in_code: Duration,
    /// Time spent opening and closing the run's browser context and page.
    pub session_setup: Duration,
    /// For each segment the agent completed by fallback: deterministic code
    /// compiled from what it did, or why none could be.
    pub heals: Vec<Heal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Heal {
    /// Index into the workflow's segments.
    pub segment: usize,
    pub name: String,
    /// The compiled code (it is saved as a draft, so it is masked like any
    /// record: a secret the page showed beside an output must not be kept in
    /// it) or why none could be compiled.
    pub code: Result<Masked, Masked>,
}

/// One run to execute.
pub struct RunRequest {
    pub workflow: Arc<Workflow>,
    /// From `engine::inputs::prepare`.
    pub inputs: Map<String, Value>,
    /// Cancelling it stops the run at once (killing the runner) with `CANCELLED`.
    pub cancel: CancellationToken,
}

/// Runs a workflow to the end on a started runner. The runner is left open
/// for another run unless a timeout, cancel or crash forced it to be killed
/// (`Runner::is_alive`).
pub async fn execute(
    request: RunRequest,
    settings: &Settings,
    runner: &mut Runner,
    observer: &mut dyn Observer,
) -> Outcome {
    let RunRequest { workflow, inputs, cancel } = request;
    let record_network = workflow.segments.iter().any(|s| s.ty == SegmentType::Network);
    let engine_config = engine::Config { ai_available: settings.agent.is_some(), ..settings.engine.clone() };
    let mut run = Run::new(workflow, inputs, engine_config);
    let mut execution = Execution {
        settings,
        cancel,
        run_deadline: Instant::now() + settings.run_timeout,
        files: RunFiles::new(runner.files_dir()),
        segments: Vec::new(),
        in_code: Duration::ZERO,
        heals: Vec::new(),
        outputs: OutputBudget::new(settings.limits.output_bytes),
    };
    runner.limit_replies(settings.limits.replies());
    // Refusals belong to the segment that caused them; none is carried over from an earlier run.
    runner.take_denials();
    let opening = Instant::now();
    let opened = runner.open(record_network).await;
    let mut session_setup = opening.elapsed();
    let result = match opened {
        Ok(()) => execution.drive(&mut run, runner, observer).await,
        Err(e) => Err(Failure::new(ErrorCode::BrowserError, None, e.to_string())),
    };
    let closing = Instant::now();
    if runner.is_alive() && runner.close().await.is_err() {
        runner.kill();
    }
    session_setup += closing.elapsed();
    let redactor = run.redactor();
    let result = result.map(|outputs| redactor.mask_map(&outputs)).map_err(|f| redactor.mask_failure(&f));
    Outcome { result, segments: execution.segments, in_code: execution.in_code, session_setup, heals: execution.heals }
}

struct Execution<'s> {
    settings: &'s Settings,
    cancel: CancellationToken,
    run_deadline: Instant,
    files: RunFiles,
    segments: Vec<SegmentRecord>,
    in_code: Duration,
    heals: Vec<Heal>,
    outputs: OutputBudget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    TimedOut,
    Cancelled,
}

/// What a step of IO ended with, before the engine hears of it.
enum Io<T> {
    Done(T),
    Failed(Failure),
}

impl Execution<'_> {
    async fn drive(
        &mut self,
        run: &mut Run,
        runner: &mut Runner,
        observer: &mut dyn Observer,
    ) -> Result<Map<String, Value>, Failure> {
        let mut step = run.start();
        // The code's start and logs when it failed and the agent is taking over.
        let mut code_attempt: Option<(Instant, Vec<Masked>)> = None;
        loop {
            for w in &step.warnings {
                observer.warning(&run.redactor().mask(w));
            }
            step = match step.action {
                Action::Finished(outputs) => return Ok(outputs),
                Action::Failed(failure) => return Err(failure),
                Action::Code(call) => {
                    let started = Instant::now();
                    let sequence = run.executions();
                    observer.segment_started(&call.name, sequence, Mode::Code);
                    let mut logs = Vec::new();
                    let (next, error) = match self.code(run, runner, observer, &call, &mut logs).await {
                        Io::Done(result) => {
                            let next = run.code_returned(result);
                            let error = match &next.action {
                                Action::Failed(f) if f.code.is_execution_result() => Some(f.clone()),
                                _ => None,
                            };
                            (next, error)
                        }
                        Io::Failed(failure) => (run.fail(failure.clone()), Some(failure)),
                    };
                    if matches!(&next.action, Action::Agent(a) if a.fallback_from.is_some()) {
                        // Not finished: the agent takes over this same execution.
                        code_attempt = Some((started, logs));
                    } else {
                        let record = SegmentExecution {
                            name: &call.name,
                            sequence,
                            mode: Mode::Code,
                            started,
                            logs,
                            error,
                            fallback_from: None,
                            tokens: None,
                        };
                        self.finish_segment(run, observer, record);
                    }
                    next
                }
                Action::Route(call) => {
                    let routed = self.bounded(runner.route(&call.name, &call.router, &call.outputs)).await;
                    if let (Ok(_), Some(failure)) = (&routed, egress_failure(runner, &call.name)) {
                        step = run.fail(failure);
                        continue;
                    }
                    match routed {
                        Ok(Ok(result)) => run.route_returned(result),
                        Ok(Err(e)) => run.fail(Failure::new(ErrorCode::BrowserError, Some(&call.name), e.to_string())),
                        Err(stopped) => {
                            runner.kill();
                            run.fail(self.stopped_failure(stopped, &call.name, "its router"))
                        }
                    }
                }
                // Agents plug in here; until one is configured the engine never asks for it.
                Action::Agent(call) => {
                    // A fallback continues the code's execution: one record, timed from the code's start.
                    let (started, mut logs) = code_attempt.take().unwrap_or_else(|| (Instant::now(), Vec::new()));
                    let sequence = run.executions();
                    observer.segment_started(&call.name, sequence, call.mode());
                    let (next, error, agent_logs, tokens) = self.agent(run, runner, &call).await;
                    logs.extend(agent_logs);
                    let record = SegmentExecution {
                        name: &call.name,
                        sequence,
                        mode: call.mode(),
                        started,
                        logs,
                        error,
                        fallback_from: call.fallback_from.clone(),
                        tokens,
                    };
                    self.finish_segment(run, observer, record);
                    next
                }
            };
        }
    }

    async fn code(
        &mut self,
        run: &Run,
        runner: &mut Runner,
        observer: &mut dyn Observer,
        call: &engine::CodeCall,
        logs: &mut Vec<Masked>,
    ) -> Io<Result<Value, String>> {
        let parameters = match self.on_disk(&call.name, &call.parameters, &call.file_parameters) {
            Ok(p) => p,
            Err(failure) => return Io::Failed(failure),
        };
        let redactor = run.redactor().clone();
        let name = call.name.clone();
        let mut log_budget = LogBudget::new(&self.settings.limits);
        let mut on_log = |log: runner::Log| {
            let Some(text) = log_budget.admit(redactor.mask(&log.text)) else { return };
            observer.log(&name, &text);
            logs.push(text);
        };
        let ran = self.bounded(runner.run_code(&call.name, &call.code, &parameters, call.network, &mut on_log)).await;
        if let Some(marker) = log_budget.marker().map(|m| run.redactor().mask(&m)) {
            observer.log(&name, &marker);
            logs.push(marker);
        }
        if let (Ok(_), Some(failure)) = (&ran, egress_failure(runner, &call.name)) {
            return Io::Failed(failure);
        }
        match ran {
            Ok(Ok(result)) => {
                self.in_code += Duration::from_secs_f64(result.elapsed_ms / 1000.0);
                if let Ok(value) = &result.outcome
                    && let Err(failure) = self.outputs.admit(&call.name, value)
                {
                    return Io::Failed(failure);
                }
                Io::Done(result.outcome)
            }
            Ok(Err(runner::Error::ResultTooLarge { bytes, limit })) => {
                Io::Failed(limits::too_large(&call.name, bytes, limit))
            }
            Ok(Err(e)) => Io::Failed(Failure::new(ErrorCode::BrowserError, Some(&call.name), e.to_string())),
            Err(stopped) => {
                // The only way to stop code that never yields is to kill its process.
                runner.kill();
                Io::Failed(self.stopped_failure(stopped, &call.name, "its code"))
            }
        }
    }

    /// Lets the agent complete a segment; returns the next step, the segment's
    /// own failure, its log lines and the tokens it used.
    async fn agent(
        &mut self,
        run: &mut Run,
        runner: &mut Runner,
        call: &engine::AgentCall,
    ) -> (engine::Step, Option<Failure>, Vec<Masked>, Option<(u64, u64)>) {
        let Some(agent) = self.settings.agent.clone() else {
            // The engine only asks for an agent when one is configured.
            let failure = Failure::new(ErrorCode::AgentRequired, Some(&call.name), "no AI agent is configured");
            return (run.fail(failure.clone()), Some(failure), Vec::new(), None);
        };
        let parameters = match self.on_disk(&call.name, &call.parameters, &call.file_parameters) {
            Ok(p) => p,
            Err(failure) => return (run.fail(failure.clone()), Some(failure), Vec::new(), None),
        };
        let segment = run.workflow().segments[call.segment].clone();
        let redactor = run.redactor().clone();
        let task =
            agent::Task { segment: &segment, prompt: &call.prompt, parameters: &parameters, redactor: &redactor };
        let ran = self.bounded(agent.run(task, runner)).await;
        if let (Ok(_), Some(failure)) = (&ran, egress_failure(runner, &call.name)) {
            return (run.fail(failure.clone()), Some(failure), Vec::new(), None);
        }
        match ran {
            Ok(Ok(outcome)) => {
                if let (Some(_), Ok(outputs)) = (&call.fallback_from, &outcome.result) {
                    let code = agent::heal::compile(&segment, &outcome.trace, outputs, &parameters);
                    let code = code.map(|c| redactor.mask(&c)).map_err(|reason| redactor.mask(&reason));
                    self.heals.push(Heal { segment: call.segment, name: call.name.clone(), code });
                }
                let logs = outcome.trace.log_lines().iter().map(|line| redactor.mask(line)).collect();
                let tokens = Some((outcome.trace.input_tokens, outcome.trace.output_tokens));
                if let Ok(outputs) = &outcome.result
                    && let Err(failure) = self.outputs.admit(&call.name, &Value::Object(outputs.clone()))
                {
                    return (run.fail(failure.clone()), Some(failure), logs, tokens);
                }
                let next = run.agent_returned(outcome.result.map(Value::Object));
                let error = match &next.action {
                    Action::Failed(f) if f.code.is_execution_result() => Some(f.clone()),
                    _ => None,
                };
                (next, error, logs, tokens)
            }
            Ok(Err(e)) => {
                let failure = Failure::new(ErrorCode::BrowserError, Some(&call.name), e.to_string());
                (run.fail(failure.clone()), Some(failure), Vec::new(), None)
            }
            Err(stopped) => {
                runner.kill();
                let failure = self.stopped_failure(stopped, &call.name, "the agent");
                (run.fail(failure.clone()), Some(failure), Vec::new(), None)
            }
        }
    }

    /// A segment's inputs with each `file` input written to disk and replaced by its path.
    fn on_disk(
        &mut self,
        segment: &str,
        parameters: &Map<String, Value>,
        files: &[String],
    ) -> Result<Map<String, Value>, Failure> {
        let mut parameters = parameters.clone();
        self.files
            .materialize(&mut parameters, files)
            .map_err(|message| Failure::new(ErrorCode::InvalidInput, Some(segment), message))?;
        Ok(parameters)
    }

    /// Waits for browser work until it finishes, the deadline passes or the run is cancelled.
    async fn bounded<T>(&self, work: impl Future<Output = T>) -> Result<T, Stopped> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Stopped::Cancelled),
            done = tokio::time::timeout_at(self.deadline().into(), work) => done.map_err(|_| Stopped::TimedOut),
        }
    }

    /// Whichever comes first: the segment's limit or the run's.
    fn deadline(&self) -> Instant {
        (Instant::now() + self.settings.segment_timeout).min(self.run_deadline)
    }

    fn stopped_failure(&self, stopped: Stopped, segment: &str, what: &str) -> Failure {
        if stopped == Stopped::Cancelled {
            return Failure::new(
                ErrorCode::Cancelled,
                Some(segment),
                format!("the run was cancelled while {what} was running"),
            );
        }
        if Instant::now() >= self.run_deadline {
            let message = format!(
                "the run exceeded its time limit of {} while {what} was running",
                human(self.settings.run_timeout)
            );
            Failure::new(ErrorCode::RunTimeout, Some(segment), message)
        } else {
            let message = format!(
                "{what} did not finish within the segment time limit of {}",
                human(self.settings.segment_timeout)
            );
            Failure::new(ErrorCode::SegmentTimeout, Some(segment), message)
        }
    }

    fn finish_segment(&mut self, run: &Run, observer: &mut dyn Observer, done: SegmentExecution<'_>) {
        let redactor = run.redactor();
        let error = done.error.map(|f| redactor.mask_failure(&f));
        let record = SegmentRecord {
            name: done.name.to_owned(),
            sequence: done.sequence,
            mode: done.mode,
            status: if error.is_some() { SegmentStatus::Failed } else { SegmentStatus::Completed },
            duration: done.started.elapsed(),
            error,
            logs: done.logs,
            fallback_from: done.fallback_from.map(|f| redactor.mask_failure(&f)),
            tokens: done.tokens,
        };
        observer.segment_finished(&record);
        self.segments.push(record);
    }
}

/// A segment execution that just ended, before it becomes a `SegmentRecord`.
struct SegmentExecution<'a> {
    name: &'a str,
    sequence: u32,
    mode: Mode,
    started: Instant,
    logs: Vec<Masked>,
    error: Option<Failure>,
    fallback_from: Option<Failure>,
    tokens: Option<(u64, u64)>,
}

/// A connection the egress policy refused during the step just finished fails
/// its segment, whatever the code made of the refusal (caught it, ignored it).
fn egress_failure(runner: &Runner, segment: &str) -> Option<Failure> {
    let denials = runner.take_denials();
    let first = denials.first()?;
    let more = match denials.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let message = format!("the egress policy refused a connection: {first}{more}");
    Some(Failure::new(ErrorCode::EgressDenied, Some(segment), message))
}

fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 && secs % 60.0 == 0.0 { format!("{} min", secs / 60.0) } else { format!("{secs} s") }
}
