//! A browser shared by many runners: one Chromium behind a Playwright browser
//! server. Each run still has a runner process of its own (the kill boundary
//! for its JavaScript) but connects instead of launching Chromium, which saves
//! the browser's start-up on every run.

use std::process::Stdio;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::locate::{CHROMIUM_ARGS, Options};
use crate::process::{Error, group_leading_children, kill_groups};

pub struct BrowserHost {
    child: Child,
    ws_endpoint: String,
    /// Chromium's process group (Playwright starts it detached).
    groups: Vec<i32>,
}

impl BrowserHost {
    pub async fn start(options: &Options) -> Result<BrowserHost, Error> {
        let script = options.runner_dir.join("browser-host.js");
        let launch = json!({"executablePath": options.chromium, "headless": options.headless, "args": CHROMIUM_ARGS});
        let mut child = Command::new(&options.node)
            .arg(&script)
            .arg(launch.to_string())
            .current_dir(&options.runner_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::Spawn {
                command: format!("{} {}", options.node.display(), script.display()),
                source,
            })?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line()).await;
        let ws_endpoint = match first {
            Ok(Ok(Some(line))) => serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["wsEndpoint"].as_str().map(str::to_owned))
                .ok_or_else(|| Error::Runner(format!("the browser host printed {line:?}")))?,
            _ => {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        tokio::io::AsyncReadExt::read_to_string(&mut e, &mut stderr),
                    )
                    .await;
                }
                let _ = child.start_kill();
                return Err(Error::Exited { stderr: stderr.lines().map(str::to_owned).collect() });
            }
        };
        let mut groups = child.id().map(group_leading_children).unwrap_or_default();
        groups.extend(child.id().and_then(|p| i32::try_from(p).ok()));
        Ok(BrowserHost { child, ws_endpoint, groups })
    }

    pub fn ws_endpoint(&self) -> &str {
        &self.ws_endpoint
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for BrowserHost {
    fn drop(&mut self) {
        kill_groups(&mut self.groups);
        let _ = self.child.start_kill();
    }
}
