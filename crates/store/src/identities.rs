//! Login identities: the credentials of a site's account and the browser session
//! its LOGIN workflow saved. Both are kept sealed (the caller seals them with the
//! service's key): `Identity`, which the API shows, holds neither, and only
//! `Tenant::identity_secrets` hands them out, to the code that starts runs.

use serde_json::{Value, json};
use sqlx::any::AnyRow;

use crate::db::{Sql, error_json, int, opt_int, opt_text, page_of, paginate, query, text};
use crate::events::{RunEventKind, Told, finished_payload};
use crate::ids::new_id;
use crate::limits::{self, SOURCE_PROVIDER_MAX_CHARS};
use crate::queue::{Lease, insert_segment};
use crate::webhook_events::WebhookEvent;
use crate::{
    Error, Page, PageRequest, Result, RunError, RunStatus, SegmentExecution, Store, Tenant, Workflow, WorkflowFilter,
    WorkflowType,
};

/// The most credentials an identity holds.
pub const MAX_CREDENTIALS: usize = 32;
/// A credential's name: an input name of a LOGIN workflow.
pub const CREDENTIAL_NAME_MAX_CHARS: usize = 100;
/// How long a saved session is trusted by default: 12 hours.
pub const DEFAULT_SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// Where an identity's saved session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Never logged in, or forgotten (credentials rotated, session deleted).
    None,
    Active,
    /// Saved, but older than the identity's session TTL.
    Expired,
    /// The last LOGIN run failed; no session is kept.
    Failed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::None => "NONE",
            SessionStatus::Active => "ACTIVE",
            SessionStatus::Expired => "EXPIRED",
            SessionStatus::Failed => "FAILED",
        }
    }
}

/// An identity as the API shows it: no credential value, no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub source_provider: String,
    pub login_workflow_id: Option<String>,
    /// Sorted.
    pub credential_names: Vec<String>,
    pub session_ttl_ms: i64,
    pub session_status: SessionStatus,
    pub session_saved_at: Option<i64>,
    pub session_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Credentials by name, sealed by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredentials {
    pub names: Vec<String>,
    pub sealed: String,
}

// Sealed, yet kept out of logs all the same.
impl std::fmt::Debug for SealedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredentials").field("names", &self.names).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub name: String,
    pub source_provider: String,
    pub login_workflow_id: Option<String>,
    pub credentials: SealedCredentials,
    pub session_ttl_ms: i64,
}

/// A change to an identity; `None` leaves a field as it is. New credentials
/// replace all the old ones and drop the saved session (it was theirs).
#[derive(Debug, Clone, Default)]
pub struct IdentityPatch {
    pub name: Option<String>,
    pub source_provider: Option<String>,
    /// `Some(None)` clears it.
    pub login_workflow_id: Option<Option<String>>,
    pub credentials: Option<SealedCredentials>,
    pub session_ttl_ms: Option<i64>,
}

/// What starting a run as the identity needs, still sealed.
#[derive(Clone)]
pub struct IdentitySecrets {
    pub identity: Identity,
    pub sealed_credentials: String,
    /// The saved session, when it is active.
    pub sealed_session: Option<String>,
    /// Which session this is: a login that read these secrets saves its session
    /// only while it is still the current one (see `LoginRecord::generation`).
    pub generation: i64,
}

impl std::fmt::Debug for IdentitySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySecrets").field("identity", &self.identity.id).finish_non_exhaustive()
    }
}

const COLUMNS: &str = "seq, id, name, source_provider, login_workflow_id, credential_names, session_ttl_ms, \
                       session_status, session_saved_at, session_expires_at, created_at, updated_at";

