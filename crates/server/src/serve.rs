//! Serving the API on a TCP listener so that hostile callers cannot take it down:
//! a cap on open connections, a time limit on each request's headers and one on
//! reading the rest of the request and answering it.
//!
//! Why not `axum::serve`: it accepts every connection and never times out a
//! client that sends half a header, so a thousand such clients exhaust the
//! process's file descriptors and nothing (not even `/healthz`) is answered.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::time::Instant;

use crate::error::ApiError;

/// How `serve` protects itself; `segue serve` exposes each as a flag.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// A connection whose request headers are not complete this long after the
    /// connection opened (or after its previous response) is closed.
    pub header_read_timeout: Duration,
    /// Reading a request's body and computing its response must end within this,
    /// or the caller gets 408 `REQUEST_TIMEOUT`. A streamed response body (the SSE
    /// events of a run) is not limited: it starts once the response is computed.
    pub request_timeout: Duration,
    /// Connections served at once. At the cap, a new connection closes the oldest
    /// one that has not sent a whole request yet; when every connection is serving
    /// a request, further ones wait in the listen backlog, holding no file
    /// descriptor of this process, until one closes.
    pub max_connections: usize,
    /// After shutdown is asked, how long open connections (event streams) may
    /// still finish before they are dropped.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            // Longer than the longest `waitSeconds` (300), so a caller waiting for its
            // run gets the finished run rather than a wait cut short. Slow bodies are
            // bounded by the body limit and the connection cap.
            request_timeout: Duration::from_secs(310),
            max_connections: 512,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// When the request must be answered by; handlers that wait (`waitSeconds`) stop before it.
#[derive(Debug, Clone, Copy)]
pub struct RequestDeadline(pub Instant);

/// Serves `app` until `shutdown` completes, then lets open connections finish
/// for up to `drain_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(options.request_timeout, limit_request_time));
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let silent = Arc::new(Silent::default());
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Every slot is taken: the connection that has waited longest without
                // sending a whole request (a slow or silent client) makes room. When
                // all of them are serving requests, this one waits for a slot.
                silent.close_oldest();
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let (id, closed) = silent.add();
        let heard = Arc::clone(&silent);
        let app = TowerToHyperService::new(app.clone());
        let first = std::sync::atomic::AtomicBool::new(true);
        let service = hyper::service::service_fn(move |request| {
            if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                heard.remove(id);
            }
            app.call(request)
        });
        let forget = Arc::clone(&silent);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(options.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = closed => Ok(()),
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!("connection ended: {e}");
            }
            forget.remove(id);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(options.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(options.drain_timeout, slots.acquire_many(all)).await.is_err() {
        tracing::warn!("connections still open after {:?}: closing them", options.drain_timeout);
    }
    Ok(())
}

/// Open connections that have not sent a whole request yet, oldest first, each
/// with the means to close it.
#[derive(Default)]
struct Silent {
    next: std::sync::atomic::AtomicU64,
    open: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
}

impl Silent {
    /// Registers a new connection; the future completes if it is closed to make room.
    fn add(&self) -> (u64, impl Future<Output = ()> + use<>) {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (close, closed) = oneshot::channel();
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, close);
        // A sender dropped without a send (the client spoke, or the connection ended) never closes it.
        let closed = async move {
            if closed.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        (id, closed)
    }

    /// The connection sent a request, or ended: it is no longer one to close.
    fn remove(&self, id: u64) {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
    }

    fn close_oldest(&self) {
        let oldest = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_first();
        if let Some((_, close)) = oldest {
            let _ = close.send(());
        }
    }
}

/// Errors of `accept` are the listener's, not a connection's: the process is out
/// of file descriptors or memory. Waiting lets connections close meanwhile.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        tracing::error!("accept failed: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn limit_request_time(State(limit): State<Duration>, mut request: Request, next: Next) -> Response {
    let deadline = Instant::now() + limit;
    request.extensions_mut().insert(RequestDeadline(deadline));
    match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            format!("the request was not received and answered within {} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}
