//! One Node runner process and its request/response protocol.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use crate::browser::{Browser, Capture, Captured, Download, SessionOptions, StorageState};
use crate::locate::{CHROMIUM_ARGS, Options};
use crate::sandbox::{self, Isolation, WorkDir};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start the browser runner ({command}): {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("the browser runner stopped unexpectedly{}", tail(.stderr))]
    Exited { stderr: Vec<String> },
    #[error("the browser runner failed: {0}")]
    Runner(String),
    /// The segment returned a value whose JSON is larger than `ReplyLimits::result_bytes`;
    /// the runner refused to send it (the process is still usable).
    #[error("the segment returned {bytes} bytes of JSON, over the limit of {limit} bytes")]
    ResultTooLarge { bytes: u64, limit: usize },
}

/// How large the runner's replies may be. Set per run (`Runner::limit_replies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// The longest protocol line the runner may send. The runner runs hostile code,
    /// which can write to its stdout: without a bound one endless line would grow
    /// this process's memory until it died.
    pub line_bytes: usize,
    /// The largest value (as JSON) segment code may return; the runner refuses to
    /// send a larger one, so it never crosses the pipe.
    pub result_bytes: usize,
}

impl Default for ReplyLimits {
    fn default() -> ReplyLimits {
        ReplyLimits { line_bytes: 64 << 20, result_bytes: 64 << 20 }
    }
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() { String::new() } else { format!(": {}", lines.join(" | ")) }
}

/// A `console.*` line written by segment code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    pub level: String,
    pub text: String,
}

/// What segment code did: returned a value or threw.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentResult {
    pub outcome: Result<Value, String>,
    /// Time spent inside the segment function, measured by the runner.
    pub elapsed_ms: f64,
}

/// The page as the agent sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub url: String,
    pub title: String,
    pub snapshot: String,
    pub screenshot_png_base64: Option<String>,
    /// Size of the page's HTML, when measured.
    pub html_chars: Option<u64>,
}

/// A screenshot for a vision model.
#[derive(Debug, Clone, Copy)]
pub struct Screenshot<'a> {
    /// Secret values: password inputs and the elements whose value or text holds
    /// one of these are painted over. The runner already holds them (the
    /// workflow's code receives its parameters), so sending them leaks nothing.
    pub hide: &'a [String],
}

/// A completed agent action.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    /// The page's URL afterwards.
    pub url: String,
    /// `{strategy, code, role}`: a locator chosen at action time that finds the
    /// same element on a later run, when one exists.
    pub locator: Option<Value>,
}

