//! `segue workflows …` and `segue runs …`: the REST API from the command line
//! (`segue runs artifacts` and `segue artifacts` are in `artifacts_cmd`).
//! Data goes to stdout (JSON with `--json`), everything else to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use crate::artifacts_cmd;
use crate::client::{Client, ClientError, ServerArgs};
use crate::{EXIT_INVALID, EXIT_RUN_FAILED};

/// How a client command prints, and which server it talks to: flags every client
/// command takes, anywhere on its command line.
#[derive(clap::Args)]
pub struct Output {
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    server: ServerArgs,
}

/// `--output` and its older spelling `--json`.
#[derive(clap::Args)]
pub struct FormatArgs {
    /// Print the API's JSON (the same as `--output json`).
    #[arg(long, global = true, conflicts_with = "output")]
    json: bool,
    /// How data is printed: table (lists as aligned columns under a header, one item
    /// as a summary), json (the API's JSON) or yaml (the same data as YAML).
    #[arg(long, short = 'o', global = true, value_enum, ignore_case = true, value_name = "FORMAT")]
    output: Option<Format>,
}

impl FormatArgs {
    pub(crate) fn format(&self) -> Format {
        if self.json { Format::Json } else { self.output.unwrap_or(Format::Table) }
    }
}

impl Output {
    pub(crate) fn format(&self) -> Format {
        self.format.format()
    }

    pub(crate) fn client(&self) -> Result<Client, ClientError> {
        self.server.client()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns under a header for lists, a summary for one item.
    Table,
    /// The API's JSON, as it answered.
    Json,
    /// The API's answer as YAML.
    Yaml,
}

/// One page of a list: `--limit` and the `--cursor` a previous page printed.
#[derive(clap::Args)]
pub struct PageArgs {
    /// How many items a page holds (the server's default is 20, at most 100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Where the page starts: the cursor the previous page printed (on stderr).
    #[arg(long)]
    pub cursor: Option<String>,
}

impl PageArgs {
    pub(crate) fn query(self) -> String {
        query(&[("limit", self.limit.map(|l| l.to_string())), ("cursor", self.cursor)])
    }
}

/// A workflow's type; any case, `_` or `-` (`login`, `USER_DEFINED`, `user-defined`).
#[derive(Clone, Copy, ValueEnum)]
pub enum WorkflowType {
    /// Logs an identity in; its runs save the identity's session.
    Login,
    /// Any other workflow.
    #[value(alias = "user_defined")]
    UserDefined,
}

impl WorkflowType {
    fn api(self) -> &'static str {
        match self {
            WorkflowType::Login => "LOGIN",
            WorkflowType::UserDefined => "USER_DEFINED",
        }
    }
}

/// A run's (or a job run's) status, in any case, `_` or `-` (`failed`, `IN_PROGRESS`).
#[derive(Clone, Copy, ValueEnum)]
pub enum RunStatus {
    Pending,
    #[value(alias = "in_progress")]
    InProgress,
    #[value(alias = "awaiting_user_input")]
    AwaitingUserInput,
    Completed,
    Failed,
    Cancelled,
    #[value(alias = "timed_out")]
    TimedOut,
}

impl RunStatus {
    /// As the API spells it.
    pub(crate) fn api(self) -> String {
        let name = self.to_possible_value().expect("no value is skipped");
        name.get_name().replace('-', "_").to_uppercase()
    }
}

/// A workflow by id (`wf_…`) or by its name, which must be unique in the organization.
#[derive(Clone)]
pub struct WorkflowRef(String);

impl std::str::FromStr for WorkflowRef {
    type Err = String;

    fn from_str(s: &str) -> Result<WorkflowRef, String> {
        if s.is_empty() { Err("a workflow id or name is empty".into()) } else { Ok(WorkflowRef(s.to_owned())) }
    }
}

