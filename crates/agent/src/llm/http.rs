//! POST JSON with retries: 429 and 5xx answers and connection failures are
//! retried with exponential backoff (honouring `Retry-After` up to 10 s).

use std::time::Duration;

use serde_json::Value;

use super::{Config, Error};

pub struct Http {
    client: reqwest::Client,
    max_retries: u32,
}

const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

impl Http {
    pub fn new(config: &Config) -> Http {
        let client = reqwest::Client::builder().timeout(config.timeout).build().expect("an HTTP client");
        Http { client, max_retries: config.max_retries }
    }

    pub async fn post(
        &self,
        provider: &'static str,
        url: &str,
        headers: &[(&str, String)],
        body: &Value,
    ) -> Result<Value, Error> {
        let mut attempt = 0;
        loop {
            let mut request = self.client.post(url).json(body);
            for (k, v) in headers {
                request = request.header(*k, v);
            }
            let retry_in = |attempt: u32| Duration::from_millis(500 * 2u64.pow(attempt));
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                    let text = response.text().await.unwrap_or_default();
                    if status.is_success() {
                        return serde_json::from_str(&text).map_err(|e| Error::Garbage {
                            provider,
                            url: url.to_owned(),
                            expected: "JSON document",
                            detail: format!("{e}: {}", preview(&text)),
                        });
                    }
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    if !retryable || attempt >= self.max_retries {
                        return Err(Error::Status {
                            provider,
                            url: url.to_owned(),
                            status: status.as_u16(),
                            body: preview(&text),
                        });
                    }
                    tracing::warn!(provider, status = status.as_u16(), attempt, "model request failed; retrying");
                    tokio::time::sleep(retry_after.unwrap_or_else(|| retry_in(attempt))).await;
                }
                Err(e) => {
                    if attempt >= self.max_retries {
                        return Err(Error::Unreachable { provider, url: url.to_owned(), message: e.to_string() });
                    }
                    tracing::warn!(provider, attempt, "model request failed ({e}); retrying");
                    tokio::time::sleep(retry_in(attempt)).await;
                }
            }
            attempt += 1;
        }
    }
}

/// The start of a body, for error messages.
fn preview(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    if text.chars().count() > 300 { format!("{one_line}…") } else { one_line }
}
