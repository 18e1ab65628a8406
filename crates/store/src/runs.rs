use serde_json::Value;
use sqlx::any::AnyRow;

use crate::db::{Sql, int, opt_int, opt_json, opt_text, page_of, paginate, query, text};
use crate::events::{self, RunEventKind, Told};
use crate::ids::new_id;
use crate::{
    Error, Page, PageRequest, Result, Run, RunError, RunFilter, RunStatus, SegmentExecution, Store, Tenant, TimeLimits,
};

#[derive(Debug, Clone)]
pub struct NewRun {
    pub workflow_id: String,
    /// `None` runs the draft.
    pub workflow_version: Option<i64>,
    /// The exact document this run executes: later edits never change it.
    pub definition: String,
    /// Inputs with secrets masked, for reading back.
    pub inputs: Value,
    /// All inputs in clear, sealed with `seal::Sealer`.
    pub sealed_inputs: String,
    pub test: bool,
    /// Attempts allowed when a worker is lost mid-run (1: never re-run).
    pub max_attempts: i64,
    pub limits: TimeLimits,
    /// What the run should leave behind, as its worker reads it (JSON); none: the defaults.
    pub artifacts: Option<String>,
    /// The identity the run is signed in as: its worker starts from the identity's
    /// saved session, logging in first when there is none.
    pub identity_id: Option<String>,
    /// Inputs a person supplies while the run waits (`AWAITING_USER_INPUT`).
    pub deferred_inputs: Vec<String>,
    /// How long the run waits for each of them; `None`: the worker's default.
    pub input_timeout_ms: Option<i64>,
}

/// A place in a run's segment executions: everything after it is listed next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentCursor {
    pub attempt: i64,
    pub sequence: i64,
}

impl SegmentCursor {
    /// The place just after `s`.
    pub fn after(s: &SegmentExecution) -> SegmentCursor {
        SegmentCursor { attempt: s.attempt, sequence: s.sequence }
    }
}

/// A run's columns, with `$outputs` standing for the outputs column or a summary of it.
macro_rules! run_columns {
    ($outputs:literal) => {
        concat!(
            "seq, id, org_id, workflow_id, workflow_version, status, current_segment, inputs, ",
            $outputs,
            ", error, test, attempts, max_attempts, cancel_requested, healed_draft, ai_fallback, input_tokens, \
             output_tokens, created_at, started_at, completed_at, segment_timeout_ms, run_timeout_ms, identity_id, \
             login_run_id, deferred_inputs, input_timeout_ms, awaiting_input, job_run_id"
        )
    };
}

const RUN_COLUMNS: &str = run_columns!("outputs");
/// Lists never read the outputs (a run's outputs may be megabytes): only their size,
/// which `octet_length` reads without loading the value on both backends.
const RUN_SUMMARY_COLUMNS: &str = run_columns!("CAST(octet_length(outputs) AS BIGINT) AS outputs_size");

/// A run as lists show it. `run.outputs` is always `None`: the column is not read.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run: Run,
    /// Bytes of the stored outputs (JSON text); `None` while the run has none.
    pub outputs_size: Option<i64>,
}

