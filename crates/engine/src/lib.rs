//! The run state machine. Pure: an `Execution` is told what happened (a
//! segment's code returned or logged, a router chose, the agent finished, the
//! browser failed) and answers with the masked records it makes and the next
//! `Command`. The executor carries commands out against a browser; nothing
//! here does IO, so every rule of the reference, and every record a run
//! reports, is testable without one.
//!
//! `run` holds the reference's rules (which segment next, inputs, outputs,
//! routing, fallback); `execution` wraps them with what a run reports
//! (records, logs, limits, masking) behind one `apply(event)`.

mod artifact_options;
mod budget;
mod execution;
mod failure;
pub mod inputs;
mod record;
mod redact;
mod run;

pub use artifact_options::{ArtifactOptions, Screenshots, Trace};
pub use budget::{Limits, output_too_large};
pub use execution::{AgentReport, Command, Event, Execution, Reply, Report};
pub use failure::{ErrorCode, Failure};
pub use record::{Heal, Record, SegmentRecord, SegmentStatus};
pub use redact::{MASK, MIN_ENCODED_LEN, Masked, Redactor};
pub use run::{AgentCall, CodeCall, Config, InputWanted, Mode, RouteCall};
