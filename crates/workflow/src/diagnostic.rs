//! Problems found in a document: errors make it invalid, warnings are lints.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier: errors are `E…`-free slugs such as `unknown-next`,
    /// lints are listed in `docs/lints.md`.
    pub code: &'static str,
    /// JSON location of the offending value, e.g. `segments[2].next`.
    pub location: String,
    /// One line, naming the segment or parameter at fault.
    pub message: String,
}

impl Diagnostic {
    pub fn error(code: &'static str, location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, location: location.into(), message: message.into() }
    }

    pub fn warning(code: &'static str, location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, code, location: location.into(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = if self.location.is_empty() { "(document)" } else { &self.location };
        write!(f, "{}[{}] {}: {}", self.severity.as_str(), self.code, location, self.message)
    }
}
