//! Configuration is read only at the edge (the CLI, tests, benchmarks): no
//! library crate reads the environment outside its `#[cfg(test)]` code.

use std::path::{Path, PathBuf};

const LIBRARIES: &[&str] =
    &["agent", "egress", "engine", "executor", "runner", "server", "service", "store", "worker", "workflow"];

/// What reading the environment looks like.
const READS: &[&str] = &["env::var", "var_os", "from_env"];

#[test]
fn libraries_do_not_read_the_environment() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for name in LIBRARIES {
        let mut files = Vec::new();
        rust_files(&crates.join(name).join("src"), &mut files);
        assert!(!files.is_empty(), "crates/{name}/src has no Rust files");
        let test_only = test_only_files(&files);
        for file in files.iter().filter(|f| !test_only.contains(f)) {
            let text = std::fs::read_to_string(file).unwrap();
            for (line, code) in reads_outside_tests(&text) {
                found.push(format!("{}:{line}: {code}", file.strip_prefix(&crates).unwrap_or(file).display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library code reads the environment; read it in the CLI (or a test) and pass the value:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_skips_test_code_only() {
    let text = r#"
fn config() -> String {
    std::env::var("A").unwrap()
}

#[cfg(test)]
mod tests {
    fn nested() {
        if true { let _ = std::env::var_os("B"); }
    }
}

#[cfg(test)]
fn helper() { let _ = std::env::var("C"); }

fn after() { let _ = std::env::var_os("D"); }
"#;
    let lines: Vec<usize> = reads_outside_tests(text).into_iter().map(|(line, _)| line).collect();
    assert_eq!(lines, [3, 16]);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Files of modules declared `#[cfg(test)] mod name;`.
fn test_only_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut test_only = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            let Some(name) = pair[1].strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) else { continue };
            if pair[0] == "#[cfg(test)]" {
                // `lib.rs` and `mod.rs` hold their children beside them; `a.rs` in `a/`.
                let stem = file.file_stem().unwrap();
                let dir = match stem.to_str() {
                    Some("lib" | "main" | "mod") => file.parent().unwrap().to_owned(),
                    _ => file.with_extension(""),
                };
                test_only.push(dir.join(format!("{name}.rs")));
                test_only.push(dir.join(name).join("mod.rs"));
            }
        }
    }
    test_only
}

/// Lines (1-based) that read the environment, outside items marked `#[cfg(test)]`.
fn reads_outside_tests(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            skip_item(&mut lines);
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        if READS.iter().any(|read| code.contains(read)) {
            found.push((index + 1, line.trim().to_owned()));
        }
    }
    found
}

/// Skips the item after an attribute: attributes, then one line ending in `;`
/// or everything up to the brace that closes the item's first one.
fn skip_item<'a>(lines: &mut impl Iterator<Item = (usize, &'a str)>) {
    let mut depth = 0i64;
    let mut opened = false;
    for (_, line) in lines.by_ref() {
        let trimmed = line.trim();
        if !opened && trimmed.starts_with("#[") {
            continue;
        }
        for c in trimmed.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if (opened && depth <= 0) || (!opened && trimmed.ends_with(';')) {
            return;
        }
    }
}
