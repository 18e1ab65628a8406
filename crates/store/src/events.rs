//! The run events feed: one append-only row per change of a run, written in
//! the transaction that makes the change, so the feed never tells of a change
//! that did not happen nor misses one that did. Live progress reads it; so will
//! the dashboard; and the changes webhooks tell of go to the outbox
//! (`outbox.rs`) in the same transaction.
//!
//! `seq` counts per run across attempts. Every append follows a write to the
//! run's row in the same transaction (its creation or a conditional `UPDATE`),
//! which on PostgreSQL locks the row, and on SQLite the transaction holds the
//! one write lock from its start (`Store::begin_write`): the next `seq` of a
//! run is never taken twice.
//!
//! Readers wait for appends through `Store::event_wakeups`: this process's
//! appends wake them at once; on PostgreSQL the appending transaction also
//! notifies the `run_events` channel, which one listener task per `Store`
//! relays, so appends of other processes wake them too.

use std::sync::{Arc, Mutex, Weak};

use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use tokio::sync::broadcast;

use crate::db::{Backend, int, query, text};
use crate::runs::run_error;
use crate::webhook_events::WebhookEvent;
use crate::{Error, Result, RunError, RunStatus, SegmentExecution, Store, Tenant};

/// The PostgreSQL channel appends notify, with the run's id as payload.
pub(crate) const CHANNEL: &str = "run_events";

/// What happened to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEventKind {
    /// Queued. Payload: `{"status": "PENDING"}`.
    Created,
    /// A worker claimed it; the event's `attempt` is the new attempt. Payload: `{"worker"}`.
    Started,
    /// The worker moved on to a segment. Payload: `{"segment"}`.
    SegmentStarted,
    /// A segment execution was recorded. Payload: the execution (`SegmentExecution` as JSON).
    SegmentFinished,
    /// Someone asked the worker of a running run to stop. Payload: `{}`.
    CancelRequested,
    /// Its worker was lost and it was queued again for another attempt. Payload: `{}`.
    Requeued,
    /// It ended (by its worker, cancelled while pending, or failed as `WORKER_LOST`).
    /// Payload: `{"status", "error"}`.
    Finished,
    /// A file the run left was recorded. Payload: `{"id", "type", "name", "size"}`.
    ArtifactCreated,
    /// The run waits for a person to supply an input. Payload: `{"name", "type", "description", "expiresAt"}`.
    AwaitingInput,
    /// The input it waited for was taken by its worker. Payload: `{"name"}`.
    InputSupplied,
}

impl RunEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunEventKind::Created => "run.created",
            RunEventKind::Started => "run.started",
            RunEventKind::SegmentStarted => "segment.started",
            RunEventKind::SegmentFinished => "segment.finished",
            RunEventKind::CancelRequested => "run.cancel_requested",
            RunEventKind::Requeued => "run.requeued",
            RunEventKind::Finished => "run.finished",
            RunEventKind::ArtifactCreated => "artifact.created",
            RunEventKind::AwaitingInput => "run.awaiting_input",
            RunEventKind::InputSupplied => "run.input_supplied",
        }
    }

    pub fn parse(s: &str) -> Option<RunEventKind> {
        [
            RunEventKind::Created,
            RunEventKind::Started,
            RunEventKind::SegmentStarted,
            RunEventKind::SegmentFinished,
            RunEventKind::CancelRequested,
            RunEventKind::Requeued,
            RunEventKind::Finished,
            RunEventKind::ArtifactCreated,
            RunEventKind::AwaitingInput,
            RunEventKind::InputSupplied,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One row of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub run_id: String,
    /// 1 for the run's first event; increases by one per event, across attempts.
    pub seq: i64,
    /// The run's attempt when the event happened (0 before the first claim).
    pub attempt: i64,
    pub kind: RunEventKind,
    /// Only what the store already holds (masked by the executor); see `RunEventKind`.
    pub payload: Value,
    pub at: i64,
}

impl RunEvent {
    /// The segment execution a `SegmentFinished` event carries.
    pub fn segment_execution(&self) -> Result<Option<SegmentExecution>> {
        if self.kind != RunEventKind::SegmentFinished {
            return Ok(None);
        }
        serde_json::from_value::<SegmentJson>(self.payload.clone())
            .map(|s| Some(s.into()))
            .map_err(|e| Error::Corrupt(format!("run event {} of {}: {e}", self.seq, self.run_id)))
    }
}

/// A segment execution as `SegmentFinished` payloads hold it (the API's field names).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SegmentJson {
    attempt: i64,
    sequence: i64,
    segment_name: String,
    mode: String,
    status: String,
    started_at: i64,
    duration_ms: i64,
    error: Option<Value>,
    logs: Vec<String>,
    fallback_error: Option<Value>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
}

