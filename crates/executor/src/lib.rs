//! Carries out a run: opens a browser session, asks the engine what to do,
//! does it with the browser, and tells the engine what happened, until the
//! run ends.
//!
//! This crate only does IO — the browser, time limits, `file` parameters on
//! disk. What a run reports (records, logs, outputs, failures) is made and
//! masked by the engine (`engine::Execution`). Used by `segue run` and by the
//! service's workers. The browser is a trait (`runner::Browser`), so all of
//! this is tested with a fake one as well as with Chromium.

mod artifacts;
mod drive;
mod files;
mod heal;
mod one_time_codes;
mod session;
mod settings;
mod trace;

pub use artifacts::{Artifact, ArtifactKind, Artifacts, MAX_RUN_ARTIFACT_BYTES, MAX_SCREENSHOTS};
pub use engine::{ArtifactOptions, Screenshots, Trace};
pub use engine::{Heal, Record, SegmentRecord, SegmentStatus};
pub use heal::{healed_document, notes as heal_notes};
pub use one_time_codes::{CODE_INPUTS, OneTimeCodes};
pub use session::{InputSource, Observer, Outcome, RunRequest, Session, execute, execute_after_login};
pub use settings::{Limits, Settings};
pub use tokio_util::sync::CancellationToken;

#[cfg(test)]
mod tests;