#[derive(Deserialize)]
struct Message {
    id: Option<u64>,
    event: Option<String>,
    ok: Option<bool>,
    result: Option<Value>,
    error: Option<RemoteError>,
    level: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct RemoteError {
    message: String,
}

/// The longest stderr line kept (longer ones are skipped).
const MAX_STDERR_LINE_BYTES: usize = 16 << 10;

/// Keeps the last lines of the runner's stderr to explain a crash.
const STDERR_LINES_KEPT: usize = 20;

pub struct Runner {
    child: Child,
    stdin: ChildStdin,
    stdout: FramedRead<ChildStdout, LinesCodec>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    next_id: u64,
    /// Process groups the runner's children lead (Playwright starts Chromium
    /// detached, in a group of its own), so a kill reaches the browser too.
    child_groups: Vec<i32>,
    /// Set once the process is known to be unusable (killed, exited, desynchronised).
    dead: bool,
    limits: ReplyLimits,
    /// The only way out to the network for this runner and its browser.
    proxy: egress::Proxy,
    /// Removed (with the run's files) when the runner is dropped.
    work: WorkDir,
}

/// How a runner process is started.
struct Launch {
    command: Command,
    /// Descriptors the child must inherit; closed here once it has started.
    inherited: Vec<OwnedFd>,
    /// Names the command in a spawn error.
    described: String,
    /// Where the runner finds the egress proxy, as it sees the file system.
    egress_socket: PathBuf,
}

/// A failure preparing a runner, before any process started.
fn setup(what: &str, source: std::io::Error) -> Error {
    Error::Spawn { command: what.to_owned(), source }
}

/// Node inside the sandbox, or (unsafe) directly, with its work folder ready.
fn prepare(options: &Options, work: &WorkDir) -> Result<Launch, Error> {
    match &options.isolation {
        Isolation::Sandbox(limits) => {
            work.share_egress_socket().map_err(|e| setup("opening the egress socket", e))?;
            let spec = sandbox::command(limits, options, work).map_err(|e| setup("preparing the sandbox", e))?;
            let mut command = Command::new(&spec.program);
            // bubblewrap stays the sandbox's PID 1, and /proc/1/environ inside shows the
            // environment it was started with: give it none.
            command.args(&spec.args).env_clear();
            if let Some((uid, gid)) = spec.user {
                command.uid(uid.as_raw()).gid(gid.as_raw());
            }
            inherit(&mut command, &spec.inherited);
            let described = format!(
                "{} (the sandbox; install bubblewrap, or set SEGUE_SANDBOX=off for code you trust)",
                spec.program.display()
            );
            let egress_socket = PathBuf::from(sandbox::EGRESS_SOCKET_INSIDE);
            Ok(Launch { command, inherited: spec.inherited, described, egress_socket })
        }
        Isolation::Unsafe => {
            let script = options.runner_dir.join("runner.js");
            let mut command = Command::new(&options.node);
            command.arg(&script).current_dir(&options.runner_dir);
            let described = format!("{} {}", options.node.display(), script.display());
            Ok(Launch { command, inherited: Vec::new(), described, egress_socket: work.egress_socket() })
        }
    }
}

impl Runner {
    /// Starts Node (inside the sandbox unless `options.isolation` says
    /// otherwise) with its egress proxy, and launches the browser.
    pub async fn start(options: &Options) -> Result<Runner, Error> {
        let work = WorkDir::create(options.sandbox_uid).map_err(|e| setup("creating the runner's folder", e))?;
        let proxy = egress::Proxy::bind(&work.egress_socket(), Arc::clone(&options.egress))
            .map_err(|e| setup("starting the egress proxy", e))?;
        let sandboxed = matches!(options.isolation, Isolation::Sandbox(_));
        let Launch { mut command, inherited, described, egress_socket } = prepare(options, &work)?;
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a kill reaches everything it started.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| Error::Spawn { command: described, source })?;
        // The child has its copies; ours are no longer needed.
        drop(inherited);
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = FramedRead::new(
            child.stdout.take().expect("piped stdout"),
            LinesCodec::new_with_max_length(ReplyLimits::default().line_bytes),
        );
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let mut lines = FramedRead::new(
            child.stderr.take().expect("piped stderr"),
            LinesCodec::new_with_max_length(MAX_STDERR_LINE_BYTES),
        );
        let kept = Arc::clone(&stderr);
        tokio::spawn(async move {
            while let Some(read) = lines.next().await {
                let line = match read {
                    Ok(line) => line,
                    Err(LinesCodecError::MaxLineLengthExceeded) => continue,
                    Err(LinesCodecError::Io(_)) => break,
                };
                tracing::debug!(target: "runner", "{line}");
                let mut kept = kept.lock().expect("stderr buffer");
                if kept.len() == STDERR_LINES_KEPT {
                    kept.pop_front();
                }
                kept.push_back(crate::ansi::strip(&line).into_owned());
            }
        });
        let mut runner = Runner {
            child,
            stdin,
            stdout,
            stderr,
            next_id: 0,
            child_groups: Vec::new(),
            dead: false,
            limits: ReplyLimits::default(),
            proxy,
            work,
        };
        let mut args: Vec<&str> = CHROMIUM_ARGS.to_vec();
        if !sandboxed {
            // Outside the sandbox Chromium may be running as root, where its own sandbox refuses to start.
            args.push("--no-sandbox");
        }
        let launch = json!({
            "op": "launch",
            "executablePath": options.chromium,
            "headless": options.headless,
            "args": args,
            "chromiumSandbox": sandboxed,
            "egressProxy": egress_socket,
        });
        let launched = runner.request(launch, &mut |_| {}).await?.map_err(Error::Runner)?;
        if sandboxed && launched.get("chromiumSandbox") == Some(&Value::Bool(false)) {
            tracing::warn!(target: "runner", "Chromium's own sandbox is unavailable here; it runs inside segue's sandbox without it");
        }
        if let Some(pid) = runner.child.id() {
            runner.child_groups = group_leading_children(pid);
        }
        Ok(runner)
    }

    /// Closes the browser and waits for Node to exit.
    pub async fn shutdown(mut self) {
        if !self.dead && self.request(json!({"op": "shutdown"}), &mut |_| {}).await.is_ok() {
            // The runner exits by itself after answering `shutdown`.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.child.wait()).await;
        }
        kill_group(&mut self.child);
    }