impl Tenant<'_> {
    /// Queues a run of one of this organization's workflows (`NotFound` for
    /// another's). It is durable when this returns.
    pub async fn create_run(&self, new: NewRun) -> Result<Run> {
        // A workflow never changes organization, so checking first cannot race.
        self.get_workflow(&new.workflow_id).await?;
        let id = new_id("run");
        let now = self.store.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        insert_run(&mut tx, self.org_id, &id, new, None, now).await?;
        let payload = serde_json::json!({"status": RunStatus::Pending.as_str()});
        self.store.commit_telling(tx, &[Told { run_id: &id, kind: RunEventKind::Created, payload }], now).await?;
        self.get_run(&id).await
    }

    /// A person's answer to what the run waits for (`value_sealed`: the value, sealed
    /// by the caller). `Conflict` when the run is not waiting for `name`, or already
    /// has its answer.
    pub async fn supply_input(&self, run_id: &str, name: &str, value_sealed: &str) -> Result<Run> {
        let run = self.get_run(run_id).await?;
        let not_waiting = || Error::Conflict(format!("the run is not waiting for input '{name}'"));
        let Some(awaiting) = run.awaiting_input.as_ref().filter(|a| a["name"] == name) else {
            return Err(not_waiting());
        };
        let supplied = query(
            "UPDATE runs SET supplied_input = $1 WHERE id = $2 AND org_id = $3 AND status = $4 \
             AND awaiting_input = $5 AND supplied_input IS NULL",
            vec![
                value_sealed.into(),
                run_id.into(),
                self.org_id.into(),
                RunStatus::InProgress.as_str().into(),
                awaiting.to_string().into(),
            ],
        )
        .execute(&self.store.pool)
        .await?;
        if supplied.rows_affected() == 0 {
            return Err(not_waiting());
        }
        self.get_run(run_id).await
    }

    pub async fn get_run(&self, id: &str) -> Result<Run> {
        let mut sql = Sql::new(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        let row = sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?;
        run(&row)
    }

    pub async fn list_runs(&self, filter: &RunFilter, page: &PageRequest) -> Result<Page<RunSummary>> {
        let mut sql = Sql::new(&format!("SELECT {RUN_SUMMARY_COLUMNS} FROM runs WHERE org_id = "));
        sql.bind(self.org_id);
        if let Some(w) = &filter.workflow_id {
            sql.push(" AND workflow_id = ").bind(w);
        }
        match filter.status {
            // Both are stored IN_PROGRESS; the waiting ones have what they wait for.
            Some(RunStatus::AwaitingUserInput) => {
                sql.push(" AND status = ").bind(RunStatus::InProgress.as_str());
                sql.push(" AND awaiting_input IS NOT NULL");
            }
            Some(RunStatus::InProgress) => {
                sql.push(" AND status = ").bind(RunStatus::InProgress.as_str());
                sql.push(" AND awaiting_input IS NULL");
            }
            Some(s) => {
                sql.push(" AND status = ").bind(s.as_str());
            }
            None => {}
        }
        if let Some(t) = filter.test {
            sql.push(" AND test = ").bind(t);
        }
        if let Some(j) = &filter.job_run_id {
            sql.push(" AND job_run_id = ").bind(j);
        }
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        page_of(rows, limit, "seq", |row| {
            Ok(RunSummary { run: run_without_outputs(row)?, outputs_size: opt_int(row, "outputs_size")? })
        })
    }

    /// Segment executions in the order they ran (attempt by attempt), after `after`.
    pub async fn list_segments(&self, run_id: &str, after: SegmentCursor, limit: u32) -> Result<Vec<SegmentExecution>> {
        self.get_run(run_id).await?;
        let rows = query(
            "SELECT attempt, sequence, segment_name, mode, status, started_at, duration_ms, error, logs, fallback_error, \
             input_tokens, output_tokens FROM segment_executions \
             WHERE run_id = $1 AND (attempt > $2 OR (attempt = $2 AND sequence > $3)) ORDER BY attempt, sequence LIMIT $4",
            vec![run_id.into(), after.attempt.into(), after.sequence.into(), i64::from(limit).into()],
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(segment).collect()
    }

    /// Cancels a pending run at once; asks the worker of a running one to stop.
    pub async fn request_cancel(&self, id: &str) -> Result<Run> {
        let now = self.store.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let told = cancel_in(&mut tx, self.org_id, id, now).await?;
        let told: Vec<Told> =
            told.iter().map(|(kind, payload)| Told { run_id: id, kind: *kind, payload: payload.clone() }).collect();
        self.store.commit_telling(tx, &told, now).await?;
        self.get_run(id).await
    }
}

/// Cancels run `id` of `org_id` inside the caller's transaction: a pending one at
/// once, a running one by asking its worker to stop. The event to tell, if any.
pub(crate) async fn cancel_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    id: &str,
    now: i64,
) -> Result<Option<(RunEventKind, Value)>> {
    let error = RunError {
        segment_name: None,
        code: "CANCELLED".into(),
        message: "the run was cancelled before it started".into(),
    };
    let cancelled = query(
        "UPDATE runs SET status = $1, completed_at = $2, error = $3 WHERE id = $4 AND org_id = $5 AND status = $6",
        vec![
            RunStatus::Cancelled.as_str().into(),
            now.into(),
            crate::db::error_json(&error).into(),
            id.into(),
            org_id.into(),
            RunStatus::Pending.as_str().into(),
        ],
    )
    .execute(&mut **tx)
    .await?;
    // Asking twice changes nothing, and tells nothing new.
    let asked = query(
        "UPDATE runs SET cancel_requested = 1 WHERE id = $1 AND org_id = $2 AND status = $3 AND cancel_requested = 0",
        vec![id.into(), org_id.into(), RunStatus::InProgress.as_str().into()],
    )
    .execute(&mut **tx)
    .await?;
    Ok(if cancelled.rows_affected() == 1 {
        Some((RunEventKind::Finished, events::finished_payload(RunStatus::Cancelled, Some(&error))))
    } else if asked.rows_affected() == 1 {
        Some((RunEventKind::CancelRequested, serde_json::json!({})))
    } else {
        None
    })
}

