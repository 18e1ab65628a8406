//! Self-healing end to end: a run whose code broke is completed by the agent,
//! segue compiles code from what the agent did, and the healed workflow then
//! runs with no model at all, for other inputs too.

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::{repo_root, scripted_model, segue, segue_with_env, text, workflow_file};

pub fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "healing::a_healed_workflow_runs_without_ai_for_other_inputs",
        a_healed_workflow_runs_without_ai_for_other_inputs,
    )]
}

fn a_healed_workflow_runs_without_ai_for_other_inputs() -> Result<(), Failed> {
    // The same scripted model as the redesigned-shop fallback fixture.
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(
        repo_root().join("tests/run/ai_fallback_redesigned_shop_openai.json"),
    )?)?;
    let model = scripted_model(fixture["llm"]["rules"].as_array().ok_or("rules")?)?;
    let broken =
        workflow_file(&std::fs::read_to_string(repo_root().join("examples/shop_price_check_redesigned.json"))?);
    let healed = tempfile::Builder::new().suffix(".json").tempfile()?;
    let healed_path = healed.path().to_str().unwrap();
    let env = [
        ("SEGUE_LLM_PROVIDER", "openai".to_owned()),
        ("SEGUE_LLM_BASE_URL", model.openai_base()),
        ("SEGUE_LLM_MODEL", "scripted".to_owned()),
    ];
    let first = segue_with_env(
        &["run", broken.path().to_str().unwrap(), "--input", "search_query=mug", "--heal-out", healed_path],
        &env,
    );
    let stderr = text(&first.stderr);
    if first.status.code() != Some(0) || !stderr.contains("heal: check passed without AI") {
        return Err(format!("healing run: {stderr}").into());
    }
    for healed_segment in ["search_product", "extract_top_result"] {
        if !stderr.contains(&format!("heal: segment '{healed_segment}' healed")) {
            return Err(format!("{healed_segment} was not healed: {stderr}").into());
        }
    }
    let document = std::fs::read_to_string(healed.path())?;
    if std::env::var_os("SEGUE_TEST_SHOW_LOGS").is_some() {
        eprintln!("{document}");
    }
    if document.contains("Stainless") || document.contains("\\\"mug\\\"") {
        return Err(format!("the healed code is tied to the first run's values: {document}").into());
    }
    // Another query, and no model configured: the healed code alone must do it.
    let second = segue(&["run", healed_path, "--input", "search_query=lamp"]);
    let stderr = text(&second.stderr);
    if second.status.code() != Some(0) {
        return Err(format!("the healed workflow failed without AI: {stderr}").into());
    }
    let outputs: Value = serde_json::from_slice(&second.stdout)?;
    if outputs != json!({"top_result_title": "Desk Lamp with USB Port", "top_result_price": 34.9}) {
        return Err(format!("unexpected outputs {outputs}: {stderr}").into());
    }
    if stderr.contains("AI Fallback") || !stderr.contains("search_product (code)") {
        return Err(format!("the healed segments should run as code: {stderr}").into());
    }
    let validated = segue(&["validate", healed_path]);
    if validated.status.code() != Some(0) {
        return Err(format!("the healed workflow does not validate: {}", text(&validated.stderr)).into());
    }
    Ok(())
}
