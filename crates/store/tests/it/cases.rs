use std::collections::HashSet;

use futures_util::future::join_all;
use libtest_mimic::Failed;
use serde_json::json;
use store::{
    ArtifactsOf, Clock, Error, Fairness, Finish, IdentityPatch, Lease, LoginRecord, NewArtifact, NewIdentity, NewRun,
    NewWorkflow, PageRequest, Role, RunError, RunFilter, RunStatus, SealedCredentials, SegmentCursor, SegmentExecution,
    SessionOutcome, SessionStatus, Store, TimeLimits, VersionRef, WorkflowFilter, WorkflowPatch, WorkflowType,
};

use crate::backends::Case;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        pub const ALL: &[(&str, Case)] = &[$((stringify!($name), |s, c| Box::pin($name(s, c)))),*];
    };
}

cases![
    versions_drafts_and_publishing,
    deleted_workflows_stay_readable,
    workflows_are_found_by_name_or_part_of_it,
    organizations_are_isolated,
    api_keys_authenticate_until_revoked,
    run_lists_page_without_gaps_or_duplicates,
    paging_is_stable_while_runs_are_inserted,
    concurrent_claims_take_each_run_once,
    an_expired_lease_fails_the_run_as_worker_lost,
    an_expired_lease_requeues_when_attempts_remain,
    heartbeats_keep_a_lease_alive,
    cancelling_pending_and_running_runs,
    only_the_owner_finishes_a_run,
    segments_are_listed_in_order,
    metrics_counts,
    healed_drafts_carry_their_notes_and_check,
    a_lost_lease_writes_nothing_and_the_next_attempt_records_afresh,
    claims_take_turns_between_organizations,
    one_organization_never_holds_every_slot,
    runs_keep_the_time_limits_asked_for,
    artifacts_are_recorded_under_the_lease_and_expire,
    identities_keep_sealed_credentials_and_forget_their_session,
    one_identity_runs_one_at_a_time_and_keeps_its_login,
    publishing_waits_for_the_writes_of_workers,
];

pub(crate) fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn doc(name: &str) -> String {
    json!({"name": name, "startSegmentName": "a", "segments": []}).to_string()
}

fn new_workflow(name: &str) -> NewWorkflow {
    NewWorkflow {
        name: name.into(),
        source_provider: Some("demo".into()),
        ty: WorkflowType::UserDefined,
        description: None,
        definition: doc(name),
    }
}

pub(crate) async fn workflow(store: &Store, org: &str, name: &str) -> Result<store::Workflow, Failed> {
    Ok(store.tenant(org).create_workflow(new_workflow(name)).await?)
}

pub(crate) fn new_run(workflow_id: &str, test: bool, max_attempts: i64) -> NewRun {
    NewRun {
        identity_id: None,
        deferred_inputs: Vec::new(),
        input_timeout_ms: None,
        workflow_id: workflow_id.into(),
        workflow_version: Some(1),
        definition: doc("snapshot"),
        inputs: json!({"password": "********"}),
        sealed_inputs: "sealed".into(),
        test,
        max_attempts,
        limits: TimeLimits::default(),
        artifacts: None,
    }
}

/// Fairness that never holds a claim back.
pub(crate) const ROOMY: Fairness = Fairness { max_runs_per_org: 1_000 };

async fn versions_drafts_and_publishing(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    check(w.latest_version == 1, "created at version 1")?;
    let patched = store
        .tenant(&org.id)
        .update_workflow(
            &w.id,
            WorkflowPatch { definition: Some(doc("v2")), name: Some("renamed".into()), ..Default::default() },
        )
        .await?;
    check(patched.latest_version == 2 && patched.name == "renamed", "a new definition publishes version 2")?;
    check(
        matches!(store.tenant(&org.id).publish_draft(&w.id).await, Err(Error::Conflict(_))),
        "publishing without a draft conflicts",
    )?;
    store.tenant(&org.id).put_draft(&w.id, &doc("draft-1")).await?;
    store.tenant(&org.id).put_draft(&w.id, &doc("draft-2")).await?;
    let draft = store.tenant(&org.id).get_version(&w.id, VersionRef::Draft).await?;
    check(draft.definition == doc("draft-2") && draft.version.is_none(), "the draft holds the last put")?;
    let latest = store.tenant(&org.id).get_version(&w.id, VersionRef::Latest).await?;
    check(latest.definition == doc("v2"), "a draft does not change the latest version")?;
    let published = store.tenant(&org.id).publish_draft(&w.id).await?;
    check(published.version == Some(3), "publishing makes the next version")?;
    check(
        matches!(store.tenant(&org.id).get_version(&w.id, VersionRef::Draft).await, Err(Error::NotFound)),
        "publishing consumes the draft",
    )?;
    let v1 = store.tenant(&org.id).get_version(&w.id, VersionRef::Number(1)).await?;
    check(v1.definition == doc("w"), "published versions keep their definition")?;
    let versions = store.tenant(&org.id).list_versions(&w.id, &PageRequest { limit: 2, cursor: None }).await?;
    let numbers: Vec<_> = versions.items.iter().map(|v| v.version).collect();
    check(
        numbers == [Some(3), Some(2)] && versions.next_cursor.is_some(),
        format!("newest first, paged: {numbers:?}"),
    )?;
    let rest =
        store.tenant(&org.id).list_versions(&w.id, &PageRequest { limit: 2, cursor: versions.next_cursor }).await?;
    check(rest.items.len() == 1 && rest.items[0].version == Some(1) && rest.next_cursor.is_none(), "last page")
}

async fn workflows_are_found_by_name_or_part_of_it(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    for name in ["Payroll export", "payroll_import", "Shop 100% check", "Shop 1000 check"] {
        workflow(&store, &org.id, name).await?;
    }
    let tenant = store.tenant(&org.id);
    let mut found = Vec::new();
    let search = |text: &str| WorkflowFilter { search: Some(text.into()), ..WorkflowFilter::default() };
    let exact = WorkflowFilter { name: Some("Payroll export".into()), ..WorkflowFilter::default() };
    for filter in [search("PAYROLL"), search("100%"), search("_"), exact, search("nothing")] {
        let page = tenant.list_workflows(&filter, &PageRequest::default()).await?;
        let mut names: Vec<String> = page.items.into_iter().map(|w| w.name).collect();
        names.sort();
        found.push(names);
    }
    let expected: [&[&str]; 5] = [
        &["Payroll export", "payroll_import"], // any case
        &["Shop 100% check"],                  // % is a character, not a wildcard
        &["payroll_import"],                   // and so is _
        &["Payroll export"],                   // the exact name
        &[],
    ];
    check(found.iter().zip(expected).all(|(got, want)| got == want), format!("{found:?}"))
}

