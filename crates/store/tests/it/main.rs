//! One suite for every backend: each case runs on SQLite, and on PostgreSQL
//! when `SEGUE_TEST_DATABASE_URL` names a server (each case then gets a
//! database of its own, dropped afterwards).

mod backends;
mod cases;
mod coverage;
mod events;
mod guards;
mod jobs;
mod schema;
mod webhooks;

use libtest_mimic::{Arguments, Trial};

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for backend in backends::available() {
        for (name, case) in
            cases::ALL.iter().chain(guards::ALL).chain(events::ALL).chain(jobs::ALL).chain(webhooks::ALL)
        {
            let backend = backend.clone();
            trials.push(Trial::test(format!("{}::{name}", backend.name()), move || backend.run(*case)));
        }
    }
    trials.push(Trial::test("tenant_methods_are_all_covered", coverage::tenant_methods_are_all_covered));
    trials.push(Trial::test("schema_parity", schema::both_backends_define_the_same_tables_and_columns));
    libtest_mimic::run(&args, trials).exit();
}
