//! Job runs: one workflow run per step of a job, one after the other.
//!
//! A job run is created with every step's run prepared (`NewRun`: the workflow
//! version, inputs sealed, settings), and queues the first. It moves on in the
//! transaction that ends a run: `follow`, called by `Store::commit_telling` for
//! every change it tells, queues the next step's run when one completed, or ends
//! the job run (`FAILED` when a run failed or timed out, `CANCELLED` when one was
//! cancelled: the steps after it are skipped). So a job run survives restarts and
//! lost workers exactly as its runs do: whatever ends a run (its worker, the
//! reaper, a cancel) moves the job run on, or nothing does and nothing commits.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::any::AnyRow;

use crate::db::{Backend, Sql, int, opt_int, opt_json, opt_text, page_of, paginate, query, text};
use crate::events::RunEventKind;
use crate::ids::new_id;
use crate::runs::{NewRun, insert_run};
use crate::{Error, Page, PageRequest, Result, RunStatus, Store, Tenant, TimeLimits};

/// Where a job run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRunStatus {
    Pending,
    InProgress,
    /// Its current workflow run waits for a person's input.
    AwaitingUserInput,
    Completed,
    Failed,
    Cancelled,
}

impl JobRunStatus {
    pub const ALL: [JobRunStatus; 6] = [
        JobRunStatus::Pending,
        JobRunStatus::InProgress,
        JobRunStatus::AwaitingUserInput,
        JobRunStatus::Completed,
        JobRunStatus::Failed,
        JobRunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobRunStatus::Pending => "PENDING",
            JobRunStatus::InProgress => "IN_PROGRESS",
            JobRunStatus::AwaitingUserInput => "AWAITING_USER_INPUT",
            JobRunStatus::Completed => "COMPLETED",
            JobRunStatus::Failed => "FAILED",
            JobRunStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<JobRunStatus> {
        JobRunStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobRunStatus::Completed | JobRunStatus::Failed | JobRunStatus::Cancelled)
    }
}

/// The statuses of job runs still going, as SQL text.
const ACTIVE: &str = "('PENDING', 'IN_PROGRESS', 'AWAITING_USER_INPUT')";

/// What started a job run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Api,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Api => "api",
            Trigger::Schedule => "schedule",
        }
    }
}

/// One workflow of a job run, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRunStep {
    pub workflow_id: String,
    /// Its run, once queued.
    pub run_id: Option<String>,
    /// The run's status; `PENDING` before it is queued, `SKIPPED` when it never will be.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub id: String,
    pub job_id: String,
    pub status: JobRunStatus,
    pub test: bool,
    pub trigger: Trigger,
    pub schedule_id: Option<String>,
    pub identity_id: Option<String>,
    /// The job run's inputs, secrets masked.
    pub inputs: Value,
    /// Why it failed or was cancelled: `{"code", "message", "workflowId", "runId"}`.
    pub error: Option<Value>,
    pub workflow_runs: Vec<JobRunStep>,
    /// Moves on with every change of the job run or of its runs' statuses.
    pub revision: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug)]
pub struct NewJobRun {
    pub job_id: String,
    pub test: bool,
    pub trigger: Trigger,
    pub schedule_id: Option<String>,
    pub identity_id: Option<String>,
    /// Inputs with secrets masked, for reading back.
    pub inputs: Value,
    /// One run per workflow, in order; each step's `NewRun` is queued when the one
    /// before it completed.
    pub steps: Vec<NewRun>,
    /// Set when it cannot start (a scheduled job run whose workflow is gone): it is
    /// recorded `FAILED` with this error and runs nothing.
    pub failure: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRunFilter {
    pub job_id: Option<String>,
    pub status: Option<JobRunStatus>,
}

/// A step's `NewRun` as `job_run_steps.run_spec` keeps it. The definition is not
/// copied: published versions never change, and it is read from its version when the
/// step is queued. Fields added later read as their defaults from older rows.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct RunSpec {
    workflow_id: String,
    workflow_version: Option<i64>,
    inputs: Value,
    sealed_inputs: String,
    test: bool,
    max_attempts: i64,
    segment_ms: Option<i64>,
    run_ms: Option<i64>,
    artifacts: Option<String>,
    identity_id: Option<String>,
    deferred_inputs: Vec<String>,
    input_timeout_ms: Option<i64>,
}

