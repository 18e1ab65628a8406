//! The runs table is the queue. A worker claims a pending run with a
//! lease, extends it with heartbeats while it executes, and finishes it. A run
//! whose lease expired (its worker died) is failed with `WORKER_LOST`, or
//! re-queued when it asked for more attempts: browser workflows are not
//! idempotent, so nothing is re-executed silently.

use serde_json::{Value, json};
use sqlx::any::AnyRow;

use crate::db::{Backend, Bind, error_json, int, opt_int, opt_json, opt_text, query, text};
use crate::events::{self, RunEventKind, Told};
use crate::{Result, RunError, RunStatus, SegmentExecution, Store, TimeLimits};

/// A worker's hold on one attempt of a run. Every write the worker makes for the
/// run goes through it and lands only while the lease holds: once the lease
/// expired and the run was failed or re-queued, a slow worker's late writes
/// change nothing, even when the same worker claimed the run's next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub run_id: String,
    pub worker: String,
    /// 1 on the first attempt.
    pub attempt: i64,
}

/// A run a worker now owns.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRun {
    pub lease: Lease,
    pub org_id: String,
    pub workflow_id: String,
    pub definition: String,
    pub sealed_inputs: String,
    pub limits: TimeLimits,
    /// What the run should leave behind (JSON), as it was asked.
    pub artifacts: Option<String>,
    /// The identity it runs as: no other run of it is in progress meanwhile.
    pub identity_id: Option<String>,
    /// Inputs a person supplies while it waits, and how long it waits for each.
    pub deferred_inputs: Vec<String>,
    pub input_timeout_ms: Option<i64>,
}

/// How a worker shares its slots between organizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fairness {
    /// The most runs of one organization the worker executes at once, so that one
    /// organization's stuck runs never hold every slot. Not applied while the
    /// database holds a single organization: there is nobody to keep a slot for.
    pub max_runs_per_org: i64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub status: RunStatus,
    pub outputs: Option<Value>,
    pub error: Option<RunError>,
}

/// The condition every write under a lease carries, from placeholder `$first` on.
fn held(first: usize) -> String {
    format!("id = ${first} AND lease_owner = ${} AND attempts = ${} AND status = ${}", first + 1, first + 2, first + 3)
}

/// What a write under a lease needs to know of its run.
pub(crate) struct HeldRun {
    pub org_id: String,
    pub workflow_id: String,
    pub test: bool,
}

impl Lease {
    /// Checks inside `tx` that the lease still holds, locking the run's row (a
    /// write that changes nothing) so the reaper cannot take the run before `tx`
    /// commits. `None`: the lease is gone, and nothing may be written.
    pub(crate) async fn hold(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<Option<HeldRun>> {
        let row = query(
            &format!("UPDATE runs SET attempts = attempts WHERE {} RETURNING org_id, workflow_id, test", held(1)),
            self.binds().to_vec(),
        )
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| {
            Ok(HeldRun {
                org_id: text(&r, "org_id")?,
                workflow_id: text(&r, "workflow_id")?,
                test: int(&r, "test")? != 0,
            })
        })
        .transpose()
    }

    fn binds(&self) -> [Bind; 4] {
        [
            self.run_id.as_str().into(),
            self.worker.as_str().into(),
            self.attempt.into(),
            RunStatus::InProgress.as_str().into(),
        ]
    }
}

