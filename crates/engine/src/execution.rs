//! A run being carried out. The executor tells it what happened (`Event`) and
//! carries out what it answers (`Command`); nothing else passes between them.
//!
//! Everything a run reports is made here — segment records with their timing
//! and logs, warnings, heals, the final outputs or failure — and masked with
//! the run's `Redactor` before anyone sees it. The executor only does IO: a
//! path that reports a run without going through `apply` has nothing to report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use workflow::Workflow;

use crate::budget::{Limits, LogBudget, OutputBudget};
use crate::failure::Failure;
use crate::record::{Heal, Record, SegmentRecord, SegmentStatus};
use crate::redact::{Masked, Redactor};
use crate::run::{Action, AgentCall, CodeCall, Config, InputWanted, Mode, RouteCall, Run, Step};

/// What happened, as the executor tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Begin the run.
    Start,
    /// The running segment's code printed a line (in clear: it is masked here).
    Logged(String),
    /// The segment's code returned `Ok(value)` or threw `Err(message)`, after
    /// `in_code` inside the segment function.
    CodeReturned {
        result: Result<Value, String>,
        in_code: Duration,
    },
    /// The router returned `Ok(value)` or threw `Err(message)`.
    RouteReturned(Result<Value, String>),
    AgentReturned(AgentReport),
    /// A person supplied the deferred input the run waited for (in clear: a
    /// secret one is masked from here on).
    InputSupplied {
        name: String,
        value: Value,
    },
    /// The executor could not do what was asked: a time limit, a cancel, a
    /// browser that crashed, a refused connection, a `file` input it could not write.
    Failed(Failure),
}

/// What the agent did with a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentReport {
    /// The outputs `complete` returned, or why the agent could not finish.
    pub result: Result<Map<String, Value>, String>,
    /// What it did, one line per action (in clear: masked here).
    pub log_lines: Vec<String>,
    /// Model tokens used: (input, output).
    pub tokens: (u64, u64),
    /// For a fallback that completed: code compiled from what the agent did,
    /// or why none could be (in clear: masked here).
    pub heal: Option<Result<String, String>>,
}

/// What the executor must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Code(CodeCall),
    Agent(AgentCall),
    Route(RouteCall),
    /// Wait for a person to supply a deferred input, then tell `InputSupplied`.
    AwaitInput(InputWanted),
    /// The run completed with these workflow outputs.
    Finish(Masked<Map<String, Value>>),
    /// The run failed.
    Fail(Masked<Failure>),
}

/// The answer to one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// What the run reports because of the event, in order.
    pub records: Vec<Record>,
    /// What to do next; `None` while the current command is still running
    /// (after `Logged`).
    pub command: Option<Command>,
}

/// Everything a finished run reported.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub segments: Vec<SegmentRecord>,
    pub heals: Vec<Heal>,
    /// Time spent inside segment functions as the browser measured it.
    pub in_code: Duration,
}

/// The segment execution under way: records are built from it when it ends.
struct Open {
    name: String,
    sequence: u32,
    mode: Mode,
    started: Instant,
    logs: Vec<Masked>,
    budget: LogBudget,
    fallback_from: Option<Failure>,
    tokens: Option<(u64, u64)>,
}

pub struct Execution {
    run: Run,
    limits: Limits,
    outputs: OutputBudget,
    open: Option<Open>,
    report: Report,
}

impl Execution {
    /// `inputs` must come from `inputs::prepare`.
    pub fn new(workflow: Arc<Workflow>, inputs: Map<String, Value>, config: Config) -> Execution {
        let limits = config.limits;
        Execution {
            run: Run::new(workflow, inputs, config),
            limits,
            outputs: OutputBudget::new(limits.output_bytes),
            open: None,
            report: Report::default(),
        }
    }

    pub fn workflow(&self) -> &Workflow {
        self.run.workflow()
    }

    /// Masks every secret value the run has seen so far (the agent masks what it sends the model with it).
    pub fn redactor(&self) -> &Redactor {
        self.run.redactor()
    }

    /// Names inputs a person supplies while the run waits, when a segment first reads them.
    pub fn defer(&mut self, names: &[String]) {
        self.run.defer(names);
    }

