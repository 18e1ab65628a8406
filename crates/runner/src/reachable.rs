//! The runner's folder where the sandbox user can read it.
//!
//! When segue runs as root, the sandbox runs as an unprivileged user, and
//! bubblewrap before 0.9 resolves even a folder bound by descriptor through its
//! path as that user: a checkout under `/root` (mode 0700) fails with "Can't
//! find source path /proc/self/fd/N: Permission denied". Such a folder is copied
//! once per content to `/var/cache/segue/runner-<fingerprint>`, which only root
//! can write and everybody can read; a folder the user can already reach is used
//! where it is.

use std::hash::{Hash as _, Hasher as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Where copies are kept: root-owned, readable by everybody.
const CACHE: &str = "/var/cache/segue";

/// `runner_dir` itself when others may read it, else its cached copy.
pub fn runner_dir(runner_dir: &Path) -> std::io::Result<PathBuf> {
    if others_can_read(runner_dir) {
        return Ok(runner_dir.to_owned());
    }
    let copy = Path::new(CACHE).join(format!("runner-{:016x}", fingerprint(runner_dir)?));
    if trusted(&copy) {
        return Ok(copy);
    }
    std::fs::create_dir_all(CACHE)?;
    std::fs::set_permissions(CACHE, std::fs::Permissions::from_mode(0o755))?;
    // Copied beside it, then renamed: a reader never sees half a copy.
    let staging = Path::new(CACHE).join(format!(".runner-{}-{}", std::process::id(), fingerprint(runner_dir)?));
    let _ = std::fs::remove_dir_all(&staging);
    run("cp", &["-a".as_ref(), runner_dir.as_os_str(), staging.as_os_str()])?;
    run("chmod", &["-R".as_ref(), "a+rX,go-w".as_ref(), staging.as_os_str()])?;
    match std::fs::rename(&staging, &copy) {
        Ok(()) => Ok(copy),
        // Another process made the same copy first.
        Err(_) if trusted(&copy) => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(copy)
        }
        Err(e) => Err(e),
    }
}

/// Whether a user who is neither owner nor group may list and read `path`: every
/// folder above it lets others through, and it lets others read and enter.
fn others_can_read(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).unwrap_or(0);
    path.ancestors().skip(1).all(|above| mode(above) & 0o001 != 0) && mode(path) & 0o005 == 0o005
}

/// A copy only root could have made: owned by root, not writable by others.
fn trusted(copy: &Path) -> bool {
    std::fs::symlink_metadata(copy).is_ok_and(|m| m.is_dir() && m.uid() == 0 && m.mode() & 0o022 == 0)
}

/// Tells one content of the runner from another: its code and its pinned packages.
fn fingerprint(runner_dir: &Path) -> std::io::Result<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in ["runner.js", "package.json", "package-lock.json"] {
        std::fs::read(runner_dir.join(file))?.hash(&mut hasher);
    }
    Ok(hasher.finish())
}

fn run(program: &str, args: &[&std::ffi::OsStr]) -> std::io::Result<()> {
    let status = std::process::Command::new(program).args(args).status()?;
    if status.success() { Ok(()) } else { Err(std::io::Error::other(format!("{program} {args:?} failed: {status}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_behind_a_closed_one_is_not_readable_by_others() {
        let outer = tempfile::tempdir().unwrap();
        let inner = outer.path().join("runner-js");
        std::fs::create_dir(&inner).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(others_can_read(&inner));
        std::fs::set_permissions(outer.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(!others_can_read(&inner), "a folder under a 0700 one, like a checkout in /root");
    }
}
