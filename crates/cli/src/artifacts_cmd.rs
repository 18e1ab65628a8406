//! The files runs leave, from the command line: `segue runs artifacts` lists a
//! run's and downloads them into a folder, `segue artifacts link` shares one, and
//! `segue runs start --screenshots/--trace` asks for them.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use crate::client::{Client, ClientError};
use crate::client_cmd::{Column, Format, Output, cell, encode, finish, present_fields, print, query, table};

/// When a run takes screenshots, spelled as the API spells it.
#[derive(Clone, Copy, ValueEnum)]
pub enum Screenshots {
    End,
    EverySegment,
    Off,
}

/// When a run keeps a Playwright trace, spelled as the API spells it.
#[derive(Clone, Copy, ValueEnum)]
pub enum Trace {
    Off,
    On,
    OnFailure,
}

/// The `artifacts` field of a new run: only what was asked, the server has defaults.
pub fn asked(screenshots: Option<Screenshots>, trace: Option<Trace>) -> Option<Value> {
    if screenshots.is_none() && trace.is_none() {
        return None;
    }
    Some(present_fields([("screenshots", screenshots.map(spelled)), ("trace", trace.map(spelled))]))
}

fn spelled(value: impl ValueEnum) -> Value {
    Value::String(value.to_possible_value().expect("no value is skipped").get_name().to_owned())
}

#[derive(Subcommand)]
pub enum Artifacts {
    /// Print a URL of an artifact's bytes that works without an API key until it expires.
    Link {
        id: String,
        /// How long the link works (the server's default is 900, at most 7 days).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<i64>,
    },
}

pub async fn main(command: Artifacts, out: Output) -> ExitCode {
    finish(artifacts_inner(command, &out).await)
}

async fn artifacts_inner(command: Artifacts, out: &Output) -> Result<ExitCode, ClientError> {
    let client = out.client()?;
    let format = out.format();
    match command {
        Artifacts::Link { id, expires_in } => {
            let body = present_fields([("expiresInSeconds", expires_in.map(Value::from))]);
            let path = format!("/v1/artifacts/{}/link", encode(&id));
            let (_, link) = client.call(Method::POST, &path, Some(&body)).await?;
            print(&link, format, |l| l["url"].as_str().unwrap_or_default().to_owned());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An artifact as listed, with what its download is checked against.
struct Listed {
    value: Value,
    id: String,
    name: String,
    size: u64,
    sha256: String,
}

impl Listed {
    fn read(value: Value) -> Result<Listed, ClientError> {
        let field = |name: &str| value[name].as_str().map(str::to_owned);
        let (Some(id), Some(name), Some(size), Some(sha256)) =
            (field("id"), field("name"), value["size"].as_u64(), field("sha256"))
        else {
            return Err(ClientError(format!(
                "the server listed an artifact without id, name, size or sha256: {value}"
            )));
        };
        Ok(Listed { id, name, size, sha256: sha256.to_ascii_lowercase(), value })
    }

    /// Its line in a listing, padded to the `widths` of the longest name and size so the columns line up.
    fn line(&self, (name_width, size_width): (usize, usize)) -> String {
        let segment = self.value["segmentName"].as_str().map(|s| format!("  segment {s}")).unwrap_or_default();
        let kind = self.value["type"].as_str().unwrap_or_default();
        format!("{kind:<10}  {:<name_width$}  {:>size_width$} bytes  {}{segment}", self.name, self.size, self.id)
    }
}

const ARTIFACT_COLUMNS: &[Column] = &[
    ("ID", |a| cell(&a["id"])),
    ("TYPE", |a| cell(&a["type"])),
    ("NAME", |a| cell(&a["name"])),
    ("SIZE", |a| cell(&a["size"])),
    ("SEGMENT", |a| cell(&a["segmentName"])),
];

/// `segue runs artifacts ID [--download DIR]`: every page of the run's artifacts,
/// printed, or saved into `download` (one line per file saved, with its path).
pub async fn of_run(client: &Client, run: &str, download: Option<&Path>, format: Format) -> Result<(), ClientError> {
    let listed = list_run(client, run).await?;
    if listed.is_empty() && format == Format::Table {
        eprintln!("run {run} has no artifacts");
        return Ok(());
    }
    let widest = |width: fn(&Listed) -> usize| listed.iter().map(width).max().unwrap_or(0);
    let width = (widest(|a| a.name.chars().count()), widest(|a| a.size.to_string().len()));
    let Some(dir) = download else {
        let values: Vec<&Value> = listed.iter().map(|a| &a.value).collect();
        print(&json!({ "data": values }), format, |page| table(page, ARTIFACT_COLUMNS));
        return Ok(());
    };
    check_targets(&listed, dir)?;
    std::fs::create_dir_all(dir).map_err(|e| ClientError(format!("cannot create {}: {e}", dir.display())))?;
    // Ctrl-C stops the download like an error, so the file being written is removed.
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let mut saved = Vec::new();
    for artifact in listed {
        let path = save(client, &artifact, dir, &mut interrupted).await?;
        if format == Format::Table {
            println!("{}  -> {}", artifact.line(width), path.display());
        }
        let mut value = artifact.value;
        value["path"] = json!(path);
        saved.push(value);
    }
    if format != Format::Table {
        print(&json!({ "data": saved }), format, |_| String::new());
    }
    Ok(())
}

/// Follows `nextCursor` to the last page: all of them, not the first 20.
async fn list_run(client: &Client, run: &str) -> Result<Vec<Listed>, ClientError> {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = query(&[("cursor", cursor.clone())]);
        let mut page = client.get(&format!("/v1/runs/{}/artifacts{q}", encode(run))).await?;
        for value in page["data"].as_array_mut().map(std::mem::take).unwrap_or_default() {
            listed.push(Listed::read(value)?);
        }
        let next = page["nextCursor"].as_str().map(str::to_owned);
        if next.is_none() || next == cursor {
            // A cursor that does not move would list the same page forever.
            return Ok(listed);
        }
        cursor = next;
    }
}

/// Refuses, before anything is written, names that would leave `dir` or clash, and
/// files already there: a second download into the same folder changes nothing.
fn check_targets(listed: &[Listed], dir: &Path) -> Result<(), ClientError> {
    let mut names = HashSet::new();
    for artifact in listed {
        plain_name(&artifact.name)?;
        if !names.insert(artifact.name.as_str()) {
            return Err(ClientError(format!("two artifacts are named {:?}; nothing was downloaded", artifact.name)));
        }
        let target = dir.join(&artifact.name);
        if target.symlink_metadata().is_ok() {
            return Err(ClientError(format!(
                "{} already exists; nothing was downloaded (files already there are never replaced)",
                target.display()
            )));
        }
    }
    Ok(())
}

/// The names come from the server: each must be one plain file name, so that
/// `dir.join(name)` stays in `dir`.
fn plain_name(name: &str) -> Result<(), ClientError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(ClientError(format!("refusing the artifact name {name:?}: not a plain file name")));
    }
    Ok(())
}

