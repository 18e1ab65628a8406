//! What a run reports as it goes, every text in it already masked: the
//! records the service stores, the CLI prints and live viewers receive.

use std::time::Duration;

use crate::failure::Failure;
use crate::redact::Masked;
use crate::run::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentStatus {
    Completed,
    Failed,
}

/// One execution of one segment. Every text in it went through the run's
/// `Redactor` (segment names are the workflow's own).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord {
    pub name: String,
    /// 1 for the first execution of the run, counting loops.
    pub sequence: u32,
    pub mode: Mode,
    pub status: SegmentStatus,
    pub duration: Duration,
    pub error: Option<Masked<Failure>>,
    pub logs: Vec<Masked>,
    /// For an AI Fallback: why the deterministic code failed.
    pub fallback_from: Option<Masked<Failure>>,
    /// Model tokens (input, output) the agent used, when it ran.
    pub tokens: Option<(u64, u64)>,
}

/// Deterministic code compiled from what the agent did when it completed a
/// segment by fallback, or why none could be. Masked like any record: it is
/// saved as a draft, and a secret the page showed beside an output must not be kept in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Heal {
    /// Index into the workflow's segments.
    pub segment: usize,
    pub name: String,
    pub code: Result<Masked, Masked>,
}

/// Something the run reports while it executes, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A segment execution began (again with `AiFallback` when the agent takes
    /// over from failed code: still the same execution and sequence).
    SegmentStarted {
        name: String,
        sequence: u32,
        mode: Mode,
    },
    /// A console line of the running segment, within the segment's log limits.
    Log {
        segment: String,
        text: Masked,
    },
    /// Worth telling the user; does not fail the run.
    Warning(Masked),
    SegmentFinished(SegmentRecord),
}
