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

use engine::{Masked, Redactor};
use runner::{Browser, Capture};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// The most a run's artifacts may hold together; later ones are skipped.
pub const MAX_RUN_ARTIFACT_BYTES: u64 = 1 << 30;
/// Screenshots kept per run (a loop with `every-segment` stops adding them here).
pub const MAX_SCREENSHOTS: usize = 200;
/// Text downloads up to this size are masked; larger or binary ones are kept as they are.
const MAX_MASKED_BYTES: u64 = 16 << 20;
/// How long the end of a run waits for downloads still in progress.
const DOWNLOAD_WAIT: Duration = Duration::from_secs(30);

/// When the page is photographed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screenshots {
    Off,
    /// At the end of the run, completed or failed.
    #[default]
    End,
    /// After every segment execution, and at the end.
    EverySegment,
}

impl Screenshots {
    pub fn parse(text: &str) -> Option<Screenshots> {
        match text {
            "off" => Some(Screenshots::Off),
            "end" => Some(Screenshots::End),
            "every-segment" => Some(Screenshots::EverySegment),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Screenshots::Off => "off",
            Screenshots::End => "end",
            Screenshots::EverySegment => "every-segment",
        }
    }
}

/// When a Playwright trace of the run is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trace {
    #[default]
    Off,
    On,
    /// Recorded always, kept only when the run failed.
    OnFailure,
}

impl Trace {
    pub fn parse(text: &str) -> Option<Trace> {
        match text {
            "off" => Some(Trace::Off),
            "on" => Some(Trace::On),
            "on-failure" => Some(Trace::OnFailure),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Trace::Off => "off",
            Trace::On => "on",
            Trace::OnFailure => "on-failure",
        }
    }
}

/// What a run should leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArtifactOptions {
    pub screenshots: Screenshots,
    pub trace: Trace,
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
    staging: TempDir,
    bytes: u64,
    screenshots: usize,
    /// Names given so far: each artifact's is unique within the run.
    names: std::collections::HashSet<String>,
}

impl Collector {
    pub(crate) fn new(options: ArtifactOptions, browser_files: &Path) -> std::io::Result<Collector> {
        // Writable by the sandbox's unprivileged user; only this run's sandbox sees the folder.
        let staging = tempfile::Builder::new().prefix("artifacts-").tempdir_in(browser_files)?;
        // Set after creating it: the mode given at creation is cut by the umask.
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o777))?;
        let dir = tempfile::Builder::new().prefix("segue-artifacts-").tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        let kept = Artifacts { dir: Arc::new(dir), list: Vec::new(), skipped: Vec::new() };
        Ok(Collector { options, kept, staging, bytes: 0, screenshots: 0, names: Default::default() })
    }

    /// Where the browser saves downloads.
    pub(crate) fn downloads_dir(&self) -> PathBuf {
        self.staging.path().to_owned()
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
        let staged = self.staging.path().join("trace.zip");
        if let Err(e) = browser.stop_trace(keep.then_some(staged.as_path())).await {
            self.kept.skipped.push(format!("trace.zip: {}", redactor.mask(&e.to_string())));
            return;
        }
        if !keep {
            return;
        }
        let name = self.unique("trace.zip");
        let path = self.kept.dir().join(&name);
        let left = MAX_RUN_ARTIFACT_BYTES.saturating_sub(self.bytes);
        let scrubbed = open_untrusted(&staged, left).and_then(|file| crate::trace::scrub(file, &path, redactor, left));
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
        let shoot = self.options.screenshots != Screenshots::Off && self.screenshots < MAX_SCREENSHOTS;
        if !browser.is_alive() || !(shoot || html) {
            return;
        }
        self.screenshots += usize::from(shoot);
        let name = match segment {
            Some(segment) => format!("segment-{:03}-{}.png", self.screenshots, file_safe(segment)),
            None => "end.png".to_owned(),
        };
        let name = self.unique(&name);
        let target = self.staging.path().join(&name);
        let capture = Capture {
            screenshot: shoot.then_some(target.as_path()),
            full_page: segment.is_none(),
            hide: redactor.secret_values(),
            html,
        };
        let captured = match browser.capture(capture).await {
            Ok(captured) => captured,
            Err(e) => {
                self.kept.skipped.push(format!("{name}: the page could not be captured: {e}"));
                return;
            }
        };
        if captured.screenshot.is_none() && shoot {
            self.kept.skipped.push(format!("{name}: the page could not be photographed"));
        } else if shoot {
            self.keep_file(ArtifactKind::Screenshot, &name, "image/png", segment, &target, None);
        }
        if let Some(page) = captured.html {
            let name = self.unique("page.html");
            self.keep_bytes(ArtifactKind::Page, &name, "text/html; charset=utf-8", redactor.mask(&page));
        }
    }

    /// Every download of the session, masked when it is text.
    pub(crate) async fn downloads<B: Browser>(&mut self, browser: &mut B, redactor: &Redactor) {
        if !browser.is_alive() {
            return;
        }
        let downloads = match browser.downloads(DOWNLOAD_WAIT).await {
            Ok(downloads) => downloads,
            Err(e) => {
                self.kept.skipped.push(format!("downloads: {}", redactor.mask(&e.to_string())));
                return;
            }
        };
        for download in downloads {
            // Only the name is trusted from the browser, and only as a name in the staging folder.
            let reported = match download.saved {
                Ok(path) => path,
                Err(why) => {
                    self.kept.skipped.push(format!("download '{}': {}", download.name, redactor.mask(&why)));
                    continue;
                }
            };
            let Some(staged) = reported.file_name().map(|f| self.staging.path().join(f)) else { continue };
            // Kept under the name the site suggested.
            let name = self.unique(&file_safe(&download.name));
            let content_type = content_type(&download.name);
            self.keep_file(ArtifactKind::Download, &name, content_type, None, &staged, Some(redactor));
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
        let size = text.len() as u64;
        let written = if self.bytes + size > MAX_RUN_ARTIFACT_BYTES {
            Err("over the run's artifact limit".to_owned())
        } else {
            write_private(&path, text.as_bytes())
                .map(|()| (size, hex(&Sha256::digest(text.as_bytes()))))
                .map_err(|e| e.to_string())
        };
        self.record(kind, name, content_type, None, path, written);
    }

    /// Copies a staged file in, within the limits; text is masked when `redactor` is given.
    fn keep_file(
        &mut self,
        kind: ArtifactKind,
        name: &str,
        content_type: &str,
        segment: Option<&str>,
        staged: &Path,
        redactor: Option<&Redactor>,
    ) {
        let left = MAX_RUN_ARTIFACT_BYTES.saturating_sub(self.bytes);
        let path = self.kept.dir().join(name);
        let copied = copy_untrusted(staged, &path, left, redactor);
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
                self.kept.skipped.push(format!("{name}: {why}"));
            }
        }
    }
}

