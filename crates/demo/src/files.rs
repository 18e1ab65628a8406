//! A report to download and a form to upload a file.

use axum::Router;
use axum::extract::Multipart;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::html::{escape, page};

pub const REPORT_FILE_NAME: &str = "sales-2026-11.csv";

pub fn routes() -> Router {
    Router::new()
        .route("/reports", get(reports))
        .route("/reports/sales.csv", get(download))
        .route("/upload", get(upload_form).post(upload))
}

/// The downloadable report: a header and one line per product.
pub fn report_csv() -> String {
    let mut csv = String::from("sku,title,price\n");
    for p in crate::catalog::PRODUCTS {
        csv.push_str(&format!("{},\"{}\",{}\n", p.id, p.title, crate::catalog::dollars(p.price_cents)));
    }
    csv
}

async fn reports() -> Html<String> {
    page(
        "Reports",
        r#"<h1>Reports</h1>
<p><a href="/reports/sales.csv" data-testid="download-sales">Download the sales report (CSV)</a></p>"#,
    )
}

async fn download() -> Response {
    let disposition = format!("attachment; filename=\"{REPORT_FILE_NAME}\"");
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        report_csv(),
    )
        .into_response()
}

async fn upload_form() -> Html<String> {
    page(
        "Upload",
        r#"<h1>Upload a document</h1>
<form method="post" action="/upload" enctype="multipart/form-data">
  <label>Document <input type="file" name="document" data-testid="file-input"></label>
  <button type="submit" data-testid="upload-button">Upload</button>
</form>"#,
    )
}

async fn upload(mut form: Multipart) -> Response {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() != Some("document") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_owned();
        let Ok(bytes) = field.bytes().await else {
            break;
        };
        if name.is_empty() {
            return (StatusCode::BAD_REQUEST, page("Upload", r#"<p role="alert">Choose a file first.</p>"#))
                .into_response();
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        return page(
            "Upload complete",
            &format!(
                r#"<h1>Upload complete</h1>
<dl><dt>File name</dt><dd data-testid="uploaded-name">{}</dd>
<dt>Size</dt><dd data-testid="uploaded-size">{} bytes</dd>
<dt>Lines</dt><dd data-testid="uploaded-lines">{lines}</dd></dl>"#,
                escape(&name),
                bytes.len()
            ),
        )
        .into_response();
    }
    (StatusCode::BAD_REQUEST, page("Upload", r#"<p role="alert">No document was sent.</p>"#)).into_response()
}
