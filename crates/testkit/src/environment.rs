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

/// The bucket scripts/s3.sh makes on the S3-compatible test server.
const TEST_BUCKET: &str = "segue-test";

/// An artifact store a test may use: a folder of its own, or a prefix of its own in the
/// test bucket of the S3-compatible server `SEGUE_TEST_S3_ENDPOINT` names (scripts/s3.sh).
#[derive(Clone, Debug)]
pub enum ArtifactStore {
    Local,
    S3 { endpoint: String },
}

impl ArtifactStore {
    /// The local store, and S3 when the environment names a test server: the artifact
    /// tests run against each.
    pub fn available() -> Vec<ArtifactStore> {
        let s3 = std::env::var("SEGUE_TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty());
        std::iter::once(ArtifactStore::Local).chain(s3.map(|endpoint| ArtifactStore::S3 { endpoint })).collect()
    }

    /// Where a new store of this kind is (`dir` for a local one: under it), and the S3
    /// settings it is opened with.
    pub fn location(&self, dir: &std::path::Path) -> (blobs::Location, Vec<(String, String)>) {
        match self {
            ArtifactStore::Local => (blobs::Location::Local(dir.join("artifacts")), Vec::new()),
            ArtifactStore::S3 { .. } => {
                let location = blobs::Location::S3 { bucket: TEST_BUCKET.into(), prefix: unique_prefix() };
                (location, self.s3_settings())
            }
        }
    }

    /// The AWS environment a `segue` process is given to reach the test server.
    pub fn s3_settings(&self) -> Vec<(String, String)> {
        let ArtifactStore::S3 { endpoint } = self else { return Vec::new() };
        [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "segue-test"),
            ("AWS_SECRET_ACCESS_KEY", "segue-test-secret"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    /// `--artifact-store` for a `segue` process: a new folder under `dir` or a new prefix.
    pub fn spelled(&self, dir: &std::path::Path) -> String {
        match self.location(dir).0 {
            blobs::Location::Local(path) => path.display().to_string(),
            blobs::Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// A new store of this kind.
    pub fn open(&self, dir: &std::path::Path) -> blobs::Blobs {
        let (location, settings) = self.location(dir);
        blobs::Blobs::open(&location, &settings).expect("artifact store")
    }
}

/// A prefix no other test (of this run or an earlier one on the same server) uses.
fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("test-{nanos}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}
