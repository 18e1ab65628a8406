//! `segue serve`: the API with embedded workers, on SQLite in a data folder
//! by default. `segue worker`: workers alone, sharing a database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use executor::CancellationToken;
use store::Store;
use store::seal::write_private;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    artifacts: ArtifactStoreArgs,
    /// Remove artifacts (bytes and records) older than this many days; kept forever when absent.
    #[arg(long, env = "SEGUE_ARTIFACT_RETENTION_DAYS", value_name = "DAYS")]
    artifact_retention_days: Option<f64>,
    /// Runs executed at once by the embedded workers (0: none, use `segue worker`).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    tuning: Tuning,
}

/// How the API protects itself from slow or numerous callers (see `server::ServeOptions`).
#[derive(clap::Args)]
pub struct HttpArgs {
    /// Close a connection whose request headers are not complete within this.
    #[arg(long, value_name = "SECONDS", default_value_t = server::ServeOptions::default().header_read_timeout.as_secs_f64())]
    header_timeout_seconds: f64,
    /// Answer 408 to a request whose body is not received and answered within this
    /// (event streams are not limited once they started).
    #[arg(long, value_name = "SECONDS", default_value_t = server::ServeOptions::default().request_timeout.as_secs_f64())]
    request_timeout_seconds: f64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = server::ServeOptions::default().max_connections)]
    max_connections: usize,
}

impl HttpArgs {
    fn options(&self) -> Result<server::ServeOptions, String> {
        let positive = |s: f64| (s.is_finite() && s > 0.0).then(|| std::time::Duration::from_secs_f64(s));
        if self.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        Ok(server::ServeOptions {
            header_read_timeout: positive(self.header_timeout_seconds)
                .ok_or("--header-timeout-seconds must be positive")?,
            request_timeout: positive(self.request_timeout_seconds)
                .ok_or("--request-timeout-seconds must be positive")?,
            max_connections: self.max_connections,
            ..server::ServeOptions::default()
        })
    }
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    artifacts: ArtifactStoreArgs,
    /// Runs executed at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    #[command(flatten)]
    tuning: Tuning,
}

#[derive(clap::Args)]
pub struct ArtifactStoreArgs {
    /// Where artifact bytes are kept: a folder, or s3://BUCKET/PREFIX on S3-compatible storage
    /// (credentials, region and endpoint from the usual AWS_* variables, e.g. AWS_ENDPOINT_URL
    /// for MinIO, Ceph or R2). Every server and worker must name the same store
    /// [default: the data folder's artifacts/].
    #[arg(long, env = "SEGUE_ARTIFACT_STORE", value_name = "FOLDER|s3://BUCKET/PREFIX")]
    artifact_store: Option<String>,
}

impl ArtifactStoreArgs {
    async fn open(&self, data_dir: &Path) -> Result<blobs::Blobs, String> {
        let location = match &self.artifact_store {
            Some(spelled) => spelled.parse::<blobs::Location>().map_err(|e| format!("--artifact-store: {e}"))?,
            None => blobs::Location::Local(data_dir.join("artifacts")),
        };
        // The AWS SDKs' variables, by the names object_store knows them.
        let aws: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| name.starts_with("AWS_"))
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        let blobs = blobs::Blobs::open(&location, &aws).map_err(|e| format!("--artifact-store: {e}"))?;
        blobs.check().await.map_err(|e| format!("--artifact-store: cannot use {blobs:?}: {e}"))?;
        Ok(blobs)
    }
}

#[derive(clap::Args)]
pub struct Tuning {
    #[command(flatten)]
    llm: crate::ai::LlmArgs,
    #[command(flatten)]
    network: crate::boundary::PrivateNetworkArgs,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
    /// How long a run stays claimed without a heartbeat before it counts as lost.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    lease_seconds: f64,
    /// On SIGTERM, how long in-flight runs may take before they are cancelled.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    drain_seconds: f64,
    /// Time limit for each segment execution; also the most a run may ask for.
    #[arg(long, env = "SEGUE_SEGMENT_TIMEOUT", value_name = "SECONDS", default_value_t = 300.0)]
    segment_timeout: f64,
    /// Time limit for a whole run; also the most a run may ask for.
    #[arg(long, env = "SEGUE_RUN_TIMEOUT", value_name = "SECONDS", default_value_t = 3600.0)]
    run_timeout: f64,
    /// The most runs of one organization executed here at once, while the database
    /// holds several organizations [default: one less than the runs executed at once, at least 1].
    #[arg(long, env = "SEGUE_MAX_RUNS_PER_ORG", value_name = "N")]
    max_runs_per_org: Option<usize>,
}

impl Tuning {
    fn config(&self, concurrency: usize) -> Result<worker::Config, String> {
        let positive = |s: f64| (s.is_finite() && s > 0.0).then(|| std::time::Duration::from_secs_f64(s));
        let lease = positive(self.lease_seconds).ok_or("--lease-seconds must be positive")?;
        let drain = positive(self.drain_seconds).ok_or("--drain-seconds must be positive")?;
        let segment = positive(self.segment_timeout).ok_or("--segment-timeout must be positive")?;
        let run = positive(self.run_timeout).ok_or("--run-timeout must be positive")?;
        let mut config = worker::Config::new(concurrency);
        config.settings.segment_timeout = segment;
        config.settings.run_timeout = run;
        match self.max_runs_per_org {
            Some(0) => return Err("--max-runs-per-org must be at least 1".into()),
            Some(n) => config.max_runs_per_org = n,
            None => {}
        }
        config.settings.agent = self.llm.agent()?;
        config.settings.limits = self.limits.limits()?;
        config.lease = lease;
        // A few heartbeats per lease, so one slow write does not lose the run.
        config.heartbeat = (lease / 4).min(config.heartbeat);
        config.drain_timeout = drain;
        // The service adds its own API and database addresses to the blocked list.
        config.runner = self.network.boundary.runner_options(self.network.allow_private_network);
        Ok(config)
    }
}

