//! Where Node, the runner script and Chromium are found.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sandbox::Isolation;

/// How to start a runner.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `node` executable.
    pub node: PathBuf,
    /// Folder holding `runner.js` and its `node_modules`.
    pub runner_dir: PathBuf,
    /// The Chromium executable (Debian's `chromium` by default).
    pub chromium: PathBuf,
    pub headless: bool,
    /// The sandbox around Node and Chromium (on unless `SEGUE_SANDBOX=off`).
    pub isolation: Isolation,
    /// Where the run's browser and runner may connect. Public addresses only
    /// unless the caller opens more.
    pub egress: Arc<egress::Policy>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            node: std::env::var_os("SEGUE_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from),
            runner_dir: default_runner_dir(),
            chromium: default_chromium(),
            headless: true,
            isolation: Isolation::from_env(),
            egress: Arc::new(egress::Policy::default()),
        }
    }
}

/// `SEGUE_RUNNER_DIR`, else `runner-js/` beside the binary's checkout
/// (`target/<profile>/segue` → `runner-js/`), else the source tree this crate was built from.
pub fn default_runner_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SEGUE_RUNNER_DIR") {
        return PathBuf::from(dir);
    }
    let beside_binary = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors().skip(1).take(4).map(|dir| dir.join("runner-js")).find(|d| d.join("runner.js").is_file())
    });
    beside_binary.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runner-js"))
}

/// `SEGUE_CHROMIUM`, else Debian's `/usr/bin/chromium`.
pub fn default_chromium() -> PathBuf {
    std::env::var_os("SEGUE_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Flags Chromium needs on a closed network, without trying to reach the
/// internet in the background. (`--no-sandbox` is added only outside segue's
/// sandbox, where Chromium may be running as root.)
pub(crate) const CHROMIUM_ARGS: &[&str] = &[
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
];
