//! The examples of `docs/workflow-format.md`: every ```json block is JSON, and
//! every one that is a whole workflow passes `check` without a diagnostic and
//! passes the published schema.

use std::path::Path;

use serde_json::Value;

/// The text of each fenced block of `language` in `markdown`, with its line number.
fn fenced_blocks(markdown: &str, language: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut open {
            None if line.trim_start().strip_prefix("```") == Some(language) => open = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.push(open.take().expect("open block")),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(open.is_none(), "a ```{language} block is not closed");
    blocks
}

#[test]
fn workflow_format_examples_are_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/workflow-format.md");
    let markdown = std::fs::read_to_string(&path).expect("docs/workflow-format.md");
    let schema = jsonschema::validator_for(&workflow::schema::json_schema()).expect("schema");
    let mut workflows = 0;
    for (line, text) in fenced_blocks(&markdown, "json") {
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("line {line}: not JSON: {e}"));
        if value.get("segments").is_none() {
            continue;
        }
        workflows += 1;
        let checked = workflow::check(&text);
        let shown: Vec<String> = checked.diagnostics.iter().map(ToString::to_string).collect();
        assert!(shown.is_empty(), "the example at line {line}:\n{}", shown.join("\n"));
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "the schema refuses the example at line {line}: {errors:?}");
    }
    assert!(workflows >= 4, "only {workflows} complete workflows found in the examples");
}
