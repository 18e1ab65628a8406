//! The bundled demo site that examples and tests run against: a shop (and a
//! second version of it whose selectors differ), a login with a one-time code,
//! a paginated table, a download, an upload and a page fed by a JSON API.
//!
//! Everything is in memory and deterministic, so expected outputs can be
//! written down in test fixtures.

mod catalog;
mod files;
mod html;
mod login;
mod orders;
mod shop;
mod stats;

use std::net::SocketAddr;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::net::TcpListener;

/// The demo's credentials, shown on its home page.
pub const USERNAME: &str = "demo";
pub const PASSWORD: &str = "demo-password";
pub const ONE_TIME_CODE: &str = "246810";
/// The demo account's authenticator secret (base32, as an authenticator app takes it):
/// the verify step also takes the RFC 6238 code of the current 30-second window.
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

pub fn app() -> Router {
    Router::new()
        .route("/", get(home))
        .merge(shop::routes())
        .merge(login::routes())
        .merge(orders::routes())
        .merge(files::routes())
        .merge(stats::routes())
}

/// Serves the demo until `shutdown` completes.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    axum::serve(listener, app()).with_graceful_shutdown(shutdown).await
}

/// Binds `addr` (port 0 picks a free one) and serves in the background.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((local, tokio::spawn(serve(listener, std::future::pending()))))
}

async fn home() -> Html<String> {
    html::page(
        "segue demo",
        &format!(
            r#"<h1>segue demo site</h1>
<ul>
  <li><a href="/shop/">Shop</a> and <a href="/shop-v2/">Shop (redesigned)</a></li>
  <li><a href="/login">Log in</a> as <code>{USERNAME}</code> / <code>{PASSWORD}</code>, one-time code <code>{ONE_TIME_CODE}</code> (or the authenticator code of the secret <code>{TOTP_SECRET}</code>; <a href="/login/count">sign-ins so far</a>)</li>
  <li><a href="/orders">Orders</a> (paginated table)</li>
  <li><a href="/reports">Reports</a> (download)</li>
  <li><a href="/upload">Upload a file</a></li>
  <li><a href="/dashboard">Dashboard</a> (loaded from <a href="/api/stats">/api/stats</a>)</li>
</ul>"#
        ),
    )
}
