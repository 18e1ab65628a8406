//! Workflow inputs as a caller gives them, checked before any browser starts.

use serde_json::{Map, Value};
use workflow::values::{self, Mode};
use workflow::{ParamType, Workflow};

use crate::redact::Redactor;

/// A bad input, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub name: String,
    pub message: String,
}

/// Applies defaults, converts types and checks options for every declared
/// input; rejects undeclared names (usually a typo). Returns every problem.
pub fn prepare(workflow: &Workflow, given: &Map<String, Value>) -> Result<Map<String, Value>, Vec<InputError>> {
    prepare_deferring(workflow, given, &[])
}

/// `prepare`, except that the `deferred` inputs may be missing: a person supplies
/// them while the run waits (`Execution::defer`). Each must be a declared input.
pub fn prepare_deferring(
    workflow: &Workflow,
    given: &Map<String, Value>,
    deferred: &[String],
) -> Result<Map<String, Value>, Vec<InputError>> {
    let mut errors = Vec::new();
    for name in deferred {
        if !workflow.input_parameters.iter().any(|p| &p.name == name) {
            let message = format!("deferred input '{name}' is not an input of the workflow");
            errors.push(InputError { name: name.clone(), message });
        }
    }
    for name in given.keys() {
        if !workflow.input_parameters.iter().any(|p| &p.name == name) {
            let declared: Vec<&str> = workflow.input_parameters.iter().map(|p| p.name.as_str()).collect();
            let message = format!("input '{name}' is not declared by the workflow (declared: {})", list(&declared));
            errors.push(InputError { name: name.clone(), message });
        }
    }
    let mut state = Map::new();
    for param in &workflow.input_parameters {
        if deferred.contains(&param.name) && !given.contains_key(&param.name) {
            continue;
        }
        match values::check(param, given.get(&param.name), Mode::Convert) {
            Ok(Some(v)) => {
                state.insert(param.name.clone(), v);
            }
            Ok(None) => {}
            Err(e) => {
                let message = format!("input '{}' ({}) {}", param.name, param.ty.as_str(), e.reason);
                errors.push(InputError { name: param.name.clone(), message });
            }
        }
    }
    if errors.is_empty() { Ok(state) } else { Err(errors) }
}

/// A redactor knowing the workflow's secret inputs among `inputs` (prepared or
/// as given): what masks messages about a run before it starts.
pub fn redactor(workflow: &Workflow, inputs: &Map<String, Value>) -> Redactor {
    let mut redactor = Redactor::new();
    for p in workflow.input_parameters.iter().filter(|p| p.ty == ParamType::Secret) {
        if let Some(Value::String(s)) = inputs.get(&p.name) {
            redactor.add(s);
        }
    }
    redactor
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
