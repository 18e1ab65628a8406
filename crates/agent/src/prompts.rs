//! What the model reads. Secret inputs appear as `{{name}}`; the agent masks
//! every text built here before it becomes a `Message` (a non-secret input
//! derived from a secret, `'got ' + token`, is masked there).

use engine::Redactor;
use runner::Observation;
use serde_json::{Map, Value};
use workflow::{ParamType, Segment};

pub fn system(segment: &Segment) -> String {
    let mut outputs = String::new();
    for p in &segment.output_parameters {
        let required = if p.required { "required" } else { "optional" };
        let description = p.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        outputs.push_str(&format!("\n- {} ({}, {required}){description}", p.name, p.ty.as_str()));
    }
    if outputs.is_empty() {
        outputs.push_str("\n(none: call complete with {})");
    }
    format!(
        "You operate a web browser to complete one step of an automated workflow.\n\
         Act only through the tools. Refer to elements by their ref from the latest accessibility snapshot; \
         refs change after the page changes, so use the newest snapshot. Secret values are never shown to you: \
         type a secret by passing its {{{{name}}}} placeholder, and it is replaced with the real value. \
         When the step is done, call complete with its outputs; values must come from the page, never be invented. \
         If the step cannot be done, call fail with the reason.\n\nOutputs of this step:{outputs}"
    )
}

pub fn task(prompt: &str, segment: &Segment, parameters: &Map<String, Value>) -> String {
    let mut inputs = String::new();
    for p in &segment.input_parameters {
        let value = match (p.ty, parameters.get(&p.name)) {
            (_, None) => "(not given)".to_owned(),
            (ParamType::Secret, Some(_)) => format!("secret: type {{{{{}}}}} to use it", p.name),
            (ParamType::File, Some(_)) => format!("a file: use upload_file with parameter \"{}\"", p.name),
            (_, Some(Value::String(s))) => s.clone(),
            (_, Some(v)) => v.to_string(),
        };
        inputs.push_str(&format!("\n- {}: {value}", p.name));
    }
    let inputs = if inputs.is_empty() { String::new() } else { format!("\n\nInputs:{inputs}") };
    format!("Step: {prompt}{inputs}")
}

/// The page for the model, with the snapshot cut at `max_chars`. The snapshot is
/// masked before the cut, so a secret the cut splits is not left half visible.
pub fn observation(o: &Observation, redactor: &Redactor, max_chars: usize) -> String {
    let snapshot = redactor.mask(&o.snapshot).into_inner();
    let snapshot = if snapshot.chars().count() > max_chars {
        format!("{}\n… (snapshot cut at {max_chars} characters)", snapshot.chars().take(max_chars).collect::<String>())
    } else {
        snapshot
    };
    format!("Current page: {}\nURL: {}\nAccessibility snapshot:\n{snapshot}", o.title, o.url)
}
