//! From a job's definition to its runs: checking a `workflowExecutionOrder` when a
//! job is written, and planning a job run (every workflow's version resolved, its
//! inputs chosen and checked, sealed) when one is started by the API or a schedule.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::seal::Sealer;
use store::{JobSteps, NewJobRun, NewRun, Tenant, Trigger, VersionRef, WorkflowType};
use workflow::ParamType;

use crate::error::ApiError;
use crate::routes::runs::redact_inputs;

const FIELD: &str = "workflowExecutionOrder";

/// One workflow of a job, as `JobSteps::sealed` keeps it (every input in clear).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    workflow_id: String,
    /// A version number; `None`: the latest when a job run starts.
    version: Option<i64>,
    inputs: Map<String, Value>,
}

/// Reads and checks a `workflowExecutionOrder`: every workflow a live one of the
/// organization, every pinned version existing, every fixed input declared and
/// valid. Returns it shown (secret fixed inputs masked) and sealed.
pub(crate) async fn check_steps(tenant: &Tenant<'_>, sealer: &Sealer, entries: &[Value]) -> Result<JobSteps, ApiError> {
    if entries.is_empty() {
        return Err(ApiError::invalid_field(FIELD, "a job runs at least one workflow"));
    }
    if entries.len() > store::MAX_JOB_STEPS {
        let message = format!("a job runs at most {} workflows", store::MAX_JOB_STEPS);
        return Err(ApiError::invalid_field(FIELD, message));
    }
    let mut steps = Vec::with_capacity(entries.len());
    let mut shown = Vec::with_capacity(entries.len());
    let mut declared = Declared::default();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{FIELD}[{i}]");
        let step = read_entry(entry, &at)?;
        let workflow = match tenant.get_live_workflow(&step.workflow_id).await {
            Ok(w) => w,
            Err(store::Error::NotFound) => {
                let message = format!("{at}: no workflow '{}' in this organization", step.workflow_id);
                return Err(ApiError::invalid_field(&at, message));
            }
            Err(e) => return Err(e.into()),
        };
        let which = step.version.map_or(VersionRef::Latest, VersionRef::Number);
        let version = match tenant.get_version(&workflow.id, which).await {
            Ok(v) => v,
            Err(store::Error::NotFound) => {
                let message = match step.version {
                    Some(n) => format!("{at}: workflow '{}' has no version {n}", workflow.name),
                    None => format!("{at}: workflow '{}' has no published version", workflow.name),
                };
                return Err(ApiError::invalid_field(&at, message));
            }
            Err(e) => return Err(e.into()),
        };
        let Some(definition) = workflow::check(&version.definition).workflow else {
            let message = format!("{at}: workflow '{}' is not a valid workflow", workflow.name);
            return Err(ApiError::invalid_field(&at, message));
        };
        declared.add(&definition, &workflow.name).map_err(|message| ApiError::invalid_field(&at, message))?;
        for (name, value) in &step.inputs {
            let Some(parameter) = definition.input_parameters.iter().find(|p| &p.name == name) else {
                let message = format!("{at}: input '{name}' is not declared by workflow '{}'", workflow.name);
                return Err(ApiError::invalid_field(&at, message));
            };
            if let Err(e) = workflow::values::check(parameter, Some(value), workflow::values::Mode::Convert) {
                let message = format!("{at}: input '{name}' ({}) {}", parameter.ty.as_str(), e.reason);
                return Err(ApiError::invalid_field(&at, message));
            }
        }
        shown.push(json!({
            "workflowId": step.workflow_id,
            "version": step.version.map_or(json!("latest"), Value::from),
            "inputs": redact_inputs(&definition, step.inputs.clone()),
        }));
        steps.push(step);
    }
    let sealed = sealer.seal(&serde_json::to_string(&steps).expect("steps are JSON"));
    Ok(JobSteps { shown: Value::Array(shown), sealed })
}

/// One entry: a workflow id, or `{"workflowId", "version"?, "inputs"?}`.
fn read_entry(entry: &Value, at: &str) -> Result<Step, ApiError> {
    let bad = |message: String| Err(ApiError::invalid_field(at, format!("{at}: {message}")));
    let object = match entry {
        Value::String(id) => return Ok(Step { workflow_id: id.clone(), version: None, inputs: Map::new() }),
        Value::Object(o) => o,
        _ => return bad("must be a workflow id or {\"workflowId\", \"version\", \"inputs\"}".into()),
    };
    if let Some(key) = object.keys().find(|k| !["workflowId", "version", "inputs"].contains(&k.as_str())) {
        return bad(format!("unknown field '{key}' (expected workflowId, version, inputs)"));
    }
    let Some(workflow_id) = object.get("workflowId").and_then(Value::as_str) else {
        return bad("workflowId must be a workflow id".into());
    };
    let version = match object.get("version") {
        None => None,
        Some(Value::String(s)) if s == "latest" => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 1) => n.as_i64(),
        Some(other) => return bad(format!("version must be a version number or \"latest\", got {other}")),
    };
    let inputs = match object.get("inputs") {
        None => Map::new(),
        Some(Value::Object(inputs)) => inputs.clone(),
        Some(other) => return bad(format!("inputs must be an object, got {other}")),
    };
    Ok(Step { workflow_id: workflow_id.to_owned(), version, inputs })
}

/// Which workflow of the job declared each input name, and whether as a secret. A
/// name that is a secret in one workflow and not in another would be offered to the
/// second in clear (shown in its run, unmasked in its logs): such jobs are refused.
#[derive(Default)]
struct Declared(std::collections::HashMap<String, (bool, String)>);