fn check(
    name: &str,
    source_provider: &str,
    credentials: Option<&SealedCredentials>,
    ttl_ms: Option<i64>,
) -> Result<()> {
    limits::check_name("name", name)?;
    limits::check_text("sourceProvider", source_provider, SOURCE_PROVIDER_MAX_CHARS)?;
    if source_provider.trim().is_empty() {
        return Err(Error::Invalid { field: "sourceProvider", message: "sourceProvider must not be empty".into() });
    }
    if let Some(credentials) = credentials {
        if credentials.names.len() > MAX_CREDENTIALS {
            let message = format!("an identity holds at most {MAX_CREDENTIALS} credentials");
            return Err(Error::Invalid { field: "credentials", message });
        }
        for name in &credentials.names {
            let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if name.is_empty() || name.len() > CREDENTIAL_NAME_MAX_CHARS || !plain {
                let message = format!(
                    "credential names are 1 to {CREDENTIAL_NAME_MAX_CHARS} letters, digits, '_' or '-', like input names: '{}'",
                    name.chars().take(CREDENTIAL_NAME_MAX_CHARS).collect::<String>()
                );
                return Err(Error::Invalid { field: "credentials", message });
            }
        }
    }
    if let Some(ttl) = ttl_ms
        && !(1000..=365 * 24 * 3600 * 1000).contains(&ttl)
    {
        let message = "sessionTtlSeconds must be between 1 second and 365 days".into();
        return Err(Error::Invalid { field: "sessionTtlSeconds", message });
    }
    Ok(())
}

/// Another identity of the organization has the name.
fn name_taken(e: Error, name: &str) -> Error {
    match e {
        Error::Database(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            Error::Conflict(format!("an identity named '{name}' already exists"))
        }
        e => e,
    }
}

