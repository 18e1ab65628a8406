//! Workers: claim queued runs, execute them in the browser, record what
//! happened. Embedded in `segue serve` or alone as `segue worker` (both started
//! by the `service` crate, which also reaps lost runs); any number of them may
//! share one PostgreSQL database.
//!
//! Each run gets its own runner process (its JavaScript can then be killed
//! without touching other runs). A heartbeat extends the run's lease and
//! brings back cancel requests; a lost lease stops the run without recording
//! anything more, since another party now decides its fate.

mod execute;
mod progress;
mod sign_in;
mod waiting;

use std::sync::Arc;
use std::time::Duration;

use store::Store;
use store::seal::Sealer;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Config {
    /// Names this worker in leases; unique per process.
    pub id: String,
    /// Runs executed at once (0: this process executes none).
    pub concurrency: usize,
    /// The most runs of one organization executed at once (while several
    /// organizations exist), so one organization's stuck runs never hold every slot.
    pub max_runs_per_org: usize,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    pub heartbeat: Duration,
    /// Pause between claims when the queue is empty.
    pub poll: Duration,
    /// On shutdown, how long in-flight runs may take before they are cancelled.
    pub drain_timeout: Duration,
    pub settings: executor::Settings,
    /// How runners start: each run gets a runner process and a Chromium of its
    /// own inside its own sandbox (a browser shared between runs would let one
    /// run's code reach another's pages through the DevTools protocol).
    pub runner: runner::Options,
    /// Where runs' artifacts are uploaded; none: runs leave none.
    pub blobs: Option<blobs::Blobs>,
}

impl Config {
    /// The lease as the store takes it.
    pub fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    fn fairness(&self) -> store::Fairness {
        store::Fairness { max_runs_per_org: i64::try_from(self.max_runs_per_org).unwrap_or(i64::MAX) }
    }

    pub fn new(concurrency: usize) -> Config {
        Config {
            id: store::new_id("worker"),
            concurrency,
            // One slot stays free for other organizations when there is more than one.
            max_runs_per_org: concurrency.saturating_sub(1).max(1),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(2),
            poll: Duration::from_millis(250),
            drain_timeout: Duration::from_secs(60),
            settings: executor::Settings::default(),
            runner: runner::Options::default(),
            blobs: None,
        }
    }
}

pub struct Worker {
    store: Store,
    sealer: Sealer,
    config: Arc<Config>,
}

impl Worker {
    pub fn new(store: Store, sealer: Sealer, config: Config) -> Worker {
        Worker { store, sealer, config: Arc::new(config) }
    }

    /// Claims and executes runs until `shutdown`, then drains: no new claims,
    /// in-flight runs finish, or are cancelled once `drain_timeout` passes.
    /// Runs of workers that vanished are reaped by the service, once per process.
    pub async fn run(self, shutdown: CancellationToken) {
        let config = &self.config;
        tracing::info!(worker = %config.id, concurrency = config.concurrency, "worker started");
        let permits = Arc::new(Semaphore::new(config.concurrency));
        let in_flight = CancellationToken::new();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let permit = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                p = Arc::clone(&permits).acquire_owned() => p.expect("semaphore is never closed"),
            };
            match self.store.claim(&config.id, config.lease_ms(), config.fairness()).await {
                Ok(Some(claimed)) => {
                    let job = execute::Job {
                        store: self.store.clone(),
                        sealer: self.sealer.clone(),
                        config: Arc::clone(config),
                        cancel: in_flight.child_token(),
                    };
                    tasks.spawn(async move {
                        job.execute(claimed).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(config.poll) => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!("claiming a run failed: {e}");
                    tokio::time::sleep(config.poll).await;
                }
            }
        }
        tracing::info!(worker = %config.id, in_flight = tasks.len(), "draining");
        let drained =
            tokio::time::timeout(config.drain_timeout, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            in_flight.cancel();
            while tasks.join_next().await.is_some() {}
        }
        tracing::info!(worker = %config.id, "worker stopped");
    }
}
