//! Segment progress from the executor, written to the store in order by a
//! task of its own (the executor's observer cannot wait on the database).

use engine::Masked;
use executor::{Observer, Record, SegmentRecord, SegmentStatus};
use store::{Lease, RunError, SegmentExecution, Store};
use tokio::sync::mpsc;

pub enum Event {
    Started(String),
    Finished(SegmentRecord),
}

pub struct ChannelObserver(pub mpsc::UnboundedSender<Event>);

impl Observer for ChannelObserver {
    fn record(&mut self, record: &Record) {
        let event = match record {
            Record::SegmentStarted { name, .. } => Event::Started(name.clone()),
            Record::SegmentFinished(record) => Event::Finished(record.clone()),
            Record::Log { .. } | Record::Warning(_) => return,
        };
        let _ = self.0.send(event);
    }
}

/// How a failure is stored and shown: only a masked one can be.
pub fn run_error(f: Masked<engine::Failure>) -> RunError {
    let f = f.into_inner();
    RunError { segment_name: f.segment, code: f.code.as_str().to_owned(), message: f.message }
}

/// Writes events until the sender is dropped, or until the lease is gone: then
/// nothing more is written (another party decides the run's fate now).
pub async fn write(store: Store, lease: Lease, mut events: mpsc::UnboundedReceiver<Event>) {
    let run_id = &lease.run_id;
    while let Some(event) = events.recv().await {
        let written = match event {
            Event::Started(name) => store.set_current_segment(&lease, &name).await,
            Event::Finished(r) => {
                metrics::histogram!("segue_segment_duration_seconds", "mode" => r.mode.as_str())
                    .record(r.duration.as_secs_f64());
                let execution = segment_execution(lease.attempt, r, store.clock().now_ms());
                store.record_segment(&lease, &execution).await
            }
        };
        match written {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(run = %run_id, attempt = lease.attempt, "lease lost: this attempt's progress is no longer recorded");
                return;
            }
            Err(e) => tracing::warn!(run = %run_id, "recording progress failed: {e}"),
        }
    }
}

/// A segment record as the store keeps it; `finished_at`: when it ended (epoch ms).
pub fn segment_execution(attempt: i64, r: SegmentRecord, finished_at: i64) -> SegmentExecution {
    let duration_ms = i64::try_from(r.duration.as_millis()).unwrap_or(i64::MAX);
    SegmentExecution {
        attempt,
        sequence: i64::from(r.sequence),
        segment_name: r.name,
        mode: r.mode.as_str().to_owned(),
        status: match r.status {
            SegmentStatus::Completed => "COMPLETED",
            SegmentStatus::Failed => "FAILED",
        }
        .to_owned(),
        started_at: finished_at - duration_ms,
        duration_ms,
        error: r.error.map(run_error),
        fallback_error: r.fallback_from.map(run_error),
        tokens: r.tokens.map(|(i, o)| (i64::try_from(i).unwrap_or(i64::MAX), i64::try_from(o).unwrap_or(i64::MAX))),
        logs: r.logs.into_iter().map(Masked::into_inner).collect(),
    }
}
