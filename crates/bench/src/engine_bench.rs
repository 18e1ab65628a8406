//! `segue-bench engine`: runs the adapted complete example (examples/shop_price_check.json)
//! through segue on a warm runner, and the same Playwright calls as a plain Node
//! script on a warm browser, against the same demo site and Chromium. Prints both
//! medians, their ratio, and segue's overhead per segment.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use crate::stats::{median, ms};

use serde_json::{Map, Value, json};

const WARMUP: usize = 3;
/// Runner starts measured (each one a new sandbox, Node process and Chromium).
const STARTS: usize = 5;
const EXAMPLE_BASE: &str = "http://127.0.0.1:8077";

pub async fn main(iterations: usize) {
    let (addr, _server) = demo::spawn("127.0.0.1:0".parse().unwrap()).await.expect("demo site");
    let base = format!("http://{addr}");

    // The demo site is on loopback.
    let options = runner::Options { egress: Arc::new(runner::Policy::private_network()), ..testkit::runner_options() };
    let text = std::fs::read_to_string(options.runner_dir.join("../examples/shop_price_check.json"))
        .expect("examples/shop_price_check.json")
        .replace(EXAMPLE_BASE, &base);
    let workflow = Arc::new(workflow::check(&text).workflow.expect("the example is valid"));
    let segments = workflow.segments.len() as f64;
    let inputs =
        engine::inputs::prepare(&workflow, json!({"search_query": "mug"}).as_object().unwrap()).expect("inputs");

    // A run's start: the sandbox, Node and Chromium, up to the browser being ready.
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let started = Instant::now();
        let runner = runner::Runner::start(&options).await.expect("browser runner");
        starts.push(ms(started.elapsed()));
        runner.shutdown().await;
    }
    let mut runner = runner::Runner::start(&options).await.expect("browser runner");
    let settings = executor::Settings::default();
    let mut wall = Vec::with_capacity(iterations);
    // Wall time minus time inside segment code and browser-context set-up: the
    // engine, the protocol round trips and output validation.
    let mut engine = Vec::with_capacity(iterations);
    // The same runs keeping the default artifacts (end screenshot, outputs.json),
    // and with a trace; interleaved so that both see the same machine.
    let mut with_artifacts = Vec::with_capacity(iterations);
    let mut with_trace = Vec::with_capacity(iterations);
    let kinds = [
        None,
        Some(executor::ArtifactOptions::default()),
        Some(executor::ArtifactOptions { trace: executor::Trace::On, ..executor::ArtifactOptions::default() }),
    ];
    for i in 0..WARMUP + iterations {
        for (k, artifacts) in kinds.iter().enumerate() {
            let started = Instant::now();
            let mut request =
                executor::RunRequest::new(Arc::clone(&workflow), inputs.clone(), executor::CancellationToken::new());
            request.artifacts = *artifacts;
            let outcome = executor::execute(request, &settings, &mut runner, &mut ()).await;
            let elapsed = started.elapsed();
            let outputs: Map<String, Value> = outcome.result.expect("the example run succeeds").into_inner();
            assert_eq!(outputs["top_result_title"], "Stainless Steel Travel Mug 16oz");
            if i < WARMUP {
                continue;
            }
            match k {
                0 => {
                    wall.push(ms(elapsed));
                    engine.push(ms(elapsed.saturating_sub(outcome.in_code + outcome.session_setup)));
                }
                1 => with_artifacts.push(ms(elapsed)),
                _ => with_trace.push(ms(elapsed)),
            }
        }
    }
    runner.shutdown().await;

    let script = options.runner_dir.join("bench/plain_shop_price_check.js");
    let out = Command::new(&options.node)
        .arg(&script)
        .args([base.clone(), iterations.to_string(), WARMUP.to_string()])
        .arg(&options.chromium)
        .current_dir(&options.runner_dir)
        .output()
        .expect("node baseline");
    assert!(out.status.success(), "baseline failed: {}", String::from_utf8_lossy(&out.stderr));
    let baseline: Value = serde_json::from_slice(&out.stdout).expect("baseline JSON");
    let plain: Vec<f64> = baseline["ms"].as_array().expect("ms").iter().filter_map(Value::as_f64).collect();

    let (segue_ms, plain_ms) = (median(&wall), median(&plain));
    println!("shop_price_check, {iterations} runs each after {WARMUP} warm-up runs, warm browser, same demo site");
    println!("  segue (engine + runner protocol)   median {segue_ms:8.1} ms");
    println!("  plain Playwright script (baseline) median {plain_ms:8.1} ms");
    println!("  ratio segue / plain                       {:8.3}", segue_ms / plain_ms);
    println!("  overhead per segment vs plain             {:8.2} ms", (segue_ms - plain_ms) / segments);
    println!("  engine + protocol overhead per segment    {:8.2} ms", median(&engine) / segments);
    println!("  runner start (sandbox, Node, Chromium)    {:8.1} ms median of {STARTS}", median(&starts));
    let (artifacts_ms, trace_ms) = (median(&with_artifacts), median(&with_trace));
    println!("  with default artifacts (end screenshot, outputs.json) median {artifacts_ms:8.1} ms");
    println!("    ratio to no artifacts                   {:8.3}", artifacts_ms / segue_ms);
    println!("  with trace: on as well                    median {trace_ms:8.1} ms");
    println!("    ratio to no artifacts                   {:8.3}", trace_ms / segue_ms);
}
