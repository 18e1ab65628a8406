//! `segue identities` against a real `segue serve`: credentials from the command
//! line and from files, never printed back.

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::service::{Server, example, segue_client_as};
use crate::support::{demo_base, text};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("identities::created_listed_rotated_and_deleted_from_the_cli", created_listed_rotated_and_deleted),
        Trial::test("identities::logged_in_and_run_as_from_the_cli", logged_in_and_run_as),
        Trial::test("identities::segue_run_asks_for_a_code_when_the_login_needs_it", run_asks_for_a_code),
        Trial::test("identities::a_waiting_run_gets_its_input_from_the_cli", waiting_run_gets_its_input),
    ]
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

const PASSWORD: &str = "cli-pw-5c8e1a-never-printed";

fn created_listed_rotated_and_deleted() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&dir.path().join("data"), &["--workers", "0"])?;
    let cli = |args: &[&str]| segue_client_as(&server, &server.key, args);
    let file = dir.path().join("password.txt");
    std::fs::write(&file, format!("{PASSWORD}\n"))?;
    let from_file = format!("password=@{}", file.display());

    let created = cli(&[
        "identities",
        "create",
        "shop",
        "--source-provider",
        "demo-shop",
        "--credential",
        "username=demo",
        "--credential",
        &from_file,
        "--json",
    ]);
    check(created.status.success(), text(&created.stderr))?;
    let identity: Value = serde_json::from_slice(&created.stdout)?;
    let id = identity["id"].as_str().ok_or("an id")?.to_owned();
    check(identity["credentialNames"] == serde_json::json!(["password", "username"]), identity.to_string())?;

    let listed = cli(&["identities", "list"]);
    let line = text(&listed.stdout);
    check(line.contains(&id) && line.contains("NONE") && line.contains("password,username"), line.clone())?;
    let rotated =
        cli(&["identities", "update", &id, "--credential", "password=other-pw", "--session-ttl-seconds", "60"]);
    check(rotated.status.success(), text(&rotated.stderr))?;
    let shown = cli(&["identities", "get", &id, "--json"]);
    let shown: Value = serde_json::from_slice(&shown.stdout)?;
    check(
        shown["credentialNames"] == serde_json::json!(["password"]) && shown["sessionTtlSeconds"] == 60.0,
        shown.to_string(),
    )?;
    let forgotten = cli(&["identities", "forget-session", &id]);
    check(forgotten.status.success(), text(&forgotten.stderr))?;

    // Asked for on a terminal only: without one, a clear error and nothing created.
    let asked = cli(&["identities", "create", "bank", "--source-provider", "bank", "--credential", "password"]);
    check(!asked.status.success() && text(&asked.stderr).contains("password=@FILE"), text(&asked.stderr))?;
    let twice = cli(&["identities", "create", "shop", "--source-provider", "demo-shop", "--credential", "a=1"]);
    check(twice.status.code() == Some(2) && text(&twice.stderr).contains("already exists"), text(&twice.stderr))?;

    let everything = [&created, &listed, &rotated]
        .iter()
        .map(|o| format!("{}{}", text(&o.stdout), text(&o.stderr)))
        .collect::<String>();
    check(!everything.contains(PASSWORD) && !everything.contains("other-pw"), "a credential was printed")?;

    let deleted = cli(&["identities", "delete", &id]);
    check(deleted.status.success(), text(&deleted.stderr))?;
    let gone = cli(&["identities", "get", &id]);
    check(gone.status.code() == Some(2), format!("a deleted identity is not found: {}", text(&gone.stderr)))
}

