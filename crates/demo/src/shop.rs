//! Two versions of one shop. Version 1 has the DOM shape of the reference's
//! complete example (`#twotabsearchtextbox`, `[data-component-type="s-search-result"]`,
//! `h2 span`, `.a-price > .a-offscreen`); version 2 is the same shop after a
//! redesign, so version-1 selectors no longer match.

use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Router, http::StatusCode};
use serde::Deserialize;

use crate::catalog::{self, Product, dollars};
use crate::html::{escape, page};

pub fn routes() -> Router {
    Router::new()
        .route("/shop/", get(v1_home))
        .route("/shop/s", get(v1_search))
        .route("/shop/p/{id}", get(v1_product))
        .route("/shop-v2/", get(v2_home))
        .route("/shop-v2/search", get(v2_search))
}

fn v1_search_box(query: &str) -> String {
    format!(
        r#"<form id="nav-search-bar-form" action="/shop/s" method="get" role="search">
  <input type="text" id="twotabsearchtextbox" name="k" aria-label="Search Demo Shop" value="{}" autocomplete="off">
  <input type="submit" id="nav-search-submit-button" value="Go">
</form>"#,
        escape(query)
    )
}

async fn v1_home() -> Html<String> {
    page("Demo Shop", &format!("<h1>Demo Shop</h1>\n{}", v1_search_box("")))
}

#[derive(Deserialize)]
struct V1Query {
    #[serde(default)]
    k: String,
}

async fn v1_search(Query(q): Query<V1Query>) -> Html<String> {
    let results = catalog::search(&q.k);
    let body = if results.is_empty() {
        format!(r#"<div class="s-no-results">No results for "{}".</div>"#, escape(&q.k))
    } else {
        results.iter().map(|p| v1_card(p)).collect::<Vec<_>>().join("\n")
    };
    let html = format!(
        r#"<h1>Demo Shop</h1>
{}
<div class="s-result-info">{} results for "<span class="a-color-state">{}</span>"</div>
<div class="s-main-slot s-search-results">
{body}
</div>"#,
        v1_search_box(&q.k),
        results.len(),
        escape(&q.k)
    );
    page(&format!("Demo Shop: {}", q.k), &html)
}

fn v1_card(p: &Product) -> String {
    let price = dollars(p.price_cents);
    format!(
        r#"<div data-component-type="s-search-result" data-asin="{id}" class="s-result-item">
  <h2 class="a-size-medium"><a class="a-link-normal" href="/shop/p/{id}"><span class="a-text-normal">{title}</span></a></h2>
  <span class="a-price"><span class="a-offscreen">${price}</span><span aria-hidden="true">${price}</span></span>
</div>"#,
        id = p.id,
        title = escape(p.title),
    )
}

async fn v1_product(Path(id): Path<String>) -> Response {
    match catalog::find(&id) {
        Some(p) => page(
            p.title,
            &format!(
                r#"<h1 id="productTitle">{}</h1><span class="a-price"><span class="a-offscreen">${}</span></span>
<button id="add-to-cart-button" data-testid="add-to-cart">Add to cart</button>"#,
                escape(p.title),
                dollars(p.price_cents)
            ),
        )
        .into_response(),
        None => (StatusCode::NOT_FOUND, page("Not found", "<h1>No such product</h1>")).into_response(),
    }
}

fn v2_search_box(query: &str) -> String {
    format!(
        r#"<form class="search" action="/shop-v2/search" method="get">
  <label>Find products <input data-testid="search-input" name="query" type="search" placeholder="Search products" value="{}"></label>
  <button type="submit" data-testid="search-button">Search</button>
</form>"#,
        escape(query)
    )
}

async fn v2_home() -> Html<String> {
    page("Demo Shop", &format!("<header><h1>Demo Shop</h1></header>\n<main>{}</main>", v2_search_box("")))
}

#[derive(Deserialize)]
struct V2Query {
    #[serde(default)]
    query: String,
}

async fn v2_search(Query(q): Query<V2Query>) -> Html<String> {
    let results = catalog::search(&q.query);
    let items: String = results
        .iter()
        .map(|p| {
            format!(
                r#"  <li class="product-card" data-testid="product-card" data-sku="{}">
    <h3 class="product-title">{}</h3>
    <div class="cost">USD {}</div>
  </li>
"#,
                p.id,
                escape(p.title),
                dollars(p.price_cents)
            )
        })
        .collect();
    let html = format!(
        r#"<header><h1>Demo Shop</h1></header>
<main>{}
<p class="summary">{} products</p>
<ul class="results" aria-label="Search results">
{items}</ul></main>"#,
        v2_search_box(&q.query),
        results.len()
    );
    page(&format!("Demo Shop: {}", q.query), &html)
}
