//! The webhook outbox: deliveries written with the change they tell of, for the
//! webhooks subscribed to it, then leased, retried on schedule and failed.

use futures_util::future::join_all;
use libtest_mimic::Failed;
use store::{
    Attempt, Clock, DeliveryStatus, Finish, NewWebhook, PageRequest, RETRY_DELAYS_MS, RunStatus, Store, WebhookPatch,
};

use crate::backends::Case;
use crate::cases::{ROOMY, check, new_run, workflow};
use crate::jobs::{finish, job_run};

pub const ALL: &[(&str, Case)] = &[
    ("each_event_is_written_once_per_subscribed_webhook", |s, c| {
        Box::pin(each_event_is_written_once_per_subscribed_webhook(s, c))
    }),
    ("deliveries_are_leased_retried_on_schedule_then_failed", |s, c| {
        Box::pin(deliveries_are_leased_retried_on_schedule_then_failed(s, c))
    }),
    ("a_disabled_webhook_pauses_and_no_organization_holds_every_deliverer", |s, c| {
        Box::pin(a_disabled_webhook_pauses_and_no_organization_holds_every_deliverer(s, c))
    }),
];

pub(crate) fn new_webhook(events: &[&str]) -> NewWebhook {
    NewWebhook {
        url: "https://hooks.example.com/in".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        description: None,
        sealed_secret: "sealed".into(),
    }
}

async fn events_of(store: &Store, org: &str, webhook: &str) -> Result<Vec<(String, String)>, Failed> {
    let page = store.tenant(org).list_deliveries(webhook, &PageRequest { limit: 100, cursor: None }).await?;
    let mut seen: Vec<_> = page.items.into_iter().map(|d| (d.event_type, d.resource_id)).collect();
    seen.reverse();
    Ok(seen)
}

async fn each_event_is_written_once_per_subscribed_webhook(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let tenant = store.tenant(&org.id);
    let all = tenant.create_webhook(&new_webhook(&["*"])).await?;
    let failures = tenant.create_webhook(&new_webhook(&["run.failed", "job_run.failed"])).await?;
    let off = tenant.create_webhook(&new_webhook(&["*"])).await?;
    tenant.update_webhook(&off.id, &WebhookPatch { enabled: Some(false), ..Default::default() }).await?;
    let other = store.create_org("other").await?;
    let theirs = store.tenant(&other.id).create_webhook(&new_webhook(&["*"])).await?;

    let w = workflow(&store, &org.id, "w").await?;
    let good = tenant.create_run(new_run(&w.id, false, 1)).await?;
    let completed = finish(&store, "w1", RunStatus::Completed).await?;
    let bad = tenant.create_run(new_run(&w.id, true, 1)).await?;
    let failed = finish(&store, "w1", RunStatus::Failed).await?;
    check(completed == good.id && failed == bad.id, "claimed in order")?;

    let to_all = events_of(&store, &org.id, &all.id).await?;
    let expected =
        [("run.started", &good.id), ("run.completed", &good.id), ("run.started", &bad.id), ("run.failed", &bad.id)]
            .map(|(e, r)| (e.to_owned(), r.clone()));
    check(to_all == expected, format!("the wildcard hears every change: {to_all:?}"))?;
    check(events_of(&store, &org.id, &failures.id).await? == [expected[3].clone()], "only failures")?;
    check(events_of(&store, &org.id, &off.id).await?.is_empty(), "a disabled webhook hears nothing")?;
    check(events_of(&store, &other.id, &theirs.id).await?.is_empty(), "another organization hears nothing")?;

    // One event, one id, whichever webhook hears it; a test run's events say so.
    let page = PageRequest::default();
    let to_all_failed = tenant.list_deliveries(&all.id, &page).await?.items[0].clone();
    let to_failures = tenant.list_deliveries(&failures.id, &page).await?.items[0].clone();
    check(to_all_failed.event_id == to_failures.event_id, "the same event id for both webhooks")?;
    check(to_all_failed.test && to_failures.test, "a test run's event is marked test")?;
    check(to_all_failed.status == DeliveryStatus::Pending && to_all_failed.attempts == 0, "pending")?;

    // A write that does not happen tells nothing: a finish under a lost lease.
    let before = events_of(&store, &org.id, &all.id).await?.len();
    let lease = store::Lease { run_id: good.id.clone(), worker: "w1".into(), attempt: 1 };
    let late = Finish { status: RunStatus::Failed, outputs: None, error: None };
    check(!store.finish(&lease, late).await?, "the finished run's lease is gone")?;
    check(events_of(&store, &org.id, &all.id).await?.len() == before, "no event for a write that did not land")?;

    // A job run's end is one event, in the transaction of its last run's end.
    let jr = job_run(&store, &org.id, &[&w.id]).await?;
    finish(&store, "w1", RunStatus::Failed).await?;
    let heard = events_of(&store, &org.id, &failures.id).await?;
    check(heard.last() == Some(&("job_run.failed".to_owned(), jr.id.clone())), format!("{heard:?}"))?;
    check(heard.iter().filter(|(e, _)| e == "job_run.failed").count() == 1, "told once")?;

    // A deleted webhook's deliveries go with it.
    tenant.delete_webhook(&all.id).await?;
    check(tenant.list_deliveries(&all.id, &page).await.is_err(), "gone")?;
    Ok(())
}

