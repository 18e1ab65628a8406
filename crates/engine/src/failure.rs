use std::fmt;

/// Stable codes for run failures; scripts and the API match on these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A required declared input of the segment was absent from the state.
    MissingInput,
    /// A declared input was present but of the wrong type or not an option.
    InvalidInput,
    /// The segment's code threw.
    SegmentThrew,
    /// The segment's function returned something other than an object.
    InvalidResult,
    /// A required output was missing or null.
    MissingOutput,
    /// An output had the wrong type or was not one of its options.
    InvalidOutput,
    /// The router threw or returned a name outside `next`.
    RouterFailed,
    /// The run executed more segments than allowed (a loop that never ends).
    ExecutionLimit,
    /// The segment needs the AI agent and none is configured.
    AgentRequired,
    /// The agent could not complete the segment.
    AgentFailed,
    SegmentTimeout,
    RunTimeout,
    /// The browser or its runner process failed underneath the segment.
    BrowserError,
    /// The segment's browser or code tried to reach an address the egress policy refuses.
    EgressDenied,
    /// A required workflow output was absent from the state at the end.
    MissingWorkflowOutput,
    Cancelled,
    /// A segment returned more JSON than the run's outputs may hold.
    OutputTooLarge,
    /// The run's identity could not sign in: its LOGIN run failed, or it has no
    /// LOGIN workflow or lacks a credential the workflow needs.
    LoginFailed,
    /// The run waited for a person to supply a deferred input, and none came in time.
    InputTimeout,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::MissingInput,
        ErrorCode::InvalidInput,
        ErrorCode::SegmentThrew,
        ErrorCode::InvalidResult,
        ErrorCode::MissingOutput,
        ErrorCode::InvalidOutput,
        ErrorCode::RouterFailed,
        ErrorCode::ExecutionLimit,
        ErrorCode::AgentRequired,
        ErrorCode::AgentFailed,
        ErrorCode::SegmentTimeout,
        ErrorCode::RunTimeout,
        ErrorCode::BrowserError,
        ErrorCode::EgressDenied,
        ErrorCode::MissingWorkflowOutput,
        ErrorCode::Cancelled,
        ErrorCode::OutputTooLarge,
        ErrorCode::LoginFailed,
        ErrorCode::InputTimeout,
    ];

    /// Whether the failure is about what a segment execution produced (its code
    /// threw or returned bad outputs), as opposed to entering the next segment
    /// or ending the run.
    pub fn is_execution_result(self) -> bool {
        matches!(
            self,
            ErrorCode::SegmentThrew
                | ErrorCode::InvalidResult
                | ErrorCode::MissingOutput
                | ErrorCode::InvalidOutput
                | ErrorCode::AgentFailed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingInput => "MISSING_INPUT",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::SegmentThrew => "SEGMENT_THREW",
            ErrorCode::InvalidResult => "INVALID_RESULT",
            ErrorCode::MissingOutput => "MISSING_OUTPUT",
            ErrorCode::InvalidOutput => "INVALID_OUTPUT",
            ErrorCode::RouterFailed => "ROUTER_FAILED",
            ErrorCode::ExecutionLimit => "EXECUTION_LIMIT",
            ErrorCode::AgentRequired => "AGENT_REQUIRED",
            ErrorCode::AgentFailed => "AGENT_FAILED",
            ErrorCode::SegmentTimeout => "SEGMENT_TIMEOUT",
            ErrorCode::RunTimeout => "RUN_TIMEOUT",
            ErrorCode::BrowserError => "BROWSER_ERROR",
            ErrorCode::EgressDenied => "EGRESS_DENIED",
            ErrorCode::MissingWorkflowOutput => "MISSING_WORKFLOW_OUTPUT",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::OutputTooLarge => "OUTPUT_TOO_LARGE",
            ErrorCode::LoginFailed => "LOGIN_FAILED",
            ErrorCode::InputTimeout => "INPUT_TIMEOUT",
        }
    }
}

/// Why a run failed, naming the segment at fault when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub segment: Option<String>,
    pub message: String,
}

impl Failure {
    pub fn new(code: ErrorCode, segment: Option<&str>, message: impl Into<String>) -> Failure {
        Failure { code, segment: segment.map(str::to_owned), message: message.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.segment {
            Some(s) => write!(f, "segment '{s}' failed ({}): {}", self.code.as_str(), self.message),
            None => write!(f, "run failed ({}): {}", self.code.as_str(), self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// docs/errors.md must have a row for every code.
    #[test]
    fn every_code_is_documented() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
        let docs = std::fs::read_to_string(path).expect("docs/errors.md");
        for code in ErrorCode::ALL {
            assert!(docs.contains(&format!("| `{}` |", code.as_str())), "docs/errors.md lacks {}", code.as_str());
        }
    }
}