/// Queues `new` as run `id` of `org_id` inside the caller's transaction, which
/// tells its `Created` event. `job_run_id`: the job run it is a step of.
pub(crate) async fn insert_run(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    id: &str,
    new: NewRun,
    job_run_id: Option<&str>,
    now: i64,
) -> Result<()> {
    query(
        "INSERT INTO runs (id, org_id, workflow_id, workflow_version, definition, inputs, sealed_inputs, status, test, \
         attempts, max_attempts, cancel_requested, created_at, segment_timeout_ms, run_timeout_ms, artifacts, \
         identity_id, deferred_inputs, input_timeout_ms, job_run_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, 0, $11, $12, $13, $14, $15, $16, $17, $18)",
        vec![
            id.into(),
            org_id.into(),
            new.workflow_id.into(),
            new.workflow_version.into(),
            new.definition.into(),
            new.inputs.to_string().into(),
            new.sealed_inputs.into(),
            RunStatus::Pending.as_str().into(),
            new.test.into(),
            new.max_attempts.into(),
            now.into(),
            new.limits.segment_ms.into(),
            new.limits.run_ms.into(),
            new.artifacts.into(),
            new.identity_id.into(),
            serde_json::to_string(&new.deferred_inputs).expect("names are JSON").into(),
            new.input_timeout_ms.into(),
            job_run_id.map(str::to_owned).into(),
        ],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Runs per status across all organizations, for metrics.
    pub async fn count_runs_by_status(&self) -> Result<Vec<(RunStatus, i64)>> {
        let rows =
            query("SELECT status, COUNT(*) AS n FROM runs GROUP BY status", vec![]).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let s = text(r, "status")?;
                let status = RunStatus::parse(&s).ok_or_else(|| Error::Corrupt(format!("run status '{s}'")))?;
                Ok((status, int(r, "n")?))
            })
            .collect()
    }
}

fn run(row: &AnyRow) -> Result<Run> {
    Ok(Run { outputs: opt_json(row, "outputs")?, ..run_without_outputs(row)? })
}

