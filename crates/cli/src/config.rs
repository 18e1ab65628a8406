//! The client's config file: named contexts, each a server URL and an API key,
//! and which one is current. `segue login` writes it; client commands read it
//! after their flags and the environment (`client::ServerArgs::resolve`).
//!
//! The file holds API keys: it is written with mode 0600, in a folder of mode 0700.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::client::ClientError;

#[derive(Serialize, Deserialize, Default)]
pub struct Config {
    /// The context client commands use when no `--context` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// By name, as `segue login --context NAME` saved them.
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Context {
    /// The server's base URL, e.g. `https://segue.example.com`.
    pub url: String,
    /// Sent only to `url`: a context's key never goes to another server.
    pub api_key: String,
}

/// Where the file is: `SEGUE_CONFIG`, else `$XDG_CONFIG_HOME/segue/config.toml`,
/// else `~/.config/segue/config.toml`. `None` when no variable tells.
pub fn path() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(file) = set("SEGUE_CONFIG") {
        return Some(file);
    }
    let dir = set("XDG_CONFIG_HOME").or_else(|| set("HOME").map(|home| home.join(".config")))?;
    Some(dir.join("segue").join("config.toml"))
}

impl Config {
    /// The file's contexts; none when there is no file.
    pub fn load() -> Result<Config, ClientError> {
        let Some(path) = path() else { return Ok(Config::default()) };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(ClientError(format!("cannot read {}: {e}", path.display()))),
        };
        toml::from_str(&text).map_err(|e| ClientError(format!("{} is not a valid config file: {e}", path.display())))
    }

    /// Writes the whole file anew, readable by its owner only. The text goes to a
    /// temporary file first and replaces the old one at once: an interrupted write
    /// never leaves half a file.
    pub fn save(&self) -> Result<PathBuf, ClientError> {
        let path = path().ok_or_else(|| ClientError("no config file: set SEGUE_CONFIG or HOME".into()))?;
        let failed = |e: std::io::Error| ClientError(format!("cannot write {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(failed)?;
        }
        let text = toml::to_string(self).map_err(|e| ClientError(format!("cannot write the config: {e}")))?;
        // A new file of a random name (never one someone else made, nor a link), 0600 from its
        // creation, then renamed over the old one.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut file = tempfile::Builder::new()
            .prefix(".config.toml.")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.as_file().sync_all().map_err(failed)?;
        file.persist(&path).map_err(|e| failed(e.error))?;
        Ok(path)
    }

    /// The context `--context` names, or else the current one (if any).
    pub fn context(&self, named: Option<&str>) -> Result<Option<(&str, &Context)>, ClientError> {
        let Some(name) = named.or(self.current_context.as_deref()) else { return Ok(None) };
        match self.contexts.get_key_value(name) {
            Some((name, context)) => Ok(Some((name.as_str(), context))),
            None if named.is_some() => Err(ClientError(format!(
                "no context named '{name}' (known: {}); `segue login URL --context {name}` adds it",
                self.names()
            ))),
            // A current context that was removed by hand: as if there were none.
            None => Ok(None),
        }
    }

    pub fn names(&self) -> String {
        if self.contexts.is_empty() {
            return "none".into();
        }
        self.contexts.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
    }
}

/// A key as `segue contexts list` shows it: its last four characters only.
pub fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    format!("****{}", chars[chars.len() - 4..].iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::{Config, Context, masked};

    #[test]
    fn contexts_round_trip_through_toml() {
        let mut config = Config { current_context: Some("prod".into()), ..Config::default() };
        config.contexts.insert("prod".into(), Context { url: "https://s.example".into(), api_key: "k".into() });
        let text = toml::to_string(&config).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.current_context.as_deref(), Some("prod"));
        assert_eq!(back.contexts["prod"].url, "https://s.example");
        assert!(back.context(Some("staging")).is_err());
        assert!(matches!(back.context(None), Ok(Some(("prod", _)))));
    }

    #[test]
    fn masking_keeps_only_the_tail_of_long_keys() {
        assert_eq!(masked("sk_live_abcdefgh1234"), "****1234");
        assert_eq!(masked("short"), "****");
    }
}
