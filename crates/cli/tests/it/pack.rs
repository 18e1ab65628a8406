//! `segue init`, `segue unpack` and `segue pack` through the binary: the
//! starter is valid and runs, nothing is overwritten, round trips give back
//! the same document, and folders cannot reach outside themselves.

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::{EXAMPLE_BASE, demo_base, fixtures, repo_root, segue, text};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("init::starter_is_valid_and_never_overwritten", starter_is_valid_and_never_overwritten),
        Trial::test("init::starter_runs_against_the_demo_shop", starter_runs_against_the_demo_shop),
        Trial::test("pack::unpack_then_pack_gives_back_the_document", round_trips),
        Trial::test("pack::refuses_files_outside_the_folder_or_too_large", refuses_files_outside_or_too_large),
        Trial::test("pack::refuses_to_overwrite_and_to_pack_an_invalid_document", refuses_overwrite_and_invalid),
    ]
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

fn read_json(path: &Path) -> Result<Value, Failed> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn starter_is_valid_and_never_overwritten() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("flows"))?;
    let name = dir.path().join("flows/prices");
    let out = segue(&["init", arg(&name)]);
    check(out.status.code() == Some(0), format!("init: {}", text(&out.stderr)))?;
    let file = dir.path().join("flows/prices.json");
    let document = read_json(&file)?;
    check(document["name"] == "prices", format!("named after the file: {}", document["name"]))?;
    check(document["$schema"] == "workflow.schema.json", "names the schema beside it")?;
    let schema = std::fs::read_to_string(dir.path().join("flows/workflow.schema.json"))?;
    let published = std::fs::read_to_string(repo_root().join("docs/workflow.schema.json"))?;
    check(schema == published, "the schema written is the published one")?;

    let out = segue(&["validate", arg(&file)]);
    let stderr = text(&out.stderr);
    check(out.status.code() == Some(0), format!("the starter is valid: {stderr}"))?;
    check(!stderr.contains("warning"), format!("the starter has no lint warnings: {stderr}"))?;

    // A second init, with or without `.json`, changes nothing and says which file is in the way.
    std::fs::write(&file, "{\"mine\": true}")?;
    for again in [arg(&name).to_owned(), arg(&file).to_owned()] {
        let out = segue(&["init", &again]);
        let stderr = text(&out.stderr);
        check(out.status.code() == Some(2), format!("existing file: exit 2, got {:?}", out.status.code()))?;
        check(stderr.contains(&format!("{} already exists", file.display())), stderr)?;
    }
    check(std::fs::read_to_string(&file)? == "{\"mine\": true}", "the existing file is untouched")
}

fn starter_runs_against_the_demo_shop() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let out = segue(&["init", arg(&dir.path().join("shop"))]);
    check(out.status.code() == Some(0), text(&out.stderr))?;
    let file = dir.path().join("shop.json");
    let document = std::fs::read_to_string(&file)?.replace(EXAMPLE_BASE, &demo_base());
    std::fs::write(&file, document)?;
    let out = segue(&["run", arg(&file)]);
    check(out.status.code() == Some(0), format!("run: {}", text(&out.stderr)))?;
    let outputs: Value = serde_json::from_slice(&out.stdout)?;
    check(outputs == json!({"first_title": "Stainless Steel Travel Mug 16oz"}), outputs.to_string())
}

/// A document whose segment names and code test the edges of unpacking:
/// names that are not file names, that differ only in case, code that ends
/// with a newline or holds `\r\n`, and segments without code.
fn awkward() -> Value {
    let code = |body: &str| format!("async (page, parameters) => {{ {body} return {{}}; }}");
    json!({
        "$schema": "workflow.schema.json",
        "name": "awkward",
        "startSegmentName": "../up",
        "segments": [
            {"name": "../up", "type": "logic", "prompt": null, "deterministic": code("const a = 1;\r\n"), "next": "A"},
            {"name": "A", "type": "logic", "deterministic": code("// ends with a newline\n") + "\n", "next": "a"},
            {"name": "a", "type": "logic", "deterministic": code(""), "next": "/etc/passwd"},
            {"name": "/etc/passwd", "type": "ui", "prompt": "Do it.", "deterministic": null, "next": "ünïcødé 名前"},
            {"name": "ünïcødé 名前", "type": "agent", "prompt": "Decide.", "next": "workflow"},
            {"name": "workflow", "type": "network", "prompt": "Read it.", "deterministic": code(""), "next": null},
        ],
    })
}

