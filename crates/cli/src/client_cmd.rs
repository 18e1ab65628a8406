//! `segue workflows …` and `segue runs …`: the REST API from the command line
//! (`segue runs artifacts` and `segue artifacts` are in `artifacts_cmd`).
//! Data goes to stdout (JSON with `--json`), everything else to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::artifacts_cmd;
use crate::client::{Client, ClientError};
use crate::{EXIT_INVALID, EXIT_RUN_FAILED};

#[derive(clap::Args)]
pub struct Output {
    /// Print the API's JSON instead of a summary.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// One page of a list: `--limit` and the `--cursor` a previous page printed.
#[derive(clap::Args)]
pub struct PageArgs {
    #[arg(long)]
    pub limit: Option<u32>,
    #[arg(long)]
    pub cursor: Option<String>,
}

impl PageArgs {
    pub(crate) fn query(self) -> String {
        query(&[("limit", self.limit.map(|l| l.to_string())), ("cursor", self.cursor)])
    }
}

#[derive(Subcommand)]
pub enum Workflows {
    /// Create a workflow from a document; it becomes version 1.
    Create {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        source_provider: Option<String>,
        /// LOGIN or USER_DEFINED.
        #[arg(long = "type")]
        ty: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    List {
        #[arg(long)]
        source_provider: Option<String>,
        #[arg(long = "type")]
        ty: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    Get {
        id: String,
    },
    /// Change metadata; `--file` publishes a new version.
    Update {
        id: String,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        source_provider: Option<String>,
        #[arg(long = "type")]
        ty: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    Delete {
        id: String,
    },
    /// Show the draft, or save FILE as the draft.
    Draft {
        id: String,
        file: Option<PathBuf>,
    },
    /// Publish the draft as the next version.
    Publish {
        id: String,
    },
    /// List versions, or show one (a number, latest or draft).
    Versions {
        id: String,
        version: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum Runs {
    /// Queue a run of a workflow.
    Start {
        workflow_id: String,
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Option<PathBuf>,
        /// latest (default), draft or a version number.
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        test: bool,
        /// Attempts allowed if a worker is lost mid-run.
        #[arg(long)]
        max_attempts: Option<i64>,
        /// Time limit for each segment execution (at most the server's).
        #[arg(long, value_name = "SECONDS")]
        segment_timeout: Option<f64>,
        /// Time limit for the whole run (at most the server's).
        #[arg(long, value_name = "SECONDS")]
        run_timeout: Option<f64>,
        /// Screenshots kept as artifacts: at the end (the server's default), after every segment too, or none.
        #[arg(long, value_enum, value_name = "WHEN")]
        screenshots: Option<artifacts_cmd::Screenshots>,
        /// Keep a Playwright trace as an artifact (off by default).
        #[arg(long, value_enum, value_name = "WHEN")]
        trace: Option<artifacts_cmd::Trace>,
        /// Run signed in as this identity (`segue identities`): from its saved session,
        /// or after its LOGIN workflow logs it in.
        #[arg(long, value_name = "IDENTITY_ID")]
        identity: Option<String>,
        /// An input a person supplies while the run waits (`segue runs input`); repeat for each.
        #[arg(long = "defer", value_name = "NAME")]
        deferred: Vec<String>,
        /// Follow the run until it ends, then print its outputs.
        #[arg(long)]
        watch: bool,
    },
    Get {
        id: String,
    },
    List {
        #[arg(long)]
        workflow_id: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        test: Option<bool>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Segment executions of a run, in order.
    Segments {
        id: String,
    },
    Cancel {
        id: String,
    },
    /// Supply the input a run waits for (AWAITING_USER_INPUT), e.g. a code sent by SMS:
    /// `--input NAME` alone asks for the value without echo (a value on the command
    /// line shows in the process list and the shell's history).
    Input {
        id: String,
        #[arg(long = "input", value_name = "NAME[=VALUE]")]
        input: String,
    },
    /// List a run's artifacts (screenshots, downloads, outputs.json, traces), or download them.
    Artifacts {
        id: String,
        /// Save every artifact into this folder under its name; files already there are never replaced.
        #[arg(long, value_name = "DIR")]
        download: Option<PathBuf>,
    },
    /// Follow a run segment by segment; ends with its outputs.
    Watch {
        id: String,
    },
}

fn read_json(path: &Path) -> Result<Value, ClientError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ClientError(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| ClientError(format!("{} is not valid JSON: {e}", path.display())))
}

/// A JSON object of the fields that have a value: the API refuses `null` for
/// fields that cannot be cleared, so absent options are left out.
pub(crate) fn present_fields<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    Value::Object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))).collect())
}

pub(crate) fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v)))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

