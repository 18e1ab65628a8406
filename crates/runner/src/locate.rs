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

/// Where the runner is when `SEGUE_RUNNER_DIR` does not say (the CLI applies
/// that override on top of this default).
fn default_runner_dir() -> PathBuf {
    let source_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runner-js");
    runner_dir_near(std::env::current_exe().ok().as_deref()).unwrap_or(source_tree)
}

/// The runner folder found from the executable's path, in this order:
/// `<prefix>/lib/segue/runner-js` for `<prefix>/bin/segue` (the archive of
/// `scripts/package.sh`, the Docker image), then `runner-js/` in one of the
/// four folders above the executable (a checkout: `target/<profile>/segue`,
/// `target/<profile>/deps/<test>`). `None` when neither holds `runner.js`;
/// the caller then falls back to the source tree segue was built from.
fn runner_dir_near(exe: Option<&Path>) -> Option<PathBuf> {
    let exe_dir = exe?.parent()?;
    let installed = exe_dir.parent().map(|prefix| prefix.join("lib/segue/runner-js"));
    let checkout = exe_dir.ancestors().take(4).map(|dir| dir.join("runner-js"));
    installed.into_iter().chain(checkout).find(|dir| dir.join("runner.js").is_file())
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::runner_dir_near;

    fn runner_at(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("runner.js"), "").unwrap();
    }

    #[test]
    fn runner_dir_lookup_order() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let exe = root.join("checkout/target/debug/segue");

        // Nothing beside the binary: the caller falls back to the source tree.
        assert_eq!(runner_dir_near(Some(&exe)), None);
        assert_eq!(runner_dir_near(None), None);

        // A checkout: runner-js/ a few folders above the binary or a test binary.
        runner_at(&root.join("checkout/runner-js"));
        assert_eq!(runner_dir_near(Some(&exe)), Some(root.join("checkout/runner-js")));
        let test_exe = root.join("checkout/target/debug/deps/it-0123");
        assert_eq!(runner_dir_near(Some(&test_exe)), Some(root.join("checkout/runner-js")));

        // The installed layout comes first, even with a runner-js/ among the ancestors.
        let installed_exe = root.join("opt/segue/bin/segue");
        runner_at(&root.join("opt/segue/runner-js"));
        assert_eq!(runner_dir_near(Some(&installed_exe)), Some(root.join("opt/segue/runner-js")));
        runner_at(&root.join("opt/segue/lib/segue/runner-js"));
        assert_eq!(runner_dir_near(Some(&installed_exe)), Some(root.join("opt/segue/lib/segue/runner-js")));

        // Only folders holding runner.js count; five levels up is too far.
        let deep_exe = root.join("checkout/a/b/c/d/segue");
        assert_eq!(runner_dir_near(Some(&deep_exe)), None);
    }
}
