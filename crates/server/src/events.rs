//! `GET /v1/runs/{id}/events`: live progress as server-sent events. It reads
//! the database, so it works whichever process or machine runs the run.
//!
//! Events: `segment` (a segment execution finished), `run` (status or current
//! segment changed), `end` (the finished run; the stream then closes).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use crate::extract::Path;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;

use crate::AppState;
use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, NotFoundAs};

const POLL: Duration = Duration::from_millis(200);

struct Follow {
    state: AppState,
    org: String,
    run: String,
    /// The last segment execution sent.
    last: store::SegmentCursor,
    last_seen: Option<(store::RunStatus, Option<String>)>,
    queued: VecDeque<Event>,
    done: bool,
}

fn event(name: &str, body: &impl serde::Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(body).unwrap_or_default())
}

impl Follow {
    /// Reads what changed since the last poll into `queued`: a change of the
    /// running segment first, then finished segments, then the end.
    async fn poll(&mut self) -> Result<(), store::Error> {
        let run = self.state.store.tenant(&self.org).get_run(&self.run).await?;
        let segments = self.state.store.tenant(&self.org).list_segments(&self.run, self.last, 100).await?;
        let seen = Some((run.status, run.current_segment.clone()));
        let finished = run.status.is_final();
        let changed = seen != self.last_seen;
        self.last_seen = seen;
        if changed && !finished {
            self.queued.push_back(event("run", &dto::Run::from(run.clone())));
        }
        for s in segments {
            self.last = store::SegmentCursor::after(&s);
            self.queued.push_back(event("segment", &dto::SegmentExecution::from(s)));
        }
        if finished {
            // Segments recorded after the read above are still sent: the worker writes them before finishing.
            for s in self.state.store.tenant(&self.org).list_segments(&self.run, self.last, 1000).await? {
                self.last = store::SegmentCursor::after(&s);
                self.queued.push_back(event("segment", &dto::SegmentExecution::from(s)));
            }
            self.queued.push_back(event("end", &dto::Run::from(run)));
        }
        self.done = finished;
        Ok(())
    }
}

#[utoipa::path(get, path = "/v1/runs/{id}/events", tag = "runs",
    responses((status = 200, content_type = "text/event-stream", description = "segment, run and end events"), (status = 404)))]
pub async fn run_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    state.store.tenant(auth.org()).get_run(&id).await.or_not_found("run")?;
    let follow = Follow {
        state,
        org: auth.org().to_owned(),
        run: id,
        last: store::SegmentCursor::default(),
        last_seen: None,
        queued: VecDeque::new(),
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
            if let Err(e) = f.poll().await {
                tracing::warn!("run events: {e}");
                return None;
            }
            if f.queued.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
