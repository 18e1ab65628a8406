use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use workflow::{Checked, Diagnostic};

use crate::EXIT_INVALID;

#[derive(clap::Args)]
pub struct Args {
    /// The workflow document (JSON).
    file: PathBuf,
    /// Print the diagnostics as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn main(args: Args) -> ExitCode {
    let checked = match load(&args.file) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let valid = checked.errors().next().is_none();
    if args.json {
        let diagnostics: Vec<_> = checked.diagnostics.iter().map(diagnostic_json).collect();
        println!("{}", json!({"valid": valid, "diagnostics": diagnostics}));
    } else {
        print_diagnostics(&checked.diagnostics);
        if valid {
            let warnings = checked.diagnostics.len();
            eprintln!(
                "{}: valid{}",
                args.file.display(),
                if warnings > 0 { format!(" ({warnings} warnings)") } else { String::new() }
            );
        }
    }
    if valid { ExitCode::SUCCESS } else { ExitCode::from(EXIT_INVALID) }
}

/// Reads and checks a document file.
pub fn load(path: &std::path::Path) -> Result<Checked, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(workflow::check(&text))
}

pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

pub fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({"severity": d.severity.as_str(), "code": d.code, "location": d.location, "message": d.message})
}
