//! A dashboard that renders data it fetches from a JSON API, the case network
//! segments exist for.

use axum::Router;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::response::{Html, Json};
use axum::routing::get;
use serde_json::{Value, json};

use crate::catalog::PRODUCTS;
use crate::html::page;
use crate::orders::{ORDER_COUNT, order_total_cents};

pub fn routes() -> Router {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/api/stats", get(stats))
        .route("/api/visit/{tag}", get(visit))
        .route("/api/visits", get(visits))
        .with_state(Visits::default())
}

/// Counts requests per tag, so tests can prove each run did its work exactly once.
#[derive(Clone, Default)]
struct Visits(Arc<Mutex<BTreeMap<String, u64>>>);

async fn visit(State(visits): State<Visits>, Path(tag): Path<String>) -> Json<Value> {
    let mut counts = visits.0.lock().expect("visits");
    let count = counts.entry(tag.clone()).or_default();
    *count += 1;
    Json(json!({"tag": tag, "count": *count}))
}

async fn visits(State(visits): State<Visits>) -> Json<Value> {
    Json(json!(*visits.0.lock().expect("visits")))
}

pub fn stats_value() -> Value {
    let revenue_cents: u64 = (0..ORDER_COUNT).map(order_total_cents).sum();
    let top = PRODUCTS.iter().max_by_key(|p| p.price_cents).expect("products");
    json!({
        "orders": ORDER_COUNT,
        "revenue": revenue_cents as f64 / 100.0,
        "currency": "USD",
        "topProduct": { "sku": top.id, "title": top.title },
    })
}

async fn stats() -> Json<Value> {
    Json(stats_value())
}

async fn dashboard() -> Html<String> {
    page(
        "Dashboard",
        r#"<h1>Dashboard</h1>
<div id="stats" aria-busy="true">Loading…</div>
<script>
fetch('/api/stats').then(r => r.json()).then(s => {
  const el = document.getElementById('stats');
  el.innerHTML = '<p>Orders: <b data-testid="orders">' + s.orders + '</b></p>' +
    '<p>Revenue: <b data-testid="revenue">$' + s.revenue.toFixed(2) + '</b></p>' +
    '<p>Top product: <b data-testid="top-product">' + s.topProduct.title + '</b></p>';
  el.setAttribute('aria-busy', 'false');
});
</script>"#,
    )
}
