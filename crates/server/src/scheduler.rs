//! The scheduler: every second, each API server fires the schedules that are due.
//! Firing is the store's (`Store::fire_schedule`): one firing row per schedule and
//! due time, so servers racing for a due time start one job run between them, and
//! a due time missed while no server ran fires once, its next one counted from now.

use std::time::Duration;

use serde_json::{Map, Value, json};
use store::seal::Sealer;
use store::{DueSchedule, Fired, NewJobRun, Store, Trigger};
use tokio_util::sync::CancellationToken;

use crate::cron::When;
use crate::job_plan::{JobRunAsk, plan_job_run};

/// How often due schedules are looked for: due times are whole minutes.
const EVERY: Duration = Duration::from_secs(1);
/// Schedules fired per look.
const BATCH: u32 = 100;

/// Fires due schedules every `EVERY` until `shutdown`.
pub async fn schedule(store: Store, sealer: Sealer, shutdown: CancellationToken) {
    loop {
        // Each look is a task of its own: a bug that panics in one (a schedule no
        // test foresaw) is logged, and the next look still comes.
        let look = tokio::spawn({
            let (store, sealer) = (store.clone(), sealer.clone());
            async move { fire_due(&store, &sealer).await }
        });
        match look.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("firing schedules failed: {e}"),
            Err(e) => tracing::error!("firing schedules stopped unexpectedly: {e}"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// Fires every schedule due now. Returns the job runs started.
pub async fn fire_due(store: &Store, sealer: &Sealer) -> Result<Vec<String>, store::Error> {
    let mut started = Vec::new();
    for due in store.due_schedules(BATCH).await? {
        let now = store.clock().now_ms();
        // Counted from now, not from the missed due time: downtime fires once.
        let next = When::parse(&due.schedule.cron, &due.schedule.timezone)
            .ok()
            .and_then(|when| when.next_after(now.max(due.due_at)));
        let job_run = plan(store, sealer, &due).await;
        let fired = match store.fire_schedule(&due, next, job_run).await {
            Ok(fired) => fired,
            // One schedule's trouble never holds the others back.
            Err(e) => {
                tracing::warn!(schedule = %due.schedule.id, "firing a schedule failed: {e}");
                continue;
            }
        };
        match fired {
            Fired::Started(id) => {
                tracing::info!(schedule = %due.schedule.id, job_run = %id, "schedule fired");
                started.push(id);
            }
            Fired::Skipped => {
                tracing::info!(schedule = %due.schedule.id, "schedule skipped: its last job run is going")
            }
            Fired::AlreadyFired => {}
        }
    }
    Ok(started)
}

/// The job run a due time starts; one recorded `FAILED` with the reason when it
/// cannot start (a workflow deleted, inputs no longer fitting), so that the
/// schedule's owner sees why nothing ran.
async fn plan(store: &Store, sealer: &Sealer, due: &DueSchedule) -> NewJobRun {
    let tenant = store.tenant(&due.org_id);
    let schedule = &due.schedule;
    let failed = |code: &str, message: String| NewJobRun {
        job_id: schedule.job_id.clone(),
        test: false,
        trigger: Trigger::Schedule,
        schedule_id: Some(schedule.id.clone()),
        identity_id: None,
        inputs: schedule.inputs.clone(),
        steps: Vec::new(),
        failure: Some(json!({"code": code, "message": message})),
    };
    let inputs: Option<Map<String, Value>> =
        sealer.open(&due.sealed_inputs).ok().and_then(|text| serde_json::from_str(&text).ok());
    let Some(inputs) = inputs else {
        return failed("INTERNAL", "the schedule's inputs cannot be opened with this server's key".into());
    };
    let (job, sealed_steps) = match tenant.job_with_sealed_steps(&schedule.job_id).await {
        Ok(found) => found,
        Err(e) => return failed("NOT_FOUND", format!("the schedule's job cannot be read: {e}")),
    };
    let identity_id = job.identity_id.clone();
    if let Some(identity) = &identity_id
        && let Err(e) = crate::routes::runs::signs_in(&tenant, identity).await
    {
        return failed(e.code, e.message);
    }
    let ask = JobRunAsk {
        inputs: &inputs,
        test: false,
        identity_id,
        trigger: Trigger::Schedule,
        schedule_id: Some(schedule.id.clone()),
    };
    match plan_job_run(&tenant, sealer, &job, &sealed_steps, ask).await {
        Ok(planned) => planned,
        // Kept in the job run: inputs by name only, since a message about a value could show it.
        Err(e) if e.code == "INVALID_INPUTS" => {
            let names: Vec<String> = e
                .details
                .as_ref()
                .and_then(|d| d["inputs"].as_array())
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "'{}' of workflow {}",
                        p["name"].as_str().unwrap_or(""),
                        p["workflowId"].as_str().unwrap_or("-")
                    )
                })
                .collect();
            failed(e.code, format!("the schedule's inputs no longer fit its job: {}", names.join(", ")))
        }
        Err(e) => failed(e.code, e.message),
    }
}
