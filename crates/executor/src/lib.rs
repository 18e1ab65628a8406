//! Carries out a run: asks the engine what to do, does it with the browser
//! runner, and tells the engine what happened, until the run ends.
//!
//! This is where time limits, `file` parameters on disk and secret masking of
//! everything reported meet. Used by `segue run` and by the service's workers.

mod execute;
mod files;
mod heal;
mod limits;

pub use execute::{Heal, Observer, Outcome, RunRequest, SegmentRecord, SegmentStatus, Settings, execute};
pub use heal::{healed_document, notes as heal_notes};
pub use limits::Limits;
pub use tokio_util::sync::CancellationToken;
