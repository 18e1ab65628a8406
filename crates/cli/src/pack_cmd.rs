//! `segue unpack FILE DIR` and `segue pack DIR`: segment code in `.js` files.
//!
//! `unpack` writes `DIR/workflow.json` with every segment's `deterministic`
//! code replaced by `{"file": "NAME.js"}` and the code in `DIR/NAME.js`;
//! `pack` reads them back into one document, checks it like `validate` and
//! prints it. A round trip gives back the same JSON value (key order
//! included); the `.js` files end with one newline that `pack` takes off
//! again, so an editor's final newline changes nothing.
//!
//! A folder is read like any document: each code file must stay inside it
//! (relative, no `..`, no link out) and be at most `js::MAX_CODE_LENGTH`
//! characters; `workflow.json` at most `MAX_DOCUMENT_BYTES`.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use workflow::js::MAX_CODE_LENGTH;

use crate::EXIT_INVALID;
use crate::validate_cmd::print_diagnostics;

/// The document in an unpacked folder.
pub const DOCUMENT: &str = "workflow.json";
/// Far above any document the service stores (`server::MAX_BODY_BYTES`); it
/// only keeps a wrong path (a device, a log) from being read whole.
const MAX_DOCUMENT_BYTES: u64 = 32 << 20;
/// A code file: `MAX_CODE_LENGTH` characters of up to 4 bytes and the newline.
const MAX_CODE_FILE_BYTES: u64 = MAX_CODE_LENGTH as u64 * 4 + 1;
/// Segment names longer than this are cut in file names.
const MAX_FILE_STEM: usize = 100;

#[derive(clap::Args)]
pub struct UnpackArgs {
    /// The workflow document (JSON).
    file: PathBuf,
    /// The folder to write workflow.json and the .js files to (created if missing; no file is overwritten).
    dir: PathBuf,
}