fn run_without_outputs(row: &AnyRow) -> Result<Run> {
    let status = text(row, "status")?;
    let awaiting_input = opt_json(row, "awaiting_input")?;
    let status = match RunStatus::parse(&status) {
        // Stored in progress (its worker holds it), shown as waiting.
        Some(RunStatus::InProgress) if awaiting_input.is_some() => RunStatus::AwaitingUserInput.as_str().to_owned(),
        _ => status,
    };
    Ok(Run {
        id: text(row, "id")?,
        org_id: text(row, "org_id")?,
        workflow_id: text(row, "workflow_id")?,
        workflow_version: opt_int(row, "workflow_version")?,
        status: RunStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("run status '{status}'")))?,
        current_segment: opt_text(row, "current_segment")?,
        inputs: opt_json(row, "inputs")?.unwrap_or(Value::Null),
        outputs: None,
        error: opt_json(row, "error")?.as_ref().map(run_error),
        test: int(row, "test")? != 0,
        attempts: int(row, "attempts")?,
        max_attempts: int(row, "max_attempts")?,
        cancel_requested: int(row, "cancel_requested")? != 0,
        healed_draft: int(row, "healed_draft")? != 0,
        ai_fallback: int(row, "ai_fallback")? != 0,
        input_tokens: int(row, "input_tokens")?,
        output_tokens: int(row, "output_tokens")?,
        created_at: int(row, "created_at")?,
        started_at: opt_int(row, "started_at")?,
        completed_at: opt_int(row, "completed_at")?,
        limits: TimeLimits { segment_ms: opt_int(row, "segment_timeout_ms")?, run_ms: opt_int(row, "run_timeout_ms")? },
        identity_id: opt_text(row, "identity_id")?,
        login_run_id: opt_text(row, "login_run_id")?,
        deferred_inputs: names(opt_json(row, "deferred_inputs")?),
        input_timeout_ms: opt_int(row, "input_timeout_ms")?,
        awaiting_input: awaiting_input.filter(|_| status == RunStatus::AwaitingUserInput.as_str()),
        job_run_id: opt_text(row, "job_run_id")?,
    })
}

fn segment(row: &AnyRow) -> Result<SegmentExecution> {
    let logs = opt_json(row, "logs")?.unwrap_or(Value::Null);
    Ok(SegmentExecution {
        attempt: int(row, "attempt")?,
        sequence: int(row, "sequence")?,
        segment_name: text(row, "segment_name")?,
        mode: text(row, "mode")?,
        status: text(row, "status")?,
        started_at: int(row, "started_at")?,
        duration_ms: int(row, "duration_ms")?,
        error: opt_json(row, "error")?.as_ref().map(run_error),
        fallback_error: opt_json(row, "fallback_error")?.as_ref().map(run_error),
        tokens: match (opt_int(row, "input_tokens")?, opt_int(row, "output_tokens")?) {
            (Some(i), Some(o)) => Some((i, o)),
            _ => None,
        },
        logs: logs
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
    })
}

pub(crate) fn run_error(v: &Value) -> RunError {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    RunError {
        segment_name: s("segmentName"),
        code: s("code").unwrap_or_default(),
        message: s("message").unwrap_or_default(),
    }
}

impl Tenant<'_> {
    /// Inserts `count` completed runs of `workflow_id` in one statement, for
    /// load tests and benchmarks (a million runs in seconds rather than hours).
    pub async fn seed_completed_runs(&self, workflow_id: &str, count: i64) -> Result<()> {
        self.get_workflow(workflow_id).await?;
        let now = self.store.clock.now_ms();
        let statement = match self.store.backend {
            crate::Backend::Sqlite => {
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO runs (id, org_id, workflow_id, workflow_version, definition, inputs, sealed_inputs, status, outputs, \
                 test, attempts, max_attempts, cancel_requested, created_at, started_at, completed_at) \
                 SELECT 'run_seed_' || $5 || '_' || i, $2, $3, 1, '{}', '{}', '', 'COMPLETED', '{}', 0, 1, 1, 0, $4, $4, $4 FROM n"
            }
            crate::Backend::Postgres => {
                "INSERT INTO runs (id, org_id, workflow_id, workflow_version, definition, inputs, sealed_inputs, status, outputs, \
                 test, attempts, max_attempts, cancel_requested, created_at, started_at, completed_at) \
                 SELECT 'run_seed_' || $5 || '_' || i, $2, $3, 1, '{}', '{}', '', 'COMPLETED', '{}', 0, 1, 1, 0, $4, $4, $4 \
                 FROM generate_series(1, $1) AS i"
            }
        };
        let batch = crate::new_id("b");
        query(statement, vec![count.into(), self.org_id.into(), workflow_id.into(), now.into(), batch.into()])
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }
}

/// A JSON array of names as stored (`None` or anything else: none).
pub(crate) fn names(value: Option<Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}
