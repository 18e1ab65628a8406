//! The AI agent: completes a segment by driving the browser with tool calls
//! chosen by a chat model, constrained to produce the segment's outputs.
//!
//! The loop: observe the page (URL, title, accessibility snapshot with
//! `[ref=eN]` markers), ask the model, perform its actions, repeat, until it
//! calls `complete` with outputs that validate, calls `fail`, or runs out of
//! actions. Secrets never reach the model: prompts and inputs show them as
//! `{{name}}`, observations are masked, and the runtime substitutes the real
//! value when the model types the placeholder.

pub mod heal;
pub mod llm;
mod prompts;
mod run;
mod tools;
mod trace;

pub use run::{Agent, Outcome, Settings, Task};
pub use trace::{ActionRecord, Trace, Turn};