    /// Sends one request and reads until its reply. The outer `Err` means the
    /// process is unusable; the inner one is an error the JavaScript reported.
    async fn request(
        &mut self,
        mut request: Value,
        on_log: &mut (dyn FnMut(Log) + Send),
    ) -> Result<Result<Value, String>, Error> {
        if self.dead {
            return Err(self.exited());
        }
        self.next_id += 1;
        let id = self.next_id;
        request["id"] = json!(id);
        // If this future is dropped half-way (a timeout), the reply would desynchronise
        // the stream: assume the worst until the reply has been read.
        self.dead = true;
        let mut line = request.to_string();
        line.push('\n');
        if self.stdin.write_all(line.as_bytes()).await.is_err() {
            return Err(self.exited());
        }
        loop {
            let line = match self.stdout.next().await {
                Some(Ok(line)) => line,
                Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                    self.kill();
                    let limit = self.limits.line_bytes;
                    return Err(Error::Runner(format!("the runner sent a line longer than {limit} bytes")));
                }
                Some(Err(LinesCodecError::Io(_))) | None => return Err(self.exited()),
            };
            let message: Message = match serde_json::from_str(&line) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(target: "runner", "ignoring a line that is not protocol ({e}): {line}");
                    continue;
                }
            };
            if message.event.as_deref() == Some("log") {
                let text = message.text.unwrap_or_default();
                on_log(Log { level: message.level.unwrap_or_default(), text: crate::ansi::strip(&text).into_owned() });
                continue;
            }
            if message.id != Some(id) {
                continue;
            }
            self.dead = false;
            return Ok(match message.ok {
                Some(true) => Ok(message.result.unwrap_or(Value::Null)),
                _ => Err(message
                    .error
                    .map_or_else(|| "unknown error".to_owned(), |e| crate::ansi::strip(&e.message).into_owned())),
            });
        }
    }

    fn exited(&mut self) -> Error {
        self.kill();
        let stderr = self.stderr.lock().expect("stderr buffer").iter().cloned().collect();
        Error::Exited { stderr }
    }
}

/// Kills each process group and forgets it.
fn kill_groups(groups: &mut Vec<i32>) {
    for group in groups.drain(..) {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
}

/// Children of `parent` that lead a process group of their own, read from /proc.
fn group_leading_children(parent: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the parenthesised command: state, ppid, pgrp, …
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.get(1).and_then(|f| f.parse::<u32>().ok()) == Some(parent)
                && fields.get(2).and_then(|f| f.parse::<i32>().ok()) == Some(*pid)
        })
        .collect()
}

/// Lets the child inherit `fds` (opened close-on-exec, so no other child does).
#[allow(unsafe_code)]
fn inherit(command: &mut Command, fds: &[OwnedFd]) {
    let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: the closure runs between fork and exec; it only calls fcntl, which
    // is async-signal-safe, on descriptors that stay open until after the spawn,
    // and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            for &fd in &raw {
                if nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        // The group id equals the leader's pid (process_group(0)).
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.start_kill();
}

impl Browser for Runner {
    fn files_dir(&self) -> PathBuf {
        self.work.files()
    }

    fn take_denials(&self) -> Vec<egress::Denial> {
        self.proxy.take_denials()
    }

    fn limit_replies(&mut self, limits: ReplyLimits) {
        if limits.line_bytes != self.limits.line_bytes {
            // Between requests the codec holds no partial line worth keeping.
            *self.stdout.decoder_mut() = LinesCodec::new_with_max_length(limits.line_bytes);
        }
        self.limits = limits;
    }

    async fn open(&mut self, options: &SessionOptions) -> Result<(), Error> {
        let request = json!({
            "op": "open",
            "recordNetwork": options.record_network,
            "storageState": options.storage_state.as_ref().map(StorageState::as_json),
            "downloadsDir": options.downloads_dir,
            "trace": options.trace.map(|t| json!({"screenshots": t.screenshots})),
        });
        self.request(request, &mut |_| {}).await?.map_err(Error::Runner)?;
        Ok(())
    }

    async fn run_code(
        &mut self,
        name: &str,
        code: &str,
        parameters: &serde_json::Map<String, Value>,
        network: bool,
        on_log: &mut (dyn FnMut(Log) + Send),
    ) -> Result<SegmentResult, Error> {
        let request = json!({
            "op": "code",
            "name": name,
            "code": code,
            "parameters": parameters,
            "network": network,
            "maxResultBytes": self.limits.result_bytes,
        });
        let reply = self.request(request, on_log).await?;
        let limit = self.limits.result_bytes;
        let too_large = |bytes: u64| usize::try_from(bytes).map_or(true, |b| b > limit);
        Ok(match reply {
            Ok(result) if let Some(bytes) = result.get("tooLargeBytes").and_then(Value::as_u64) => {
                return Err(Error::ResultTooLarge { bytes, limit });
            }
            Ok(result)
                if let Some(bytes) =
                    result.get("value").map(workflow::values::json_bytes).filter(|&b| too_large(b)) =>
            {
                // The runner did not refuse it (its check is a courtesy): refused here.
                return Err(Error::ResultTooLarge { bytes, limit });
            }
            Ok(result) => SegmentResult {
                elapsed_ms: result.get("elapsedMs").and_then(Value::as_f64).unwrap_or(0.0),
                outcome: Ok(result.get("value").cloned().unwrap_or(Value::Null)),
            },
            Err(message) => SegmentResult { outcome: Err(message), elapsed_ms: 0.0 },
        })
    }

