//! What a run leaves behind besides its outputs: the outputs as a file, the
//! page at the end (and after each segment when asked), the page's HTML when
//! the run failed, and every file the page downloaded.
//!
//! The browser writes into a staging folder of its own; what it wrote is
//! untrusted (the run's code could have replaced it with a link to a host file,
//! a pipe, or a huge file), so each file is opened without following links,
//! must be a regular file, and is copied within the limits into a folder only
//! this process can read. Text is masked with the run's redactor on the way.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use engine::{ArtifactOptions, Masked, Redactor, Screenshots, Trace};
use runner::{Browser, Capture};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// The most a run's artifacts may hold together; later ones are skipped.
pub const MAX_RUN_ARTIFACT_BYTES: u64 = 1 << 30;
/// Screenshots kept per run (a loop with `every-segment` stops adding them here).
pub const MAX_SCREENSHOTS: usize = 200;
/// Screenshots a run keeps of what agents' vision models were shown, besides those.
pub const MAX_AGENT_SCREENSHOTS: usize = 60;
/// Text downloads up to this size are masked; larger or binary ones are kept as they are.
const MAX_MASKED_BYTES: u64 = 16 << 20;
/// How long the end of a run waits for downloads still in progress.
const DOWNLOAD_WAIT: Duration = Duration::from_secs(30);
/// How long one request for artifacts may take before the browser is killed
/// (code that returned can leave timers behind that never let the runner answer).
const CALL_LIMIT: Duration = Duration::from_secs(60);
/// Downloads kept per run (the runner keeps as many; its list is not trusted to).
const MAX_DOWNLOADS: usize = 100;
/// Notes about files not kept, per run.
const MAX_SKIPPED_NOTES: usize = 50;

/// A request for artifacts to `$browser`, within `CALL_LIMIT`: past it the
/// browser is killed. `Err` holds why, unmasked.
macro_rules! bounded {
    ($browser:expr, $call:expr) => {{
        let outcome = tokio::time::timeout(CALL_LIMIT, $call).await;
        match outcome {
            Ok(done) => done.map_err(|e| e.to_string()),
            Err(_) => {
                $browser.kill();
                Err(format!("the browser did not answer within {} s and was stopped", CALL_LIMIT.as_secs()))
            }
        }
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// The run's outputs as `outputs.json`, masked like the run.
    Output,
    /// A file a page downloaded.
    Download,
    Screenshot,
    /// The page's HTML when the run failed, masked.
    Page,
    /// A Playwright trace (`trace.zip`), every text in it masked.
    Trace,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Output => "output",
            ArtifactKind::Download => "download",
            ArtifactKind::Screenshot => "screenshot",
            ArtifactKind::Page => "page",
            ArtifactKind::Trace => "trace",
        }
    }
}

/// One file a run left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub kind: ArtifactKind,
    /// A file name, unique within the run.
    pub name: String,
    pub content_type: String,
    /// The segment it was taken after, if any.
    pub segment: Option<String>,
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Where the bytes are, inside `Artifacts`' folder.
    pub path: PathBuf,
}

/// The files of one run, in a private folder deleted when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Artifacts {
    dir: Arc<TempDir>,
    pub list: Vec<Artifact>,
    /// Files not kept, and why (over a limit, not a regular file, not saved).
    pub skipped: Vec<String>,
}

impl PartialEq for Artifacts {
    fn eq(&self, other: &Artifacts) -> bool {
        self.list == other.list && self.skipped == other.skipped
    }
}

