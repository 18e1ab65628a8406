//! How much one run may produce, so that no run grows without bound: the JSON
//! its segments return and the console lines they print.

use std::collections::HashMap;

use serde_json::Value;
use workflow::values::json_bytes;

use crate::failure::{ErrorCode, Failure};
use crate::redact::Masked;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// JSON bytes the run's outputs may hold: the latest value of every output
    /// key segments returned. A segment going over fails with `OUTPUT_TOO_LARGE`.
    pub output_bytes: usize,
    /// Console lines kept per segment execution; later ones are counted, not kept.
    pub log_lines: usize,
    /// Console bytes kept per segment execution (a longer line is cut).
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { output_bytes: 1 << 20, log_lines: 1000, log_bytes: 256 << 10 }
    }
}

/// The run's outputs so far, by key, as JSON sizes.
pub(crate) struct OutputBudget {
    limit: usize,
    sizes: HashMap<String, u64>,
}

impl OutputBudget {
    pub(crate) fn new(limit: usize) -> OutputBudget {
        OutputBudget { limit, sizes: HashMap::new() }
    }

    /// Counts what a segment returned, or fails it when the run's outputs
    /// would then be over the limit (the value is then not kept).
    pub(crate) fn admit(&mut self, segment: &str, returned: &Value) -> Result<(), Failure> {
        let Value::Object(outputs) = returned else {
            let bytes = json_bytes(returned);
            return if fits(bytes, self.limit) { Ok(()) } else { Err(output_too_large(segment, bytes, self.limit)) };
        };
        let new: HashMap<&str, u64> = outputs.iter().map(|(k, v)| (k.as_str(), json_bytes(v))).collect();
        let kept: u64 = self.sizes.iter().filter(|(k, _)| !new.contains_key(k.as_str())).map(|(_, b)| b).sum();
        let total = kept + new.values().sum::<u64>();
        if !fits(total, self.limit) {
            return Err(output_too_large(segment, json_bytes(returned), self.limit));
        }
        self.sizes.extend(new.into_iter().map(|(k, b)| (k.to_owned(), b)));
        Ok(())
    }
}

fn fits(bytes: u64, limit: usize) -> bool {
    usize::try_from(bytes).is_ok_and(|b| b <= limit)
}

/// `OUTPUT_TOO_LARGE` for `segment`, which returned `bytes` of JSON.
pub fn output_too_large(segment: &str, bytes: u64, limit: usize) -> Failure {
    let message = format!(
        "the segment returned {} of JSON; the run's outputs may hold at most {} (--max-output-bytes)",
        size(bytes),
        size(limit as u64)
    );
    Failure::new(ErrorCode::OutputTooLarge, Some(segment), message)
}

/// The console lines of one segment execution, cut at the limits.
pub(crate) struct LogBudget {
    lines_left: usize,
    bytes_left: usize,
    /// Lines not kept (or kept cut) since a limit was reached.
    truncated: u64,
}

impl LogBudget {
    pub(crate) fn new(limits: &Limits) -> LogBudget {
        LogBudget { lines_left: limits.log_lines, bytes_left: limits.log_bytes, truncated: 0 }
    }

    /// The line to keep, cut to the bytes left, or none once a limit is reached.
    /// Takes masked text, so that a cut never leaves half a secret unmasked.
    pub(crate) fn admit(&mut self, text: Masked) -> Option<Masked> {
        if self.lines_left == 0 || self.bytes_left == 0 {
            self.truncated += 1;
            return None;
        }
        if text.len() > self.bytes_left {
            self.truncated += 1;
        }
        let text = text.truncated(self.bytes_left);
        self.lines_left -= 1;
        self.bytes_left -= text.len();
        Some(text)
    }

    /// The marker closing a segment's logs when some were cut or dropped.
    pub(crate) fn marker(&self) -> Option<String> {
        (self.truncated > 0).then(|| {
            let lines = if self.truncated == 1 { "line" } else { "lines" };
            format!("… {} more {lines} truncated (segment log limit)", self.truncated)
        })
    }
}

/// `1.5 MiB (1572864 bytes)`, `12.0 KiB (12288 bytes)` or `300 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB ({b} bytes)", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB ({b} bytes)", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::redact::Redactor;

    #[test]
    fn outputs_count_the_latest_value_of_each_key() {
        let mut budget = OutputBudget::new(20);
        budget.admit("a", &json!({"x": "0123456789"})).expect("12 bytes fit");
        // Overwriting x replaces its size instead of adding to it.
        budget.admit("a", &json!({"x": "0123456789"})).expect("still 12 bytes");
        let failure = budget.admit("b", &json!({"y": "0123456789"})).expect_err("24 bytes do not fit");
        assert_eq!(failure.code, ErrorCode::OutputTooLarge);
        assert_eq!(failure.segment.as_deref(), Some("b"));
        assert!(failure.message.contains("at most 20 bytes"), "{}", failure.message);
        // The refused value was not counted.
        budget.admit("c", &json!({"z": 1})).expect("13 bytes fit");
        assert!(budget.admit("d", &json!("x".repeat(30))).is_err(), "a non-object counts whole");
    }

    #[test]
    fn logs_are_cut_at_lines_and_bytes_and_counted() {
        let limits = Limits { log_lines: 2, log_bytes: 8, ..Limits::default() };
        let mut budget = LogBudget::new(&limits);
        // No secrets: masking changes nothing, it only gives the text its type.
        let none = Redactor::default();
        let admit = |budget: &mut LogBudget, text: &str| budget.admit(none.mask(text)).map(Masked::into_inner);
        assert_eq!(admit(&mut budget, "abc").as_deref(), Some("abc"));
        assert_eq!(budget.marker(), None);
        assert_eq!(admit(&mut budget, "défghij").as_deref(), Some("défg"), "cut on a character boundary");
        assert_eq!(admit(&mut budget, "more"), None);
        assert_eq!(budget.marker().as_deref(), Some("… 2 more lines truncated (segment log limit)"));

        let mut budget = LogBudget::new(&Limits { log_lines: 1, ..Limits::default() });
        assert!(admit(&mut budget, "one").is_some());
        assert_eq!(admit(&mut budget, "two"), None);
        assert_eq!(budget.marker().as_deref(), Some("… 1 more line truncated (segment log limit)"));
    }
}
