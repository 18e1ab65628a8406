//! The workflow document: its typed model, structural validation and lints.
//!
//! Pure: no IO, no async. `check` turns JSON text into a `Workflow` plus
//! diagnostics; `values` checks parameter values; `prompt` renders `{{name}}`
//! templates; `data_uri` decodes `file` parameters; `js` reads facts from
//! segment code without running it.

pub mod data_uri;
mod diagnostic;
pub mod js;
mod lint;
mod model;
mod parse;
pub mod prompt;
pub mod values;

pub use diagnostic::{Diagnostic, Severity};
pub use lint::LINTS;
pub use model::{Next, ParamType, Parameter, Segment, SegmentType, Workflow};

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

/// Validates JSON text; on success also runs the lints.
pub fn check(text: &str) -> Checked {
    finish(parse::parse_document(text))
}

/// Like `check`, for a document that is already parsed JSON.
pub fn check_value(value: &serde_json::Value) -> Checked {
    finish(parse::parse_value(value))
}

fn finish((workflow, mut diagnostics): (Option<Workflow>, Vec<Diagnostic>)) -> Checked {
    if let Some(w) = &workflow {
        diagnostics.extend(lint::lint(w));
    }
    Checked { workflow, diagnostics }
}
