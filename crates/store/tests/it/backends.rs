use std::future::Future;
use std::pin::Pin;

use libtest_mimic::Failed;
use store::{Clock, Store};

/// A test case: gets a fresh store whose clock the case controls.
pub type Case = fn(Store, Clock) -> Pin<Box<dyn Future<Output = Result<(), Failed>> + Send>>;

#[derive(Clone)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

pub fn available() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = testkit::test_database_url() {
        backends.push(Backend::Postgres { admin_url: url });
    }
    backends
}

/// 2026-01-01T00:00:00Z: cases move time from here.
const START_MS: i64 = 1_767_225_600_000;

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    pub fn run(&self, case: Case) -> Result<(), Failed> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        runtime.block_on(async {
            let clock = Clock::manual(START_MS);
            match self {
                Backend::Sqlite => {
                    let dir = tempfile::tempdir()?;
                    let store = Store::open_sqlite(&dir.path().join("segue.db")).await?.with_clock(clock.clone());
                    let result = case(store.clone(), clock).await;
                    store.close().await;
                    result
                }
                Backend::Postgres { admin_url } => {
                    let name = format!("segue_test_{}", store::new_id("db").trim_start_matches("db_"));
                    let url = testkit::postgres::create_database(admin_url, &name).await?;
                    let result = async {
                        let store = Store::connect(&url).await?.with_clock(clock.clone());
                        let result = case(store.clone(), clock).await;
                        store.close().await;
                        result
                    }
                    .await;
                    testkit::postgres::drop_database(admin_url, &name).await?;
                    result
                }
            }
        })
    }
}
