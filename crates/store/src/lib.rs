//! Persistence for the service: organizations and API keys, workflows with
//! versions and drafts, runs (which are also the queue) and their segment
//! executions, the feed of run events, artifacts, login identities, and jobs with
//! their job runs and schedules, and webhooks with their outbox of deliveries. SQLite by default, PostgreSQL for
//! many workers.
//!
//! Only this crate knows SQL. Both backends run the same statements through
//! sqlx's `Any` driver; the few differences (row locking, identity columns)
//! are switched on `Backend`. Times are epoch milliseconds from `Clock`, so
//! tests can move time instead of sleeping.

mod artifacts;
mod clock;
mod db;
mod events;
mod identities;
mod ids;
mod job_runs;
mod jobs;
pub mod limits;
mod model;
mod orgs;
mod outbox;
mod queue;
mod runs;
mod schedules;
pub mod seal;
mod tenant;
mod webhook_events;
mod webhooks;
mod workflows;

pub use artifacts::{Artifact, ArtifactsOf, NewArtifact};
pub use clock::Clock;
pub use db::{Backend, Store};
pub use events::{RunEvent, RunEventKind};
pub use identities::{
    DEFAULT_SESSION_TTL_MS, Identity, IdentityPatch, IdentitySecrets, LoginRecord, MAX_CREDENTIALS, NewIdentity,
    SealedCredentials, SessionOutcome, SessionStatus,
};
pub use ids::{hash_key, new_id, new_webhook_secret};
pub use job_runs::{JobRun, JobRunFilter, JobRunStatus, JobRunStep, NewJobRun, Trigger};
pub use jobs::{Job, JobPatch, JobSteps, MAX_JOB_STEPS, NewJob};
pub use model::*;
pub use outbox::{
    Attempt, Delivery, DeliveryLease, DeliveryStatus, DueDelivery, MAX_IN_FLIGHT_PER_ORG, RETRY_DELAYS_MS,
};
pub use queue::{ClaimedRun, Fairness, Finish, Lease};
pub use runs::{NewRun, RunSummary, SegmentCursor};
pub use schedules::{DueSchedule, Fired, MAX_SCHEDULES_PER_JOB, NewSchedule, Overlap, Schedule, SchedulePatch};
pub use tenant::Tenant;
pub use webhook_events::{ALL_EVENTS, Resource, WebhookEvent};
pub use webhooks::{MAX_WEBHOOKS, NewWebhook, URL_MAX_CHARS, Webhook, WebhookPatch};
pub use workflows::{NewWorkflow, WorkflowPatch};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (e.g. publishing with no draft).
    #[error("{0}")]
    Conflict(String),
    #[error("invalid cursor")]
    BadCursor,
    /// A value the store refuses to keep (see `limits`); `field` names it as the API does.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