impl Tenant<'_> {
    pub async fn create_identity(&self, new: &NewIdentity) -> Result<Identity> {
        check(&new.name, &new.source_provider, Some(&new.credentials), Some(new.session_ttl_ms))?;
        if let Some(workflow) = &new.login_workflow_id {
            self.get_workflow(workflow).await?;
        }
        let now = self.store.clock.now_ms();
        let id = new_id("idn");
        let names = serde_json::to_string(&new.credentials.names).expect("names are JSON");
        query(
            "INSERT INTO identities (id, org_id, name, source_provider, login_workflow_id, credential_names, \
             sealed_credentials, session_ttl_ms, session_status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'NONE', $9, $9)",
            vec![
                id.as_str().into(),
                self.org_id.into(),
                new.name.as_str().into(),
                new.source_provider.as_str().into(),
                new.login_workflow_id.clone().into(),
                names.into(),
                new.credentials.sealed.as_str().into(),
                new.session_ttl_ms.into(),
                now.into(),
            ],
        )
        .execute(&self.store.pool)
        .await
        .map_err(|e| name_taken(e.into(), &new.name))?;
        self.get_identity(&id).await
    }

    /// The organization's identities, newest first.
    pub async fn list_identities(&self, page: &PageRequest) -> Result<Page<Identity>> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM identities WHERE org_id = "));
        sql.bind(self.org_id);
        let limit = paginate(&mut sql, page, "seq")?;
        let rows = sql.query().fetch_all(&self.store.pool).await?;
        let now = self.store.clock.now_ms();
        page_of(rows, limit, "seq", |row| identity(row, now))
    }

    pub async fn get_identity(&self, id: &str) -> Result<Identity> {
        let row = query(
            &format!("SELECT {COLUMNS} FROM identities WHERE id = $1 AND org_id = $2"),
            vec![id.into(), self.org_id.into()],
        )
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(Error::NotFound)?;
        identity(&row, self.store.clock.now_ms())
    }

    pub async fn update_identity(&self, id: &str, patch: &IdentityPatch) -> Result<Identity> {
        let current = self.get_identity(id).await?;
        let name = patch.name.as_deref().unwrap_or(&current.name);
        let source_provider = patch.source_provider.as_deref().unwrap_or(&current.source_provider);
        check(name, source_provider, patch.credentials.as_ref(), patch.session_ttl_ms)?;
        if let Some(Some(workflow)) = &patch.login_workflow_id {
            self.get_workflow(workflow).await?;
        }
        let now = self.store.clock.now_ms();
        let mut sql = Sql::new("UPDATE identities SET updated_at = ");
        sql.bind(now);
        sql.push(", name = ").bind(name).push(", source_provider = ").bind(source_provider);
        if let Some(workflow) = &patch.login_workflow_id {
            sql.push(", login_workflow_id = ").bind(workflow.clone());
        }
        if let Some(ttl) = patch.session_ttl_ms {
            sql.push(", session_ttl_ms = ").bind(ttl);
            // A saved session lives by the new time from when it was saved (new
            // credentials forget it below instead).
            if patch.credentials.is_none() {
                sql.push(", session_expires_at = session_saved_at + ").bind(ttl);
            }
        }
        if let Some(credentials) = &patch.credentials {
            let names = serde_json::to_string(&credentials.names).expect("names are JSON");
            sql.push(", credential_names = ").bind(names);
            sql.push(", sealed_credentials = ").bind(credentials.sealed.as_str());
            sql.push(", ").push(FORGET_SESSION);
        }
        sql.push(" WHERE id = ").bind(id).push(" AND org_id = ").bind(self.org_id);
        let updated = sql.query().execute(&self.store.pool).await.map_err(|e| name_taken(e.into(), name))?;
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        self.get_identity(id).await
    }

    pub async fn delete_identity(&self, id: &str) -> Result<()> {
        let deleted =
            query("DELETE FROM identities WHERE id = $1 AND org_id = $2", vec![id.into(), self.org_id.into()])
                .execute(&self.store.pool)
                .await?;
        if deleted.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Forgets the saved session: the next run as the identity logs in again.
    pub async fn forget_identity_session(&self, id: &str) -> Result<Identity> {
        let now = self.store.clock.now_ms();
        let forgotten = query(
            &format!("UPDATE identities SET updated_at = $1, {FORGET_SESSION} WHERE id = $2 AND org_id = $3"),
            vec![now.into(), id.into(), self.org_id.into()],
        )
        .execute(&self.store.pool)
        .await?;
        if forgotten.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        self.get_identity(id).await
    }

    /// The identity with its sealed credentials and, when active, its sealed session.
    pub async fn identity_secrets(&self, id: &str) -> Result<IdentitySecrets> {
        let row = query(
            &format!(
                "SELECT {COLUMNS}, sealed_credentials, sealed_session, session_generation FROM identities \
                 WHERE id = $1 AND org_id = $2"
            ),
            vec![id.into(), self.org_id.into()],
        )
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let identity = identity(&row, self.store.clock.now_ms())?;
        let sealed_session = match identity.session_status {
            SessionStatus::Active => opt_text(&row, "sealed_session")?,
            _ => None,
        };
        Ok(IdentitySecrets {
            identity,
            sealed_credentials: text(&row, "sealed_credentials")?,
            sealed_session,
            generation: int(&row, "session_generation")?,
        })
    }
}

/// A LOGIN run a worker executed for an identity, in the same browser session,
/// before the run it holds. Recorded finished, in one go, under that run's lease.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub workflow_id: String,
    pub workflow_version: Option<i64>,
    pub definition: String,
    /// The inputs as reports show them (credentials masked).
    pub inputs: Value,
    pub status: RunStatus,
    pub outputs: Option<Value>,
    pub error: Option<RunError>,
    pub segments: Vec<SegmentExecution>,
    pub started_at: i64,
    pub finished_at: i64,
    /// What it did to the identity's session.
    pub session: SessionOutcome,
    /// `IdentitySecrets::generation` when the login read the credentials: the session
    /// is kept only if it was not forgotten or its credentials rotated meanwhile.
    pub generation: i64,
}

