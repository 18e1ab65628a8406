//! What the store refuses: text it cannot keep on every backend, revoking the
//! last admin key, reading whole outputs for a list.

use futures_util::future::join;
use libtest_mimic::Failed;
use store::{Clock, Error, NewWorkflow, PageRequest, Role, RunFilter, Store, WorkflowPatch, WorkflowType, limits};

use crate::backends::Case;

pub const ALL: &[(&str, Case)] = &[
    ("the_last_admin_key_cannot_be_revoked", |s, c| Box::pin(the_last_admin_key_cannot_be_revoked(s, c))),
    ("admins_revoking_each_other_at_once_leave_one", |s, c| {
        Box::pin(admins_revoking_each_other_at_once_leave_one(s, c))
    }),
    ("stored_text_is_checked_the_same_on_every_backend", |s, c| {
        Box::pin(stored_text_is_checked_the_same_on_every_backend(s, c))
    }),
    ("run_lists_carry_the_outputs_size_not_the_outputs", |s, c| {
        Box::pin(run_lists_carry_the_outputs_size_not_the_outputs(s, c))
    }),
    ("organizations_are_found_by_id_or_unique_name", |s, c| {
        Box::pin(organizations_are_found_by_id_or_unique_name(s, c))
    }),
];

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn invalid<T>(result: store::Result<T>, expected: &str) -> bool {
    matches!(result, Err(Error::Invalid { field, .. }) if field == expected)
}

async fn the_last_admin_key_cannot_be_revoked(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let (first, _) = store.create_api_key(&org.id, "first", Role::Admin).await?;
    let (member, _) = store.create_api_key(&org.id, "ci", Role::Member).await?;
    check(
        matches!(store.tenant(&org.id).revoke_api_key(&first.id).await, Err(Error::Conflict(_))),
        "the only admin key stays",
    )?;
    store.tenant(&org.id).revoke_api_key(&member.id).await?;
    let (second, _) = store.create_api_key(&org.id, "second", Role::Admin).await?;
    store.tenant(&org.id).revoke_api_key(&first.id).await?;
    check(
        matches!(store.tenant(&org.id).revoke_api_key(&second.id).await, Err(Error::Conflict(_))),
        "the second becomes the last",
    )?;
    check(matches!(store.tenant(&org.id).revoke_api_key(&first.id).await, Err(Error::NotFound)), "revoked twice")?;
    let other = store.create_org("other").await?;
    store.create_api_key(&other.id, "admin", Role::Admin).await?;
    check(
        matches!(store.tenant(&other.id).revoke_api_key(&second.id).await, Err(Error::NotFound)),
        "another organization's key is not found, whatever its role",
    )?;
    check(store.tenant(&org.id).list_api_keys().await?.len() == 1, "one admin key left")
}

async fn admins_revoking_each_other_at_once_leave_one(store: Store, _: Clock) -> Result<(), Failed> {
    for round in 0..5 {
        let org = store.create_org(&format!("org {round}")).await?;
        let (a, _) = store.create_api_key(&org.id, "a", Role::Admin).await?;
        let (b, _) = store.create_api_key(&org.id, "b", Role::Admin).await?;
        let (ra, rb) =
            join(store.tenant(&org.id).revoke_api_key(&a.id), store.tenant(&org.id).revoke_api_key(&b.id)).await;
        let revoked = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        let conflicts = [&ra, &rb].iter().filter(|r| matches!(r, Err(Error::Conflict(_)))).count();
        check((revoked, conflicts) == (1, 1), format!("round {round}: {ra:?} {rb:?}"))?;
        check(store.tenant(&org.id).list_api_keys().await?.len() == 1, "exactly one admin key remains")?;
    }
    Ok(())
}

async fn stored_text_is_checked_the_same_on_every_backend(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let new = |name: &str, source: Option<&str>, description: Option<&str>| NewWorkflow {
        name: name.into(),
        source_provider: source.map(Into::into),
        ty: WorkflowType::UserDefined,
        description: description.map(Into::into),
        definition: "{}".into(),
    };
    let long_name = "n".repeat(limits::NAME_MAX_CHARS + 1);
    check(invalid(store.tenant(&org.id).create_workflow(new("a\0b", None, None)).await, "name"), "NUL in a name")?;
    check(invalid(store.tenant(&org.id).create_workflow(new(&long_name, None, None)).await, "name"), "a long name")?;
    check(invalid(store.tenant(&org.id).create_workflow(new(" ", None, None)).await, "name"), "a blank name")?;
    check(
        invalid(store.tenant(&org.id).create_workflow(new("w", Some("x\0"), None)).await, "sourceProvider"),
        "NUL in a source provider",
    )?;
    let long_description = "d".repeat(limits::DESCRIPTION_MAX_CHARS + 1);
    check(
        invalid(store.tenant(&org.id).create_workflow(new("w", None, Some(&long_description))).await, "description"),
        "a long description",
    )?;
    let w =
        store.tenant(&org.id).create_workflow(new(&"é".repeat(limits::NAME_MAX_CHARS), Some("p"), Some("d"))).await?;
    let patch = WorkflowPatch { description: Some(Some("\0".into())), ..Default::default() };
    check(invalid(store.tenant(&org.id).update_workflow(&w.id, patch).await, "description"), "NUL in a patch")?;
    check(
        store.tenant(&org.id).get_workflow(&w.id).await?.description.as_deref() == Some("d"),
        "the patch changed nothing",
    )?;
    check(invalid(store.create_api_key(&org.id, "k\0", Role::Member).await, "name"), "NUL in a key name")?;
    check(invalid(store.create_api_key(&org.id, &long_name, Role::Member).await, "name"), "a long key name")?;
    check(invalid(store.create_org("\0").await, "name"), "NUL in an organization name")
}

async fn run_lists_carry_the_outputs_size_not_the_outputs(store: Store, _: Clock) -> Result<(), Failed> {
    let org = store.create_org("acme").await?;
    let new = NewWorkflow {
        name: "w".into(),
        source_provider: None,
        ty: WorkflowType::UserDefined,
        description: None,
        definition: "{}".into(),
    };
    let w = store.tenant(&org.id).create_workflow(new).await?;
    store.tenant(&org.id).seed_completed_runs(&w.id, 3).await?;
    let listed = store.tenant(&org.id).list_runs(&RunFilter::default(), &PageRequest::default()).await?;
    check(listed.items.len() == 3, "three runs")?;
    for item in &listed.items {
        check(item.run.outputs.is_none() && item.outputs_size == Some(2), format!("{item:?}"))?;
        let full = store.tenant(&org.id).get_run(&item.run.id).await?;
        check(full.outputs == Some(serde_json::json!({})), "a single run has its outputs")?;
    }
    Ok(())
}

async fn organizations_are_found_by_id_or_unique_name(store: Store, _: Clock) -> Result<(), Failed> {
    let a = store.create_org("default").await?;
    check(store.find_org("default").await? == a, "by name")?;
    check(store.find_org(&a.id).await? == a, "by id")?;
    check(matches!(store.find_org("nobody").await, Err(Error::NotFound)), "unknown")?;
    store.create_org("default").await?;
    check(matches!(store.find_org("default").await, Err(Error::Conflict(_))), "an ambiguous name")?;
    check(store.find_org(&a.id).await? == a, "ids stay unambiguous")
}
