//! The boundary around a run's JavaScript and its browser.
//!
//! A sandboxed runner is `bwrap` (bubblewrap) around `prlimit` around Node:
//! new user, PID, network, IPC and UTS namespaces; an empty environment; a
//! file system made of read-only `/usr`, the runner's folder, a size-limited
//! `/tmp` and the run's own files folder, so the data folder, keys and other
//! runs do not exist inside; no network but a Unix socket to the egress proxy;
//! per-run process, memory and file-size limits. When segue runs as root the
//! sandbox runs as an unprivileged user (`Options::sandbox_uid`, `nobody`).
//! Chromium starts inside it with its own sandbox on and a managed policy that
//! blocks `file:`, `chrome:`, `devtools:` and `view-source:` URLs.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid, chown, geteuid};

use crate::Options;

/// Where the egress proxy's socket appears inside the sandbox.
pub const EGRESS_SOCKET_INSIDE: &str = "/run/segue/egress.sock";

/// Blocks every URL scheme that reads local state rather than the web.
const CHROMIUM_POLICY: &str = r#"{
  "URLBlocklist": ["file://*", "chrome://*", "chrome-untrusted://*", "devtools://*", "view-source:*", "chrome-extension://*", "chrome-search://*"]
}
"#;

/// Limits for one run's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Data segment per process (RLIMIT_DATA): heap and array buffers.
    pub memory_bytes: u64,
    /// Processes and threads of the run together (RLIMIT_NPROC, counted in its own user namespace).
    pub processes: u64,
    /// The run's `/tmp` (downloads, profiles), held in memory.
    pub tmp_bytes: u64,
    /// Largest file a run may write.
    pub file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { memory_bytes: 2 << 30, processes: 512, tmp_bytes: 512 << 20, file_bytes: 256 << 20 }
    }
}

/// How a runner is confined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// The bubblewrap sandbox described above.
    Sandbox(Limits),
    /// The runner runs as the calling user with its full view of the machine.
    /// Only the browser's traffic goes through the egress proxy. For machines
    /// without user namespaces, and only for code one trusts.
    Unsafe,
}

/// The first file named `name` in `search_path`, else `name` as given.
fn find_program(name: &Path, search_path: &[PathBuf]) -> PathBuf {
    if name.components().count() > 1 {
        return name.to_owned();
    }
    search_path.iter().map(|dir| dir.join(name)).find(|p| p.is_file()).unwrap_or_else(|| name.to_owned())
}

/// The user a root segue runs sandboxes as.
fn sandbox_user(uid: u32) -> Option<(Uid, Gid)> {
    geteuid().is_root().then(|| (Uid::from_raw(uid), Gid::from_raw(uid)))
}

/// A runner's private folder on the host: the run's files (bound read-write
/// into the sandbox at the same path, so file inputs keep their paths), the
/// egress socket and Chromium's policy. Removed when dropped.
pub struct WorkDir {
    dir: tempfile::TempDir,
}

impl WorkDir {
    /// `sandbox_uid`: who owns it when segue runs as root (`Options::sandbox_uid`).
    pub fn create(sandbox_uid: u32) -> std::io::Result<WorkDir> {
        let dir = tempfile::Builder::new().prefix("segue-runner-").tempdir()?;
        std::fs::create_dir(dir.path().join("files"))?;
        std::fs::create_dir(dir.path().join("policy"))?;
        std::fs::write(dir.path().join("policy/segue.json"), CHROMIUM_POLICY)?;
        std::fs::set_permissions(dir.path().join("policy"), std::fs::Permissions::from_mode(0o755))?;
        if let Some((uid, gid)) = sandbox_user(sandbox_uid) {
            // The folder stays private (0700) but is the sandbox user's, so that
            // an unprivileged bubblewrap can bind it and Node can write files.
            for path in [dir.path().to_owned(), dir.path().join("files")] {
                chown(&path, Some(uid), Some(gid))?;
            }
        }
        Ok(WorkDir { dir })
    }

    pub fn files(&self) -> PathBuf {
        self.dir.path().join("files")
    }

    pub fn egress_socket(&self) -> PathBuf {
        self.dir.path().join("egress.sock")
    }

    /// Makes the bound egress socket usable by the sandbox user (its folder stays private).
    pub fn share_egress_socket(&self) -> std::io::Result<()> {
        std::fs::set_permissions(self.egress_socket(), std::fs::Permissions::from_mode(0o777))
    }

    fn policy(&self) -> PathBuf {
        self.dir.path().join("policy")
    }
}