    async fn route(
        &mut self,
        name: &str,
        router: &str,
        outputs: &serde_json::Map<String, Value>,
    ) -> Result<Result<Value, String>, Error> {
        let reply =
            self.request(json!({"op": "route", "name": name, "code": router, "outputs": outputs}), &mut |_| {}).await?;
        Ok(reply.map(|r| r.get("value").cloned().unwrap_or(Value::Null)))
    }

    async fn observe(&mut self, screenshot: Option<Screenshot<'_>>, measure_html: bool) -> Result<Observation, Error> {
        let request = json!({
            "op": "observe",
            // An object asks for one: `{hide}`.
            "screenshot": screenshot.map(|s| json!({"hide": s.hide})),
            "measureHtml": measure_html,
        });
        let reply = self.request(request, &mut |_| {}).await?.map_err(Error::Runner)?;
        let text = |k: &str| reply.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Observation {
            url: text("url"),
            title: text("title"),
            snapshot: text("snapshot"),
            screenshot_png_base64: reply.get("screenshot").and_then(Value::as_str).map(str::to_owned),
            html_chars: reply.get("htmlChars").and_then(Value::as_u64),
        })
    }

    async fn act(&mut self, tool: &str, args: &Value) -> Result<Result<Acted, String>, Error> {
        let reply = self.request(json!({"op": "act", "tool": tool, "args": args}), &mut |_| {}).await?;
        Ok(reply.map(|r| Acted {
            url: r.get("url").and_then(Value::as_str).unwrap_or_default().to_owned(),
            locator: r.get("locator").filter(|l| !l.is_null()).cloned(),
        }))
    }

    async fn locate(&mut self, values: &serde_json::Map<String, Value>) -> Result<Value, Error> {
        self.request(json!({"op": "locate", "values": values}), &mut |_| {}).await?.map_err(Error::Runner)
    }

    async fn capture(&mut self, capture: Capture<'_>) -> Result<Captured, Error> {
        let request = json!({
            "op": "capture",
            "screenshotPath": capture.screenshot,
            "fullPage": capture.full_page,
            "hide": capture.hide,
            "html": capture.html,
        });
        let reply = self.request(request, &mut |_| {}).await?.map_err(Error::Runner)?;
        Ok(Captured {
            screenshot: reply.get("screenshot").and_then(Value::as_str).map(PathBuf::from),
            html: reply.get("html").and_then(Value::as_str).map(str::to_owned),
        })
    }

    async fn downloads(&mut self, wait: std::time::Duration) -> Result<Vec<Download>, Error> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let reply =
            self.request(json!({"op": "downloads", "waitMs": wait_ms}), &mut |_| {}).await?.map_err(Error::Runner)?;
        let text = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        let listed = reply.get("downloads").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(listed
            .iter()
            .map(|item| Download {
                name: text(item, "name").unwrap_or_else(|| "download".into()),
                saved: match (text(item, "path"), text(item, "error")) {
                    (Some(path), _) => Ok(PathBuf::from(path)),
                    (None, error) => Err(error.unwrap_or_else(|| "not saved".into())),
                },
            })
            .collect())
    }

    async fn stop_trace(&mut self, path: Option<&std::path::Path>) -> Result<(), Error> {
        self.request(json!({"op": "stopTrace", "path": path}), &mut |_| {}).await?.map_err(Error::Runner)?;
        Ok(())
    }

    async fn storage_state(&mut self) -> Result<StorageState, Error> {
        let reply = self.request(json!({"op": "storageState"}), &mut |_| {}).await?.map_err(Error::Runner)?;
        StorageState::from_json(reply.get("state").cloned().unwrap_or(Value::Null)).map_err(Error::Runner)
    }

    async fn close(&mut self) -> Result<(), Error> {
        self.request(json!({"op": "close"}), &mut |_| {}).await?.map_err(Error::Runner)?;
        Ok(())
    }

    fn kill(&mut self) {
        self.dead = true;
        kill_group(&mut self.child);
        kill_groups(&mut self.child_groups);
    }

    fn is_alive(&self) -> bool {
        !self.dead
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill();
    }
}
