//! Flags for the trust boundary around workflow code: where runs may connect
//! and whether the sandbox is on. See docs/security.md.

use std::sync::Arc;

use runner::{Allowed, Isolation, Policy};

#[derive(clap::Args)]
pub struct BoundaryArgs {
    /// A host, host:port, `*.domain`, IP or CIDR that runs may reach whatever
    /// its address (repeatable; comma-separated in the environment).
    #[arg(long = "allow-host", env = "SEGUE_ALLOWED_HOSTS", value_delimiter = ',', value_name = "HOST|CIDR")]
    allowed_hosts: Vec<Allowed>,
    /// Run workflow code without the sandbox (it can then read this machine's
    /// files and reach its services): only for code you trust, on machines
    /// without user namespaces. Same as SEGUE_SANDBOX=off.
    #[arg(long)]
    unsafe_no_sandbox: bool,
}

impl BoundaryArgs {
    /// Runner options for this boundary, on the programs the environment names.
    pub fn runner_options(&self, allow_private: bool) -> runner::Options {
        let mut options = runner_from_environment();
        if self.unsafe_no_sandbox {
            options.isolation = Isolation::Unsafe;
        }
        if options.isolation == Isolation::Unsafe {
            eprintln!(
                "warning: the sandbox is off: workflow code can read this machine's files and reach its services"
            );
        }
        options.egress = Arc::new(Policy { allow_private, allowed: self.allowed_hosts.clone(), blocked: Vec::new() });
        options
    }
}

/// Where Node, the runner and Chromium are and how the sandbox starts:
/// `SEGUE_NODE`, `SEGUE_RUNNER_DIR`, `SEGUE_CHROMIUM` (README), `SEGUE_SANDBOX=off`,
/// `SEGUE_SANDBOX_UID` (docs/security.md), `SEGUE_BWRAP`, and `PATH` to find `node`
/// and `bwrap`; the runner's own defaults for what is unset.
fn runner_from_environment() -> runner::Options {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut options = runner::Options::default();
    if let Some(node) = var("SEGUE_NODE") {
        options.node = node.into();
    }
    if let Some(dir) = var("SEGUE_RUNNER_DIR") {
        options.runner_dir = dir.into();
    }
    if let Some(chromium) = var("SEGUE_CHROMIUM") {
        options.chromium = chromium.into();
    }
    if let Some(bwrap) = var("SEGUE_BWRAP") {
        options.bwrap = bwrap.into();
    }
    if let Some(path) = var("PATH") {
        options.search_path = std::env::split_paths(&path).collect();
    }
    if let Some(uid) = var("SEGUE_SANDBOX_UID").and_then(|v| v.to_str()?.parse().ok()) {
        options.sandbox_uid = uid;
    }
    let off = |v: std::ffi::OsString| matches!(v.to_ascii_lowercase().to_str(), Some("off" | "0" | "false" | "no"));
    if var("SEGUE_SANDBOX").is_some_and(off) {
        options.isolation = Isolation::Unsafe;
    }
    // `SEGUE_LOG=segue::boundary=debug` shows which runner a binary uses (the packaging test checks it).
    tracing::debug!(runner_dir = %options.runner_dir.display(), node = %options.node.display(), "runner");
    options
}

/// `--allow-private-network` for `serve` and `worker`, where it is off by default.
#[derive(clap::Args)]
pub struct PrivateNetworkArgs {
    /// Let runs reach loopback, private and link-local addresses (an intranet
    /// portal, a site on this machine). segue's own API and database ports and
    /// the cloud metadata address stay refused unless listed with --allow-host.
    #[arg(long, env = "SEGUE_ALLOW_PRIVATE_NETWORK", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_network: bool,
    #[command(flatten)]
    pub boundary: BoundaryArgs,
}
