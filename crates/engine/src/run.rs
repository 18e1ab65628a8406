//! One workflow run: the state, the segment being executed and what to do next.

use std::sync::Arc;

use serde_json::{Map, Value};
use workflow::values::{self, Mode as ValueMode, ValueErrorKind};
use workflow::{Next, ParamType, Parameter, Segment, SegmentType, Workflow, prompt};

use crate::budget::Limits;
use crate::failure::{ErrorCode, Failure};
use crate::redact::Redactor;

#[derive(Debug, Clone)]
pub struct Config {
    /// Segment executions allowed in one run; stops loops that never end.
    pub max_segment_executions: u32,
    /// Whether an agent can run segments. Without one, agent segments and
    /// fallbacks fail with a clear error instead.
    pub ai_available: bool,
    /// How much the run may produce.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Config {
        Config { max_segment_executions: 1000, ai_available: false, limits: Limits::default() }
    }
}

/// How a segment execution ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Code,
    Agent,
    /// The code failed and the agent completed the segment instead.
    AiFallback,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Code => "code",
            Mode::Agent => "agent",
            Mode::AiFallback => "AI Fallback",
        }
    }
}

/// What the executor must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Code(CodeCall),
    Agent(AgentCall),
    Route(RouteCall),
    /// A segment about to run reads a deferred input nobody supplied yet: a
    /// person must give it (`input_supplied`).
    AwaitInput(InputWanted),
    /// The run completed with these workflow outputs.
    Finished(Map<String, Value>),
    Failed(Failure),
}

/// A deferred input a segment needs before it can run.
#[derive(Debug, Clone, PartialEq)]
pub struct InputWanted {
    pub segment: String,
    pub name: String,
    pub ty: ParamType,
    pub description: Option<String>,
    /// The values allowed, when the input declares them.
    pub options: Option<Vec<String>>,
}

/// Run a segment's deterministic code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCall {
    pub segment: usize,
    pub name: String,
    pub code: String,
    /// Only the segment's declared inputs; `file` values are data URIs the
    /// executor turns into paths (named in `file_parameters`).
    pub parameters: Map<String, Value>,
    pub file_parameters: Vec<String>,
    /// Network segments receive the recorded responses as a third argument.
    pub network: bool,
}

/// Let the agent complete a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentCall {
    pub segment: usize,
    pub name: String,
    /// The segment's prompt with `{{name}}` substituted; secrets stay placeholders.
    pub prompt: String,
    pub parameters: Map<String, Value>,
    pub file_parameters: Vec<String>,
    /// Set when the deterministic code failed first.
    pub fallback_from: Option<Failure>,
}

impl AgentCall {
    pub fn mode(&self) -> Mode {
        if self.fallback_from.is_some() { Mode::AiFallback } else { Mode::Agent }
    }
}

/// Evaluate a router on its own segment's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCall {
    pub segment: usize,
    pub name: String,
    pub router: String,
    pub outputs: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    /// Things worth telling the user that do not fail the run.
    pub warnings: Vec<String>,
}

