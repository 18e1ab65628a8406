//! The run events feed: one event per change, in the change's transaction.

use libtest_mimic::Failed;
use serde_json::json;
use store::{Clock, Finish, Lease, RunError, RunStatus, Store};

use crate::backends::Case;
use crate::cases::{ROOMY, check, execution, new_run, workflow};

pub const ALL: &[(&str, Case)] = &[
    ("every_change_of_a_run_appends_one_event_in_order", |s, c| {
        Box::pin(every_change_of_a_run_appends_one_event_in_order(s, c))
    }),
    ("refused_lease_writes_append_nothing", |s, c| Box::pin(refused_lease_writes_append_nothing(s, c))),
    ("reaping_and_cancelling_append_their_events", |s, c| Box::pin(reaping_and_cancelling_append_their_events(s, c))),
    ("events_are_read_by_their_organization_only", |s, c| Box::pin(events_are_read_by_their_organization_only(s, c))),
    ("appends_wake_subscribed_readers", |s, c| Box::pin(appends_wake_subscribed_readers(s, c))),
];

/// `(seq, attempt, type)` of every event of the run.
async fn feed(store: &Store, org: &str, run: &str) -> Result<Vec<(i64, i64, &'static str)>, Failed> {
    let events = store.tenant(org).run_events(run, 0, 1000).await?;
    Ok(events.iter().map(|e| (e.seq, e.attempt, e.kind.as_str())).collect())
}

async fn every_change_of_a_run_appends_one_event_in_order(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let lease = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    check(store.heartbeat(&lease, 10_000).await? == Some(false), "heartbeat")?;
    check(store.set_current_segment(&lease, "a").await?, "progress")?;
    let mut recorded = execution(1, 1, "a");
    recorded.logs = vec!["password=********".into()];
    recorded.error = Some(RunError { segment_name: Some("a".into()), code: "X".into(), message: "m".into() });
    check(store.record_segment(&lease, &recorded).await?, "record")?;
    let error = RunError { segment_name: Some("a".into()), code: "SEGMENT_FAILED".into(), message: "boom".into() };
    let done = Finish { status: RunStatus::Failed, outputs: None, error: Some(error.clone()) };
    check(store.finish(&lease, done).await?, "finish")?;
    let seen = feed(&store, &org.id, &run.id).await?;
    let expected = [
        (1, 0, "run.created"),
        (2, 1, "run.started"),
        (3, 1, "segment.started"),
        (4, 1, "segment.finished"),
        (5, 1, "run.finished"),
    ];
    check(seen == expected, format!("heartbeats append nothing, the rest in order: {seen:?}"))?;
    let events = store.tenant(&org.id).run_events(&run.id, 0, 1000).await?;
    check(events[1].payload == json!({"worker": "w1"}), format!("{:?}", events[1].payload))?;
    check(events[2].payload == json!({"segment": "a"}), format!("{:?}", events[2].payload))?;
    let segment = events[3].segment_execution()?;
    check(segment.as_ref() == Some(&recorded), format!("the execution as recorded: {segment:?}"))?;
    let end = json!({"status": "FAILED", "error": {"segmentName": "a", "code": "SEGMENT_FAILED", "message": "boom"}});
    check(events[4].payload == end, format!("{:?}", events[4].payload))?;
    let after = store.tenant(&org.id).run_events(&run.id, 3, 1000).await?;
    let tail: Vec<i64> = after.iter().map(|e| e.seq).collect();
    check(tail == [4, 5], format!("a cursor reads what follows it: {tail:?}"))?;
    check(store.tenant(&org.id).run_events(&run.id, 0, 2).await?.len() == 2, "the limit holds")
}

async fn refused_lease_writes_append_nothing(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let lease = store.claim("owner", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    let before = feed(&store, &org.id, &run.id).await?;
    for intruder in [Lease { worker: "intruder".into(), ..lease.clone() }, Lease { attempt: 2, ..lease.clone() }] {
        check(!store.set_current_segment(&intruder, "a").await?, "progress refused")?;
        check(!store.record_segment(&intruder, &execution(1, 1, "a")).await?, "record refused")?;
        let done = Finish { status: RunStatus::Completed, outputs: Some(json!({})), error: None };
        check(!store.finish(&intruder, done).await?, "finish refused")?;
    }
    check(feed(&store, &org.id, &run.id).await? == before, "no event for a refused write")?;
    check(store.claim("other", 10_000, ROOMY).await?.is_none(), "nothing left to claim")?;
    check(feed(&store, &org.id, &run.id).await? == before, "nor for a claim that took nothing")
}

async fn reaping_and_cancelling_append_their_events(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let retried = store.tenant(&org.id).create_run(new_run(&w.id, false, 2)).await?;
    store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    clock.advance(11_000);
    check(store.reap_expired().await? == (1, 0), "re-queued")?;
    let second = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed again")?.lease;
    check(store.tenant(&org.id).request_cancel(&retried.id).await?.cancel_requested, "asked to stop")?;
    check(store.tenant(&org.id).request_cancel(&retried.id).await?.cancel_requested, "asked again")?;
    clock.advance(11_000);
    check(store.reap_expired().await? == (0, 1), "lost again: failed")?;
    check(store.heartbeat(&second, 10_000).await?.is_none(), "lease gone")?;
    let seen = feed(&store, &org.id, &retried.id).await?;
    let expected = [
        (1, 0, "run.created"),
        (2, 1, "run.started"),
        (3, 1, "run.requeued"),
        (4, 2, "run.started"),
        (5, 2, "run.cancel_requested"),
        (6, 2, "run.finished"),
    ];
    check(seen == expected, format!("seq spans attempts, asking twice tells once: {seen:?}"))?;
    let last = store.tenant(&org.id).run_events(&retried.id, 5, 10).await?;
    check(last[0].payload["status"] == "FAILED" && last[0].payload["error"]["code"] == "WORKER_LOST", "lost")?;

    let pending = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    store.tenant(&org.id).request_cancel(&pending.id).await?;
    store.tenant(&org.id).request_cancel(&pending.id).await?;
    let seen = feed(&store, &org.id, &pending.id).await?;
    check(seen == [(1, 0, "run.created"), (2, 0, "run.finished")], format!("cancelled while pending: {seen:?}"))?;
    let end = store.tenant(&org.id).run_events(&pending.id, 1, 10).await?;
    check(end[0].payload["status"] == "CANCELLED" && end[0].payload["error"]["code"] == "CANCELLED", "cancelled")
}

async fn events_are_read_by_their_organization_only(store: Store, _: Clock) -> Result<(), Failed> {
    let acme = store.create_org("acme").await?;
    let other = store.create_org("other").await?;
    let w = workflow(&store, &acme.id, "w").await?;
    let run = store.tenant(&acme.id).create_run(new_run(&w.id, false, 1)).await?;
    check(store.tenant(&acme.id).run_events(&run.id, 0, 10).await?.len() == 1, "the owner reads the feed")?;
    check(store.tenant(&other.id).run_events(&run.id, 0, 10).await?.is_empty(), "another organization reads nothing")
}

async fn appends_wake_subscribed_readers(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let mut wakeups = store.event_wakeups();
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let woken = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match wakeups.recv().await {
                Ok(id) if id == run.id => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    })
    .await;
    check(woken == Ok(true), "the creation woke the reader")
}
