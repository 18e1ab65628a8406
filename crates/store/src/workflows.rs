use sqlx::any::AnyRow;

use crate::db::{Sql, int, opt_int, opt_text, page_of, paginate, query, text};
use crate::ids::new_id;
use crate::{
    Error, Page, PageRequest, Result, Tenant, Version, VersionRef, Workflow, WorkflowFilter, WorkflowType, limits,
};

pub struct NewWorkflow {
    pub name: String,
    pub source_provider: Option<String>,
    pub ty: WorkflowType,
    pub description: Option<String>,
    /// A validated workflow document as JSON text; becomes version 1.
    pub definition: String,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct WorkflowPatch {
    pub name: Option<String>,
    pub source_provider: Option<Option<String>>,
    pub ty: Option<WorkflowType>,
    pub description: Option<Option<String>>,
    /// A new definition publishes a new version.
    pub definition: Option<String>,
}

const WORKFLOW_COLUMNS: &str =
    "seq, id, org_id, name, source_provider, type, description, latest_version, created_at, updated_at, deleted_at";

impl Tenant<'_> {
    pub async fn create_workflow(&self, new: NewWorkflow) -> Result<Workflow> {
        check_metadata(Some(&new.name), new.source_provider.as_deref(), new.description.as_deref())?;
        let now = self.store.clock.now_ms();
        let id = new_id("wf");
        let mut tx = self.store.begin_write().await?;
        query(
            "INSERT INTO workflows (id, org_id, name, source_provider, type, description, latest_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
            vec![
                (&id).into(),
                self.org_id.into(),
                (&new.name).into(),
                new.source_provider.clone().into(),
                new.ty.as_str().into(),
                new.description.clone().into(),
                now.into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        query(
            "INSERT INTO workflow_versions (workflow_id, version, definition, created_at) VALUES ($1, 1, $2, $3)",
            vec![(&id).into(), new.definition.into(), now.into()],
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_workflow(&id).await
    }

    /// Deleted workflows are still returned (with `deleted_at`): their runs and
    /// versions stay readable.
    pub async fn get_workflow(&self, id: &str) -> Result<Workflow> {
        let mut sql = Sql::new(&format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        let row = sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?;
        workflow(&row)
    }

    /// Like `get_workflow`, but a deleted workflow is not found: it can no longer change or run.
    pub async fn get_live_workflow(&self, id: &str) -> Result<Workflow> {
        let w = self.get_workflow(id).await?;
        if w.deleted_at.is_some() { Err(Error::NotFound) } else { Ok(w) }
    }

    pub async fn list_workflows(&self, filter: &WorkflowFilter, page: &PageRequest) -> Result<Page<Workflow>> {
        let mut sql =
            Sql::new(&format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE deleted_at IS NULL AND org_id = "));
        sql.bind(self.org_id);
        if let Some(p) = &filter.source_provider {
            sql.push(" AND source_provider = ").bind(p);
        }
        if let Some(t) = filter.ty {
            sql.push(" AND type = ").bind(t.as_str());
        }
        if let Some(name) = &filter.name {
            sql.push(" AND name = ").bind(name);
        }
        if let Some(text) = &filter.search {
            // The text is matched literally: LIKE's own wildcards in it are escaped.
            let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            sql.push(" AND LOWER(name) LIKE ").bind(format!("%{}%", escaped.to_lowercase())).push(" ESCAPE '\\'");
        }
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        page_of(rows, limit, "seq", workflow)
    }

    pub async fn update_workflow(&self, id: &str, patch: WorkflowPatch) -> Result<Workflow> {
        check_metadata(
            patch.name.as_deref(),
            patch.source_provider.as_ref().and_then(Option::as_deref),
            patch.description.as_ref().and_then(Option::as_deref),
        )?;
        let current = self.get_live_workflow(id).await?;
        let now = self.store.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        query(
            "UPDATE workflows SET name = $1, source_provider = $2, type = $3, description = $4, updated_at = $5 WHERE id = $6 AND org_id = $7",
            vec![
                patch.name.unwrap_or(current.name).into(),
                patch.source_provider.unwrap_or(current.source_provider).into(),
                patch.ty.unwrap_or(current.ty).as_str().into(),
                patch.description.unwrap_or(current.description).into(),
                now.into(),
                id.into(),
                self.org_id.into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        if let Some(definition) = patch.definition {
            publish_in(&mut tx, id, definition, now).await?;
        }
        tx.commit().await?;
        self.get_workflow(id).await
    }

    pub async fn delete_workflow(&self, id: &str) -> Result<()> {
        let now = self.store.clock.now_ms();
        let done = query(
            "UPDATE workflows SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND org_id = $3 AND deleted_at IS NULL",
            vec![now.into(), id.into(), self.org_id.into()],
        )
        .execute(&self.store.pool)
        .await?;
        if done.rows_affected() == 0 { Err(Error::NotFound) } else { Ok(()) }
    }

    pub async fn put_draft(&self, id: &str, definition: &str) -> Result<Version> {
        self.get_live_workflow(id).await?;
        let now = self.store.clock.now_ms();
        query(
            "INSERT INTO workflow_drafts (workflow_id, definition, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (workflow_id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at, \
             heal_notes = NULL, healed_from_run = NULL, check_status = NULL, check_message = NULL",
            vec![id.into(), definition.into(), now.into()],
        )
        .execute(&self.store.pool)
        .await?;
        Ok(Version {
            workflow_id: id.to_owned(),
            version: None,
            definition: definition.to_owned(),
            created_at: now,
            healing: None,
        })
    }

    /// Saves a healed workflow as the draft (never published), with why, and marks the run.
    pub async fn save_healed_draft(&self, id: &str, definition: &str, notes: &[String], run_id: &str) -> Result<()> {
        self.get_live_workflow(id).await?;
        let now = self.store.clock.now_ms();
        let notes = serde_json::Value::from(notes.to_vec()).to_string();
        let mut tx = self.store.begin_write().await?;
        query(
            "INSERT INTO workflow_drafts (workflow_id, definition, updated_at, heal_notes, healed_from_run, check_status) \
             VALUES ($1, $2, $3, $4, $5, 'PENDING') ON CONFLICT (workflow_id) DO UPDATE SET definition = excluded.definition, \
             updated_at = excluded.updated_at, heal_notes = excluded.heal_notes, healed_from_run = excluded.healed_from_run, \
             check_status = excluded.check_status, check_message = NULL",
            vec![id.into(), definition.into(), now.into(), notes.into(), run_id.into()],
        )
        .execute(&mut *tx)
        .await?;
        query(
            "UPDATE runs SET healed_draft = 1 WHERE id = $1 AND org_id = $2",
            vec![run_id.into(), self.org_id.into()],
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the check of a healed draft, unless the draft was replaced meanwhile
    /// (or the workflow is not this organization's: then nothing changes either).
    pub async fn record_draft_check(
        &self,
        id: &str,
        run_id: &str,
        passed: bool,
        message: Option<String>,
    ) -> Result<()> {
        query(
            "UPDATE workflow_drafts SET check_status = $1, check_message = $2 WHERE workflow_id = $3 AND healed_from_run = $4 \
             AND workflow_id IN (SELECT id FROM workflows WHERE org_id = $5)",
            vec![
                if passed { "PASSED" } else { "FAILED" }.into(),
                message.into(),
                id.into(),
                run_id.into(),
                self.org_id.into(),
            ],
        )
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn get_version(&self, id: &str, which: VersionRef) -> Result<Version> {
        let w = self.get_workflow(id).await?;
        let row = match which {
            VersionRef::Draft => return self.draft(&w.id).await,
            VersionRef::Latest => self.version_row(id, w.latest_version).await?,
            VersionRef::Number(n) => self.version_row(id, n).await?,
        };
        version(&row)
    }

    async fn draft(&self, id: &str) -> Result<Version> {
        let row = query(
            "SELECT definition, updated_at, heal_notes, healed_from_run, check_status, check_message \
             FROM workflow_drafts WHERE workflow_id = $1",
            vec![id.into()],
        )
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let healing = match opt_text(&row, "healed_from_run")? {
            Some(from_run) => Some(crate::Healing {
                notes: crate::db::opt_json(&row, "heal_notes")?
                    .and_then(|v| {
                        v.as_array().map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
                    })
                    .unwrap_or_default(),
                from_run,
                check_status: opt_text(&row, "check_status")?.unwrap_or_else(|| "PENDING".into()),
                check_message: opt_text(&row, "check_message")?,
            }),
            None => None,
        };
        Ok(Version {
            workflow_id: id.to_owned(),
            version: None,
            definition: text(&row, "definition")?,
            created_at: int(&row, "updated_at")?,
            healing,
        })
    }

    async fn version_row(&self, id: &str, n: i64) -> Result<AnyRow> {
        query(
            "SELECT workflow_id, version, definition, created_at FROM workflow_versions WHERE workflow_id = $1 AND version = $2",
            vec![id.into(), n.into()],
        )
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(Error::NotFound)
    }

    /// Published versions, newest first.
    pub async fn list_versions(&self, id: &str, page: &PageRequest) -> Result<Page<Version>> {
        self.get_workflow(id).await?;
        let mut sql =
            Sql::new("SELECT workflow_id, version, definition, created_at FROM workflow_versions WHERE workflow_id = ");
        sql.bind(id);
        let limit = paginate(&mut sql, page, "version")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        page_of(rows, limit, "version", version)
    }

    /// Turns the draft into the next version number and removes the draft.
    pub async fn publish_draft(&self, id: &str) -> Result<Version> {
        self.get_live_workflow(id).await?;
        let now = self.store.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let draft = query("SELECT definition FROM workflow_drafts WHERE workflow_id = $1", vec![id.into()])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::Conflict("the workflow has no draft to publish".into()))?;
        let definition = text(&draft, "definition")?;
        query("DELETE FROM workflow_drafts WHERE workflow_id = $1", vec![id.into()]).execute(&mut *tx).await?;
        let number = publish_in(&mut tx, id, definition.clone(), now).await?;
        tx.commit().await?;
        Ok(Version { workflow_id: id.to_owned(), version: Some(number), definition, created_at: now, healing: None })
    }
}

/// Appends a version inside `tx`. Incrementing `latest_version` first takes the
/// row's write lock, so concurrent publishes get distinct numbers.
async fn publish_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, definition: String, now: i64) -> Result<i64> {
    let row = query(
        "UPDATE workflows SET latest_version = latest_version + 1, updated_at = $1 WHERE id = $2 RETURNING latest_version",
        vec![now.into(), id.into()],
    )
    .fetch_one(&mut **tx)
    .await?;
    let number = int(&row, "latest_version")?;
    query(
        "INSERT INTO workflow_versions (workflow_id, version, definition, created_at) VALUES ($1, $2, $3, $4)",
        vec![id.into(), number.into(), definition.into(), now.into()],
    )
    .execute(&mut **tx)
    .await?;
    Ok(number)
}

/// The workflow's own text fields, checked against `limits` (the document is checked by `workflow`).
fn check_metadata(name: Option<&str>, source_provider: Option<&str>, description: Option<&str>) -> Result<()> {
    if let Some(name) = name {
        limits::check_name("name", name)?;
    }
    limits::check_optional("sourceProvider", source_provider, limits::SOURCE_PROVIDER_MAX_CHARS)?;
    limits::check_optional("description", description, limits::DESCRIPTION_MAX_CHARS)
}

fn workflow(row: &AnyRow) -> Result<Workflow> {
    let ty = text(row, "type")?;
    Ok(Workflow {
        id: text(row, "id")?,
        org_id: text(row, "org_id")?,
        name: text(row, "name")?,
        source_provider: opt_text(row, "source_provider")?,
        ty: WorkflowType::parse(&ty).ok_or_else(|| Error::Corrupt(format!("workflow type '{ty}'")))?,
        description: opt_text(row, "description")?,
        latest_version: int(row, "latest_version")?,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
        deleted_at: opt_int(row, "deleted_at")?,
    })
}

fn version(row: &AnyRow) -> Result<Version> {
    Ok(Version {
        workflow_id: text(row, "workflow_id")?,
        version: Some(int(row, "version")?),
        definition: text(row, "definition")?,
        created_at: int(row, "created_at")?,
        healing: None,
    })
}