#[derive(clap::Args)]
pub struct DataArgs {
    /// Folder for the SQLite database, the secret key and the admin key file.
    #[arg(long, env = "SEGUE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// `postgres://…` to share runs between machines; SQLite in the data folder when absent.
    #[arg(long, env = "SEGUE_DATABASE_URL")]
    database_url: Option<String>,
}

/// `SEGUE_DATA_DIR`, else `~/.local/share/segue`.
pub fn default_data_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/segue")
}

impl DataArgs {
    fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// The existing database, without the secret key (`segue admin`). A missing
    /// SQLite file is an error: a mistyped `--data-dir` must not create an empty service.
    pub async fn existing_store(&self) -> Result<Store, String> {
        let store = match &self.database_url {
            Some(url) => Store::connect(url).await,
            None => {
                let path = self.dir().join("segue.db");
                if !path.exists() {
                    return Err(format!("no database at {} (pass --data-dir or --database-url)", path.display()));
                }
                Store::open_sqlite(&path).await
            }
        };
        store.map_err(|e| format!("cannot open the database: {e}"))
    }

    /// The database and the secret key of a service, in the data folder
    /// (created, for this user only); `create_key` on a server's start only.
    fn service_data(&self, create_key: bool) -> Result<(service::Database, service::SecretKey, PathBuf), String> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // The database and key files are for this user only.
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let database = match &self.database_url {
            Some(url) => service::Database::Url(url.clone()),
            None => service::Database::Sqlite(dir.join("segue.db")),
        };
        // From the environment only: a flag would show the key in the process list.
        let secret_key = match std::env::var("SEGUE_SECRET_KEY") {
            Ok(key) => service::SecretKey::Base64(key),
            Err(_) => service::SecretKey::File { path: dir.join("secret.key"), create: create_key },
        };
        Ok((database, secret_key, dir))
    }
}

/// Cancelled when SIGINT or SIGTERM arrives.
fn termination() -> CancellationToken {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    let terminated = CancellationToken::new();
    let cancel = terminated.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        cancel.cancel();
    });
    terminated
}

/// The admin key of a new database, printed once and saved (mode 0600) so
/// the local CLI works without copying it.
fn save_admin_key(dir: &Path, key: &str) -> Result<(), String> {
    let path = dir.join("admin-key");
    let _ = std::fs::remove_file(&path);
    write_private(&path, key).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("created organization 'default' with an admin API key (shown once, saved to {}):", path.display());
    eprintln!("  {key}");
    Ok(())
}

pub async fn serve(args: ServeArgs) -> ExitCode {
    exit(serve_until_terminated(args).await)
}

async fn serve_until_terminated(args: ServeArgs) -> Result<(), String> {
    let serve = args.http.options()?;
    let mut worker = args.tuning.config(args.workers)?;
    let (database, secret_key, dir) = args.data.service_data(true)?;
    worker.blobs = Some(args.artifacts.open(&dir).await?);
    let artifact_retention = match args.artifact_retention_days {
        None => None,
        Some(days) if days.is_finite() && days > 0.0 && days <= 100_000.0 => {
            Some(std::time::Duration::from_secs_f64(days * 86_400.0))
        }
        Some(_) => return Err("--artifact-retention-days must be a positive number of days".into()),
    };
    let http = service::HttpOptions { listen: service::Listen::Addr(args.listen), serve };
    let options =
        service::Options { database, secret_key, http: Some(http), worker, bootstrap: true, artifact_retention };
    let service = options.build().await.map_err(|e| e.to_string())?;
    if let Some(first) = service.bootstrapped() {
        save_admin_key(&dir, &first.admin_key)?;
    }
    eprintln!("segue serving on http://{} (API docs at /docs, data in {})", args.listen, dir.display());
    service.run(termination()).await.map_err(|e| e.to_string())
}

pub async fn worker(args: WorkerArgs) -> ExitCode {
    exit(work_until_terminated(args).await)
}

async fn work_until_terminated(args: WorkerArgs) -> Result<(), String> {
    // At least one: a worker process that executes nothing has no use.
    let mut worker = args.tuning.config(args.concurrency.max(1))?;
    let (database, secret_key, dir) = args.data.service_data(false)?;
    worker.blobs = Some(args.artifacts.open(&dir).await?);
    let options =
        service::Options { database, secret_key, http: None, worker, bootstrap: false, artifact_retention: None };
    let service = options.build().await.map_err(|e| e.to_string())?;
    let config = service.worker();
    eprintln!("segue worker {} executing up to {} runs at once", config.id, config.concurrency);
    service.run(termination()).await.map_err(|e| e.to_string())
}

fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
