//! The typed workflow document. Built only by `parse`, so every value here has
//! passed structural validation: names are unique, `next` targets exist, and
//! each segment's mode matches its fields.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    /// Index into `segments` of the segment named by `startSegmentName`.
    pub start: usize,
    pub input_parameters: Vec<Parameter>,
    pub output_parameters: Vec<Parameter>,
    pub segments: Vec<Segment>,
}

impl Workflow {
    pub fn segment_index(&self, name: &str) -> Option<usize> {
        self.segments.iter().position(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub ty: ParamType,
    /// Defaults to `true` when the document omits it, as the reference says.
    pub required: bool,
    pub description: Option<String>,
    /// Applied when the value is missing, `null` or an empty string.
    pub default_value: Option<Value>,
    /// When set, the value must be one of these strings whatever `ty` says.
    pub options: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Number,
    Boolean,
    Secret,
    File,
}

impl ParamType {
    pub const ALL: [&'static str; 5] = ["string", "number", "boolean", "secret", "file"];

    pub fn parse(s: &str) -> Option<ParamType> {
        Some(match s {
            "string" => ParamType::String,
            "number" => ParamType::Number,
            "boolean" => ParamType::Boolean,
            "secret" => ParamType::Secret,
            "file" => ParamType::File,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Secret => "secret",
            ParamType::File => "file",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentType {
    /// DOM interaction; code recommended, AI fallback when it throws.
    Ui,
    /// Reads recorded responses; code gets `networkResponses`, AI fallback.
    Network,
    /// Code only; never falls back to AI.
    Logic,
    /// AI only; no code.
    Agent,
}

impl SegmentType {
    pub const ALL: [&'static str; 4] = ["ui", "network", "logic", "agent"];

    pub fn parse(s: &str) -> Option<SegmentType> {
        Some(match s {
            "ui" => SegmentType::Ui,
            "network" => SegmentType::Network,
            "logic" => SegmentType::Logic,
            "agent" => SegmentType::Agent,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SegmentType::Ui => "ui",
            SegmentType::Network => "network",
            SegmentType::Logic => "logic",
            SegmentType::Agent => "agent",
        }
    }

    /// Whether a failure of the deterministic code may be retried by the agent.
    pub fn falls_back_to_ai(self) -> bool {
        matches!(self, SegmentType::Ui | SegmentType::Network)
    }

    /// Whether a segment of this type needs, may have or must not have a
    /// non-blank `prompt`. `parse` enforces it and `schema` publishes it; a test
    /// checks the two against this table.
    pub fn prompt(self) -> Presence {
        match self {
            SegmentType::Ui | SegmentType::Network | SegmentType::Agent => Presence::Required,
            SegmentType::Logic => Presence::Forbidden,
        }
    }

    /// Whether a segment of this type needs, may have or must not have
    /// `deterministic` code (see `prompt`).
    pub fn code(self) -> Presence {
        match self {
            SegmentType::Ui => Presence::Optional,
            SegmentType::Network | SegmentType::Logic => Presence::Required,
            SegmentType::Agent => Presence::Forbidden,
        }
    }
}

/// What a segment type asks of one of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Must be present and not null (a prompt also not blank).
    Required,
    /// May be a value or null.
    Optional,
    /// Must be null or absent.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub ty: SegmentType,
    pub prompt: Option<String>,
    pub input_parameters: Vec<Parameter>,
    pub output_parameters: Vec<Parameter>,
    /// Source of an async function `(page, parameters[, networkResponses])`.
    pub deterministic: Option<String>,
    pub next: Next,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// `next: null`: the workflow ends after this segment.
    End,
    /// Indices into `Workflow::segments`.
    One(usize),
    /// A router chooses one of these by name.
    Branch { targets: Vec<usize>, router: String },
}

impl Next {
    pub fn targets(&self) -> &[usize] {
        match self {
            Next::End => &[],
            Next::One(target) => std::slice::from_ref(target),
            Next::Branch { targets, .. } => targets,
        }
    }
}
