//! The runner's folder where the sandbox user can read it.
//!
//! When segue runs as root, the sandbox runs as an unprivileged user, and
//! bubblewrap before 0.9 resolves even a folder bound by descriptor through its
//! path as that user: a checkout under `/root` (mode 0700) fails with "Can't
//! find source path /proc/self/fd/N: Permission denied". Such a folder is copied
//! once per content to `/var/cache/segue/runner-<fingerprint>`, which only root
//! can write and everybody can read; a folder the user can already reach is used
//! where it is.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Where copies are kept: root-owned, readable by everybody.
const CACHE: &str = "/var/cache/segue";

/// `runner_dir` itself when others may read it, else its cached copy.
pub fn runner_dir(runner_dir: &Path) -> std::io::Result<PathBuf> {
    if others_can_read(runner_dir) {
        return Ok(runner_dir.to_owned());
    }
    let cache = Path::new(CACHE);
    if !cache.exists() {
        std::fs::create_dir_all(cache)?;
        std::fs::set_permissions(cache, std::fs::Permissions::from_mode(0o755))?;
    }
    if !trusted(cache) {
        return Err(refused(cache));
    }
    let fingerprint = fingerprint(runner_dir)?;
    let copy = cache.join(format!("runner-{fingerprint}"));
    if trusted(&copy) {
        return Ok(copy);
    }
    // Copied beside it, then renamed: a reader never sees half a copy. Owned by
    // root whoever owned the source (no ownership kept), links copied as links.
    let staging = cache.join(format!(".runner-{}-{fingerprint}", std::process::id()));
    let made = (|| {
        let _ = std::fs::remove_dir_all(&staging);
        let (from, to) = (runner_dir.as_os_str(), staging.as_os_str());
        run(
            "cp",
            &[
                "-RP".as_ref(),
                "--preserve=mode,timestamps,links".as_ref(),
                "--no-preserve=ownership".as_ref(),
                from,
                to,
            ],
        )?;
        run("chmod", &["-R".as_ref(), "a+rX,go-w".as_ref(), to])?;
        match std::fs::rename(&staging, &copy) {
            Ok(()) => Ok(()),
            // Another process made the same copy first: the check below decides.
            Err(_) if copy.exists() => Ok(()),
            Err(e) => Err(e),
        }
    })();
    let _ = std::fs::remove_dir_all(&staging);
    made?;
    if trusted(&copy) { Ok(copy) } else { Err(refused(&copy)) }
}

fn refused(path: &Path) -> std::io::Error {
    std::io::Error::other(format!(
        "{} is not a folder only root may change: remove it, and segue makes it anew",
        path.display()
    ))
}

/// Whether a user who is neither owner nor group may list and read `path`: every
/// folder above it lets others through, and it lets others read and enter.
fn others_can_read(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).unwrap_or(0);
    path.ancestors().skip(1).all(|above| mode(above) & 0o001 != 0) && mode(path) & 0o005 == 0o005
}

/// A folder only root could have made: a real folder (not a link), owned by root,
/// not writable by group or others.
fn trusted(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == 0 && m.mode() & 0o022 == 0)
}

/// Tells one content of the runner from another: its code and its installed packages.
fn fingerprint(runner_dir: &Path) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    for file in ["runner.js", "package.json", "package-lock.json", "node_modules/.package-lock.json"] {
        let bytes = std::fs::read(runner_dir.join(file)).unwrap_or_default();
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(hash.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect())
}

/// `program args`, failing unless it succeeds.
fn run(program: &str, args: &[&std::ffi::OsStr]) -> std::io::Result<()> {
    let status = std::process::Command::new(program).args(args).status()?;
    if status.success() { Ok(()) } else { Err(std::io::Error::other(format!("{program} failed: {status}"))) }
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
