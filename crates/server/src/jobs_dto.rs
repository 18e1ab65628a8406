//! The API's JSON shapes for jobs, job runs and schedules.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::dto::{non_null, present, time};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJob {
    pub name: String,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub source_provider: Option<String>,
    /// Workflows in the order they run: ids, or `{"workflowId", "version": N | "latest",
    /// "inputs": {…}}` with fixed inputs for that step.
    #[schema(value_type = Vec<Object>)]
    pub workflow_execution_order: Vec<Value>,
    /// Every workflow run of the job runs as this identity (a job run may name another).
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub identity_id: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub description: Option<String>,
}

/// Fields to change; `null` clears `sourceProvider`, `description` and `identityId`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateJob {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub source_provider: Option<Option<String>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Vec<Object>, required = false)]
    pub workflow_execution_order: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub identity_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub name: String,
    pub source_provider: Option<String>,
    /// `{"workflowId", "version", "inputs"}` per workflow, in order; secret fixed inputs masked.
    #[schema(value_type = Vec<Object>)]
    pub workflow_execution_order: Value,
    pub identity_id: Option<String>,
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<store::Job> for Job {
    fn from(j: store::Job) -> Job {
        Job {
            id: j.id,
            name: j.name,
            source_provider: j.source_provider,
            workflow_execution_order: j.steps,
            identity_id: j.identity_id,
            description: j.description,
            created_at: time(j.created_at),
            updated_at: time(j.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJobRun {
    /// Offered to every workflow by name: each takes the ones it declares.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: Map<String, Value>,
    #[serde(default)]
    pub test: bool,
    /// Instead of the job's identity.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub identity_id: Option<String>,
    /// Wait up to this many seconds (max 300) for the job run to end; 200 when it did.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = f64, required = false)]
    pub wait_seconds: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobRun {
    pub id: String,
    pub job_id: String,
    #[schema(value_type = crate::api_doc::JobRunStatus)]
    pub status: &'static str,
    pub test: bool,
    #[schema(value_type = crate::api_doc::Trigger)]
    pub trigger: &'static str,
    /// The schedule that started it.
    pub schedule_id: Option<String>,
    pub identity_id: Option<String>,
    /// Secret inputs masked.
    #[schema(value_type = Object)]
    pub inputs: Value,
    /// One per workflow, in order.
    pub workflow_runs: Vec<JobRunStep>,
    /// `{"code", "message", "workflowId", "runId"}` when it failed or was cancelled.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobRunStep {
    pub workflow_id: String,
    /// `null` until its turn comes.
    pub run_id: Option<String>,
    /// The run's status; `PENDING` before its turn, `SKIPPED` when it will not run.
    #[schema(value_type = crate::api_doc::JobRunStepStatus)]
    pub status: String,
}

impl From<store::JobRun> for JobRun {
    fn from(r: store::JobRun) -> JobRun {
        JobRun {
            id: r.id,
            job_id: r.job_id,
            status: r.status.as_str(),
            test: r.test,
            trigger: r.trigger.as_str(),
            schedule_id: r.schedule_id,
            identity_id: r.identity_id,
            inputs: r.inputs,
            workflow_runs: r
                .workflow_runs
                .into_iter()
                .map(|s| JobRunStep { workflow_id: s.workflow_id, run_id: s.run_id, status: s.status })
                .collect(),
            error: r.error,
            created_at: time(r.created_at),
            started_at: r.started_at.map(time),
            finished_at: r.finished_at.map(time),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSchedule {
    /// Five fields: minute, hour, day of month, month, day of week.
    pub cron: String,
    /// An IANA time zone, e.g. `Europe/Berlin`; default `UTC`.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub timezone: Option<String>,
    /// The inputs of the job runs it starts.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: Map<String, Value>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = bool, required = false)]
    pub enabled: Option<bool>,
    /// Default `skip`.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = crate::api_doc::Overlap, required = false)]
    pub overlap: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSchedule {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub cron: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Object, required = false)]
    pub inputs: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = bool, required = false)]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = crate::api_doc::Overlap, required = false)]
    pub overlap: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: String,
    pub job_id: String,
    pub cron: String,
    pub timezone: String,
    /// Secret inputs masked.
    #[schema(value_type = Object)]
    pub inputs: Value,
    pub enabled: bool,
    #[schema(value_type = crate::api_doc::Overlap)]
    pub overlap: &'static str,
    /// `null` while disabled.
    #[schema(format = DateTime)]
    pub next_run_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_run_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<store::Schedule> for Schedule {
    fn from(s: store::Schedule) -> Schedule {
        Schedule {
            id: s.id,
            job_id: s.job_id,
            cron: s.cron,
            timezone: s.timezone,
            inputs: s.inputs,
            enabled: s.enabled,
            overlap: s.overlap.as_str(),
            next_run_at: s.next_run_at.map(time),
            last_run_at: s.last_run_at.map(time),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
        }
    }
}