impl Artifacts {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Gathers a run's artifacts as it goes.
pub(crate) struct Collector {
    options: ArtifactOptions,
    kept: Artifacts,
    /// Inside the browser's files folder: where it writes screenshots and downloads.
    staging: Staging,
    bytes: u64,
    screenshots: usize,
    /// Agent screenshots kept so far, by name, with how many secrets the run knew when
    /// each was taken: one taken before the run learned a secret may show it unpainted.
    agent_shots: Vec<(String, usize)>,
    /// Names given so far: each artifact's is unique within the run.
    names: std::collections::HashSet<String>,
}

impl Collector {
    pub(crate) fn new(options: ArtifactOptions, browser_files: &Path) -> std::io::Result<Collector> {
        let staging = Staging::create(browser_files)?;
        let dir = tempfile::Builder::new().prefix("segue-artifacts-").tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        let kept = Artifacts { dir: Arc::new(dir), list: Vec::new(), skipped: Vec::new() };
        Ok(Collector {
            options,
            kept,
            staging,
            bytes: 0,
            screenshots: 0,
            agent_shots: Vec::new(),
            names: Default::default(),
        })
    }

    /// Where the browser saves downloads.
    pub(crate) fn downloads_dir(&self) -> PathBuf {
        self.staging.dir.path().to_owned()
    }

    /// Notes a file not kept (the notes are bounded: a run can make many).
    fn skip(&mut self, note: String) {
        if self.kept.skipped.len() < MAX_SKIPPED_NOTES {
            self.kept.skipped.push(note);
        }
    }

    /// How the session is traced, if it is. Without the screencast: its pixels
    /// could show a secret, and only text can be masked (the DOM snapshots the
    /// trace viewer shows are text).
    pub(crate) fn trace_options(&self) -> Option<runner::TraceOptions> {
        (self.options.trace != Trace::Off).then_some(runner::TraceOptions { screenshots: false })
    }

    /// Ends the session's trace, keeping it scrubbed of secrets when it should be kept.
    pub(crate) async fn trace<B: Browser>(&mut self, browser: &mut B, redactor: &Redactor, failed: bool) {
        if !browser.is_alive() || self.options.trace == Trace::Off {
            return;
        }
        let keep = self.options.trace == Trace::On || failed;
        let staged = self.staging.dir.path().join("trace.zip");
        let stopped = bounded!(browser, browser.stop_trace(keep.then_some(staged.as_path())));
        if let Err(e) = stopped {
            self.skip(format!("trace.zip: {}", redactor.mask(&e)));
            return;
        }
        if !keep {
            return;
        }
        let name = self.unique("trace.zip");
        let path = self.kept.dir().join(&name);
        let left = MAX_RUN_ARTIFACT_BYTES.saturating_sub(self.bytes);
        // Copied out first: the browser, still running, could rewrite the staged
        // file between the checks of `scrub` and its parse.
        let private = self.kept.dir().join(".trace-unscrubbed.zip");
        let scrubbed = self
            .staging
            .open("trace.zip", left)
            .and_then(|file| copy_untrusted(file, &private, left, None))
            .and_then(|_| std::fs::File::open(&private).map_err(|e| e.to_string()))
            .and_then(|file| crate::trace::scrub(file, &path, redactor, left));
        let _ = std::fs::remove_file(&private);
        self.record(ArtifactKind::Trace, &name, "application/zip", None, path, scrubbed);
    }

    pub(crate) fn every_segment(&self) -> bool {
        self.options.screenshots == Screenshots::EverySegment
    }

    /// A screenshot of the page now (after `segment`, or at the end), and its
    /// HTML when `html`. Does nothing on a browser that was killed.
    pub(crate) async fn page<B: Browser>(
        &mut self,
        browser: &mut B,
        segment: Option<&str>,
        redactor: &Redactor,
        html: bool,
    ) {
        // The end screenshot is always taken: segments' cannot crowd it out.
        let shoot =
            self.options.screenshots != Screenshots::Off && (segment.is_none() || self.screenshots < MAX_SCREENSHOTS);
        if !browser.is_alive() || !(shoot || html) {
            return;
        }
        self.screenshots += usize::from(shoot);
        let name = match segment {
            Some(segment) => format!("segment-{:03}-{}.png", self.screenshots, file_safe(segment)),
            None => "end.png".to_owned(),
        };
        let name = self.unique(&name);
        let target = self.staging.dir.path().join(&name);
        let capture = Capture {
            screenshot: shoot.then_some(target.as_path()),
            full_page: segment.is_none(),
            hide: redactor.secret_values(),
            html,
        };
        let captured = match bounded!(browser, browser.capture(capture)) {
            Ok(captured) => captured,
            Err(e) => {
                self.skip(format!("{name}: the page could not be captured: {}", redactor.mask(&e)));
                return;
            }
        };
        if captured.screenshot.is_none() && shoot {
            self.skip(format!("{name}: the page could not be photographed"));
        } else if shoot {
            self.keep_file(ArtifactKind::Screenshot, &name, "image/png", segment, None, None);
        }
        if let Some(page) = captured.html {
            let name = self.unique("page.html");
            self.keep_bytes(ArtifactKind::Page, &name, "text/html; charset=utf-8", redactor.mask(&page));
        }
    }

