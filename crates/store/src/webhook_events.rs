//! The one list of events a webhook can subscribe to, and which change of a run,
//! job run or identity each one tells of. The API validates subscriptions
//! against it, the outbox writes deliveries for it, and the docs list it (a test
//! checks `docs/service.md` names every event).

use crate::{JobRunStatus, RunStatus};

/// What a webhook delivery tells of. `data` in its body is the resource named
/// by `resource()` as the API shows it when the delivery is first attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    /// A worker started an attempt of a run.
    RunStarted,
    /// A run stopped to wait for a person to supply an input.
    RunAwaitingInput,
    /// A run completed.
    RunCompleted,
    /// A run failed or timed out (`data.status` says which; `data.error` why).
    RunFailed,
    /// A run was cancelled.
    RunCancelled,
    /// Every workflow of a job run completed.
    JobRunCompleted,
    /// A job run stopped because one of its runs failed (or it could not start).
    JobRunFailed,
    /// A job run was cancelled.
    JobRunCancelled,
    /// A login saved a session for an identity.
    IdentityLoginSucceeded,
    /// A login failed: the identity keeps no session.
    IdentityLoginFailed,
}

/// What a delivery's `data` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Run,
    JobRun,
    Identity,
}

/// Subscribes to every event, present and future.
pub const ALL_EVENTS: &str = "*";

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 10] = [
        WebhookEvent::RunStarted,
        WebhookEvent::RunAwaitingInput,
        WebhookEvent::RunCompleted,
        WebhookEvent::RunFailed,
        WebhookEvent::RunCancelled,
        WebhookEvent::JobRunCompleted,
        WebhookEvent::JobRunFailed,
        WebhookEvent::JobRunCancelled,
        WebhookEvent::IdentityLoginSucceeded,
        WebhookEvent::IdentityLoginFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::RunStarted => "run.started",
            WebhookEvent::RunAwaitingInput => "run.awaiting_input",
            WebhookEvent::RunCompleted => "run.completed",
            WebhookEvent::RunFailed => "run.failed",
            WebhookEvent::RunCancelled => "run.cancelled",
            WebhookEvent::JobRunCompleted => "job_run.completed",
            WebhookEvent::JobRunFailed => "job_run.failed",
            WebhookEvent::JobRunCancelled => "job_run.cancelled",
            WebhookEvent::IdentityLoginSucceeded => "identity.login_succeeded",
            WebhookEvent::IdentityLoginFailed => "identity.login_failed",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }

    pub fn resource(self) -> Resource {
        match self {
            WebhookEvent::RunStarted
            | WebhookEvent::RunAwaitingInput
            | WebhookEvent::RunCompleted
            | WebhookEvent::RunFailed
            | WebhookEvent::RunCancelled => Resource::Run,
            WebhookEvent::JobRunCompleted | WebhookEvent::JobRunFailed | WebhookEvent::JobRunCancelled => {
                Resource::JobRun
            }
            WebhookEvent::IdentityLoginSucceeded | WebhookEvent::IdentityLoginFailed => Resource::Identity,
        }
    }

    /// The event a run's end is, by its final status.
    pub(crate) fn run_finished(status: RunStatus) -> Option<WebhookEvent> {
        match status {
            RunStatus::Completed => Some(WebhookEvent::RunCompleted),
            RunStatus::Failed | RunStatus::TimedOut => Some(WebhookEvent::RunFailed),
            RunStatus::Cancelled => Some(WebhookEvent::RunCancelled),
            RunStatus::Pending | RunStatus::InProgress | RunStatus::AwaitingUserInput => None,
        }
    }

    /// The event a job run's end is, by its final status.
    pub(crate) fn job_run_finished(status: JobRunStatus) -> Option<WebhookEvent> {
        match status {
            JobRunStatus::Completed => Some(WebhookEvent::JobRunCompleted),
            JobRunStatus::Failed => Some(WebhookEvent::JobRunFailed),
            JobRunStatus::Cancelled => Some(WebhookEvent::JobRunCancelled),
            JobRunStatus::Pending | JobRunStatus::InProgress | JobRunStatus::AwaitingUserInput => None,
        }
    }

    /// Whether a webhook subscribed to `events` hears of this one.
    pub fn subscribed(self, events: &[String]) -> bool {
        events.iter().any(|e| e == ALL_EVENTS || e == self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
        let mut names: Vec<_> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), WebhookEvent::ALL.len());
    }

    #[test]
    fn every_final_status_is_an_event() {
        for status in RunStatus::ALL {
            assert_eq!(WebhookEvent::run_finished(status).is_some(), status.is_final(), "{status:?}");
        }
        for status in JobRunStatus::ALL {
            assert_eq!(WebhookEvent::job_run_finished(status).is_some(), status.is_final(), "{status:?}");
        }
    }

    /// The service docs list every event, so a new one cannot go undocumented.
    #[test]
    fn the_docs_list_every_event() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/service.md");
        let docs = std::fs::read_to_string(docs).expect("docs/service.md");
        for event in WebhookEvent::ALL {
            assert!(docs.contains(&format!("| `{}` |", event.as_str())), "docs/service.md#webhooks lacks {event:?}");
        }
    }

    #[test]
    fn the_wildcard_subscribes_to_everything() {
        let all = vec![ALL_EVENTS.to_owned()];
        let one = vec!["run.failed".to_owned()];
        assert!(WebhookEvent::ALL.iter().all(|e| e.subscribed(&all)));
        assert!(WebhookEvent::RunFailed.subscribed(&one));
        assert!(!WebhookEvent::RunCompleted.subscribed(&one));
    }
}
