//! The IO half of a run: carries out each `Command` the engine gives — code,
//! routers, the agent — against the browser, within the run's time limits,
//! and tells the engine what happened. It reports nothing itself: records,
//! logs and failures are the engine's, already masked.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{AgentReport, Command, ErrorCode, Event, Execution, Failure, Masked, Record};
use runner::Browser;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::artifacts::Collector;
use crate::files::RunFiles;
use crate::one_time_codes::OneTimeCodes;
use crate::session::{InputSource, Observer};
use crate::settings::Settings;

pub(crate) struct Driver<'s> {
    settings: &'s Settings,
    cancel: CancellationToken,
    run_deadline: Instant,
    files: RunFiles,
    /// What the agent's vision model was shown in the last segment it ran, for the
    /// artifacts, and how many secrets the run knew then.
    agent_screenshots: Option<(String, Vec<String>, usize)>,
    one_time_codes: Option<OneTimeCodes>,
    input_source: Option<Arc<dyn InputSource>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    TimedOut,
    Cancelled,
}

impl<'s> Driver<'s> {
    pub(crate) fn new(settings: &'s Settings, cancel: CancellationToken, files_dir: PathBuf) -> Driver<'s> {
        Driver {
            settings,
            cancel,
            run_deadline: Instant::now() + settings.run_timeout,
            files: RunFiles::new(files_dir),
            agent_screenshots: None,
            one_time_codes: None,
            input_source: None,
        }
    }

    pub(crate) fn with_input_source(mut self, source: Option<Arc<dyn InputSource>>) -> Driver<'s> {
        self.input_source = source;
        self
    }

