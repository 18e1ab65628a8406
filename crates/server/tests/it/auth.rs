use reqwest::{Method, StatusCode};
use serde_json::json;
use store::Role;

use crate::support::{TestServer, logic};

#[tokio::test]
async fn requests_without_a_valid_key_are_rejected() {
    let server = TestServer::start(0).await;
    for key in [None, Some("sk_not_a_key"), Some("")] {
        let r = server.call_as(key, Method::GET, "/v1/workflows", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(r.body["error"]["code"], "UNAUTHORIZED");
    }
    let health = server.call_as(None, Method::GET, "/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn member_keys_cannot_manage_keys_and_revoked_keys_stop_working() {
    let server = TestServer::start(0).await;
    let created = server.post("/v1/api-keys", json!({"name": "ci"})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["role"], "member");
    let member = created.body["key"].as_str().expect("key shown once").to_owned();
    let listed = server.get("/v1/api-keys").await;
    assert!(listed.body.to_string().contains("\"ci\"") && !listed.body.to_string().contains(&member));
    let forbidden = server.call_as(Some(&member), Method::POST, "/v1/api-keys", Some(json!({"name": "x"}))).await;
    assert_eq!(
        (forbidden.status, forbidden.body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
    );
    assert_eq!(server.call_as(Some(&member), Method::GET, "/v1/workflows", None).await.status, StatusCode::OK);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(server.call(Method::DELETE, &format!("/v1/api-keys/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.call_as(Some(&member), Method::GET, "/v1/workflows", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn organizations_never_see_each_other() {
    let server = TestServer::start(0).await;
    let other = server.store.create_org("other").await.unwrap();
    let (_, other_key) = server.store.create_api_key(&other.id, "admin", Role::Admin).await.unwrap();
    let wf = server.create_workflow(logic("async () => ({})", json!([]), json!([]))).await;
    let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({})).await.body["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (Method::GET, format!("/v1/workflows/{wf}"), None),
        (Method::PATCH, format!("/v1/workflows/{wf}"), Some(json!({"name": "stolen"}))),
        (Method::DELETE, format!("/v1/workflows/{wf}"), None),
        (Method::GET, format!("/v1/workflows/{wf}/versions"), None),
        (Method::GET, format!("/v1/workflows/{wf}/versions/1"), None),
        (
            Method::PUT,
            format!("/v1/workflows/{wf}/draft"),
            Some(json!({"definition": logic("async () => ({})", json!([]), json!([]))})),
        ),
        (Method::POST, format!("/v1/workflows/{wf}/runs"), Some(json!({}))),
        (Method::GET, format!("/v1/runs/{run}"), None),
        (Method::GET, format!("/v1/runs/{run}/segments"), None),
        (Method::POST, format!("/v1/runs/{run}/cancel"), None),
        (Method::GET, format!("/v1/runs/{run}/events"), None),
    ] {
        let r = server.call_as(Some(&other_key), method.clone(), &path, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}: {}", r.body);
    }
    assert_eq!(server.call_as(Some(&other_key), Method::GET, "/v1/workflows", None).await.body["data"], json!([]));
    assert_eq!(server.call_as(Some(&other_key), Method::GET, "/v1/runs", None).await.body["data"], json!([]));
    let mine = server.get(&format!("/v1/runs/{run}")).await;
    assert_eq!(mine.body["status"], "PENDING", "the other organization changed nothing");
    assert_eq!(server.get(&format!("/v1/workflows/{wf}")).await.body["name"], "w");
}
