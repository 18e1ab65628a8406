//! Live progress on stderr: a line per segment execution and the code's
//! console output. Every text arriving here is `Masked` and plain (the runner
//! strips terminal escapes); colours are added only when stderr is a terminal,
//! so logs and pipes never receive escape codes.

use std::io::IsTerminal as _;

use engine::Mode;
use executor::{Observer, Record, SegmentRecord, SegmentStatus};

pub struct Progress {
    /// Whether stderr is a terminal, where the status marks are coloured.
    colour: bool,
}

impl Progress {
    pub fn on_stderr() -> Progress {
        Progress { colour: std::io::stderr().is_terminal() }
    }

    /// `mark` in green (`ok`) or red (`FAILED`) on a terminal, plain elsewhere.
    fn paint(&self, mark: &str, ok: bool) -> String {
        match (self.colour, ok) {
            (false, _) => mark.to_owned(),
            (true, true) => format!("\u{1b}[32m{mark}\u{1b}[0m"),
            (true, false) => format!("\u{1b}[31m{mark}\u{1b}[0m"),
        }
    }
}

impl Observer for Progress {
    fn record(&mut self, record: &Record) {
        match record {
            Record::Log { segment, text } => {
                for line in text.lines() {
                    eprintln!("    {segment} | {line}");
                }
            }
            Record::Warning(text) => eprintln!("warning: {text}"),
            Record::SegmentFinished(r) => self.finished(r),
            Record::SegmentStarted { .. } => {}
        }
    }
}

impl Progress {
    fn finished(&self, r: &SegmentRecord) {
        let ok = r.status == SegmentStatus::Completed;
        // Padded before painting: escape codes have no width on screen.
        let mark = self.paint(&format!("{:<6}", if ok { "ok" } else { "FAILED" }), ok);
        let how = match r.mode {
            Mode::Code => "code",
            Mode::Agent => "agent",
            Mode::AiFallback => "AI Fallback",
        };
        eprintln!("[{:>3}] {mark} {} ({how}) {} ms", r.sequence, r.name, r.duration.as_millis());
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
