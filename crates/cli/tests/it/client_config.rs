//! The client's configuration and output: `segue login` and contexts used without
//! any environment variable, `--url`/`--api-key`, workflows named instead of
//! their ids, case-insensitive values, tables, YAML, `runs start --wait`, and
//! shell completions. Each test talks to a real `segue serve`.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::{Server, segue_client_as};
use crate::support::{repo_root, text};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("client_config::login_contexts_and_names", login_contexts_and_names),
        Trial::test("client_config::runs_start_wait_prints_outputs", runs_start_wait_prints_outputs),
        Trial::test("client_config::completions_for_each_shell", completions_for_each_shell),
    ]
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn answered(out: &Output) -> String {
    format!("{}; stdout: {}; stderr: {}", out.status, text(&out.stdout).trim(), text(&out.stderr).trim())
}

/// `segue` with only the config file at `config` to tell it where the server is:
/// no SEGUE_URL, no SEGUE_API_KEY, and a data folder without an admin key.
fn segue_configured(config: &Path, empty_data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_segue"));
    command
        .args(args)
        .current_dir(repo_root())
        .env_remove("SEGUE_URL")
        .env_remove("SEGUE_API_KEY")
        .env_remove("XDG_CONFIG_HOME")
        .env("SEGUE_CONFIG", config)
        .env("SEGUE_DATA_DIR", empty_data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn segue");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("segue output")
}

/// A workflow of one logic segment returning `{ greeting: "hello" }`.
fn quick(name: &str) -> Value {
    json!({"name": name, "startSegmentName": "only",
        "outputParameters": [{"name": "greeting", "type": "string"}],
        "segments": [{"name": "only", "type": "logic", "prompt": null, "inputParameters": [],
            "outputParameters": [{"name": "greeting", "type": "string"}],
            "deterministic": "async () => ({ greeting: 'hello' })", "next": null, "router": null}]})
}

fn create(server: &Server, name: &str) -> Result<String, Failed> {
    let created = server.post("/v1/workflows", json!({"name": name, "definition": quick(name)}))?;
    Ok(created["id"].as_str().ok_or("an id")?.to_owned())
}

fn login_contexts_and_names() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&dir.path().join("data"), &["--workers", "0"])?;
    let home = tempfile::tempdir()?;
    let config = home.path().join("segue").join("config.toml");
    let empty = home.path().join("no-data");
    let cli = |args: &[&str]| segue_configured(&config, &empty, args, "");

    // Nothing configured: a clear error, not a guess.
    let none = cli(&["workflows", "list"]);
    check(!none.status.success() && text(&none.stderr).contains("segue login"), answered(&none))?;

    // A key the server refuses is not saved.
    let refused = cli(&["login", &server.base, "--api-key", "sk_wrong_0000000000"]);
    check(!refused.status.success() && !config.exists(), format!("a refused key: {}", answered(&refused)))?;

    // The key from stdin, as a script pipes it.
    let login = segue_configured(&config, &empty, &["login", &server.base, "--context", "local"], &server.key);
    check(login.status.success(), format!("login: {}", answered(&login)))?;
    let mode = std::fs::metadata(&config)?.permissions().mode() & 0o777;
    check(mode == 0o600, format!("the config file is the owner's only: {mode:o}"))?;
    check(
        !text(&login.stdout).contains(&server.key) && !text(&login.stderr).contains(&server.key),
        "login printed the key",
    )?;

    let listed = cli(&["contexts", "list"]);
    let shown = text(&listed.stdout);
    check(
        listed.status.success() && shown.contains("local") && shown.contains(&server.base) && shown.contains('*'),
        answered(&listed),
    )?;
    check(!shown.contains(&server.key), format!("contexts list masks the key: {shown}"))?;
    let as_json: Value = serde_json::from_slice(&cli(&["contexts", "list", "--json"]).stdout)?;
    check(as_json["data"][0]["name"] == "local" && as_json["data"][0]["current"] == true, as_json.to_string())?;

    // Workflows by name: unique resolves, shared is refused with the candidates.
    let unique = create(&server, "unique-flow")?;
    let twin_a = create(&server, "twin")?;
    let twin_b = create(&server, "twin")?;
    let got = cli(&["workflows", "get", "unique-flow", "--output", "yaml"]);
    check(got.status.success(), format!("get by name: {}", answered(&got)))?;
    let parsed: Value = serde_norway::from_slice(&got.stdout)?;
    check(parsed["id"] == unique.as_str() && parsed["name"] == "unique-flow", format!("YAML: {parsed}"))?;
    let ambiguous = cli(&["workflows", "get", "twin"]);
    let said = text(&ambiguous.stderr);
    check(
        ambiguous.status.code() == Some(2) && said.contains(&twin_a) && said.contains(&twin_b),
        format!("an ambiguous name lists the candidates: {}", answered(&ambiguous)),
    )?;
    let missing = cli(&["workflows", "get", "nobody"]);
    check(missing.status.code() == Some(2) && text(&missing.stderr).contains("nobody"), answered(&missing))?;

    // A table: a header, then rows whose columns start where the header's do.
    let table = text(&cli(&["workflows", "list"]).stdout);
    let lines: Vec<&str> = table.lines().collect();
    check(lines.len() == 4 && lines[0].starts_with("ID  "), format!("a header and three rows: {table}"))?;
    let name_at = lines[0].find("NAME").ok_or("a NAME column")?;
    for row in &lines[1..] {
        let name = row.get(name_at..).unwrap_or_default();
        check(name.starts_with("unique-flow") || name.starts_with("twin"), format!("aligned: {table}"))?;
    }
    let yaml_page: Value = serde_norway::from_slice(&cli(&["workflows", "list", "-o", "YAML"]).stdout)?;
    check(yaml_page["data"].as_array().map(Vec::len) == Some(3), yaml_page.to_string())?;

    // Values in any case; an unknown one exits 2 before asking the server.
    for status in ["failed", "FAILED", "In_Progress", "timed-out"] {
        let runs = cli(&["runs", "list", "--status", status]);
        check(runs.status.success(), format!("--status {status}: {}", answered(&runs)))?;
    }
    let typed = cli(&["workflows", "list", "--type", "user_defined", "--json"]);
    check(typed.status.success(), answered(&typed))?;
    let bad = cli(&["runs", "list", "--status", "broken"]);
    check(bad.status.code() == Some(2), answered(&bad))?;

    // Flags beat the config: a wrong key on the command line is refused.
    let flagged = cli(&["workflows", "list", "--api-key", "sk_wrong_0000000000"]);
    check(flagged.status.code() == Some(2), format!("--api-key is used: {}", answered(&flagged)))?;

    // Logged out: nothing left to connect with, but flags still work.
    let logout = cli(&["logout"]);
    check(logout.status.success(), answered(&logout))?;
    let after = cli(&["workflows", "list"]);
    check(!after.status.success(), format!("no key after logout: {}", answered(&after)))?;
    let explicit = cli(&["workflows", "list", "--url", &server.base, "--api-key", &server.key, "--json"]);
    check(explicit.status.success(), format!("--url and --api-key: {}", answered(&explicit)))?;
    let saved = std::fs::read_to_string(&config)?;
    check(!saved.contains(&server.key), format!("logout removed the key: {saved}"))
}