impl Step {
    fn new(action: Action) -> Step {
        Step { action, warnings: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    NotStarted,
    Code(usize),
    Agent {
        segment: usize,
        fallback: bool,
    },
    Route(usize),
    /// Waiting for a deferred input before entering the segment.
    Awaiting(usize),
    Done,
}

pub struct Run {
    workflow: Arc<Workflow>,
    config: Config,
    /// The one flat state: workflow inputs, then every segment's outputs.
    state: Map<String, Value>,
    executions: u32,
    phase: Phase,
    redactor: Redactor,
    /// Inputs a person supplies while the run waits, when a segment first reads them.
    deferred: Vec<String>,
}

impl Run {
    /// `inputs` must come from `inputs::prepare`.
    pub fn new(workflow: Arc<Workflow>, inputs: Map<String, Value>, config: Config) -> Run {
        let redactor = crate::inputs::redactor(&workflow, &inputs);
        Run { workflow, config, state: inputs, executions: 0, phase: Phase::NotStarted, redactor, deferred: Vec::new() }
    }

    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> &Map<String, Value> {
        &self.state
    }

    /// Masks every secret value this run has seen so far.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Adds secrets the workflow did not declare (the cookies of a session the run started with).
    pub fn add_secrets<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        self.redactor.add_all(values);
    }

    /// Names inputs a person will supply while the run waits (before `start`).
    pub fn defer(&mut self, names: &[String]) {
        self.deferred = names.to_vec();
    }

    /// A deferred input given: checked against its declaration, then the segment
    /// waiting for it is entered (which may wait for another).
    pub fn input_supplied(&mut self, name: &str, value: Value) -> Step {
        let Phase::Awaiting(i) = self.phase else { panic!("input_supplied while {:?}", self.phase) };
        let workflow = Arc::clone(&self.workflow);
        let segment_name = workflow.segments[i].name.clone();
        let Some(param) = declaration(&workflow, i, name) else {
            let message = format!("input '{name}' is not one the run waits for");
            return self.fail(Failure::new(ErrorCode::InvalidInput, Some(&segment_name), message));
        };
        match values::check(param, Some(&value), ValueMode::Convert) {
            Ok(Some(v)) => {
                // A one-time code a person typed is a secret whatever its declared type.
                let code = ["otp_code", "totp_code", "mfa_code"].contains(&name);
                if let (true, Value::String(s)) = (param.ty == ParamType::Secret || code, &v) {
                    self.redactor.add(s);
                }
                self.state.insert(name.to_owned(), v);
                self.enter(i)
            }
            Ok(None) | Err(_) => {
                let message =
                    format!("input '{name}' supplied while the run waited is not a valid {}", param.ty.as_str());
                self.fail(Failure::new(ErrorCode::InvalidInput, Some(&segment_name), message))
            }
        }
    }

    pub fn executions(&self) -> u32 {
        self.executions
    }

    /// The index of the segment being executed, routed or completed by the agent.
    pub(crate) fn current_index(&self) -> Option<usize> {
        match self.phase {
            Phase::Code(i) | Phase::Agent { segment: i, .. } | Phase::Route(i) | Phase::Awaiting(i) => Some(i),
            Phase::NotStarted | Phase::Done => None,
        }
    }

    pub fn start(&mut self) -> Step {
        assert_eq!(self.phase, Phase::NotStarted, "a run starts once");
        self.enter(self.workflow.start)
    }

    /// The segment's code returned `Ok(value)` or threw `Err(message)`.
    pub fn code_returned(&mut self, result: Result<Value, String>) -> Step {
        let Phase::Code(i) = self.phase else { panic!("code_returned while {:?}", self.phase) };
        // A cheap clone, so the segment can be read while `self` changes.
        let workflow = Arc::clone(&self.workflow);
        let segment = &workflow.segments[i];
        let outcome = result
            .map_err(|thrown| Failure::new(ErrorCode::SegmentThrew, Some(&segment.name), thrown))
            .and_then(|value| self.validate_outputs(i, value));
        match outcome {
            Ok((outputs, warnings)) => self.completed(i, outputs, warnings),
            Err(failure) if segment.ty.falls_back_to_ai() && self.config.ai_available => {
                self.phase = Phase::Agent { segment: i, fallback: true };
                Step::new(Action::Agent(self.agent_call(i, Some(failure))))
            }
            Err(mut failure) => {
                if segment.ty.falls_back_to_ai() {
                    failure.message.push_str(" (AI fallback is not configured)");
                }
                self.fail(failure)
            }
        }
    }

    /// The agent finished the segment with `Ok(outputs)` or gave up with `Err(reason)`.
    pub fn agent_returned(&mut self, result: Result<Value, String>) -> Step {
        let Phase::Agent { segment: i, fallback } = self.phase else { panic!("agent_returned while {:?}", self.phase) };
        let name = self.workflow.segments[i].name.clone();
        let outcome = result
            .map_err(|reason| {
                let message = if fallback { format!("AI fallback failed: {reason}") } else { reason };
                Failure::new(ErrorCode::AgentFailed, Some(&name), message)
            })
            .and_then(|value| self.validate_outputs(i, value));
        match outcome {
            Ok((outputs, warnings)) => self.completed(i, outputs, warnings),
            Err(failure) => self.fail(failure),
        }
    }

    /// The router returned `Ok(value)` or threw `Err(message)`.
    pub fn route_returned(&mut self, result: Result<Value, String>) -> Step {
        let Phase::Route(i) = self.phase else { panic!("route_returned while {:?}", self.phase) };
        // A cheap clone, so the segment can be read while `self` changes.
        let workflow = Arc::clone(&self.workflow);
        let segment = &workflow.segments[i];
        let Next::Branch { targets, .. } = &segment.next else { unreachable!("routing a segment without branches") };
        let names: Vec<&str> = targets.iter().map(|&t| self.workflow.segments[t].name.as_str()).collect();
        let chosen = match &result {
            Ok(Value::String(s)) => targets.iter().copied().find(|&t| self.workflow.segments[t].name == *s),
            _ => None,
        };
        match (chosen, result) {
            (Some(target), _) => self.enter(target),
            (None, Err(thrown)) => {
                let message = format!("router threw: {thrown}");
                self.fail(Failure::new(ErrorCode::RouterFailed, Some(&segment.name.clone()), message))
            }
            (None, Ok(v)) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                let message = format!("router returned {}; expected one of {}", short(&v), quoted.join(", "));
                self.fail(Failure::new(ErrorCode::RouterFailed, Some(&segment.name.clone()), message))
            }
        }
    }

