use sqlx::any::AnyRow;

use crate::db::{int, query, text};
use crate::ids::{hash_key, new_api_key, new_id};
use crate::{ApiKey, Backend, Error, Org, Principal, Result, Role, Store, Tenant, limits};

impl Store {
    pub async fn create_org(&self, name: &str) -> Result<Org> {
        limits::check_name("name", name)?;
        let org = Org { id: new_id("org"), name: name.to_owned(), created_at: self.clock.now_ms() };
        query(
            "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
            vec![(&org.id).into(), (&org.name).into(), org.created_at.into()],
        )
        .execute(&self.pool)
        .await?;
        Ok(org)
    }

    /// Whether no organization exists yet (a brand-new database).
    pub async fn is_empty(&self) -> Result<bool> {
        let row = query("SELECT COUNT(*) AS n FROM organizations", vec![]).fetch_one(&self.pool).await?;
        Ok(int(&row, "n")? == 0)
    }

    /// Creates a key for any organization and returns it in clear, the only time it
    /// is available. Cross-tenant: for `segue admin create-key`; the API goes
    /// through `Tenant::create_api_key`.
    pub async fn create_api_key(&self, org_id: &str, name: &str, role: Role) -> Result<(ApiKey, String)> {
        limits::check_name("name", name)?;
        let clear = new_api_key();
        let key = ApiKey {
            id: new_id("key"),
            org_id: org_id.to_owned(),
            name: name.to_owned(),
            role,
            created_at: self.clock.now_ms(),
        };
        query(
            "INSERT INTO api_keys (id, org_id, name, key_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                (&key.id).into(),
                (&key.org_id).into(),
                (&key.name).into(),
                hash_key(&clear).into(),
                role.as_str().into(),
                key.created_at.into(),
            ],
        )
        .execute(&self.pool)
        .await?;
        Ok((key, clear))
    }

    /// Resolves a clear API key; `None` for unknown or revoked keys.
    pub async fn authenticate(&self, clear: &str) -> Result<Option<Principal>> {
        let row = query(
            "SELECT id, org_id, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            vec![hash_key(clear).into()],
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(Principal { org_id: text(&r, "org_id")?, key_id: text(&r, "id")?, role: role(&r)? })).transpose()
    }

    /// An organization by id, or by name when exactly one has it.
    pub async fn find_org(&self, id_or_name: &str) -> Result<Org> {
        let rows = query(
            "SELECT id, name, created_at FROM organizations WHERE id = $1 OR name = $1 ORDER BY created_at, id",
            vec![id_or_name.into()],
        )
        .fetch_all(&self.pool)
        .await?;
        let orgs = rows
            .iter()
            .map(|r| Ok(Org { id: text(r, "id")?, name: text(r, "name")?, created_at: int(r, "created_at")? }))
            .collect::<Result<Vec<_>>>()?;
        if let Some(by_id) = orgs.iter().find(|o| o.id == id_or_name) {
            return Ok(by_id.clone());
        }
        match orgs.as_slice() {
            [] => Err(Error::NotFound),
            [one] => Ok(one.clone()),
            many => {
                let ids: Vec<&str> = many.iter().map(|o| o.id.as_str()).collect();
                Err(Error::Conflict(format!(
                    "several organizations are named '{id_or_name}': use an id ({})",
                    ids.join(", ")
                )))
            }
        }
    }
}

impl Tenant<'_> {
    /// Creates a key of this organization (see `Store::create_api_key`).
    pub async fn create_api_key(&self, name: &str, role: Role) -> Result<(ApiKey, String)> {
        self.store.create_api_key(self.org_id, name, role).await
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let rows = query(
            "SELECT id, org_id, name, role, created_at FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
            vec![self.org_id.into()],
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKey {
                    id: text(r, "id")?,
                    org_id: text(r, "org_id")?,
                    name: text(r, "name")?,
                    role: role(r)?,
                    created_at: int(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Revokes a key, unless it is the organization's last active admin key:
    /// then nobody could manage keys any more (`Conflict`; `segue admin
    /// create-key` is the way back). The check and the update are one
    /// conditional statement; on PostgreSQL the organization's row is locked
    /// first, so two admins revoking each other at once cannot both succeed.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        if self.store.backend == Backend::Postgres {
            query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE", vec![self.org_id.into()])
                .fetch_optional(&mut *tx)
                .await?;
        }
        let done = query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL \
             AND (role <> $4 OR EXISTS (SELECT 1 FROM api_keys other WHERE other.org_id = $3 AND other.role = $4 \
             AND other.revoked_at IS NULL AND other.id <> $2))",
            vec![self.store.clock.now_ms().into(), key_id.into(), self.org_id.into(), Role::Admin.as_str().into()],
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(());
        }
        let active = query(
            "SELECT role FROM api_keys WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
            vec![key_id.into(), self.org_id.into()],
        )
        .fetch_optional(&mut *tx)
        .await?;
        match active {
            Some(_) => Err(Error::Conflict(
                "this is the organization's last admin key: create another admin key before revoking it".into(),
            )),
            None => Err(Error::NotFound),
        }
    }
}

fn role(row: &AnyRow) -> Result<Role> {
    let s = text(row, "role")?;
    Role::parse(&s).ok_or_else(|| Error::Corrupt(format!("unknown role '{s}'")))
}