    /// The screenshots an agent's vision model was shown during `segment` (base64
    /// PNG, painted over by the runner like every screenshot), unless screenshots
    /// are off. `secrets_known`: how many secrets the run knew when they were taken
    /// (see `forget_agent_screenshots_before`).
    pub(crate) fn agent_screenshots(&mut self, segment: &str, shots: &[String], secrets_known: usize) {
        use base64::Engine as _;
        if self.options.screenshots == Screenshots::Off {
            return;
        }
        for (step, shot) in shots.iter().enumerate() {
            if self.agent_shots.len() >= MAX_AGENT_SCREENSHOTS {
                self.skip(format!("{segment}: the run's agents were shown more than {MAX_AGENT_SCREENSHOTS} screenshots; later ones are not kept"));
                return;
            }
            let name = self.unique(&format!("agent-{}-step-{:02}.png", file_safe(segment), step + 1));
            let path = self.kept.dir().join(&name);
            let written = match base64::engine::general_purpose::STANDARD.decode(shot) {
                Ok(png) => self.write_within_limit(&path, &png),
                Err(e) => Err(format!("the runner's screenshot is not base64: {e}")),
            };
            self.agent_shots.push((name.clone(), secrets_known));
            self.record(ArtifactKind::Screenshot, &name, "image/png", Some(segment), path, written);
        }
    }

    /// Drops the agent screenshots taken while the run knew fewer than `secrets_now`
    /// secrets: the runner painted over only those it knew, and a secret learned
    /// later (a secret output, a session exported at the end) may show in them.
    pub(crate) fn forget_agent_screenshots_before(&mut self, secrets_now: usize) {
        let stale: Vec<String> =
            self.agent_shots.iter().filter(|(_, known)| *known < secrets_now).map(|(name, _)| name.clone()).collect();
        if stale.is_empty() {
            return;
        }
        for name in &stale {
            if let Some(at) = self.kept.list.iter().position(|a| &a.name == name) {
                let dropped = self.kept.list.remove(at);
                self.bytes -= dropped.size;
                let _ = std::fs::remove_file(&dropped.path);
            }
        }
        self.skip(format!(
            "{} agent screenshot(s) not kept: the run learned secrets after they were taken",
            stale.len()
        ));
    }

    /// Every download of the session, masked when it is text.
    pub(crate) async fn downloads<B: Browser>(&mut self, browser: &mut B, redactor: &Redactor) {
        if !browser.is_alive() {
            return;
        }
        let downloads = match bounded!(browser, browser.downloads(DOWNLOAD_WAIT)) {
            Ok(downloads) => downloads,
            Err(e) => {
                self.skip(format!("downloads: {}", redactor.mask(&e)));
                return;
            }
        };
        for download in downloads.into_iter().take(MAX_DOWNLOADS) {
            // Only the name is trusted from the browser, and only as a name in the staging folder.
            let reported = match download.saved {
                Ok(path) => path,
                Err(why) => {
                    self.skip(redactor.mask(&format!("download '{}': {why}", download.name)).into_inner());
                    continue;
                }
            };
            // Only a name is taken from the browser, and only as a name inside the staging folder.
            let Some(staged) = reported.file_name().map(|f| f.to_string_lossy().into_owned()) else { continue };
            // Kept under the name the site suggested (a name can show a secret too).
            let name = self.unique(&file_safe(redactor.mask(&download.name).as_str()));
            let content_type = content_type(&download.name);
            self.keep_file(ArtifactKind::Download, &name, content_type, None, Some(&staged), Some(redactor));
        }
    }

