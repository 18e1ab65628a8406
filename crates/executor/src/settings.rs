//! How a run is carried out: its time limits, its agent and how much it may produce.

use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Limit for one segment execution (code, agent or router).
    pub segment_timeout: Duration,
    /// Limit for the whole run.
    pub run_timeout: Duration,
    pub engine: engine::Config,
    /// Completes agent segments and falls back for failing ui/network code; none: no AI.
    pub agent: Option<Arc<agent::Agent>>,
    /// What one run may produce (outputs, logs, runner lines).
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            segment_timeout: Duration::from_secs(300),
            run_timeout: Duration::from_secs(3600),
            engine: engine::Config::default(),
            agent: None,
            limits: Limits::default(),
        }
    }
}

impl Settings {
    /// The engine's configuration for a run under these settings.
    pub(crate) fn engine_config(&self) -> engine::Config {
        engine::Config { ai_available: self.agent.is_some(), limits: self.limits.engine(), ..self.engine.clone() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// JSON bytes the run's outputs may hold: the latest value of every output
    /// key segments returned. A segment going over fails with `OUTPUT_TOO_LARGE`.
    pub output_bytes: usize,
    /// Console lines kept per segment execution; later ones are counted, not kept.
    pub log_lines: usize,
    /// Console bytes kept per segment execution (a longer line is cut).
    pub log_bytes: usize,
    /// The longest line the runner may send (results, observations, logs);
    /// a longer one kills the runner and fails the segment (`BROWSER_ERROR`).
    pub runner_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        let engine = engine::Limits::default();
        Limits {
            output_bytes: engine.output_bytes,
            log_lines: engine.log_lines,
            log_bytes: engine.log_bytes,
            runner_line_bytes: 64 << 20,
        }
    }
}

impl Limits {
    /// What the engine enforces: outputs and logs.
    fn engine(&self) -> engine::Limits {
        engine::Limits { output_bytes: self.output_bytes, log_lines: self.log_lines, log_bytes: self.log_bytes }
    }

    /// What the browser runner enforces: its reply lines, and results before they cross the pipe.
    pub(crate) fn replies(&self) -> runner::ReplyLimits {
        runner::ReplyLimits { line_bytes: self.runner_line_bytes, result_bytes: self.output_bytes }
    }
}
