//! `segue login`, `segue logout` and `segue contexts`: the client's config file
//! (`config.rs`). A key is checked against its server before it is saved, and
//! never printed: `contexts list` shows its last characters only.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Value, json};

use crate::client::{Client, ClientError};
use crate::client_cmd::{Column, Format, FormatArgs, cell, finish, print, rows_table};
use crate::config::{Config, Context, masked};

#[derive(clap::Args)]
pub struct LoginArgs {
    /// The server's URL, e.g. https://segue.example.com.
    url: String,
    /// The API key; without it the key is read from stdin (asked without echo on a terminal).
    /// A key given here shows in the process list and the shell's history.
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// Save it under this name [default: the URL's host and port].
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
}

#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The context to forget [default: the current one].
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
}

#[derive(Subcommand)]
pub enum Contexts {
    /// The saved contexts: name, URL, the key's last characters; `*` marks the current one.
    List,
    /// Make NAME the current context: client commands use it from now on.
    Use {
        /// A context's name, as `segue contexts list` shows it.
        name: String,
    },
}

pub async fn login(args: LoginArgs) -> ExitCode {
    finish(login_inner(args).await)
}

async fn login_inner(args: LoginArgs) -> Result<ExitCode, ClientError> {
    let url = args.url.trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ClientError(format!("400 '{url}' is not an http:// or https:// URL")));
    }
    let key = match args.api_key {
        Some(key) => key,
        None => crate::identities_cmd::read_answer("API key", true).map_err(ClientError)?.trim().to_owned(),
    };
    if key.is_empty() {
        return Err(ClientError("400 an empty API key".into()));
    }
    // Any key may list workflows: a key the server refuses is not saved.
    Client::new(&url, key.clone())
        .get("/v1/workflows?limit=1")
        .await
        .map_err(|ClientError(e)| ClientError(format!("{e} (the key was not saved)")))?;
    let name = args.context.unwrap_or_else(|| default_name(&url));
    let mut config = Config::load()?;
    config.contexts.insert(name.clone(), Context { url: url.clone(), api_key: key });
    config.current_context = Some(name.clone());
    let path = config.save()?;
    eprintln!("logged in to {url} as context '{name}' (saved in {})", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `https://segue.example.com:8443/` → `segue.example.com:8443`.
fn default_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

pub fn logout(args: LogoutArgs) -> ExitCode {
    finish(logout_inner(args))
}

fn logout_inner(args: LogoutArgs) -> Result<ExitCode, ClientError> {
    let mut config = Config::load()?;
    let Some(name) = args.context.or_else(|| config.current_context.clone()) else {
        return Err(ClientError("400 no current context to log out of".into()));
    };
    if config.contexts.remove(&name).is_none() {
        return Err(ClientError(format!("404 no context named '{name}' (known: {})", config.names())));
    }
    if config.current_context.as_deref() == Some(name.as_str()) {
        config.current_context = None;
    }
    config.save()?;
    eprintln!("logged out: context '{name}' and its key removed");
    Ok(ExitCode::SUCCESS)
}

pub fn contexts(command: Contexts, format: FormatArgs) -> ExitCode {
    finish(contexts_inner(command, format.format()))
}

const CONTEXT_COLUMNS: &[Column] = &[
    ("CURRENT", |c| if c["current"] == true { "*".into() } else { String::new() }),
    ("NAME", |c| cell(&c["name"])),
    ("URL", |c| cell(&c["url"])),
    ("API KEY", |c| cell(&c["apiKey"])),
];

fn contexts_inner(command: Contexts, format: Format) -> Result<ExitCode, ClientError> {
    let mut config = Config::load()?;
    match command {
        Contexts::List => {
            let current = config.current_context.as_deref();
            let listed: Vec<Value> = config
                .contexts
                .iter()
                .map(|(name, c)| {
                    json!({"name": name, "url": c.url, "apiKey": masked(&c.api_key), "current": current == Some(name)})
                })
                .collect();
            if listed.is_empty() && format == Format::Table {
                eprintln!("no contexts: `segue login URL` adds one");
            }
            print(&json!({ "data": listed }), format, |_| {
                rows_table(&listed.iter().collect::<Vec<_>>(), CONTEXT_COLUMNS)
            });
        }
        Contexts::Use { name } => {
            if !config.contexts.contains_key(&name) {
                return Err(ClientError(format!("404 no context named '{name}' (known: {})", config.names())));
            }
            config.current_context = Some(name.clone());
            config.save()?;
            eprintln!("now using context '{name}'");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_context_is_named_after_its_host_and_port() {
        assert_eq!(super::default_name("https://segue.example.com:8443/api"), "segue.example.com:8443");
        assert_eq!(super::default_name("http://127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