impl Declared {
    fn add(&mut self, definition: &workflow::Workflow, workflow: &str) -> Result<(), String> {
        for p in &definition.input_parameters {
            let secret = p.ty == ParamType::Secret;
            let (was_secret, by) = self.0.entry(p.name.clone()).or_insert((secret, workflow.to_owned())).clone();
            if was_secret != secret {
                return Err(format!(
                    "input '{}' is a secret in workflow '{}' and not in workflow '{}': the job would hand a secret to a \
                     workflow that shows it; rename one of them",
                    p.name,
                    if was_secret { &by } else { workflow },
                    if was_secret { workflow } else { &by },
                ));
            }
        }
        Ok(())
    }

    fn is_secret(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|(secret, _)| *secret)
    }
}

/// What a job run is asked for, besides its job.
pub(crate) struct JobRunAsk<'a> {
    pub inputs: &'a Map<String, Value>,
    pub test: bool,
    pub identity_id: Option<String>,
    pub trigger: Trigger,
    pub schedule_id: Option<String>,
}

/// Plans a job run of `job` from its sealed steps: each workflow's version is
/// fixed now (later publishes do not change it), and its inputs are the job run's
/// that it declares plus the step's fixed ones, checked like a run's. A LOGIN
/// workflow run as an identity takes its credentials from the identity, and only
/// its fixed inputs. A 422 names the workflow and the input at fault.
pub(crate) async fn plan_job_run(
    tenant: &Tenant<'_>,
    sealer: &Sealer,
    job: &store::Job,
    sealed_steps: &str,
    ask: JobRunAsk<'_>,
) -> Result<NewJobRun, ApiError> {
    let steps: Vec<Step> = sealer
        .open(sealed_steps)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| ApiError::internal("job steps", "the job's steps cannot be opened with this key"))?;
    let mut runs = Vec::with_capacity(steps.len());
    let mut declared = Declared::default();
    let mut problems: Vec<Value> = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        let workflow = match tenant.get_live_workflow(&step.workflow_id).await {
            Ok(w) => w,
            Err(store::Error::NotFound) => {
                let message = format!("workflow {} (step {}) was deleted", step.workflow_id, i + 1);
                return Err(ApiError::invalid_field(FIELD, message));
            }
            Err(e) => return Err(e.into()),
        };
        let which = step.version.map_or(VersionRef::Latest, VersionRef::Number);
        let version = tenant.get_version(&workflow.id, which).await.map_err(|e| match e {
            store::Error::NotFound => {
                ApiError::invalid_field(FIELD, format!("workflow '{}' has no such version to run", workflow.name))
            }
            e => e.into(),
        })?;
        let Some(definition) = workflow::check(&version.definition).workflow else {
            let message = format!("workflow '{}': the version to run is not a valid workflow", workflow.name);
            return Err(ApiError::unprocessable("INVALID_WORKFLOW", message));
        };
        let logs_in = workflow.ty == WorkflowType::Login && ask.identity_id.is_some();
        let mut given = Map::new();
        if !logs_in {
            declared.add(&definition, &workflow.name).map_err(|message| ApiError::invalid_field(FIELD, message))?;
            for p in &definition.input_parameters {
                if let Some(v) = ask.inputs.get(&p.name) {
                    given.insert(p.name.clone(), v.clone());
                }
            }
        }
        given.extend(step.inputs);
        let inputs = if logs_in {
            // The identity's login: its worker fills and checks the credentials.
            given
        } else {
            match engine::inputs::prepare(&definition, &given) {
                Ok(inputs) => inputs,
                Err(errors) => {
                    for e in errors {
                        problems.push(json!({
                            "workflowId": workflow.id, "workflowName": workflow.name, "step": i + 1,
                            "name": e.name, "message": format!("workflow '{}' ({}): {}", workflow.name, workflow.id, e.message),
                        }));
                    }
                    continue;
                }
            }
        };
        runs.push(NewRun {
            workflow_id: workflow.id,
            workflow_version: version.version,
            sealed_inputs: sealer.seal(&Value::Object(inputs.clone()).to_string()),
            inputs: Value::Object(redact_inputs(&definition, inputs.clone())),
            definition: version.definition,
            test: ask.test,
            max_attempts: 1,
            limits: store::TimeLimits::default(),
            artifacts: Some(engine::ArtifactOptions::default().to_json().to_string()),
            identity_id: ask.identity_id.clone(),
            deferred_inputs: Vec::new(),
            input_timeout_ms: None,
        });
    }
    for name in ask.inputs.keys().filter(|n| !declared.0.contains_key(*n)) {
        problems.push(
            json!({"name": name, "message": format!("input '{name}' is not declared by any workflow of the job")}),
        );
    }
    if let Some(first) = problems.first() {
        let message = first["message"].as_str().unwrap_or_default().to_owned();
        return Err(ApiError::unprocessable("INVALID_INPUTS", message).with_details(json!({ "inputs": problems })));
    }
    let mut shown = ask.inputs.clone();
    for (name, value) in shown.iter_mut() {
        if declared.is_secret(name) {
            *value = Value::from(engine::MASK);
        }
    }
    Ok(NewJobRun {
        job_id: job.id.clone(),
        test: ask.test,
        trigger: ask.trigger,
        schedule_id: ask.schedule_id,
        identity_id: ask.identity_id,
        inputs: Value::Object(shown),
        steps: runs,
        failure: None,
    })
}
