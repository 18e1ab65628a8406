//! What tests and benchmarks take from the environment, as `segue` itself
//! does (crates/cli/src/boundary.rs): libraries never read it.

use std::ffi::OsString;

/// Runner options on the programs the environment names (`SEGUE_NODE`,
/// `SEGUE_RUNNER_DIR`, `SEGUE_CHROMIUM`, `SEGUE_BWRAP`, `PATH`) and its sandbox
/// settings (`SEGUE_SANDBOX=off`, `SEGUE_SANDBOX_UID`).
pub fn runner_options() -> runner::Options {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let defaults = runner::Options::default();
    let sandbox_off = |v: OsString| matches!(v.to_ascii_lowercase().to_str(), Some("off" | "0" | "false" | "no"));
    runner::Options {
        node: var("SEGUE_NODE").map_or(defaults.node, Into::into),
        runner_dir: var("SEGUE_RUNNER_DIR").map_or(defaults.runner_dir, Into::into),
        chromium: var("SEGUE_CHROMIUM").map_or(defaults.chromium, Into::into),
        bwrap: var("SEGUE_BWRAP").map_or(defaults.bwrap, Into::into),
        search_path: var("PATH").map_or(defaults.search_path, |path| std::env::split_paths(&path).collect()),
        sandbox_uid: var("SEGUE_SANDBOX_UID").and_then(|v| v.to_str()?.parse().ok()).unwrap_or(defaults.sandbox_uid),
        isolation: if var("SEGUE_SANDBOX").is_some_and(sandbox_off) {
            runner::Isolation::Unsafe
        } else {
            defaults.isolation
        },
        ..defaults
    }
}

/// The PostgreSQL server tests may create databases on (`SEGUE_TEST_DATABASE_URL`), if any.
pub fn test_database_url() -> Option<String> {
    std::env::var("SEGUE_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}
