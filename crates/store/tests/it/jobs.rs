//! Job runs move on in the transaction that ends each of their runs; schedules fire
//! each due time once.

use futures_util::future::join_all;
use libtest_mimic::Failed;
use serde_json::json;
use store::{
    Clock, DueSchedule, Finish, Fired, JobRunFilter, JobRunStatus, JobSteps, NewJob, NewJobRun, NewSchedule, Overlap,
    PageRequest, RunError, RunFilter, RunStatus, Store, Trigger,
};

use crate::backends::Case;
use crate::cases::{ROOMY, check, new_run, workflow};

pub const ALL: &[(&str, Case)] = &[
    ("a_job_run_queues_each_step_when_the_one_before_completes", |s, c| {
        Box::pin(a_job_run_queues_each_step_when_the_one_before_completes(s, c))
    }),
    ("a_lost_worker_or_a_cancel_ends_the_job_run", |s, c| Box::pin(a_lost_worker_or_a_cancel_ends_the_job_run(s, c))),
    ("each_due_time_fires_once_and_overlaps_are_skipped", |s, c| {
        Box::pin(each_due_time_fires_once_and_overlaps_are_skipped(s, c))
    }),
];

/// A job of `workflows` and a job run of it, one step per workflow.
pub(crate) async fn job_run(store: &Store, org: &str, workflows: &[&str]) -> Result<store::JobRun, Failed> {
    let tenant = store.tenant(org);
    let steps = JobSteps { shown: json!(workflows), sealed: "sealed".into() };
    let job = tenant
        .create_job(NewJob {
            name: "nightly".into(),
            source_provider: None,
            description: None,
            identity_id: None,
            steps,
        })
        .await?;
    let new = NewJobRun {
        job_id: job.id,
        test: false,
        trigger: Trigger::Api,
        schedule_id: None,
        identity_id: None,
        inputs: json!({}),
        steps: workflows.iter().map(|w| new_run(w, false, 1)).collect(),
        failure: None,
    };
    Ok(tenant.create_job_run(new).await?)
}

fn statuses(run: &store::JobRun) -> Vec<&str> {
    run.workflow_runs.iter().map(|s| s.status.as_str()).collect()
}

pub(crate) async fn finish(store: &Store, worker: &str, status: RunStatus) -> Result<String, Failed> {
    let claimed = store.claim(worker, 10_000, ROOMY).await?.ok_or("a run to claim")?;
    let error = (status != RunStatus::Completed).then(|| RunError {
        segment_name: Some("read".into()),
        code: "SEGMENT_FAILED".into(),
        message: "no such button".into(),
    });
    check(store.finish(&claimed.lease, Finish { status, outputs: None, error }).await?, "finished")?;
    Ok(claimed.lease.run_id)
}

