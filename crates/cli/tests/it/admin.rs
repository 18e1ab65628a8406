//! `segue admin create-key`: the way back for an organization without an admin
//! key, straight against the server's database; and `segue serve`'s HTTP limits.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use reqwest::Method;

use crate::service::Server;
use crate::support::{segue, text};

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![
        Trial::test("admin::create_key_restores_an_organization_on_sqlite", || create_key_restores(None)),
        Trial::test("admin::serve_closes_half_open_connections", serve_closes_half_open_connections),
    ];
    if let Some(admin_url) = testkit::test_database_url() {
        trials.push(Trial::test("admin::create_key_restores_an_organization_on_postgres", move || {
            let name = format!("segue_admin_{}", std::process::id());
            let url = crate::support::postgres_database(&admin_url, &name)?;
            let result = create_key_restores(Some(&url));
            crate::support::drop_postgres_database(&admin_url, &name)?;
            result
        }));
    }
    trials
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn create_key_restores(database_url: Option<&str>) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().ok_or("data dir")?;
    let mut extra = vec!["--workers", "0"];
    let mut target = vec!["--data-dir", data];
    if let Some(url) = database_url {
        extra.extend(["--database-url", url]);
        target.extend(["--database-url", url]);
    }
    let server = Server::start_logged(dir.path(), &extra, &[], &dir.path().join("serve.log"))?;
    let keys = server.get("/v1/api-keys")?;
    let first = keys[0]["id"].as_str().ok_or("the bootstrap key")?.to_owned();
    let refused = server.call(Method::DELETE, &format!("/v1/api-keys/{first}"), None);
    check(
        refused.as_ref().is_err_and(|e| format!("{e:?}").contains("409")),
        format!("the last admin key is kept: {refused:?}"),
    )?;

    let create = |more: &[&str]| segue(&[&["admin", "create-key"], target.as_slice(), more].concat());
    let created = create(&["--org", "default", "--name", "rescue"]);
    check(created.status.success(), format!("create-key: {}", text(&created.stderr)))?;
    let key = text(&created.stdout).trim().to_owned();
    check(key.starts_with("sk_") && !key.contains('\n'), format!("stdout is the key alone: {key:?}"))?;
    check(text(&created.stderr).contains("rescue"), "stderr says what was created")?;
    let listed = server.call_as(&key, Method::GET, "/v1/api-keys", None)?;
    check(listed.as_array().map(Vec::len) == Some(2), format!("the new key administers the organization: {listed}"))?;
    server.call_as(&key, Method::DELETE, &format!("/v1/api-keys/{first}"), None).ok();
    let after = server.call_as(&key, Method::GET, "/v1/api-keys", None)?;
    check(after.as_array().map(Vec::len) == Some(1), "the old key could be revoked once another admin existed")?;

    let unknown = create(&["--org", "nobody"]);
    check(
        unknown.status.code() == Some(2) && text(&unknown.stderr).contains("nobody"),
        format!("an unknown organization: {}", text(&unknown.stderr)),
    )?;
    let role = create(&["--org", "default", "--role", "owner"]);
    check(role.status.code() == Some(2) && text(&role.stderr).contains("--role"), "an unknown role")?;
    let long = create(&["--org", "default", "--name", &"n".repeat(store::limits::NAME_MAX_CHARS + 1)]);
    check(long.status.code() == Some(2) && text(&long.stderr).contains("name"), "a name over the limit")?;
    Ok(())
}

fn serve_closes_half_open_connections() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let refused = segue(&["admin", "create-key", "--data-dir", dir.path().to_str().ok_or("dir")?, "--org", "default"]);
    check(
        refused.status.code() == Some(1) && text(&refused.stderr).contains("no database"),
        format!("no database is created by create-key: {}", text(&refused.stderr)),
    )?;
    let bad = segue(&["serve", "--max-connections", "0", "--data-dir", dir.path().to_str().ok_or("dir")?]);
    check(!bad.status.success() && text(&bad.stderr).contains("--max-connections"), "a cap of zero is refused")?;
    let server = Server::start_logged(
        dir.path(),
        &["--workers", "0", "--header-timeout-seconds", "1", "--max-connections", "4"],
        &[],
        &dir.path().join("serve.log"),
    )?;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut half_open: Vec<std::net::TcpStream> = Vec::new();
    for _ in 0..8 {
        let mut stream = std::net::TcpStream::connect(&address)?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: segue\r\n")?;
        half_open.push(stream);
    }
    let started = Instant::now();
    let mut first = half_open.remove(0);
    first.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut rest = Vec::new();
    let closed = first.read_to_end(&mut rest);
    // Closed with the request unread: an end of stream, or a reset when the timeout
    // fired before the read began (a busy machine opening the eight connections slowly).
    let ended = closed.as_ref().map_or_else(|e| e.kind() == std::io::ErrorKind::ConnectionReset, |_| true);
    check(
        ended && started.elapsed() < Duration::from_secs(5),
        format!("the half-open connection was closed after {:?}: {closed:?}", started.elapsed()),
    )?;
    let health = crate::support::runtime().block_on(async {
        reqwest::Client::new().get(format!("{}/healthz", server.base)).timeout(Duration::from_secs(20)).send().await
    })?;
    check(health.status().is_success(), "/healthz answers once the half-open connections are closed")
}
