//! The egress proxy: an HTTP proxy on a Unix socket that checks every
//! destination against the policy. `CONNECT host:port` (HTTPS, WebSockets,
//! Playwright's API requests) is tunnelled; plain `GET http://…` requests are
//! forwarded. Names are resolved here, the resolved addresses are checked, and
//! the connection goes to the checked address only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixListener};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::policy::{Denial, Policy};

/// Connections one run may hold open through the proxy at once.
const MAX_CONNECTIONS: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Names the response carries when the policy refused the destination.
pub const DENIED_HEADER: &str = "x-segue-egress-denied";

type Body = BoxBody<Bytes, hyper::Error>;

/// A running proxy for one run. Dropping it stops it and removes the socket.
pub struct Proxy {
    path: PathBuf,
    denials: Arc<Mutex<Vec<Denial>>>,
    task: JoinHandle<()>,
}

struct Shared {
    policy: Arc<Policy>,
    denials: Arc<Mutex<Vec<Denial>>>,
}

impl Proxy {
    /// Listens on a new Unix socket at `path`.
    pub fn bind(path: &Path, policy: Arc<Policy>) -> std::io::Result<Proxy> {
        let listener = UnixListener::bind(path)?;
        let denials = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared { policy, denials: Arc::clone(&denials) });
        let task = tokio::spawn(accept(listener, shared));
        Ok(Proxy { path: path.to_owned(), denials, task })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The refusals since the last call, oldest first.
    pub fn take_denials(&self) -> Vec<Denial> {
        std::mem::take(&mut *self.denials.lock().expect("denials"))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn accept(listener: UnixListener, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
        let Ok((stream, _)) = listener.accept().await else { return };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, Arc::clone(&shared)));
            let served = hyper::server::conn::http1::Builder::new()
                .preserve_header_case(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(e) = served {
                tracing::debug!(target: "egress", "proxy connection ended: {e}");
            }
            drop(permit);
        });
    }
}

async fn handle(request: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Body>, Infallible> {
    let response = if request.method() == Method::CONNECT {
        tunnel(request, &shared).await
    } else {
        forward(request, &shared).await
    };
    Ok(response.unwrap_or_else(|refusal| refusal))
}

/// `CONNECT host:port`: check, connect, answer 200, then copy bytes both ways.
async fn tunnel(request: Request<Incoming>, shared: &Shared) -> Result<Response<Body>, Response<Body>> {
    let authority =
        request.uri().authority().ok_or_else(|| plain(StatusCode::BAD_REQUEST, "CONNECT needs host:port"))?;
    let port = authority.port_u16().ok_or_else(|| plain(StatusCode::BAD_REQUEST, "CONNECT needs a port"))?;
    let upstream = connect(authority.host(), port, shared).await?;
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                let mut client = TokioIo::new(upgraded);
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
            Err(e) => tracing::debug!(target: "egress", "CONNECT upgrade failed: {e}"),
        }
    });
    Ok(Response::new(empty()))
}

/// `GET http://host/path`: check, connect, send it on in origin form.
async fn forward(mut request: Request<Incoming>, shared: &Shared) -> Result<Response<Body>, Response<Body>> {
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("http") {
        return Err(plain(StatusCode::BAD_REQUEST, "only absolute http:// requests and CONNECT are proxied"));
    }
    let host = uri.host().ok_or_else(|| plain(StatusCode::BAD_REQUEST, "the request names no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let upstream = connect(host, port, shared).await?;
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake::<_, Incoming>(TokioIo::new(upstream))
        .await
        .map_err(|e| plain(StatusCode::BAD_GATEWAY, &format!("{host}:{port}: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "egress", "upstream connection ended: {e}");
        }
    });
    let origin_form = uri.path_and_query().map_or("/", |p| p.as_str());
    *request.uri_mut() = origin_form.parse::<Uri>().expect("a path and query is an origin-form URI");
    let headers = request.headers_mut();
    headers.remove("proxy-connection");
    headers.remove("proxy-authorization");
    if !headers.contains_key(HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        if let Ok(value) = HeaderValue::from_str(authority) {
            headers.insert(HOST, value);
        }
    }
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| plain(StatusCode::BAD_GATEWAY, &format!("{host}:{port}: {e}")))?;
    Ok(response.map(BodyExt::boxed))
}

/// Resolves `host`, checks its addresses, connects to the one allowed.
async fn connect(host: &str, port: u16, shared: &Shared) -> Result<TcpStream, Response<Body>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let resolved: Vec<_> = match tokio::net::lookup_host((bare, port)).await {
        Ok(addrs) => addrs.map(|a: SocketAddr| a.ip()).collect(),
        Err(e) => return Err(plain(StatusCode::BAD_GATEWAY, &format!("{host}: could not resolve: {e}"))),
    };
    if resolved.is_empty() {
        return Err(plain(StatusCode::BAD_GATEWAY, &format!("{host}: no addresses")));
    }
    let target = match shared.policy.check(bare, port, &resolved) {
        Ok(target) => target,
        Err(denial) => {
            let text = format!("egress denied: {denial}");
            tracing::info!(target: "egress", "{text}");
            shared.denials.lock().expect("denials").push(denial);
            let mut response = plain(StatusCode::FORBIDDEN, &text);
            response.headers_mut().insert(DENIED_HEADER, HeaderValue::from_static("1"));
            return Err(response);
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(plain(StatusCode::BAD_GATEWAY, &format!("{host}:{port}: {e}"))),
        Err(_) => Err(plain(StatusCode::GATEWAY_TIMEOUT, &format!("{host}:{port}: connect timed out"))),
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn empty() -> Body {
    Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}