impl WorkflowRef {
    /// The workflow's id: as given, or found by its exact name (`?name=`). A name
    /// that none or several have is an error that lists them.
    pub(crate) async fn id(&self, client: &Client) -> Result<String, ClientError> {
        if self.0.starts_with("wf_") {
            return Ok(encode(&self.0));
        }
        let page = client
            .get(&format!("/v1/workflows{}", query(&[("name", Some(self.0.clone())), ("limit", Some("100".into()))])))
            .await?;
        let found: Vec<Value> = page["data"].as_array().cloned().unwrap_or_default();
        match found.as_slice() {
            [one] => Ok(encode(one["id"].as_str().unwrap_or_default())),
            [] => {
                Err(ClientError(format!("404 no workflow is named '{}' (`segue workflows list` shows them)", self.0)))
            }
            many => {
                let ids: Vec<String> = many.iter().map(|w| format!("\n  {}", cell(&w["id"]))).collect();
                Err(ClientError(format!(
                    "400 {} workflows are named '{}': give one's id{}",
                    many.len(),
                    self.0,
                    ids.concat()
                )))
            }
        }
    }
}

#[derive(Subcommand)]
pub enum Workflows {
    /// Create a workflow from a document; it becomes version 1.
    Create {
        /// The workflow document (JSON).
        file: PathBuf,
        /// Its name [default: the document's `name`].
        #[arg(long)]
        name: Option<String>,
        /// The site or system it works on, e.g. demo-shop (identities of it may run it).
        #[arg(long)]
        source_provider: Option<String>,
        /// login or user-defined [default: user-defined].
        #[arg(long = "type", value_enum, ignore_case = true)]
        ty: Option<WorkflowType>,
        #[arg(long)]
        /// A sentence on what it does.
        description: Option<String>,
    },
    /// The organization's workflows, newest first.
    List {
        /// Only those of this source provider.
        #[arg(long)]
        source_provider: Option<String>,
        /// Only login or user-defined ones.
        #[arg(long = "type", value_enum, ignore_case = true)]
        ty: Option<WorkflowType>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A workflow with its latest published definition.
    Get {
        /// Its id, or its name when no other workflow has it.
        workflow: WorkflowRef,
    },
    /// Change metadata; `--file` publishes a new version.
    Update {
        /// Its id, or its name when no other workflow has it.
        workflow: WorkflowRef,
        /// A new document, published as the next version.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        /// A new name.
        name: Option<String>,
        /// A new source provider.
        #[arg(long)]
        source_provider: Option<String>,
        /// A new type: login or user-defined.
        #[arg(long = "type", value_enum, ignore_case = true)]
        ty: Option<WorkflowType>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a workflow; its runs stay readable.
    Delete {
        /// Its id, or its name when no other workflow has it.
        workflow: WorkflowRef,
    },
    /// Show the draft, or save FILE as the draft.
    Draft {
        /// Its id, or its name when no other workflow has it.
        workflow: WorkflowRef,
        /// The document to save as the draft.
        file: Option<PathBuf>,
    },
    /// Publish the draft as the next version.
    Publish {
        /// Its id, or its name when no other workflow has it.
        workflow: WorkflowRef,
    },
    /// List versions, or show one (a number, latest or draft).
    Versions {
        /// Its id, or its name when no other workflow has it.
        workflow: WorkflowRef,
        /// A version number, latest or draft: print that version's document.
        version: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum Runs {
    /// Queue a run of a workflow.
    Start {
        /// The workflow's id, or its name when no other workflow has it.
        workflow: WorkflowRef,
        /// An input of the run; `file` inputs may be given as @path. Repeat for each.
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// Inputs as one JSON object; `--input` values replace its fields.
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Option<PathBuf>,
        /// latest (default), draft or a version number.
        #[arg(long)]
        version: Option<String>,
        /// A test run: listed apart, not counted as the workflow's real runs.
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
        /// Wait for the run to end, showing its segments on stderr, then print its outputs
        /// like `segue run` (exit 1 if it did not complete).
        #[arg(long, visible_alias = "wait")]
        watch: bool,
    },
    /// A run: status, duration, error (segment, code, message) and outputs.
    Get {
        /// The run's id (run_…).
        id: String,
    },
    /// Runs, newest first.
    List {
        /// Only the runs of this workflow: its id, or its name when no other workflow has it.
        #[arg(long, visible_alias = "workflow", value_name = "WORKFLOW")]
        workflow_id: Option<WorkflowRef>,
        /// Only runs with this status, in any case (e.g. failed).
        #[arg(long, value_enum, ignore_case = true)]
        status: Option<RunStatus>,
        /// Only test runs (true) or only real ones (false).
        #[arg(long)]
        test: Option<bool>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Segment executions of a run, in order.
    Segments {
        /// The run's id.
        id: String,
    },
    /// Cancel a run that has not ended.
    Cancel {
        /// The run's id.
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
    Watch { id: String },
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

pub(crate) fn print(value: &Value, format: Format, summary: impl Fn(&Value) -> String) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value).expect("JSON")),
        Format::Yaml => print!("{}", yaml(value)),
        Format::Table => {
            let text = printable(&summary(value));
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}

pub(crate) fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).expect("any JSON value is YAML")
}

/// A column of a list: its header and what a row shows in it.
pub(crate) type Column = (&'static str, fn(&Value) -> String);

/// A page of a list as a table: a header row, then one row per item, columns
/// aligned, no borders (so `grep` and `awk` read it). An empty page prints
/// nothing on stdout; a further page's cursor goes to stderr.
pub(crate) fn table(page: &Value, columns: &[Column]) -> String {
    if let Some(c) = page["nextCursor"].as_str() {
        eprintln!("more: --cursor {c}");
    }
    let rows: Vec<&Value> = page["data"].as_array().into_iter().flatten().collect();
    rows_table(&rows, columns)
}

pub(crate) fn rows_table(rows: &[&Value], columns: &[Column]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(columns.iter().map(|(header, _)| *header));
    for row in rows {
        table.add_row(columns.iter().map(|(_, cell)| one_line(&cell(row))));
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    // The last column's padding would leave spaces at the end of every line.
    table.lines().map(|line| line.trim_end().to_owned()).collect::<Vec<_>>().join("\n")
}

/// A cell on one line: a value with a line break would break the row.
fn one_line(text: &str) -> String {
    let text = if text.is_empty() { "-" } else { text };
    text.replace(['\n', '\r'], " ")
}

/// Text for a terminal: names, logs and errors come from workflows, and an escape
/// sequence in one (a window title, the clipboard, hidden lines) or a bidi override
/// must not reach the terminal as such. Line breaks stay; other controls become `?`.
pub(crate) fn printable(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
    text.chars().map(|c| if (c.is_control() && c != '\n') || bidi(c) { '?' } else { c }).collect()
}

/// A field as a cell: strings as they are, `null` as `-`, anything else as JSON.
pub(crate) fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
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

const WORKFLOW_COLUMNS: &[Column] = &[
    ("ID", |w| cell(&w["id"])),
    ("NAME", |w| cell(&w["name"])),
    ("VERSION", |w| cell(&w["latestVersion"])),
    ("TYPE", |w| cell(&w["type"])),
    ("SOURCE PROVIDER", |w| cell(&w["sourceProvider"])),
    ("UPDATED", |w| cell(&w["updatedAt"])),
];

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

const RUN_COLUMNS: &[Column] = &[
    ("ID", |r| cell(&r["id"])),
    ("STATUS", |r| cell(&r["status"])),
    ("WORKFLOW", |r| cell(&r["workflowId"])),
    ("VERSION", |r| cell(&r["workflowVersion"])),
    ("CREATED", |r| cell(&r["createdAt"])),
    ("DURATION", |r| duration(r).unwrap_or_else(|| "-".into())),
    ("ERROR", |r| cell(&r["error"]["code"])),
];

const VERSION_COLUMNS: &[Column] = &[("VERSION", |v| cell(&v["version"])), ("CREATED", |v| cell(&v["createdAt"]))];

pub(crate) const SEGMENT_COLUMNS: &[Column] = &[
    ("SEQUENCE", |s| cell(&s["sequence"])),
    ("STATUS", |s| cell(&s["status"])),
    ("SEGMENT", |s| cell(&s["segmentName"])),
    ("MODE", |s| cell(&s["mode"])),
    ("DURATION", |s| s["durationMs"].as_i64().map_or_else(|| "-".into(), |ms| format!("{ms} ms"))),
    ("ERROR", |s| cell(&s["error"]["message"])),
];

/// How long a run took, from its start to its end (or until now while it runs).
fn duration(run: &Value) -> Option<String> {
    let at = |field: &str| run[field].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let started = at("startedAt")?;
    let ended = at("completedAt").map_or_else(chrono::Utc::now, |t| t.to_utc());
    let ms = (ended - started.to_utc()).num_milliseconds().max(0);
    Some(if ms < 1000 { format!("{ms} ms") } else { format!("{:.1} s", ms as f64 / 1000.0) })
}

/// `segue runs get`: the run's line, then what a person asks of it: how long it
/// took, where and why it failed, what it returned.
fn run_summary(r: &Value) -> String {
    let mut lines = vec![
        format!("id:        {}", cell(&r["id"])),
        format!("status:    {}", cell(&r["status"])),
        format!("workflow:  {} v{}", cell(&r["workflowId"]), cell(&r["workflowVersion"])),
        format!("created:   {}", cell(&r["createdAt"])),
    ];
    if let Some(d) = duration(r) {
        lines.push(format!("duration:  {d}"));
    }
    if let Some(segment) = r["currentSegmentName"].as_str() {
        lines.push(format!("segment:   {segment}"));
    }
    if let Some(name) = r["awaitingInput"]["name"].as_str() {
        lines.push(format!("waiting:   for input '{name}' (segue runs input {} --input {name})", cell(&r["id"])));
    }
    if !r["error"].is_null() {
        let e = &r["error"];
        let segment = e["segmentName"].as_str().map(|s| format!(" in segment {s}")).unwrap_or_default();
        lines.push(format!("error:     {}{segment}: {}", cell(&e["code"]), cell(&e["message"])));
    }
    if !r["outputs"].is_null() {
        let outputs = serde_json::to_string_pretty(&r["outputs"]).expect("JSON");
        lines.push(format!("outputs:\n{}", indent(&outputs)));
    }
    lines.join("\n")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
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
    finish(workflows_inner(command, &out).await)
}

async fn workflows_inner(command: Workflows, out: &Output) -> Result<ExitCode, ClientError> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Workflows::Create { file, name, source_provider, ty, description } => {
            let definition = read_json(&file)?;
            let name = name.or_else(|| definition["name"].as_str().map(str::to_owned)).unwrap_or_default();
            let body = present_fields([
                ("name", Some(Value::String(name))),
                ("sourceProvider", source_provider.map(Value::String)),
                ("type", ty.map(|t| Value::from(t.api()))),
                ("description", description.map(Value::String)),
                ("definition", Some(definition)),
            ]);
            let (_, w) = client.call(Method::POST, "/v1/workflows", Some(&body)).await?;
            print(&w, format, workflow_line);
        }
        Workflows::List { source_provider, ty, page } => {
            let q = query(&[
                ("sourceProvider", source_provider),
                ("type", ty.map(|t| t.api().to_owned())),
                ("limit", page.limit.map(|l| l.to_string())),
                ("cursor", page.cursor),
            ]);
            let page = client.get(&format!("/v1/workflows{q}")).await?;
            print(&page, format, |p| table(p, WORKFLOW_COLUMNS));
        }
        Workflows::Get { workflow } => {
            let id = workflow.id(&client).await?;
            print(&client.get(&format!("/v1/workflows/{id}")).await?, format, workflow_line)
        }
        Workflows::Update { workflow, file, name, source_provider, ty, description } => {
            let id = workflow.id(&client).await?;
            let body = present_fields([
                ("definition", file.map(|f| read_json(&f)).transpose()?),
                ("name", name.map(Value::String)),
                ("sourceProvider", source_provider.map(Value::String)),
                ("type", ty.map(|t| Value::from(t.api()))),
                ("description", description.map(Value::String)),
            ]);
            let (_, w) = client.call(Method::PATCH, &format!("/v1/workflows/{id}"), Some(&body)).await?;
            print(&w, format, workflow_line);
        }
        Workflows::Delete { workflow } => {
            let id = workflow.id(&client).await?;
            client.call(Method::DELETE, &format!("/v1/workflows/{id}"), None).await?;
            eprintln!("deleted {id}");
        }
        Workflows::Draft { workflow, file } => {
            let id = workflow.id(&client).await?;
            let draft = match file {
                Some(f) => {
                    let body = json!({"definition": read_json(&f)?});
                    client.call(Method::PUT, &format!("/v1/workflows/{id}/draft"), Some(&body)).await?.1
                }
                None => client.get(&format!("/v1/workflows/{id}/draft")).await?,
            };
            print(&draft, format, |d| serde_json::to_string_pretty(&d["definition"]).expect("JSON"));
        }
        Workflows::Publish { workflow } => {
            let id = workflow.id(&client).await?;
            let (_, v) = client.call(Method::POST, &format!("/v1/workflows/{id}/publish"), None).await?;
            print(&v, format, |v| format!("published version {}", v["version"]));
        }
        Workflows::Versions { workflow, version: Some(v) } => {
            let id = workflow.id(&client).await?;
            let found = client.get(&format!("/v1/workflows/{id}/versions/{}", encode(&v))).await?;
            print(&found, format, |v| serde_json::to_string_pretty(&v["definition"]).expect("JSON"));
        }
        Workflows::Versions { workflow, version: None } => {
            let id = workflow.id(&client).await?;
            let page = client.get(&format!("/v1/workflows/{id}/versions")).await?;
            print(&page, format, |p| table(p, VERSION_COLUMNS));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn runs(command: Runs, out: Output) -> ExitCode {
    finish(runs_inner(command, &out).await)
}

async fn runs_inner(command: Runs, out: &Output) -> Result<ExitCode, ClientError> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Runs::Start {
            workflow,
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
            let workflow_id = workflow.id(&client).await?;
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
                // stdout will carry the outputs: the id goes to stderr, for finding the run later.
                eprintln!("run {id} started");
                return follow(&client, &id, format).await;
            }
            print(&run, format, run_line);
        }
        Runs::Get { id } => print(&client.get(&format!("/v1/runs/{id}")).await?, format, run_summary),
        Runs::List { workflow_id, status, test, page } => {
            let workflow_id = match workflow_id {
                Some(w) => Some(w.id(&client).await?),
                None => None,
            };
            let q = query(&[
                ("workflowId", workflow_id),
                ("status", status.map(RunStatus::api)),
                ("test", test.map(|t| t.to_string())),
                ("limit", page.limit.map(|l| l.to_string())),
                ("cursor", page.cursor),
            ]);
            let page = client.get(&format!("/v1/runs{q}")).await?;
            print(&page, format, |p| table(p, RUN_COLUMNS));
        }
        Runs::Segments { id } => {
            let page = client.get(&format!("/v1/runs/{id}/segments")).await?;
            print(&page, format, |p| table(p, SEGMENT_COLUMNS));
        }
        Runs::Input { id, input } => {
            let (name, value) = match input.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (input.clone(), crate::identities_cmd::read_answer(&input, true).map_err(ClientError)?),
            };
            let body = Value::Object(serde_json::Map::from_iter([(name, Value::String(value))]));
            let path = format!("/v1/runs/{}/inputs", encode(&id));
            print(&client.call(Method::POST, &path, Some(&body)).await?.1, format, run_line);
        }
        Runs::Cancel { id } => {
            print(&client.call(Method::POST, &format!("/v1/runs/{id}/cancel"), None).await?.1, format, run_line)
        }
        Runs::Watch { id } => return follow(&client, &id, format).await,
        Runs::Artifacts { id, download } => artifacts_cmd::of_run(&client, &id, download.as_deref(), format).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints progress to stderr as segments finish, then the outputs on stdout.
/// Exit 0 when the run completed, 1 otherwise.
pub(crate) async fn follow(client: &Client, id: &str, format: Format) -> Result<ExitCode, ClientError> {
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
    if format != Format::Table {
        print(&run, format, |_| String::new());
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

#[cfg(test)]
mod tests {
    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        let hostile = "pay\u{1b}]52;c;ZXZpbA==\u{7}roll\u{1b}[2K\r\u{202E}gnp.exe\nnext";
        let shown = super::printable(hostile);
        assert!(!shown.chars().any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\r' || c == '\u{202E}'), "{shown:?}");
        assert!(shown.ends_with("\nnext"), "line breaks stay: {shown:?}");
    }
}