async fn deliveries_are_leased_retried_on_schedule_then_failed(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let tenant = store.tenant(&org.id);
    let hook = tenant.create_webhook(&new_webhook(&["run.completed"])).await?;
    let w = workflow(&store, &org.id, "w").await?;
    tenant.create_run(new_run(&w.id, false, 1)).await?;
    let claimed = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    store.finish(&claimed.lease, Finish { status: RunStatus::Completed, outputs: None, error: None }).await?;

    // Many deliverers at once: the delivery goes to one of them.
    let claims = join_all((0..4).map(|_| store.claim_deliveries(60_000, 16))).await;
    let mut held: Vec<_> = claims.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    check(held.len() == 1, format!("claimed {} times", held.len()))?;
    let first = held.remove(0);
    check(first.url == hook.url && first.sealed_secrets == ["sealed"], "what sending needs")?;
    check(first.body.is_none() && first.attempts == 0, "no body before the first attempt")?;
    check(store.fix_delivery_body(&first.lease, r#"{"type":"run.completed"}"#).await?, "the body is fixed")?;

    // A deliverer that died: its lease expires, another one takes the delivery
    // with the same body and event id, and the first one's late write is refused.
    clock.advance(60_001);
    let second = store.claim_deliveries(60_000, 16).await?.pop().ok_or("claimed again after the lease expired")?;
    check(second.event_id == first.event_id, "the same event id")?;
    check(second.body.as_deref() == Some(r#"{"type":"run.completed"}"#), "the same body")?;
    let refused = Attempt { status_code: Some(500), ..Attempt::default() };
    check(!store.record_attempt(&first.lease, &refused, &RETRY_DELAYS_MS).await?, "a lost lease records nothing")?;

    // Failures wait for the schedule, then the delivery fails for good.
    let mut lease = second.lease;
    for (i, wait) in RETRY_DELAYS_MS.iter().enumerate() {
        check(store.record_attempt(&lease, &refused, &RETRY_DELAYS_MS).await?, "recorded")?;
        let now = tenant.get_delivery(&hook.id, &lease.delivery_id).await?;
        check(now.status == DeliveryStatus::Pending && now.attempts == i as i64 + 1, format!("{now:?}"))?;
        check(now.last_status_code == Some(500), "the receiver's answer is kept")?;
        clock.advance(wait - 1);
        check(store.claim_deliveries(60_000, 16).await?.is_empty(), format!("not due before {wait} ms"))?;
        clock.advance(1);
        lease = store.claim_deliveries(60_000, 16).await?.pop().ok_or("due after the wait")?.lease;
    }
    check(store.record_attempt(&lease, &refused, &RETRY_DELAYS_MS).await?, "the last attempt")?;
    let failed = tenant.get_delivery(&hook.id, &lease.delivery_id).await?;
    check(failed.status == DeliveryStatus::Failed && failed.attempts == 8, format!("{failed:?}"))?;
    check(failed.next_attempt_at.is_none(), "no next attempt")?;
    clock.advance(RETRY_DELAYS_MS[6] * 10);
    check(store.claim_deliveries(60_000, 16).await?.is_empty(), "a failed delivery is not sent again")?;

    // A retry makes it due now, for one more attempt.
    let retried = tenant.retry_delivery(&hook.id, &lease.delivery_id).await?;
    check(retried.status == DeliveryStatus::Pending, "pending again")?;
    let again = store.claim_deliveries(60_000, 16).await?.pop().ok_or("due at once")?;
    check(tenant.retry_delivery(&hook.id, &again.lease.delivery_id).await.is_err(), "not while it is being sent")?;
    let ok = Attempt { delivered: true, status_code: Some(204), ..Attempt::default() };
    check(store.record_attempt(&again.lease, &ok, &RETRY_DELAYS_MS).await?, "recorded")?;
    let delivered = tenant.get_delivery(&hook.id, &again.lease.delivery_id).await?;
    check(delivered.status == DeliveryStatus::Delivered && delivered.attempts == 9, format!("{delivered:?}"))?;
    Ok(())
}

async fn a_disabled_webhook_pauses_and_no_organization_holds_every_deliverer(
    store: Store,
    _: Clock,
) -> Result<(), Failed> {
    let (busy, calm) = (store.create_org("busy").await?, store.create_org("calm").await?);
    let (b, c) = (store.tenant(&busy.id), store.tenant(&calm.id));
    let b_hook = b.create_webhook(&new_webhook(&["run.started"])).await?;
    let c_hook = c.create_webhook(&new_webhook(&["run.started"])).await?;
    let bw = workflow(&store, &busy.id, "w").await?;
    let cw = workflow(&store, &calm.id, "w").await?;
    for _ in 0..store::MAX_IN_FLIGHT_PER_ORG + 2 {
        b.create_run(new_run(&bw.id, false, 1)).await?;
        store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    }
    c.create_run(new_run(&cw.id, false, 1)).await?;
    store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;

    // Paused: nothing of the calm organization's webhook is due while it is disabled.
    let off = WebhookPatch { enabled: Some(false), ..Default::default() };
    c.update_webhook(&c_hook.id, &off).await?;
    let cap = store::MAX_IN_FLIGHT_PER_ORG;
    let first = store.claim_deliveries(60_000, cap).await?;
    check(first.len() == cap as usize && first.iter().all(|d| d.webhook_id == b_hook.id), "the busy organization's")?;
    check(store.claim_deliveries(60_000, 16).await?.is_empty(), "the busy organization is at its cap; calm is paused")?;
    let on = WebhookPatch { enabled: Some(true), ..Default::default() };
    c.update_webhook(&c_hook.id, &on).await?;
    let next = store.claim_deliveries(60_000, 16).await?;
    check(next.len() == 1 && next[0].webhook_id == c_hook.id, "the calm organization goes before the busy one's rest")?;
    // One attempt of the busy organization ends: one more of its deliveries may go.
    let ok = Attempt { delivered: true, status_code: Some(200), ..Attempt::default() };
    check(store.record_attempt(&first[0].lease, &ok, &RETRY_DELAYS_MS).await?, "recorded")?;
    check(store.claim_deliveries(60_000, 1).await?.len() == 1, "one more")?;
    check(store.claim_deliveries(60_000, 16).await?.is_empty(), "and no more than the cap")?;
    Ok(())
}
