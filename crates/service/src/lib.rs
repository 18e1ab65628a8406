//! One segue process: the API, workers, or both, over one database.
//!
//! `Options` holds plain values (the CLI reads flags and the environment, the
//! tests and benchmarks write them directly); `Options::build` opens the
//! database and the secret key, binds the API's address and, when asked,
//! creates the first organization, without starting anything; `Service::run`
//! listens and runs the API, the workers and the one reaper of the process
//! until `shutdown`, then drains. `segue serve`, `segue worker`, the server's tests and the service
//! benchmark all start segue this way.
//!
//! Runs never reach the service's own sockets: `build` adds the API's address
//! and the database's to the workers' blocked list.

mod reap;
mod retention;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use store::seal::{SealError, Sealer};
use store::{Role, Store};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

pub struct Options {
    /// Where workflows, runs and keys live.
    pub database: Database,
    /// Seals secret run inputs at rest; every process executing runs needs the server's key.
    pub secret_key: SecretKey,
    /// The API, or `None` for a process that only executes runs (`segue worker`).
    pub http: Option<HttpOptions>,
    /// This process's workers (`concurrency` 0: none, runs wait for other
    /// processes). Its lease also paces the reaper (every half lease), and its
    /// time limits are the longest the API accepts for a run.
    pub worker: worker::Config,
    /// On an empty database, create the organization `default` with an admin
    /// API key (`Service::bootstrapped`), so that a fresh server can be used at once.
    pub bootstrap: bool,
    /// Artifacts older than this are removed, bytes and rows, by this process
    /// when it serves the API (`--artifact-retention-days`); kept forever when `None`.
    pub artifact_retention: Option<std::time::Duration>,
}

pub enum Database {
    /// A SQLite file, created when missing.
    Sqlite(PathBuf),
    /// `postgres://…` (or `sqlite://…`): runs shared between processes and machines.
    Url(String),
    /// A store this process already opened (tests and benchmarks adding
    /// workers to a running service share its store and clock).
    Open(Store),
}

pub enum SecretKey {
    /// Base64 of 32 bytes (`SEGUE_SECRET_KEY`).
    Base64(String),
    /// A key file, created (mode 0600) when missing and `create` is set: a
    /// server's first start. A worker joining a server must use the server's key.
    File { path: PathBuf, create: bool },
}

pub struct HttpOptions {
    pub listen: Listen,
    /// Connection cap and timeouts.
    pub serve: server::ServeOptions,
}

pub enum Listen {
    /// Bound by `build`, listening from `run` on: whoever sees the port open
    /// finds what `build` created (the first admin key's file) in place.
    Addr(SocketAddr),
    /// Bound by the caller (tests bind port 0 and need the address first).
    Listener(TcpListener),
}

/// The API's socket between `build` and `run`.
enum Socket {
    Bound(TcpSocket),
    Listening(TcpListener),
}

impl Socket {
    fn bind(addr: SocketAddr) -> std::io::Result<Socket> {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        // As `TcpListener::bind`: a restarted server may take the port of connections still closing.
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        Ok(Socket::Bound(socket))
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Socket::Bound(socket) => socket.local_addr(),
            Socket::Listening(listener) => listener.local_addr(),
        }
    }

    fn listen(self) -> std::io::Result<TcpListener> {
        match self {
            Socket::Bound(socket) => socket.listen(1024),
            Socket::Listening(listener) => Ok(listener),
        }
    }
}

/// What `bootstrap` created on an empty database.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub org_id: String,
    /// Shown once: only its hash is stored.
    pub admin_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Database(store::Error),
    #[error(transparent)]
    SecretKey(#[from] SealError),
    /// Creating the first organization and its key.
    #[error("{0}")]
    Bootstrap(store::Error),
    #[error("{0}")]
    Serve(std::io::Error),
}

/// A built service, ready to `run`.
pub struct Service {
    store: Store,
    sealer: Sealer,
    /// The API's bound socket and how it serves; `None` in a worker-only process.
    http: Option<(Socket, server::ServeOptions)>,
    /// The workers' settings, their blocked list completed with this service's sockets.
    worker: worker::Config,
    /// Kept for the caller to show or save (`segue serve` writes `admin-key`).
    bootstrapped: Option<Bootstrapped>,
    artifact_retention: Option<std::time::Duration>,
}