pub(crate) fn encode(v: &str) -> String {
    workflow::data_uri::percent_encode(v)
}

pub(crate) fn print(value: &Value, json: bool, summary: impl Fn(&Value) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).expect("JSON"));
    } else {
        println!("{}", summary(value));
    }
}

fn workflow_line(w: &Value) -> String {
    format!(
        "{}  v{}  {}  {}  {}",
        w["id"].as_str().unwrap_or(""),
        w["latestVersion"],
        w["type"].as_str().unwrap_or(""),
        w["sourceProvider"].as_str().unwrap_or("-"),
        w["name"].as_str().unwrap_or("")
    )
}

fn run_line(r: &Value) -> String {
    let error = r["error"]["code"].as_str().map(|c| format!("  {c}")).unwrap_or_default();
    format!(
        "{}  {}  {}  {}{error}",
        r["id"].as_str().unwrap_or(""),
        r["status"].as_str().unwrap_or(""),
        r["workflowId"].as_str().unwrap_or(""),
        r["createdAt"].as_str().unwrap_or("")
    )
}

fn version_line(v: &Value) -> String {
    format!("{}  {}", v["version"], v["createdAt"].as_str().unwrap_or(""))
}

pub(crate) fn page_lines(page: &Value, line: fn(&Value) -> String) -> String {
    let mut lines: Vec<String> = page["data"].as_array().into_iter().flatten().map(line).collect();
    if let Some(c) = page["nextCursor"].as_str() {
        lines.push(format!("(more: --cursor {c})"));
    }
    lines.join("\n")
}

fn segment_line(s: &Value) -> String {
    let error = s["error"]["message"].as_str().map(|m| format!("  {m}")).unwrap_or_default();
    format!(
        "[{:>3}] {:<9} {} ({}) {} ms{error}",
        s["sequence"],
        s["status"].as_str().unwrap_or(""),
        s["segmentName"].as_str().unwrap_or(""),
        s["mode"].as_str().unwrap_or(""),
        s["durationMs"]
    )
}

pub async fn workflows(command: Workflows, out: Output) -> ExitCode {
    finish(workflows_inner(command, out.json).await)
}

