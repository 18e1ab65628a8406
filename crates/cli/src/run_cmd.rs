use std::path::PathBuf;
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
    let given = match crate::inputs::collect(&workflow, args.inputs_file.as_deref(), &args.inputs) {
        Ok(g) => g,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let inputs = match engine::inputs::prepare(&workflow, &given) {
        Ok(i) => i,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {}", e.message);
            }
            return ExitCode::from(EXIT_INVALID);
        }
    };

    let agent = match crate::ai::agent_from_env() {
        Ok(agent) => agent,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let options = runner::Options { headless: !args.headed, ..runner::Options::default() };
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
        engine: engine::Config { max_segment_executions: args.max_segment_executions, ai_available: agent.is_some() },
        agent,
    };
    // Ctrl-C cancels the run: the browser is stopped and the run reports CANCELLED.
    let cancel = executor::CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.cancel();
        }
    });
    let request = executor::RunRequest { workflow: Arc::new(workflow), inputs, cancel };
    let outcome = executor::execute(request, &settings, &mut runner, &mut Progress).await;
    runner.shutdown().await;
    match outcome.result {
        Ok(outputs) => {
            println!("{}", serde_json::to_string_pretty(&outputs).expect("outputs are JSON"));
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(EXIT_RUN_FAILED)
        }
    }
}

fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s))
}