/// What a login did to its identity's session.
#[derive(Clone, PartialEq, Eq)]
pub enum SessionOutcome {
    /// Signed in: the session, sealed by the caller.
    Saved(String),
    /// The login failed: no session is kept and the identity is FAILED.
    Failed,
    /// Stopped before it could tell (cancelled): the identity is left as it was.
    Unchanged,
}

impl std::fmt::Debug for SessionOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionOutcome::Saved(_) => "Saved(sealed)",
            SessionOutcome::Failed => "Failed",
            SessionOutcome::Unchanged => "Unchanged",
        })
    }
}

impl Store {
    /// Records the login run of the lease's run and what it did to the identity's
    /// session (saved and ACTIVE, or FAILED and none kept); the lease's run shows it
    /// as its `login_run_id`. `None` (and nothing written) when the lease is gone.
    pub async fn record_login(&self, lease: &Lease, identity_id: &str, login: &LoginRecord) -> Result<Option<String>> {
        let now = self.clock.now_ms();
        let finished = login.finished_at.min(now);
        let mut tx = self.begin_write().await?;
        let Some(held) = lease.hold(&mut tx).await? else { return Ok(None) };
        let id = new_id("run");
        query(
            "INSERT INTO runs (id, org_id, workflow_id, workflow_version, definition, inputs, sealed_inputs, status, \
             outputs, error, test, attempts, max_attempts, cancel_requested, created_at, started_at, completed_at, \
             identity_id) VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, 1, 1, 0, $11, $11, $12, $13)",
            vec![
                id.as_str().into(),
                held.org_id.as_str().into(),
                login.workflow_id.as_str().into(),
                login.workflow_version.into(),
                login.definition.as_str().into(),
                login.inputs.to_string().into(),
                login.status.as_str().into(),
                login.outputs.as_ref().map(Value::to_string).into(),
                login.error.as_ref().map(error_json).into(),
                held.test.into(),
                login.started_at.into(),
                finished.into(),
                identity_id.into(),
            ],
        )
        .execute(&mut *tx)
        .await?;
        for segment in &login.segments {
            insert_segment(&mut tx, &id, 1, segment).await?;
        }
        query(
            "UPDATE runs SET login_run_id = $1 WHERE id = $2",
            vec![id.as_str().into(), lease.run_id.as_str().into()],
        )
        .execute(&mut *tx)
        .await?;
        set_session(&mut tx, identity_id, &held.org_id, &login.session, login.generation, finished).await?;
        let told = [
            Told { run_id: &id, kind: RunEventKind::Created, payload: json!({"status": RunStatus::Pending.as_str()}) },
            Told {
                run_id: &id,
                kind: RunEventKind::Finished,
                payload: finished_payload(login.status, login.error.as_ref()),
            },
        ];
        self.commit_telling(tx, &told, now).await?;
        Ok(Some(id))
    }
}

