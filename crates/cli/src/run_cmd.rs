use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use executor::Settings;

use crate::progress::Progress;
use crate::validate_cmd::{load, print_diagnostics};
use crate::{EXIT_INVALID, EXIT_RUN_FAILED};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow document (JSON).
    file: PathBuf,
    /// An input value, converted to the declared type; `@path` for file inputs.
    #[arg(long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// A JSON object of inputs; `--input` values override it.
    #[arg(long = "inputs", value_name = "FILE.json")]
    inputs_file: Option<PathBuf>,
    /// An input asked for on the terminal when the first segment reading it starts
    /// (a code sent by SMS), without echo when it is a secret; repeat for each.
    #[arg(long = "ask", value_name = "NAME")]
    ask: Vec<String>,
    /// Time limit for each segment execution.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    segment_timeout: f64,
    /// Time limit for the whole run.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600.0)]
    run_timeout: f64,
    /// Segment executions allowed before the run is stopped (router loops).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_segment_executions: u32,
    /// Show the browser window.
    #[arg(long)]
    headed: bool,
    /// Write the workflow with code compiled from what the AI fallback did, checked by running it without AI.
    #[arg(long, value_name = "FILE")]
    heal_out: Option<PathBuf>,
    #[command(flatten)]
    llm: crate::ai::LlmArgs,
    /// Refuse loopback and private addresses too, as `segue serve` does by default
    /// (on one's own machine they are allowed: local development servers).
    #[arg(long)]
    deny_private_network: bool,
    #[command(flatten)]
    boundary: crate::boundary::BoundaryArgs,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
    /// Write what the run leaves into this folder: outputs.json, screenshots,
    /// downloaded files, the page's HTML on failure.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// When to take screenshots for --artifacts: `end` of the run, `every-segment`, or `off`.
    #[arg(long, value_name = "WHEN", default_value = "end", value_parser = parse_screenshots)]
    screenshots: executor::Screenshots,
    /// Keep a Playwright trace for --artifacts (`trace.zip`, scrubbed of secrets): `on`, `on-failure` or `off`.
    #[arg(long, value_name = "WHEN", default_value = "off", value_parser = parse_trace)]
    trace: executor::Trace,
}

fn parse_trace(text: &str) -> Result<executor::Trace, String> {
    executor::Trace::parse(text).ok_or_else(|| format!("'{text}' is not one of on, on-failure, off"))
}

fn parse_screenshots(text: &str) -> Result<executor::Screenshots, String> {
    executor::Screenshots::parse(text).ok_or_else(|| format!("'{text}' is not one of end, every-segment, off"))
}

pub async fn main(args: Args) -> ExitCode {
    let checked = match load(&args.file) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    print_diagnostics(&checked.diagnostics);
    let Some(workflow) = checked.workflow else {
        eprintln!("error: {} is not a valid workflow", args.file.display());
        return ExitCode::from(EXIT_INVALID);
    };
    let (Some(segment_timeout), Some(run_timeout)) = (seconds(args.segment_timeout), seconds(args.run_timeout)) else {
        eprintln!("error: --segment-timeout and --run-timeout must be positive numbers of seconds");
        return ExitCode::from(EXIT_INVALID);
    };
    let limits = match args.limits.limits() {
        Ok(l) => l,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let given = match crate::inputs::collect(&workflow, args.inputs_file.as_deref(), &args.inputs) {
        Ok(g) => g,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let inputs = match engine::inputs::prepare_deferring(&workflow, &given, &args.ask) {
        Ok(i) => i,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {}", e.message);
            }
            return ExitCode::from(EXIT_INVALID);
        }
    };

    let agent = match args.llm.agent() {
        Ok(agent) => agent,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    if args.headed && !has_display() {
        // Chromium would fail later with an X error that points nowhere useful.
        eprintln!("error: --headed needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set");
        eprintln!("hint: run without --headed, or inside a virtual display: xvfb-run -a segue run … --headed");
        return ExitCode::from(EXIT_INVALID);
    }
    let options =
        runner::Options { headless: !args.headed, ..args.boundary.runner_options(!args.deny_private_network) };
    let mut runner = match runner::Runner::start(&options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("hint: scripts/setup.sh installs Chromium and the runner's Node packages");
            return ExitCode::from(EXIT_RUN_FAILED);
        }
    };
    let settings = Settings {
        segment_timeout,
        run_timeout,
        engine: engine::Config { max_segment_executions: args.max_segment_executions, ..engine::Config::default() },
        agent,
        limits,
    };
    // Ctrl-C cancels the run: the browser is stopped and the run reports CANCELLED.
    let cancel = executor::CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let mut request = executor::RunRequest::new(Arc::new(workflow), inputs.clone(), cancel.clone());
    request.deferred_inputs = args.ask.clone();
    request.input_source = Some(Arc::new(Terminal));
    if args.artifacts.is_some() {
        request.artifacts = Some(executor::ArtifactOptions { screenshots: args.screenshots, trace: args.trace });
    }
    let outcome = executor::execute(request, &settings, &mut runner, &mut Progress::on_stderr()).await;
    if let (Some(dir), Some(artifacts)) = (&args.artifacts, &outcome.artifacts) {
        write_artifacts(dir, artifacts);
    }
    if let Some(path) = &args.heal_out {
        if !runner::Browser::is_alive(&runner) {
            // A timeout or cancel killed it; the heal's check needs a browser.
            match runner::Runner::start(&options).await {
                Ok(fresh) => runner = fresh,
                Err(e) => eprintln!("heal: the check will not run: {e}"),
            }
        }
        heal(&args.file, path, &outcome, inputs, &settings, &mut runner, cancel).await;
    }
    runner.shutdown().await;
    match outcome.result {
        Ok(outputs) => {
            println!("{}", serde_json::to_string_pretty(&*outputs).expect("outputs are JSON"));
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(EXIT_RUN_FAILED)
        }
    }
}

