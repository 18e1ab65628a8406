//! What a run needs from a browser, as a trait: `Runner` (Node + Playwright +
//! Chromium) is the real one; the executor's and the agent's unit tests use
//! fakes, so deadlines, fallback, records and masking are tested without one.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::process::{Acted, Error, Log, Observation, ReplyLimits, Screenshot, SegmentResult};

/// How a run's browser session (a fresh context and page) starts.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Keep the page's network responses for `network` segments.
    pub record_network: bool,
    /// Cookies and local storage to start with (a login run's session).
    pub storage_state: Option<StorageState>,
    /// Save every file the session's pages download here (a folder the browser can write).
    pub downloads_dir: Option<PathBuf>,
    /// Record a Playwright trace of the session.
    pub trace: Option<TraceOptions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceOptions {
    /// Include the screencast (a run with secrets leaves it out: pixels cannot be masked).
    pub screenshots: bool,
}

/// Evidence of the page to take now.
#[derive(Debug, Clone, Copy)]
pub struct Capture<'a> {
    /// Write a PNG screenshot here (a path the browser can write).
    pub screenshot: Option<&'a Path>,
    /// The whole page rather than the viewport, where the page is not too tall.
    pub full_page: bool,
    /// Secret values: elements showing one are painted over, like password inputs.
    pub hide: &'a [String],
    /// Also return the page's HTML.
    pub html: bool,
}

/// What a capture produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Where the screenshot was written; none when the page could not be shot.
    pub screenshot: Option<PathBuf>,
    /// The page's HTML, in clear (it may show secrets: mask it before keeping it).
    pub html: Option<String>,
}

/// A file a page downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Its suggested file name, made safe (no folders, no leading dots).
    pub name: String,
    /// Where it was saved, or why it could not be.
    pub saved: Result<PathBuf, String>,
}

/// A session's cookies and local storage in Playwright's `storageState` shape
/// (`{cookies: [...], origins: [{origin, localStorage: [{name, value}]}]}`).
/// It signs its holder in, so it is a secret: it never prints, and its values
/// are masked in whatever a run that started from it reports.
#[derive(Clone, PartialEq)]
pub struct StorageState(Value);

/// Values (cookies and local storage entries) a session may hold: each becomes a
/// secret the run masks, and a site must not be able to make masking cost the worker
/// minutes or gigabytes by storing a million of them.
pub const MAX_STORAGE_STATE_VALUES: usize = 2000;

/// The largest session segue keeps, as JSON: it is sealed into the identity's row
/// and handed to every run as that identity.
pub const MAX_STORAGE_STATE_BYTES: usize = 4 * 1024 * 1024;

impl StorageState {
    /// Refuses JSON that is not a `storageState` object, or that holds more than
    /// `MAX_STORAGE_STATE_VALUES` values.
    pub fn from_json(value: Value) -> Result<StorageState, String> {
        let Value::Object(state) = &value else { return Err("a storage state must be a JSON object".into()) };
        for (key, what) in [("cookies", "cookies"), ("origins", "origins")] {
            if state.get(key).is_some_and(|v| !v.is_array()) {
                return Err(format!("a storage state's '{what}' must be an array"));
            }
        }
        let size = value.to_string().len();
        if size > MAX_STORAGE_STATE_BYTES {
            return Err(format!(
                "the session is {size} bytes, more than segue keeps ({MAX_STORAGE_STATE_BYTES} bytes)"
            ));
        }
        let state = StorageState(value);
        let held = state.secret_values().len();
        if held > MAX_STORAGE_STATE_VALUES {
            return Err(format!(
                "the session holds {held} cookies and stored values, more than segue keeps ({MAX_STORAGE_STATE_VALUES})"
            ));
        }
        Ok(state)
    }

    /// The JSON, for the browser and for sealing at rest only.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// Cookie values and local storage values: what a report must mask.
    pub fn secret_values(&self) -> Vec<String> {
        let values = |items: Option<&Value>| -> Vec<String> {
            items
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|item| item.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        };
        let mut secrets = values(self.0.get("cookies"));
        for origin in self.0.get("origins").and_then(Value::as_array).into_iter().flatten() {
            secrets.extend(values(origin.get("localStorage")));
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }

    /// How many cookies it holds (for messages that must not show them).
    pub fn cookie_count(&self) -> usize {
        self.0.get("cookies").and_then(Value::as_array).map_or(0, Vec::len)
    }
}

impl fmt::Debug for StorageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageState({} cookies, redacted)", self.cookie_count())
    }
}