    pub(crate) fn with_one_time_codes(mut self, codes: Option<OneTimeCodes>) -> Driver<'s> {
        self.one_time_codes = codes;
        self
    }

    /// Carries out commands until the run finishes or fails.
    pub(crate) async fn drive<B: Browser>(
        &mut self,
        execution: &mut Execution,
        browser: &mut B,
        mut collector: Option<&mut Collector>,
        observer: &mut dyn Observer,
    ) -> Result<Masked<Map<String, Value>>, Masked<Failure>> {
        let mut reply = execution.apply(Event::Start, Instant::now());
        loop {
            tell(observer, &reply.records);
            if let Some(collector) = collector.as_deref_mut().filter(|c| c.every_segment()) {
                for record in &reply.records {
                    if let Record::SegmentFinished(done) = record {
                        collector.page(browser, Some(&done.name), execution.redactor(), false).await;
                    }
                }
            }
            let event = match reply.command.take().expect("the engine answers every event but a log line") {
                Command::Finish(outputs) => return Ok(outputs),
                Command::Fail(failure) => return Err(failure),
                Command::Code(call) => self.code(&call, execution, browser, observer).await,
                Command::Route(call) => self.route(&call, browser).await,
                Command::Agent(call) => self.agent(&call, execution, browser).await,
                Command::AwaitInput(wanted) => self.await_input(&wanted).await,
            };
            if let (Some(collector), Some((segment, shots, secrets_known))) =
                (collector.as_deref_mut(), self.agent_screenshots.take())
            {
                collector.agent_screenshots(&segment, &shots, secrets_known);
            }
            reply = execution.apply(event, Instant::now());
        }
    }

    async fn code<B: Browser>(
        &mut self,
        call: &engine::CodeCall,
        execution: &mut Execution,
        browser: &mut B,
        observer: &mut dyn Observer,
    ) -> Event {
        let mut parameters = match self.on_disk(&call.name, &call.parameters, &call.file_parameters) {
            Ok(p) => p,
            Err(failure) => return Event::Failed(failure),
        };
        if let Some(code) = self.one_time_codes.as_ref().and_then(|codes| codes.fill(&mut parameters)) {
            // Masked like the secret it comes from, from the moment it exists.
            execution.add_secrets([code.as_str()]);
        }
        let mut on_log =
            |log: runner::Log| tell(observer, &execution.apply(Event::Logged(log.text), Instant::now()).records);
        let ran = self.bounded(browser.run_code(&call.name, &call.code, &parameters, call.network, &mut on_log)).await;
        if let (Ok(_), Some(failure)) = (&ran, egress_failure(browser, &call.name)) {
            return Event::Failed(failure);
        }
        match ran {
            Ok(Ok(result)) => Event::CodeReturned {
                result: result.outcome,
                in_code: Duration::from_secs_f64(result.elapsed_ms.max(0.0) / 1000.0),
            },
            Ok(Err(runner::Error::ResultTooLarge { bytes, limit })) => {
                Event::Failed(engine::output_too_large(&call.name, bytes, limit))
            }
            Ok(Err(e)) => Event::Failed(Failure::new(ErrorCode::BrowserError, Some(&call.name), e.to_string())),
            Err(stopped) => {
                // The only way to stop code that never yields is to kill its process.
                browser.kill();
                Event::Failed(self.stopped_failure(stopped, &call.name, "its code"))
            }
        }
    }

    async fn route<B: Browser>(&self, call: &engine::RouteCall, browser: &mut B) -> Event {
        let routed = self.bounded(browser.route(&call.name, &call.router, &call.outputs)).await;
        if let (Ok(_), Some(failure)) = (&routed, egress_failure(browser, &call.name)) {
            return Event::Failed(failure);
        }
        match routed {
            Ok(Ok(result)) => Event::RouteReturned(result),
            Ok(Err(e)) => Event::Failed(Failure::new(ErrorCode::BrowserError, Some(&call.name), e.to_string())),
            Err(stopped) => {
                browser.kill();
                Event::Failed(self.stopped_failure(stopped, &call.name, "its router"))
            }
        }
    }

    /// Waits for a person to supply a deferred input, within the run's time limit.
    async fn await_input(&self, wanted: &engine::InputWanted) -> Event {
        let segment = Some(wanted.segment.as_str());
        let Some(source) = &self.input_source else {
            let message = format!("input '{}' is deferred, but nobody can supply it to this run", wanted.name);
            return Event::Failed(Failure::new(ErrorCode::MissingInput, segment, message));
        };
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => {
                let message = format!("the run was cancelled while it waited for input '{}'", wanted.name);
                Event::Failed(Failure::new(ErrorCode::Cancelled, segment, message))
            }
            () = tokio::time::sleep_until(self.run_deadline.into()) => {
                let message = format!(
                    "the run exceeded its time limit of {} while it waited for input '{}'",
                    human(self.settings.run_timeout),
                    wanted.name
                );
                Event::Failed(Failure::new(ErrorCode::RunTimeout, segment, message))
            }
            answered = source.ask(wanted) => match answered {
                Ok(value) => Event::InputSupplied { name: wanted.name.clone(), value },
                Err(why) => Event::Failed(Failure::new(ErrorCode::InputTimeout, segment, why)),
            },
        }
    }

    /// Lets the agent complete a segment.
    async fn agent<B: Browser>(
        &mut self,
        call: &engine::AgentCall,
        execution: &mut Execution,
        browser: &mut B,
    ) -> Event {
        let Some(agent) = self.settings.agent.clone() else {
            // The engine only asks for an agent when one is configured.
            return Event::Failed(Failure::new(
                ErrorCode::AgentRequired,
                Some(&call.name),
                "no AI agent is configured",
            ));
        };
        let mut parameters = match self.on_disk(&call.name, &call.parameters, &call.file_parameters) {
            Ok(p) => p,
            Err(failure) => return Event::Failed(failure),
        };
        // The agent types one-time codes too (a login step completed by AI fallback).
        if let Some(code) = self.one_time_codes.as_ref().and_then(|codes| codes.fill(&mut parameters)) {
            execution.add_secrets([code.as_str()]);
        }
        let segment = execution.workflow().segments[call.segment].clone();
        let redactor = execution.redactor().clone();
        let task =
            agent::Task { segment: &segment, prompt: &call.prompt, parameters: &parameters, redactor: &redactor };
        let ran = self.bounded(agent.run(task, browser)).await;
        if let (Ok(_), Some(failure)) = (&ran, egress_failure(browser, &call.name)) {
            return Event::Failed(failure);
        }
        match ran {
            Ok(Ok(mut outcome)) => {
                let secrets_known = execution.redactor().secret_values().len();
                let shots = std::mem::take(&mut outcome.trace.screenshots);
                self.agent_screenshots = Some((call.name.clone(), shots, secrets_known));
                let heal = match (&call.fallback_from, &outcome.result) {
                    (Some(_), Ok(outputs)) => {
                        Some(agent::heal::compile(&segment, &outcome.trace, outputs, &parameters))
                    }
                    _ => None,
                };
                Event::AgentReturned(AgentReport {
                    log_lines: outcome.trace.log_lines(),
                    tokens: (outcome.trace.input_tokens, outcome.trace.output_tokens),
                    result: outcome.result,
                    heal,
                })
            }
            Ok(Err(e)) => Event::Failed(Failure::new(ErrorCode::BrowserError, Some(&call.name), e.to_string())),
            Err(stopped) => {
                browser.kill();
                Event::Failed(self.stopped_failure(stopped, &call.name, "the agent"))
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
}

fn tell(observer: &mut dyn Observer, records: &[Record]) {
    for record in records {
        observer.record(record);
    }
}

/// A connection the egress policy refused during the step just finished fails
/// its segment, whatever the code made of the refusal (caught it, ignored it).
fn egress_failure<B: Browser>(browser: &B, segment: &str) -> Option<Failure> {
    let denials = browser.take_denials();
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
