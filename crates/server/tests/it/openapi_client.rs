//! `docs/openapi.json` with a real generator: the document validates, `openapi-python-client`
//! turns it into a client without one warning, and that client drives a real server:
//! it creates a workflow, starts a run with `version: "latest"`, reads it, lists runs by
//! status and reads a 404 and a 401 as `ErrorBody`. The tools are pinned in
//! `scripts/openapi-client-requirements.txt` and installed by `scripts/setup.sh`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use tokio::process::Command;

use crate::support::{TestServer, logic};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The tools' virtual environment as `scripts/setup.sh` installs it. Missing, or holding
/// other versions than the pins, the test fails (never skips) naming the command to run.
fn tools() -> PathBuf {
    let venv = root().join("target/openapi-client");
    let pinned = std::fs::read(root().join("scripts/openapi-client-requirements.txt")).expect("the pins");
    let installed = std::fs::read(venv.join(".segue-requirements")).ok();
    assert!(
        installed.as_deref() == Some(pinned.as_slice()),
        "the OpenAPI client generator is not installed in {} (or not the pinned versions): run scripts/setup.sh",
        venv.display()
    );
    venv.join("bin")
}

/// Runs a command to its end (without blocking the server sharing this runtime); its stdout.
async fn run(what: &str, command: &mut Command) -> String {
    let out = command.kill_on_drop(true).output().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// What the generated client does; the last line it prints is the run's id.
const DRIVE: &str = r#"
import datetime, json, os, sys

sys.path.insert(0, sys.argv[1])
from segue_client import AuthenticatedClient, Client
from segue_client.api.runs import create_run, get_run, list_runs
from segue_client.api.workflows import create_workflow
from segue_client.models import (
    CreateRun, CreateRunInputs, CreateWorkflow, CreateWorkflowDefinition, ErrorBody, Run, RunPage,
    RunStatus, VersionName, Workflow, WorkflowType,
)

base, key = os.environ["SEGUE_URL"], os.environ["SEGUE_KEY"]
client = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True, timeout=120)

definition = CreateWorkflowDefinition.from_dict(json.loads(os.environ["SEGUE_WORKFLOW"]))
workflow = create_workflow.sync(client=client, body=CreateWorkflow(name="from a generated client", definition=definition))
assert isinstance(workflow, Workflow), workflow
assert workflow.type_ is WorkflowType.USER_DEFINED and workflow.latest_version == 1, workflow

body = CreateRun(version=VersionName.LATEST, inputs=CreateRunInputs.from_dict({"who": "Ada"}), wait_seconds=60)
started = create_run.sync_detailed(workflow.id, client=client, body=body)
assert started.status_code in (200, 201), started
assert isinstance(started.parsed, Run), started.parsed

run = get_run.sync(started.parsed.id, client=client)
assert isinstance(run, Run), run
assert run.status is RunStatus.COMPLETED, run
assert run.outputs.to_dict() == {"greeting": "Hello, Ada"}, run.outputs
assert isinstance(run.created_at, datetime.datetime) and isinstance(run.completed_at, datetime.datetime), run
assert run.workflow_version == 1, run

completed = list_runs.sync(client=client, status=RunStatus.COMPLETED, workflow_id=workflow.id, limit=10)
assert isinstance(completed, RunPage), completed
assert [r.id for r in completed.data] == [run.id] and completed.next_cursor is None, completed
failed = list_runs.sync(client=client, status=RunStatus.FAILED, workflow_id=workflow.id)
assert isinstance(failed, RunPage) and failed.data == [], failed

missing = get_run.sync_detailed("run_does_not_exist", client=client)
assert missing.status_code == 404, missing
assert isinstance(missing.parsed, ErrorBody) and missing.parsed.error.code == "NOT_FOUND", missing.parsed

anonymous = Client(base_url=base, raise_on_unexpected_status=True)
refused = get_run.sync_detailed(run.id, client=anonymous)
assert refused.status_code == 401, refused
assert isinstance(refused.parsed, ErrorBody) and refused.parsed.error.code == "UNAUTHORIZED", refused.parsed

print(run.id)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_document_drives_the_api() {
    let bin = tools();
    let document = root().join("docs/openapi.json");
    run("openapi-spec-validator", Command::new(bin.join("openapi-spec-validator")).arg(&document)).await;

    let dir = tempfile::tempdir().expect("temp dir");
    // The generator formats its output with ruff, which it finds on PATH.
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    run(
        "openapi-python-client generate",
        Command::new(bin.join("openapi-python-client"))
            .args(["generate", "--meta", "none", "--fail-on-warning", "--path"])
            .arg(&document)
            .arg("--output-path")
            .arg(dir.path().join("segue_client"))
            .env("PATH", &path)
            .current_dir(dir.path()),
    )
    .await;
    let script = dir.path().join("drive.py");
    std::fs::write(&script, DRIVE).expect("write the script");

    let server = TestServer::start(1).await;
    let who = json!([{"name": "who", "type": "string", "required": true, "description": "whom to greet"}]);
    let greeting = json!([{"name": "greeting", "type": "string", "required": true, "description": "the greeting"}]);
    let definition = logic("async (page, parameters) => ({ greeting: 'Hello, ' + parameters.who })", who, greeting);
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        run(
            "the generated client",
            Command::new(bin.join("python"))
                .arg(&script)
                .arg(dir.path())
                .env("SEGUE_URL", &server.base)
                .env("SEGUE_KEY", &server.admin_key)
                .env("SEGUE_WORKFLOW", definition.to_string()),
        ),
    )
    .await
    .expect("the generated client finished in time");

    // The run the client reported is the one the API has, as the client read it.
    let id = out.lines().last().expect("the run's id").trim();
    let answer = server.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(answer.body["status"], "COMPLETED", "{}", answer.body);
    assert_eq!(answer.body["outputs"], json!({"greeting": "Hello, Ada"}));
}