    /// Adds secrets the run did not declare, such as the cookies of a session
    /// it started with: they are masked like `secret` inputs from now on.
    pub fn add_secrets<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        self.run.add_secrets(values);
    }

    /// Takes in what happened at `now` and answers with the records it makes
    /// and what to do next.
    pub fn apply(&mut self, event: Event, now: Instant) -> Reply {
        let mut records = Vec::new();
        let step = match event {
            Event::Start => self.run.start(),
            Event::Logged(line) => {
                self.log(line, &mut records);
                return Reply { records, command: None };
            }
            Event::CodeReturned { result, in_code } => {
                self.report.in_code += in_code;
                match result.as_ref().ok().and_then(|value| self.admit_outputs(value).err()) {
                    Some(too_large) => self.failed(too_large, now, &mut records),
                    None => {
                        let step = self.run.code_returned(result);
                        self.returned(step, now, &mut records)
                    }
                }
            }
            Event::RouteReturned(result) => self.run.route_returned(result),
            Event::InputSupplied { name, value } => self.run.input_supplied(&name, value),
            Event::AgentReturned(report) => self.agent_returned(report, now, &mut records),
            Event::Failed(failure) => self.failed(failure, now, &mut records),
        };
        let command = self.next(step, now, &mut records);
        Reply { records, command: Some(command) }
    }

    /// Everything the run reported; call once it finished or failed.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// Counts what the open execution returned against the run's output limit.
    fn admit_outputs(&mut self, returned: &Value) -> Result<(), Failure> {
        let name = self.open.as_ref().map_or("", |o| o.name.as_str());
        self.outputs.admit(name, returned)
    }

    /// A line of the running segment's code, kept and streamed.
    fn log(&mut self, line: String, records: &mut Vec<Record>) {
        if let Some((segment, text)) = self.keep_log(&line) {
            records.push(Record::Log { segment, text });
        }
    }

    /// Masks a line of the open execution and keeps it within its log limits;
    /// returns the segment's name and the text kept, if any was.
    fn keep_log(&mut self, line: &str) -> Option<(String, Masked)> {
        let open = self.open.as_mut()?;
        let text = open.budget.admit(self.run.redactor().mask(line))?;
        open.logs.push(text.clone());
        Some((open.name.clone(), text))
    }

    /// The code or agent of the open execution returned; it ends unless the
    /// agent takes over from failed code.
    fn returned(&mut self, step: Step, now: Instant, records: &mut Vec<Record>) -> Step {
        match &step.action {
            Action::Agent(call) if call.fallback_from.is_some() => {
                // Not finished: the agent continues this same execution.
                if let Some(open) = &mut self.open {
                    open.fallback_from.clone_from(&call.fallback_from);
                }
            }
            Action::Failed(f) if f.code.is_execution_result() => self.close(Some(f.clone()), now, records),
            _ => self.close(None, now, records),
        }
        step
    }

    fn agent_returned(&mut self, report: AgentReport, now: Instant, records: &mut Vec<Record>) -> Step {
        let AgentReport { result, log_lines, tokens, heal } = report;
        // The agent's lines go into its record only: they are printed with it.
        for line in &log_lines {
            self.keep_log(line);
        }
        if let Some(open) = &mut self.open {
            open.tokens = Some(tokens);
        }
        if let (Some(code), Some(open)) = (heal, &self.open) {
            let redactor = self.run.redactor();
            let segment = self.run.current_index().expect("the agent ran a segment");
            let code = code.map(|c| redactor.mask(&c)).map_err(|reason| redactor.mask(&reason));
            self.report.heals.push(Heal { segment, name: open.name.clone(), code });
        }
        if let Ok(outputs) = &result
            && let Err(too_large) = self.admit_outputs(&Value::Object(outputs.clone()))
        {
            return self.failed(too_large, now, records);
        }
        let step = self.run.agent_returned(result.map(Value::Object));
        self.returned(step, now, records)
    }

    /// What the executor was doing failed: so does the open execution, and the run.
    fn failed(&mut self, failure: Failure, now: Instant, records: &mut Vec<Record>) -> Step {
        self.close(Some(failure.clone()), now, records);
        self.run.fail(failure)
    }

    /// Ends the open execution, if any, with its record.
    fn close(&mut self, error: Option<Failure>, now: Instant, records: &mut Vec<Record>) {
        let Some(mut open) = self.open.take() else { return };
        let redactor = self.run.redactor();
        if let Some(marker) = open.budget.marker() {
            open.logs.push(redactor.mask(&marker));
            records.push(Record::Log { segment: open.name.clone(), text: redactor.mask(&marker) });
        }
        let error = error.map(|f| redactor.mask_failure(&f));
        let record = SegmentRecord {
            name: open.name,
            sequence: open.sequence,
            mode: open.mode,
            status: if error.is_some() { SegmentStatus::Failed } else { SegmentStatus::Completed },
            duration: now.saturating_duration_since(open.started),
            error,
            logs: open.logs,
            fallback_from: open.fallback_from.map(|f| redactor.mask_failure(&f)),
            tokens: open.tokens,
        };
        records.push(Record::SegmentFinished(record.clone()));
        self.report.segments.push(record);
    }

    /// Reports the step's warnings and opens the execution it starts.
    fn next(&mut self, step: Step, now: Instant, records: &mut Vec<Record>) -> Command {
        let redactor = self.run.redactor();
        records.extend(step.warnings.iter().map(|w| Record::Warning(redactor.mask(w))));
        let sequence = self.run.executions();
        match step.action {
            Action::Code(call) => {
                self.open_execution(&call.name, sequence, Mode::Code, now, records);
                Command::Code(call)
            }
            Action::Agent(call) => {
                match &mut self.open {
                    // A fallback: the same execution, now the agent's.
                    Some(open) => {
                        open.mode = call.mode();
                        let started = Record::SegmentStarted { name: open.name.clone(), sequence, mode: open.mode };
                        records.push(started);
                    }
                    None => self.open_execution(&call.name, sequence, call.mode(), now, records),
                }
                Command::Agent(call)
            }
            Action::Route(call) => Command::Route(call),
            Action::AwaitInput(wanted) => Command::AwaitInput(wanted),
            Action::Finished(outputs) => Command::Finish(redactor.mask_map(&outputs)),
            Action::Failed(failure) => Command::Fail(redactor.mask_failure(&failure)),
        }
    }

    fn open_execution(&mut self, name: &str, sequence: u32, mode: Mode, now: Instant, records: &mut Vec<Record>) {
        records.push(Record::SegmentStarted { name: name.to_owned(), sequence, mode });
        self.open = Some(Open {
            name: name.to_owned(),
            sequence,
            mode,
            started: now,
            logs: Vec::new(),
            budget: LogBudget::new(&self.limits),
            fallback_from: None,
            tokens: None,
        });
    }
}

#[cfg(test)]
mod tests;
