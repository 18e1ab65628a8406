use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestServer, logic};

#[tokio::test]
async fn invalid_definitions_get_the_validate_diagnostics() {
    let server = TestServer::start(0).await;
    let mut doc = logic("async () => ({})", json!([]), json!([]));
    doc["segments"][0]["next"] = json!("nowhere");
    let r = server.post("/v1/workflows", json!({"name": "bad", "definition": doc})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["code"], "INVALID_WORKFLOW");
    let d = &r.body["error"]["details"]["diagnostics"][0];
    assert_eq!((d["code"].as_str(), d["location"].as_str()), (Some("unknown-next"), Some("segments[0].next")));
    let unknown_field = server.post("/v1/workflows", json!({"name": "x", "definition": doc, "colour": 1})).await;
    assert!(unknown_field.status.is_client_error());
    let bad_type = server
        .post(
            "/v1/workflows",
            json!({"name": "x", "type": "OTHER", "definition": logic("async () => ({})", json!([]), json!([]))}),
        )
        .await;
    assert_eq!(
        (bad_type.status, bad_type.body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REQUEST"))
    );
    assert_eq!(server.get("/v1/workflows").await.body["data"], json!([]), "nothing half-created");
}

#[tokio::test]
async fn versions_follow_the_draft_and_publish_model() {
    let server = TestServer::start(0).await;
    let v1 = logic("async () => ({ v: 'one' })", json!([]), json!([{"name": "v", "type": "string"}]));
    let created = server
        .post("/v1/workflows", json!({"name": "shop", "sourceProvider": "demo", "type": "LOGIN", "definition": v1}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!((created.body["latestVersion"].as_i64(), created.body["type"].as_str()), (Some(1), Some("LOGIN")));
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(server.get(&format!("/v1/workflows/{id}/draft")).await.status, StatusCode::NOT_FOUND);
    let publish_nothing = server.post(&format!("/v1/workflows/{id}/publish"), json!(null)).await;
    assert_eq!(publish_nothing.status, StatusCode::CONFLICT);

    let v2 = logic("async () => ({ v: 'two' })", json!([]), json!([{"name": "v", "type": "string"}]));
    let draft = server.call(Method::PUT, &format!("/v1/workflows/{id}/draft"), Some(json!({"definition": v2}))).await;
    assert_eq!((draft.status, draft.body["version"].as_str()), (StatusCode::OK, Some("draft")));
    assert_eq!(server.get(&format!("/v1/workflows/{id}/versions/draft")).await.body["definition"], v2);
    assert_eq!(
        server.get(&format!("/v1/workflows/{id}/versions/latest")).await.body["definition"],
        v1,
        "drafts do not publish"
    );
    let published = server.post(&format!("/v1/workflows/{id}/publish"), json!(null)).await;
    assert_eq!((published.status, published.body["version"].as_i64()), (StatusCode::CREATED, Some(2)));
    assert_eq!(
        server.get(&format!("/v1/workflows/{id}/versions/1")).await.body["definition"],
        v1,
        "published versions never change"
    );

    let v3 = logic("async () => ({ v: 'three' })", json!([]), json!([{"name": "v", "type": "string"}]));
    let patched = server
        .call(Method::PATCH, &format!("/v1/workflows/{id}"), Some(json!({"definition": v3, "description": "d"})))
        .await;
    assert_eq!((patched.body["latestVersion"].as_i64(), patched.body["description"].as_str()), (Some(3), Some("d")));
    assert_eq!(patched.body["definition"], v3);
    let cleared = server.call(Method::PATCH, &format!("/v1/workflows/{id}"), Some(json!({"description": null}))).await;
    assert_eq!((cleared.body["description"].clone(), cleared.body["latestVersion"].as_i64()), (json!(null), Some(3)));
    let versions = server.get(&format!("/v1/workflows/{id}/versions?limit=2")).await.body;
    let numbers: Vec<_> = versions["data"].as_array().unwrap().iter().map(|v| v["version"].clone()).collect();
    assert_eq!(numbers, [json!(3), json!(2)]);
    assert!(versions["nextCursor"].is_string());
    assert_eq!(server.get(&format!("/v1/workflows/{id}/versions/9")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&format!("/v1/workflows/{id}/versions/zero")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn lists_filter_and_deleted_workflows_stay_readable() {
    let server = TestServer::start(0).await;
    let doc = logic("async () => ({})", json!([]), json!([]));
    for (provider, ty) in [("gusto", "LOGIN"), ("gusto", "USER_DEFINED"), ("toast", "USER_DEFINED")] {
        let r = server
            .post("/v1/workflows", json!({"name": provider, "sourceProvider": provider, "type": ty, "definition": doc}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let count = |body: serde_json::Value| body["data"].as_array().unwrap().len();
    assert_eq!(count(server.get("/v1/workflows?sourceProvider=gusto").await.body), 2);
    assert_eq!(count(server.get("/v1/workflows?type=LOGIN").await.body), 1);
    assert_eq!(count(server.get("/v1/workflows?sourceProvider=gusto&type=USER_DEFINED").await.body), 1);
    assert_eq!(count(server.get("/v1/workflows?search=GUS").await.body), 2, "part of the name, any case");
    assert_eq!(count(server.get("/v1/workflows?name=toast").await.body), 1, "the exact name");
    assert_eq!(count(server.get("/v1/workflows?name=toa").await.body), 0);
    let long = "x".repeat(201);
    assert_eq!(server.get(&format!("/v1/workflows?search={long}")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.get("/v1/workflows?limit=0").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.get("/v1/workflows?limit=101").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(server.get("/v1/workflows?cursor=garbage").await.status, StatusCode::BAD_REQUEST);

    let id = server.get("/v1/workflows?sourceProvider=toast").await.body["data"][0]["id"].as_str().unwrap().to_owned();
    let run = server.post(&format!("/v1/workflows/{id}/runs"), json!({})).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(server.call(Method::DELETE, &format!("/v1/workflows/{id}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(count(server.get("/v1/workflows").await.body), 2);
    let gone = server.get(&format!("/v1/workflows/{id}")).await;
    assert!(gone.status == StatusCode::OK && gone.body["deletedAt"].is_string(), "{}", gone.body);
    assert_eq!(server.get(&format!("/v1/workflows/{id}/versions/1")).await.status, StatusCode::OK);
    assert_eq!(server.get(&format!("/v1/runs/{run}")).await.status, StatusCode::OK);
    assert_eq!(server.post(&format!("/v1/workflows/{id}/runs"), json!({})).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_have_one_shape_and_unknown_routes_are_404() {
    let server = TestServer::start(0).await;
    let r = server.get("/v1/runs/run_missing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body, json!({"error": {"code": "NOT_FOUND", "message": "run not found"}}));
    assert_eq!(server.get("/v1/nothing-here").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn openapi_and_docs_are_served() {
    let server = TestServer::start(0).await;
    let spec = server.call_as(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec.body["paths"]["/v1/workflows/{id}/runs"]["post"].is_object());
    let docs = server.call_as(None, Method::GET, "/docs/", None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.body.as_str().unwrap_or("").contains("swagger"), "Swagger UI is served offline");
}

#[tokio::test]
async fn malformed_requests_get_the_error_shape_too() {
    let server = TestServer::start(0).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/workflows", server.base);
    let broken = http
        .post(&url)
        .bearer_auth(&server.admin_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = broken.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_REQUEST");
    let no_type = http.post(&url).bearer_auth(&server.admin_key).body("{}").send().await.unwrap();
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = no_type.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    let missing = server.post("/v1/workflows", json!({"definition": {}})).await;
    assert!(
        missing.status.is_client_error() && missing.body["error"]["message"].as_str().unwrap().contains("name"),
        "{}",
        missing.body
    );
    let bad_query = server.get("/v1/runs?test=maybe").await;
    assert_eq!(
        (bad_query.status, bad_query.body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REQUEST"))
    );
}
