//! `segue jobs`, `segue job-runs` and `segue schedules`: jobs (workflows that run
//! one after the other, as one job run), their job runs and the schedules that
//! start them. Data goes to stdout (JSON with `--json`), everything else to stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::{Client, ClientError};
use crate::client_cmd::{Column, Format, Output, PageArgs, cell, encode, finish, present_fields, print, query, table};
use crate::{EXIT_INVALID, EXIT_RUN_FAILED};

#[derive(Subcommand)]
pub enum Jobs {
    /// Create a job: `--workflow` once for each workflow, in the order they run.
    Create {
        #[command(flatten)]
        fields: JobFields,
    },
    /// The organization's jobs, newest first.
    List {
        #[command(flatten)]
        page: PageArgs,
    },
    /// A job with its workflows in order.
    Get { id: String },
    /// Change a job; `--workflow` replaces its workflows. Job runs that exist keep theirs.
    Update {
        id: String,
        #[command(flatten)]
        fields: JobFields,
        /// Run the job's workflows as no identity.
        #[arg(long, conflicts_with = "identity")]
        clear_identity: bool,
    },
    /// Delete a job and its schedules; its job runs stay readable.
    Delete { id: String },
    /// Start a job run: the job's workflows run one after the other.
    Run {
        job_id: String,
        /// An input offered to every workflow of the job (each takes the ones it declares);
        /// `file` inputs may be given as @path. Repeat for each.
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Option<PathBuf>,
        #[arg(long)]
        test: bool,
        /// Run as this identity instead of the job's.
        #[arg(long, value_name = "IDENTITY_ID")]
        identity: Option<String>,
        /// Follow the job run until it ends, workflow by workflow.
        #[arg(long)]
        watch: bool,
    },
}

/// A job's fields as flags, over the body `--file` holds.
#[derive(clap::Args)]
pub struct JobFields {
    #[arg(long)]
    name: Option<String>,
    /// A workflow of the job: its id, or id@VERSION to pin a version (else the latest
    /// when a job run starts). Repeat for each, in the order they run.
    #[arg(long = "workflow", value_name = "WORKFLOW_ID[@VERSION]", value_parser = step_ref)]
    workflows: Vec<Value>,
    /// A fixed input of the Nth workflow (from 1), given on every job run. Repeat for each.
    #[arg(long = "step-input", value_name = "N:NAME=VALUE", value_parser = step_input)]
    step_inputs: Vec<StepInput>,
    /// Every workflow run of the job runs signed in as this identity (`segue identities`).
    #[arg(long, value_name = "IDENTITY_ID")]
    identity: Option<String>,
    #[arg(long)]
    source_provider: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// The request body as JSON (e.g. a workflowExecutionOrder with fixed inputs);
    /// the flags given replace its fields.
    #[arg(long, value_name = "FILE.json")]
    file: Option<PathBuf>,
}

#[derive(Clone)]
pub struct StepInput {
    step: usize,
    name: String,
    value: String,
}

/// `WORKFLOW_ID`, `WORKFLOW_ID@VERSION` or `WORKFLOW_ID@latest`, as a `workflowExecutionOrder` entry.
fn step_ref(spelled: &str) -> Result<Value, String> {
    let (id, version) = match spelled.split_once('@') {
        None => (spelled, None),
        Some((id, "latest")) => (id, None),
        Some((id, v)) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => (id, Some(n)),
            _ => return Err(format!("'{v}' is not a version number (or latest)")),
        },
    };
    if id.is_empty() {
        return Err("a workflow id is missing".into());
    }
    Ok(match version {
        Some(n) => json!({"workflowId": id, "version": n}),
        None => json!({"workflowId": id}),
    })
}