impl From<NewRun> for RunSpec {
    fn from(n: NewRun) -> RunSpec {
        RunSpec {
            workflow_id: n.workflow_id,
            workflow_version: n.workflow_version,
            inputs: n.inputs,
            sealed_inputs: n.sealed_inputs,
            test: n.test,
            max_attempts: n.max_attempts,
            segment_ms: n.limits.segment_ms,
            run_ms: n.limits.run_ms,
            artifacts: n.artifacts,
            identity_id: n.identity_id,
            deferred_inputs: n.deferred_inputs,
            input_timeout_ms: n.input_timeout_ms,
        }
    }
}

impl RunSpec {
    fn into_new_run(self, definition: String) -> NewRun {
        let s = self;
        NewRun {
            workflow_id: s.workflow_id,
            workflow_version: s.workflow_version,
            definition,
            inputs: s.inputs,
            sealed_inputs: s.sealed_inputs,
            test: s.test,
            max_attempts: s.max_attempts,
            limits: TimeLimits { segment_ms: s.segment_ms, run_ms: s.run_ms },
            artifacts: s.artifacts,
            identity_id: s.identity_id,
            deferred_inputs: s.deferred_inputs,
            input_timeout_ms: s.input_timeout_ms,
        }
    }
}

/// A run a transaction queued, whose `Created` event it must tell.
pub(crate) struct Queued {
    pub run_id: String,
}

/// What `follow` changed: runs it queued, and the job run to wake readers of.
#[derive(Default)]
pub(crate) struct Followed {
    pub queued: Vec<Queued>,
    pub job_runs: Vec<String>,
}

const COLUMNS: &str = "seq, id, job_id, status, test, trigger, schedule_id, identity_id, inputs, error, revision, \
                       created_at, started_at, finished_at";

/// Inserts `new` as job run `id` inside `tx` and queues its first run (unless it
/// failed to start). Returns the queued run's id.
pub(crate) async fn insert_job_run(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    id: &str,
    new: NewJobRun,
    now: i64,
) -> Result<Option<String>> {
    if new.steps.iter().any(|s| s.workflow_version.is_none()) {
        return Err(Error::Invalid {
            field: "workflowExecutionOrder",
            message: "a job runs published versions".into(),
        });
    }
    if new.steps.is_empty() && new.failure.is_none() {
        return Err(Error::Invalid {
            field: "workflowExecutionOrder",
            message: "a job runs at least one workflow".into(),
        });
    }
    let status = if new.failure.is_some() { JobRunStatus::Failed } else { JobRunStatus::Pending };
    query(
        "INSERT INTO job_runs (id, org_id, job_id, status, test, trigger, schedule_id, identity_id, inputs, error, \
         revision, created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)",
        vec![
            id.into(),
            org_id.into(),
            new.job_id.into(),
            status.as_str().into(),
            new.test.into(),
            new.trigger.as_str().into(),
            new.schedule_id.into(),
            new.identity_id.into(),
            new.inputs.to_string().into(),
            new.failure.as_ref().map(Value::to_string).into(),
            now.into(),
            new.failure.is_some().then_some(now).into(),
        ],
    )
    .execute(&mut **tx)
    .await?;
    let mut first = None;
    for (position, step) in new.steps.into_iter().enumerate() {
        let workflow_id = step.workflow_id.clone();
        let run_id = (position == 0 && new.failure.is_none()).then(|| new_id("run"));
        if let Some(run_id) = &run_id {
            insert_run(tx, org_id, run_id, step.clone(), Some(id), now).await?;
        }
        let spec = serde_json::to_string(&RunSpec::from(step)).expect("a run spec is JSON");
        query(
            "INSERT INTO job_run_steps (job_run_id, position, workflow_id, run_spec, run_id) VALUES ($1, $2, $3, $4, $5)",
            vec![id.into(), (position as i64).into(), workflow_id.into(), spec.into(), run_id.clone().into()],
        )
        .execute(&mut **tx)
        .await?;
        first = first.or(run_id);
    }
    Ok(first)
}