impl Store {
    /// Claims a pending run for `worker`, leased for `lease_ms`. Many workers may
    /// call this at once; each run goes to exactly one.
    ///
    /// Fair between organizations: the organization with the fewest runs in
    /// progress goes first (its oldest pending run), so one organization's backlog
    /// never queues another's runs behind it, and an organization already holding
    /// `fairness.max_runs_per_org` of this worker's runs is passed over.
    pub async fn claim(&self, worker: &str, lease_ms: i64, fairness: Fairness) -> Result<Option<ClaimedRun>> {
        let now = self.clock.now_ms();
        // Per organization: its oldest pending runs (one on SQLite, whose writes are
        // serialised; a few on PostgreSQL, where SKIP LOCKED passes over the rows
        // concurrent claimers hold), how many of its runs are in progress, and how
        // many of those are this worker's.
        // A run whose identity has another run in progress waits: a site may end
        // one session when the same account signs in again elsewhere.
        let free = "(p.identity_id IS NULL OR NOT EXISTS \
                    (SELECT 1 FROM runs b WHERE b.identity_id = p.identity_id AND b.status = $1))";
        let candidates = match self.backend {
            Backend::Postgres => format!(
                "SELECT r.seq FROM organizations o \
                 CROSS JOIN LATERAL (SELECT p.seq FROM runs p WHERE p.org_id = o.id AND p.status = $5 AND {free} \
                 ORDER BY p.seq LIMIT 8) c \
                 JOIN runs r ON r.seq = c.seq WHERE r.status = $5 AND"
            ),
            Backend::Sqlite => format!(
                "SELECT r.seq FROM organizations o \
                 JOIN runs r ON r.seq = (SELECT MIN(p.seq) FROM runs p WHERE p.org_id = o.id AND p.status = $5 AND {free}) WHERE"
            ),
        };
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE OF r SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let statement = format!(
            "UPDATE runs SET status = $1, lease_owner = $2, lease_expires_at = $3, started_at = COALESCE(started_at, $4), \
             attempts = attempts + 1, awaiting_input = NULL, supplied_input = NULL \
             WHERE status = $5 AND seq = ({candidates} \
               ((SELECT COUNT(*) FROM runs m WHERE m.org_id = o.id AND m.status = $1 AND m.lease_owner = $2) < $6 \
                OR (SELECT COUNT(*) FROM organizations) = 1) \
             ORDER BY (SELECT COUNT(*) FROM runs q WHERE q.org_id = o.id AND q.status = $1), r.seq LIMIT 1 {lock}) \
             RETURNING id, org_id, workflow_id, definition, sealed_inputs, attempts, segment_timeout_ms, run_timeout_ms, \
             artifacts, identity_id, deferred_inputs, input_timeout_ms"
        );
        let mut tx = self.begin_write().await?;
        let row = query(
            &statement,
            vec![
                RunStatus::InProgress.as_str().into(),
                worker.into(),
                (now + lease_ms).into(),
                now.into(),
                RunStatus::Pending.as_str().into(),
                fairness.max_runs_per_org.max(1).into(),
            ],
        )
        .fetch_optional(&mut *tx)
        .await?;
        let claimed = row
            .map(|r| {
                Ok::<_, crate::Error>(ClaimedRun {
                    lease: Lease { run_id: text(&r, "id")?, worker: worker.to_owned(), attempt: int(&r, "attempts")? },
                    org_id: text(&r, "org_id")?,
                    workflow_id: text(&r, "workflow_id")?,
                    definition: text(&r, "definition")?,
                    sealed_inputs: text(&r, "sealed_inputs")?,
                    limits: TimeLimits {
                        segment_ms: opt_int(&r, "segment_timeout_ms")?,
                        run_ms: opt_int(&r, "run_timeout_ms")?,
                    },
                    artifacts: opt_text(&r, "artifacts")?,
                    identity_id: opt_text(&r, "identity_id")?,
                    deferred_inputs: crate::runs::names(opt_json(&r, "deferred_inputs")?),
                    input_timeout_ms: opt_int(&r, "input_timeout_ms")?,
                })
            })
            .transpose()?;
        if let Some(run) = &claimed
            && let Some(identity) = &run.identity_id
            && self.backend == Backend::Postgres
            && !self.alone_in_its_identity(&mut tx, &run.lease.run_id, identity).await?
        {
            // Another claimer took a run of the same identity at the same moment: this one waits.
            tx.rollback().await?;
            return Ok(None);
        }
        let told: Vec<Told> = claimed
            .iter()
            .map(|c| Told { run_id: &c.lease.run_id, kind: RunEventKind::Started, payload: json!({"worker": worker}) })
            .collect();
        self.commit_telling(tx, &told, now).await?;
        Ok(claimed)
    }

