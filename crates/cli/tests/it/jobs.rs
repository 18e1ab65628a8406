//! `segue jobs`, `segue job-runs` and `segue schedules` against a real `segue serve`:
//! job runs started and watched to their end, a failing workflow skipping the rest.

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::{Server, segue_client_as};
use crate::support::{demo_base, runtime, text};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("jobs::a_job_is_created_run_and_watched_from_the_cli", created_run_and_watched),
        Trial::test("jobs::a_failing_workflow_skips_the_rest_and_fails_the_watch", failing_workflow_skips_the_rest),
        Trial::test("jobs::schedules_are_created_listed_and_changed_from_the_cli", schedules_from_the_cli),
    ]
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

/// One logic segment that counts a visit of `tag` on the demo site.
fn visit_workflow(name: &str) -> Value {
    json!({"name": name, "startSegmentName": "visit",
        "inputParameters": [{"name": "tag", "type": "string"}], "outputParameters": [{"name": "count", "type": "number"}],
        "segments": [{"name": "visit", "type": "logic", "prompt": null, "inputParameters": [{"name": "tag", "type": "string"}],
            "outputParameters": [{"name": "count", "type": "number"}],
            "deterministic": format!("async (page, parameters) => {{ const r = await page.request.get('{}/api/visit/' + parameters.tag); return {{ count: (await r.json()).count }}; }}", demo_base()),
            "next": null, "router": null}]})
}

fn throwing_workflow() -> Value {
    json!({"name": "boom", "startSegmentName": "boom", "outputParameters": [],
        "segments": [{"name": "boom", "type": "logic", "prompt": null, "inputParameters": [], "outputParameters": [],
            "deterministic": "async () => { throw new Error('boom on purpose'); }", "next": null, "router": null}]})
}

fn visits() -> Result<Value, Failed> {
    Ok(runtime().block_on(async { reqwest::get(format!("{}/api/visits", demo_base())).await?.json().await })?)
}

/// `segue` as a client of `server`, with its admin key.
fn cli<'a>(server: &'a Server) -> impl Fn(&[&str]) -> std::process::Output + 'a {
    move |args| segue_client_as(server, &server.key, args)
}

fn json_of(out: &std::process::Output) -> Result<Value, Failed> {
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}{}", text(&out.stdout), text(&out.stderr)).into())
}