impl From<SegmentJson> for SegmentExecution {
    fn from(s: SegmentJson) -> SegmentExecution {
        SegmentExecution {
            attempt: s.attempt,
            sequence: s.sequence,
            segment_name: s.segment_name,
            mode: s.mode,
            status: s.status,
            started_at: s.started_at,
            duration_ms: s.duration_ms,
            error: s.error.as_ref().map(run_error),
            logs: s.logs,
            fallback_error: s.fallback_error.as_ref().map(run_error),
            tokens: s.input_tokens.zip(s.output_tokens),
        }
    }
}

fn error_value(e: &RunError) -> Value {
    json!({"segmentName": e.segment_name, "code": e.code, "message": e.message})
}

/// The payload of a `SegmentFinished` event.
/// `attempt` is the lease's, under which the execution is stored.
pub(crate) fn segment_payload(attempt: i64, s: &SegmentExecution) -> Value {
    let (input, output) = s.tokens.unzip();
    json!({
        "attempt": attempt,
        "sequence": s.sequence,
        "segmentName": s.segment_name,
        "mode": s.mode,
        "status": s.status,
        "startedAt": s.started_at,
        "durationMs": s.duration_ms,
        "error": s.error.as_ref().map(error_value),
        "logs": s.logs,
        "fallbackError": s.fallback_error.as_ref().map(error_value),
        "inputTokens": input,
        "outputTokens": output,
    })
}

/// The payload of a `Finished` event.
pub(crate) fn finished_payload(status: RunStatus, error: Option<&RunError>) -> Value {
    json!({"status": status.as_str(), "error": error.map(error_value)})
}

/// One change a transaction made to a run, to be told in the run's feed.
pub(crate) struct Told<'a> {
    pub run_id: &'a str,
    pub kind: RunEventKind,
    pub payload: Value,
}

impl Store {
    /// Appends `told` to the runs' feeds inside `tx`, which wrote the changes they
    /// tell of, commits, then wakes this process's readers: what commits is told,
    /// what rolls back is not, and nobody is woken before the rows are visible.
    pub(crate) async fn commit_telling(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        told: &[Told<'_>],
        at: i64,
    ) -> Result<()> {
        let mut woken: Vec<String> = told.iter().map(|t| t.run_id.to_owned()).collect();
        for t in told {
            append(&mut tx, self.backend, t.run_id, t.kind, &t.payload, at).await?;
            if let Some(event) = webhook_event(t.kind, &t.payload) {
                crate::outbox::enqueue_for_run(&mut tx, t.run_id, event, at).await?;
            }
            // A run of a job run moves the job run on in the same transaction.
            let followed = crate::job_runs::follow(&mut tx, t.run_id, t.kind, &t.payload, at).await?;
            for queued in followed.queued {
                let payload = json!({"status": RunStatus::Pending.as_str()});
                append(&mut tx, self.backend, &queued.run_id, RunEventKind::Created, &payload, at).await?;
                woken.push(queued.run_id);
            }
            for job_run in followed.job_runs {
                self.notify_job_run(&mut tx, &job_run, at).await?;
                woken.push(job_run);
            }
        }
        tx.commit().await?;
        for id in &woken {
            self.wakeups.wake(id);
        }
        Ok(())
    }
}

/// The webhook event a change of a run is, if any.
fn webhook_event(kind: RunEventKind, payload: &Value) -> Option<WebhookEvent> {
    match kind {
        RunEventKind::Started => Some(WebhookEvent::RunStarted),
        RunEventKind::AwaitingInput => Some(WebhookEvent::RunAwaitingInput),
        RunEventKind::Finished => {
            payload["status"].as_str().and_then(RunStatus::parse).and_then(WebhookEvent::run_finished)
        }
        _ => None,
    }
}

/// Appends an event to `run_id`'s feed inside the caller's transaction, which has
/// just written the run's row. The organization and attempt are the row's own.
async fn append(
    tx: &mut AnyConnection,
    backend: Backend,
    run_id: &str,
    kind: RunEventKind,
    payload: &Value,
    at: i64,
) -> Result<()> {
    query(
        "INSERT INTO run_events (run_id, seq, org_id, attempt, type, payload, at) \
         SELECT id, COALESCE((SELECT MAX(e.seq) FROM run_events e WHERE e.run_id = $1), 0) + 1, org_id, attempts, $2, $3, $4 \
         FROM runs WHERE id = $1",
        vec![run_id.into(), kind.as_str().into(), payload.to_string().into(), at.into()],
    )
    .execute(&mut *tx)
    .await?;
    if backend == Backend::Postgres {
        // Delivered at commit, and only if the transaction commits.
        query("SELECT pg_notify($1, $2)", vec![CHANNEL.into(), run_id.into()]).execute(&mut *tx).await?;
    }
    Ok(())
}

fn event(row: &AnyRow) -> Result<RunEvent> {
    let kind = text(row, "type")?;
    let payload = text(row, "payload")?;
    Ok(RunEvent {
        run_id: text(row, "run_id")?,
        seq: int(row, "seq")?,
        attempt: int(row, "attempt")?,
        kind: RunEventKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("run event type '{kind}'")))?,
        payload: serde_json::from_str(&payload).map_err(|e| Error::Corrupt(format!("run event payload: {e}")))?,
        at: int(row, "at")?,
    })
}

