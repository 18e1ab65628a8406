//! A small client for the REST API. Where it connects and with which key, first
//! found wins: `--url`/`--api-key`, `--context NAME`, `SEGUE_URL`/`SEGUE_API_KEY`,
//! the config file's current context (`segue login`), and for the key at last the
//! admin key a local `segue serve` saved.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::config::Config;
use crate::serve_cmd::default_data_dir;

/// The server used when nothing names one: a local `segue serve`.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// An error to show the user: the API's own message when it gave one.
pub struct ClientError(pub String);

/// Which server a client command talks to, and as whom.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// The server's URL [else SEGUE_URL, else the config's current context, else http://127.0.0.1:8080].
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// The API key [else SEGUE_API_KEY, else the context's]. A key given here shows in the
    /// process list and the shell's history: prefer `segue login` or the variable.
    #[arg(long, global = true, value_name = "KEY")]
    api_key: Option<String>,
    /// Use this context of the config file (`segue contexts list`) instead of the current one.
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
}

impl ServerArgs {
    pub fn client(&self) -> Result<Client, ClientError> {
        let config = Config::load()?;
        let context = config.context(self.context.as_deref())?.map(|(_, c)| c);
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        // A context named on the command line outranks the environment; the current one does not.
        let named = context.filter(|_| self.context.is_some());
        let url = self
            .url
            .clone()
            .or_else(|| named.map(|c| c.url.clone()))
            .or_else(|| env("SEGUE_URL"))
            .or_else(|| context.map(|c| c.url.clone()))
            .unwrap_or_else(|| DEFAULT_URL.into());
        let url = url.trim_end_matches('/').to_owned();
        // A context's key goes to its own server only, never to a URL given instead.
        let own_key = context.filter(|c| c.url.trim_end_matches('/') == url).map(|c| c.api_key.clone());
        let key = match self
            .api_key
            .clone()
            .or_else(|| own_key.clone().filter(|_| named.is_some()))
            .or_else(|| env("SEGUE_API_KEY"))
            .or(own_key)
        {
            Some(key) => key,
            None => local_admin_key()?,
        };
        Ok(Client::new(&url, key))
    }
}

/// The admin key a `segue serve` on this machine saved in its data folder.
fn local_admin_key() -> Result<String, ClientError> {
    let dir = std::env::var_os("SEGUE_DATA_DIR").map_or_else(default_data_dir, Into::into);
    let path = dir.join("admin-key");
    std::fs::read_to_string(&path).map(|k| k.trim().to_owned()).map_err(|_| {
        ClientError(format!(
            "no API key: run `segue login URL`, set SEGUE_API_KEY or give --api-key \
             (or run `segue serve`, which saves one to {})",
            path.display()
        ))
    })
}

impl Client {
    pub fn new(base: &str, key: String) -> Client {
        Client { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned(), key }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| ClientError(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        let value = body_json(response).await?;
        if status.is_success() { Ok((status, value)) } else { Err(api_error(status, &value)) }
    }

    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        Ok(self.call(Method::GET, path, None).await?.1)
    }

    /// A successful answer with its body still unread, to be taken chunk by chunk:
    /// artifact bytes need not fit in memory.
    pub async fn get_streamed(&self, path: &str) -> Result<reqwest::Response, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| ClientError(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        if status.is_success() { Ok(response) } else { Err(api_error(status, &body_json(response).await?)) }
    }

    /// Calls `on_event(name, data)` for each server-sent event until the stream ends.
    pub async fn events(&self, path: &str, mut on_event: impl FnMut(&str, &Value)) -> Result<(), ClientError> {
        let mut response = self.get_streamed(path).await?;
        let mut lines = Lines::default();
        let (mut name, mut data) = (String::new(), String::new());
        while let Some(chunk) = response.chunk().await.map_err(|e| ClientError(e.to_string()))? {
            for line in lines.push(&chunk) {
                if line.is_empty() {
                    if !data.is_empty() {
                        on_event(&name, &serde_json::from_str(&data).unwrap_or(Value::Null));
                    }
                    name.clear();
                    data.clear();
                } else if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
        }
        Ok(())
    }
}

/// Splits a byte stream into lines, decoding each whole line: a character the
/// network cut between two chunks is decoded once both halves arrived.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// The lines `chunk` completes, without their `\n` or `\r\n`.
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]);
            lines.push(text.trim_end_matches('\r').to_owned());
        }
        lines
    }
}

/// The body as JSON; text that is not JSON as a string, nothing as `null`.
async fn body_json(response: reqwest::Response) -> Result<Value, ClientError> {
    let text = response.text().await.map_err(|e| ClientError(e.to_string()))?;
    Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// The API's error as a message that starts with the status, which `finish`
/// reads to choose the exit code.
fn api_error(status: StatusCode, value: &Value) -> ClientError {
    let error = &value["error"];
    let mut message = format!("{} {}", status.as_u16(), error["message"].as_str().unwrap_or("request failed"));
    for d in error["details"]["diagnostics"].as_array().into_iter().flatten() {
        message.push_str(&format!(
            "\n  {}[{}] {}: {}",
            d["severity"].as_str().unwrap_or(""),
            d["code"].as_str().unwrap_or(""),
            d["location"].as_str().unwrap_or(""),
            d["message"].as_str().unwrap_or("")
        ));
    }
    for d in error["details"]["inputs"].as_array().into_iter().flatten() {
        message.push_str(&format!("\n  {}", d["message"].as_str().unwrap_or("")));
    }
    ClientError(message)
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn characters_cut_between_chunks_arrive_whole() {
        let text = "data: {\"log\":\"Müller – 日本\"}\r\n\n";
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let mut lines = Lines::default();
            let mut got = lines.push(&bytes[..cut]);
            got.extend(lines.push(&bytes[cut..]));
            assert_eq!(got, ["data: {\"log\":\"Müller – 日本\"}", ""], "cut at {cut}");
        }
    }
}