    /// On PostgreSQL, two claimers may each pick a run of one identity before either
    /// commits. Both take the identity's lock for the rest of their transaction, so
    /// the second one looks after the first committed, and sees its run in progress.
    async fn alone_in_its_identity(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        run_id: &str,
        identity: &str,
    ) -> Result<bool> {
        query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked", vec![identity.into()])
            .execute(&mut **tx)
            .await?;
        let others = query(
            "SELECT COUNT(*) AS n FROM runs WHERE identity_id = $1 AND status = $2 AND id <> $3",
            vec![identity.into(), RunStatus::InProgress.as_str().into(), run_id.into()],
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(int(&others, "n")? == 0)
    }

    /// The lease's run waits for a person to supply an input (`awaiting`: `{"name",
    /// "type", "description", "expiresAt"}`). `false` when the lease is gone.
    pub async fn await_input(&self, lease: &Lease, awaiting: &Value) -> Result<bool> {
        let mut binds = vec![awaiting.to_string().into()];
        binds.extend(lease.binds());
        let mut tx = self.begin_write().await?;
        let waiting =
            query(&format!("UPDATE runs SET awaiting_input = $1, supplied_input = NULL WHERE {}", held(2)), binds)
                .execute(&mut *tx)
                .await?;
        if waiting.rows_affected() != 1 {
            return Ok(false);
        }
        let told = Told { run_id: &lease.run_id, kind: RunEventKind::AwaitingInput, payload: awaiting.clone() };
        self.commit_telling(tx, &[told], self.clock.now_ms()).await?;
        Ok(true)
    }

    /// The answer a person gave to what the lease's run waits for, sealed, taking
    /// it (the run is in progress again); `Some(None)` while there is none, `None`
    /// when the lease is gone. `stop`: give up waiting (no answer in time).
    pub async fn take_supplied_input(&self, lease: &Lease, stop: bool) -> Result<Option<Option<String>>> {
        let mut tx = self.begin_write().await?;
        let Some(_) = lease.hold(&mut tx).await? else { return Ok(None) };
        let row =
            query("SELECT supplied_input, awaiting_input FROM runs WHERE id = $1", vec![lease.run_id.as_str().into()])
                .fetch_one(&mut *tx)
                .await?;
        let supplied = opt_text(&row, "supplied_input")?;
        if supplied.is_none() && !stop {
            return Ok(Some(None));
        }
        let name = opt_json(&row, "awaiting_input")?.map(|a| a["name"].clone()).unwrap_or(Value::Null);
        query(
            "UPDATE runs SET awaiting_input = NULL, supplied_input = NULL WHERE id = $1",
            vec![lease.run_id.as_str().into()],
        )
        .execute(&mut *tx)
        .await?;
        let told = Told { run_id: &lease.run_id, kind: RunEventKind::InputSupplied, payload: json!({"name": name}) };
        self.commit_telling(tx, &[told], self.clock.now_ms()).await?;
        Ok(Some(supplied))
    }

    /// Extends the lease. `None`: the lease is gone (it expired and the reaper
    /// took the run); otherwise whether a cancel was requested.
    pub async fn heartbeat(&self, lease: &Lease, lease_ms: i64) -> Result<Option<bool>> {
        let until = self.clock.now_ms() + lease_ms;
        let mut binds = vec![until.into()];
        binds.extend(lease.binds());
        let row = query(
            &format!("UPDATE runs SET lease_expires_at = $1 WHERE {} RETURNING cancel_requested", held(2)),
            binds,
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(int(&r, "cancel_requested")? != 0)).transpose()
    }

    /// Shows which segment runs now. `false` when the lease is gone.
    pub async fn set_current_segment(&self, lease: &Lease, segment: &str) -> Result<bool> {
        let mut binds = vec![segment.into()];
        binds.extend(lease.binds());
        let mut tx = self.begin_write().await?;
        let done =
            query(&format!("UPDATE runs SET current_segment = $1 WHERE {}", held(2)), binds).execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let told =
            Told { run_id: &lease.run_id, kind: RunEventKind::SegmentStarted, payload: json!({"segment": segment}) };
        self.commit_telling(tx, &[told], self.clock.now_ms()).await?;
        Ok(true)
    }

    /// Records a finished segment execution of the lease's attempt and adds its
    /// tokens and fallback to the run's totals. `false` (and nothing written)
    /// when the lease is gone.
    pub async fn record_segment(&self, lease: &Lease, s: &SegmentExecution) -> Result<bool> {
        let (input, output) = s.tokens.unzip();
        let mut tx = self.begin_write().await?;
        // The update comes first: it checks the lease and, on PostgreSQL, locks the
        // run's row, so the reaper cannot take the run between the check and the insert.
        let mut binds = vec![input.unwrap_or(0).into(), output.unwrap_or(0).into(), s.fallback_error.is_some().into()];
        binds.extend(lease.binds());
        let held_now = query(
            &format!(
                "UPDATE runs SET input_tokens = input_tokens + $1, output_tokens = output_tokens + $2, \
                 ai_fallback = CASE WHEN $3 = 1 THEN 1 ELSE ai_fallback END WHERE {}",
                held(4)
            ),
            binds,
        )
        .execute(&mut *tx)
        .await?;
        if held_now.rows_affected() != 1 {
            return Ok(false);
        }
        insert_segment(&mut tx, &lease.run_id, lease.attempt, s).await?;
        let payload = events::segment_payload(lease.attempt, s);
        let told = Told { run_id: &lease.run_id, kind: RunEventKind::SegmentFinished, payload };
        self.commit_telling(tx, &[told], self.clock.now_ms()).await?;
        Ok(true)
    }

    /// Ends the lease's run. `false` when the lease is gone.
    pub async fn finish(&self, lease: &Lease, finish: Finish) -> Result<bool> {
        let now = self.clock.now_ms();
        let mut binds = vec![
            finish.status.as_str().into(),
            finish.outputs.map(|o| o.to_string()).into(),
            finish.error.as_ref().map(error_json).into(),
            now.into(),
        ];
        binds.extend(lease.binds());
        let mut tx = self.begin_write().await?;
        let done = query(
            &format!(
                "UPDATE runs SET status = $1, outputs = $2, error = $3, completed_at = $4, lease_owner = NULL, \
                 awaiting_input = NULL, supplied_input = NULL, \
                 lease_expires_at = NULL WHERE {}",
                held(5)
            ),
            binds,
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let payload = events::finished_payload(finish.status, finish.error.as_ref());
        self.commit_telling(tx, &[Told { run_id: &lease.run_id, kind: RunEventKind::Finished, payload }], now).await?;
        Ok(true)
    }

    /// Handles runs whose lease expired: re-queues those with attempts left,
    /// fails the others with `WORKER_LOST`. Returns (re-queued, failed).
    pub async fn reap_expired(&self) -> Result<(u64, u64)> {
        let now = self.clock.now_ms();
        let in_progress = RunStatus::InProgress.as_str();
        let mut tx = self.begin_write().await?;
        let requeued = ids(query(
            "UPDATE runs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, current_segment = NULL, \
             awaiting_input = NULL, supplied_input = NULL \
             WHERE status = $2 AND lease_expires_at < $3 AND attempts < max_attempts AND cancel_requested = 0 RETURNING id",
            vec![RunStatus::Pending.as_str().into(), in_progress.into(), now.into()],
        )
        .fetch_all(&mut *tx)
        .await?)?;
        let error = RunError {
            segment_name: None,
            code: "WORKER_LOST".into(),
            message:
                "the worker executing this run stopped responding; browser workflows are not re-run automatically \
                      (set maxAttempts to allow it)"
                    .into(),
        };
        let failed = ids(query(
            "UPDATE runs SET status = $1, error = $2, completed_at = $3, lease_owner = NULL, lease_expires_at = NULL, \
             awaiting_input = NULL, supplied_input = NULL WHERE status = $4 AND lease_expires_at < $3 RETURNING id",
            vec![RunStatus::Failed.as_str().into(), error_json(&error).into(), now.into(), in_progress.into()],
        )
        .fetch_all(&mut *tx)
        .await?)?;
        let lost = events::finished_payload(RunStatus::Failed, Some(&error));
        let told: Vec<Told> = requeued
            .iter()
            .map(|run_id| Told { run_id, kind: RunEventKind::Requeued, payload: json!({}) })
            .chain(failed.iter().map(|run_id| Told { run_id, kind: RunEventKind::Finished, payload: lost.clone() }))
            .collect();
        self.commit_telling(tx, &told, now).await?;
        Ok((requeued.len() as u64, failed.len() as u64))
    }

    /// Pending runs across all organizations.
    pub async fn queue_depth(&self) -> Result<i64> {
        let row = query("SELECT COUNT(*) AS n FROM runs WHERE status = $1", vec![RunStatus::Pending.as_str().into()])
            .fetch_one(&self.pool)
            .await?;
        int(&row, "n")
    }
}

/// The `id` column of rows an `UPDATE … RETURNING id` changed.
fn ids(rows: Vec<AnyRow>) -> Result<Vec<String>> {
    rows.iter().map(|r| text(r, "id")).collect()
}

/// One segment execution of `run_id`'s `attempt`, in the caller's transaction.
pub(crate) async fn insert_segment(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    run_id: &str,
    attempt: i64,
    s: &SegmentExecution,
) -> Result<()> {
    let logs = Value::from(s.logs.clone()).to_string();
    let (input, output) = s.tokens.unzip();
    query(
        "INSERT INTO segment_executions (run_id, attempt, sequence, segment_name, mode, status, started_at, duration_ms, \
         error, logs, fallback_error, input_tokens, output_tokens) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        vec![
            run_id.into(),
            attempt.into(),
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}
