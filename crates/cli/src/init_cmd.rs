//! `segue init NAME`: a starter workflow to edit, valid as written.
//!
//! Writes `NAME.json` (NAME may name a folder that exists: `flows/prices`
//! writes `flows/prices.json`) and, beside it when absent, the JSON Schema as
//! `workflow.schema.json`, which the starter names in `$schema` so editors
//! check and complete it. JSON has no comments: the notes are `description`
//! fields, which segue ignores where the format has none.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::EXIT_INVALID;

/// The file the starter's `$schema` names, written beside it.
pub const SCHEMA_FILE: &str = "workflow.schema.json";

#[derive(clap::Args)]
pub struct Args {
    /// The workflow to create: writes NAME.json (an existing file is never overwritten).
    name: PathBuf,
}

pub fn main(args: Args) -> ExitCode {
    let path = document_path(&args.name);
    let Some(name) = path.file_stem().and_then(|s| s.to_str()).filter(|s| !s.trim().is_empty()) else {
        eprintln!("error: '{}' is not a usable workflow name", args.name.display());
        return ExitCode::from(EXIT_INVALID);
    };
    let mut text = serde_json::to_string_pretty(&starter(name)).expect("a Value serializes");
    text.push('\n');
    match create_new(&path, &text) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!("error: {} already exists; choose another name or remove it", path.display());
            return ExitCode::from(EXIT_INVALID);
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    eprintln!("wrote {}", path.display());

    // The schema is the one this segue checks against; an existing copy is the
    // user's to keep (it may be a newer one, or not ours at all).
    let schema_path = path.with_file_name(SCHEMA_FILE);
    let mut schema = serde_json::to_string_pretty(&workflow::schema::json_schema()).expect("a Value serializes");
    schema.push('\n');
    match create_new(&schema_path, &schema) {
        Ok(()) => eprintln!("wrote {}", schema_path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!("kept the existing {}", schema_path.display());
        }
        Err(e) => eprintln!("warning: cannot write {}: {e}; editors will not find the schema", schema_path.display()),
    }
    eprintln!("next: `segue validate {0}`, then `segue demo` and `segue run {0}`", path.display());
    ExitCode::SUCCESS
}

/// `NAME.json`, keeping a `.json` the user already typed.
fn document_path(name: &Path) -> PathBuf {
    if name.extension().is_some_and(|e| e == "json") { name.to_owned() } else { name.with_added_extension("json") }
}

/// Creates `path` with `text`, failing with `AlreadyExists` rather than
/// replacing a file (checked by the file system, so no race with another writer).
fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// The starter: the demo shop's search in three `ui` segments, each field a
/// reader is likely to change explained in a `description`.
fn starter(name: &str) -> Value {
    let query = json!({
        "name": "search_query",
        "type": "string",
        "required": true,
        "description": "What to search for. Give it with `--input search_query=mug`; the default is used otherwise.",
        "defaultValue": "mug",
        "options": null,
    });
    let title = json!({
        "name": "first_title",
        "type": "string",
        "required": true,
        "description": "Title of the first search result.",
        "defaultValue": null,
        "options": null,
    });
    json!({
        "$schema": SCHEMA_FILE,
        "name": name,
        "description": "A starter workflow: open the demo shop (`segue demo` serves it on 127.0.0.1:8077), \
            search it, read the first result. Each segment runs its `deterministic` code; when the code \
            throws, an AI agent does what its `prompt` says (set SEGUE_LLM_* to enable it). \
            Reference: docs/workflow-format.md. `description` fields are notes: segue ignores them.",
        "startSegmentName": "open_shop",
        "inputParameters": [query],
        "outputParameters": [title],
        "segments": [
            {
                "name": "open_shop",
                "description": "Navigation only: the next segment waits for what it needs on the page.",
                "type": "ui",
                "prompt": "Open http://127.0.0.1:8077/shop/.",
                "inputParameters": [],
                "outputParameters": [],
                "deterministic": "async (page, parameters) => { await page.goto('http://127.0.0.1:8077/shop/'); return {}; }",
                "next": "search",
                "router": null,
            },
            {
                "name": "search",
                "description": "A segment sees only the inputs it declares: search_query comes from the workflow's inputs by name.",
                "type": "ui",
                "prompt": "Search the shop for {{search_query}}.",
                "inputParameters": [query],
                "outputParameters": [],
                "deterministic": "async (page, parameters) => { const box = page.locator('#twotabsearchtextbox'); await box.waitFor({ state: 'attached', timeout: 30000 }); await box.fill(parameters.search_query); await page.keyboard.press('Enter'); return {}; }",
                "next": "read_first_result",
                "router": null,
            },
            {
                "name": "read_first_result",
                "description": "Returned outputs enter the shared state by name; the workflow's outputs are read from it at the end.",
                "type": "ui",
                "prompt": "Read the title of the first search result.",
                "inputParameters": [],
                "outputParameters": [title],
                "deterministic": "async (page, parameters) => { const card = page.locator('[data-component-type=\"s-search-result\"]').first(); await card.waitFor({ state: 'attached', timeout: 30000 }); const title = (await card.locator('h2 span').first().textContent())?.trim(); if (!title) throw new Error('the first result has no title'); return { first_title: title }; }",
                "next": null,
                "router": null,
            },
        ],
    })
}
