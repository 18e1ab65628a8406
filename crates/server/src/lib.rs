//! The HTTP API: workflows with versions and drafts, runs queued for workers,
//! artifacts, identities, jobs with job runs and schedules (and the scheduler that
//! fires them), webhooks (and the deliverer that sends them), API keys, OpenAPI,
//! health and metrics. Only this crate knows HTTP.
//!
//! `app(state)` builds the router so tests can serve it on port 0;
//! `serve` serves it with connection limits and timeouts (`ServeOptions`);
//! `openapi()` is the generated OpenAPI 3.1 document (`api_doc` completes it: enums, error
//! bodies, named pages).

mod api_doc;
mod auth;
mod cron;
mod dto;
mod error;
mod events;
mod extract;
mod guard;
mod job_plan;
mod jobs_dto;
mod routes;
pub mod scheduler;
mod serve;
pub mod webhook_delivery;
mod webhook_signing;
mod webhook_url;
mod webhooks_dto;

pub use serve::{RequestDeadline, ServeOptions, serve};

/// The largest request body read (a workflow document with room to spare);
/// larger ones get 413 `PAYLOAD_TOO_LARGE`.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The largest body of a request that starts a run or answers one: `file`
/// inputs travel in it as base64 `data:` URIs, so files up to about 11 MB fit.
pub const MAX_RUN_BODY_BYTES: usize = 16 * 1024 * 1024;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use store::Store;
use store::seal::Sealer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Seals run inputs at rest; workers open them with the same key.
    pub sealer: Sealer,
    /// Metrics recorded in this process (segment durations of embedded workers).
    pub metrics: PrometheusHandle,
    /// The longest time limits a caller may ask for one run.
    pub max_time: MaxTime,
    /// Where the bytes of runs' artifacts are; none: their content is not served.
    pub blobs: Option<blobs::Blobs>,
    /// Where runs may connect; webhook URLs are held to the same policy.
    pub egress: std::sync::Arc<egress::Policy>,
}

/// The longest segment and run time limits a run may ask for: the workers'
/// own limits, which they never exceed whatever a run asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxTime {
    pub segment: std::time::Duration,
    pub run: std::time::Duration,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "segue", description = "Browser workflows that run as code and fall back to AI."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(api_doc::ErrorBody)),
    tags(
        (name = "workflows", description = "Workflows, their published versions and drafts"),
        (name = "runs", description = "Runs of workflows, queued for workers"),
        (name = "artifacts", description = "Files runs left: outputs, screenshots, downloads, traces, pages"),
        (name = "identities", description = "Login identities: sealed credentials and saved sessions"),
        (name = "jobs", description = "Jobs (workflows in a set order), their job runs and schedules"),
        (name = "webhooks", description = "Signed, retried notifications of what runs, job runs and identities do"),
        (name = "keys", description = "API keys of the caller's organization"),
        (name = "system", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::workflows::router())
        .merge(routes::runs::router())
        .merge(routes::artifacts::router())
        .merge(routes::identities::router())
        .merge(routes::jobs::router())
        .merge(routes::job_runs::router())
        .merge(routes::schedules::router())
        .merge(routes::webhooks::router())
        .merge(routes::keys::router())
        .merge(routes::system::router())
        .split_for_parts();
    // After the merge: the operations exist only now.
    api_doc::complete(&mut api);
    (router, api)
}

/// The OpenAPI document generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().1
}

pub fn app(state: AppState) -> Router {
    let (api, spec) = router();
    api.with_state(state)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", spec))
        .merge(dashboard::router())
        .fallback(guard::unknown_route)
        .method_not_allowed_fallback(guard::wrong_method)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(guard::refuse_nul_in_url))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The process-wide Prometheus recorder (installed once, shared by every server in the process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0])
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may exist in an embedding program; then ours only renders what it saw.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    /// `docs/openapi.json` is the published contract: it must match the handlers.
    /// `SEGUE_BLESS=1` rewrites it after a deliberate API change.
    #[test]
    fn checked_in_openapi_matches_the_handlers() {
        let generated = super::openapi().to_pretty_json().expect("OpenAPI serializes") + "\n";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        if std::env::var_os("SEGUE_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write docs/openapi.json");
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(checked_in == generated, "docs/openapi.json is out of date: run SEGUE_BLESS=1 cargo test -p server");
    }
}
