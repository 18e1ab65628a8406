use reqwest::{Method, StatusCode};
use serde_json::json;
use store::Role;

use crate::support::{Database, Setup, TestServer, logins, read_account};

const PASSWORD: &str = "pw-9d1e7c2b-never-shown";
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";

/// Identities are created, listed, rotated and deleted; no answer ever shows a
/// credential's value, the database holds them sealed, and another organization
/// sees none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_keep_credentials_write_only_and_sealed() {
    let server = TestServer::start(0).await;
    let login = server
        .post(
            "/v1/workflows",
            json!({"name": "shop login", "type": "LOGIN", "sourceProvider": "demo-shop",
                   "definition": server.example("login_with_otp.json")}),
        )
        .await;
    assert_eq!(login.status, StatusCode::CREATED, "{}", login.body);
    let login_id = login.body["id"].as_str().unwrap().to_owned();
    let plain = server.create_workflow(server.example("shop_price_check.json")).await;

    let body = json!({"name": "shop demo", "sourceProvider": "demo-shop", "loginWorkflowId": login_id,
                      "credentials": {"username": "demo", "password": PASSWORD, "totp_secret": TOTP}});
    let created = server.post("/v1/identities", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let identity = created.body.clone();
    let id = identity["id"].as_str().unwrap().to_owned();
    assert_eq!(identity["credentialNames"], json!(["password", "totp_secret", "username"]));
    assert_eq!(identity["session"]["status"], "NONE");
    assert_eq!(identity["loginWorkflowId"], login_id.as_str());
    assert_eq!(identity["sessionTtlSeconds"], 43_200.0);
    assert!(identity["session"]["savedAt"].is_null() && identity["createdAt"].is_string(), "{identity}");

    let again = server.post("/v1/identities", body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    for (bad, field) in [
        (json!({"name": "x", "sourceProvider": "s", "credentials": {"password": 5}}), "credentials"),
        (json!({"name": "x", "sourceProvider": "s", "credentials": {"totp_secret": "not base32!"}}), "credentials"),
        (json!({"name": "x", "sourceProvider": "s", "credentials": {"pass word": "p"}}), "credentials"),
        (json!({"name": "x", "sourceProvider": "s", "credentials": {}, "loginWorkflowId": plain}), "loginWorkflowId"),
        (json!({"name": "x", "sourceProvider": "s", "credentials": {}, "sessionTtlSeconds": 0}), "sessionTtlSeconds"),
    ] {
        let refused = server.post("/v1/identities", bad.clone()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", refused.body);
        assert_eq!(refused.body["error"]["details"]["field"], field, "{bad}: {}", refused.body);
    }
    let missing = server.post("/v1/identities", json!({"name": "x", "sourceProvider": "s"})).await;
    assert!(missing.status.is_client_error(), "{}", missing.body);

    // Rotating the credentials drops the session and changes the names.
    let rotated = server
        .call(
            Method::PATCH,
            &format!("/v1/identities/{id}"),
            Some(json!({"credentials": {"password": "new-pw-31"}, "sessionTtlSeconds": 600})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(rotated.body["credentialNames"], json!(["password"]));
    assert_eq!(rotated.body["sessionTtlSeconds"], 600.0);
    let cleared =
        server.call(Method::PATCH, &format!("/v1/identities/{id}"), Some(json!({"loginWorkflowId": null}))).await;
    assert!(cleared.body["loginWorkflowId"].is_null(), "{}", cleared.body);
    let forgotten = server.call(Method::DELETE, &format!("/v1/identities/{id}/session"), None).await;
    assert_eq!((forgotten.status, &forgotten.body["session"]["status"]), (StatusCode::OK, &json!("NONE")));

    // Nothing shows a value, and the database keeps them sealed.
    let listed = server.get("/v1/identities").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1), "{}", listed.body);
    let shown = format!("{} {} {}", identity, listed.body, server.get(&format!("/v1/identities/{id}")).await.body);
    for secret in [PASSWORD, TOTP, "new-pw-31"] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
        for entry in walk(server.data_dir()) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in clear in {entry:?}");
        }
    }

    // Another organization sees, changes and deletes none of it.
    let other = server.store.create_org("other").await.unwrap();
    let (_, other_key) = server.store.create_api_key(&other.id, "admin", Role::Admin).await.unwrap();
    let theirs = server.call_as(Some(&other_key), Method::GET, "/v1/identities", None).await;
    assert_eq!(theirs.body["data"], json!([]), "{}", theirs.body);
    for (method, path) in [
        (Method::GET, format!("/v1/identities/{id}")),
        (Method::PATCH, format!("/v1/identities/{id}")),
        (Method::DELETE, format!("/v1/identities/{id}/session")),
        (Method::DELETE, format!("/v1/identities/{id}")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "stolen"}));
        let answer = server.call_as(Some(&other_key), method.clone(), &path, body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}: {}", answer.body);
    }
    let borrowed = json!({"name": "mine", "sourceProvider": "s", "credentials": {}, "loginWorkflowId": login_id});
    let borrowing = server.call_as(Some(&other_key), Method::POST, "/v1/identities", Some(borrowed)).await;
    assert_eq!(
        borrowing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another organization's LOGIN workflow: {}",
        borrowing.body
    );

    assert_eq!(server.call(Method::DELETE, &format!("/v1/identities/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&format!("/v1/identities/{id}")).await.status, StatusCode::NOT_FOUND);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

/// A workflow that needs the demo account signed in: it reads the account page.
/// A run as an identity logs in first with its LOGIN workflow (password and TOTP
/// code), saves the session, and the next run reuses it without logging in; an
/// expired session is renewed; a wrong password fails the run with LOGIN_FAILED
/// and the identity FAILED; an identity that cannot sign in fails fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_as_an_identity_log_in_once_and_reuse_the_session() {
    for database in Database::available() {
        eprintln!("database: {database:?}");
        let server = TestServer::start_setup(Setup { database, ..Setup::new(1) }).await;
        log_in_once_and_reuse_the_session(&server).await;
    }
}

async fn log_in_once_and_reuse_the_session(server: &TestServer) {
    let login = server
        .post(
            "/v1/workflows",
            json!({"name": "demo login", "type": "LOGIN", "sourceProvider": "demo-login",
                   "definition": server.example("login_with_otp.json")}),
        )
        .await;
    assert_eq!(login.status, StatusCode::CREATED, "{}", login.body);
    let user = server.create_workflow(read_account(&server.demo)).await;
    let credentials = json!({"username": demo::USERNAME, "password": demo::PASSWORD, "totp_secret": demo::TOTP_SECRET});
    let identity = server
        .post("/v1/identities", json!({"name": "demo", "sourceProvider": "demo-login", "credentials": credentials}))
        .await
        .body;
    let id = identity["id"].as_str().unwrap().to_owned();
    let run_as = |identity: &str, extra: serde_json::Value| {
        let mut body = json!({"identityId": identity, "waitSeconds": 90});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };

    let before = logins(server).await;
    let first = server.post(&format!("/v1/workflows/{user}/runs"), run_as(&id, json!({}))).await.body;
    assert_eq!(first["status"], "COMPLETED", "{first}");
    assert_eq!(first["outputs"]["account_number"], "ACC-20931");
    assert_eq!(first["identityId"], id.as_str());
    let login_run_id = first["loginRunId"].as_str().expect("a login run").to_owned();
    let login_run = server.get(&format!("/v1/runs/{login_run_id}")).await.body;
    assert_eq!(
        (&login_run["status"], &login_run["workflowId"]),
        (&json!("COMPLETED"), &login.body["id"]),
        "{login_run}"
    );
    assert_eq!(login_run["inputs"]["password"], "********", "{login_run}");
    let segments = server.get(&format!("/v1/runs/{login_run_id}/segments")).await.body;
    assert_eq!(segments["data"].as_array().map(Vec::len), Some(4), "{segments}");
    assert_eq!(logins(server).await, before + 1, "one sign-in");
    let saved = server.get(&format!("/v1/identities/{id}")).await.body;
    assert_eq!(saved["session"]["status"], "ACTIVE", "{saved}");
    assert!(saved["session"]["expiresAt"].is_string(), "{saved}");

    let second = server.post(&format!("/v1/workflows/{user}/runs"), run_as(&id, json!({}))).await.body;
    assert_eq!(second["status"], "COMPLETED", "{second}");
    assert!(second["loginRunId"].is_null(), "the saved session is reused: {second}");
    assert_eq!(logins(server).await, before + 1, "no second sign-in");

    // A session past its time is renewed by logging in again.
    let short = json!({"sessionTtlSeconds": 1});
    assert_eq!(server.call(Method::PATCH, &format!("/v1/identities/{id}"), Some(short)).await.status, StatusCode::OK);
    server.call(Method::DELETE, &format!("/v1/identities/{id}/session"), None).await;
    let third = server.post(&format!("/v1/workflows/{user}/runs"), run_as(&id, json!({}))).await.body;
    assert!(third["loginRunId"].is_string() && third["status"] == "COMPLETED", "{third}");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let expired = server.get(&format!("/v1/identities/{id}")).await.body;
    assert_eq!(expired["session"]["status"], "EXPIRED", "{expired}");
    let renewed = server.post(&format!("/v1/workflows/{user}/runs"), run_as(&id, json!({}))).await.body;
    assert!(renewed["loginRunId"].is_string() && renewed["status"] == "COMPLETED", "{renewed}");
    assert_eq!(logins(server).await, before + 3, "signed in again for each of the last two");

    // Log in now, on request: a run of the LOGIN workflow with the credentials.
    let long = json!({"sessionTtlSeconds": 3600});
    assert_eq!(server.call(Method::PATCH, &format!("/v1/identities/{id}"), Some(long)).await.status, StatusCode::OK);
    let asked = server.post(&format!("/v1/identities/{id}/login"), json!({})).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.body);
    let now = server.wait_final(asked.body["id"].as_str().unwrap(), std::time::Duration::from_secs(90)).await;
    assert_eq!((&now["status"], &now["identityId"]), (&json!("COMPLETED"), &json!(id)), "{now}");
    assert_eq!(logins(server).await, before + 4, "signed in on request");
    assert_eq!(server.get(&format!("/v1/identities/{id}")).await.body["session"]["status"], "ACTIVE");

    // A LOGIN run as the identity given another account's credentials is refused.
    let planted = json!({"username": "someone-else", "password": "their-password", "otp_code": "123456"});
    let login_id = login.body["id"].as_str().unwrap();
    let swapped =
        server.post(&format!("/v1/workflows/{login_id}/runs"), run_as(&id, json!({"inputs": planted}))).await.body;
    assert_eq!(swapped["error"]["code"], "LOGIN_FAILED", "{swapped}");
    assert!(swapped["error"]["message"].as_str().unwrap().contains("is a credential"), "{swapped}");
    let linted: Vec<&str> =
        swapped["warnings"].as_array().into_iter().flatten().filter_map(|w| w["code"].as_str()).collect();
    assert!(linted.len() == 3 && linted.iter().all(|c| *c == "credential-with-identity"), "{swapped}");
    assert!(first.get("warnings").is_none(), "a run asking for no credential has none: {first}");
    assert_eq!(server.get(&format!("/v1/identities/{id}")).await.body["session"]["status"], "ACTIVE");

    // A wrong password: the login fails, the run fails with LOGIN_FAILED, the identity is FAILED.
    let wrong = json!({"username": demo::USERNAME, "password": "wrong-password-83", "totp_secret": demo::TOTP_SECRET});
    let bad = server
        .post("/v1/identities", json!({"name": "wrong", "sourceProvider": "demo-login", "credentials": wrong}))
        .await
        .body;
    let bad_id = bad["id"].as_str().unwrap();
    let refused = server
        .post(&format!("/v1/workflows/{user}/runs"), run_as(bad_id, json!({"segmentTimeoutSeconds": 5})))
        .await
        .body;
    assert_eq!(
        (&refused["status"], &refused["error"]["code"]),
        (&json!("FAILED"), &json!("LOGIN_FAILED")),
        "{refused}"
    );
    assert!(refused["error"]["message"].as_str().unwrap().contains("LOGIN run failed"), "{refused}");
    let failed_login = server.get(&format!("/v1/runs/{}", refused["loginRunId"].as_str().unwrap())).await.body;
    assert_ne!(failed_login["status"], "COMPLETED", "{failed_login}");
    let failed = server.get(&format!("/v1/identities/{bad_id}")).await.body;
    assert_eq!(failed["session"]["status"], "FAILED", "{failed}");
    assert!(!format!("{refused}{failed_login}{failed}").contains("wrong-password-83"), "the password never shows");
    let segments = server.get(&format!("/v1/runs/{}/segments", refused["loginRunId"].as_str().unwrap())).await.body;
    assert!(!segments.to_string().contains("wrong-password-83"), "the password never shows: {segments}");

    // An identity without the password the LOGIN workflow needs fails fast, naming it.
    let partial = server
        .post(
            "/v1/identities",
            json!({"name": "partial", "sourceProvider": "demo-login", "credentials": {"username": "demo"}}),
        )
        .await
        .body;
    let fast = server
        .post(&format!("/v1/workflows/{user}/runs"), run_as(partial["id"].as_str().unwrap(), json!({})))
        .await
        .body;
    assert_eq!(fast["error"]["code"], "LOGIN_FAILED", "{fast}");
    assert!(fast["error"]["message"].as_str().unwrap().contains("no credential 'password'"), "{fast}");

    // Refused at creation: an unknown identity, or one no LOGIN workflow signs in.
    let unknown = server.post(&format!("/v1/workflows/{user}/runs"), run_as("idn_missing", json!({}))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    assert_eq!(unknown.body["error"]["details"]["field"], "identityId");
    let orphan = server
        .post("/v1/identities", json!({"name": "orphan", "sourceProvider": "nobody", "credentials": {"a": "b"}}))
        .await
        .body;
    let none =
        server.post(&format!("/v1/workflows/{user}/runs"), run_as(orphan["id"].as_str().unwrap(), json!({}))).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", none.body);
    assert!(none.body["error"]["message"].as_str().unwrap().contains("no LOGIN workflow"), "{}", none.body);
    let cannot = server.post(&format!("/v1/identities/{}/login", orphan["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(cannot.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", cannot.body);
}

/// Polls until the run shows `status` (or fails the test after a minute).
async fn until_status(server: &TestServer, run: &str, status: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = server.get(&format!("/v1/runs/{run}")).await.body;
        if now["status"] == status {
            return now;
        }
        assert!(tokio::time::Instant::now() < deadline, "run {run} never became {status}: {now}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A code sent by SMS: the identity has no TOTP secret, so the login waits for a
/// person (the run shows AWAITING_USER_INPUT) and goes on with the code they supply;
/// a deferred input nobody supplies fails the run with INPUT_TIMEOUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waits_for_a_persons_code() {
    for database in Database::available() {
        eprintln!("database: {database:?}");
        let server = TestServer::start_setup(Setup { database, ..Setup::new(1) }).await;
        waits_for_a_persons_code(&server).await;
    }
}

async fn waits_for_a_persons_code(server: &TestServer) {
    let login = json!({"name": "demo login", "type": "LOGIN", "sourceProvider": "demo-sms",
                       "definition": server.example("login_with_otp.json")});
    assert_eq!(server.post("/v1/workflows", login).await.status, StatusCode::CREATED);
    let user = server.create_workflow(read_account(&server.demo)).await;
    let credentials = json!({"username": demo::USERNAME, "password": demo::PASSWORD});
    let identity = server
        .post("/v1/identities", json!({"name": "sms", "sourceProvider": "demo-sms", "credentials": credentials}))
        .await
        .body;
    let before = logins(server).await;
    let run = server.post(&format!("/v1/workflows/{user}/runs"), json!({"identityId": identity["id"]})).await.body;
    let run_id = run["id"].as_str().unwrap().to_owned();
    let waiting = until_status(server, &run_id, "AWAITING_USER_INPUT").await;
    assert_eq!(waiting["awaitingInput"]["name"], "otp_code", "{waiting}");
    assert!(waiting["awaitingInput"]["expiresAt"].is_string(), "{waiting}");
    let listed = server.get("/v1/runs?status=AWAITING_USER_INPUT").await.body;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");

    let inputs = format!("/v1/runs/{run_id}/inputs");
    let undeclared = server.post(&inputs, json!({"shoe_size": "9"})).await;
    assert_eq!(undeclared.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", undeclared.body);
    let supplied = server.post(&inputs, json!({"otp_code": demo::ONE_TIME_CODE})).await;
    assert_eq!(supplied.status, StatusCode::OK, "{}", supplied.body);
    let done = server.wait_final(&run_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["outputs"]["account_number"], "ACC-20931");
    assert!(done["awaitingInput"].is_null(), "{done}");
    assert_eq!(logins(server).await, before + 1);
    let late = server.post(&inputs, json!({"otp_code": "111111"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "not waiting any more: {}", late.body);

    // A deferred input of the run's own workflow, never supplied.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/workflows/echo_note.json");
    let note: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let echo = server.create_workflow(note).await;
    let refused = server.post(&format!("/v1/workflows/{echo}/runs"), json!({"deferredInputs": ["nope"]})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let ask = json!({"deferredInputs": ["note"], "inputTimeoutSeconds": 1.5});
    let silent = server.post(&format!("/v1/workflows/{echo}/runs"), ask.clone()).await.body;
    let ended = server.wait_final(silent["id"].as_str().unwrap(), std::time::Duration::from_secs(60)).await;
    assert_eq!((&ended["status"], &ended["error"]["code"]), (&json!("FAILED"), &json!("INPUT_TIMEOUT")), "{ended}");
    assert!(ended["error"]["message"].as_str().unwrap().contains("'note'"), "{ended}");
    let answered = server.post(&format!("/v1/workflows/{echo}/runs"), ask).await.body;
    let answered_id = answered["id"].as_str().unwrap();
    until_status(server, answered_id, "AWAITING_USER_INPUT").await;
    server.post(&format!("/v1/runs/{answered_id}/inputs"), json!({"note": "typed by a person"})).await;
    let echoed = server.wait_final(answered_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(echoed["outputs"]["echoed"], "typed by a person", "{echoed}");

    // An input with options: the waiting run shows them, and an answer outside them is
    // refused at once (the run keeps waiting) instead of failing the run.
    let mood =
        json!([{"name": "mood", "type": "string", "required": true, "description": "m", "options": ["calm", "loud"]}]);
    let said = json!([{"name": "said", "type": "string", "required": true, "description": "s"}]);
    let choosy =
        server.create_workflow(crate::support::logic("async (page, p) => ({ said: p.mood })", mood, said)).await;
    let run = server.post(&format!("/v1/workflows/{choosy}/runs"), json!({"deferredInputs": ["mood"]})).await.body;
    let run_id = run["id"].as_str().unwrap();
    let waiting = until_status(server, run_id, "AWAITING_USER_INPUT").await;
    assert_eq!(waiting["awaitingInput"]["options"], json!(["calm", "loud"]), "{waiting}");
    let wrong = server.post(&format!("/v1/runs/{run_id}/inputs"), json!({"mood": "angry"})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert_eq!(wrong.body["error"]["details"]["field"], "mood", "{}", wrong.body);
    assert!(wrong.body["error"]["message"].as_str().unwrap().contains("'calm', 'loud'"), "{}", wrong.body);
    let right = server.post(&format!("/v1/runs/{run_id}/inputs"), json!({"mood": "loud"})).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    let done = server.wait_final(run_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(done["outputs"]["said"], "loud", "{done}");
}
