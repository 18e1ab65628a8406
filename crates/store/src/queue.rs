//! The runs table is the queue. A worker claims the oldest pending run with a
//! lease, extends it with heartbeats while it executes, and finishes it. A run
//! whose lease expired (its worker died) is failed with `WORKER_LOST`, or
//! re-queued when it asked for more attempts: browser workflows are not
//! idempotent, so nothing is re-executed silently.

use serde_json::Value;

use crate::db::{Backend, error_json, int, query, text};
use crate::{Result, RunError, RunStatus, SegmentExecution, Store};

/// A run a worker now owns.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRun {
    pub id: String,
    pub org_id: String,
    pub workflow_id: String,
    pub definition: String,
    pub sealed_inputs: String,
    /// 1 on the first attempt.
    pub attempts: i64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub status: RunStatus,
    pub outputs: Option<Value>,
    pub error: Option<RunError>,
}

impl Store {
    /// Claims the oldest pending run for `worker`, leased for `lease_ms`.
    /// Many workers may call this at once; each run goes to exactly one.
    pub async fn claim(&self, worker: &str, lease_ms: i64) -> Result<Option<ClaimedRun>> {
        let now = self.clock.now_ms();
        // PostgreSQL: SKIP LOCKED lets concurrent claimers pass over each other's rows.
        // SQLite: writes are serialised, so the sub-select and update are atomic as they are.
        let statement = match self.backend {
            Backend::Postgres => {
                "UPDATE runs SET status = $1, lease_owner = $2, lease_expires_at = $3, started_at = COALESCE(started_at, $4), \
                 attempts = attempts + 1 WHERE seq = (SELECT seq FROM runs WHERE status = $5 ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, org_id, workflow_id, definition, sealed_inputs, attempts"
            }
            Backend::Sqlite => {
                "UPDATE runs SET status = $1, lease_owner = $2, lease_expires_at = $3, started_at = COALESCE(started_at, $4), \
                 attempts = attempts + 1 WHERE seq = (SELECT seq FROM runs WHERE status = $5 ORDER BY seq LIMIT 1) AND status = $5 \
                 RETURNING id, org_id, workflow_id, definition, sealed_inputs, attempts"
            }
        };
        let row = query(
            statement,
            vec![
                RunStatus::InProgress.as_str().into(),
                worker.into(),
                (now + lease_ms).into(),
                now.into(),
                RunStatus::Pending.as_str().into(),
            ],
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ClaimedRun {
                id: text(&r, "id")?,
                org_id: text(&r, "org_id")?,
                workflow_id: text(&r, "workflow_id")?,
                definition: text(&r, "definition")?,
                sealed_inputs: text(&r, "sealed_inputs")?,
                attempts: int(&r, "attempts")?,
            })
        })
        .transpose()
    }

    /// Extends the lease. `None`: the worker no longer owns the run (its lease
    /// expired and the reaper took it); otherwise whether a cancel was requested.
    pub async fn heartbeat(&self, run_id: &str, worker: &str, lease_ms: i64) -> Result<Option<bool>> {
        let until = self.clock.now_ms() + lease_ms;
        let row = query(
            "UPDATE runs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = $4 RETURNING cancel_requested",
            vec![until.into(), run_id.into(), worker.into(), RunStatus::InProgress.as_str().into()],
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(int(&r, "cancel_requested")? != 0)).transpose()
    }

    pub async fn set_current_segment(&self, run_id: &str, worker: &str, segment: &str) -> Result<()> {
        query(
            "UPDATE runs SET current_segment = $1 WHERE id = $2 AND lease_owner = $3 AND status = $4",
            vec![segment.into(), run_id.into(), worker.into(), RunStatus::InProgress.as_str().into()],
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a finished segment execution and adds its tokens and fallback to the run's totals.
    pub async fn record_segment(&self, run_id: &str, s: &SegmentExecution) -> Result<()> {
        let logs = Value::from(s.logs.clone()).to_string();
        let (input, output) = s.tokens.unzip();
        let mut tx = self.pool.begin().await?;
        query(
            "INSERT INTO segment_executions (run_id, sequence, segment_name, mode, status, started_at, duration_ms, error, logs, \
             fallback_error, input_tokens, output_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            vec![
                run_id.into(),
                s.sequence.into(),
                (&s.segment_name).into(),
                (&s.mode).into(),
                (&s.status).into(),
                s.started_at.into(),
                s.duration_ms.into(),
                s.error.as_ref().map(error_json).into(),
                logs.into(),
                s.fallback_error.as_ref().map(error_json).into(),
                input.into(),
                output.into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        if s.tokens.is_some() || s.fallback_error.is_some() {
            query(
                "UPDATE runs SET input_tokens = input_tokens + $1, output_tokens = output_tokens + $2, \
                 ai_fallback = CASE WHEN $3 = 1 THEN 1 ELSE ai_fallback END WHERE id = $4",
                vec![
                    input.unwrap_or(0).into(),
                    output.unwrap_or(0).into(),
                    s.fallback_error.is_some().into(),
                    run_id.into(),
                ],
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends a run the worker owns. `false` when it no longer owned it.
    pub async fn finish(&self, run_id: &str, worker: &str, finish: Finish) -> Result<bool> {
        let done = query(
            "UPDATE runs SET status = $1, outputs = $2, error = $3, completed_at = $4, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $5 AND lease_owner = $6 AND status = $7",
            vec![
                finish.status.as_str().into(),
                finish.outputs.map(|o| o.to_string()).into(),
                finish.error.as_ref().map(error_json).into(),
                self.clock.now_ms().into(),
                run_id.into(),
                worker.into(),
                RunStatus::InProgress.as_str().into(),
            ],
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Handles runs whose lease expired: re-queues those with attempts left,
    /// fails the others with `WORKER_LOST`. Returns (re-queued, failed).
    pub async fn reap_expired(&self) -> Result<(u64, u64)> {
        let now = self.clock.now_ms();
        let in_progress = RunStatus::InProgress.as_str();
        let requeued = query(
            "UPDATE runs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, current_segment = NULL \
             WHERE status = $2 AND lease_expires_at < $3 AND attempts < max_attempts AND cancel_requested = 0",
            vec![RunStatus::Pending.as_str().into(), in_progress.into(), now.into()],
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        let error = error_json(&RunError {
            segment_name: None,
            code: "WORKER_LOST".into(),
            message:
                "the worker executing this run stopped responding; browser workflows are not re-run automatically \
                      (set maxAttempts to allow it)"
                    .into(),
        });
        let failed = query(
            "UPDATE runs SET status = $1, error = $2, completed_at = $3, lease_owner = NULL, lease_expires_at = NULL \
             WHERE status = $4 AND lease_expires_at < $3",
            vec![RunStatus::Failed.as_str().into(), error.into(), now.into(), in_progress.into()],
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((requeued, failed))
    }

    /// Pending runs across all organizations.
    pub async fn queue_depth(&self) -> Result<i64> {
        let row = query("SELECT COUNT(*) AS n FROM runs WHERE status = $1", vec![RunStatus::Pending.as_str().into()])
            .fetch_one(&self.pool)
            .await?;
        int(&row, "n")
    }
}