async fn workflows_inner(command: Workflows, json: bool) -> Result<ExitCode, ClientError> {
    let client = Client::from_env()?;
    match command {
        Workflows::Create { file, name, source_provider, ty, description } => {
            let definition = read_json(&file)?;
            let name = name.or_else(|| definition["name"].as_str().map(str::to_owned)).unwrap_or_default();
            let body = present_fields([
                ("name", Some(Value::String(name))),
                ("sourceProvider", source_provider.map(Value::String)),
                ("type", ty.map(Value::String)),
                ("description", description.map(Value::String)),
                ("definition", Some(definition)),
            ]);
            let (_, w) = client.call(Method::POST, "/v1/workflows", Some(&body)).await?;
            print(&w, json, workflow_line);
        }
        Workflows::List { source_provider, ty, limit, cursor } => {
            let q = query(&[
                ("sourceProvider", source_provider),
                ("type", ty),
                ("limit", limit.map(|l| l.to_string())),
                ("cursor", cursor),
            ]);
            let page = client.get(&format!("/v1/workflows{q}")).await?;
            print(&page, json, |p| page_lines(p, workflow_line));
        }
        Workflows::Get { id } => print(&client.get(&format!("/v1/workflows/{id}")).await?, json, workflow_line),
        Workflows::Update { id, file, name, source_provider, ty, description } => {
            let body = present_fields([
                ("definition", file.map(|f| read_json(&f)).transpose()?),
                ("name", name.map(Value::String)),
                ("sourceProvider", source_provider.map(Value::String)),
                ("type", ty.map(Value::String)),
                ("description", description.map(Value::String)),
            ]);
            let (_, w) = client.call(Method::PATCH, &format!("/v1/workflows/{id}"), Some(&body)).await?;
            print(&w, json, workflow_line);
        }
        Workflows::Delete { id } => {
            client.call(Method::DELETE, &format!("/v1/workflows/{id}"), None).await?;
            eprintln!("deleted {id}");
        }
        Workflows::Draft { id, file } => {
            let draft = match file {
                Some(f) => {
                    let body = json!({"definition": read_json(&f)?});
                    client.call(Method::PUT, &format!("/v1/workflows/{id}/draft"), Some(&body)).await?.1
                }
                None => client.get(&format!("/v1/workflows/{id}/draft")).await?,
            };
            print(&draft, json, |d| serde_json::to_string_pretty(&d["definition"]).expect("JSON"));
        }
        Workflows::Publish { id } => {
            let (_, v) = client.call(Method::POST, &format!("/v1/workflows/{id}/publish"), None).await?;
            print(&v, json, |v| format!("published version {}", v["version"]));
        }
        Workflows::Versions { id, version: Some(v) } => {
            let found = client.get(&format!("/v1/workflows/{id}/versions/{}", encode(&v))).await?;
            print(&found, json, |v| serde_json::to_string_pretty(&v["definition"]).expect("JSON"));
        }
        Workflows::Versions { id, version: None } => {
            let page = client.get(&format!("/v1/workflows/{id}/versions")).await?;
            print(&page, json, |p| page_lines(p, version_line));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn runs(command: Runs, out: Output) -> ExitCode {
    finish(runs_inner(command, out.json).await)
}

async fn runs_inner(command: Runs, json: bool) -> Result<ExitCode, ClientError> {
    let client = Client::from_env()?;
    match command {
        Runs::Start {
            workflow_id,
            inputs,
            inputs_file,
            version,
            test,
            max_attempts,
            segment_timeout,
            run_timeout,
            screenshots,
            trace,
            identity,
            deferred,
            watch,
        } => {
            let which = version.clone().unwrap_or_else(|| "latest".into());
            let found = client.get(&format!("/v1/workflows/{workflow_id}/versions/{}", encode(&which))).await?;
            // The definition tells which inputs are files, so `@path` can be read here.
            let given = match workflow::check_value(&found["definition"]).workflow {
                Some(w) => crate::inputs::collect(&w, inputs_file.as_deref(), &inputs).map_err(ClientError)?,
                None => return Err(ClientError("that version is not a valid workflow".into())),
            };
            let version_value = match version.as_deref().map(str::parse::<i64>) {
                Some(Ok(n)) => json!(n),
                _ => json!(which),
            };
            let body = present_fields([
                ("inputs", Some(Value::Object(given))),
                ("version", Some(version_value)),
                ("test", Some(Value::Bool(test))),
                ("maxAttempts", max_attempts.map(Value::from)),
                ("segmentTimeoutSeconds", segment_timeout.map(Value::from)),
                ("runTimeoutSeconds", run_timeout.map(Value::from)),
                ("artifacts", artifacts_cmd::asked(screenshots, trace)),
                ("identityId", identity.map(Value::from)),
                ("deferredInputs", (!deferred.is_empty()).then(|| Value::from(deferred))),
            ]);
            let (_, run) = client.call(Method::POST, &format!("/v1/workflows/{workflow_id}/runs"), Some(&body)).await?;
            let id = run["id"].as_str().unwrap_or_default().to_owned();
            if watch {
                return follow(&client, &id, json).await;
            }
            print(&run, json, run_line);
        }
        Runs::Get { id } => print(&client.get(&format!("/v1/runs/{id}")).await?, json, run_line),
        Runs::List { workflow_id, status, test, limit, cursor } => {
            let q = query(&[
                ("workflowId", workflow_id),
                ("status", status),
                ("test", test.map(|t| t.to_string())),
                ("limit", limit.map(|l| l.to_string())),
                ("cursor", cursor),
            ]);
            let page = client.get(&format!("/v1/runs{q}")).await?;
            print(&page, json, |p| page_lines(p, run_line));
        }
        Runs::Segments { id } => {
            let page = client.get(&format!("/v1/runs/{id}/segments")).await?;
            print(&page, json, |p| page_lines(p, segment_line));
        }
        Runs::Input { id, input } => {
            let (name, value) = match input.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (input.clone(), crate::identities_cmd::read_answer(&input, true).map_err(ClientError)?),
            };
            let body = Value::Object(serde_json::Map::from_iter([(name, Value::String(value))]));
            let path = format!("/v1/runs/{}/inputs", encode(&id));
            print(&client.call(Method::POST, &path, Some(&body)).await?.1, json, run_line);
        }
        Runs::Cancel { id } => {
            print(&client.call(Method::POST, &format!("/v1/runs/{id}/cancel"), None).await?.1, json, run_line)
        }
        Runs::Watch { id } => return follow(&client, &id, json).await,
        Runs::Artifacts { id, download } => artifacts_cmd::of_run(&client, &id, download.as_deref(), json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints progress to stderr as segments finish, then the outputs on stdout.
/// Exit 0 when the run completed, 1 otherwise.
pub(crate) async fn follow(client: &Client, id: &str, json: bool) -> Result<ExitCode, ClientError> {
    let mut last: Option<Value> = None;
    let mut current = String::new();
    client
        .events(&format!("/v1/runs/{id}/events"), |name, data| match name {
            "segment" => {
                eprintln!("{}", segment_line(data));
                for line in data["logs"].as_array().into_iter().flatten() {
                    eprintln!("    {} | {}", data["segmentName"].as_str().unwrap_or(""), line.as_str().unwrap_or(""));
                }
            }
            "run" => {
                if let Some(name) = data["awaitingInput"]["name"].as_str() {
                    eprintln!("      waiting for input '{name}': segue runs input {id} --input {name}");
                }
                let segment = data["currentSegmentName"].as_str().unwrap_or("").to_owned();
                if segment != current && !segment.is_empty() {
                    eprintln!("      running {segment}…");
                }
                current = segment;
            }
            "end" => last = Some(data.clone()),
            _ => {}
        })
        .await?;
    let Some(run) = last else { return Err(ClientError("the event stream ended before the run did".into())) };
    if json {
        println!("{}", serde_json::to_string_pretty(&run).expect("JSON"));
    } else if run["status"] == "COMPLETED" {
        println!("{}", serde_json::to_string_pretty(&run["outputs"]).expect("JSON"));
    }
    if run["status"] == "COMPLETED" {
        return Ok(ExitCode::SUCCESS);
    }
    let error = &run["error"];
    eprintln!(
        "error: run {} {}: {} ({})",
        id,
        run["status"].as_str().unwrap_or(""),
        error["message"].as_str().unwrap_or(""),
        error["code"].as_str().unwrap_or("")
    );
    Ok(ExitCode::from(EXIT_RUN_FAILED))
}

pub(crate) fn finish(result: Result<ExitCode, ClientError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(ClientError(message)) => {
            eprintln!("error: {message}");
            // 4xx answers are the caller's to fix, like invalid documents locally.
            if message.starts_with("4") { ExitCode::from(EXIT_INVALID) } else { ExitCode::FAILURE }
        }
    }
}
