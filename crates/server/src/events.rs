//! `GET /v1/runs/{id}/events`: live progress as server-sent events, read from
//! the store's feed of run events, so it works whichever process or machine
//! runs the run.
//!
//! Events: `segment` (a segment execution finished), `run` (status or current
//! segment changed), `end` (the finished run; the stream then closes). Each
//! carries the feed's `seq` as its `id`; a client reconnecting with
//! `Last-Event-ID` gets what followed it.
//!
//! A viewer waits for the store's wakeups (this process's appends, and on
//! PostgreSQL every process's through `LISTEN`), reading again only when its
//! run changed, or after `FALLBACK_READ` in case a wakeup was missed (appends
//! of other processes on SQLite, a reconnecting listener).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use crate::extract::Path;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use store::{RunEvent, RunEventKind};
use tokio::sync::broadcast;

use crate::AppState;
use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, NotFoundAs};

/// How long a viewer waits without a wakeup before reading anyway.
const FALLBACK_READ: Duration = Duration::from_secs(1);
/// Events read at once.
const BATCH: u32 = 100;

struct Follow {
    state: AppState,
    org: String,
    run: String,
    /// The `seq` of the last feed event read.
    after: i64,
    /// Wakes when runs' feeds grow; subscribed before the first read.
    wakeups: broadcast::Receiver<String>,
    /// The status and segment of the last `run` event sent: a run event is sent only when they change.
    last_seen: Option<(store::RunStatus, Option<String>, Option<String>)>,
    queued: VecDeque<Event>,
    /// The run had ended when the viewer came: its feed is complete, and once it is
    /// read (a client resuming after the end), the stream closes instead of waiting.
    ended_before: bool,
    done: bool,
}

fn event(name: &str, seq: i64, body: &impl serde::Serialize) -> Event {
    Event::default().event(name).id(seq.to_string()).data(serde_json::to_string(body).unwrap_or_default())
}

impl Follow {
    /// Reads the feed after `after` into `queued`. `false` when there was nothing new.
    async fn read(&mut self) -> Result<bool, store::Error> {
        let events = self.state.store.tenant(&self.org).run_events(&self.run, self.after, BATCH).await?;
        let any = !events.is_empty();
        self.done = !any && self.ended_before;
        for e in events {
            self.after = e.seq;
            self.translate(e).await?;
            if self.done {
                break;
            }
        }
        Ok(any)
    }

    /// Turns a feed event into what viewers have always received.
    async fn translate(&mut self, e: RunEvent) -> Result<(), store::Error> {
        match e.kind {
            RunEventKind::SegmentFinished => {
                if let Some(s) = e.segment_execution()? {
                    self.queued.push_back(event("segment", e.seq, &dto::SegmentExecution::from(s)));
                }
            }
            RunEventKind::Finished => {
                let run = self.state.store.tenant(&self.org).get_run(&self.run).await?;
                self.queued.push_back(event("end", e.seq, &dto::Run::from(run)));
                self.done = true;
            }
            // Artifacts are listed by their own endpoint.
            RunEventKind::ArtifactCreated => {}
            RunEventKind::Created
            | RunEventKind::Started
            | RunEventKind::SegmentStarted
            | RunEventKind::CancelRequested
            | RunEventKind::Requeued
            | RunEventKind::AwaitingInput
            | RunEventKind::InputSupplied => {
                // The run as it is now: a finished run's `end` follows instead.
                let run = self.state.store.tenant(&self.org).get_run(&self.run).await?;
                // What it waits for too: a second wait in the same segment is news.
                let waiting_for = run.awaiting_input.as_ref().map(|a| a["name"].to_string());
                let seen = Some((run.status, run.current_segment.clone(), waiting_for));
                if !run.status.is_final() && seen != self.last_seen {
                    self.last_seen = seen;
                    self.queued.push_back(event("run", e.seq, &dto::Run::from(run)));
                }
            }
        }
        Ok(())
    }

    /// Returns when this run's feed may have grown, or after `FALLBACK_READ`.
    async fn wait(&mut self) {
        woken_or_fallback(&mut self.wakeups, &self.run).await;
    }
}

/// Returns when `id` (a run or a job run) may have changed, as the store's wakeups
/// tell, or after `FALLBACK_READ` in case a wakeup was missed.
pub(crate) async fn woken_or_fallback(wakeups: &mut broadcast::Receiver<String>, id: &str) {
    let woken = async {
        loop {
            match wakeups.recv().await {
                Ok(changed) if changed == id => return,
                Ok(_) => continue,
                // Missed wakeups may have been ours.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    };
    let _ = tokio::time::timeout(FALLBACK_READ, woken).await;
}

/// The `seq` after which a reconnecting client resumes (`Last-Event-ID`); 0 from the start.
pub(crate) fn resume_after(headers: &HeaderMap) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|seq| *seq > 0)
        .unwrap_or(0)
}

/// Follow a run: its segment, run and end events as server-sent events; `Last-Event-ID` resumes.
#[utoipa::path(get, path = "/v1/runs/{id}/events", tag = "runs",
    params(("Last-Event-ID" = Option<i64>, Header, description = "resume after this event id")),
    responses((status = 200, content_type = "text/event-stream", description = "segment, run and end events, each with an id"), (status = 404)))]
pub async fn run_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let wakeups = state.store.event_wakeups();
    let run = state.store.tenant(auth.org()).get_run(&id).await.or_not_found("run")?;
    let follow = Follow {
        wakeups,
        state,
        org: auth.org().to_owned(),
        run: id,
        after: resume_after(&headers),
        last_seen: None,
        queued: VecDeque::new(),
        ended_before: run.status.is_final(),
        done: false,
    };
    let events = stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(e) = f.queued.pop_front() {
                return Some((Ok(e), f));
            }
            if f.done {
                return None;
            }
            match f.read().await {
                Ok(true) => {}
                Ok(false) => f.wait().await,
                Err(e) => {
                    tracing::warn!("run events: {e}");
                    return None;
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