impl Store {
    /// Saves the session the lease's run (a LOGIN run as the identity) signed in,
    /// sealed, or marks the identity FAILED when `sealed_session` is `None`.
    /// `false` (and nothing written) when the lease is gone.
    pub async fn save_identity_session(
        &self,
        lease: &Lease,
        identity_id: &str,
        session: &SessionOutcome,
        generation: i64,
    ) -> Result<bool> {
        let now = self.clock.now_ms();
        let mut tx = self.begin_write().await?;
        let Some(held) = lease.hold(&mut tx).await? else { return Ok(false) };
        set_session(&mut tx, identity_id, &held.org_id, session, generation, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The identity's session saved (ACTIVE until its TTL from `at`) or FAILED, unless
/// it was forgotten since `generation` (credentials rotated, session deleted).
async fn set_session(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    identity_id: &str,
    org_id: &str,
    session: &SessionOutcome,
    generation: i64,
    at: i64,
) -> Result<()> {
    let current = "WHERE id = $2 AND org_id = $3 AND session_generation = $4";
    let statement = match session {
        SessionOutcome::Unchanged => return Ok(()),
        SessionOutcome::Saved(sealed) => query(
            &format!(
                "UPDATE identities SET session_status = 'ACTIVE', sealed_session = $5, session_saved_at = $1, \
                 session_expires_at = $1 + session_ttl_ms, updated_at = $1 {current}"
            ),
            vec![at.into(), identity_id.into(), org_id.into(), generation.into(), sealed.as_str().into()],
        ),
        SessionOutcome::Failed => query(
            &format!(
                "UPDATE identities SET session_status = 'FAILED', sealed_session = NULL, session_saved_at = NULL, \
                 session_expires_at = NULL, updated_at = $1 {current}"
            ),
            vec![at.into(), identity_id.into(), org_id.into(), generation.into()],
        ),
    };
    if statement.execute(&mut **tx).await?.rows_affected() == 1 {
        let event = match session {
            SessionOutcome::Saved(_) => WebhookEvent::IdentityLoginSucceeded,
            _ => WebhookEvent::IdentityLoginFailed,
        };
        crate::outbox::enqueue(tx, org_id, event, identity_id, false, at).await?;
    }
    Ok(())
}

impl Tenant<'_> {
    /// The LOGIN workflow that signs `identity` in: its own, else the organization's
    /// only live LOGIN workflow of the same source provider. A message naming the
    /// problem when there is none or several.
    pub async fn login_workflow_of(&self, identity: &Identity) -> Result<Result<Workflow, String>> {
        if let Some(id) = &identity.login_workflow_id {
            return Ok(match self.get_live_workflow(id).await {
                Ok(w) if w.ty == WorkflowType::Login => Ok(w),
                Ok(w) => {
                    Err(format!("identity '{}': workflow '{}' is no longer a LOGIN workflow", identity.name, w.name))
                }
                Err(Error::NotFound) => {
                    Err(format!("identity '{}': its LOGIN workflow {id} was deleted", identity.name))
                }
                Err(e) => return Err(e),
            });
        }
        let filter = WorkflowFilter {
            source_provider: Some(identity.source_provider.clone()),
            ty: Some(WorkflowType::Login),
            ..WorkflowFilter::default()
        };
        let found = self.list_workflows(&filter, &PageRequest { limit: 2, cursor: None }).await?.items;
        Ok(match found.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(format!(
                "identity '{}': no LOGIN workflow has source provider '{}'; create one or set loginWorkflowId",
                identity.name, identity.source_provider
            )),
            _ => Err(format!(
                "identity '{}': several LOGIN workflows have source provider '{}'; set loginWorkflowId",
                identity.name, identity.source_provider
            )),
        })
    }
}

/// Resets the session columns (an `UPDATE … SET` fragment).
const FORGET_SESSION: &str = "session_status = 'NONE', sealed_session = NULL, session_saved_at = NULL, \
                              session_expires_at = NULL, session_generation = session_generation + 1";

fn identity(row: &AnyRow, now: i64) -> Result<Identity> {
    let names: Vec<String> = serde_json::from_str(&text(row, "credential_names")?)
        .map_err(|e| Error::Corrupt(format!("identity credential names: {e}")))?;
    let expires_at = opt_int(row, "session_expires_at")?;
    let status = match text(row, "session_status")?.as_str() {
        "ACTIVE" if expires_at.is_some_and(|at| at <= now) => SessionStatus::Expired,
        "ACTIVE" => SessionStatus::Active,
        "FAILED" => SessionStatus::Failed,
        "NONE" => SessionStatus::None,
        other => return Err(Error::Corrupt(format!("identity session status '{other}'"))),
    };
    Ok(Identity {
        id: text(row, "id")?,
        name: text(row, "name")?,
        source_provider: text(row, "source_provider")?,
        login_workflow_id: opt_text(row, "login_workflow_id")?,
        credential_names: names,
        session_ttl_ms: int(row, "session_ttl_ms")?,
        session_status: status,
        session_saved_at: opt_int(row, "session_saved_at")?,
        session_expires_at: expires_at,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
    })
}
