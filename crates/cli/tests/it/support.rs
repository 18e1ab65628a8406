use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The address the examples are written against; replaced by the test server's.
pub const EXAMPLE_BASE: &str = "http://127.0.0.1:8077";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

pub fn stem(path: &Path) -> String {
    path.file_stem().expect("file name").to_string_lossy().into_owned()
}

/// One runtime per test process for the servers tests talk to (demo site, scripted model).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
    })
}

/// The demo site, started once per test process on a free port.
pub fn demo_base() -> String {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    let addr = ADDR.get_or_init(|| {
        runtime().block_on(async { demo::spawn("127.0.0.1:0".parse().unwrap()).await.expect("demo site").0 })
    });
    format!("http://{addr}")
}

/// A scripted chat model serving these rules (see `testkit`).
pub fn scripted_model(rules: &[serde_json::Value]) -> Result<testkit::ScriptedModel, String> {
    let rules = rules.iter().map(testkit::Rule::from_json).collect::<Result<Vec<_>, _>>()?;
    runtime().block_on(testkit::ScriptedModel::start(rules)).map_err(|e| e.to_string())
}

/// Writes `text` (a workflow document) pointed at the test demo site.
pub fn workflow_file(text: &str) -> tempfile::NamedTempFile {
    let text = text.replace(EXAMPLE_BASE, &demo_base());
    let mut file = tempfile::Builder::new().suffix(".json").tempfile().expect("temp file");
    std::io::Write::write_all(&mut file, text.as_bytes()).expect("write workflow");
    file
}

pub fn segue(args: &[&str]) -> Output {
    segue_with_env(args, &[])
}

/// Runs `segue` with only these `SEGUE_LLM_*` settings (none: no AI).
pub fn segue_with_env(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_segue"));
    command.args(args).current_dir(repo_root()).env_remove("SEGUE_LOG");
    for var in ["SEGUE_LLM_PROVIDER", "SEGUE_LLM_BASE_URL", "SEGUE_LLM_MODEL", "SEGUE_LLM_API_KEY", "SEGUE_LLM_VISION"]
    {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run segue")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Creates database `name` on the server of `admin_url` and returns its URL.
pub fn postgres_database(admin_url: &str, name: &str) -> Result<String, libtest_mimic::Failed> {
    Ok(runtime().block_on(testkit::postgres::create_database(admin_url, name))?)
}

pub fn drop_postgres_database(admin_url: &str, name: &str) -> Result<(), libtest_mimic::Failed> {
    Ok(runtime().block_on(testkit::postgres::drop_database(admin_url, name))?)
}