/// Moves a run's job run on after `kind` happened to the run, inside the
/// transaction that made the change. Nothing for runs outside job runs.
pub(crate) async fn follow(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    run_id: &str,
    kind: RunEventKind,
    payload: &Value,
    now: i64,
) -> Result<Followed> {
    let mut followed = Followed::default();
    let moves_on = matches!(
        kind,
        RunEventKind::Started
            | RunEventKind::AwaitingInput
            | RunEventKind::InputSupplied
            | RunEventKind::Requeued
            | RunEventKind::Finished
    );
    if !moves_on {
        return Ok(followed);
    }
    let row = query("SELECT job_run_id, org_id, workflow_id FROM runs WHERE id = $1", vec![run_id.into()])
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(followed) };
    let Some(job_run_id) = opt_text(&row, "job_run_id")? else { return Ok(followed) };
    let org_id = text(&row, "org_id")?;
    let (status, error) = match kind {
        RunEventKind::Started | RunEventKind::InputSupplied | RunEventKind::Requeued => {
            (JobRunStatus::InProgress, None)
        }
        RunEventKind::AwaitingInput => (JobRunStatus::AwaitingUserInput, None),
        _ => match payload["status"].as_str().and_then(RunStatus::parse) {
            Some(RunStatus::Completed) => (JobRunStatus::InProgress, None),
            Some(RunStatus::Cancelled) => {
                (JobRunStatus::Cancelled, Some(step_error(&payload["error"], &row, run_id, "was cancelled")?))
            }
            _ => (JobRunStatus::Failed, Some(step_error(&payload["error"], &row, run_id, "failed")?)),
        },
    };
    let next = if kind == RunEventKind::Finished && status == JobRunStatus::InProgress {
        let row = query(
            "SELECT position, run_spec FROM job_run_steps WHERE job_run_id = $1 AND run_id IS NULL \
             ORDER BY position LIMIT 1",
            vec![job_run_id.as_str().into()],
        )
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| Ok::<_, Error>((int(&r, "position")?, text(&r, "run_spec")?))).transpose()?
    } else {
        None
    };
    // The last step completed: the job run did.
    let status = if kind == RunEventKind::Finished && status == JobRunStatus::InProgress && next.is_none() {
        JobRunStatus::Completed
    } else {
        status
    };
    // Conditional: a job run that already ended (cancelled meanwhile) stays as it is.
    let changed = query(
        &format!(
            "UPDATE job_runs SET status = $1, error = COALESCE($2, error), revision = revision + 1, \
             started_at = COALESCE(started_at, $3), finished_at = $4 WHERE id = $5 AND status IN {ACTIVE}"
        ),
        vec![
            status.as_str().into(),
            error.map(|e| e.to_string()).into(),
            now.into(),
            status.is_final().then_some(now).into(),
            job_run_id.as_str().into(),
        ],
    )
    .execute(&mut **tx)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(followed);
    }
    if let Some((position, spec)) = next {
        let spec: RunSpec =
            serde_json::from_str(&spec).map_err(|e| Error::Corrupt(format!("job run {job_run_id} step: {e}")))?;
        let version = query(
            "SELECT definition FROM workflow_versions WHERE workflow_id = $1 AND version = $2",
            vec![spec.workflow_id.as_str().into(), spec.workflow_version.into()],
        )
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("job run {job_run_id}: the version of step {position} is gone")))?;
        let next_run = new_id("run");
        let new = spec.into_new_run(text(&version, "definition")?);
        insert_run(tx, &org_id, &next_run, new, Some(&job_run_id), now).await?;
        query(
            "UPDATE job_run_steps SET run_id = $1 WHERE job_run_id = $2 AND position = $3",
            vec![next_run.as_str().into(), job_run_id.as_str().into(), position.into()],
        )
        .execute(&mut **tx)
        .await?;
        followed.queued.push(Queued { run_id: next_run });
    }
    followed.job_runs.push(job_run_id);
    Ok(followed)
}