    /// Ends the run with a failure found outside the engine (timeout, browser crash, cancel).
    pub fn fail(&mut self, failure: Failure) -> Step {
        self.phase = Phase::Done;
        Step::new(Action::Failed(failure))
    }

    fn enter(&mut self, i: usize) -> Step {
        // A cheap clone, so the segment can be read while `self` changes.
        let workflow = Arc::clone(&self.workflow);
        let segment = &workflow.segments[i];
        if self.executions >= self.config.max_segment_executions {
            let message = format!(
                "stopped before running it again: the run reached the limit of {} segment executions (a loop that never ends?)",
                self.config.max_segment_executions
            );
            return self.fail(Failure::new(ErrorCode::ExecutionLimit, Some(&segment.name.clone()), message));
        }
        let waiting = segment
            .input_parameters
            .iter()
            .find(|p| self.deferred.contains(&p.name) && !self.state.contains_key(&p.name));
        if let Some(param) = waiting {
            let param = declaration(&workflow, i, &param.name).unwrap_or(param);
            self.phase = Phase::Awaiting(i);
            return Step::new(Action::AwaitInput(InputWanted {
                segment: segment.name.clone(),
                name: param.name.clone(),
                ty: param.ty,
                description: param.description.clone(),
                options: param.options.clone(),
            }));
        }
        self.executions += 1;
        let parameters = match self.segment_inputs(segment) {
            Ok(p) => p,
            Err(failure) => return self.fail(failure),
        };
        match (&segment.deterministic, segment.ty) {
            (Some(code), ty) if ty != SegmentType::Agent => {
                self.phase = Phase::Code(i);
                Step::new(Action::Code(CodeCall {
                    segment: i,
                    name: segment.name.clone(),
                    code: code.clone(),
                    file_parameters: file_names(&segment.input_parameters),
                    parameters,
                    network: ty == SegmentType::Network,
                }))
            }
            _ if self.config.ai_available => {
                self.phase = Phase::Agent { segment: i, fallback: false };
                Step::new(Action::Agent(self.agent_call(i, None)))
            }
            _ => {
                let message = format!(
                    "{} segment '{}' needs an AI model to run; configure one with SEGUE_LLM_PROVIDER and SEGUE_LLM_MODEL",
                    segment.ty.as_str(),
                    segment.name
                );
                self.fail(Failure::new(ErrorCode::AgentRequired, Some(&segment.name.clone()), message))
            }
        }
    }

    /// Only the declared inputs, each checked against its declaration.
    fn segment_inputs(&mut self, segment: &Segment) -> Result<Map<String, Value>, Failure> {
        let mut parameters = Map::new();
        for param in &segment.input_parameters {
            match values::check(param, self.state.get(&param.name), ValueMode::Convert) {
                Ok(Some(v)) => {
                    if let (ParamType::Secret, Value::String(s)) = (param.ty, &v) {
                        self.redactor.add(s);
                    }
                    parameters.insert(param.name.clone(), v);
                }
                Ok(None) => {}
                Err(e) => {
                    let code = match e.kind {
                        ValueErrorKind::Missing => ErrorCode::MissingInput,
                        _ => ErrorCode::InvalidInput,
                    };
                    let message = format!("input '{}' {}", param.name, e.reason);
                    return Err(Failure::new(code, Some(&segment.name), message));
                }
            }
        }
        Ok(parameters)
    }