fn round_trips() -> Result<(), Failed> {
    let mut documents: Vec<(String, Value)> = vec![("awkward".into(), awkward())];
    for file in fixtures("examples") {
        documents.push((file.display().to_string(), read_json(&file)?));
    }
    for (name, document) in documents {
        let dir = tempfile::tempdir()?;
        let original = dir.path().join("original.json");
        std::fs::write(&original, serde_json::to_string(&document)?)?;
        let folder = dir.path().join("unpacked");
        let out = segue(&["unpack", arg(&original), arg(&folder)]);
        check(out.status.code() == Some(0), format!("{name}: unpack: {}", text(&out.stderr)))?;

        // Every code file is a plain name inside the folder, one per segment with code.
        let skeleton = read_json(&folder.join("workflow.json"))?;
        let with_code =
            document["segments"].as_array().into_iter().flatten().filter(|s| s["deterministic"].is_string());
        let references: Vec<&str> = skeleton["segments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["deterministic"]["file"].as_str())
            .collect();
        check(references.len() == with_code.count(), format!("{name}: one file per code: {references:?}"))?;
        for reference in &references {
            let plain = reference.ends_with(".js") && !reference.contains(['/', '\\']) && !reference.starts_with('.');
            check(plain && folder.join(reference).is_file(), format!("{name}: file name {reference}"))?;
        }

        let out = segue(&["pack", arg(&folder)]);
        check(out.status.code() == Some(0), format!("{name}: pack: {}", text(&out.stderr)))?;
        let packed: Value = serde_json::from_slice(&out.stdout)?;
        check(packed == document, format!("{name}: pack gave back another document: {packed}"))?;
        // Key order too, not only equal values.
        let same_order = serde_json::to_string(&packed)? == serde_json::to_string(&document)?;
        check(same_order, format!("{name}: keys kept their order"))?;
    }

    // Editing a code file is what the folder is for: the change lands in the document.
    let dir = tempfile::tempdir()?;
    let original = dir.path().join("original.json");
    std::fs::write(&original, serde_json::to_string(&awkward())?)?;
    let folder = dir.path().join("unpacked");
    check(segue(&["unpack", arg(&original), arg(&folder)]).status.success(), "unpack")?;
    let edited = "async (page, parameters) => {\n  return {};\n}\n";
    let skeleton = read_json(&folder.join("workflow.json"))?;
    let file = skeleton["segments"][2]["deterministic"]["file"].as_str().unwrap_or_default();
    check(file == "a-2.js", format!("'a' comes after 'A' and takes the next name: {file}"))?;
    std::fs::write(folder.join(file), edited)?;
    let packed_file = dir.path().join("packed.json");
    let out = segue(&["pack", arg(&folder), "--output", arg(&packed_file)]);
    check(out.status.success() && out.stdout.is_empty(), format!("pack --output: {}", text(&out.stderr)))?;
    let packed = read_json(&packed_file)?;
    check(packed["segments"][2]["deterministic"] == edited.trim_end_matches('\n'), packed.to_string())?;
    let out = segue(&["validate", arg(&packed_file)]);
    check(out.status.success(), format!("the packed document validates: {}", text(&out.stderr)))
}

/// A folder whose first segment's code is `reference`.
fn folder_with(reference: Value) -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("flow"))?;
    let document = json!({"name": "w", "startSegmentName": "s", "segments": [
        {"name": "s", "type": "logic", "prompt": null, "deterministic": reference, "next": null}]});
    std::fs::write(dir.path().join("flow/workflow.json"), document.to_string())?;
    std::fs::write(dir.path().join("secret.js"), "async () => ({ stolen: true })")?;
    Ok(dir)
}

