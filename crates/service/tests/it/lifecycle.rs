use std::time::Duration;

use serde_json::json;
use store::{Clock, Fairness, NewRun, NewWorkflow, RunStatus, Store, TimeLimits, WorkflowType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

/// A service on a SQLite file in `dir`, its API on a free loopback port, no workers.
fn options(dir: &std::path::Path, database: service::Database) -> service::Options {
    service::Options {
        database,
        secret_key: service::SecretKey::File { path: dir.join("secret.key"), create: true },
        http: Some(service::HttpOptions {
            listen: service::Listen::Addr("127.0.0.1:0".parse().unwrap()),
            serve: server::ServeOptions::default(),
        }),
        worker: worker::Config::new(0),
        bootstrap: true,
        artifact_retention: None,
    }
}

/// `GET path` over a fresh connection; the status line.
async fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: segue\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn an_empty_database_gets_one_organization_and_admin_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segue.db");
    let first = options(dir.path(), service::Database::Sqlite(path.clone())).build().await.unwrap();
    let created = first.bootstrapped().expect("a new database is bootstrapped").clone();
    let principal = first.store().authenticate(&created.admin_key).await.unwrap().expect("the key authenticates");
    assert_eq!(principal.org_id, created.org_id);
    drop(first);
    let again = options(dir.path(), service::Database::Sqlite(path)).build().await.unwrap();
    assert!(again.bootstrapped().is_none(), "a database with data is left as it is");
}

#[tokio::test]
async fn runs_never_reach_the_service_own_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let built = options(dir.path(), service::Database::Sqlite(dir.path().join("segue.db"))).build().await.unwrap();
    let api = built.local_addr().expect("an API");
    assert!(built.worker().runner.egress.blocked.contains(&api), "{:?}", built.worker().runner.egress);
}

#[tokio::test]
async fn listens_from_run_until_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let built = options(dir.path(), service::Database::Sqlite(dir.path().join("segue.db"))).build().await.unwrap();
    let addr = built.local_addr().unwrap();
    assert!(get(addr, "/healthz").await.is_err(), "built, the port is taken but nobody is let in yet");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(built.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        match get(addr, "/healthz").await {
            Ok(status) => break status,
            Err(_) if tokio::time::Instant::now() < deadline => tokio::task::yield_now().await,
            Err(e) => panic!("the API never listened: {e}"),
        }
    };
    assert!(status.contains("200"), "{status}");
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(20), running).await.expect("stops in time");
    stopped.expect("no panic").expect("a clean stop");
    assert!(get(addr, "/healthz").await.is_err(), "nothing listens any more");
}

#[tokio::test]
async fn a_busy_port_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let mut busy = options(dir.path(), service::Database::Sqlite(dir.path().join("segue.db")));
    busy.http.as_mut().unwrap().listen = service::Listen::Addr(addr);
    let error = busy.build().await.err().expect("the port is taken");
    assert!(error.to_string().starts_with(&format!("cannot listen on {addr}:")), "{error}");
    assert!(!dir.path().join("segue.db").exists(), "nothing is created before the port is ours");
}

/// A process with neither API nor workers still reaps: a run whose worker
/// vanished is re-queued by the service's one reaper.
#[tokio::test]
async fn the_reaper_requeues_runs_whose_worker_vanished() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(1_000_000);
    let store = Store::open_sqlite(&dir.path().join("segue.db")).await.unwrap().with_clock(clock.clone());
    let org = store.create_org("acme").await.unwrap();
    let tenant = store.tenant(&org.id);
    let definition = json!({"name": "w", "startSegmentName": "a", "segments": []}).to_string();
    let workflow = tenant
        .create_workflow(NewWorkflow {
            name: "w".into(),
            source_provider: None,
            ty: WorkflowType::UserDefined,
            description: None,
            definition: definition.clone(),
        })
        .await
        .unwrap();
    let run = tenant
        .create_run(NewRun {
            identity_id: None,
            deferred_inputs: Vec::new(),
            input_timeout_ms: None,
            workflow_id: workflow.id,
            workflow_version: Some(1),
            definition,
            inputs: json!({}),
            sealed_inputs: String::new(),
            test: false,
            max_attempts: 2,
            limits: TimeLimits::default(),
            artifacts: None,
        })
        .await
        .unwrap();
    store.claim("vanished", 1_000, Fairness { max_runs_per_org: 10 }).await.unwrap().expect("claimed");
    clock.advance(5_000);
    let reaper_only = service::Options {
        database: service::Database::Open(store.clone()),
        http: None,
        bootstrap: false,
        artifact_retention: None,
        ..options(dir.path(), service::Database::Open(store.clone()))
    }
    .build()
    .await
    .unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(reaper_only.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tenant.get_run(&run.id).await.unwrap().status != RunStatus::Pending {
        assert!(tokio::time::Instant::now() < deadline, "the run was not re-queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
