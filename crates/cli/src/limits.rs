//! `--max-output-bytes` and friends: how much one run may produce, for
//! `segue run`, `serve` and `worker` alike. See docs/service.md.

use executor::Limits;

#[derive(clap::Args)]
pub struct LimitArgs {
    /// JSON bytes a run's outputs may hold (the latest value of every output key);
    /// a segment returning more fails with OUTPUT_TOO_LARGE.
    #[arg(long, env = "SEGUE_MAX_OUTPUT_BYTES", value_name = "BYTES", default_value_t = Limits::default().output_bytes)]
    max_output_bytes: usize,
    /// Console lines kept per segment execution; the rest is cut with a marker and the run goes on.
    #[arg(long, env = "SEGUE_MAX_LOG_LINES", value_name = "N", default_value_t = Limits::default().log_lines)]
    max_log_lines: usize,
    /// Console bytes kept per segment execution; the rest is cut with a marker and the run goes on.
    #[arg(long, env = "SEGUE_MAX_LOG_BYTES", value_name = "BYTES", default_value_t = Limits::default().log_bytes)]
    max_log_bytes: usize,
    /// The longest line the browser runner may send (results, page snapshots, screenshots);
    /// must exceed --max-output-bytes.
    #[arg(long, env = "SEGUE_MAX_RUNNER_LINE_BYTES", value_name = "BYTES", default_value_t = Limits::default().runner_line_bytes)]
    max_runner_line_bytes: usize,
}

/// Room on a runner line for what surrounds a result.
const LINE_OVERHEAD_BYTES: usize = 64 << 10;

impl LimitArgs {
    pub fn limits(&self) -> Result<Limits, String> {
        if self.max_output_bytes == 0 || self.max_log_lines == 0 || self.max_log_bytes == 0 {
            return Err("--max-output-bytes, --max-log-lines and --max-log-bytes must be positive".to_owned());
        }
        let minimum = self.max_output_bytes.saturating_add(LINE_OVERHEAD_BYTES).max(1 << 20);
        if self.max_runner_line_bytes < minimum {
            return Err(format!(
                "--max-runner-line-bytes must be at least {minimum} (1 MiB, and 64 KiB more than --max-output-bytes)"
            ));
        }
        Ok(Limits {
            output_bytes: self.max_output_bytes,
            log_lines: self.max_log_lines,
            log_bytes: self.max_log_bytes,
            runner_line_bytes: self.max_runner_line_bytes,
        })
    }
}