    fn agent_call(&self, i: usize, fallback_from: Option<Failure>) -> AgentCall {
        // A cheap clone, so the segment can be read while `self` changes.
        let workflow = Arc::clone(&self.workflow);
        let segment = &workflow.segments[i];
        // Inputs were checked on entry; re-reading them cannot fail now.
        let parameters: Map<String, Value> = segment
            .input_parameters
            .iter()
            .filter_map(|p| self.state.get(&p.name).map(|v| (p.name.clone(), v.clone())))
            .collect();
        let template = segment.prompt.as_deref().unwrap_or_default();
        AgentCall {
            segment: i,
            name: segment.name.clone(),
            prompt: prompt::render(template, &segment.input_parameters, &parameters),
            file_parameters: file_names(&segment.input_parameters),
            parameters,
            fallback_from,
        }
    }

    /// Checks a segment's result against its declared outputs.
    fn validate_outputs(&mut self, i: usize, value: Value) -> Result<(Map<String, Value>, Vec<String>), Failure> {
        // A cheap clone, so the segment can be read while `self` changes.
        let workflow = Arc::clone(&self.workflow);
        let segment = &workflow.segments[i];
        let fail = |code, message: String| Failure::new(code, Some(&segment.name), message);
        let Value::Object(returned) = value else {
            let message =
                format!("returned {}, but a segment must return an object (use {{}} for no outputs)", short(&value));
            return Err(fail(ErrorCode::InvalidResult, message));
        };
        let mut outputs = Map::new();
        for param in &segment.output_parameters {
            match values::check(param, returned.get(&param.name), ValueMode::Strict) {
                Ok(Some(v)) => {
                    outputs.insert(param.name.clone(), v);
                }
                Ok(None) => {}
                Err(e) if e.kind == ValueErrorKind::Missing => {
                    return Err(fail(
                        ErrorCode::MissingOutput,
                        format!("required output '{}' is missing or null", param.name),
                    ));
                }
                Err(e) => {
                    return Err(fail(ErrorCode::InvalidOutput, format!("output '{}' {}", param.name, e.reason)));
                }
            }
        }
        let warnings = returned
            .keys()
            .filter(|k| !segment.output_parameters.iter().any(|p| &p.name == *k))
            .map(|k| {
                format!("segment '{}' returned '{k}', which is not a declared output; it was dropped", segment.name)
            })
            .collect();
        for p in segment.output_parameters.iter().filter(|p| p.ty == ParamType::Secret) {
            if let Some(Value::String(s)) = outputs.get(&p.name) {
                self.redactor.add(s);
            }
        }
        Ok((outputs, warnings))
    }

    fn completed(&mut self, i: usize, outputs: Map<String, Value>, warnings: Vec<String>) -> Step {
        for (k, v) in &outputs {
            self.state.insert(k.clone(), v.clone());
        }
        // A cheap clone, so the segment can be read while `self` changes.
        let workflow = Arc::clone(&self.workflow);
        let segment = &workflow.segments[i];
        let mut step = match &segment.next {
            Next::End => self.finish(i),
            Next::One(target) => self.enter(*target),
            Next::Branch { router, .. } => {
                self.phase = Phase::Route(i);
                Step::new(Action::Route(RouteCall {
                    segment: i,
                    name: segment.name.clone(),
                    router: router.clone(),
                    outputs,
                }))
            }
        };
        step.warnings.splice(0..0, warnings);
        step
    }

    /// Reads the workflow outputs from the state.
    fn finish(&mut self, last: usize) -> Step {
        let mut outputs = Map::new();
        for param in &self.workflow.output_parameters {
            match values::check(param, self.state.get(&param.name), ValueMode::Strict) {
                Ok(Some(v)) => {
                    outputs.insert(param.name.clone(), v);
                }
                Ok(None) => {}
                Err(e) => {
                    let last = self.workflow.segments[last].name.clone();
                    let message = format!(
                        "workflow output '{}' {} when the run ended after segment '{last}'",
                        param.name, e.reason
                    );
                    return self.fail(Failure::new(ErrorCode::MissingWorkflowOutput, Some(&last), message));
                }
            }
        }
        self.phase = Phase::Done;
        Step::new(Action::Finished(outputs))
    }
}

fn file_names(params: &[Parameter]) -> Vec<String> {
    params.iter().filter(|p| p.ty == ParamType::File).map(|p| p.name.clone()).collect()
}

/// A value for an error message, never more than a line.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(80).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests;

/// How the workflow declares input `name` (its own inputs first, else segment `i`'s).
fn declaration<'w>(workflow: &'w Workflow, i: usize, name: &str) -> Option<&'w Parameter> {
    workflow
        .input_parameters
        .iter()
        .find(|p| p.name == name)
        .or_else(|| workflow.segments[i].input_parameters.iter().find(|p| p.name == name))
}
