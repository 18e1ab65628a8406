//! Workflow inputs as a caller gives them, checked before any browser starts.

use serde_json::{Map, Value};
use workflow::Workflow;
use workflow::values::{self, Mode};

/// A bad input, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub name: String,
    pub message: String,
}

/// Applies defaults, converts types and checks options for every declared
/// input; rejects undeclared names (usually a typo). Returns every problem.
pub fn prepare(workflow: &Workflow, given: &Map<String, Value>) -> Result<Map<String, Value>, Vec<InputError>> {
    let mut errors = Vec::new();
    for name in given.keys() {
        if !workflow.input_parameters.iter().any(|p| &p.name == name) {
            let declared: Vec<&str> = workflow.input_parameters.iter().map(|p| p.name.as_str()).collect();
            let message = format!("input '{name}' is not declared by the workflow (declared: {})", list(&declared));
            errors.push(InputError { name: name.clone(), message });
        }
    }
    let mut state = Map::new();
    for param in &workflow.input_parameters {
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

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
