//! The workflow document: its typed model, structural validation and lints.
//!
//! Pure: no IO, no async. `check` turns JSON text into a `Workflow` plus
//! diagnostics; `values` checks parameter values; `prompt` renders `{{name}}`
//! templates; `data_uri` decodes `file` parameters; `js` reads facts from
//! segment code without running it. `limits` and `json_depth` bound what a
//! document may hold, so that checking never crashes whatever the input.
//! `schema` is the document's JSON Schema, published in `docs/`.

pub mod data_uri;
mod diagnostic;
pub mod js;
mod json_depth;
pub mod limits;
mod lint;
mod model;
mod parse;
pub mod prompt;
pub mod schema;
pub mod values;

pub use diagnostic::{Diagnostic, Severity};
pub use lint::{LINTS, with_identity as identity_lints};
pub use model::{Next, ParamType, Parameter, Presence, Segment, SegmentType, Workflow};

/// The outcome of checking a document: the workflow when it is valid, and
/// every error and lint warning found.
#[derive(Debug)]
pub struct Checked {
    pub workflow: Option<Workflow>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }
}

/// Validates JSON text; on success also runs the lints. Any text gives an
/// answer: nesting beyond `limits::MAX_JSON_DEPTH` is a diagnostic, not a crash.
pub fn check(text: &str) -> Checked {
    if let Some(too_deep) = json_depth::too_deep(text) {
        return Checked { workflow: None, diagnostics: vec![too_deep] };
    }
    match parse::json(text) {
        Ok(value) => check_value(&value),
        Err(invalid) => Checked { workflow: None, diagnostics: vec![invalid] },
    }
}

/// The `too-deeply-nested` diagnostic when the document in `text`, wrapped
/// `wrapping` levels deep (a field of a request body, say), nests arrays or objects
/// deeper than `limits::MAX_JSON_DEPTH`; found without parsing, so for any depth.
pub fn too_deeply_nested(text: &str, wrapping: usize) -> Option<Diagnostic> {
    json_depth::too_deep_within(text, wrapping)
}

/// Like `check`, for a document that is already parsed JSON.
pub fn check_value(value: &serde_json::Value) -> Checked {
    let mut diagnostics = limits::scan(value);
    let (workflow, structural) = parse::parse_value(value);
    diagnostics.extend(structural);
    // Both lists hold errors only: any of them makes the document invalid.
    let workflow = workflow.filter(|_| diagnostics.is_empty());
    if let Some(w) = &workflow {
        diagnostics.extend(lint::lint(w));
    }
    Checked { workflow, diagnostics }
}
