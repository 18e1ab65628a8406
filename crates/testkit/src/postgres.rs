//! Throwaway PostgreSQL databases for tests and benchmarks, on the server an
//! admin URL names (e.g. `SEGUE_TEST_DATABASE_URL`).

use sqlx::{Connection as _, Executor as _};

/// The URL of database `name` on the server of `admin_url` (query kept).
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// Creates an empty database `name` (dropping a leftover one) and returns its URL.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String, sqlx::Error> {
    admin(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    admin(admin_url, &format!("CREATE DATABASE {name}")).await?;
    Ok(database_url(admin_url, name))
}

/// Drops database `name`, closing its connections.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    admin(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
}

async fn admin(url: &str, statement: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    conn.execute(sqlx::AssertSqlSafe(statement.to_owned())).await?;
    conn.close().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_server_and_query() {
        assert_eq!(
            super::database_url("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(super::database_url("postgres://u@h/postgres", "x"), "postgres://u@h/x");
    }
}