/// Wakes readers of the feed: the ids of runs with new events (and of job runs
/// that changed). Receivers may
/// lag (`RecvError::Lagged`), which means "something changed: read again".
pub(crate) struct Wakeups {
    sender: broadcast::Sender<String>,
    /// The PostgreSQL URL to listen on; `None` on SQLite (one process).
    listen_url: Option<String>,
    /// The listener task, started by the first subscriber; aborted with the store.
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Wakeups {
    pub(crate) fn new(listen_url: Option<String>) -> Arc<Wakeups> {
        Arc::new(Wakeups { sender: broadcast::channel(1024).0, listen_url, listener: Mutex::new(None) })
    }

    /// Wakes this process's readers of `run_id` (after the append committed).
    pub(crate) fn wake(&self, run_id: &str) {
        // No receiver: nobody is reading, nothing to wake.
        let _ = self.sender.send(run_id.to_owned());
    }

    fn subscribe(self: &Arc<Wakeups>) -> broadcast::Receiver<String> {
        let receiver = self.sender.subscribe();
        if let Some(url) = &self.listen_url {
            let mut listener = self.listener.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if listener.is_none() {
                *listener = Some(tokio::spawn(listen(url.clone(), Arc::downgrade(self))));
            }
        }
        receiver
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        if let Some(task) = self.listener.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).take() {
            task.abort();
        }
    }
}

/// Relays PostgreSQL notifications of appends (from any process) to this
/// process's readers. On a lost connection `PgListener` reconnects; notifications
/// sent meanwhile are lost, which readers' slow fallback read covers.
async fn listen(url: String, wakeups: Weak<Wakeups>) {
    const RETRY: std::time::Duration = std::time::Duration::from_secs(1);
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(_) => {
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if listener.listen(CHANNEL).await.is_err() {
            tokio::time::sleep(RETRY).await;
            continue;
        }
        while let Ok(notification) = listener.recv().await {
            let Some(wakeups) = wakeups.upgrade() else { return };
            wakeups.wake(notification.payload());
        }
        tokio::time::sleep(RETRY).await;
    }
}

impl Tenant<'_> {
    /// The events of one of this organization's runs after `after_seq` (0: from
    /// the start), oldest first, at most `limit`. Another organization's run has none.
    pub async fn run_events(&self, run_id: &str, after_seq: i64, limit: u32) -> Result<Vec<RunEvent>> {
        let rows = query(
            "SELECT run_id, seq, attempt, type, payload, at FROM run_events \
             WHERE run_id = $1 AND org_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
            vec![run_id.into(), self.org_id().into(), after_seq.into(), i64::from(limit).into()],
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(event).collect()
    }
}

impl Store {
    /// A receiver woken with a run's id whenever events are appended to its feed
    /// (by this process, or by any process on PostgreSQL). Subscribe before
    /// reading, so that no append between the read and the wait goes unnoticed.
    pub fn event_wakeups(&self) -> broadcast::Receiver<String> {
        self.wakeups.subscribe()
    }
}
