//! Both backends' migrations define the same tables with the same columns.

use std::collections::BTreeSet;

use libtest_mimic::Failed;
use sqlx::{AnyPool, Row as _};

/// `table.column` of every column the migrations created (sqlx's own table aside).
type Columns = BTreeSet<String>;

async fn columns(pool: &AnyPool, sql: &'static str) -> Result<Columns, Failed> {
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    rows.iter()
        .map(|r| Ok(format!("{}.{}", r.try_get::<String, _>("t")?, r.try_get::<String, _>("c")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Failed::from)
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'";
const POSTGRES_COLUMNS: &str = "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
     FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'";

pub fn both_backends_define_the_same_tables_and_columns() -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("segue.db");
        store::Store::open_sqlite(&path).await?.close().await;
        let sqlite = AnyPool::connect(&format!("sqlite://{}", path.display())).await?;
        let expected = columns(&sqlite, SQLITE_COLUMNS).await?;
        sqlite.close().await;
        if !expected.contains("run_events.payload") || !expected.contains("runs.run_timeout_ms") {
            return Err(format!("the SQLite columns were not read: {expected:?}").into());
        }
        let Some(admin_url) = testkit::test_database_url() else {
            return Ok(());
        };
        let name = format!("segue_schema_{}", store::new_id("db").trim_start_matches("db_"));
        let url = testkit::postgres::create_database(&admin_url, &name).await?;
        let compared = async {
            store::Store::connect(&url).await?.close().await;
            let postgres = AnyPool::connect(&url).await?;
            let actual = columns(&postgres, POSTGRES_COLUMNS).await;
            postgres.close().await;
            let actual = actual?;
            let only_sqlite: Vec<_> = expected.difference(&actual).collect();
            let only_postgres: Vec<_> = actual.difference(&expected).collect();
            if only_sqlite.is_empty() && only_postgres.is_empty() {
                Ok(())
            } else {
                Err(Failed::from(format!("only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_postgres:?}")))
            }
        }
        .await;
        testkit::postgres::drop_database(&admin_url, &name).await?;
        compared
    })
}
