//! Live progress on stderr: a line per segment execution and the code's
//! console output. Everything arriving here is already masked.

use engine::Mode;
use executor::{Observer, SegmentRecord, SegmentStatus};

pub struct Progress;

impl Observer for Progress {
    fn log(&mut self, segment: &str, text: &str) {
        for line in text.lines() {
            eprintln!("    {segment} | {line}");
        }
    }

    fn warning(&mut self, text: &str) {
        eprintln!("warning: {text}");
    }

    fn segment_finished(&mut self, r: &SegmentRecord) {
        let mark = match r.status {
            SegmentStatus::Completed => "ok",
            SegmentStatus::Failed => "FAILED",
        };
        let how = match r.mode {
            Mode::Code => "code",
            Mode::Agent => "agent",
            Mode::AiFallback => "AI Fallback",
        };
        eprintln!("[{:>3}] {:<6} {} ({how}) {} ms", r.sequence, mark, r.name, r.duration.as_millis());
    }
}