/// A file to put in the folder, by name (`link` and `bytes.js` are made specially).
type FileInFolder = Option<(&'static str, String)>;

fn refuses_files_outside_or_too_large() -> Result<(), Failed> {
    let too_long = "x".repeat(workflow::js::MAX_CODE_LENGTH + 1);
    let cases: Vec<(Value, FileInFolder, &str)> = vec![
        (json!({"file": "../secret.js"}), None, "must be a path inside the folder"),
        (json!({"file": "/etc/hostname"}), None, "must be a path inside the folder"),
        (json!({"file": "./"}), None, "must be a path inside the folder"),
        (json!({"file": "link.js"}), Some(("link", String::new())), "leads out of the folder"),
        (json!({"file": "missing.js"}), None, "cannot read"),
        (json!({"file": "s.js", "extra": 1}), None, "must be code (a string) or"),
        (json!({"file": "long.js"}), Some(("long.js", too_long)), "at most 65536 are allowed"),
        (json!({"file": "huge.js"}), Some(("huge.js", "x".repeat(300_000))), "is larger than 262145 bytes"),
        (json!({"file": "bytes.js"}), Some(("bytes.js", "\u{0}\u{ff}".into())), "is not UTF-8"),
    ];
    for (reference, file, expected) in cases {
        let dir = folder_with(reference.clone())?;
        let flow = dir.path().join("flow");
        match file {
            Some(("link", _)) => std::os::unix::fs::symlink(dir.path().join("secret.js"), flow.join("link.js"))?,
            Some(("bytes.js", _)) => std::fs::write(flow.join("bytes.js"), [0x66, 0xff, 0xfe])?,
            Some((name, contents)) => std::fs::write(flow.join(name), contents)?,
            None => {}
        }
        let out = segue(&["pack", arg(&flow)]);
        let stderr = text(&out.stderr);
        check(out.status.code() == Some(2), format!("{reference}: exit 2, got {:?}: {stderr}", out.status.code()))?;
        check(out.stdout.is_empty(), format!("{reference}: nothing on stdout"))?;
        check(
            stderr.contains("segments[0].deterministic: ") && stderr.contains(expected),
            format!("{reference}: expected '{expected}' in: {stderr}"),
        )?;
    }
    Ok(())
}

fn refuses_overwrite_and_invalid() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let original = dir.path().join("original.json");
    std::fs::write(&original, serde_json::to_string(&awkward())?)?;
    let folder = dir.path().join("unpacked");
    std::fs::create_dir(&folder)?;
    std::fs::write(folder.join("A.js"), "mine")?;
    let out = segue(&["unpack", arg(&original), arg(&folder)]);
    let stderr = text(&out.stderr);
    check(out.status.code() == Some(2), format!("unpack over a file: {stderr}"))?;
    check(stderr.contains(&format!("{} already exists", folder.join("A.js").display())), stderr)?;
    check(!folder.join("workflow.json").exists(), "nothing written when one file is in the way")?;
    check(std::fs::read_to_string(folder.join("A.js"))? == "mine", "the existing file is untouched")?;

    // Unpacking a folder's own document again is refused: it holds references, not code.
    std::fs::remove_file(folder.join("A.js"))?;
    check(segue(&["unpack", arg(&original), arg(&folder)]).status.success(), "unpack")?;
    let again = segue(&["unpack", arg(&folder.join("workflow.json")), arg(&dir.path().join("twice"))]);
    check(again.status.code() == Some(2) && text(&again.stderr).contains("already a file reference"), "unpack twice")?;

    // A code file broken by hand: pack checks the document and writes nothing.
    std::fs::write(folder.join("a-2.js"), "not a function")?;
    let out = segue(&["pack", arg(&folder)]);
    let stderr = text(&out.stderr);
    check(out.status.code() == Some(2) && out.stdout.is_empty(), format!("pack of an invalid document: {stderr}"))?;
    check(stderr.contains("error[bad-deterministic] segments[2].deterministic"), stderr)
}
