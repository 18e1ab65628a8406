//! Where Node, the runner script, Chromium and bubblewrap are found. The
//! defaults are plain values; the environment (`SEGUE_NODE`, `PATH`, …) is read
//! by the caller (the CLI, the tests) and written into `Options`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sandbox::{Isolation, Limits};

/// How to start a runner.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `node` executable; a bare name is looked up in `search_path`.
    pub node: PathBuf,
    /// Folder holding `runner.js` and its `node_modules`.
    pub runner_dir: PathBuf,
    /// The Chromium executable (Debian's `chromium` by default).
    pub chromium: PathBuf,
    /// bubblewrap, which starts the sandbox; a bare name is looked up in `search_path`.
    pub bwrap: PathBuf,
    /// Folders searched for `node` and `bwrap` given as bare names (the caller's `PATH`).
    pub search_path: Vec<PathBuf>,
    /// The user sandboxes run as when segue runs as root (`nobody` by default).
    pub sandbox_uid: u32,
    pub headless: bool,
    /// The sandbox around Node and Chromium (on by default).
    pub isolation: Isolation,
    /// Where the run's browser and runner may connect. Public addresses only
    /// unless the caller opens more.
    pub egress: Arc<egress::Policy>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            node: PathBuf::from("node"),
            runner_dir: default_runner_dir(),
            chromium: PathBuf::from("/usr/bin/chromium"),
            bwrap: PathBuf::from("bwrap"),
            search_path: ["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from).to_vec(),
            sandbox_uid: 65534,
            headless: true,
            isolation: Isolation::Sandbox(Limits::default()),
            egress: Arc::new(egress::Policy::default()),
        }
    }
}

/// `runner-js/` beside the binary's checkout (`target/<profile>/segue` →
/// `runner-js/`), else the source tree this crate was built from.
fn default_runner_dir() -> PathBuf {
    let beside_binary = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors().skip(1).take(4).map(|dir| dir.join("runner-js")).find(|d| d.join("runner.js").is_file())
    });
    beside_binary.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runner-js"))
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
