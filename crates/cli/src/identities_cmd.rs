//! `segue identities`: login identities on a server. Credentials come from
//! `--credential NAME=VALUE`, `NAME=@FILE` or a bare `NAME`, asked for on the
//! terminal without echo (a value on the command line shows in the process list).

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::ClientError;
use crate::client_cmd::{Column, Output, PageArgs, cell, encode, finish, present_fields, print, table};

#[derive(Subcommand)]
pub enum Identities {
    /// Create an identity for a site's account.
    Create {
        name: String,
        #[arg(long)]
        source_provider: String,
        /// NAME=VALUE, NAME=@FILE, or NAME alone to be asked without echo; repeat for each.
        #[arg(long = "credential", value_name = "NAME[=VALUE|=@FILE]")]
        credentials: Vec<String>,
        /// The LOGIN workflow that logs in as it [default: the only one of its source provider].
        #[arg(long)]
        login_workflow_id: Option<String>,
        /// How long a saved session is used before logging in again [default: 12 hours].
        #[arg(long, value_name = "SECONDS")]
        session_ttl_seconds: Option<i64>,
    },
    /// The organization's identities, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// An identity: its credentials' names (never their values) and its session.
    Get {
        /// The identity's id.
        id: String,
    },
    /// Change an identity; `--credential` replaces all its credentials and forgets its session.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        source_provider: Option<String>,
        #[arg(long = "credential", value_name = "NAME[=VALUE|=@FILE]")]
        credentials: Vec<String>,
        #[arg(long, conflicts_with = "default_login_workflow")]
        login_workflow_id: Option<String>,
        /// Log in with the source provider's only LOGIN workflow again.
        #[arg(long)]
        default_login_workflow: bool,
        #[arg(long, value_name = "SECONDS")]
        session_ttl_seconds: Option<i64>,
    },
    /// Delete an identity, its credentials and its saved session.
    Delete {
        /// The identity's id.
        id: String,
    },
    /// Forget the saved session: the next run as the identity logs in first.
    ForgetSession { id: String },
    /// Log in now with the identity's LOGIN workflow, saving its session.
    Login {
        id: String,
        /// Follow the login run until it ends.
        #[arg(long)]
        watch: bool,
    },
}

pub async fn main(command: Identities, out: Output) -> ExitCode {
    finish(run(command, &out).await)
}