async fn deleted_workflows_stay_readable(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "gone").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    store.tenant(&org.id).delete_workflow(&w.id).await?;
    let listed = store.tenant(&org.id).list_workflows(&WorkflowFilter::default(), &PageRequest::default()).await?;
    check(listed.items.is_empty(), "deleted workflows are not listed")?;
    check(store.tenant(&org.id).get_workflow(&w.id).await?.deleted_at.is_some(), "but can be read")?;
    store.tenant(&org.id).get_version(&w.id, VersionRef::Number(1)).await?;
    store.tenant(&org.id).get_run(&run.id).await?;
    check(
        matches!(store.tenant(&org.id).put_draft(&w.id, &doc("x")).await, Err(Error::NotFound)),
        "and no longer change",
    )?;
    check(
        matches!(store.tenant(&org.id).delete_workflow(&w.id).await, Err(Error::NotFound)),
        "deleting twice is not found",
    )
}

/// Every public method of `store::Tenant`, each exercised below from another
/// organization's handle. `tenant_methods_are_all_covered` (a guard) fails when
/// `Tenant` gains a method this list does not name.
pub const ISOLATED_TENANT_METHODS: &[&str] = &[
    "create_webhook",
    "list_webhooks",
    "get_webhook",
    "update_webhook",
    "delete_webhook",
    "rotate_webhook_secret",
    "list_deliveries",
    "get_delivery",
    "retry_delivery",
    "create_workflow",
    "get_workflow",
    "get_live_workflow",
    "list_workflows",
    "update_workflow",
    "delete_workflow",
    "put_draft",
    "save_healed_draft",
    "record_draft_check",
    "get_version",
    "list_versions",
    "publish_draft",
    "create_run",
    "get_run",
    "list_runs",
    "list_segments",
    "run_events",
    "request_cancel",
    "seed_completed_runs",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
    "list_artifacts",
    "get_artifact",
    "create_identity",
    "list_identities",
    "get_identity",
    "update_identity",
    "delete_identity",
    "forget_identity_session",
    "identity_secrets",
    "login_workflow_of",
    "supply_input",
    "create_job",
    "get_job",
    "job_with_sealed_steps",
    "list_jobs",
    "update_job",
    "delete_job",
    "create_job_run",
    "get_job_run",
    "list_job_runs",
    "cancel_job_run",
    "create_schedule",
    "get_schedule",
    "list_schedules",
    "update_schedule",
    "delete_schedule",
];

