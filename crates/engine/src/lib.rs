//! The run state machine. Pure: it is told what happened (a segment's code
//! returned, a router chose, the agent finished) and answers with the next
//! `Action`. The executor carries actions out against a browser; nothing here
//! does IO, so every rule of the reference is testable without one.

mod failure;
pub mod inputs;
mod redact;
mod run;

pub use failure::{ErrorCode, Failure};
pub use redact::{MASK, MIN_ENCODED_LEN, Masked, Redactor};
pub use run::{Action, AgentCall, CodeCall, Config, Mode, RouteCall, Run, Step};
