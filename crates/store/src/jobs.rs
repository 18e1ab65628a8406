//! Jobs: workflows in a set order, run one after the other by job runs
//! (`job_runs.rs`). The order is kept twice: as the API shows it (fixed inputs of
//! secret parameters masked) and sealed with every value, for starting job runs.
//! The store keeps both as given; the server builds and checks them.

use serde_json::Value;
use sqlx::any::AnyRow;

use crate::db::{Sql, int, opt_json, opt_text, page_of, paginate, query, text};
use crate::ids::new_id;
use crate::limits::{self, DESCRIPTION_MAX_CHARS, SOURCE_PROVIDER_MAX_CHARS};
use crate::{Error, Page, PageRequest, Result, Tenant};

/// The most workflows a job runs.
pub const MAX_JOB_STEPS: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub source_provider: Option<String>,
    pub description: Option<String>,
    /// The identity every workflow run of the job runs as, unless a job run names another.
    pub identity_id: Option<String>,
    /// The `workflowExecutionOrder` as the API shows it.
    pub steps: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The order of a job's workflows, shown and sealed.
#[derive(Clone)]
pub struct JobSteps {
    /// As the API shows it: a JSON array, secret fixed inputs masked.
    pub shown: Value,
    /// Every value in clear, sealed by the caller.
    pub sealed: String,
}

impl std::fmt::Debug for JobSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSteps").field("shown", &self.shown).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub name: String,
    pub source_provider: Option<String>,
    pub description: Option<String>,
    pub identity_id: Option<String>,
    pub steps: JobSteps,
}

/// A change to a job; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct JobPatch {
    pub name: Option<String>,
    pub source_provider: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub identity_id: Option<Option<String>>,
    pub steps: Option<JobSteps>,
}

const COLUMNS: &str = "seq, id, name, source_provider, description, identity_id, steps, created_at, updated_at";

fn check(name: Option<&str>, source_provider: Option<&str>, description: Option<&str>) -> Result<()> {
    if let Some(name) = name {
        limits::check_name("name", name)?;
    }
    if let Some(p) = source_provider {
        limits::check_text("sourceProvider", p, SOURCE_PROVIDER_MAX_CHARS)?;
    }
    if let Some(d) = description {
        limits::check_text("description", d, DESCRIPTION_MAX_CHARS)?;
    }
    Ok(())
}

impl Tenant<'_> {
    pub async fn create_job(&self, new: NewJob) -> Result<Job> {
        check(Some(&new.name), new.source_provider.as_deref(), new.description.as_deref())?;
        if let Some(identity) = &new.identity_id {
            self.get_identity(identity).await?;
        }
        let id = new_id("job");
        let now = self.store.clock.now_ms();
        query(
            "INSERT INTO jobs (id, org_id, name, source_provider, description, identity_id, steps, sealed_steps, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            vec![
                id.as_str().into(),
                self.org_id.into(),
                new.name.into(),
                new.source_provider.into(),
                new.description.into(),
                new.identity_id.into(),
                new.steps.shown.to_string().into(),
                new.steps.sealed.into(),
                now.into(),
            ],
        )
        .execute(&self.store.pool)
        .await?;
        self.get_job(&id).await
    }

    /// A job that is not deleted.
    pub async fn get_job(&self, id: &str) -> Result<Job> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM jobs WHERE deleted_at IS NULL AND id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        job(&sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?)
    }

    /// A live job with its steps' values, sealed: what a job run starts from.
    pub async fn job_with_sealed_steps(&self, id: &str) -> Result<(Job, String)> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS}, sealed_steps FROM jobs WHERE deleted_at IS NULL AND id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        let row = sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?;
        Ok((job(&row)?, text(&row, "sealed_steps")?))
    }

    /// The organization's jobs, newest first.
    pub async fn list_jobs(&self, page: &PageRequest) -> Result<Page<Job>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM jobs WHERE deleted_at IS NULL AND org_id = "));
        sql.bind(self.org_id);
        let limit = paginate(&mut sql, page, "seq")?;
        page_of(sql.query().fetch_all(&self.store.pool).await?, limit, "seq", job)
    }

    /// Changes a job. Job runs that exist keep the definition they were created with.
    pub async fn update_job(&self, id: &str, patch: JobPatch) -> Result<Job> {
        check(
            patch.name.as_deref(),
            patch.source_provider.as_ref().and_then(Option::as_deref),
            patch.description.as_ref().and_then(Option::as_deref),
        )?;
        let current = self.get_job(id).await?;
        if let Some(Some(identity)) = &patch.identity_id {
            self.get_identity(identity).await?;
        }
        let (shown, sealed) = match patch.steps {
            Some(steps) => (Some(steps.shown.to_string()), Some(steps.sealed)),
            None => (None, None),
        };
        let done = query(
            "UPDATE jobs SET name = $1, source_provider = $2, description = $3, identity_id = $4, \
             steps = COALESCE($5, steps), sealed_steps = COALESCE($6, sealed_steps), updated_at = $7 \
             WHERE id = $8 AND org_id = $9 AND deleted_at IS NULL",
            vec![
                patch.name.unwrap_or(current.name).into(),
                patch.source_provider.unwrap_or(current.source_provider).into(),
                patch.description.unwrap_or(current.description).into(),
                patch.identity_id.unwrap_or(current.identity_id).into(),
                shown.into(),
                sealed.into(),
                self.store.clock.now_ms().into(),
                id.into(),
                self.org_id.into(),
            ],
        )
        .execute(&self.store.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        self.get_job(id).await
    }

    /// Deletes a job (its job runs stay readable) and its schedules, so nothing
    /// starts it again.
    pub async fn delete_job(&self, id: &str) -> Result<()> {
        let now = self.store.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let done = query(
            "UPDATE jobs SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND org_id = $3 AND deleted_at IS NULL",
            vec![now.into(), id.into(), self.org_id.into()],
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        query("DELETE FROM schedules WHERE job_id = $1 AND org_id = $2", vec![id.into(), self.org_id.into()])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn job(row: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: text(row, "id")?,
        name: text(row, "name")?,
        source_provider: opt_text(row, "source_provider")?,
        description: opt_text(row, "description")?,
        identity_id: opt_text(row, "identity_id")?,
        steps: opt_json(row, "steps")?.unwrap_or(Value::Array(Vec::new())),
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
    })
}