fn step_input(spelled: &str) -> Result<StepInput, String> {
    let shape = || format!("'{spelled}' must look like N:NAME=VALUE, N the workflow's place from 1");
    let (step, pair) = spelled.split_once(':').ok_or_else(shape)?;
    let step = step.parse::<usize>().ok().filter(|&n| n >= 1).ok_or_else(shape)?;
    let (name, value) = pair.split_once('=').filter(|(name, _)| !name.is_empty()).ok_or_else(shape)?;
    Ok(StepInput { step, name: name.to_owned(), value: value.to_owned() })
}

impl JobFields {
    /// The request body: `--file`'s, with the fields the flags give set over it.
    fn body(self) -> Result<Map<String, Value>, Problem> {
        let mut body = match &self.file {
            Some(path) => read_object(path)?,
            None => Map::new(),
        };
        let given = [
            ("name", self.name),
            ("identityId", self.identity),
            ("sourceProvider", self.source_provider),
            ("description", self.description),
        ];
        for (key, value) in given {
            if let Some(value) = value {
                body.insert(key.to_owned(), Value::String(value));
            }
        }
        if !self.workflows.is_empty() {
            body.insert("workflowExecutionOrder".into(), Value::Array(self.workflows));
        }
        if self.step_inputs.is_empty() {
            return Ok(body);
        }
        let Some(Value::Array(order)) = body.get_mut("workflowExecutionOrder") else {
            return Err(Problem::Invalid(
                "--step-input needs --workflow (or a workflowExecutionOrder in --file)".into(),
            ));
        };
        let count = order.len();
        for s in self.step_inputs {
            let Some(entry) = order.get_mut(s.step - 1) else {
                return Err(Problem::Invalid(format!("--step-input {}: the job has {count} workflows", s.step)));
            };
            if let Value::String(id) = entry {
                *entry = json!({"workflowId": id});
            }
            let inputs = entry.as_object_mut().map(|e| e.entry("inputs").or_insert_with(|| json!({})));
            let Some(Value::Object(inputs)) = inputs else {
                return Err(Problem::Invalid(format!(
                    "--step-input {}: that workflow's entry has no inputs object",
                    s.step
                )));
            };
            inputs.insert(s.name, Value::String(s.value));
        }
        Ok(body)
    }
}

