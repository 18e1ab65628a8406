//! End-to-end tests of the `segue` binary: real Chromium, real Playwright,
//! the real demo site on 127.0.0.1.
//!
//! Table-driven: every `tests/validate/*.json` and `tests/run/*.json` in the
//! repository is one test, checked by `validate::check` or `run::check`.
//! Adding a case is adding a file. `SEGUE_BLESS=1` rewrites the expected
//! diagnostics of validation fixtures.

mod admin;
mod artifacts;
mod attacks;
mod client_config;
mod format_docs;
mod healing;
mod identities;
mod isolation;
mod jobs;
mod limits;
mod pack;
mod run;
mod secrets;
mod service;
mod support;
mod validate;
mod webhooks;

use libtest_mimic::{Arguments, Trial};

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = Vec::new();
    trials.extend(validate::trials());
    trials.extend(run::trials());
    trials.extend(isolation::trials());
    trials.extend(healing::trials());
    trials.extend(service::trials());
    trials.extend(secrets::trials());
    trials.extend(attacks::trials());
    trials.extend(limits::trials());
    trials.extend(admin::trials());
    trials.extend(artifacts::trials());
    trials.extend(identities::trials());
    trials.extend(jobs::trials());
    trials.extend(pack::trials());
    trials.extend(webhooks::trials());
    trials.extend(format_docs::trials());
    trials.extend(client_config::trials());
    let conclusion = libtest_mimic::run(&args, trials);
    attacks::shutdown();
    conclusion.exit();
}