async fn run(command: Identities, out: &Output) -> Result<ExitCode, ClientError> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Identities::Create { name, source_provider, credentials, login_workflow_id, session_ttl_seconds } => {
            let body = present_fields([
                ("name", Some(json!(name))),
                ("sourceProvider", Some(json!(source_provider))),
                ("credentials", Some(Value::Object(collect(&credentials)?))),
                ("loginWorkflowId", login_workflow_id.map(Value::from)),
                ("sessionTtlSeconds", session_ttl_seconds.map(Value::from)),
            ]);
            print(&client.call(Method::POST, "/v1/identities", Some(&body)).await?.1, format, identity_line);
        }
        Identities::List { page } => {
            let page = client.get(&format!("/v1/identities{}", page.query())).await?;
            print(&page, format, |p| table(p, IDENTITY_COLUMNS));
        }
        Identities::Get { id } => print(&client.get(&path(&id)).await?, format, identity_line),
        Identities::Update {
            id,
            name,
            source_provider,
            credentials,
            login_workflow_id,
            default_login_workflow,
            session_ttl_seconds,
        } => {
            let mut body = present_fields([
                ("name", name.map(Value::from)),
                ("sourceProvider", source_provider.map(Value::from)),
                ("loginWorkflowId", login_workflow_id.map(Value::from)),
                ("sessionTtlSeconds", session_ttl_seconds.map(Value::from)),
            ]);
            if default_login_workflow {
                body["loginWorkflowId"] = Value::Null;
            }
            if !credentials.is_empty() {
                body["credentials"] = Value::Object(collect(&credentials)?);
            }
            print(&client.call(Method::PATCH, &path(&id), Some(&body)).await?.1, format, identity_line);
        }
        Identities::Delete { id } => {
            client.call(Method::DELETE, &path(&id), None).await?;
        }
        Identities::Login { id, watch } => {
            let run =
                client.call(Method::POST, &format!("{}/login", path(&id)), Some(&Value::Object(Map::new()))).await?.1;
            if watch {
                return crate::client_cmd::follow(&client, run["id"].as_str().unwrap_or_default(), format).await;
            }
            print(&run, format, |r| {
                format!("{}  {}", r["id"].as_str().unwrap_or(""), r["status"].as_str().unwrap_or(""))
            });
        }
        Identities::ForgetSession { id } => {
            let path = format!("{}/session", path(&id));
            print(&client.call(Method::DELETE, &path, None).await?.1, format, identity_line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn path(id: &str) -> String {
    format!("/v1/identities/{}", encode(id))
}

const IDENTITY_COLUMNS: &[Column] = &[
    ("ID", |i| cell(&i["id"])),
    ("NAME", |i| cell(&i["name"])),
    ("SOURCE PROVIDER", |i| cell(&i["sourceProvider"])),
    ("SESSION", |i| cell(&i["session"]["status"])),
    ("EXPIRES", |i| cell(&i["session"]["expiresAt"])),
    ("CREDENTIALS", |i| credential_names(i)),
];

fn credential_names(i: &Value) -> String {
    let names: Vec<&str> = i["credentialNames"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if names.is_empty() { "-".to_owned() } else { names.join(",") }
}

fn identity_line(i: &Value) -> String {
    let names: Vec<&str> = i["credentialNames"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    format!(
        "{}  {}  {}  session {}  credentials {}  {}",
        i["id"].as_str().unwrap_or(""),
        i["sourceProvider"].as_str().unwrap_or(""),
        i["session"]["status"].as_str().unwrap_or(""),
        i["session"]["expiresAt"].as_str().unwrap_or("-"),
        if names.is_empty() { "-".to_owned() } else { names.join(",") },
        i["name"].as_str().unwrap_or("")
    )
}

/// The credentials named on the command line, read from the argument, a file or the terminal.
fn collect(given: &[String]) -> Result<Map<String, Value>, ClientError> {
    let mut credentials = Map::new();
    for spelled in given {
        let (name, value) = match spelled.split_once('=') {
            Some((name, value)) => match value.strip_prefix('@') {
                Some(file) => (name, read_file(Path::new(file))?),
                None => (name, value.to_owned()),
            },
            None => (spelled.as_str(), ask(spelled)?),
        };
        if credentials.insert(name.to_owned(), Value::String(value)).is_some() {
            return Err(ClientError(format!("--credential {name} is given twice")));
        }
    }
    Ok(credentials)
}

/// A file's content without its trailing newline (as `echo secret > file` leaves it).
fn read_file(path: &Path) -> Result<String, ClientError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ClientError(format!("cannot read {}: {e}", path.display())))?;
    Ok(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_owned())
}

/// Asks for a value on the terminal with echo off.
fn ask(name: &str) -> Result<String, ClientError> {
    let stdin = std::io::stdin();
    if nix::sys::termios::tcgetattr(&stdin).is_err() {
        return Err(ClientError(format!(
            "--credential {name} asks on a terminal; give {name}=VALUE or {name}=@FILE instead"
        )));
    }
    read_answer(name, true).map_err(ClientError)
}

/// Prints `name: ` on stderr and reads one line from stdin, with echo off on a
/// terminal when `hidden`. Echo comes back whatever the read did.
pub(crate) fn read_answer(name: &str, hidden: bool) -> Result<String, String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = if hidden { tcgetattr(&stdin).ok() } else { None };
    if let Some(saved) = &saved {
        let mut silent = saved.clone();
        silent.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &silent);
    }
    eprint!("{name}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, saved);
        eprintln!();
    }
    match read {
        Ok(0) => Err(format!("no answer for {name}: stdin ended")),
        Ok(_) => Ok(line.trim_end_matches(['\n', '\r']).to_owned()),
        Err(e) => Err(format!("reading {name}: {e}")),
    }
}