/// Copies the run's artifacts into `dir`, saying what was written and what was not.
fn write_artifacts(dir: &Path, artifacts: &executor::Artifacts) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("artifacts: cannot create {}: {e}", dir.display());
        return;
    }
    let mut written = 0;
    for artifact in &artifacts.list {
        let target = dir.join(&artifact.name);
        // Never over a file already there: a download named `Makefile` must not replace one.
        let copied = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .and_then(|mut to| std::io::copy(&mut std::fs::File::open(&artifact.path)?, &mut to));
        match copied {
            Ok(_) => written += 1,
            Err(e) => eprintln!("artifacts: cannot write {}: {e}", target.display()),
        }
    }
    for skipped in &artifacts.skipped {
        eprintln!("artifacts: skipped {skipped}");
    }
    eprintln!("artifacts: {written} files in {}", dir.display());
}

fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s))
}

/// Writes the healed workflow and checks it by running it again with AI disabled.
async fn heal(
    source: &Path,
    out: &Path,
    outcome: &executor::Outcome,
    inputs: serde_json::Map<String, serde_json::Value>,
    settings: &Settings,
    runner: &mut runner::Runner,
    cancel: executor::CancellationToken,
) {
    if outcome.heals.is_empty() {
        eprintln!("heal: nothing to heal, no segment needed the AI fallback; {} not written", out.display());
        return;
    }
    for note in executor::heal_notes(&outcome.heals) {
        eprintln!("heal: {note}");
    }
    let document = std::fs::read_to_string(source).ok().and_then(|t| serde_json::from_str(&t).ok());
    let Some(healed) = document.as_ref().and_then(|d| executor::healed_document(d, &outcome.heals)) else {
        eprintln!("heal: no segment could be healed; {} not written", out.display());
        return;
    };
    let text = serde_json::to_string_pretty(&healed).expect("JSON") + "\n";
    if let Err(e) = std::fs::write(out, text) {
        eprintln!("heal: cannot write {}: {e}", out.display());
        return;
    }
    eprintln!("heal: wrote {}; checking it with AI disabled…", out.display());
    let Some(workflow) = workflow::check_value(&healed).workflow else {
        eprintln!("heal: check failed: the healed workflow is not valid");
        return;
    };
    let without_ai = Settings {
        agent: None,
        engine: engine::Config { ai_available: false, ..settings.engine.clone() },
        ..settings.clone()
    };
    let request = executor::RunRequest::new(Arc::new(workflow), inputs, cancel);
    let check = executor::execute(request, &without_ai, runner, &mut ()).await;
    match check.result {
        Ok(outputs) => {
            eprintln!("heal: check passed without AI, outputs {}", serde_json::Value::Object(outputs.into_inner()))
        }
        Err(failure) => eprintln!("heal: check failed without AI: {failure}"),
    }
}

/// Asks a person at the terminal for a deferred input (`--ask`).
struct Terminal;

impl executor::InputSource for Terminal {
    fn ask<'a>(
        &'a self,
        wanted: &'a engine::InputWanted,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value, String>> + Send + 'a>> {
        let name = wanted.name.clone();
        let hidden = wanted.ty == workflow::ParamType::Secret;
        Box::pin(async move {
            let answer = tokio::task::spawn_blocking(move || crate::identities_cmd::read_answer(&name, hidden));
            answer.await.map_err(|e| e.to_string())?.map(serde_json::Value::String)
        })
    }
}

/// Whether a window can be shown: an X or Wayland display is set.
fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}