async fn a_job_run_queues_each_step_when_the_one_before_completes(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let tenant = store.tenant(&org.id);
    let ws = [workflow(&store, &org.id, "a").await?, workflow(&store, &org.id, "b").await?];
    let c = workflow(&store, &org.id, "c").await?;
    let created = job_run(&store, &org.id, &[&ws[0].id, &ws[1].id, &c.id]).await?;
    check(created.status == JobRunStatus::Pending, format!("{created:?}"))?;
    check(statuses(&created) == ["PENDING", "PENDING", "PENDING"], format!("{created:?}"))?;
    check(store.queue_depth().await? == 1, "only the first step is queued")?;

    let first = finish(&store, "w1", RunStatus::Completed).await?;
    let after_first = tenant.get_job_run(&created.id).await?;
    check(after_first.status == JobRunStatus::InProgress, format!("{after_first:?}"))?;
    check(statuses(&after_first) == ["COMPLETED", "PENDING", "PENDING"], format!("{after_first:?}"))?;
    let second = after_first.workflow_runs[1].run_id.clone().ok_or("the second step is queued")?;
    let queued = tenant.get_run(&second).await?;
    check(
        queued.workflow_id == ws[1].id && queued.job_run_id.as_deref() == Some(&created.id),
        "a step of the job run",
    )?;
    check(!tenant.run_events(&second, 0, 10).await?.is_empty(), "its creation is told")?;

    let failed = finish(&store, "w1", RunStatus::Failed).await?;
    check(failed == second, "the second step ran second")?;
    let ended = tenant.get_job_run(&created.id).await?;
    check(ended.status == JobRunStatus::Failed && ended.finished_at.is_some(), format!("{ended:?}"))?;
    check(statuses(&ended) == ["COMPLETED", "FAILED", "SKIPPED"], format!("{ended:?}"))?;
    let error = ended.error.clone().ok_or("an error")?;
    check(error["runId"] == second.as_str() && error["code"] == "SEGMENT_FAILED", format!("{error}"))?;
    check(store.queue_depth().await? == 0, "the step after a failure never runs")?;
    let by_job_run = RunFilter { job_run_id: Some(created.id.clone()), ..Default::default() };
    let listed = tenant.list_runs(&by_job_run, &PageRequest::default()).await?.items;
    check(listed.len() == 2 && listed.iter().any(|r| r.run.id == first), "runs listed by job run")?;

    // A job run of one step completes with it.
    let single = job_run(&store, &org.id, &[&c.id]).await?;
    finish(&store, "w1", RunStatus::Completed).await?;
    let done = tenant.get_job_run(&single.id).await?;
    check(done.status == JobRunStatus::Completed && statuses(&done) == ["COMPLETED"], format!("{done:?}"))?;
    let failed_runs = JobRunFilter { status: Some(JobRunStatus::Failed), ..Default::default() };
    let listed = tenant.list_job_runs(&failed_runs, &PageRequest::default()).await?.items;
    check(listed.len() == 1 && listed[0].id == created.id, "job runs listed by status")
}

async fn a_lost_worker_or_a_cancel_ends_the_job_run(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let tenant = store.tenant(&org.id);
    let (a, b) = (workflow(&store, &org.id, "a").await?, workflow(&store, &org.id, "b").await?);

    let lost = job_run(&store, &org.id, &[&a.id, &b.id]).await?;
    store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    check(tenant.get_job_run(&lost.id).await?.status == JobRunStatus::InProgress, "in progress once claimed")?;
    clock.advance(11_000);
    check(store.reap_expired().await? == (0, 1), "the lost run fails")?;
    let after = tenant.get_job_run(&lost.id).await?;
    check(after.status == JobRunStatus::Failed && statuses(&after) == ["FAILED", "SKIPPED"], format!("{after:?}"))?;

    // Cancelled while its first run is going: the run is asked to stop, the rest skipped.
    let going = job_run(&store, &org.id, &[&a.id, &b.id]).await?;
    let claimed = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    let cancelled = tenant.cancel_job_run(&going.id).await?;
    check(cancelled.status == JobRunStatus::Cancelled, format!("{cancelled:?}"))?;
    check(tenant.get_run(&claimed.lease.run_id).await?.cancel_requested, "its run is asked to stop")?;
    // Its worker finishes it anyway: nothing follows a cancelled job run.
    store.finish(&claimed.lease, Finish { status: RunStatus::Completed, outputs: None, error: None }).await?;
    let after = tenant.get_job_run(&going.id).await?;
    check(
        after.status == JobRunStatus::Cancelled && statuses(&after) == ["COMPLETED", "SKIPPED"],
        format!("{after:?}"),
    )?;
    check(store.queue_depth().await? == 0, "nothing queued after a cancel")?;
    let again = tenant.cancel_job_run(&going.id).await?;
    check(again.revision == after.revision, "cancelling an ended job run changes nothing")?;

    // Cancelled while its first run is still queued: that run is cancelled at once.
    let queued = job_run(&store, &org.id, &[&a.id, &b.id]).await?;
    let cancelled = tenant.cancel_job_run(&queued.id).await?;
    check(statuses(&cancelled) == ["CANCELLED", "SKIPPED"], format!("{cancelled:?}"))?;
    // Cancelling a workflow run of a job run cancels the job run.
    let direct = job_run(&store, &org.id, &[&a.id, &b.id]).await?;
    let first = direct.workflow_runs[0].run_id.clone().ok_or("queued")?;
    tenant.request_cancel(&first).await?;
    let after = tenant.get_job_run(&direct.id).await?;
    check(after.status == JobRunStatus::Cancelled && statuses(&after) == ["CANCELLED", "SKIPPED"], format!("{after:?}"))
}