fn created_run_and_watched() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "1"])?;
    let cli = cli(&server);
    let first = server.create_workflow(visit_workflow("first"))?;
    let second = server.create_workflow(visit_workflow("second"))?;
    let tag = format!("job{}", std::process::id());

    // The second workflow pinned to version 1, with its `tag` fixed.
    let pinned = format!("{second}@1");
    let fixed = format!("2:tag={tag}-fixed");
    let created = cli(&[
        "jobs",
        "create",
        "--name",
        "pair",
        "--workflow",
        &first,
        "--workflow",
        &pinned,
        "--step-input",
        &fixed,
        "--description",
        "two visits",
        "--json",
    ]);
    check(created.status.success(), text(&created.stderr))?;
    let job = json_of(&created)?;
    let job_id = job["id"].as_str().ok_or("a job id")?.to_owned();
    let order = &job["workflowExecutionOrder"];
    check(
        order[0]["workflowId"] == first.as_str()
            && order[0]["version"] == "latest"
            && order[1]["workflowId"] == second.as_str()
            && order[1]["version"] == 1
            && order[1]["inputs"]["tag"] == format!("{tag}-fixed"),
        format!("the order as given: {job}"),
    )?;

    let shown = text(&cli(&["jobs", "get", &job_id]).stdout);
    check(shown.contains("2 workflows") && shown.contains(&format!("2. {second}  v1")), shown.clone())?;
    let listed = text(&cli(&["jobs", "list"]).stdout);
    check(listed.contains(&job_id) && listed.contains("pair"), listed.clone())?;

    // A required input no source gives: refused before anything runs.
    let missing = cli(&["jobs", "run", &job_id]);
    check(missing.status.code() == Some(2) && text(&missing.stderr).contains("tag"), text(&missing.stderr))?;

    let input = format!("tag={tag}-run");
    let watched = cli(&["jobs", "run", &job_id, "--input", &input, "--watch", "--json"]);
    let progress = text(&watched.stderr);
    check(watched.status.success(), format!("watch: {progress}"))?;
    let job_run = json_of(&watched)?;
    let runs = job_run["workflowRuns"].as_array().ok_or("workflow runs")?;
    check(
        job_run["status"] == "COMPLETED" && runs.len() == 2 && runs.iter().all(|r| r["status"] == "COMPLETED"),
        format!("completed with two workflow runs: {job_run}"),
    )?;
    check(
        progress.contains(&format!("1/2 {first} ")) && progress.contains(&format!("2/2 {second} ")),
        format!("each workflow run's progress on stderr: {progress}"),
    )?;
    let seen = visits()?;
    check(
        seen[format!("{tag}-run")] == 1 && seen[format!("{tag}-fixed")] == 1,
        format!("the run's input went to the first, the fixed one to the second: {seen}"),
    )?;

    let id = job_run["id"].as_str().ok_or("a job run id")?;
    let listed = text(&cli(&["job-runs", "list", "--job-id", &job_id]).stdout);
    check(
        listed.lines().count() == 2
            && listed.lines().nth(1).is_some_and(|l| l.starts_with(id))
            && listed.contains("COMPLETED  "),
        format!("the job run listed: {listed}"),
    )?;
    let got = text(&cli(&["job-runs", "get", id]).stdout);
    check(got.contains(&format!("2/2 {second} run_")), got.clone())?;
    let none = text(&cli(&["job-runs", "list", "--job-id", &job_id, "--status", "FAILED"]).stdout);
    check(none.trim().is_empty(), format!("no failed job runs: {none}"))?;

    // Not waiting: the job run is printed as it starts.
    let started = cli(&["jobs", "run", &job_id, "--input", &input]);
    check(started.status.success() && text(&started.stdout).contains(&job_id), text(&started.stderr))?;

    let renamed = cli(&["jobs", "update", &job_id, "--name", "renamed", "--json"]);
    check(json_of(&renamed)?["name"] == "renamed", text(&renamed.stderr))?;
    let deleted = cli(&["jobs", "delete", &job_id]);
    check(deleted.status.success(), text(&deleted.stderr))?;
    let gone = cli(&["jobs", "get", &job_id]);
    check(gone.status.code() == Some(2), format!("a deleted job is not found: {}", text(&gone.stderr)))?;
    let kept = json_of(&cli(&["job-runs", "get", id, "--json"]))?;
    check(kept["status"] == "COMPLETED", format!("its job runs stay readable: {kept}"))
}

fn failing_workflow_skips_the_rest() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "1"])?;
    let cli = cli(&server);
    let visit = server.create_workflow(visit_workflow("visit"))?;
    let boom = server.create_workflow(throwing_workflow())?;
    let after = server.create_workflow(visit_workflow("after"))?;
    let created =
        cli(&["jobs", "create", "--name", "failing", "--workflow", &visit, "--workflow", &boom, "--workflow", &after]);
    check(created.status.success(), text(&created.stderr))?;
    let job_id = text(&created.stdout).split_whitespace().next().ok_or("a job id")?.to_owned();

    let tag = format!("fail{}", std::process::id());
    let watched = cli(&["jobs", "run", &job_id, "--input", &format!("tag={tag}"), "--watch"]);
    let (stdout, stderr) = (text(&watched.stdout), text(&watched.stderr));
    check(watched.status.code() == Some(1), format!("a failed job run exits 1: {stdout}{stderr}"))?;
    check(
        stdout.contains("FAILED") && stdout.contains(&format!("3/3 {after} - SKIPPED")),
        format!("the summary shows the skipped workflow: {stdout}"),
    )?;
    check(stderr.contains("boom on purpose") && stderr.contains("error: job run"), stderr.clone())?;

    let id = stdout.split_whitespace().next().ok_or("a job run id")?;
    let job_run = json_of(&cli(&["job-runs", "get", id, "--json"]))?;
    let runs = &job_run["workflowRuns"];
    check(
        job_run["status"] == "FAILED"
            && runs[0]["status"] == "COMPLETED"
            && runs[1]["status"] == "FAILED"
            && runs[2]["status"] == "SKIPPED"
            && runs[2]["runId"].is_null()
            && job_run["error"]["workflowId"] == boom.as_str(),
        format!("{job_run}"),
    )?;
    check(visits()?[&tag] == 1, "the first workflow ran once")?;
    // `watch` on an ended job run prints it at once.
    let again = cli(&["job-runs", "watch", id]);
    check(again.status.code() == Some(1) && text(&again.stdout).contains("SKIPPED"), text(&again.stderr))?;
    let failed = text(&cli(&["job-runs", "list", "--job-id", &job_id, "--status", "FAILED"]).stdout);
    check(failed.contains(id), failed.clone())
}

