//! A two-step login: username and password, then a one-time code (the fixed
//! demo code, or the authenticator code of `TOTP_SECRET`). The session lives in a
//! cookie, as on the sites segue automates. `GET /login/count` tells how many
//! sign-ins completed, so tests can see a saved session spare one.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::html::page;
use crate::{ONE_TIME_CODE, PASSWORD, TOTP_SECRET, USERNAME};

#[derive(Clone, Default)]
struct Sessions {
    /// Tokens of people who passed step one, waiting for their code.
    pending: Arc<Mutex<HashSet<String>>>,
    signed_in: Arc<Mutex<HashSet<String>>>,
    /// Sign-ins completed since the site started.
    logins: Arc<AtomicU64>,
}

pub fn routes() -> Router {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/verify", get(verify_form).post(verify))
        .route("/login/count", get(login_count))
        .route("/account", get(account))
        .route("/logout", get(logout))
        .with_state(Sessions::default())
}

fn token(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{:x}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())
}

fn with_cookie(mut response: Response, name: &str, value: &str) -> Response {
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    response.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii cookie"));
    response
}

fn login_page(error: Option<&str>) -> Response {
    let error = error.map(|e| format!(r#"<p role="alert" class="error">{e}</p>"#)).unwrap_or_default();
    page(
        "Sign in",
        &format!(
            r#"<h1>Sign in</h1>{error}
<form method="post" action="/login">
  <label>Username <input name="username" data-testid="username" autocomplete="username"></label><br>
  <label>Password <input name="password" type="password" data-testid="password" autocomplete="current-password"></label><br>
  <button type="submit">Continue</button>
</form>"#
        ),
    )
    .into_response()
}

async fn login_form() -> Response {
    login_page(None)
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(State(sessions): State<Sessions>, Form(c): Form<Credentials>) -> Response {
    if c.username != USERNAME || c.password != PASSWORD {
        return (StatusCode::UNAUTHORIZED, login_page(Some("Incorrect username or password."))).into_response();
    }
    let pending = token("pending");
    sessions.pending.lock().expect("sessions").insert(pending.clone());
    with_cookie(Redirect::to("/login/verify").into_response(), "pending", &pending)
}

fn verify_page(error: Option<&str>) -> Response {
    let error = error.map(|e| format!(r#"<p role="alert" class="error">{e}</p>"#)).unwrap_or_default();
    page(
        "Verify it's you",
        &format!(
            r#"<h1>Enter your one-time code</h1>{error}
<p>We sent a 6-digit code to your device.</p>
<form method="post" action="/login/verify">
  <label>One-time code <input name="code" inputmode="numeric" data-testid="otp" autocomplete="one-time-code"></label>
  <button type="submit">Verify</button>
</form>"#
        ),
    )
    .into_response()
}

async fn verify_form(State(sessions): State<Sessions>, headers: HeaderMap) -> Response {
    match cookie(&headers, "pending") {
        Some(t) if sessions.pending.lock().expect("sessions").contains(&t) => verify_page(None),
        _ => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

async fn verify(State(sessions): State<Sessions>, headers: HeaderMap, Form(code): Form<Code>) -> Response {
    let Some(pending) = cookie(&headers, "pending").filter(|t| sessions.pending.lock().expect("sessions").contains(t))
    else {
        return Redirect::to("/login").into_response();
    };
    if !valid_code(code.code.trim()) {
        return (StatusCode::UNAUTHORIZED, verify_page(Some("That code is not valid."))).into_response();
    }
    sessions.pending.lock().expect("sessions").remove(&pending);
    sessions.logins.fetch_add(1, Ordering::SeqCst);
    let session = token("session");
    sessions.signed_in.lock().expect("sessions").insert(session.clone());
    with_cookie(Redirect::to("/account").into_response(), "session", &session)
}

/// The fixed demo code, or the authenticator code of this window or the one before
/// (a code typed as the window turns).
fn valid_code(code: &str) -> bool {
    if code == ONE_TIME_CODE {
        return true;
    }
    let secret = totp_rs::Secret::try_from_base32(TOTP_SECRET).expect("the demo secret is base32");
    let totp = totp_rs::Builder::new().with_secret(secret).with_skew(1).build().expect("a valid TOTP setup");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    totp.check(code, now).is_some()
}

async fn login_count(State(sessions): State<Sessions>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "logins": sessions.logins.load(Ordering::SeqCst) }))
}

async fn account(State(sessions): State<Sessions>, headers: HeaderMap) -> Response {
    match cookie(&headers, "session") {
        Some(t) if sessions.signed_in.lock().expect("sessions").contains(&t) => page(
            "Your account",
            r#"<h1>Your account</h1>
<p data-testid="welcome">Welcome back, Demo User</p>
<dl><dt>Plan</dt><dd data-testid="plan">Business</dd><dt>Account number</dt><dd data-testid="account-number">ACC-20931</dd></dl>
<a href="/logout">Sign out</a>"#,
        )
        .into_response(),
        _ => Redirect::to("/login").into_response(),
    }
}

async fn logout(State(sessions): State<Sessions>, headers: HeaderMap) -> Response {
    if let Some(t) = cookie(&headers, "session") {
        sessions.signed_in.lock().expect("sessions").remove(&t);
    }
    with_cookie(Redirect::to("/login").into_response(), "session", "")
}