#[derive(clap::Args)]
pub struct PackArgs {
    /// A folder written by `segue unpack` (workflow.json and its .js files).
    dir: PathBuf,
    /// Write the document to this file (replacing it) instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Why a command refused: printed as `error: …`, exit 2.
struct Refused(String);

pub fn unpack(args: UnpackArgs) -> ExitCode {
    match unpack_inner(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refused(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn unpack_inner(args: &UnpackArgs) -> Result<(), Refused> {
    let mut document = read_document(&args.file)?;
    let segments = document
        .get_mut("segments")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Refused(format!("{} has no `segments` array", args.file.display())))?;
    let mut taken = HashSet::new();
    let mut files: Vec<(String, String)> = Vec::new();
    for (i, segment) in segments.iter_mut().enumerate() {
        let Some(segment) = segment.as_object_mut() else { continue };
        let code = match segment.get("deterministic") {
            Some(Value::String(code)) => code.clone(),
            Some(Value::Object(_)) => {
                let message = format!("segments[{i}].deterministic is already a file reference: pack the folder first");
                return Err(Refused(message));
            }
            _ => continue,
        };
        let file = file_name(segment.get("name").and_then(Value::as_str), i, &mut taken);
        segment.insert("deterministic".into(), json!({"file": file}));
        files.push((file, code + "\n"));
    }

    let mut text = serde_json::to_string_pretty(&document).expect("a Value serializes");
    text.push('\n');
    files.insert(0, (DOCUMENT.to_owned(), text));
    std::fs::create_dir_all(&args.dir).map_err(|e| Refused(format!("cannot create {}: {e}", args.dir.display())))?;
    // Every name is checked before the first is written, so a refusal leaves nothing half done.
    if let Some((existing, _)) = files.iter().find(|(name, _)| args.dir.join(name).symlink_metadata().is_ok()) {
        let path = args.dir.join(existing);
        return Err(Refused(format!("{} already exists; unpack into an empty folder", path.display())));
    }
    for (name, text) in &files {
        let path = args.dir.join(name);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        written.map_err(|e| Refused(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!("wrote {} and {} code files", args.dir.join(DOCUMENT).display(), files.len() - 1);
    Ok(())
}

/// A file name for a segment's code: its name with anything but letters,
/// digits, `_` and `-` replaced, cut, and made unique in the folder (case
/// blind, for file systems that are). The document names the file, so the
/// mapping need not be reversible.
fn file_name(segment: Option<&str>, index: usize, taken: &mut HashSet<String>) -> String {
    let stem: String = segment
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(MAX_FILE_STEM)
        .collect();
    let stem = if stem.trim_matches('_').is_empty() { format!("segment_{index}") } else { stem };
    let mut name = format!("{stem}.js");
    let mut n = 2;
    while !taken.insert(name.to_ascii_lowercase()) {
        name = format!("{stem}-{n}.js");
        n += 1;
    }
    name
}

pub fn pack(args: PackArgs) -> ExitCode {
    let document = match pack_inner(&args.dir) {
        Ok(document) => document,
        Err(problems) => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let checked = workflow::check_value(&document);
    print_diagnostics(&checked.diagnostics);
    if checked.errors().next().is_some() {
        eprintln!("{}: the packed document is not valid; nothing written", args.dir.display());
        return ExitCode::from(EXIT_INVALID);
    }
    let mut text = serde_json::to_string_pretty(&document).expect("a Value serializes");
    text.push('\n');
    match &args.output {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {}", path.display());
        }
    }
    ExitCode::SUCCESS
}

/// The folder's document with every file reference replaced by the file's
/// code, or every problem found (each with its JSON location).
fn pack_inner(dir: &Path) -> Result<Value, Vec<String>> {
    let mut document = read_document(&dir.join(DOCUMENT)).map_err(|Refused(m)| vec![m])?;
    let root = dir.canonicalize().map_err(|e| vec![format!("cannot read {}: {e}", dir.display())])?;
    let mut problems = Vec::new();
    let segments =
        document.get_mut("segments").and_then(Value::as_array_mut).map(Vec::as_mut_slice).unwrap_or_default();
    for (i, segment) in segments.iter_mut().enumerate() {
        let Some(Value::Object(reference)) = segment.get("deterministic") else { continue };
        let at = format!("segments[{i}].deterministic");
        match code_file(&root, reference) {
            Ok(code) => segment["deterministic"] = Value::String(code),
            Err(problem) => problems.push(format!("{at}: {problem}")),
        }
    }
    if problems.is_empty() { Ok(document) } else { Err(problems) }
}

/// The code a `{"file": "NAME.js"}` reference names, inside `root`.
fn code_file(root: &Path, reference: &Map<String, Value>) -> Result<String, String> {
    let name = match reference.get("file") {
        Some(Value::String(name)) if reference.len() == 1 => name,
        _ => return Err("must be code (a string) or {\"file\": \"NAME.js\"}".into()),
    };
    let relative = Path::new(name);
    let plain = !name.is_empty() && relative.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(format!("'{name}' must be a path inside the folder: relative, without `..`"));
    }
    let path = root.join(relative);
    let real = path.canonicalize().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !real.starts_with(root) {
        return Err(format!("'{name}' leads out of the folder (through a link)"));
    }
    let mut code = read_bounded(&real, MAX_CODE_FILE_BYTES)
        .map_err(|e| format!("{e}; code is at most {MAX_CODE_LENGTH} characters"))?;
    // `unpack` ends each file with one newline; editors keep or add it.
    if code.ends_with('\n') {
        code.pop();
    }
    let chars = code.chars().count();
    if chars > MAX_CODE_LENGTH {
        return Err(format!("{name} holds {chars} characters of code; at most {MAX_CODE_LENGTH} are allowed"));
    }
    Ok(code)
}

/// A JSON object read from `path`, at most `MAX_DOCUMENT_BYTES`.
fn read_document(path: &Path) -> Result<Value, Refused> {
    let text = read_bounded(path, MAX_DOCUMENT_BYTES).map_err(Refused)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Refused(format!("{} is not a JSON object", path.display()))),
        Err(e) => Err(Refused(format!("{} is not valid JSON: {e}", path.display()))),
    }
}

/// The text of a regular file of at most `max` bytes. Reads one byte more
/// than allowed rather than trusting the size it had when looked at.
fn read_bounded(path: &Path, max: u64) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let meta = file.metadata().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!("{} is larger than {max} bytes", path.display()));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}
