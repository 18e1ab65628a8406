use sqlx::any::AnyRow;

use crate::db::{int, query, text};
use crate::ids::{hash_key, new_api_key, new_id};
use crate::{ApiKey, Error, Org, Principal, Result, Role, Store};

impl Store {
    pub async fn create_org(&self, name: &str) -> Result<Org> {
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

    /// Creates a key and returns it in clear, the only time it is available.
    pub async fn create_api_key(&self, org_id: &str, name: &str, role: Role) -> Result<(ApiKey, String)> {
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

    pub async fn list_api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>> {
        let rows = query(
            "SELECT id, org_id, name, role, created_at FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
            vec![org_id.into()],
        )
        .fetch_all(&self.pool)
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

    pub async fn revoke_api_key(&self, org_id: &str, key_id: &str) -> Result<()> {
        let done = query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
            vec![self.clock.now_ms().into(), key_id.into(), org_id.into()],
        )
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Err(Error::NotFound) } else { Ok(()) }
    }
}

fn role(row: &AnyRow) -> Result<Role> {
    let s = text(row, "role")?;
    Role::parse(&s).ok_or_else(|| Error::Corrupt(format!("unknown role '{s}'")))
}
