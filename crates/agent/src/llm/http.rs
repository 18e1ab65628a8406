//! POST JSON with retries (`backon`): 429 and 5xx answers and connection
//! failures are retried with jittered exponential backoff, waiting as long as a
//! `Retry-After` header asks (seconds or an HTTP date) up to 10 s.

use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable as _};
use serde_json::Value;

use super::{Config, Error};

pub struct Http {
    client: reqwest::Client,
    max_retries: u32,
}

/// The longest wait between two attempts, whatever a server asks.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// The first wait; each next one doubles, with jitter so clients spread out.
const FIRST_WAIT: Duration = Duration::from_millis(500);

/// An attempt that failed: whether another may succeed, and when the server asked to be tried again.
struct Failed {
    error: Error,
    retryable: bool,
    retry_after: Option<Duration>,
}

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
        let backoff = ExponentialBuilder::default()
            .with_min_delay(FIRST_WAIT)
            .with_max_delay(MAX_RETRY_AFTER)
            .with_max_times(self.max_retries as usize)
            .with_jitter();
        (|| self.attempt(provider, url, headers, body))
            .retry(backoff)
            .when(|failed: &Failed| failed.retryable)
            // `None` means no retry is left: a server's Retry-After never adds one.
            .adjust(|failed, planned| planned.map(|wait| failed.retry_after.unwrap_or(wait).min(MAX_RETRY_AFTER)))
            .notify(|failed, wait| tracing::warn!(provider, ?wait, "model request failed ({}); retrying", failed.error))
            .await
            .map_err(|failed| failed.error)
    }

    async fn attempt(
        &self,
        provider: &'static str,
        url: &str,
        headers: &[(&str, String)],
        body: &Value,
    ) -> Result<Value, Failed> {
        let mut request = self.client.post(url).json(body);
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let response = request.send().await.map_err(|e| Failed {
            error: Error::Unreachable { provider, url: url.to_owned(), message: e.to_string() },
            retryable: true,
            retry_after: None,
        })?;
        let status = response.status();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(retry_after);
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| Failed {
                error: Error::Garbage {
                    provider,
                    url: url.to_owned(),
                    expected: "JSON document",
                    detail: format!("{e}: {}", preview(&text)),
                },
                retryable: false,
                retry_after: None,
            });
        }
        Err(Failed {
            error: Error::Status { provider, url: url.to_owned(), status: status.as_u16(), body: preview(&text) },
            retryable: status.as_u16() == 429 || status.is_server_error(),
            retry_after,
        })
    }
}

/// A `Retry-After` value: delay seconds, or the HTTP date to wait until (RFC 9110).
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The start of a body, for error messages.
fn preview(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    if text.chars().count() > 300 { format!("{one_line}…") } else { one_line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let waited = retry_after(&httpdate::fmt_http_date(later)).expect("a date");
        assert!(waited > Duration::from_secs(110) && waited <= Duration::from_secs(120), "{waited:?}");
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO), "a past date: at once");
        assert_eq!(retry_after("soon"), None);
    }
}