/// The methods an isolation check has exercised, so the case can prove it missed none.
#[derive(Default)]
struct Covered(HashSet<&'static str>);

impl Covered {
    fn check(&mut self, method: &'static str, ok: bool, what: &str) -> Result<(), Failed> {
        self.0.insert(method);
        check(ok, format!("{method}: {what}"))
    }

    fn not_found<T>(&mut self, method: &'static str, result: store::Result<T>) -> Result<(), Failed> {
        self.check(method, matches!(result, Err(Error::NotFound)), "another organization's row is not found")
    }
}

async fn organizations_are_isolated(store: Store, _: Clock) -> Result<(), Failed> {
    let (a_org, b_org) = (store.create_org("a").await?, store.create_org("b").await?);
    let (a, b) = (store.tenant(&a_org.id), store.tenant(&b_org.id));
    let hook = a.create_webhook(&crate::webhooks::new_webhook(&["*"])).await?;
    let w = workflow(&store, &a_org.id, "mine").await?;
    a.update_workflow(&w.id, WorkflowPatch { definition: Some(doc("v2")), ..Default::default() }).await?;
    // A finished run of a's with an artifact.
    let evidence = a.create_run(new_run(&w.id, false, 1)).await?;
    let lease = store.claim("w", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    check(store.record_artifacts(&lease, &[artifact("end.png")]).await?, "recorded")?;
    store.finish(&lease, Finish { status: RunStatus::Completed, outputs: None, error: None }).await?;
    let shot = a.list_artifacts(ArtifactsOf::Run(&evidence.id), &PageRequest::default()).await?.items[0].clone();
    let run = a.create_run(new_run(&w.id, false, 1)).await?;
    a.save_healed_draft(&w.id, &doc("healed"), &["healed".to_owned()], &run.id).await?;
    let (key, clear) = a.create_api_key("a's", Role::Admin).await?;
    let login = a.create_identity(&new_identity("shop", Some(&w.id))).await?;
    let all = PageRequest::default();
    let mut covered = Covered::default();
    let job = a.create_job(new_job(None)).await?;
    let job_run = a.create_job_run(new_job_run(&job.id, &w.id)).await?;
    let schedule = a.create_schedule(new_schedule(&job.id)).await?;

    // What b creates is b's: it never lands in a's lists, and it cannot point at a's rows.
    let theirs = b.create_workflow(new_workflow("theirs")).await?;
    covered.check("create_workflow", theirs.org_id == b_org.id, "b's workflow belongs to b")?;
    covered.not_found("create_run", b.create_run(new_run(&w.id, false, 1)).await)?;
    covered.not_found("seed_completed_runs", b.seed_completed_runs(&w.id, 3).await)?;
    let (b_key, b_clear) = b.create_api_key("b's", Role::Admin).await?;
    let who = store.authenticate(&b_clear).await?.ok_or("b's key authenticates")?;
    covered.check("create_api_key", who.org_id == b_org.id && b_key.org_id == b_org.id, "b's key is b's")?;

    let b_login = b.create_identity(&new_identity("shop", None)).await?;
    covered.check("create_identity", b_login.id != login.id, "b's identity is b's, even named like a's")?;
    covered.not_found("create_identity", b.create_identity(&new_identity("uses a's workflow", Some(&w.id))).await)?;

    covered.not_found("create_job", b.create_job(new_job(Some(&login.id))).await)?;
    let b_job = b.create_job(new_job(None)).await?;
    covered.check("create_job", b_job.id != job.id, "b's job is b's")?;
    covered.not_found("create_job_run", b.create_job_run(new_job_run(&job.id, &w.id)).await)?;
    covered.not_found("create_job_run", b.create_job_run(new_job_run(&b_job.id, &w.id)).await)?;
    covered.not_found("create_schedule", b.create_schedule(new_schedule(&job.id)).await)?;

    let delivery = a.list_deliveries(&hook.id, &all).await?.items.pop().ok_or("a's webhook heard a's run")?;
    let b_hook = b.create_webhook(&crate::webhooks::new_webhook(&["*"])).await?;
    covered.check("create_webhook", b_hook.id != hook.id, "b's webhook is b's")?;
    let b_hooks = b.list_webhooks(&all).await?.items;
    covered.check("list_webhooks", b_hooks.iter().all(|h| h.id == b_hook.id), "b lists only its own")?;
    covered.not_found("get_webhook", b.get_webhook(&hook.id).await)?;
    covered.not_found("list_deliveries", b.list_deliveries(&hook.id, &all).await)?;
    covered.not_found("get_delivery", b.get_delivery(&hook.id, &delivery.id).await)?;
    covered.not_found("get_delivery", b.get_delivery(&b_hook.id, &delivery.id).await)?;
    let redirect = store::WebhookPatch { url: Some("https://b.example/steal".into()), ..Default::default() };
    covered.not_found("update_webhook", b.update_webhook(&hook.id, &redirect).await)?;
    covered.not_found("rotate_webhook_secret", b.rotate_webhook_secret(&hook.id, "b's", 1000).await)?;
    covered.not_found("retry_delivery", b.retry_delivery(&hook.id, &delivery.id).await)?;
    covered.not_found("retry_delivery", b.retry_delivery(&b_hook.id, &delivery.id).await)?;
    covered.not_found("delete_webhook", b.delete_webhook(&hook.id).await)?;
    check(a.get_webhook(&hook.id).await? == hook, "a's webhook is untouched")?;
    check(a.get_delivery(&hook.id, &delivery.id).await? == delivery, "a's delivery is untouched")?;

    // a's rows are invisible to b.
    covered.not_found("get_workflow", b.get_workflow(&w.id).await)?;
    covered.not_found("get_live_workflow", b.get_live_workflow(&w.id).await)?;
    let listed = b.list_workflows(&WorkflowFilter::default(), &all).await?;
    covered.check("list_workflows", listed.items.iter().all(|x| x.id == theirs.id), "b lists only its own")?;
    for which in [VersionRef::Draft, VersionRef::Latest, VersionRef::Number(1)] {
        covered.not_found("get_version", b.get_version(&w.id, which).await)?;
    }
    covered.not_found("list_versions", b.list_versions(&w.id, &all).await)?;
    covered.not_found("get_run", b.get_run(&run.id).await)?;
    let runs = b.list_runs(&RunFilter::default(), &all).await?;
    covered.check("list_runs", runs.items.is_empty(), "b lists none of a's runs")?;
    let by_workflow = RunFilter { workflow_id: Some(w.id.clone()), ..Default::default() };
    covered.check("list_runs", b.list_runs(&by_workflow, &all).await?.items.is_empty(), "not even by a's workflow")?;
    covered.not_found("list_segments", b.list_segments(&run.id, SegmentCursor::default(), 100).await)?;
    check(!a.run_events(&run.id, 0, 100).await?.is_empty(), "a's run has events")?;
    covered.check("run_events", b.run_events(&run.id, 0, 100).await?.is_empty(), "b reads none of a's run events")?;
    covered.not_found("get_artifact", b.get_artifact(&shot.id).await)?;
    covered.not_found("list_artifacts", b.list_artifacts(ArtifactsOf::Run(&evidence.id), &all).await)?;
    covered.not_found("list_artifacts", b.list_artifacts(ArtifactsOf::Workflow(&w.id), &all).await)?;
    let keys = b.list_api_keys().await?;
    covered.check("list_api_keys", keys.iter().all(|k| k.id == b_key.id), "b lists only its own keys")?;
    covered.not_found("get_identity", b.get_identity(&login.id).await)?;
    covered.not_found("identity_secrets", b.identity_secrets(&login.id).await)?;
    let borrowed = b.login_workflow_of(&login).await?;
    covered.check("login_workflow_of", borrowed.is_err(), "b cannot sign in with a's LOGIN workflow")?;
    let identities = b.list_identities(&all).await?.items;
    covered.check("list_identities", identities.iter().all(|i| i.id == b_login.id), "b lists only its own")?;

    covered.not_found("get_job", b.get_job(&job.id).await)?;
    covered.not_found("job_with_sealed_steps", b.job_with_sealed_steps(&job.id).await)?;
    covered.check("list_jobs", b.list_jobs(&all).await?.items.iter().all(|j| j.id == b_job.id), "b lists its own")?;
    covered.not_found("get_job_run", b.get_job_run(&job_run.id).await)?;
    let job_runs = b.list_job_runs(&store::JobRunFilter::default(), &all).await?;
    covered.check("list_job_runs", job_runs.items.is_empty(), "b lists none of a's job runs")?;
    covered.not_found("get_schedule", b.get_schedule(&schedule.id).await)?;
    covered.not_found("list_schedules", b.list_schedules(&job.id, &all).await)?;

    // a's rows cannot be changed through b.
    let rename = WorkflowPatch { name: Some("stolen".into()), definition: Some(doc("stolen")), ..Default::default() };
    covered.not_found("update_workflow", b.update_workflow(&w.id, rename).await)?;
    covered.not_found("put_draft", b.put_draft(&w.id, &doc("stolen")).await)?;
    let notes = ["stolen".to_owned()];
    covered.not_found("save_healed_draft", b.save_healed_draft(&w.id, &doc("stolen"), &notes, &run.id).await)?;
    b.record_draft_check(&w.id, &run.id, false, Some("stolen".into())).await?;
    let healing = a.get_version(&w.id, VersionRef::Draft).await?.healing.ok_or("a's draft is still healed")?;
    covered.check("record_draft_check", healing.check_status == "PENDING", "a's draft check is untouched")?;
    covered.not_found("publish_draft", b.publish_draft(&w.id).await)?;
    covered.not_found("request_cancel", b.request_cancel(&run.id).await)?;
    covered.not_found("supply_input", b.supply_input(&run.id, "otp_code", "sealed").await)?;
    covered.not_found("revoke_api_key", b.revoke_api_key(&key.id).await)?;
    covered.not_found("delete_workflow", b.delete_workflow(&w.id).await)?;
    let steal = IdentityPatch { name: Some("stolen".into()), ..Default::default() };
    covered.not_found("update_identity", b.update_identity(&login.id, &steal).await)?;
    let repoint = IdentityPatch { login_workflow_id: Some(Some(w.id.clone())), ..Default::default() };
    covered.not_found("update_identity", b.update_identity(&b_login.id, &repoint).await)?;
    covered.not_found("forget_identity_session", b.forget_identity_session(&login.id).await)?;
    covered.not_found("delete_identity", b.delete_identity(&login.id).await)?;

    let rename = store::JobPatch { name: Some("stolen".into()), ..Default::default() };
    covered.not_found("update_job", b.update_job(&job.id, rename).await)?;
    let borrow = store::JobPatch { identity_id: Some(Some(login.id.clone())), ..Default::default() };
    covered.not_found("update_job", b.update_job(&b_job.id, borrow).await)?;
    covered.not_found("cancel_job_run", b.cancel_job_run(&job_run.id).await)?;
    let off = store::SchedulePatch { enabled: Some(false), ..Default::default() };
    covered.not_found("update_schedule", b.update_schedule(&schedule.id, off).await)?;
    covered.not_found("delete_schedule", b.delete_schedule(&schedule.id).await)?;
    covered.not_found("delete_job", b.delete_job(&job.id).await)?;
    check(a.get_job(&job.id).await?.name == "nightly", "a's job is untouched")?;
    check(a.get_job_run(&job_run.id).await?.status == store::JobRunStatus::Pending, "a's job run is untouched")?;
    check(a.get_schedule(&schedule.id).await?.enabled, "a's schedule is untouched")?;

    // And a finds everything as it left it.
    let mine = a.get_workflow(&w.id).await?;
    check(mine.name == "mine" && mine.latest_version == 2 && mine.deleted_at.is_none(), "a's workflow is untouched")?;
    check(a.get_version(&w.id, VersionRef::Draft).await?.definition == doc("healed"), "a's draft is untouched")?;
    let after = a.get_run(&run.id).await?;
    check(after.status == RunStatus::Pending && !after.cancel_requested, "a's run is untouched")?;
    check(a.list_runs(&RunFilter::default(), &all).await?.items.len() == 3, "no run was added to a")?;
    check(a.get_artifact(&shot.id).await? == shot, "a's artifact is untouched")?;
    check(a.get_identity(&login.id).await? == login, "a's identity is untouched")?;
    check(store.authenticate(&clear).await?.is_some(), "a's key still authenticates")?;

    let missed: Vec<_> = ISOLATED_TENANT_METHODS.iter().filter(|m| !covered.0.contains(*m)).collect();
    check(missed.is_empty(), format!("tenant methods not exercised across organizations: {missed:?}"))
}

async fn api_keys_authenticate_until_revoked(store: Store, _: Clock) -> Result<(), Failed> {
    check(store.is_empty().await?, "a new database is empty")?;
    let org = store.create_org("acme").await?;
    check(!store.is_empty().await?, "not empty after the first organization")?;
    let (key, clear) = store.create_api_key(&org.id, "ci", Role::Member).await?;
    let who = store.authenticate(&clear).await?.ok_or("the key authenticates")?;
    check(who.org_id == org.id && who.role == Role::Member && who.key_id == key.id, "principal")?;
    check(store.authenticate("sk_wrong").await?.is_none(), "unknown keys do not")?;
    check(store.tenant(&org.id).list_api_keys().await?.len() == 1, "listed")?;
    store.tenant(&org.id).revoke_api_key(&key.id).await?;
    check(store.authenticate(&clear).await?.is_none(), "revoked keys do not")
}

async fn run_lists_page_without_gaps_or_duplicates(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w1 = workflow(&store, &org.id, "one").await?;
    let w2 = workflow(&store, &org.id, "two").await?;
    let mut created = Vec::new();
    for i in 0..45 {
        let w = if i % 3 == 0 { &w2 } else { &w1 };
        created.push(store.tenant(&org.id).create_run(new_run(&w.id, i % 5 == 0, 1)).await?.id);
    }
    let mut seen = Vec::new();
    let mut page = PageRequest { limit: 20, cursor: None };
    let mut sizes = Vec::new();
    loop {
        let got = store.tenant(&org.id).list_runs(&RunFilter::default(), &page).await?;
        sizes.push(got.items.len());
        seen.extend(got.items.into_iter().map(|r| r.run.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    created.reverse();
    check(sizes == [20, 20, 5], format!("page sizes {sizes:?}"))?;
    check(seen == created, "every run once, newest first")?;
    let by_workflow = RunFilter { workflow_id: Some(w2.id.clone()), ..Default::default() };
    check(
        store.tenant(&org.id).list_runs(&by_workflow, &PageRequest { limit: 100, cursor: None }).await?.items.len()
            == 15,
        "by workflow",
    )?;
    let tests = RunFilter { test: Some(true), ..Default::default() };
    check(
        store.tenant(&org.id).list_runs(&tests, &PageRequest { limit: 100, cursor: None }).await?.items.len() == 9,
        "test runs",
    )?;
    let pending = RunFilter { status: Some(RunStatus::Pending), ..Default::default() };
    check(
        store.tenant(&org.id).list_runs(&pending, &PageRequest { limit: 100, cursor: None }).await?.items.len() == 45,
        "by status",
    )?;
    let bad = PageRequest { limit: 20, cursor: Some("nonsense!".into()) };
    check(
        matches!(store.tenant(&org.id).list_runs(&RunFilter::default(), &bad).await, Err(Error::BadCursor)),
        "bad cursors are rejected",
    )
}

async fn paging_is_stable_while_runs_are_inserted(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let mut before = HashSet::new();
    for _ in 0..30 {
        before.insert(store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?.id);
    }
    let inserter = {
        let (store, org_id, wid) = (store.clone(), org.id.clone(), w.id.clone());
        tokio::spawn(async move {
            for _ in 0..30 {
                store.tenant(&org_id).create_run(new_run(&wid, false, 1)).await.expect("insert");
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut page = PageRequest { limit: 7, cursor: None };
    loop {
        let got = store.tenant(&org.id).list_runs(&RunFilter::default(), &page).await?;
        seen.extend(got.items.into_iter().map(|r| r.run.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    inserter.await?;
    let unique: HashSet<_> = seen.iter().cloned().collect();
    check(unique.len() == seen.len(), "no run appears twice")?;
    check(before.is_subset(&unique), "every run that existed before is seen")
}

async fn concurrent_claims_take_each_run_once(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    for _ in 0..60 {
        store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    }
    let claimers = (0..6).map(|k| {
        let store = store.clone();
        async move {
            let mut mine = Vec::new();
            while let Some(run) = store.claim(&format!("worker-{k}"), 60_000, ROOMY).await.expect("claim") {
                mine.push(run.lease.run_id);
            }
            mine
        }
    });
    let claimed: Vec<String> = join_all(claimers).await.into_iter().flatten().collect();
    let unique: HashSet<_> = claimed.iter().collect();
    check(claimed.len() == 60 && unique.len() == 60, format!("{} claims, {} distinct", claimed.len(), unique.len()))?;
    check(store.queue_depth().await? == 0, "queue drained")
}

async fn an_expired_lease_fails_the_run_as_worker_lost(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let claimed = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    check(claimed.lease.run_id == run.id && claimed.lease.attempt == 1, "first attempt")?;
    clock.advance(9_000);
    check(store.reap_expired().await? == (0, 0), "a live lease is left alone")?;
    clock.advance(2_000);
    check(store.reap_expired().await? == (0, 1), "an expired lease fails the run")?;
    let after = store.tenant(&org.id).get_run(&run.id).await?;
    let code = after.error.as_ref().map(|e| e.code.as_str());
    check(after.status == RunStatus::Failed && code == Some("WORKER_LOST"), format!("{after:?}"))?;
    check(store.heartbeat(&claimed.lease, 10_000).await?.is_none(), "the lost worker's heartbeat is refused")?;
    let finish = Finish { status: RunStatus::Completed, outputs: Some(json!({})), error: None };
    check(!store.finish(&claimed.lease, finish).await?, "and so is its result")
}

async fn an_expired_lease_requeues_when_attempts_remain(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 2)).await?;
    store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    clock.advance(11_000);
    check(store.reap_expired().await? == (1, 0), "re-queued")?;
    check(store.tenant(&org.id).get_run(&run.id).await?.status == RunStatus::Pending, "pending again")?;
    let again = store.claim("w2", 10_000, ROOMY).await?.ok_or("claimed again")?;
    check(again.lease.attempt == 2, "second attempt counted")?;
    clock.advance(11_000);
    check(store.reap_expired().await? == (0, 1), "no attempts left: failed")
}

async fn heartbeats_keep_a_lease_alive(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let claimed = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    for _ in 0..5 {
        clock.advance(6_000);
        check(store.heartbeat(&claimed.lease, 10_000).await? == Some(false), "heartbeat accepted")?;
        check(store.reap_expired().await? == (0, 0), "lease alive")?;
    }
    check(store.tenant(&org.id).get_run(&run.id).await?.status == RunStatus::InProgress, "still running")
}

/// Publishing reads the draft before it writes. A worker's claims and heartbeats
/// write all the while; publishing must wait for them, never fail (on SQLite a
/// transaction that has read cannot wait for the write lock: it failed with
/// "database is locked" when a claim held the lock at that moment).
async fn publishing_waits_for_the_writes_of_workers(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let lease = store.claim("w1", 60_000, ROOMY).await?.ok_or("claimed")?.lease;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let worker = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move {
            // An empty queue's claim holds the write lock, a heartbeat writes the run's row.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.claim("w2", 60_000, ROOMY).await?;
                store.heartbeat(&lease, 60_000).await?;
            }
            Ok::<(), store::Error>(())
        }
    });
    let publishing = async {
        for n in 0..100 {
            store.tenant(&org.id).put_draft(&w.id, &doc(&format!("draft-{n}"))).await?;
            let published =
                store.tenant(&org.id).publish_draft(&w.id).await.map_err(|e| format!("publish {n}: {e}"))?;
            check(published.version == Some(n + 2), format!("publish {n} made version {:?}", published.version))?;
        }
        Ok::<(), Failed>(())
    }
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worked = worker.await?;
    publishing?;
    Ok(worked?)
}

async fn cancelling_pending_and_running_runs(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let running = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let pending = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let claimed = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    let cancelled = store.tenant(&org.id).request_cancel(&pending.id).await?;
    check(
        cancelled.status == RunStatus::Cancelled && cancelled.completed_at.is_some(),
        "a pending run is cancelled at once",
    )?;
    let asked = store.tenant(&org.id).request_cancel(&running.id).await?;
    check(asked.status == RunStatus::InProgress && asked.cancel_requested, "a running run is asked to stop")?;
    check(store.heartbeat(&claimed.lease, 10_000).await? == Some(true), "its worker hears it")?;
    check(store.claim("w2", 10_000, ROOMY).await?.is_none(), "a cancelled run is never claimed")
}

async fn only_the_owner_finishes_a_run(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let lease = store.claim("owner", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    let done = |status| Finish { status, outputs: Some(json!({"x": 1})), error: None };
    let intruder = Lease { worker: "intruder".into(), ..lease.clone() };
    check(!store.finish(&intruder, done(RunStatus::Failed)).await?, "another worker cannot finish it")?;
    check(store.finish(&lease, done(RunStatus::Completed)).await?, "the owner can")?;
    let after = store.tenant(&org.id).get_run(&run.id).await?;
    check(after.status == RunStatus::Completed && after.outputs == Some(json!({"x": 1})), "outputs stored")?;
    check(!store.finish(&lease, done(RunStatus::Failed)).await?, "a finished run stays finished")
}

async fn segments_are_listed_in_order(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    let lease = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    let run = store.tenant(&org.id).get_run(&lease.run_id).await?;
    for sequence in 1..=3 {
        let error = (sequence == 3).then(|| RunError {
            segment_name: Some("s3".into()),
            code: "SEGMENT_THREW".into(),
            message: "boom".into(),
        });
        let s = SegmentExecution {
            attempt: 1,
            sequence,
            segment_name: format!("s{sequence}"),
            mode: "code".into(),
            status: if error.is_some() { "FAILED" } else { "COMPLETED" }.into(),
            started_at: 1,
            duration_ms: 10 * sequence,
            error,
            logs: vec![format!("line {sequence}")],
            fallback_error: (sequence == 2).then(|| RunError {
                segment_name: Some("s2".into()),
                code: "SEGMENT_THREW".into(),
                message: "selector".into(),
            }),
            tokens: (sequence == 2).then_some((100, 7)),
        };
        check(store.record_segment(&lease, &s).await?, "recorded under the lease")?;
    }
    let all = store.tenant(&org.id).list_segments(&run.id, SegmentCursor::default(), 100).await?;
    let names: Vec<&str> = all.iter().map(|s| s.segment_name.as_str()).collect();
    check(names == ["s1", "s2", "s3"], format!("{names:?}"))?;
    check(
        all[2].error.as_ref().map(|e| e.message.as_str()) == Some("boom") && all[0].logs == ["line 1"],
        "fields round-trip",
    )?;
    check(
        store.tenant(&org.id).list_segments(&run.id, SegmentCursor { attempt: 1, sequence: 2 }, 100).await?.len() == 1,
        "after a sequence",
    )?;
    check(
        all[1].tokens == Some((100, 7)) && all[1].fallback_error.is_some() && all[0].tokens.is_none(),
        "agent evidence",
    )?;
    let totals = store.tenant(&org.id).get_run(&run.id).await?;
    check(totals.ai_fallback && (totals.input_tokens, totals.output_tokens) == (100, 7), "run totals")
}

async fn metrics_counts(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    for _ in 0..3 {
        store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    }
    store.claim("w", 1_000, ROOMY).await?;
    let counts = store.count_runs_by_status().await?;
    check(
        counts.contains(&(RunStatus::Pending, 2)) && counts.contains(&(RunStatus::InProgress, 1)),
        format!("{counts:?}"),
    )?;
    check(store.queue_depth().await? == 2, "queue depth")
}

async fn healed_drafts_carry_their_notes_and_check(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    store.tenant(&org.id).save_healed_draft(&w.id, &doc("healed"), &["segment 'a' healed".to_owned()], &run.id).await?;
    let draft = store.tenant(&org.id).get_version(&w.id, VersionRef::Draft).await?;
    let healing = draft.healing.ok_or("healing recorded")?;
    check(
        healing.notes == ["segment 'a' healed"] && healing.from_run == run.id && healing.check_status == "PENDING",
        "notes",
    )?;
    check(store.tenant(&org.id).get_run(&run.id).await?.healed_draft, "the run says it healed a draft")?;
    check(
        store.tenant(&org.id).get_version(&w.id, VersionRef::Latest).await?.definition == doc("w"),
        "nothing was published",
    )?;
    store.tenant(&org.id).record_draft_check(&w.id, &run.id, true, None).await?;
    let checked = store.tenant(&org.id).get_version(&w.id, VersionRef::Draft).await?.healing.ok_or("healing")?;
    check(checked.check_status == "PASSED", "check recorded")?;
    store.tenant(&org.id).put_draft(&w.id, &doc("by hand")).await?;
    store.tenant(&org.id).record_draft_check(&w.id, &run.id, false, Some("late".into())).await?;
    check(
        store.tenant(&org.id).get_version(&w.id, VersionRef::Draft).await?.healing.is_none(),
        "a draft saved by hand is not a healed one",
    )
}

pub(crate) fn execution(attempt: i64, sequence: i64, name: &str) -> SegmentExecution {
    SegmentExecution {
        attempt,
        sequence,
        segment_name: name.into(),
        mode: "code".into(),
        status: "COMPLETED".into(),
        started_at: 1,
        duration_ms: 1,
        error: None,
        logs: vec![],
        fallback_error: None,
        tokens: Some((10, 1)),
    }
}

async fn a_lost_lease_writes_nothing_and_the_next_attempt_records_afresh(
    store: Store,
    clock: Clock,
) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let run = store.tenant(&org.id).create_run(new_run(&w.id, false, 2)).await?;
    let first = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    check(store.record_segment(&first, &execution(1, 1, "a")).await?, "the first attempt records")?;
    clock.advance(11_000);
    check(store.reap_expired().await? == (1, 0), "re-queued")?;
    // The same worker claims the next attempt: its name alone no longer tells the leases apart.
    let second = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed again")?.lease;
    check(second.attempt == 2 && second.worker == first.worker, "a second attempt by the same worker")?;
    check(store.heartbeat(&first, 10_000).await?.is_none(), "the stale lease's heartbeat is refused")?;
    check(!store.set_current_segment(&first, "late").await?, "so is its progress")?;
    check(!store.record_segment(&first, &execution(1, 2, "late")).await?, "and its records")?;
    let late = Finish { status: RunStatus::Completed, outputs: Some(json!({"stale": true})), error: None };
    check(!store.finish(&first, late).await?, "and its result")?;
    check(store.set_current_segment(&second, "a").await?, "the live lease writes progress")?;
    check(store.record_segment(&second, &execution(2, 1, "a")).await?, "sequence 1 again, in attempt 2")?;
    let all = store.tenant(&org.id).list_segments(&run.id, SegmentCursor::default(), 100).await?;
    let seen: Vec<(i64, i64, &str)> = all.iter().map(|s| (s.attempt, s.sequence, s.segment_name.as_str())).collect();
    check(seen == [(1, 1, "a"), (2, 1, "a")], format!("{seen:?}"))?;
    let after_first = SegmentCursor::after(&all[0]);
    check(
        store.tenant(&org.id).list_segments(&run.id, after_first, 100).await?.len() == 1,
        "the cursor spans attempts",
    )?;
    let totals = store.tenant(&org.id).get_run(&run.id).await?;
    check(totals.input_tokens == 20 && totals.current_segment.as_deref() == Some("a"), "only live writes count")?;
    let done = Finish { status: RunStatus::Completed, outputs: Some(json!({"x": 1})), error: None };
    check(store.finish(&second, done).await?, "the live lease finishes")?;
    check(store.tenant(&org.id).get_run(&run.id).await?.outputs == Some(json!({"x": 1})), "with its outputs")
}

async fn claims_take_turns_between_organizations(store: Store, _: Clock) -> Result<(), Failed> {
    let busy = store.create_org("busy").await?;
    let quiet = store.create_org("quiet").await?;
    let wb = workflow(&store, &busy.id, "w").await?;
    let wq = workflow(&store, &quiet.id, "w").await?;
    for _ in 0..5 {
        store.tenant(&busy.id).create_run(new_run(&wb.id, false, 1)).await?;
    }
    let late = store.tenant(&quiet.id).create_run(new_run(&wq.id, false, 1)).await?;
    let mut order = Vec::new();
    while let Some(claimed) = store.claim("w1", 10_000, ROOMY).await? {
        order.push(if claimed.org_id == quiet.id { "quiet" } else { "busy" });
        check(claimed.lease.run_id != late.id || order.len() == 2, "the quiet organization's run goes second")?;
    }
    check(order == ["busy", "quiet", "busy", "busy", "busy", "busy"], format!("{order:?}"))
}

async fn one_organization_never_holds_every_slot(store: Store, _: Clock) -> Result<(), Failed> {
    let busy = store.create_org("busy").await?;
    let wb = workflow(&store, &busy.id, "w").await?;
    for _ in 0..4 {
        store.tenant(&busy.id).create_run(new_run(&wb.id, false, 1)).await?;
    }
    let one = Fairness { max_runs_per_org: 1 };
    check(store.claim("w1", 10_000, one).await?.is_some(), "first run")?;
    check(store.claim("w1", 10_000, one).await?.is_some(), "alone in the database, an organization is not capped")?;
    let other = store.create_org("other").await?;
    check(store.claim("w1", 10_000, one).await?.is_none(), "with another organization, the cap holds")?;
    check(store.claim("w2", 10_000, one).await?.is_some(), "per worker: another worker still takes one")?;
    let wo = workflow(&store, &other.id, "w").await?;
    let theirs = store.tenant(&other.id).create_run(new_run(&wo.id, false, 1)).await?;
    let claimed = store.claim("w1", 10_000, one).await?.ok_or("the other organization's run is claimed")?;
    check(claimed.lease.run_id == theirs.id, "the slot kept free serves the other organization")
}

async fn runs_keep_the_time_limits_asked_for(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let w = workflow(&store, &org.id, "w").await?;
    let limits = TimeLimits { segment_ms: Some(1_500), run_ms: Some(60_000) };
    let run = store.tenant(&org.id).create_run(NewRun { limits, ..new_run(&w.id, false, 1) }).await?;
    check(run.limits == limits, "stored")?;
    let plain = store.tenant(&org.id).create_run(new_run(&w.id, false, 1)).await?;
    check(plain.limits == TimeLimits::default(), "none asked for: the worker's own")?;
    let claimed = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?;
    check(claimed.limits == limits, "the worker sees them")
}

fn artifact(name: &str) -> NewArtifact {
    NewArtifact {
        kind: "screenshot".into(),
        name: name.into(),
        content_type: "image/png".into(),
        size: 42,
        sha256: "ab".repeat(32),
        segment_name: Some("a".into()),
        object_key: format!("runs/x/{name}"),
    }
}

async fn artifacts_are_recorded_under_the_lease_and_expire(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let tenant = store.tenant(&org.id);
    let w = workflow(&store, &org.id, "w").await?;
    let run = tenant.create_run(new_run(&w.id, true, 2)).await?;
    let first = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed")?.lease;
    check(store.record_artifacts(&first, &[artifact("a.png"), artifact("b.png")]).await?, "recorded")?;
    let events = tenant.run_events(&run.id, 0, 100).await?;
    let told = events.iter().filter(|e| e.kind == store::RunEventKind::ArtifactCreated).count();
    check(told == 2, format!("one event per artifact, got {told}"))?;

    // A lost lease records nothing.
    clock.advance(11_000);
    store.reap_expired().await?;
    check(!store.record_artifacts(&first, &[artifact("late.png")]).await?, "a stale lease is refused")?;
    let second = store.claim("w1", 10_000, ROOMY).await?.ok_or("claimed again")?.lease;
    check(store.record_artifacts(&second, &[artifact("c.png")]).await?, "the live lease records")?;

    let one = PageRequest { limit: 2, cursor: None };
    let page = tenant.list_artifacts(ArtifactsOf::Run(&run.id), &one).await?;
    let names: Vec<&str> = page.items.iter().map(|a| a.name.as_str()).collect();
    check(names == ["c.png", "b.png"], format!("newest first: {names:?}"))?;
    let next = PageRequest { limit: 2, cursor: page.next_cursor.clone() };
    let rest = tenant.list_artifacts(ArtifactsOf::Run(&run.id), &next).await?;
    check(rest.items.len() == 1 && rest.items[0].name == "a.png" && rest.next_cursor.is_none(), "then the last")?;
    let c = &page.items[0];
    check(c.test && c.attempt == 2 && c.workflow_id == w.id && c.run_id == run.id, "carried from the run")?;
    check(c.segment_name.as_deref() == Some("a") && c.size == 42, "as recorded")?;

    // Deleting the workflow keeps its artifacts readable, like its runs.
    tenant.delete_workflow(&w.id).await?;
    let by_workflow = tenant.list_artifacts(ArtifactsOf::Workflow(&w.id), &PageRequest::default()).await?;
    check(by_workflow.items.len() == 3, "listed by the deleted workflow")?;

    // Retention: the oldest go first, bytes then rows.
    let cutoff = store.clock().now_ms();
    clock.advance(1_000);
    let old = store.artifacts_older_than(cutoff, 2).await?;
    check(old.len() == 2 && old[0].1 == "runs/x/a.png", format!("oldest first: {old:?}"))?;
    let ids: Vec<String> = old.iter().map(|(id, _)| id.clone()).collect();
    check(store.delete_artifacts(&ids).await? == 2, "deleted")?;
    check(tenant.get_artifact(&ids[0]).await.is_err(), "gone")?;
    check(store.artifacts_older_than(cutoff, 10).await?.is_empty(), "the one left is not older")
}

fn new_job(identity_id: Option<&str>) -> store::NewJob {
    store::NewJob {
        name: "nightly".into(),
        source_provider: None,
        description: None,
        identity_id: identity_id.map(str::to_owned),
        steps: store::JobSteps { shown: json!([]), sealed: "sealed".into() },
    }
}

fn new_job_run(job_id: &str, workflow_id: &str) -> store::NewJobRun {
    store::NewJobRun {
        job_id: job_id.into(),
        test: false,
        trigger: store::Trigger::Api,
        schedule_id: None,
        identity_id: None,
        inputs: json!({}),
        steps: vec![new_run(workflow_id, false, 1)],
        failure: None,
    }
}

fn new_schedule(job_id: &str) -> store::NewSchedule {
    store::NewSchedule {
        job_id: job_id.into(),
        cron: "0 9 * * *".into(),
        timezone: "UTC".into(),
        inputs: json!({}),
        sealed_inputs: "sealed".into(),
        enabled: true,
        overlap: store::Overlap::Skip,
        next_run_at: Some(1),
    }
}

fn new_identity(name: &str, login_workflow_id: Option<&str>) -> NewIdentity {
    NewIdentity {
        name: name.into(),
        source_provider: "demo-shop".into(),
        login_workflow_id: login_workflow_id.map(str::to_owned),
        credentials: SealedCredentials {
            names: vec!["password".into(), "username".into()],
            sealed: "sealed-credentials".into(),
        },
        session_ttl_ms: store::DEFAULT_SESSION_TTL_MS,
    }
}

async fn identities_keep_sealed_credentials_and_forget_their_session(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("o").await?;
    let tenant = store.tenant(&org.id);
    let created = tenant.create_identity(&new_identity("shop", None)).await?;
    check(created.session_status == SessionStatus::None, "a new identity has no session")?;
    check(created.credential_names == ["password", "username"], "its credentials' names are listed")?;
    let secrets = tenant.identity_secrets(&created.id).await?;
    check(secrets.sealed_credentials == "sealed-credentials" && secrets.sealed_session.is_none(), "sealed as given")?;
    check(!format!("{secrets:?}").contains("sealed-credentials"), "secrets never print")?;
    let taken = tenant.create_identity(&new_identity("shop", None)).await;
    check(matches!(taken, Err(Error::Conflict(_))), format!("a second 'shop' conflicts: {taken:?}"))?;
    let mut bad = new_identity("odd", None);
    bad.credentials.names = vec!["pass word".into()];
    let refused = tenant.create_identity(&bad).await;
    check(matches!(refused, Err(Error::Invalid { field: "credentials", .. })), format!("{refused:?}"))?;

    clock.advance(1000);
    let rotated = SealedCredentials { names: vec!["totp_secret".into()], sealed: "new-seal".into() };
    let patch = IdentityPatch { credentials: Some(rotated), session_ttl_ms: Some(60_000), ..Default::default() };
    let updated = tenant.update_identity(&created.id, &patch).await?;
    check(updated.credential_names == ["totp_secret"] && updated.session_ttl_ms == 60_000, "rotated")?;
    check(updated.updated_at > created.updated_at && updated.name == "shop", "the rest is kept")?;
    check(tenant.identity_secrets(&created.id).await?.sealed_credentials == "new-seal", "the new seal is kept")?;
    let forgotten = tenant.forget_identity_session(&created.id).await?;
    check(forgotten.session_status == SessionStatus::None, "no session")?;
    let second = tenant.create_identity(&new_identity("bank", None)).await?;
    let page = tenant.list_identities(&PageRequest { limit: 1, cursor: None }).await?;
    check(page.items.len() == 1 && page.items[0].id == second.id && page.next_cursor.is_some(), "newest first")?;
    tenant.delete_identity(&created.id).await?;
    check(matches!(tenant.get_identity(&created.id).await, Err(Error::NotFound)), "deleted")?;
    Ok(())
}

async fn one_identity_runs_one_at_a_time_and_keeps_its_login(store: Store, clock: Clock) -> Result<(), Failed> {
    let org = store.create_org("o").await?;
    let tenant = store.tenant(&org.id);
    let w = workflow(&store, &org.id, "user").await?;
    let login = tenant
        .create_workflow(NewWorkflow {
            ty: WorkflowType::Login,
            source_provider: Some("demo-shop".into()),
            ..new_workflow("login")
        })
        .await?;
    let identity = tenant.create_identity(&new_identity("shop", None)).await?;
    let logins = ["identity.login_succeeded", "identity.login_failed"];
    let hook = tenant.create_webhook(&crate::webhooks::new_webhook(&logins)).await?;
    let found = tenant.login_workflow_of(&identity).await?.map_err(|e| e.to_string())?;
    check(found.id == login.id, "the only LOGIN workflow of its source provider")?;
    let as_identity = || NewRun { identity_id: Some(identity.id.clone()), ..new_run(&w.id, false, 1) };
    let first = tenant.create_run(as_identity()).await?;
    let second = tenant.create_run(as_identity()).await?;
    let plain = tenant.create_run(new_run(&w.id, false, 1)).await?;
    check(first.identity_id.as_deref() == Some(identity.id.as_str()), "the run names its identity")?;

    let a = store.claim("w1", 10_000, ROOMY).await?.ok_or("the first run")?;
    check(a.lease.run_id == first.id && a.identity_id.as_deref() == Some(identity.id.as_str()), "oldest first")?;
    let b = store.claim("w2", 10_000, ROOMY).await?.ok_or("the run without identity")?;
    check(b.lease.run_id == plain.id, format!("the second run of the identity waits: {}", b.lease.run_id))?;
    check(store.claim("w2", 10_000, ROOMY).await?.is_none(), "nothing else may start")?;

    clock.advance(500);
    let record = LoginRecord {
        workflow_id: login.id.clone(),
        workflow_version: Some(1),
        definition: doc("login"),
        inputs: json!({"username": "demo", "password": "********"}),
        status: RunStatus::Completed,
        outputs: Some(json!({})),
        error: None,
        segments: vec![execution(1, 1, "sign_in")],
        started_at: clock.now_ms() - 400,
        finished_at: clock.now_ms() - 100,
        session: SessionOutcome::Saved("sealed-session".into()),
        generation: tenant.identity_secrets(&identity.id).await?.generation,
    };
    let login_run = store.record_login(&a.lease, &identity.id, &record).await?.ok_or("recorded")?;
    let saved = tenant.get_identity(&identity.id).await?;
    check(saved.session_status == SessionStatus::Active, "the session is saved")?;
    let login_ended = clock.now_ms() - 100;
    check(
        saved.session_expires_at == Some(login_ended + store::DEFAULT_SESSION_TTL_MS),
        "its TTL from the login's end",
    )?;
    check(tenant.identity_secrets(&identity.id).await?.sealed_session.as_deref() == Some("sealed-session"), "sealed")?;
    check(tenant.get_run(&first.id).await?.login_run_id.as_deref() == Some(login_run.as_str()), "linked")?;
    let shown = tenant.get_run(&login_run).await?;
    check(shown.status == RunStatus::Completed && shown.workflow_id == login.id, "the login run is a finished run")?;
    check(tenant.list_segments(&login_run, SegmentCursor::default(), 10).await?.len() == 1, "with its segments")?;

    store.finish(&a.lease, Finish { status: RunStatus::Completed, outputs: None, error: None }).await?;
    let next = store.claim("w2", 10_000, ROOMY).await?.ok_or("the identity is free again")?;
    check(next.lease.run_id == second.id, "the second run of the identity goes now")?;
    // A login that read the identity before its session was forgotten saves nothing.
    let stale = record.generation;
    tenant.forget_identity_session(&identity.id).await?;
    store.record_login(&next.lease, &identity.id, &record).await?.ok_or("recorded")?;
    let kept_out = tenant.get_identity(&identity.id).await?;
    check(kept_out.session_status == SessionStatus::None, "a stale login does not bring the session back")?;
    let current = tenant.identity_secrets(&identity.id).await?.generation;
    check(current != stale, "forgetting moves the generation on")?;
    let failed =
        LoginRecord { status: RunStatus::Failed, session: SessionOutcome::Failed, generation: current, ..record };
    store.record_login(&next.lease, &identity.id, &failed).await?.ok_or("recorded")?;
    let after = tenant.get_identity(&identity.id).await?;
    check(after.session_status == SessionStatus::Failed, "a failed login keeps no session")?;
    check(tenant.identity_secrets(&identity.id).await?.sealed_session.is_none(), "none")?;
    // Webhooks hear each login that changed the identity, not the stale one.
    let heard = tenant.list_deliveries(&hook.id, &PageRequest::default()).await?.items;
    let heard: Vec<_> = heard.iter().rev().map(|d| (d.event_type.as_str(), d.resource_id.as_str())).collect();
    check(heard == [(logins[0], identity.id.as_str()), (logins[1], identity.id.as_str())], format!("{heard:?}"))?;
    clock.advance(store::DEFAULT_SESSION_TTL_MS + 1);
    Ok(())
}
