//! Live progress on stderr: a line per segment execution and the code's
//! console output. Every text arriving here is `Masked`.

use engine::{Masked, Mode};
use executor::{Observer, SegmentRecord, SegmentStatus};

pub struct Progress;

impl Observer for Progress {
    fn log(&mut self, segment: &str, text: &Masked) {
        for line in text.lines() {
            eprintln!("    {segment} | {line}");
        }
    }

    fn warning(&mut self, text: &Masked) {
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
        if let Some(f) = &r.fallback_from {
            eprintln!(
                "      code failed first ({}): {}",
                f.code.as_str(),
                f.message.lines().next().unwrap_or_default()
            );
        }
        // Code's console output was printed as it came; the agent's turns are printed here.
        if r.mode != Mode::Code {
            for line in r.logs.iter().skip_while(|l| !l.starts_with("model turn ")) {
                eprintln!("    {} | {line}", r.name);
            }
        }
    }
}