    /// The run's outputs as `outputs.json`.
    pub(crate) fn outputs(&mut self, outputs: &Masked<Map<String, Value>>) {
        let text = serde_json::to_string_pretty(&**outputs).expect("outputs are JSON") + "\n";
        // Already masked: re-masking with no secrets only gives the text its type.
        let name = self.unique("outputs.json");
        self.keep_bytes(ArtifactKind::Output, &name, "application/json", Redactor::default().mask(&text));
    }

    /// `wanted`, or `stem (2).ext`, `stem (3).ext`… when a file of the run already has that name.
    fn unique(&mut self, wanted: &str) -> String {
        let (stem, extension) = match wanted.rsplit_once('.') {
            Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
            _ => (wanted, String::new()),
        };
        let mut name = wanted.to_owned();
        let mut n = 1;
        while !self.names.insert(name.clone()) {
            n += 1;
            name = format!("{stem} ({n}){extension}");
        }
        name
    }

    pub(crate) fn finish(self) -> Artifacts {
        self.kept
    }

    fn keep_bytes(&mut self, kind: ArtifactKind, name: &str, content_type: &str, text: Masked) {
        let path = self.kept.dir().join(name);
        let written = self.write_within_limit(&path, text.as_bytes());
        self.record(kind, name, content_type, None, path, written);
    }

    /// Writes `bytes` to `path` unless they would take the run over its artifact
    /// limit: their size and SHA-256, or why not.
    fn write_within_limit(&self, path: &Path, bytes: &[u8]) -> Result<(u64, String), String> {
        let size = bytes.len() as u64;
        if self.bytes + size > MAX_RUN_ARTIFACT_BYTES {
            return Err("over the run's artifact limit".to_owned());
        }
        write_private(path, bytes).map(|()| (size, hex(&Sha256::digest(bytes)))).map_err(|e| e.to_string())
    }

    /// Copies the staged file `staged` (by default named `name`) in, within the
    /// limits; text is masked when `redactor` is given.
    fn keep_file(
        &mut self,
        kind: ArtifactKind,
        name: &str,
        content_type: &str,
        segment: Option<&str>,
        staged: Option<&str>,
        redactor: Option<&Redactor>,
    ) {
        let left = MAX_RUN_ARTIFACT_BYTES.saturating_sub(self.bytes);
        let path = self.kept.dir().join(name);
        let copied =
            self.staging.open(staged.unwrap_or(name), left).and_then(|f| copy_untrusted(f, &path, left, redactor));
        self.record(kind, name, content_type, segment, path, copied);
    }

    /// Lists a file written into the kept folder, or notes why there is none.
    fn record(
        &mut self,
        kind: ArtifactKind,
        name: &str,
        content_type: &str,
        segment: Option<&str>,
        path: PathBuf,
        written: Result<(u64, String), String>,
    ) {
        match written {
            Ok((size, sha256)) => {
                self.bytes += size;
                self.kept.list.push(Artifact {
                    kind,
                    name: name.to_owned(),
                    content_type: content_type.to_owned(),
                    segment: segment.map(str::to_owned),
                    size,
                    sha256,
                    path,
                });
            }
            Err(why) => {
                let _ = std::fs::remove_file(&path);
                self.skip(format!("{name}: {why}"));
            }
        }
    }
}

/// The browser's staging folder, held open: files in it are opened relative to
/// this descriptor, so code that renames the folder or puts a link in its place
/// cannot send the host anywhere else.
struct Staging {
    dir: TempDir,
    fd: std::os::fd::OwnedFd,
}

impl Staging {
    fn create(browser_files: &Path) -> std::io::Result<Staging> {
        use nix::fcntl::OFlag;
        let dir = tempfile::Builder::new().prefix("artifacts-").tempdir_in(browser_files)?;
        let flags = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(dir.path(), flags, nix::sys::stat::Mode::empty()).map_err(std::io::Error::from)?;
        // Writable by the sandbox's unprivileged user (only this run's sandbox sees
        // it); set on the descriptor, after creation, since the umask cuts the mode given then.
        nix::sys::stat::fchmod(&fd, nix::sys::stat::Mode::from_bits_truncate(0o777)).map_err(std::io::Error::from)?;
        Ok(Staging { dir, fd })
    }

