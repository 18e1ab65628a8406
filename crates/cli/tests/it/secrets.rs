//! Secrets across process boundaries: the service's API, event stream and
//! database after an AI fallback whose code error held a password, and the
//! screenshots a vision model receives.

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::Server;
use crate::support::{demo_base, repo_root, runtime, scripted_model, segue_with_env, text, workflow_file};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "secrets::the_service_masks_a_fallback_error_in_api_events_and_database",
            the_service_masks_a_fallback_error_in_api_events_and_database,
        ),
        Trial::test(
            "secrets::vision_screenshots_hide_secret_and_password_inputs",
            vision_screenshots_hide_secret_and_password_inputs,
        ),
    ]
}

const PASSWORD: &str = "p@ss w0rd!";

/// The forms of `PASSWORD` the fixture's code puts in its error.
const PASSWORD_FORMS: [&str; 2] = ["p@ss", "p%40ss"];

fn fixture(name: &str) -> Result<Value, Failed> {
    Ok(serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/run").join(name))?)?)
}

fn llm_env(model: &testkit::ScriptedModel, vision: bool) -> Vec<(&'static str, String)> {
    vec![
        ("SEGUE_LLM_PROVIDER", "openai".to_owned()),
        ("SEGUE_LLM_BASE_URL", model.openai_base()),
        ("SEGUE_LLM_MODEL", "scripted".to_owned()),
        ("SEGUE_LLM_API_KEY", "test-key".to_owned()),
        ("SEGUE_LLM_VISION", if vision { "1" } else { "0" }.to_owned()),
    ]
}

fn absent(haystack: &str, what: &str) -> Result<(), Failed> {
    match PASSWORD_FORMS.iter().find(|form| haystack.contains(*form)) {
        Some(form) => Err(format!("{what} contains {form:?}: {haystack}").into()),
        None => Ok(()),
    }
}

fn the_service_masks_a_fallback_error_in_api_events_and_database() -> Result<(), Failed> {
    let case = fixture("secret_fallback_error_masked.json")?;
    let model = scripted_model(case["llm"]["rules"].as_array().ok_or("rules")?)?;
    let data = tempfile::tempdir()?;
    let log = data.path().with_extension("log");
    let env = llm_env(&model, false);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start_logged(data.path(), &["--workers", "1"], &env, &log)?;
    let workflow = server.create_workflow(case["workflow"].clone())?;
    let run = server.start_run(&workflow, json!({"inputs": {"password": PASSWORD}}))?;
    let done = server.wait_final(&run, Duration::from_secs(60))?;
    if done["status"] != "COMPLETED" {
        return Err(format!("the fallback run did not complete: {done}").into());
    }
    let segments = server.get(&format!("/v1/runs/{run}/segments"))?;
    let fallback = &segments["data"][0]["fallbackError"];
    if fallback["message"] != "rejected ******** / ********" {
        return Err(format!("fallbackError is not the masked code error: {segments}").into());
    }
    absent(&segments.to_string(), "the segments")?;
    absent(&done.to_string(), "the run")?;
    let events = runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(format!("{}/v1/runs/{run}/events", server.base))
            .bearer_auth(&server.key)
            .send()
            .await?;
        response.text().await
    })?;
    if !events.contains("rejected ******** / ********") {
        return Err(format!("the event stream lacks the masked fallback error: {events}").into());
    }
    absent(&events, "the event stream")?;
    absent(&model.received_text(), "a request to the model")?;
    drop(server);
    // Inputs are sealed; nothing else in the database (or its journal) holds the password.
    for file in std::fs::read_dir(data.path())? {
        let path = file?.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("segue.db")) {
            absent(&String::from_utf8_lossy(&std::fs::read(&path)?), &path.display().to_string())?;
        }
    }
    absent(&std::fs::read_to_string(&log)?, "the server's log")
}

/// Two runs whose username (a secret) and password-field text differ only in
/// value and length must send the model identical screenshots: both inputs are
/// painted over. With the username typed `string` the screenshots differ, which
/// shows the comparison sees the field.
fn vision_screenshots_hide_secret_and_password_inputs() -> Result<(), Failed> {
    let values = [("first-secret", "12"), ("another-much-longer-secret-value", "123456789")];
    let masked = values.map(|(user, pin)| screenshot_after_filling("secret", user, pin));
    let [a, b] = masked;
    if a? != b? {
        return Err("screenshots differ with the secret's value: an input holding a secret is visible".into());
    }
    let [a, b] = values.map(|(user, pin)| screenshot_after_filling("string", user, pin));
    if a? == b? {
        return Err("screenshots are equal although a non-secret username differs: the test sees nothing".into());
    }
    Ok(())
}

/// The screenshot a vision model receives after code filled the demo login form
/// with `user` (declared as `user_type`) and `pin` (a plain string, typed into the password field).
fn screenshot_after_filling(user_type: &str, user: &str, pin: &str) -> Result<String, Failed> {
    let fill = "async (page, parameters) => { await page.goto('BASE/login'); \
        await page.getByTestId('username').fill(parameters.user); \
        await page.getByTestId('password').fill(parameters.pin); \
        await page.evaluate((u) => { const p = document.createElement('p'); p.textContent = 'Signed in as ' + u; document.body.append(p); }, parameters.user); \
        return {}; }"
        .replace("BASE", &demo_base());
    let document = json!({"name": "look", "startSegmentName": "fill",
        "inputParameters": [{"name": "user", "type": user_type}, {"name": "pin", "type": "string"}],
        "outputParameters": [],
        "segments": [
            {"name": "fill", "type": "ui", "prompt": "Fill the form.",
                "inputParameters": [{"name": "user", "type": user_type}, {"name": "pin", "type": "string"}],
                "outputParameters": [], "deterministic": fill, "next": "look", "router": null},
            {"name": "look", "type": "agent", "prompt": "Look at the page.", "inputParameters": [],
                "outputParameters": [], "deterministic": null, "next": null, "router": null}]});
    let model = scripted_model(&[json!({"when": "URL:", "calls": [{"name": "complete", "arguments": {}}]})])?;
    let file = workflow_file(&document.to_string());
    let user_input = format!("user={user}");
    let pin_input = format!("pin={pin}");
    let args = ["run", path_str(file.path())?, "--input", &user_input, "--input", &pin_input];
    let out = segue_with_env(&args, &llm_env(&model, true));
    if out.status.code() != Some(0) {
        return Err(format!("the run failed: {}", text(&out.stderr)).into());
    }
    let received = model.received_text();
    let start = received.find("data:image/png;base64,").ok_or("the model received no screenshot")?;
    let image = &received[start..];
    Ok(image[..image.find('"').ok_or("unterminated image")?].to_owned())
}

fn path_str(path: &Path) -> Result<&str, Failed> {
    Ok(path.to_str().ok_or("temporary path is not UTF-8")?)
}
