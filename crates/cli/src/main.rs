//! `segue`: run browser workflows as code, with AI as the fallback.
//!
//! Exit codes: 0 success; 1 the run failed; 2 the document, the inputs or the
//! command line are invalid. Data goes to stdout, everything else to stderr.

mod admin_cmd;
mod ai;
mod artifacts_cmd;
mod boundary;
mod client;
mod client_cmd;
mod config;
mod config_cmd;
mod demo_cmd;
mod identities_cmd;
mod init_cmd;
mod inputs;
mod jobs_cmd;
mod limits;
mod pack_cmd;
mod progress;
mod run_cmd;
mod serve_cmd;
mod validate_cmd;
mod webhooks_cmd;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "segue", version, about = "Browser workflows that run as code and fall back to AI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a workflow document: errors exit 2, lint warnings go to stderr.
    Validate(validate_cmd::Args),
    /// Write a starter workflow NAME.json (and workflow.schema.json beside it) to edit.
    Init(init_cmd::Args),
    /// Move each segment's code into DIR/<segment>.js, next to DIR/workflow.json.
    Unpack(pack_cmd::UnpackArgs),
    /// Put an unpacked folder back into one document, checked, on stdout.
    Pack(pack_cmd::PackArgs),
    /// Run a workflow in headless Chromium and print its outputs as JSON.
    Run(run_cmd::Args),
    /// Serve the bundled demo site that the examples run against.
    Demo(demo_cmd::Args),
    /// Serve the REST API with embedded workers (SQLite in a data folder by default).
    Serve(serve_cmd::ServeArgs),
    /// Execute queued runs from a shared database, alongside `segue serve`.
    Worker(serve_cmd::WorkerArgs),
    /// Save a server's URL and API key as a context (checked first) and make it current.
    Login(config_cmd::LoginArgs),
    /// Forget a context and its key.
    Logout(config_cmd::LogoutArgs),
    /// The servers `segue login` saved: list them, or choose the one client commands use.
    Contexts {
        #[command(subcommand)]
        command: config_cmd::Contexts,
        #[command(flatten)]
        format: client_cmd::FormatArgs,
    },
    /// Print a shell completion script: `source <(segue completions bash)`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, ignore_case = true)]
        shell: clap_complete::Shell,
    },
    /// Maintenance on the server's machine, against its database (e.g. a new admin key).
    Admin {
        #[command(subcommand)]
        command: admin_cmd::Admin,
    },
    /// Manage workflows on a server.
    Workflows {
        #[command(subcommand)]
        command: client_cmd::Workflows,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Start, follow and inspect runs on a server.
    Runs {
        #[command(subcommand)]
        command: client_cmd::Runs,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Login identities: sealed credentials and saved sessions.
    Identities {
        #[command(subcommand)]
        command: identities_cmd::Identities,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Jobs: workflows that run one after the other as one job run.
    Jobs {
        #[command(subcommand)]
        command: jobs_cmd::Jobs,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Follow, inspect and cancel job runs.
    JobRuns {
        #[command(subcommand)]
        command: jobs_cmd::JobRuns,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Start job runs at the times of a cron expression.
    Schedules {
        #[command(subcommand)]
        command: jobs_cmd::Schedules,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Signed notifications of what runs, job runs and identities do.
    Webhooks {
        #[command(subcommand)]
        command: webhooks_cmd::Webhooks,
        #[command(flatten)]
        output: client_cmd::Output,
    },
    /// Share the files runs left (list and download them with `segue runs artifacts`).
    Artifacts {
        #[command(subcommand)]
        command: artifacts_cmd::Artifacts,
        #[command(flatten)]
        output: client_cmd::Output,
    },
}

/// Exit codes that scripts rely on.
pub const EXIT_RUN_FAILED: u8 = 1;
pub const EXIT_INVALID: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SEGUE_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        match cli.command {
            Command::Validate(args) => validate_cmd::main(args),
            Command::Init(args) => init_cmd::main(args),
            Command::Unpack(args) => pack_cmd::unpack(args),
            Command::Pack(args) => pack_cmd::pack(args),
            Command::Run(args) => run_cmd::main(args).await,
            Command::Demo(args) => demo_cmd::main(args).await,
            Command::Serve(args) => serve_cmd::serve(args).await,
            Command::Worker(args) => serve_cmd::worker(args).await,
            Command::Login(args) => config_cmd::login(args).await,
            Command::Logout(args) => config_cmd::logout(args),
            Command::Contexts { command, format } => config_cmd::contexts(command, format),
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "segue", &mut std::io::stdout());
                ExitCode::SUCCESS
            }
            Command::Admin { command } => admin_cmd::main(command).await,
            Command::Workflows { command, output } => client_cmd::workflows(command, output).await,
            Command::Runs { command, output } => client_cmd::runs(command, output).await,
            Command::Artifacts { command, output } => artifacts_cmd::main(command, output).await,
            Command::Identities { command, output } => identities_cmd::main(command, output).await,
            Command::Jobs { command, output } => jobs_cmd::jobs(command, output).await,
            Command::JobRuns { command, output } => jobs_cmd::job_runs(command, output).await,
            Command::Schedules { command, output } => jobs_cmd::schedules(command, output).await,
            Command::Webhooks { command, output } => webhooks_cmd::main(command, output).await,
        }
    })
}