impl Options {
    /// Binds the API's address, opens the database and the key and bootstraps
    /// an empty database. Nothing runs, nor listens, until `Service::run`.
    pub async fn build(self) -> Result<Service, Error> {
        let Options { database, secret_key, http, mut worker, bootstrap, artifact_retention } = self;
        // Binding first: a busy port must not leave behind an admin key nobody saw.
        let http = match http {
            None => None,
            Some(HttpOptions { listen: Listen::Listener(listener), serve }) => {
                Some((Socket::Listening(listener), serve))
            }
            Some(HttpOptions { listen: Listen::Addr(addr), serve }) => {
                Some((Socket::bind(addr).map_err(|source| Error::Listen { addr, source })?, serve))
            }
        };
        let mut own = match &database {
            Database::Url(url) => database_addresses(url).await,
            Database::Sqlite(_) | Database::Open(_) => Vec::new(),
        };
        if let Some((socket, _)) = &http {
            own.push(socket.local_addr().map_err(Error::Serve)?);
        }
        if !own.is_empty() {
            let mut egress = runner::Policy::clone(&worker.runner.egress);
            egress.blocked.extend(own);
            worker.runner.egress = Arc::new(egress);
        }
        let store = match database {
            Database::Sqlite(path) => Store::open_sqlite(&path).await,
            Database::Url(url) => Store::connect(&url).await,
            Database::Open(store) => Ok(store),
        }
        .map_err(Error::Database)?;
        let sealer = match secret_key {
            SecretKey::Base64(key) => Sealer::from_base64(&key)?,
            SecretKey::File { path, create } => Sealer::from_file(&path, create)?,
        };
        let bootstrapped = if bootstrap { first_organization(&store).await.map_err(Error::Bootstrap)? } else { None };
        Ok(Service { store, sealer, http, worker, bootstrapped, artifact_retention })
    }
}

/// On an empty database: the organization `default` and an admin key.
async fn first_organization(store: &Store) -> store::Result<Option<Bootstrapped>> {
    if !store.is_empty().await? {
        return Ok(None);
    }
    let org = store.create_org("default").await?;
    let (_, admin_key) = store.create_api_key(&org.id, "admin", Role::Admin).await?;
    Ok(Some(Bootstrapped { org_id: org.id, admin_key }))
}

/// The addresses a `postgres://` URL connects to.
async fn database_addresses(url: &str) -> Vec<SocketAddr> {
    let Some(parsed) = url::Url::parse(url).ok() else {
        return Vec::new();
    };
    let Some(host) = parsed.host_str() else {
        return Vec::new();
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = parsed.port().unwrap_or(5432);
    tokio::net::lookup_host((host.as_str(), port)).await.map(Iterator::collect).unwrap_or_default()
}

impl Service {
    /// Where the API listens (`None` without one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|(socket, _)| socket.local_addr().ok())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The workers' settings, as `run` will use them (egress blocked list completed).
    pub fn worker(&self) -> &worker::Config {
        &self.worker
    }

    /// What `bootstrap` created; `None` when the database already held data.
    pub fn bootstrapped(&self) -> Option<&Bootstrapped> {
        self.bootstrapped.as_ref()
    }

    /// Runs the reaper, the workers and the API until `shutdown`. Then the API
    /// stops accepting and finishes open requests while the workers stop
    /// claiming and drain their runs; the reaper stops last.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let Service { store, sealer, http, worker, bootstrapped: _, artifact_retention } = self;
        // Webhook URLs obey the runs' egress policy (private network, allow list, own sockets).
        let egress = worker.runner.egress.clone();
        let http = match http {
            Some((socket, options)) => {
                let addr = socket.local_addr().map_err(Error::Serve)?;
                Some((socket.listen().map_err(|source| Error::Listen { addr, source })?, options))
            }
            None => None,
        };
        // One reaper per process, whatever runs in it: a server without workers
        // still fails or re-queues the runs of `segue worker`s that died.
        let reaping = CancellationToken::new();
        let reaper = tokio::spawn(reap::reap(store.clone(), worker.lease / 2, reaping.clone()));
        // Retention with the API: `segue worker`s on other machines leave it to the server.
        let expiring = match (&http, &worker.blobs, artifact_retention) {
            (Some(_), Some(blobs), Some(keep)) => {
                Some(tokio::spawn(retention::expire(store.clone(), blobs.clone(), keep, reaping.clone())))
            }
            _ => None,
        };
        // Schedules fire where the API runs; their firing rows keep servers from doubling a due time.
        let scheduling = http
            .as_ref()
            .map(|_| tokio::spawn(server::scheduler::schedule(store.clone(), sealer.clone(), reaping.clone())));
        // Webhooks are sent where the API runs; leases keep servers from sending one delivery twice at once.
        let delivering = http.as_ref().map(|_| {
            let deliverer = server::webhook_delivery::Deliverer::new(store.clone(), sealer.clone(), egress.clone());
            tokio::spawn(deliverer.run(reaping.clone()))
        });
        // Stops the workers too when the API fails.
        let stop = shutdown.child_token();
        let max_time = server::MaxTime { segment: worker.settings.segment_timeout, run: worker.settings.run_timeout };
        // The API serves what the workers upload.
        let blobs = worker.blobs.clone();
        let workers = (worker.concurrency > 0)
            .then(|| tokio::spawn(worker::Worker::new(store.clone(), sealer.clone(), worker).run(stop.clone())));
        let served = match http {
            Some((listener, options)) => {
                let state =
                    server::AppState { store, sealer, metrics: server::metrics_handle(), max_time, blobs, egress };
                server::serve(listener, server::app(state), options, stop.clone().cancelled_owned()).await
            }
            None => {
                stop.cancelled().await;
                Ok(())
            }
        };
        stop.cancel();
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        reaping.cancel();
        let _ = reaper.await;
        if let Some(expiring) = expiring {
            let _ = expiring.await;
        }
        if let Some(scheduling) = scheduling {
            let _ = scheduling.await;
        }
        if let Some(delivering) = delivering {
            let _ = delivering.await;
        }
        served.map_err(Error::Serve)
    }
}
