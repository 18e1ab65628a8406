//! Serving the API on a TCP listener so that hostile callers cannot take it down:
//! a cap on open connections, a time limit on each request's headers and one on
//! reading the rest of the request and answering it.
//!
//! Why not `axum::serve`: it accepts every connection and never times out a
//! client that sends half a header, so a thousand such clients exhaust the
//! process's file descriptors and nothing (not even `/healthz`) is answered.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
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
    /// Connections served at once. Further ones wait in the listen backlog,
    /// holding no file descriptor of this process, until one closes.
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
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
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
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(options.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!("connection ended: {e}");
            }
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