/// A job run's error for its run `run_id` that ended without completing.
fn step_error(run_error: &Value, run: &AnyRow, run_id: &str, what: &str) -> Result<Value> {
    let workflow_id = text(run, "workflow_id")?;
    let code = run_error["code"].as_str().unwrap_or(if what == "failed" { "FAILED" } else { "CANCELLED" });
    // The run's message was masked by its worker before it was stored.
    let reason = run_error["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
    Ok(json!({
        "code": code,
        "message": format!("workflow {workflow_id} (run {run_id}) {what}{reason}; the workflows after it were skipped"),
        "workflowId": workflow_id,
        "runId": run_id,
    }))
}

impl Store {
    /// Tells readers of `job_run_id`'s events that it changed at `at`, inside `tx`
    /// (PostgreSQL delivers the notification at commit, to every process), and
    /// webhooks when the change ended it.
    pub(crate) async fn notify_job_run(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: &str,
        at: i64,
    ) -> Result<()> {
        crate::outbox::enqueue_for_job_run(tx, id, at).await?;
        if self.backend == Backend::Postgres {
            query("SELECT pg_notify($1, $2)", vec![crate::events::CHANNEL.into(), id.into()])
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

impl Tenant<'_> {
    /// Creates a job run of one of this organization's jobs and queues its first run.
    pub async fn create_job_run(&self, new: NewJobRun) -> Result<JobRun> {
        // Everything it names must be this organization's; none of it changes owner.
        self.get_job(&new.job_id).await?;
        for step in &new.steps {
            self.get_workflow(&step.workflow_id).await?;
        }
        if let Some(identity) = &new.identity_id {
            self.get_identity(identity).await?;
        }
        let id = new_id("jrn");
        let now = self.store.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let first = insert_job_run(&mut tx, self.org_id, &id, new, now).await?;
        self.store.commit_creating_job_run(tx, &id, first.as_deref(), now).await?;
        self.get_job_run(&id).await
    }

    pub async fn get_job_run(&self, id: &str) -> Result<JobRun> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM job_runs WHERE id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        let row = sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?;
        let mut runs = self.store.job_runs_from(vec![row]).await?;
        Ok(runs.pop().expect("one row, one job run"))
    }

    /// Job runs, newest first.
    pub async fn list_job_runs(&self, filter: &JobRunFilter, page: &PageRequest) -> Result<Page<JobRun>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM job_runs WHERE org_id = "));
        sql.bind(self.org_id);
        if let Some(job) = &filter.job_id {
            sql.push(" AND job_id = ").bind(job);
        }
        if let Some(status) = filter.status {
            sql.push(" AND status = ").bind(status.as_str());
        }
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        let page = page_of(rows, limit, "seq", |row| Ok(row.clone()))?;
        let items = self.store.job_runs_from(page.items).await?;
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// Cancels a job run: the steps not yet queued are skipped, and its current run
    /// is cancelled (at once when pending, by its worker when running). A job run
    /// that already ended is returned as it is.
    pub async fn cancel_job_run(&self, id: &str) -> Result<JobRun> {
        let now = self.store.clock.now_ms();
        let error = json!({"code": "CANCELLED", "message": "the job run was cancelled; the workflows after the current one were skipped"});
        // Locks in the order every run change takes them, the run's row before its job
        // run's (`follow`), so a cancel never deadlocks a worker finishing or claiming:
        // the current run first, then, if it is still the current one, the job run.
        let mut attempts = 0;
        let (mut tx, current) = loop {
            let mut tx = self.store.begin_write().await?;
            let current = current_run(&mut tx, id).await?;
            if let Some(run_id) = &current {
                query("UPDATE runs SET attempts = attempts WHERE id = $1", vec![run_id.as_str().into()])
                    .execute(&mut *tx)
                    .await?;
            }
            if current_run(&mut tx, id).await? == current {
                break (tx, current);
            }
            // The job run moved on meanwhile: take its new current run.
            attempts += 1;
            if attempts > 10 {
                return Err(Error::Conflict("the job run is changing too fast to cancel; try again".into()));
            }
        };
        let changed = query(
            &format!(
                "UPDATE job_runs SET status = $1, error = $2, finished_at = $3, revision = revision + 1 \
                 WHERE id = $4 AND org_id = $5 AND status IN {ACTIVE}"
            ),
            vec![
                JobRunStatus::Cancelled.as_str().into(),
                error.to_string().into(),
                now.into(),
                id.into(),
                self.org_id.into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            drop(tx);
            return self.get_job_run(id).await;
        }
        let told = match &current {
            Some(run_id) => crate::runs::cancel_in(&mut tx, self.org_id, run_id, now).await?,
            None => None,
        };
        self.store.notify_job_run(&mut tx, id, now).await?;
        let told: Vec<crate::events::Told> = match (&current, told) {
            (Some(run_id), Some((kind, payload))) => vec![crate::events::Told { run_id, kind, payload }],
            _ => Vec::new(),
        };
        self.store.commit_telling(tx, &told, now).await?;
        self.store.wakeups.wake(id);
        self.get_job_run(id).await
    }
}

impl Store {
    /// Commits `tx`, which inserted job run `id` and queued `first`, telling the
    /// run's creation.
    pub(crate) async fn commit_creating_job_run(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        id: &str,
        first: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.notify_job_run(&mut tx, id, now).await?;
        let payload = json!({"status": RunStatus::Pending.as_str()});
        let told: Vec<crate::events::Told> = first
            .map(|run_id| crate::events::Told { run_id, kind: RunEventKind::Created, payload })
            .into_iter()
            .collect();
        self.commit_telling(tx, &told, now).await?;
        self.wakeups.wake(id);
        Ok(())
    }

    /// Job runs of `rows` (read with `COLUMNS`), with their steps, in the same order.
    async fn job_runs_from(&self, rows: Vec<AnyRow>) -> Result<Vec<JobRun>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT s.job_run_id, s.position, s.workflow_id, s.run_id, r.status, r.awaiting_input \
             FROM job_run_steps s LEFT JOIN runs r ON r.id = s.run_id WHERE s.job_run_id IN (",
        );
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(text(row, "id")?);
        }
        sql.push(") ORDER BY s.job_run_id, s.position");
        let steps = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let id = text(row, "id")?;
                let status_text = text(row, "status")?;
                let status = JobRunStatus::parse(&status_text)
                    .ok_or_else(|| Error::Corrupt(format!("job run status '{status_text}'")))?;
                let workflow_runs = steps
                    .iter()
                    .filter(|s| text(s, "job_run_id").is_ok_and(|j| j == id))
                    .map(|s| step(s, status))
                    .collect::<Result<_>>()?;
                let trigger = match text(row, "trigger")?.as_str() {
                    "schedule" => Trigger::Schedule,
                    _ => Trigger::Api,
                };
                Ok(JobRun {
                    id,
                    job_id: text(row, "job_id")?,
                    status,
                    test: int(row, "test")? != 0,
                    trigger,
                    schedule_id: opt_text(row, "schedule_id")?,
                    identity_id: opt_text(row, "identity_id")?,
                    inputs: opt_json(row, "inputs")?.unwrap_or(Value::Null),
                    error: opt_json(row, "error")?,
                    workflow_runs,
                    revision: int(row, "revision")?,
                    created_at: int(row, "created_at")?,
                    started_at: opt_int(row, "started_at")?,
                    finished_at: opt_int(row, "finished_at")?,
                })
            })
            .collect()
    }
}

/// The run of the job run's latest queued step.
async fn current_run(tx: &mut sqlx::Transaction<'static, sqlx::Any>, job_run_id: &str) -> Result<Option<String>> {
    let row = query(
        "SELECT run_id FROM job_run_steps WHERE job_run_id = $1 AND run_id IS NOT NULL ORDER BY position DESC LIMIT 1",
        vec![job_run_id.into()],
    )
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| text(&r, "run_id")).transpose()
}

fn step(row: &AnyRow, job_run: JobRunStatus) -> Result<JobRunStep> {
    let run_id = opt_text(row, "run_id")?;
    let status = match (&run_id, opt_text(row, "status")?) {
        (Some(_), Some(s)) if s == RunStatus::InProgress.as_str() && opt_text(row, "awaiting_input")?.is_some() => {
            RunStatus::AwaitingUserInput.as_str().to_owned()
        }
        (Some(_), Some(s)) => s,
        _ if job_run.is_final() => "SKIPPED".to_owned(),
        _ => RunStatus::Pending.as_str().to_owned(),
    };
    Ok(JobRunStep { workflow_id: text(row, "workflow_id")?, run_id, status })
}