/// Streams one artifact's bytes into `dir`, checking their size and SHA-256 against
/// the listing. Whatever goes wrong once the file exists, it is removed: a partial
/// or corrupt file must not pass for the artifact.
async fn save<F: Future>(
    client: &Client,
    artifact: &Listed,
    dir: &Path,
    interrupted: &mut Pin<&mut F>,
) -> Result<PathBuf, ClientError> {
    let content = format!("/v1/artifacts/{}/content", encode(&artifact.id));
    let response = tokio::select! {
        response = client.get_streamed(&content) => response?,
        _ = interrupted.as_mut() => return Err(ClientError("interrupted".into())),
    };
    let target = dir.join(&artifact.name);
    // Checked before the download too; `create_new` is what makes it hold if a file appeared since.
    let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&target).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            ClientError(format!("{} appeared during the download; it was left as it is", target.display()))
        } else {
            ClientError(format!("cannot create {}: {e}", target.display()))
        }
    })?;
    let written = tokio::select! {
        written = write_checked(file, response, artifact) => written,
        _ = interrupted.as_mut() => Err("interrupted".into()),
    };
    if let Err(problem) = written {
        let _ = tokio::fs::remove_file(&target).await;
        return Err(ClientError(format!("{}: {problem}; the file was removed", target.display())));
    }
    Ok(target)
}

/// Writes the body chunk by chunk, never holding the whole file, and stops at the
/// first byte beyond the listed size.
async fn write_checked(
    mut file: tokio::fs::File,
    mut response: reqwest::Response,
    artifact: &Listed,
) -> Result<(), String> {
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("the download broke off: {e}"))? {
        size += chunk.len() as u64;
        if size > artifact.size {
            return Err(format!("more bytes than the {} listed", artifact.size));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| format!("cannot write: {e}"))?;
    }
    file.flush().await.map_err(|e| format!("cannot write: {e}"))?;
    if size != artifact.size {
        return Err(format!("{size} bytes arrived, {} were listed", artifact.size));
    }
    let sha256: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if sha256 != artifact.sha256 {
        return Err(format!("its SHA-256 is {sha256}, the listing says {}", artifact.sha256));
    }
    Ok(())
}