async fn each_due_time_fires_once_and_overlaps_are_skipped(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let tenant = store.tenant(&org.id);
    let w = workflow(&store, &org.id, "w").await?;
    let job = job_run(&store, &org.id, &[&w.id]).await?.job_id;
    // That job run is not the schedule's: clear the queue.
    finish(&store, "w0", RunStatus::Completed).await?;
    let now = clock.now_ms();
    let schedule = tenant
        .create_schedule(NewSchedule {
            job_id: job.clone(),
            cron: "* * * * *".into(),
            timezone: "UTC".into(),
            inputs: json!({}),
            sealed_inputs: "sealed".into(),
            enabled: true,
            overlap: Overlap::Skip,
            next_run_at: Some(now + 60_000),
        })
        .await?;
    check(store.due_schedules(10).await?.is_empty(), "nothing due yet")?;
    clock.advance(60_000);
    let due = store.due_schedules(10).await?;
    check(due.len() == 1 && due[0].due_at == now + 60_000, format!("{due:?}"))?;
    let planned = |due: &DueSchedule| NewJobRun {
        job_id: job.clone(),
        test: false,
        trigger: Trigger::Schedule,
        schedule_id: Some(due.schedule.id.clone()),
        identity_id: None,
        inputs: json!({}),
        steps: vec![new_run(&w.id, false, 1)],
        failure: None,
    };
    // Five servers fire the same due time at once: one job run.
    let fired = join_all((0..5).map(|_| store.fire_schedule(&due[0], Some(now + 120_000), planned(&due[0])))).await;
    let started: Vec<_> = fired.iter().filter(|f| matches!(f, Ok(Fired::Started(_)))).collect();
    check(started.len() == 1, format!("{fired:?}"))?;
    check(fired.iter().all(|f| f.is_ok()), format!("{fired:?}"))?;
    let after = tenant.get_schedule(&schedule.id).await?;
    check(after.next_run_at == Some(now + 120_000) && after.last_run_at == Some(now + 60_000), format!("{after:?}"))?;
    let Ok(Fired::Started(first)) = started[0] else { unreachable!() };
    let scheduled = tenant.get_job_run(first).await?;
    check(scheduled.trigger == Trigger::Schedule && scheduled.schedule_id.as_deref() == Some(&schedule.id), "named")?;

    // The next due time comes while that job run is still queued: skipped.
    clock.advance(60_000);
    let due = store.due_schedules(10).await?;
    check(store.fire_schedule(&due[0], Some(now + 180_000), planned(&due[0])).await? == Fired::Skipped, "skipped")?;
    check(store.due_schedules(10).await?.is_empty(), "and moved on")?;
    let mine = JobRunFilter { job_id: Some(job.clone()), ..Default::default() };
    check(tenant.list_job_runs(&mine, &PageRequest::default()).await?.items.len() == 2, "no job run for a skip")?;

    // Disabled schedules are never due.
    let off = store::SchedulePatch { enabled: Some(false), next_run_at: Some(None), ..Default::default() };
    tenant.update_schedule(&schedule.id, off).await?;
    clock.advance(600_000);
    check(store.due_schedules(10).await?.is_empty(), "a disabled schedule is not due")
}
