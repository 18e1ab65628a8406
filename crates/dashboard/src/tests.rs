use std::path::Path;

use axum::http::StatusCode;

/// Serves the dashboard alone on port 0 and returns its base URL.
async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, super::router::<()>()).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy() {
    let base = serve().await;
    let page = reqwest::get(format!("{base}/")).await.expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    for directive in ["default-src 'self'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp} lacks {directive}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = page.text().await.expect("body");
    assert!(html.contains(r#"<script type="module" src="/assets/js/app.js">"#), "{html}");
    assert!(!html.contains("style="), "inline styles would need 'unsafe-inline'");
}

#[tokio::test]
async fn assets_have_their_type_and_revalidate() {
    let base = serve().await;
    let client = reqwest::Client::new();
    let js = client.get(format!("{base}/assets/js/app.js")).send().await.expect("request");
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(js.headers()["cache-control"], "no-cache");
    let etag = js.headers()["etag"].clone();
    let again =
        client.get(format!("{base}/assets/js/app.js")).header("if-none-match", etag).send().await.expect("request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn unknown_assets_are_not_found() {
    let base = serve().await;
    for path in ["/assets/nope.js", "/assets/../Cargo.toml", "/assets/index.html", "/assets/"] {
        let response = reqwest::get(format!("{base}{path}")).await.expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// Every file in `assets/` is embedded, and nothing embedded is missing: the
/// table in `assets.rs` is written by hand.
#[test]
fn every_asset_file_is_embedded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut on_disk = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("assets folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let name = path.strip_prefix(&root).expect("under assets").to_string_lossy().replace('\\', "/");
                on_disk.push(name);
            }
        }
    }
    on_disk.sort();
    let mut embedded: Vec<String> = super::ASSETS.iter().map(|a| a.name.to_owned()).collect();
    embedded.sort();
    assert_eq!(on_disk, embedded, "assets/ and the table in src/assets.rs differ");
}

/// Data from workflows reaches the page only as text: no module writes HTML.
#[test]
fn no_module_parses_html() {
    for asset in super::ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        let text = std::str::from_utf8(asset.bytes).expect("utf-8");
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            assert!(!text.contains(sink), "{} uses {sink}", asset.name);
        }
    }
}