    /// Opens a file the browser wrote: by a plain name in this folder, never
    /// through a link, only a regular file of at most `limit` bytes.
    fn open(&self, name: &str, limit: u64) -> Result<std::fs::File, String> {
        use nix::fcntl::OFlag;
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err("not a file name".into());
        }
        // A link is refused, and a pipe does not block the open.
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(&self.fd, name, flags, nix::sys::stat::Mode::empty())
            .map_err(|e| format!("cannot open the file the browser wrote: {e}"))?;
        checked(std::fs::File::from(fd), limit)
    }
}

/// Copies a file the browser (running untrusted code) wrote, opened by
/// `Staging::open`, at most `limit` bytes. Text small enough is masked.
fn copy_untrusted(
    mut source: std::fs::File,
    to: &Path,
    limit: u64,
    redactor: Option<&Redactor>,
) -> Result<(u64, String), String> {
    let metadata = source.metadata().map_err(|e| e.to_string())?;
    if let Some(redactor) = redactor.filter(|_| metadata.len() <= MAX_MASKED_BYTES) {
        let mut bytes = Vec::new();
        let cap = MAX_MASKED_BYTES.min(limit);
        (&mut source).take(cap + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        if bytes.len() as u64 > cap {
            // It grew after it was opened.
            return Err("over the size limit".into());
        }
        if let Ok(text) = String::from_utf8(bytes.clone()) {
            bytes = redactor.mask(&text).into_inner().into_bytes();
        }
        write_private(to, &bytes).map_err(|e| e.to_string())?;
        return Ok((bytes.len() as u64, hex(&Sha256::digest(&bytes))));
    }
    let mut target = create_private(to).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut copied = 0u64;
    let mut buffer = vec![0u8; 64 << 10];
    // Bounded again while reading: the file may still be growing.
    let mut reader = source.take(limit + 1);
    loop {
        let n = reader.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        copied += n as u64;
        if copied > limit {
            return Err("over the run's artifact limit".into());
        }
        hasher.update(&buffer[..n]);
        target.write_all(&buffer[..n]).map_err(|e| e.to_string())?;
    }
    Ok((copied, hex(&hasher.finalize())))
}

/// Only a regular file of at most `limit` bytes.
fn checked(file: std::fs::File, limit: u64) -> Result<std::fs::File, String> {
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.len() > limit {
        return Err(format!("{} bytes, over the run's artifact limit", metadata.len()));
    }
    Ok(file)
}

pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private(path)?.write_all(bytes)
}

