//! `segue-bench agent`:
//! - the agent's observation of each demo page (accessibility snapshot) against the
//!   page's raw HTML, in characters and estimated tokens (characters / 4, the usual
//!   rule of thumb for English and markup with OpenAI-style tokenizers);
//! - the agent's overhead per action, model time excluded: a scripted model answers
//!   every turn with one action, and the time outside the model is divided by the
//!   number of actions (each action is: perform it, wait for the page, observe again).

use std::sync::Arc;
use std::time::Instant;

use runner::Browser as _;
use serde_json::{Map, json};

pub async fn main(actions: u32) {
    let (demo_addr, _) = demo::spawn("127.0.0.1:0".parse().unwrap()).await.expect("demo");
    let base = format!("http://{demo_addr}");
    // The demo site is on loopback.
    let options = runner::Options { egress: Arc::new(runner::Policy::private_network()), ..testkit::runner_options() };
    let mut runner = runner::Runner::start(&options).await.expect("runner");
    runner.open(&runner::SessionOptions::default()).await.expect("session");

    println!("observation size per demo page (tokens ≈ characters / 4)");
    println!(
        "  {:<28} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "page", "snap chars", "snap tok", "html chars", "html tok", "ratio"
    );
    for path in [
        "/",
        "/shop/",
        "/shop/s?k=mug",
        "/shop-v2/search?query=mug",
        "/login",
        "/orders",
        "/reports",
        "/upload",
        "/dashboard",
    ] {
        runner.act("goto", &json!({"url": format!("{base}{path}")})).await.expect("runner").expect("goto");
        let o = runner.observe(None, true).await.expect("observe");
        let snap = o.snapshot.chars().count() as f64;
        let html = o.html_chars.unwrap_or(0) as f64;
        println!("  {path:<28} {snap:>10} {:>10.0} {html:>10} {:>10.0} {:>7.2}", snap / 4.0, html / 4.0, snap / html);
    }

    let rule = testkit::Rule::from_json(
        &json!({"when": "Current page", "calls": [{"name": "scroll", "arguments": {"direction": "down"}}]}),
    )
    .expect("rule");
    let model = testkit::ScriptedModel::start(vec![rule]).await.expect("model");
    let config = agent::llm::Config::from_values(None, Some("scripted".into()), Some(model.openai_base()), None, false)
        .expect("config")
        .expect("a model");
    let settings = agent::Settings { max_actions: actions, ..agent::Settings::default() };
    let agent = agent::Agent::new(config, settings);
    let doc = json!({"name": "b", "startSegmentName": "s", "segments": [{"name": "s", "type": "agent", "prompt": "Scroll the orders.", "next": null}]});
    let workflow = workflow::check_value(&doc).workflow.expect("valid");
    runner.act("goto", &json!({"url": format!("{base}/orders")})).await.expect("runner").expect("goto");
    let redactor = engine::Redactor::new();
    let parameters = Map::new();
    let task = agent::Task {
        segment: &workflow.segments[0],
        prompt: "Scroll the orders.",
        parameters: &parameters,
        redactor: &redactor,
    };
    let started = Instant::now();
    let outcome = agent.run(task, &mut runner).await.expect("agent");
    let wall = started.elapsed();
    let trace = outcome.trace;
    let done = trace.actions.len() as f64;
    let outside = wall.saturating_sub(trace.model_time);
    println!(
        "agent overhead per action, model time excluded ({} actions on /orders, scripted model on loopback)",
        trace.actions.len()
    );
    println!(
        "  total {:8.1} ms   model {:8.1} ms   per action {:6.2} ms",
        wall.as_secs_f64() * 1000.0,
        trace.model_time.as_secs_f64() * 1000.0,
        outside.as_secs_f64() * 1000.0 / done
    );
    runner.shutdown().await;
}
