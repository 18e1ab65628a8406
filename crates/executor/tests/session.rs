//! Browser sessions in real Chromium against the demo site: a login run hands
//! its cookies to the next run, and a browser never silently replaces a session.

use std::sync::Arc;

use runner::{Browser, SessionOptions};
use serde_json::{Map, Value, json};

const EXAMPLE_BASE: &str = "http://127.0.0.1:8077";

async fn demo() -> String {
    let (addr, _) = demo::spawn("127.0.0.1:0".parse().unwrap()).await.expect("demo site");
    format!("http://{addr}")
}

async fn browser() -> runner::Runner {
    // The demo site is on loopback.
    let options = runner::Options { egress: Arc::new(runner::Policy::private_network()), ..testkit::runner_options() };
    runner::Runner::start(&options).await.expect("browser runner (scripts/setup.sh installs it)")
}

fn example(name: &str, base: &str) -> Arc<workflow::Workflow> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    let text = std::fs::read_to_string(path).expect("example").replace(EXAMPLE_BASE, base);
    Arc::new(workflow::check(&text).workflow.expect("valid example"))
}

/// One segment reading the account page, which needs a signed-in session.
fn read_account(base: &str) -> Arc<workflow::Workflow> {
    let code = format!(
        "async (page) => {{ await page.goto('{base}/account'); \
         if (!page.url().endsWith('/account')) throw new Error('not signed in: ' + page.url()); \
         return {{ account_number: (await page.getByTestId('account-number').textContent()).trim() }}; }}"
    );
    let doc = json!({
        "name": "read_account", "startSegmentName": "read",
        "outputParameters": [{"name": "account_number", "type": "string"}],
        "segments": [{"name": "read", "type": "logic", "prompt": null, "inputParameters": [],
                      "outputParameters": [{"name": "account_number", "type": "string"}],
                      "deterministic": code, "next": null, "router": null}]
    });
    Arc::new(workflow::check_value(&doc).workflow.expect("valid"))
}

fn inputs(workflow: &workflow::Workflow, given: Value) -> Map<String, Value> {
    engine::inputs::prepare(workflow, given.as_object().expect("object")).expect("inputs")
}

fn request(workflow: Arc<workflow::Workflow>, given: Value) -> executor::RunRequest {
    let inputs = inputs(&workflow, given);
    executor::RunRequest::new(workflow, inputs, executor::CancellationToken::new())
}

#[tokio::test]
async fn a_login_run_hands_its_session_to_the_next_run() {
    let base = demo().await;
    let mut browser = browser().await;
    let settings = executor::Settings::default();

    let mut login = request(
        example("login_with_otp.json", &base),
        json!({"username": demo::USERNAME, "password": demo::PASSWORD, "otp_code": demo::ONE_TIME_CODE}),
    );
    login.export_storage_state = true;
    let mut records = Vec::new();
    let outcome = executor::execute(login, &settings, &mut browser, &mut Kept(&mut records)).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let state = outcome.storage_state.expect("the session was exported");
    let session = state.secret_values();
    let cookies = state.as_json()["cookies"].as_array().expect("cookies");
    assert!(cookies.iter().any(|c| c["name"] == "session"), "the demo's session cookie");
    assert!(!session.is_empty());
    assert!(!format!("{state:?}").contains(&session[0]), "a storage state never prints its values");

    // Without it, the account page sends the run to the login form.
    let fresh = executor::execute(request(read_account(&base), json!({})), &settings, &mut browser, &mut ()).await;
    let failure = fresh.result.expect_err("a fresh session is signed out");
    assert!(failure.message.contains("not signed in"), "{failure}");

    // With it, the run starts signed in.
    let mut signed_in = request(read_account(&base), json!({}));
    signed_in.storage_state = Some(state);
    let outcome = executor::execute(signed_in, &settings, &mut browser, &mut ()).await;
    let outputs = outcome.result.expect("signed in by the login run's cookies");
    assert_eq!(outputs["account_number"], "ACC-20931");
    browser.shutdown().await;
}

/// An identity's authenticator secret gives the login its code as the code step
/// starts: the placeholder the run started with is never typed, and the fresh code
/// is masked like a secret.
#[tokio::test]
async fn a_login_types_the_one_time_code_of_the_moment() {
    let base = demo().await;
    let mut browser = browser().await;
    let logins = || async {
        let count: Value = reqwest::get(format!("{base}/login/count")).await.unwrap().json().await.unwrap();
        count["logins"].as_u64().unwrap()
    };
    let before = logins().await;
    let mut login = request(
        example("login_with_otp.json", &base),
        json!({"username": demo::USERNAME, "password": demo::PASSWORD, "otp_code": "000000"}),
    );
    login.one_time_codes = Some(executor::OneTimeCodes::from_base32(demo::TOTP_SECRET).unwrap());
    let mut records = Vec::new();
    let outcome = executor::execute(login, &executor::Settings::default(), &mut browser, &mut Kept(&mut records)).await;
    let outputs = outcome.result.expect("signed in with the code of the moment");
    assert_eq!(outputs["account_number"], "ACC-20931");
    assert_eq!(logins().await, before + 1, "one sign-in");
    let codes = executor::OneTimeCodes::from_base32(demo::TOTP_SECRET).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let shown = format!("{records:?}");
    for recent in [codes.code_at(now), codes.code_at(now.saturating_sub(30))] {
        assert!(!shown.contains(&recent), "the code {recent} shows in the records: {shown}");
    }
    browser.shutdown().await;
}

#[tokio::test]
async fn a_browser_refuses_to_open_a_second_session_over_an_open_one() {
    let mut browser = browser().await;
    browser.open(&SessionOptions::default()).await.expect("first session");
    let second = browser.open(&SessionOptions::default()).await.expect_err("a second open is refused");
    assert!(second.to_string().contains("already open"), "{second}");
    browser.close().await.expect("close");
    browser.open(&SessionOptions::default()).await.expect("a session after closing the last");
    browser.close().await.expect("close");
    browser.shutdown().await;
}

struct Kept<'a>(&'a mut Vec<executor::Record>);

impl executor::Observer for Kept<'_> {
    fn record(&mut self, record: &executor::Record) {
        self.0.push(record.clone());
    }
}