fn runs_start_wait_prints_outputs() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "1"])?;
    let cli = |args: &[&str]| segue_client_as(&server, &server.key, args);
    create(&server, "greeter")?;
    let waited = cli(&["runs", "start", "greeter", "--wait"]);
    check(waited.status.success(), format!("--wait: {}", answered(&waited)))?;
    let outputs: Value = serde_json::from_slice(&waited.stdout)?;
    check(outputs == json!({"greeting": "hello"}), format!("the outputs on stdout: {outputs}"))?;
    let stderr = text(&waited.stderr);
    let id = stderr
        .split_whitespace()
        .find(|w| w.starts_with("run_"))
        .ok_or_else(|| format!("the run id on stderr: {stderr}"))?
        .to_owned();

    let shown = text(&cli(&["runs", "get", &id]).stdout);
    check(
        shown.contains("COMPLETED") && shown.contains("duration:") && shown.contains("\"greeting\": \"hello\""),
        format!("runs get shows status, duration and outputs: {shown}"),
    )?;
    let listed = text(&cli(&["runs", "list", "--status", "completed"]).stdout);
    check(
        listed.lines().next().is_some_and(|h| h.starts_with("ID") && h.contains("STATUS"))
            && listed.lines().nth(1).is_some_and(|r| r.starts_with(&id)),
        format!("a table with the run: {listed}"),
    )?;

    // Started without waiting: the id is the first thing printed.
    let started = cli(&["runs", "start", "greeter"]);
    check(started.status.success() && text(&started.stdout).starts_with("run_"), answered(&started))
}

fn completions_for_each_shell() -> Result<(), Failed> {
    for shell in ["bash", "zsh", "fish", "Bash"] {
        let out = crate::support::segue(&["completions", shell]);
        check(out.status.success() && text(&out.stdout).contains("segue"), format!("{shell}: {}", answered(&out)))?;
    }
    Ok(())
}
