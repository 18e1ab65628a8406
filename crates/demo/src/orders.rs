//! A paginated table: 23 orders, 5 per page.

use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;

use crate::catalog::dollars;
use crate::html::page;

pub const ORDER_COUNT: u64 = 23;
pub const PAGE_SIZE: u64 = 5;
const CUSTOMERS: &[&str] = &["Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra"];

pub fn routes() -> Router {
    Router::new().route("/orders", get(orders))
}

/// Order `n` (0-based): a deterministic total between $10.00 and $99.99.
pub fn order_total_cents(n: u64) -> u64 {
    1000 + (n * 3779 + 1234) % 9000
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
}

async fn orders(Query(q): Query<PageQuery>) -> Html<String> {
    let pages = ORDER_COUNT.div_ceil(PAGE_SIZE);
    let current = q.page.unwrap_or(1).clamp(1, pages);
    let first = (current - 1) * PAGE_SIZE;
    let rows: String = (first..(first + PAGE_SIZE).min(ORDER_COUNT))
        .map(|n| {
            format!(
                r#"    <tr data-testid="order-row"><td class="order-id">ORD-{}</td><td class="customer">{}</td><td class="total">${}</td></tr>
"#,
                1001 + n,
                CUSTOMERS[(n % CUSTOMERS.len() as u64) as usize],
                dollars(order_total_cents(n))
            )
        })
        .collect();
    let prev = if current > 1 {
        format!(r#"<a rel="prev" href="/orders?page={}">Previous</a>"#, current - 1)
    } else {
        String::new()
    };
    let next = if current < pages {
        format!(r#"<a rel="next" href="/orders?page={}">Next</a>"#, current + 1)
    } else {
        String::new()
    };
    page(
        &format!("Orders, page {current}"),
        &format!(
            r#"<h1>Orders</h1>
<table id="orders">
  <thead><tr><th>Order</th><th>Customer</th><th>Total</th></tr></thead>
  <tbody>
{rows}  </tbody>
</table>
<nav aria-label="Pagination"><span class="page-info">Page {current} of {pages}</span> {prev} {next}</nav>"#
        ),
    )
}
