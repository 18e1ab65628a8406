//! `segue webhooks`: where a server sends signed notifications of what runs, job
//! runs and identities do, and what it sent. The signing secret is printed once,
//! when a webhook is created or its secret rotated; data goes to stdout (JSON with
//! `--json`), everything else to stderr.

use std::process::ExitCode;

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use crate::client::ClientError;
use crate::client_cmd::{Column, Output, PageArgs, cell, encode, finish, present_fields, print, table};

#[derive(Subcommand)]
pub enum Webhooks {
    /// Subscribe a URL to events; prints the signing secret (shown only now).
    Create {
        /// Where deliveries are POSTed (http or https). Named apart from the global
        /// `--url` (the server's), which clap would otherwise fill with it.
        #[arg(value_name = "URL")]
        endpoint: String,
        /// An event type (run.completed, run.failed, job_run.completed, …) or `*` for all.
        /// Repeat for each, or separate them with commas.
        #[arg(long = "event", value_name = "TYPE", value_delimiter = ',', required = true)]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// The organization's webhooks, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// A webhook: its URL, events and whether it is enabled (never its secret).
    Get {
        /// The webhook's id.
        id: String,
    },
    /// Change a webhook's URL, events or description, or pause it.
    Update {
        /// The webhook's id.
        id: String,
        /// Send deliveries to this URL from now on (`--url` is the server's).
        #[arg(long = "target", value_name = "URL")]
        endpoint: Option<String>,
        /// Replaces the webhook's events; repeat or separate with commas.
        #[arg(long = "event", value_name = "TYPE", value_delimiter = ',')]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// No new deliveries until it is enabled again.
        #[arg(long)]
        disable: bool,
    },
    /// Delete a webhook; its pending deliveries are never sent.
    Delete { id: String },
    /// A new signing secret (printed); the previous one keeps signing for 24 hours.
    RotateSecret { id: String },
    /// What was sent to a webhook, newest first: event, attempts, last answer, next attempt.
    Deliveries {
        id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Send a delivery again now, with the same event id and body.
    Retry { id: String, delivery_id: String },
}

pub async fn main(command: Webhooks, out: Output) -> ExitCode {
    finish(inner(command, &out).await)
}

fn path(id: &str) -> String {
    format!("/v1/webhooks/{}", encode(id))
}

async fn inner(command: Webhooks, out: &Output) -> Result<ExitCode, ClientError> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Webhooks::Create { endpoint: url, events, description } => {
            let body = present_fields([
                ("url", Some(Value::String(url))),
                ("events", Some(Value::from(events))),
                ("description", description.map(Value::String)),
            ]);
            let created = client.call(Method::POST, "/v1/webhooks", Some(&body)).await?.1;
            print(&created, format, with_secret);
        }
        Webhooks::List { page } => {
            let page = client.get(&format!("/v1/webhooks{}", page.query())).await?;
            print(&page, format, |p| table(p, WEBHOOK_COLUMNS));
        }
        Webhooks::Get { id } => print(&client.get(&path(&id)).await?, format, webhook_line),
        Webhooks::Update { id, endpoint: url, events, description, enable, disable } => {
            let body = present_fields([
                ("url", url.map(Value::String)),
                ("events", (!events.is_empty()).then(|| Value::from(events))),
                ("description", description.map(Value::String)),
                ("enabled", (enable || disable).then_some(Value::Bool(enable))),
            ]);
            print(&client.call(Method::PATCH, &path(&id), Some(&body)).await?.1, format, webhook_line);
        }
        Webhooks::Delete { id } => {
            client.call(Method::DELETE, &path(&id), None).await?;
            eprintln!("deleted {id}");
        }
        Webhooks::RotateSecret { id } => {
            let rotated = client.call(Method::POST, &format!("{}/rotate-secret", path(&id)), None).await?.1;
            print(&rotated, format, with_secret);
        }
        Webhooks::Deliveries { id, page } => {
            let page = client.get(&format!("{}/deliveries{}", path(&id), page.query())).await?;
            print(&page, format, |p| table(p, DELIVERY_COLUMNS));
        }
        Webhooks::Retry { id, delivery_id } => {
            let retried = format!("{}/deliveries/{}/retry", path(&id), encode(&delivery_id));
            print(&client.call(Method::POST, &retried, None).await?.1, format, delivery_line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

const WEBHOOK_COLUMNS: &[Column] = &[
    ("ID", |w| cell(&w["id"])),
    ("URL", |w| cell(&w["url"])),
    ("EVENTS", |w| events(w)),
    ("ENABLED", |w| cell(&w["enabled"])),
    ("DESCRIPTION", |w| cell(&w["description"])),
];

const DELIVERY_COLUMNS: &[Column] = &[
    ("ID", |d| cell(&d["id"])),
    ("EVENT", |d| cell(&d["eventType"])),
    ("RESOURCE", |d| cell(&d["resourceId"])),
    ("STATUS", |d| cell(&d["status"])),
    ("ATTEMPTS", |d| cell(&d["attempts"])),
    ("ANSWER", answer),
    ("NEXT ATTEMPT", |d| cell(&d["nextAttemptAt"])),
    ("TEST", |d| cell(&d["test"])),
];

fn events(w: &Value) -> String {
    let events: Vec<String> = w["events"].as_array().map(|e| e.iter().map(cell).collect()).unwrap_or_default();
    events.join(",")
}

fn answer(d: &Value) -> String {
    match (&d["lastStatusCode"], &d["lastError"]) {
        (Value::Number(code), _) => format!("HTTP {code}"),
        (_, Value::String(error)) => error.chars().take(80).collect(),
        _ => "not sent yet".into(),
    }
}

fn webhook_line(w: &Value) -> String {
    let paused = if w["enabled"] == false { "  (disabled)" } else { "" };
    format!("{}  {}  {}{paused}", cell(&w["id"]), cell(&w["url"]), events(w))
}

/// The webhook, then its secret on a line of its own with a reminder to keep it.
fn with_secret(w: &Value) -> String {
    let expires = w["previousSecretExpiresAt"]
        .as_str()
        .map(|at| format!("\nthe previous secret keeps signing until {at}"))
        .unwrap_or_default();
    format!(
        "{}\nsecret: {}\nkeep it: it is not shown again; receivers verify the webhook-signature header with it{expires}",
        webhook_line(w),
        cell(&w["secret"])
    )
}

fn delivery_line(d: &Value) -> String {
    let answer = answer(d);
    let next = d["nextAttemptAt"].as_str().map(|at| format!("  next {at}")).unwrap_or_default();
    let test = if d["test"] == true { "  (test)" } else { "" };
    format!(
        "{}  {}  {}  {}  attempts {}  {answer}{next}{test}",
        cell(&d["id"]),
        cell(&d["eventType"]),
        cell(&d["resourceId"]),
        cell(&d["status"]),
        d["attempts"]
    )
}