/// Copies a file the browser (running untrusted code) wrote: never through a
/// link, only a regular file, at most `limit` bytes. Text small enough is masked.
fn copy_untrusted(from: &Path, to: &Path, limit: u64, redactor: Option<&Redactor>) -> Result<(u64, String), String> {
    let mut source = open_untrusted(from, limit)?;
    let metadata = source.metadata().map_err(|e| e.to_string())?;
    if let Some(redactor) = redactor.filter(|_| metadata.len() <= MAX_MASKED_BYTES) {
        let mut bytes = Vec::new();
        (&mut source).take(MAX_MASKED_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
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

/// Opens a file the browser wrote: never through a link, only a regular file of at most `limit` bytes.
pub(crate) fn open_untrusted(path: &Path, limit: u64) -> Result<std::fs::File, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        // A link is refused, and a pipe does not block the open.
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| format!("cannot open the file the browser wrote: {e}"))?;
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A name usable as a file name: no folders, no dot files, no control characters, not too long.
fn file_safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c })
        .collect::<String>()
        .trim_start_matches('.')
        .chars()
        .take(120)
        .collect();
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

    #[test]
    fn untrusted_files_are_copied_only_when_regular_and_within_the_limit() {
        let staging = tempfile::tempdir().unwrap();
        let kept = tempfile::tempdir().unwrap();
        let secret = staging.path().join("host-secret");
        std::fs::write(&secret, "the host's private key").unwrap();
        let link = staging.path().join("link.png");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let refused = copy_untrusted(&link, &kept.path().join("a"), 1 << 20, None).unwrap_err();
        assert!(refused.contains("cannot open"), "a link is never followed: {refused}");

        let fifo = staging.path().join("pipe.png");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(copy_untrusted(&fifo, &kept.path().join("b"), 1 << 20, None).unwrap_err(), "not a regular file");

        let big = staging.path().join("big.bin");
        std::fs::write(&big, vec![0u8; 2048]).unwrap();
        assert!(copy_untrusted(&big, &kept.path().join("c"), 1024, None).unwrap_err().contains("over"));
        let (size, sha) = copy_untrusted(&big, &kept.path().join("d"), 4096, None).unwrap();
        assert_eq!(size, 2048);
        assert_eq!(sha, hex(&Sha256::digest(vec![0u8; 2048])));
    }

    #[test]
    fn text_is_masked_on_the_way_in() {
        let staging = tempfile::tempdir().unwrap();
        let kept = tempfile::tempdir().unwrap();
        let mut redactor = Redactor::default();
        redactor.add("s3cret-value");
        let report = staging.path().join("report.csv");
        std::fs::write(&report, "user,password\ndemo,s3cret-value\n").unwrap();
        let to = kept.path().join("report.csv");
        copy_untrusted(&report, &to, 1 << 20, Some(&redactor)).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "user,password\ndemo,********\n");
    }

    #[test]
    fn names_stay_file_names() {
        assert_eq!(file_safe("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_safe(".bashrc"), "bashrc");
        assert_eq!(file_safe(""), "file");
        assert_eq!(file_safe("a\nb"), "a_b");
    }
}
