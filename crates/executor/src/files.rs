//! `file` parameters: data URIs written to a per-run temporary folder, so that
//! segment code can call `setInputFiles(parameters.NAME)`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::{Map, Value};
use tempfile::TempDir;
use workflow::data_uri;

/// Deleted with everything in it when dropped, i.e. when the run ends.
pub struct RunFiles {
    /// The runner's files folder, which its sandbox sees at the same path.
    base: PathBuf,
    dir: Option<TempDir>,
    written: usize,
}

impl RunFiles {
    pub fn new(base: PathBuf) -> RunFiles {
        RunFiles { base, dir: None, written: 0 }
    }

    /// Replaces each named parameter's data URI with the path of a file holding its bytes.
    pub fn materialize(&mut self, parameters: &mut Map<String, Value>, names: &[String]) -> Result<(), String> {
        for name in names {
            let Some(Value::String(uri)) = parameters.get(name) else {
                continue;
            };
            let file = data_uri::parse(uri).map_err(|e| format!("file input '{name}': {e}"))?;
            let path = self
                .write(name, file.name.as_deref(), &file.bytes)
                .map_err(|e| format!("file input '{name}': could not write a temporary file: {e}"))?;
            parameters.insert(name.clone(), Value::String(path.to_string_lossy().into_owned()));
        }
        Ok(())
    }

    fn write(&mut self, param: &str, file_name: Option<&str>, bytes: &[u8]) -> std::io::Result<PathBuf> {
        if self.dir.is_none() {
            // Readable by the sandbox's unprivileged user; the base folder itself is private to it.
            let readable = std::fs::Permissions::from_mode(0o755);
            self.dir = Some(tempfile::Builder::new().prefix("run-").permissions(readable).tempdir_in(&self.base)?);
        }
        let root = self.dir.as_ref().expect("created above").path();
        // A folder per write keeps the original file name (sites show it) without collisions.
        self.written += 1;
        let folder = root.join(self.written.to_string());
        std::fs::create_dir(&folder)?;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755))?;
        let safe_name = file_name
            .and_then(|n| std::path::Path::new(n).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| param.to_owned());
        let path = folder.join(safe_name);
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        Ok(path)
    }

    #[cfg(test)]
    pub fn root(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_named_files_and_removes_them_when_dropped() {
        let base = tempfile::tempdir().unwrap();
        let mut files = RunFiles::new(base.path().to_owned());
        let uri = data_uri::encode("text/plain", Some("../notes.txt"), b"hello");
        let mut params = json!({"doc": uri, "other": "x"}).as_object().unwrap().clone();
        files.materialize(&mut params, &["doc".into()]).unwrap();
        let path = PathBuf::from(params["doc"].as_str().unwrap());
        assert_eq!(path.file_name().unwrap(), "notes.txt");
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(params["other"], "x");
        let root = files.root().unwrap();
        drop(files);
        assert!(!root.exists());
    }
}
