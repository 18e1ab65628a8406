//! The complete workflows of `docs/workflow-format.md` run against the demo
//! site and return what the page says they return (the workflow crate checks
//! that they are valid; this checks that they work).

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::{repo_root, segue, text, workflow_file};

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("docs::workflow_format_examples_run_against_the_demo", examples_run)]
}

fn examples_run() -> Result<(), Failed> {
    let expected = [
        (
            "first_result",
            vec!["--input", "search_query=mug"],
            json!({"first_title": "Stainless Steel Travel Mug 16oz"}),
        ),
        ("orders_total", vec![], json!({"orders_total": 1254.69})),
        ("dashboard_revenue", vec![], json!({"revenue": 1254.69})),
        ("minimal", vec![], json!({})),
    ];
    let markdown = std::fs::read_to_string(repo_root().join("docs/workflow-format.md"))?;
    let documents: Vec<String> = markdown
        .split("```json\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| block.contains("\"segments\""))
        .map(str::to_owned)
        .collect();
    if documents.len() != expected.len() {
        return Err(format!("{} complete examples, expected outputs for {}", documents.len(), expected.len()).into());
    }
    for document in documents {
        let name = serde_json::from_str::<Value>(&document)?["name"].as_str().unwrap_or_default().to_owned();
        let Some((_, args, outputs)) = expected.iter().find(|(n, _, _)| *n == name) else {
            return Err(format!("no expected outputs for the example '{name}'").into());
        };
        let file = workflow_file(&document);
        let mut command = vec!["run", file.path().to_str().expect("UTF-8 path")];
        command.extend(args);
        let out = segue(&command);
        if !out.status.success() {
            return Err(format!("{name}: {}", text(&out.stderr)).into());
        }
        let got: Value = serde_json::from_slice(&out.stdout)?;
        if got != *outputs {
            return Err(format!("{name}: printed {got}, the page says {outputs}").into());
        }
    }
    Ok(())
}