/// One browser serving one run at a time: a session is opened, used and closed.
pub trait Browser: Send {
    /// The folder, visible to the browser at the same path, where a run's
    /// files (file inputs) are written.
    fn files_dir(&self) -> PathBuf;

    /// Connections the egress policy refused since the last call.
    fn take_denials(&self) -> Vec<egress::Denial>;

    /// Bounds the replies of the requests that follow (a run's limits).
    fn limit_replies(&mut self, limits: ReplyLimits);

    /// Opens a fresh context and page. Fails when a session is already open:
    /// the caller closes the one it opened.
    fn open(&mut self, options: &SessionOptions) -> impl Future<Output = Result<(), Error>> + Send;

    /// Runs segment code; `on_log` receives its console lines as they come.
    fn run_code(
        &mut self,
        name: &str,
        code: &str,
        parameters: &Map<String, Value>,
        network: bool,
        on_log: &mut (dyn FnMut(Log) + Send),
    ) -> impl Future<Output = Result<SegmentResult, Error>> + Send;

    /// Evaluates a router; the inner `Err` holds what it threw.
    fn route(
        &mut self,
        name: &str,
        router: &str,
        outputs: &Map<String, Value>,
    ) -> impl Future<Output = Result<Result<Value, String>, Error>> + Send;

    /// What the agent sees: URL, title, the accessibility snapshot with
    /// `[ref=eN]` markers, a PNG screenshot when asked, and the size of the
    /// page's HTML when `measure_html`.
    fn observe(
        &mut self,
        screenshot: Option<Screenshot<'_>>,
        measure_html: bool,
    ) -> impl Future<Output = Result<Observation, Error>> + Send;

    /// Performs one agent action (`click`, `fill`, …). The inner `Err` is why
    /// the page refused it, for the model to read.
    fn act(&mut self, tool: &str, args: &Value) -> impl Future<Output = Result<Result<Acted, String>, Error>> + Send;

    /// For each value, `{selector, text}`: a structural CSS selector whose first
    /// match shows the value, and that element's text; `null` when not found.
    fn locate(&mut self, values: &Map<String, Value>) -> impl Future<Output = Result<Value, Error>> + Send;

    /// Evidence of the open session's page now.
    fn capture(&mut self, capture: Capture<'_>) -> impl Future<Output = Result<Captured, Error>> + Send;

    /// Every download of the open session so far, waiting at most `wait` for
    /// ones in progress (then none is returned).
    fn downloads(&mut self, wait: Duration) -> impl Future<Output = Result<Vec<Download>, Error>> + Send;

    /// Ends the session's trace, writing `trace.zip` to `path` (a path the
    /// browser can write), or discarding it without one.
    fn stop_trace(&mut self, path: Option<&Path>) -> impl Future<Output = Result<(), Error>> + Send;

    /// The open session's cookies and local storage.
    fn storage_state(&mut self) -> impl Future<Output = Result<StorageState, Error>> + Send;

    /// Closes the session; the browser stays up for the next one.
    fn close(&mut self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Stops the browser at once, whatever it is doing: the only way to stop
    /// code that never yields. It cannot be used afterwards.
    fn kill(&mut self);

    fn is_alive(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_storage_state_never_prints_and_names_its_values_for_masking() {
        let state = StorageState::from_json(json!({
            "cookies": [{"name": "sid", "value": "abc123secret", "domain": "127.0.0.1", "path": "/"}],
            "origins": [{"origin": "http://127.0.0.1", "localStorage": [{"name": "token", "value": "tok-987"}]}]
        }))
        .expect("valid");
        assert_eq!(format!("{state:?}"), "StorageState(1 cookies, redacted)");
        assert_eq!(state.secret_values(), ["abc123secret", "tok-987"]);
        assert!(StorageState::from_json(json!([])).is_err());
        assert!(StorageState::from_json(json!({"cookies": {}})).is_err());
        let stored: Vec<Value> = (0..=MAX_STORAGE_STATE_VALUES)
            .map(|i| json!({"name": format!("k{i}"), "value": format!("v{i}")}))
            .collect();
        let crowded = StorageState::from_json(json!({"cookies": [], "origins": [{"localStorage": stored}]}));
        assert!(crowded.unwrap_err().contains("more than segue keeps"));
        let huge = [json!({"name": "blob", "value": "x".repeat(MAX_STORAGE_STATE_BYTES)})];
        let heavy = StorageState::from_json(json!({"cookies": [], "origins": [{"localStorage": huge}]}));
        assert!(heavy.unwrap_err().contains("bytes, more than segue keeps"));
    }
}
