//! The Rust side of the browser runner: a Node process (`runner-js/runner.js`)
//! running real Playwright against Chromium, spoken to over line-delimited JSON.
//!
//! Only this crate touches the browser. One `Runner` is one Node process with
//! one browser; it serves one run at a time, through the `Browser` trait that
//! the executor and the agent are written against. When a segment must be stopped
//! (timeout, cancel) the caller kills the runner: a synchronous loop in segment
//! code cannot be interrupted any other way.

mod ansi;
mod browser;
mod locate;
mod process;
mod reachable;
mod sandbox;

pub use ansi::strip as strip_ansi;
pub use browser::{Browser, Capture, Captured, Download, SessionOptions, StorageState, TraceOptions};
pub use egress::{Allowed, Denial, Policy};
pub use locate::Options;
pub use process::{Acted, Error, Log, Observation, ReplyLimits, Runner, Screenshot, SegmentResult};
pub use sandbox::{Isolation, Limits};
