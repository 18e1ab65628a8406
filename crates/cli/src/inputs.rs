//! Workflow inputs from the command line: `--inputs FILE.json` then each
//! `--input NAME=VALUE`. `file` inputs may be given as `@path`.

use std::path::Path;

use serde_json::{Map, Value};
use workflow::{ParamType, Workflow, data_uri};

pub fn collect(
    workflow: &Workflow,
    inputs_file: Option<&Path>,
    pairs: &[String],
) -> Result<Map<String, Value>, String> {
    let files: Vec<&str> =
        workflow.input_parameters.iter().filter(|p| p.ty == ParamType::File).map(|p| p.name.as_str()).collect();
    collect_named(&files, inputs_file, pairs)
}

/// `collect` for inputs offered to several workflows (a job's): `file_inputs`
/// names the inputs that are files in any of them.
pub fn collect_named(
    file_inputs: &[&str],
    inputs_file: Option<&Path>,
    pairs: &[String],
) -> Result<Map<String, Value>, String> {
    let mut given = match inputs_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(format!("{} must hold a JSON object of inputs", path.display()));
                }
                Err(e) => return Err(format!("{} is not valid JSON: {e}", path.display())),
            }
        }
        None => Map::new(),
    };
    for pair in pairs {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| format!("--input '{pair}' must look like NAME=VALUE"))?;
        given.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    for &name in file_inputs {
        if let Some(Value::String(v)) = given.get(name)
            && let Some(path) = v.strip_prefix('@')
        {
            let uri = file_to_data_uri(Path::new(path)).map_err(|e| format!("input '{name}': {e}"))?;
            given.insert(name.to_owned(), Value::String(uri));
        }
    }
    Ok(given)
}

fn file_to_data_uri(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(data_uri::encode(mime_for(path), name.as_deref(), &bytes))
}

fn mime_for(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("html" | "htm") => "text/html",
        Some("xml") => "application/xml",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}