#[derive(Subcommand)]
pub enum JobRuns {
    /// Job runs, newest first.
    List {
        #[arg(long)]
        job_id: Option<String>,
        /// Only job runs with this status, in any case (e.g. failed).
        #[arg(long, value_enum, ignore_case = true)]
        status: Option<crate::client_cmd::RunStatus>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A job run with each of its workflow runs.
    Get { id: String },
    /// Cancel the running workflow run and skip the rest.
    Cancel { id: String },
    /// Follow a job run workflow by workflow until it ends.
    Watch { id: String },
}

#[derive(Subcommand)]
pub enum Schedules {
    /// Start job runs of a job at the times of a cron expression.
    Create {
        job_id: String,
        /// Five fields: minute, hour, day of month, month, day of week, e.g. "*/15 * * * *".
        #[arg(long)]
        cron: String,
        /// An IANA time zone, e.g. Europe/Berlin [default: UTC].
        #[arg(long)]
        timezone: Option<String>,
        /// An input of the job runs it starts; `file` inputs may be given as @path. Repeat for each.
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Option<PathBuf>,
        /// Create it without starting anything until `--enable`.
        #[arg(long)]
        disabled: bool,
        /// While the previous job run is going: skip the due time [default], or queue one anyway.
        #[arg(long, value_enum)]
        overlap: Option<Overlap>,
    },
    /// A job's schedules, newest first.
    List {
        job_id: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A schedule: its cron, time zone, inputs and next due time.
    Get {
        /// The schedule's id.
        id: String,
    },
    /// Change a schedule; `--input` or `--inputs` replaces all its inputs.
    Update {
        id: String,
        #[arg(long)]
        cron: Option<String>,
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
        #[arg(long, value_enum)]
        overlap: Option<Overlap>,
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Option<PathBuf>,
    },
    /// Delete a schedule; job runs it started stay.
    Delete {
        /// The schedule's id.
        id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Overlap {
    Skip,
    Queue,
}

impl Overlap {
    fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Queue => "queue",
        }
    }
}

/// What stops a command: the server's answer, or a mistake on the command line
/// found before asking (exit 2, like the server's 4xx).
enum Problem {
    Client(ClientError),
    Invalid(String),
}

impl From<ClientError> for Problem {
    fn from(e: ClientError) -> Problem {
        Problem::Client(e)
    }
}

fn done(result: Result<ExitCode, Problem>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(Problem::Client(e)) => finish(Err(e)),
        Err(Problem::Invalid(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

pub async fn jobs(command: Jobs, out: Output) -> ExitCode {
    done(jobs_inner(command, &out).await)
}

async fn jobs_inner(command: Jobs, out: &Output) -> Result<ExitCode, Problem> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Jobs::Create { fields } => {
            let body = fields.body()?;
            if !body.contains_key("name") || !body.contains_key("workflowExecutionOrder") {
                return Err(Problem::Invalid("a job needs --name and --workflow (or --file)".into()));
            }
            let (_, job) = client.call(Method::POST, "/v1/jobs", Some(&Value::Object(body))).await?;
            print(&job, format, job_summary);
        }
        Jobs::List { page } => {
            let page = client.get(&format!("/v1/jobs{}", page.query())).await?;
            print(&page, format, |p| table(p, JOB_COLUMNS));
        }
        Jobs::Get { id } => print(&client.get(&job_path(&id)).await?, format, job_summary),
        Jobs::Update { id, fields, clear_identity } => {
            let mut body = fields.body()?;
            if clear_identity {
                body.insert("identityId".into(), Value::Null);
            }
            let (_, job) = client.call(Method::PATCH, &job_path(&id), Some(&Value::Object(body))).await?;
            print(&job, format, job_summary);
        }
        Jobs::Delete { id } => {
            client.call(Method::DELETE, &job_path(&id), None).await?;
            eprintln!("deleted {id}");
        }
        Jobs::Run { job_id, inputs, inputs_file, test, identity, watch } => {
            let inputs = inputs_for(&client, JobOf::Job(&job_id), inputs_file.as_deref(), &inputs).await?;
            let body = present_fields([
                ("inputs", Some(Value::Object(inputs))),
                ("test", Some(Value::Bool(test))),
                ("identityId", identity.map(Value::from)),
            ]);
            let path = format!("{}/runs", job_path(&job_id));
            let (_, job_run) = client.call(Method::POST, &path, Some(&body)).await?;
            if watch {
                return Ok(follow(&client, job_run["id"].as_str().unwrap_or_default(), format).await?);
            }
            print(&job_run, format, job_run_line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn job_runs(command: JobRuns, out: Output) -> ExitCode {
    done(job_runs_inner(command, &out).await)
}

async fn job_runs_inner(command: JobRuns, out: &Output) -> Result<ExitCode, Problem> {
    let client = out.client()?;
    let format = out.format();
    match command {
        JobRuns::List { job_id, status, page } => {
            let q = query(&[
                ("jobId", job_id),
                ("status", status.map(crate::client_cmd::RunStatus::api)),
                ("limit", page.limit.map(|l| l.to_string())),
                ("cursor", page.cursor),
            ]);
            let page = client.get(&format!("/v1/job-runs{q}")).await?;
            print(&page, format, |p| table(p, JOB_RUN_COLUMNS));
        }
        JobRuns::Get { id } => print(&client.get(&job_run_path(&id)).await?, format, job_run_summary),
        JobRuns::Cancel { id } => {
            let path = format!("{}/cancel", job_run_path(&id));
            print(&client.call(Method::POST, &path, None).await?.1, format, job_run_summary);
        }
        JobRuns::Watch { id } => return Ok(follow(&client, &id, format).await?),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn schedules(command: Schedules, out: Output) -> ExitCode {
    done(schedules_inner(command, &out).await)
}

async fn schedules_inner(command: Schedules, out: &Output) -> Result<ExitCode, Problem> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Schedules::Create { job_id, cron, timezone, inputs, inputs_file, disabled, overlap } => {
            let inputs = if inputs.is_empty() && inputs_file.is_none() {
                None
            } else {
                Some(Value::Object(inputs_for(&client, JobOf::Job(&job_id), inputs_file.as_deref(), &inputs).await?))
            };
            let body = present_fields([
                ("cron", Some(Value::String(cron))),
                ("timezone", timezone.map(Value::String)),
                ("inputs", inputs),
                ("enabled", disabled.then_some(Value::Bool(false))),
                ("overlap", overlap.map(|o| Value::from(o.as_str()))),
            ]);
            let path = format!("{}/schedules", job_path(&job_id));
            print(&client.call(Method::POST, &path, Some(&body)).await?.1, format, schedule_line);
        }
        Schedules::List { job_id, page } => {
            let page = client.get(&format!("{}/schedules{}", job_path(&job_id), page.query())).await?;
            print(&page, format, |p| table(p, SCHEDULE_COLUMNS));
        }
        Schedules::Get { id } => print(&client.get(&schedule_path(&id)).await?, format, schedule_line),
        Schedules::Update { id, cron, timezone, enable, disable, overlap, inputs, inputs_file } => {
            let inputs = if inputs.is_empty() && inputs_file.is_none() {
                None
            } else {
                Some(Value::Object(inputs_for(&client, JobOf::Schedule(&id), inputs_file.as_deref(), &inputs).await?))
            };
            let body = present_fields([
                ("cron", cron.map(Value::String)),
                ("timezone", timezone.map(Value::String)),
                ("enabled", (enable || disable).then_some(Value::Bool(enable))),
                ("overlap", overlap.map(|o| Value::from(o.as_str()))),
                ("inputs", inputs),
            ]);
            print(&client.call(Method::PATCH, &schedule_path(&id), Some(&body)).await?.1, format, schedule_line);
        }
        Schedules::Delete { id } => {
            client.call(Method::DELETE, &schedule_path(&id), None).await?;
            eprintln!("deleted {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each workflow run's status to stderr as it changes, then the ended job
/// run on stdout. Exit 0 when it completed, 1 otherwise (like `runs watch`).
async fn follow(client: &Client, id: &str, format: Format) -> Result<ExitCode, ClientError> {
    let mut shown: Vec<String> = Vec::new();
    let mut last: Option<Value> = None;
    client
        .events(&format!("{}/events", job_run_path(id)), |name, data| {
            if matches!(name, "job_run" | "end") {
                progress(&mut shown, data);
            }
            if name == "end" {
                last = Some(data.clone());
            }
        })
        .await?;
    let Some(job_run) = last else { return Err(ClientError("the event stream ended before the job run did".into())) };
    print(&job_run, format, job_run_summary);
    if job_run["status"] == "COMPLETED" {
        return Ok(ExitCode::SUCCESS);
    }
    let error = &job_run["error"];
    eprintln!(
        "error: job run {id} {}: {} ({})",
        job_run["status"].as_str().unwrap_or(""),
        error["message"].as_str().unwrap_or(""),
        error["code"].as_str().unwrap_or("")
    );
    Ok(ExitCode::from(EXIT_RUN_FAILED))
}

/// One stderr line for each workflow run whose run or status changed since `shown`.
fn progress(shown: &mut Vec<String>, job_run: &Value) {
    let steps = job_run["workflowRuns"].as_array().map(Vec::as_slice).unwrap_or_default();
    shown.resize(steps.len(), String::new());
    for (i, step) in steps.iter().enumerate() {
        let status = step["status"].as_str().unwrap_or("");
        // Not queued yet: nothing to tell.
        if step["runId"].is_null() && status == "PENDING" {
            continue;
        }
        let line = step_line(i, steps.len(), step);
        if shown[i] != line {
            eprintln!("{line}");
            if status == "AWAITING_USER_INPUT" {
                let run = step["runId"].as_str().unwrap_or("");
                eprintln!("      waiting for input: segue runs get {run}, then segue runs input {run} --input NAME");
            }
            shown[i] = line;
        }
    }
}

/// `inputs_for`'s job: named, or the one a schedule belongs to.
enum JobOf<'a> {
    Job(&'a str),
    Schedule(&'a str),
}

/// `--inputs FILE.json` then each `--input NAME=VALUE`. A value `@path` of an
/// input that is a file in one of the job's workflows is that file's content.
async fn inputs_for(
    client: &Client,
    job: JobOf<'_>,
    inputs_file: Option<&Path>,
    pairs: &[String],
) -> Result<Map<String, Value>, Problem> {
    let given = crate::inputs::collect_named(&[], inputs_file, pairs).map_err(Problem::Invalid)?;
    if !given.values().any(|v| v.as_str().is_some_and(|s| s.starts_with('@'))) {
        return Ok(given);
    }
    let job_id = match job {
        JobOf::Job(id) => id.to_owned(),
        JobOf::Schedule(id) => client.get(&schedule_path(id)).await?["jobId"].as_str().unwrap_or_default().to_owned(),
    };
    let job = client.get(&job_path(&job_id)).await?;
    let mut files: Vec<String> = Vec::new();
    for step in job["workflowExecutionOrder"].as_array().into_iter().flatten() {
        let version = match &step["version"] {
            Value::Number(n) => n.to_string(),
            _ => "latest".to_owned(),
        };
        let workflow_id = encode(step["workflowId"].as_str().unwrap_or_default());
        let found = client.get(&format!("/v1/workflows/{workflow_id}/versions/{version}")).await?;
        if let Some(w) = workflow::check_value(&found["definition"]).workflow {
            let file_inputs = w.input_parameters.iter().filter(|p| p.ty == workflow::ParamType::File);
            files.extend(file_inputs.map(|p| p.name.clone()));
        }
    }
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    crate::inputs::collect_named(&files, inputs_file, pairs).map_err(Problem::Invalid)
}

fn read_object(path: &Path) -> Result<Map<String, Value>, Problem> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Problem::Invalid(format!("cannot read {}: {e}", path.display())))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(body)) => Ok(body),
        Ok(_) => Err(Problem::Invalid(format!("{} must hold a JSON object", path.display()))),
        Err(e) => Err(Problem::Invalid(format!("{} is not valid JSON: {e}", path.display()))),
    }
}

fn job_path(id: &str) -> String {
    format!("/v1/jobs/{}", encode(id))
}

fn job_run_path(id: &str) -> String {
    format!("/v1/job-runs/{}", encode(id))
}

fn schedule_path(id: &str) -> String {
    format!("/v1/schedules/{}", encode(id))
}

fn or_dash(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

const JOB_COLUMNS: &[Column] = &[
    ("ID", |j| cell(&j["id"])),
    ("NAME", |j| cell(&j["name"])),
    ("WORKFLOWS", |j| j["workflowExecutionOrder"].as_array().map_or(0, Vec::len).to_string()),
    ("IDENTITY", |j| cell(&j["identityId"])),
    ("SOURCE PROVIDER", |j| cell(&j["sourceProvider"])),
];

const JOB_RUN_COLUMNS: &[Column] = &[
    ("ID", |r| cell(&r["id"])),
    ("STATUS", |r| cell(&r["status"])),
    ("JOB", |r| cell(&r["jobId"])),
    ("COMPLETED", |r| {
        let steps = r["workflowRuns"].as_array().map(Vec::as_slice).unwrap_or_default();
        format!("{}/{}", steps.iter().filter(|s| s["status"] == "COMPLETED").count(), steps.len())
    }),
    ("TRIGGER", |r| cell(&r["trigger"])),
    ("CREATED", |r| cell(&r["createdAt"])),
    ("ERROR", |r| cell(&r["error"]["code"])),
];

const SCHEDULE_COLUMNS: &[Column] = &[
    ("ID", |s| cell(&s["id"])),
    ("JOB", |s| cell(&s["jobId"])),
    ("CRON", |s| cell(&s["cron"])),
    ("TIMEZONE", |s| cell(&s["timezone"])),
    ("ENABLED", |s| cell(&s["enabled"])),
    ("OVERLAP", |s| cell(&s["overlap"])),
    ("NEXT RUN", |s| cell(&s["nextRunAt"])),
    ("LAST RUN", |s| cell(&s["lastRunAt"])),
];

fn job_line(j: &Value) -> String {
    let count = j["workflowExecutionOrder"].as_array().map_or(0, Vec::len);
    format!(
        "{}  {count} workflow{}  identity {}  {}  {}",
        j["id"].as_str().unwrap_or(""),
        if count == 1 { "" } else { "s" },
        or_dash(&j["identityId"]),
        or_dash(&j["sourceProvider"]),
        j["name"].as_str().unwrap_or("")
    )
}

/// The job's line, then its workflows in order with their fixed inputs.
fn job_summary(j: &Value) -> String {
    let mut lines = vec![job_line(j)];
    for (i, step) in j["workflowExecutionOrder"].as_array().into_iter().flatten().enumerate() {
        let version = match &step["version"] {
            Value::Number(n) => format!("v{n}"),
            _ => "latest".to_owned(),
        };
        let inputs = match &step["inputs"] {
            Value::Object(inputs) if !inputs.is_empty() => format!("  {}", step["inputs"]),
            _ => String::new(),
        };
        lines.push(format!("  {}. {}  {version}{inputs}", i + 1, step["workflowId"].as_str().unwrap_or("")));
    }
    lines.join("\n")
}

fn job_run_line(r: &Value) -> String {
    let steps = r["workflowRuns"].as_array().map(Vec::as_slice).unwrap_or_default();
    let completed = steps.iter().filter(|s| s["status"] == "COMPLETED").count();
    let error = r["error"]["code"].as_str().map(|c| format!("  {c}")).unwrap_or_default();
    format!(
        "{}  {}  {}  {completed}/{} workflows  {}  {}{error}",
        r["id"].as_str().unwrap_or(""),
        r["status"].as_str().unwrap_or(""),
        r["jobId"].as_str().unwrap_or(""),
        steps.len(),
        r["trigger"].as_str().unwrap_or(""),
        r["createdAt"].as_str().unwrap_or("")
    )
}

/// `  2/3 wf_… run_… IN_PROGRESS`: a workflow run of a job run.
fn step_line(i: usize, count: usize, step: &Value) -> String {
    format!(
        "  {}/{count} {} {} {}",
        i + 1,
        step["workflowId"].as_str().unwrap_or(""),
        or_dash(&step["runId"]),
        step["status"].as_str().unwrap_or("")
    )
}

/// The job run's line, then each of its workflow runs, then its error.
fn job_run_summary(r: &Value) -> String {
    let steps = r["workflowRuns"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut lines = vec![job_run_line(r)];
    lines.extend(steps.iter().enumerate().map(|(i, s)| step_line(i, steps.len(), s)));
    if let Some(message) = r["error"]["message"].as_str() {
        lines.push(format!("  {message}"));
    }
    lines.join("\n")
}

fn schedule_line(s: &Value) -> String {
    format!(
        "{}  {}  \"{}\" {}  {}  overlap {}  next {}  last {}",
        s["id"].as_str().unwrap_or(""),
        s["jobId"].as_str().unwrap_or(""),
        s["cron"].as_str().unwrap_or(""),
        s["timezone"].as_str().unwrap_or(""),
        if s["enabled"] == true { "enabled" } else { "disabled" },
        s["overlap"].as_str().unwrap_or(""),
        or_dash(&s["nextRunAt"]),
        or_dash(&s["lastRunAt"])
    )
}
