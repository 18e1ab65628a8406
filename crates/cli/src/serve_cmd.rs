//! `segue serve`: the API with embedded workers, on SQLite in a data folder
//! by default. `segue worker`: workers alone, sharing a database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use store::seal::{Sealer, write_private};
use store::{Role, Store};

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    data: DataArgs,
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
    /// Runs executed at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    #[command(flatten)]
    tuning: Tuning,
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
    /// `blocked`: segue's own listening sockets, which runs may never reach.
    fn config(&self, concurrency: usize, blocked: Vec<SocketAddr>) -> Result<worker::Config, String> {
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
        config.runner = self.network.boundary.runner_options(self.network.allow_private_network, blocked);
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

    /// The store and the sealer; `create_key` on a server's start only.
    async fn open(&self, create_key: bool) -> Result<(Store, Sealer, PathBuf), String> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // The database and key files are for this user only.
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let store = match &self.database_url {
            Some(url) => Store::connect(url).await,
            None => Store::open_sqlite(&dir.join("segue.db")).await,
        }
        .map_err(|e| format!("cannot open the database: {e}"))?;
        // From the environment only: a flag would show the key in the process list.
        let sealer = match std::env::var("SEGUE_SECRET_KEY") {
            Ok(key) => Sealer::from_base64(&key),
            Err(_) => Sealer::from_file(&dir.join("secret.key"), create_key),
        }
        .map_err(|e| e.to_string())?;
        Ok((store, sealer, dir))
    }
}

/// Ends when SIGINT or SIGTERM arrives.
async fn termination() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// On a new database: an organization and an admin key, printed once and
/// saved (mode 0600) so the local CLI works without copying it.
async fn bootstrap(store: &Store, dir: &Path) -> Result<(), String> {
    if !store.is_empty().await.map_err(|e| e.to_string())? {
        return Ok(());
    }
    let org = store.create_org("default").await.map_err(|e| e.to_string())?;
    let (_, key) = store.create_api_key(&org.id, "admin", Role::Admin).await.map_err(|e| e.to_string())?;
    let path = dir.join("admin-key");
    let _ = std::fs::remove_file(&path);
    write_private(&path, &key).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("created organization 'default' with an admin API key (shown once, saved to {}):", path.display());
    eprintln!("  {key}");
    Ok(())
}

pub async fn serve(args: ServeArgs) -> ExitCode {
    let http = match args.http.options() {
        Ok(options) => options,
        Err(message) => return fail(&message),
    };
    let (store, sealer, dir) = match args.data.open(true).await {
        Ok(opened) => opened,
        Err(message) => return fail(&message),
    };
    if let Err(message) = bootstrap(&store, &dir).await {
        return fail(&message);
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {}: {e}", args.listen)),
    };
    let mut blocked = crate::boundary::database_addresses(args.data.database_url.as_deref()).await;
    blocked.push(args.listen);
    let config = match args.tuning.config(args.workers, blocked) {
        Ok(c) => c,
        Err(message) => return fail(&message),
    };
    let max_time = server::MaxTime { segment: config.settings.segment_timeout, run: config.settings.run_timeout };
    let shutdown = executor::CancellationToken::new();
    // Runs of `segue worker` processes that died are reaped here too, even with no embedded workers.
    let reaper = tokio::spawn(worker::reap(store.clone(), config.lease / 2, shutdown.clone()));
    let workers = (args.workers > 0).then(|| {
        let worker = worker::Worker::new(store.clone(), sealer.clone(), config);
        tokio::spawn(worker.run(shutdown.clone()))
    });
    let state = server::AppState { store, sealer, metrics: server::metrics_handle(), max_time };
    eprintln!("segue serving on http://{} (API docs at /docs, data in {})", args.listen, dir.display());
    let stop = shutdown.clone();
    let served = server::serve(listener, server::app(state), http, async move {
        termination().await;
        stop.cancel();
    })
    .await;
    shutdown.cancel();
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    let _ = reaper.await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

pub async fn worker(args: WorkerArgs) -> ExitCode {
    let (store, sealer, _) = match args.data.open(false).await {
        Ok(opened) => opened,
        Err(message) => return fail(&message),
    };
    let blocked = crate::boundary::database_addresses(args.data.database_url.as_deref()).await;
    let config = match args.tuning.config(args.concurrency, blocked) {
        Ok(c) => c,
        Err(message) => return fail(&message),
    };
    eprintln!("segue worker {} executing up to {} runs at once", config.id, config.concurrency);
    let shutdown = executor::CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        termination().await;
        stop.cancel();
    });
    worker::Worker::new(store, sealer, config).run(shutdown).await;
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