/// The command that starts Node with `args` inside the sandbox, and the
/// descriptors it must inherit (read-only binds of folders the sandbox user
/// may not be able to reach by path, such as a checkout under `/root`).
pub struct Command {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub user: Option<(Uid, Gid)>,
    pub inherited: Vec<OwnedFd>,
}

pub fn command(limits: &Limits, options: &Options, work: &WorkDir) -> std::io::Result<Command> {
    let node = std::fs::canonicalize(find_program(&options.node, &options.search_path))?;
    let user = sandbox_user(options.sandbox_uid);
    let runner_dir = std::fs::canonicalize(&options.runner_dir)?;
    // As root, a copy the unprivileged sandbox user can read when it cannot read this one.
    let runner_dir = if user.is_some() { crate::reachable::runner_dir(&runner_dir)? } else { runner_dir };
    let chromium = &options.chromium;
    let mut b = Builder { args: Vec::new(), inherited: Vec::new(), by_descriptor: user.is_some() };
    b.flags(&["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]);
    b.flags(&["--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "PATH", "/usr/bin:/bin"]);
    b.flags(&["--setenv", "LANG", "C.UTF-8"]);
    b.flags(&["--ro-bind", "/usr", "/usr"]);
    // Merged-/usr systems have /lib → usr/lib symlinks; older ones real folders.
    for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        match std::fs::read_link(top) {
            Ok(target) => b.path_flags("--symlink", &target, Path::new(top)),
            Err(_) if Path::new(top).is_dir() => b.path_flags("--ro-bind", Path::new(top), Path::new(top)),
            Err(_) => {}
        }
    }
    for etc in ["/etc/fonts", "/etc/chromium.d", "/etc/localtime", "/etc/ld.so.cache", "/etc/alternatives"] {
        b.path_flags("--ro-bind-try", Path::new(etc), Path::new(etc));
    }
    b.flags(&["--proc", "/proc", "--dev", "/dev"]);
    b.flags(&["--size", &limits.tmp_bytes.to_string(), "--tmpfs", "/tmp"]);
    b.flags(&["--size", &(64u64 << 20).to_string(), "--tmpfs", "/dev/shm"]);
    b.path_flags("--ro-bind", &work.policy(), Path::new("/etc/chromium/policies/managed"));
    b.read_only(&runner_dir)?;
    for program in [&node, &std::fs::canonicalize(chromium).unwrap_or_else(|_| chromium.clone())] {
        // Installations outside /usr (nvm, /opt) are bound read-only where they are.
        if !program.starts_with("/usr") {
            let prefix = program.parent().and_then(Path::parent).unwrap_or(Path::new("/"));
            b.read_only(prefix)?;
        }
    }
    b.path_flags("--bind", &work.files(), &work.files());
    b.path_flags("--ro-bind", &work.egress_socket(), Path::new(EGRESS_SOCKET_INSIDE));
    b.flags(&["--chdir", "/tmp", "--"]);
    b.flags(&["prlimit"]);
    b.args.push(format!("--nproc={}", limits.processes).into());
    b.args.push(format!("--data={}", limits.memory_bytes).into());
    b.args.push(format!("--fsize={}", limits.file_bytes).into());
    b.flags(&["--core=0", "--nofile=4096", "--"]);
    b.args.push(node.into_os_string());
    b.args.push(runner_dir.join("runner.js").into_os_string());
    let program = find_program(&options.bwrap, &options.search_path);
    Ok(Command { program, args: b.args, user, inherited: b.inherited })
}

struct Builder {
    args: Vec<OsString>,
    inherited: Vec<OwnedFd>,
    /// Bind read-only folders through descriptors (root drops to an unprivileged user).
    by_descriptor: bool,
}

impl Builder {
    fn flags(&mut self, flags: &[&str]) {
        self.args.extend(flags.iter().map(OsString::from));
    }

    fn path_flags(&mut self, flag: &str, from: &Path, to: &Path) {
        self.args.extend([OsString::from(flag), from.into(), to.into()]);
    }

    /// Binds `path` read-only at the same place. As root, through a descriptor
    /// opened now, since the unprivileged sandbox user may not reach the path.
    fn read_only(&mut self, path: &Path) -> std::io::Result<()> {
        if !self.by_descriptor {
            self.path_flags("--ro-bind", path, path);
            return Ok(());
        }
        let fd = open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
        self.args.extend([OsString::from("--ro-bind-fd"), fd.as_raw_fd().to_string().into(), path.into()]);
        self.inherited.push(fd);
        Ok(())
    }
}
