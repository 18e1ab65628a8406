//! The model clients against misbehaving servers on 127.0.0.1: retries with
//! backoff on 429/5xx, clear errors naming the provider on garbage.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent::llm::{Config, Message, Provider, Request};
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::json;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn request() -> Request {
    let redactor = engine::Redactor::new();
    Request {
        system: redactor.mask("s"),
        messages: vec![Message::User { text: redactor.mask("hi"), image_png_base64: None }],
        tools: vec![],
    }
}

fn provider(kind: &str, base: String) -> Provider {
    let mut config =
        Config::from_values(Some(kind), Some("m".into()), Some(base), Some("k".into()), false).unwrap().unwrap();
    config.max_retries = 2;
    Provider::new(config)
}

#[tokio::test]
async fn retries_rate_limits_and_server_errors_then_succeeds() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "slow down").into_response(),
                    1 => (StatusCode::BAD_GATEWAY, "oops").into_response(),
                    _ => axum::Json(json!({"choices": [{"message": {"content": "ok", "tool_calls": []}}],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 1}}))
                    .into_response(),
                }
            }
        }),
    );
    let reply = provider("openai", format!("{}/v1", serve(app).await)).complete(&request()).await.unwrap();
    assert_eq!((reply.text.as_deref(), reply.usage.input_tokens), (Some("ok"), 5));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn gives_up_after_its_retries_and_names_the_provider() {
    let app = Router::new().route("/v1/messages", post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }));
    let err = provider("anthropic", serve(app).await).complete(&request()).await.unwrap_err().to_string();
    assert!(
        err.starts_with("the anthropic provider at http://127.0.0.1:") && err.ends_with("answered 503: down"),
        "{err}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { (StatusCode::UNAUTHORIZED, "bad key") }
        }),
    );
    let err =
        provider("openai", format!("{}/v1", serve(app).await)).complete(&request()).await.unwrap_err().to_string();
    assert!(err.contains("answered 401: bad key"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn garbage_is_a_clear_error() {
    for (kind, path, body) in [
        ("openai", "/v1/chat/completions", "<html>proxy error</html>"),
        ("openai", "/v1/chat/completions", "{\"unexpected\": true}"),
        ("anthropic", "/v1/messages", "{\"content\": \"not blocks\"}"),
    ] {
        let app =
            Router::new().route(path, post(move || async move { ([("content-type", "application/json")], body) }));
        let base = serve(app).await;
        let base = if kind == "openai" { format!("{base}/v1") } else { base };
        let err = provider(kind, base).complete(&request()).await.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("the {kind} provider at"))
                && err.contains("answered with something that is not a"),
            "{err}"
        );
    }
}