/// Hex SHA-256 of a file's bytes, read in pieces.
pub(crate) fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A name usable as a file name: no folders, no dot files, no control
/// characters, at most 200 bytes (file systems allow 255).
fn file_safe(name: &str) -> String {
    let mapped: String = name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    let mut cleaned = mapped.trim_start_matches('.').to_owned();
    let mut end = cleaned.len().min(200);
    while !cleaned.is_char_boundary(end) {
        end -= 1;
    }
    cleaned.truncate(end);
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

/// The content type a download's name suggests.
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => "text/csv",
        "txt" | "log" => "text/plain",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "zip" => "application/zip",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An agent screenshot taken before the run learned a secret is dropped at the
    /// end; one taken knowing every secret is kept.
    #[test]
    fn agent_screenshots_taken_before_a_secret_was_known_are_dropped() {
        use base64::Engine as _;
        let files = tempfile::tempdir().unwrap();
        let mut collector = Collector::new(ArtifactOptions::default(), files.path()).unwrap();
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG pixels");
        collector.agent_screenshots("find_key", std::slice::from_ref(&png), 0);
        collector.agent_screenshots("check", &[png.clone(), png], 1);
        let names = |c: &Collector| c.kept.list.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&collector),
            ["agent-find_key-step-01.png", "agent-check-step-01.png", "agent-check-step-02.png"]
        );
        let first = collector.kept.list[0].path.clone();
        collector.forget_agent_screenshots_before(1);
        assert_eq!(names(&collector), ["agent-check-step-01.png", "agent-check-step-02.png"]);
        assert!(!first.exists(), "the dropped file is gone");
        assert!(collector.kept.skipped.iter().any(|n| n.contains("learned secrets")), "{:?}", collector.kept.skipped);
        assert_eq!(collector.bytes, 2 * b"\x89PNG pixels".len() as u64);
    }

    #[test]
    fn untrusted_files_are_copied_only_when_regular_and_within_the_limit() {
        let files = tempfile::tempdir().unwrap();
        let staging = Staging::create(files.path()).unwrap();
        let kept = tempfile::tempdir().unwrap();
        let inside = staging.dir.path();
        let secret = files.path().join("host-secret");
        std::fs::write(&secret, "the host's private key").unwrap();
        std::os::unix::fs::symlink(&secret, inside.join("link.png")).unwrap();
        let refused = staging.open("link.png", 1 << 20).unwrap_err();
        assert!(refused.contains("cannot open"), "a link is never followed: {refused}");
        assert!(staging.open("../host-secret", 1 << 20).is_err(), "only names inside the folder");

        nix::unistd::mkfifo(&inside.join("pipe.png"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(staging.open("pipe.png", 1 << 20).unwrap_err(), "not a regular file", "and without blocking");

        std::fs::write(inside.join("big.bin"), vec![0u8; 2048]).unwrap();
        assert!(staging.open("big.bin", 1024).unwrap_err().contains("over"));
        let (size, sha) =
            copy_untrusted(staging.open("big.bin", 4096).unwrap(), &kept.path().join("d"), 4096, None).unwrap();
        assert_eq!(size, 2048);
        assert_eq!(sha, hex(&Sha256::digest(vec![0u8; 2048])));
    }

    #[test]
    fn a_staging_folder_swapped_for_a_link_still_reads_the_folder_it_was() {
        let files = tempfile::tempdir().unwrap();
        let staging = Staging::create(files.path()).unwrap();
        std::fs::write(staging.dir.path().join("end.png"), "the real screenshot").unwrap();
        // The run's code moves the folder away and puts a link to a host folder in its place.
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("end.png"), "a host file").unwrap();
        let moved = files.path().join("moved");
        std::fs::rename(staging.dir.path(), &moved).unwrap();
        std::os::unix::fs::symlink(host.path(), staging.dir.path()).unwrap();
        let mut read = String::new();
        staging.open("end.png", 1 << 20).unwrap().read_to_string(&mut read).unwrap();
        assert_eq!(read, "the real screenshot");
    }

    #[test]
    fn text_is_masked_on_the_way_in() {
        let files = tempfile::tempdir().unwrap();
        let staging = Staging::create(files.path()).unwrap();
        let kept = tempfile::tempdir().unwrap();
        let mut redactor = Redactor::default();
        redactor.add("s3cret-value");
        std::fs::write(staging.dir.path().join("report.csv"), "user,password\ndemo,s3cret-value\n").unwrap();
        let to = kept.path().join("report.csv");
        copy_untrusted(staging.open("report.csv", 1 << 20).unwrap(), &to, 1 << 20, Some(&redactor)).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "user,password\ndemo,********\n");
    }

    #[test]
    fn names_stay_file_names() {
        assert_eq!(file_safe("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_safe(".bashrc"), "bashrc");
        assert_eq!(file_safe(""), "file");
        assert_eq!(file_safe("a\nb"), "a_b");
        assert!(file_safe(&"é".repeat(200)).len() <= 200, "cut by bytes, on a character boundary");
    }
}
