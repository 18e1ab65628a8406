use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(metrics))
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, description = "ok")))]
async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.queue_depth().await?;
    Ok("ok")
}

/// Prometheus metrics: runs by status and queue depth (from the database, so they
/// cover every worker), and segment durations of the workers in this process.
#[utoipa::path(get, path = "/metrics", tag = "system", security(()), responses((status = 200, content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let counts = state.store.count_runs_by_status().await?;
    let mut out = String::from("# HELP segue_runs Runs by status.\n# TYPE segue_runs gauge\n");
    for status in store::RunStatus::ALL {
        let n = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "segue_runs{{status=\"{}\"}} {n}", status.as_str());
    }
    let depth = state.store.queue_depth().await?;
    let _ = writeln!(
        out,
        "# HELP segue_queue_depth Runs waiting for a worker.\n# TYPE segue_queue_depth gauge\nsegue_queue_depth {depth}"
    );
    out.push_str(&state.metrics.render());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