/// `segue identities login --watch` signs the identity in with its LOGIN workflow
/// (password and TOTP code); `segue runs start --identity` then runs signed in.
fn logged_in_and_run_as() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&dir.path().join("data"), &["--workers", "1"])?;
    let cli = |args: &[&str]| segue_client_as(&server, &server.key, args);
    let login = dir.path().join("login.json");
    std::fs::write(&login, example("login_with_otp.json")?.to_string())?;
    let created =
        cli(&["workflows", "create", login.to_str().unwrap(), "--type", "LOGIN", "--source-provider", "demo-login"]);
    check(created.status.success(), text(&created.stderr))?;
    let secret = format!("totp_secret={}", demo::TOTP_SECRET);
    let identity = cli(&[
        "identities",
        "create",
        "demo",
        "--source-provider",
        "demo-login",
        "--credential",
        "username=demo",
        "--credential",
        "password=demo-password",
        "--credential",
        &secret,
        "--json",
    ]);
    check(identity.status.success(), text(&identity.stderr))?;
    let id = serde_json::from_slice::<Value>(&identity.stdout)?["id"].as_str().ok_or("id")?.to_owned();

    let logged_in = cli(&["identities", "login", &id, "--watch"]);
    check(logged_in.status.success(), format!("the login: {}", text(&logged_in.stderr)))?;
    let shown: Value = serde_json::from_slice(&cli(&["identities", "get", &id, "--json"]).stdout)?;
    check(shown["session"]["status"] == "ACTIVE", shown.to_string())?;

    let account = serde_json::json!({
        "name": "read_account", "startSegmentName": "read",
        "outputParameters": [{"name": "account_number", "type": "string", "required": true}],
        "segments": [{"name": "read", "type": "ui", "prompt": "Read the account number.", "inputParameters": [],
            "outputParameters": [{"name": "account_number", "type": "string", "required": true}],
            "deterministic": format!("async (page) => {{ await page.goto('{}/account'); return {{ account_number: (await page.getByTestId('account-number').textContent()).trim() }}; }}", demo_base()),
            "next": null, "router": null}]});
    let doc = dir.path().join("account.json");
    std::fs::write(&doc, account.to_string())?;
    let wf = cli(&["workflows", "create", doc.to_str().unwrap(), "--json"]);
    let wf = serde_json::from_slice::<Value>(&wf.stdout)?["id"].as_str().ok_or("workflow id")?.to_owned();
    let run = cli(&["runs", "start", &wf, "--identity", &id, "--watch", "--json"]);
    check(run.status.success(), format!("the run as the identity: {}", text(&run.stderr)))?;
    let run: Value = serde_json::from_slice(&run.stdout)?;
    check(run["outputs"]["account_number"] == "ACC-20931" && run["loginRunId"].is_null(), run.to_string())
}

/// `segue run --ask otp_code` asks for the code when the segment typing it starts,
/// reading the answer from stdin, and masks it.
fn run_asks_for_a_code() -> Result<(), Failed> {
    use std::io::Write as _;
    let dir = tempfile::tempdir()?;
    let login = dir.path().join("login.json");
    std::fs::write(&login, example("login_with_otp.json")?.to_string())?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_segue"))
        .args(["run", login.to_str().unwrap(), "--input", "username=demo", "--input", "password=demo-password"])
        .args(["--ask", "otp_code"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or("stdin")?.write_all(format!("{}\n", demo::ONE_TIME_CODE).as_bytes())?;
    let done = child.wait_with_output()?;
    let (out, err) = (text(&done.stdout), text(&done.stderr));
    check(done.status.success() && out.contains("ACC-20931"), format!("{out}\n{err}"))?;
    check(err.contains("otp_code: "), format!("asked on stderr: {err}"))?;
    check(!out.contains(demo::ONE_TIME_CODE) && !err.contains(demo::ONE_TIME_CODE), "the code is masked")
}

/// `segue runs start --defer NAME` queues a run that waits for a person;
/// `segue runs input` gives it the value and it goes on.
fn waiting_run_gets_its_input() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&dir.path().join("data"), &["--workers", "1"])?;
    let cli = |args: &[&str]| segue_client_as(&server, &server.key, args);
    let doc = crate::support::repo_root().join("tests/workflows/echo_note.json");
    let wf = cli(&["workflows", "create", doc.to_str().unwrap(), "--json"]);
    let wf = serde_json::from_slice::<Value>(&wf.stdout)?["id"].as_str().ok_or("workflow id")?.to_owned();
    let started = cli(&["runs", "start", &wf, "--defer", "note", "--json"]);
    check(started.status.success(), text(&started.stderr))?;
    let run = serde_json::from_slice::<Value>(&started.stdout)?["id"].as_str().ok_or("run id")?.to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now: Value = serde_json::from_slice(&cli(&["runs", "get", &run, "--json"]).stdout)?;
        if now["status"] == "AWAITING_USER_INPUT" {
            break;
        }
        check(std::time::Instant::now() < deadline, format!("never waited: {now}"))?;
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let given = cli(&["runs", "input", &run, "--input", "note=from the command line"]);
    check(given.status.success(), text(&given.stderr))?;
    let watched = cli(&["runs", "watch", &run, "--json"]);
    let done: Value = serde_json::from_slice(&watched.stdout)?;
    check(done["outputs"]["echoed"] == "from the command line", done.to_string())?;
    let again = cli(&["runs", "input", &run, "--input", "note=late"]);
    check(again.status.code() == Some(2), format!("not waiting any more: {}", text(&again.stderr)))
}
