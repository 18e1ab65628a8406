//! Artifacts: the metadata of the files runs leave (the bytes are in the
//! artifact store, under `object_key`). A worker records its attempt's
//! artifacts through its lease; tenants list and read them; retention removes
//! old ones across organizations.

use serde_json::json;
use sqlx::any::AnyRow;

use crate::db::{Sql, int, opt_text, page_of, paginate, query, text};
use crate::events::{RunEventKind, Told};
use crate::ids::new_id;
use crate::queue::Lease;
use crate::{Error, Page, PageRequest, Result, Store, Tenant};

/// An artifact a worker uploaded, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArtifact {
    /// `output`, `download`, `screenshot`, `trace` or `page`.
    pub kind: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub segment_name: Option<String>,
    /// Where the bytes are in the artifact store.
    pub object_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub id: String,
    pub run_id: String,
    pub workflow_id: String,
    pub attempt: i64,
    pub kind: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub segment_name: Option<String>,
    pub object_key: String,
    /// Left by a test run.
    pub test: bool,
    pub created_at: i64,
}

/// Whose artifacts to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactsOf<'a> {
    Run(&'a str),
    Workflow(&'a str),
}

const COLUMNS: &str = "seq, id, run_id, workflow_id, attempt, type, name, content_type, size, sha256, segment_name, \
                       object_key, test, created_at";

impl Store {
    /// Records the artifacts the lease's attempt uploaded, with an
    /// `artifact.created` event each. `false` (and nothing written) when the lease is gone.
    pub async fn record_artifacts(&self, lease: &Lease, artifacts: &[NewArtifact]) -> Result<bool> {
        if artifacts.is_empty() {
            return Ok(true);
        }
        let now = self.clock.now_ms();
        let mut tx = self.begin_write().await?;
        // Checks the lease and, on PostgreSQL, locks the run's row for the inserts.
        let Some(run) = lease.hold(&mut tx).await? else { return Ok(false) };
        let mut told = Vec::with_capacity(artifacts.len());
        let mut ids = Vec::with_capacity(artifacts.len());
        for a in artifacts {
            let id = new_id("art");
            query(
                "INSERT INTO artifacts (id, org_id, run_id, workflow_id, attempt, type, name, content_type, size, sha256, \
                 segment_name, object_key, test, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                vec![
                    (&id).into(),
                    run.org_id.as_str().into(),
                    lease.run_id.as_str().into(),
                    run.workflow_id.as_str().into(),
                    lease.attempt.into(),
                    (&a.kind).into(),
                    (&a.name).into(),
                    (&a.content_type).into(),
                    a.size.into(),
                    (&a.sha256).into(),
                    a.segment_name.clone().into(),
                    (&a.object_key).into(),
                    run.test.into(),
                    now.into(),
                ],
            )
            .execute(&mut *tx)
            .await?;
            ids.push((id, a));
        }
        for (id, a) in &ids {
            let payload = json!({"id": id, "type": a.kind, "name": a.name, "size": a.size});
            told.push(Told { run_id: &lease.run_id, kind: RunEventKind::ArtifactCreated, payload });
        }
        self.commit_telling(tx, &told, now).await?;
        Ok(true)
    }

    /// Any organization's artifact, for a signed link (the signature is the
    /// authorization: only an API caller of its organization could have had it made).
    pub async fn artifact_for_link(&self, id: &str) -> Result<Artifact> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM artifacts WHERE id = "));
        sql.bind(id);
        let row = sql.query().fetch_optional(&self.pool).await?.ok_or(Error::NotFound)?;
        artifact(&row)
    }

    /// Artifacts created before `before_ms`, oldest first: (id, object key).
    pub async fn artifacts_older_than(&self, before_ms: i64, limit: u32) -> Result<Vec<(String, String)>> {
        let rows = query(
            "SELECT id, object_key FROM artifacts WHERE created_at < $1 ORDER BY created_at LIMIT $2",
            vec![before_ms.into(), i64::from(limit).into()],
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((text(r, "id")?, text(r, "object_key")?))).collect()
    }

    /// Forgets artifacts whose bytes are gone (retention). Returns how many rows went.
    pub async fn delete_artifacts(&self, ids: &[String]) -> Result<u64> {
        let mut deleted = 0;
        for id in ids {
            deleted += query("DELETE FROM artifacts WHERE id = $1", vec![id.as_str().into()])
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }
}

impl Tenant<'_> {
    /// A run's or a workflow's artifacts, newest first (`NotFound` for another
    /// organization's run or workflow, deleted workflows included).
    pub async fn list_artifacts(&self, of: ArtifactsOf<'_>, page: &PageRequest) -> Result<Page<Artifact>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM artifacts WHERE org_id = "));
        sql.bind(self.org_id);
        match of {
            ArtifactsOf::Run(run_id) => {
                self.get_run(run_id).await?;
                sql.push(" AND run_id = ").bind(run_id);
            }
            ArtifactsOf::Workflow(workflow_id) => {
                self.get_workflow(workflow_id).await?;
                sql.push(" AND workflow_id = ").bind(workflow_id);
            }
        }
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        page_of(rows, limit, "seq", artifact)
    }

    pub async fn get_artifact(&self, id: &str) -> Result<Artifact> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM artifacts WHERE id = "));
        sql.bind(id).push(" AND org_id = ").bind(self.org_id);
        let row = sql.query().fetch_optional(&self.store.pool).await?.ok_or(Error::NotFound)?;
        artifact(&row)
    }
}

fn artifact(row: &AnyRow) -> Result<Artifact> {
    Ok(Artifact {
        id: text(row, "id")?,
        run_id: text(row, "run_id")?,
        workflow_id: text(row, "workflow_id")?,
        attempt: int(row, "attempt")?,
        kind: text(row, "type")?,
        name: text(row, "name")?,
        content_type: text(row, "content_type")?,
        size: int(row, "size")?,
        sha256: text(row, "sha256")?,
        segment_name: opt_text(row, "segment_name")?,
        object_key: text(row, "object_key")?,
        test: int(row, "test")? != 0,
        created_at: int(row, "created_at")?,
    })
}