fn schedules_from_the_cli() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "0"])?;
    let cli = cli(&server);
    let visit = server.create_workflow(visit_workflow("visit"))?;
    // The whole body from a file, its name replaced by the flag's.
    let file = dir.path().join("job.json");
    let body = json!({"name": "from a file", "description": "kept",
        "workflowExecutionOrder": [{"workflowId": visit, "version": 1, "inputs": {"tag": "fixed"}}, visit]});
    std::fs::write(&file, body.to_string())?;
    let created = cli(&["jobs", "create", "--file", file.to_str().unwrap(), "--name", "scheduled", "--json"]);
    check(created.status.success(), text(&created.stderr))?;
    let job = json_of(&created)?;
    check(
        job["name"] == "scheduled"
            && job["description"] == "kept"
            && job["workflowExecutionOrder"][0]["inputs"]["tag"] == "fixed"
            && job["workflowExecutionOrder"][1]["version"] == "latest",
        format!("{job}"),
    )?;
    let job_id = job["id"].as_str().ok_or("a job id")?.to_owned();

    // Once a year, so that it never fires during the test.
    let schedule = cli(&[
        "schedules",
        "create",
        &job_id,
        "--cron",
        "30 4 1 1 *",
        "--timezone",
        "Europe/Berlin",
        "--input",
        "tag=nightly",
        "--overlap",
        "queue",
        "--json",
    ]);
    check(schedule.status.success(), text(&schedule.stderr))?;
    let schedule = json_of(&schedule)?;
    let id = schedule["id"].as_str().ok_or("a schedule id")?.to_owned();
    check(
        schedule["enabled"] == true
            && schedule["overlap"] == "queue"
            && schedule["timezone"] == "Europe/Berlin"
            && schedule["inputs"]["tag"] == "nightly"
            && schedule["nextRunAt"].is_string(),
        format!("{schedule}"),
    )?;
    let listed = text(&cli(&["schedules", "list", &job_id]).stdout);
    check(
        listed.contains(&id)
            && listed.contains("30 4 1 1 *  Europe/Berlin")
            && listed.lines().next().is_some_and(|h| h.contains("NEXT RUN"))
            && listed.contains("  20"),
        format!("listed with its next due time: {listed}"),
    )?;

    let disabled = json_of(&cli(&["schedules", "update", &id, "--disable", "--cron", "0 * * * *", "--json"]))?;
    check(
        disabled["enabled"] == false && disabled["nextRunAt"].is_null() && disabled["cron"] == "0 * * * *",
        format!("{disabled}"),
    )?;
    let shown = text(&cli(&["schedules", "get", &id]).stdout);
    check(shown.contains("disabled") && shown.contains("next -"), shown.clone())?;

    let bad = cli(&["schedules", "create", &job_id, "--cron", "every day", "--input", "tag=x"]);
    check(bad.status.code() == Some(2), format!("an invalid cron exits 2: {}", text(&bad.stderr)))?;
    let unknown = cli(&["schedules", "create", &job_id, "--cron", "0 * * * *", "--input", "nope=x"]);
    check(unknown.status.code() == Some(2) && text(&unknown.stderr).contains("nope"), text(&unknown.stderr))?;

    let deleted = cli(&["schedules", "delete", &id]);
    check(deleted.status.success(), text(&deleted.stderr))?;
    let left = text(&cli(&["schedules", "list", &job_id]).stdout);
    check(left.trim().is_empty(), format!("no schedules left: {left}"))
}
