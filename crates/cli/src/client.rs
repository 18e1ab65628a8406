//! A small client for the REST API. Where it connects and with which key, first
//! found wins: `--url`/`--api-key`, `--context NAME`, `SEGUE_URL`/`SEGUE_API_KEY`,
//! the config file's current context (`segue login`), and for the key at last the
//! admin key a local `segue serve` saved.

use std::time::Duration;

use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
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
            // The local server's admin key goes to this machine only, never to a URL elsewhere.
            None if is_local(&url) => local_admin_key()?,
            None => {
                return Err(ClientError(format!(
                    "no API key for {url}: run `segue login {url}`, set SEGUE_API_KEY or give --api-key"
                )));
            }
        };
        Ok(Client::new(&url, key))
    }
}

/// Whether `url` names this machine (a loopback address or `localhost`).
fn is_local(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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

    /// Calls `on_event(name, data)` for each server-sent event (parsed by
    /// `eventsource-stream`) until the stream's `end` event. A connection lost
    /// before it is opened again where it stopped (`Last-Event-ID`: the server
    /// resumes after the last event seen), up to `RECONNECTS` times in a row.
    pub async fn events(&self, path: &str, mut on_event: impl FnMut(&str, &Value)) -> Result<(), ClientError> {
        const RECONNECTS: u32 = 5;
        let mut last_id: Option<String> = None;
        let mut lost_in_a_row = 0;
        let mut response = self.get_events(path, None).await?;
        loop {
            let mut stream = response.bytes_stream().eventsource();
            let mut why = "the server closed it".to_owned();
            while let Some(event) = stream.next().await {
                match event {
                    Ok(event) => {
                        if !event.id.is_empty() {
                            last_id = Some(event.id.clone());
                            lost_in_a_row = 0;
                        }
                        if event.data.is_empty() {
                            continue;
                        }
                        on_event(&event.event, &serde_json::from_str(&event.data).unwrap_or(Value::Null));
                        if event.event == "end" {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        why = e.to_string();
                        break;
                    }
                }
            }
            loop {
                lost_in_a_row += 1;
                if lost_in_a_row > RECONNECTS {
                    return Err(ClientError(format!("the event stream was lost ({why}) and could not be resumed")));
                }
                tokio::time::sleep(Duration::from_millis(500) * lost_in_a_row).await;
                match self.get_events(path, last_id.as_deref()).await {
                    Ok(resumed) => {
                        response = resumed;
                        break;
                    }
                    Err(e) => why = e.0,
                }
            }
        }
    }

    /// Opens an event stream, resuming after `last_id` when given.
    async fn get_events(&self, path: &str, last_id: Option<&str>) -> Result<reqwest::Response, ClientError> {
        let mut request = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.map_err(|e| ClientError(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        if status.is_success() { Ok(response) } else { Err(api_error(status, &body_json(response).await?)) }
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
    use eventsource_stream::Eventsource as _;

    #[test]
    fn only_this_machine_gets_the_local_admin_key() {
        for url in ["http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8080", "http://LOCALHOST"] {
            assert!(super::is_local(url), "{url}");
        }
        for url in ["https://segue.example.com", "http://10.0.0.5:8080", "http://localhost.evil.example", "nonsense"] {
            assert!(!super::is_local(url), "{url}");
        }
    }
    use futures_util::StreamExt as _;

    /// The parser the client reads streams with decodes whole events: a character
    /// the network cut between two chunks arrives whole, whatever the cut.
    #[tokio::test]
    async fn characters_cut_between_chunks_arrive_whole() {
        let text = "event: run\r\nid: 7\r\ndata: {\"log\":\"Müller – 日本\"}\r\n\n";
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let chunks = [bytes[..cut].to_vec(), bytes[cut..].to_vec()];
            let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::convert::Infallible>));
            let events: Vec<_> = stream.eventsource().collect().await;
            let event = events[0].as_ref().expect("an event");
            assert_eq!((event.event.as_str(), event.id.as_str()), ("run", "7"), "cut at {cut}");
            assert_eq!(event.data, "{\"log\":\"Müller – 日本\"}", "cut at {cut}");
        }
    }

    /// A stream cut before its `end` is opened again with `Last-Event-ID`, and
    /// the events after it arrive once.
    #[tokio::test]
    async fn a_lost_stream_resumes_after_the_last_event() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut asked = Vec::new();
            let answers = ["event: run\nid: 3\ndata: {\"n\":3}\n\n", "event: end\nid: 4\ndata: {\"n\":4}\n\n"];
            for body in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = vec![0; 4096];
                let read = socket.read(&mut request).await.unwrap();
                asked.push(String::from_utf8_lossy(&request[..read]).to_ascii_lowercase());
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                socket.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
                // Closing here, before any `end`, is the lost connection.
            }
            asked
        });
        let client = super::Client::new(&base, "sk_test".into());
        let mut seen = Vec::new();
        let ended =
            client.events("/v1/runs/run_1/events", |name, data| seen.push((name.to_owned(), data["n"].clone())));
        assert!(ended.await.is_ok());
        assert_eq!(seen, [("run".to_owned(), serde_json::json!(3)), ("end".to_owned(), serde_json::json!(4))]);
        let asked = server.await.unwrap();
        assert!(!asked[0].contains("last-event-id"), "{}", asked[0]);
        assert!(asked[1].contains("last-event-id: 3"), "{}", asked[1]);
    }
}
