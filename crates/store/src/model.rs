//! Rows as the rest of the service sees them. Not serializable on purpose:
//! the server has its own API types.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May manage API keys as well as everything a member may do.
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// Who is calling: resolved from an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: String,
    pub key_id: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowType {
    Login,
    UserDefined,
}

impl WorkflowType {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowType::Login => "LOGIN",
            WorkflowType::UserDefined => "USER_DEFINED",
        }
    }

    pub fn parse(s: &str) -> Option<WorkflowType> {
        match s {
            "LOGIN" => Some(WorkflowType::Login),
            "USER_DEFINED" => Some(WorkflowType::UserDefined),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub source_provider: Option<String>,
    pub ty: WorkflowType,
    pub description: Option<String>,
    pub latest_version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// Which version of a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    Latest,
    Draft,
    Number(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub workflow_id: String,
    /// `None` for the draft.
    pub version: Option<i64>,
    /// The workflow document, as JSON text exactly as it was saved.
    pub definition: String,
    pub created_at: i64,
    /// For a draft written by self-healing.
    pub healing: Option<Healing>,
}

/// How a healed draft came to be and whether it ran without AI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healing {
    /// One line per segment healed or left agent-assisted.
    pub notes: Vec<String>,
    pub from_run: String,
    /// `PENDING`, `PASSED` or `FAILED`.
    pub check_status: String,
    pub check_message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Pending,
    InProgress,
    /// In progress, its browser open, waiting for a person to supply an input. Stored
    /// as IN_PROGRESS (its worker holds it and heartbeats), shown as this.
    AwaitingUserInput,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Pending,
        RunStatus::InProgress,
        RunStatus::AwaitingUserInput,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::TimedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "PENDING",
            RunStatus::InProgress => "IN_PROGRESS",
            RunStatus::AwaitingUserInput => "AWAITING_USER_INPUT",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Failed => "FAILED",
            RunStatus::Cancelled => "CANCELLED",
            RunStatus::TimedOut => "TIMED_OUT",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Pending | RunStatus::InProgress | RunStatus::AwaitingUserInput)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    pub segment_name: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: String,
    pub org_id: String,
    pub workflow_id: String,
    /// `None` when the run executed the draft.
    pub workflow_version: Option<i64>,
    pub status: RunStatus,
    pub current_segment: Option<String>,
    /// Inputs with secret values masked; the clear ones are sealed separately.
    pub inputs: Value,
    pub outputs: Option<Value>,
    pub error: Option<RunError>,
    pub test: bool,
    pub attempts: i64,
    pub max_attempts: i64,
    pub cancel_requested: bool,
    /// Whether self-healing saved a draft from this run.
    pub healed_draft: bool,
    /// Whether any segment completed by AI fallback.
    pub ai_fallback: bool,
    /// Model tokens used by the run's agent segments.
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub limits: TimeLimits,
    /// The identity the run is signed in as.
    pub identity_id: Option<String>,
    /// The LOGIN run that made the identity's session for this run, when it needed one.
    pub login_run_id: Option<String>,
    /// Inputs a person supplies while the run waits.
    pub deferred_inputs: Vec<String>,
    /// How long the run waits for each; `None`: the default.
    pub input_timeout_ms: Option<i64>,
    /// What the run waits for now (`{"name", "type", "description", "expiresAt"}`).
    pub awaiting_input: Option<Value>,
    /// The job run it is a step of.
    pub job_run_id: Option<String>,
}

/// Time limits a caller chose for one run, in milliseconds. `None`: the worker's
/// own; a worker never lets a run exceed the worker's limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeLimits {
    pub segment_ms: Option<i64>,
    pub run_ms: Option<i64>,
}

/// One execution of one segment, as recorded by a worker (already masked).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentExecution {
    /// Which attempt of the run executed it (1 unless the run was re-queued).
    pub attempt: i64,
    /// 1 for the attempt's first segment execution, counting loops.
    pub sequence: i64,
    pub segment_name: String,
    pub mode: String,
    pub status: String,
    pub started_at: i64,
    pub duration_ms: i64,
    pub error: Option<RunError>,
    pub logs: Vec<String>,
    /// For an AI Fallback: the deterministic code's error.
    pub fallback_error: Option<RunError>,
    /// Model tokens (input, output), when the agent ran.
    pub tokens: Option<(i64, i64)>,
}

/// A page of a list, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;
}

impl Default for PageRequest {
    fn default() -> PageRequest {
        PageRequest { limit: PageRequest::DEFAULT_LIMIT, cursor: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowFilter {
    pub source_provider: Option<String>,
    pub ty: Option<WorkflowType>,
    /// Workflows whose name holds this text, in any case.
    pub search: Option<String>,
    /// Workflows named exactly this.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub workflow_id: Option<String>,
    pub status: Option<RunStatus>,
    pub test: Option<bool>,
    pub job_run_id: Option<String>,
}
