//! Unix-domain names as the hosts see them: each host has a private directory that it sees as
//! `/`, and on a shared kernel (loopback isolation) a private part of the abstract namespace.
//!
//! A learner binds `/tmp/echo.sock`; the kernel binds `<host's directory>/tmp/echo.sock`, and
//! every name the kernel reports back (getsockname, a peer, a datagram's source) is shown with
//! the directory taken off again. The mapping is lexical and refuses what could leave the
//! directory (`..`, a symbolic link on the way) before the kernel sees the path; the directory
//! is the server's own, mode 0700, so nothing else puts links in it. Abstract names are scoped
//! by network namespace, so in netns mode they are already per host. On a shared kernel
//! (loopback isolation) the abstract namespace is the whole machine's, open to any process, so
//! there a host's abstract names are sockets in a private directory beside the host's files,
//! shown back as `@name`, whose file goes when the socket closes, as an abstract name does. A
//! session's directories go when the session does.

use crate::i18n::Message;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use socket2::SockAddr;

use crate::sandbox::call::CallFailure;
use crate::sandbox::host::HostId;
use crate::sandbox::net::{Addr, SockType, UNIX_NAME_MAX, UnixName};

/// Directories every host has from the start, as a fresh machine would.
pub const HOST_DIRS: [&str; 2] = ["tmp", "run"];
/// Socket files a host may have at once (they outlive their sockets until unlinked).
pub const MAX_HOST_FILES: usize = 256;

/// What the server's directory is called: this, the process id, `-` and a random tag.
const ROOT_PREFIX: &str = "plugboard-";
/// Tries at a fresh random name when the one drawn exists already.
const ROOT_TRIES: usize = 8;

/// What this process's names are made of: its directory of session directories, private to
/// it.
struct ProcessNames {
    dir: PathBuf,
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).ok(/* all-zero is still a valid, if guessable, value */);
    u64::from_le_bytes(b)
}

/// This process's names, made once. The directory is made exclusively under a name never
/// used before and checked to be a directory of this user that nobody else may enter, so no
/// other user can have prepared it (with a link inside, say) in the shared temp directory.
fn process_names() -> io::Result<&'static ProcessNames> {
    static NAMES: OnceLock<Result<ProcessNames, String>> = OnceLock::new();
    let made = NAMES.get_or_init(|| {
        remove_stale_roots();
        let mut last = None;
        for _ in 0..ROOT_TRIES {
            let tag = random_u64() as u32;
            let dir =
                std::env::temp_dir().join(format!("{ROOT_PREFIX}{}-{tag:08x}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    return verify_private(&dir)
                        .map(|()| ProcessNames { dir })
                        .map_err(|e| e.to_string());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(last.map_or_else(|| "no name left".to_owned(), |e| e.to_string()))
    });
    made.as_ref().map_err(|e| io::Error::other(e.clone()))
}

/// The server's directory of session directories.
fn root() -> io::Result<&'static Path> {
    process_names().map(|n| n.dir.as_path())
}

/// Fail unless `dir` is a directory (not a link) of this process's user, closed to others.
fn verify_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no failure mode.
    let me = unsafe { libc::geteuid() };
    if meta.file_type().is_dir() && meta.uid() == me && meta.permissions().mode() & 0o077 == 0 {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{} is not a private directory of this user",
            dir.display()
        )))
    }
}

/// Remove what servers of this user that died without cleaning up left: directories named
/// after a process that no longer runs.
fn remove_stale_roots() {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    // SAFETY: geteuid has no failure mode.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(ROOT_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = !Path::new("/proc").join(pid.to_string()).exists();
        let mine = std::fs::symlink_metadata(entry.path())
            .is_ok_and(|m| m.file_type().is_dir() && m.uid() == me);
        if gone && mine {
            std::fs::remove_dir_all(entry.path()).ok(/* already gone */);
        }
    }
}

/// Remove the server's directory (at exit; sessions have removed their own by then).
pub fn remove_root() {
    if let Ok(dir) = root() {
        std::fs::remove_dir_all(dir).ok(/* already gone, or not ours to remove */);
    }
}

/// One session's Unix-domain names: a directory per host, removed when dropped.
#[derive(Debug)]
pub struct SessionNames {
    /// The session's directory (one subdirectory per host).
    dir: PathBuf,
    /// Whether abstract names need a private prefix (the hosts share one network namespace).
    shared_abstract: bool,
    /// Hosts' names, in the order they were added.
    hosts: Vec<Arc<HostNames>>,
}

impl SessionNames {
    /// A session's names; `shared_abstract` when the hosts share the server's network
    /// namespace (loopback isolation).
    pub fn new(shared_abstract: bool) -> io::Result<SessionNames> {
        // Short names keep room in sun_path's 108 bytes for the learner's own paths.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let tag = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = root()?;
        // Made again if something removed it while the server runs, and checked again.
        match std::fs::DirBuilder::new().mode(0o700).create(root) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        verify_private(root)?;
        let dir = root.join(tag.to_string());
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(SessionNames {
            dir,
            shared_abstract,
            hosts: Vec::new(),
        })
    }

    /// Give `host` its directory (with [`HOST_DIRS`]) and return its names.
    pub fn add_host(&mut self, host: HostId) -> io::Result<Arc<HostNames>> {
        if let Some(h) = self.hosts.iter().find(|h| h.host == host) {
            return Ok(h.clone());
        }
        let root = self.dir.join(host.to_string());
        std::fs::DirBuilder::new().mode(0o700).create(&root)?;
        for sub in HOST_DIRS {
            std::fs::DirBuilder::new()
                .mode(0o755)
                .create(root.join(sub))?;
        }
        // Beside the host's files, where no path of the host reaches.
        let abstract_dir = if self.shared_abstract {
            let dir = self.dir.join(format!("{host}@"));
            std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
            Some(dir)
        } else {
            None
        };
        let names = Arc::new(HostNames {
            host,
            root,
            abstract_dir,
        });
        self.hosts.push(names.clone());
        Ok(names)
    }

    /// The names of `host`, once added.
    pub fn host(&self, host: HostId) -> Option<Arc<HostNames>> {
        self.hosts.iter().find(|h| h.host == host).cloned()
    }
}

impl Drop for SessionNames {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok(/* nothing to remove, or the server's tmp is gone */);
    }
}

/// One host's view of Unix-domain names.
#[derive(Debug)]
pub struct HostNames {
    /// The host, for messages.
    host: HostId,
    /// The directory the host sees as `/`.
    root: PathBuf,
    /// Where the host's abstract names are sockets, on a shared kernel.
    abstract_dir: Option<PathBuf>,
}

impl HostNames {
    /// The kernel's address for a name the host gave to a socket of type `ty`, or why the
    /// sandbox refuses it.
    pub fn to_kernel(&self, name: &UnixName, ty: SockType) -> Result<SockAddr, CallFailure> {
        let full: Vec<u8> = if let (true, Some(dir)) = (name.is_abstract, &self.abstract_dir) {
            let file = dir.join(encode_abstract(name.bytes(), ty));
            let full = file.as_os_str().as_bytes().to_vec();
            if full.len() > UNIX_NAME_MAX {
                return Err(CallFailure::sandbox(
                    libc::ENAMETOOLONG,
                    Message::new(
                        format!(
                            "The sandbox keeps host {}'s abstract names apart from the machine's, \
                             which takes room in sun_path: use a name of at most about {} bytes.",
                            self.host,
                            UNIX_NAME_MAX.saturating_sub(dir.as_os_str().len() + 2)
                        ),
                        format!(
                            "沙箱把主机 {} 的抽象名字与本机的分开，这会占用 sun_path 的空间：\
                             请使用最多约 {} 字节的名字。",
                            self.host,
                            UNIX_NAME_MAX.saturating_sub(dir.as_os_str().len() + 2)
                        ),
                    ),
                ));
            }
            full
        } else if name.is_abstract {
            // The host's own network namespace scopes its abstract names (netns mode).
            let mut full = vec![0u8];
            full.extend_from_slice(name.bytes());
            full
        } else {
            self.path_in_root(name.bytes())?
        };
        SockAddr::unix(std::ffi::OsStr::from_bytes(&full))
            .map_err(|_| CallFailure::code(libc::EINVAL))
    }

    /// Whether the host may leave one more socket file behind: a bind makes a file that
    /// outlives its socket, so without a bound a loop of bind and close would fill the disk.
    pub fn room_for_a_file(&self) -> Result<(), CallFailure> {
        fn count(dir: &Path, left: &mut usize) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if *left == 0 {
                    return;
                }
                *left -= 1;
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    count(&entry.path(), left);
                }
            }
        }
        let mut left = MAX_HOST_FILES + HOST_DIRS.len();
        count(&self.root, &mut left);
        if left > 0 {
            return Ok(());
        }
        Err(CallFailure::sandbox(
            libc::ENOSPC,
            Message::new(
                format!(
                    "Host {} already has {MAX_HOST_FILES} socket files, which stay after their \
                     sockets close: unlink some first.",
                    self.host
                ),
                format!(
                    "主机 {} 已经有 {MAX_HOST_FILES} 个套接字文件，套接字关闭后文件仍然留着：\
                     请先 unlink 一些。",
                    self.host
                ),
            ),
        ))
    }

    /// Remove a name's file from the host's directory (unlink(2)).
    pub fn unlink(&self, name: &UnixName) -> Result<(), CallFailure> {
        if name.is_abstract {
            // An abstract name is no file: unlink looks for a file named `@…`.
            return Err(CallFailure::code(libc::ENOENT));
        }
        let full = self.path_in_root(name.bytes())?;
        std::fs::remove_file(std::ffi::OsStr::from_bytes(&full))
            .map_err(|e| CallFailure::kernel(&e))
    }

    /// Whether the host's abstract names are kept as files (on a shared kernel).
    pub fn abstract_as_files(&self) -> bool {
        self.abstract_dir.is_some()
    }

    /// Whether `addr` is one of the host's abstract names kept as a file (on a shared kernel):
    /// then the file goes with the socket bound to it, and a missing one reads as an abstract
    /// name nobody has (ECONNREFUSED rather than ENOENT).
    pub fn is_abstract_file(&self, addr: &SockAddr) -> bool {
        let (Some(dir), Some(path)) = (&self.abstract_dir, addr.as_pathname()) else {
            return false;
        };
        path.parent() == Some(dir.as_path())
    }

    /// The name as the host sees it, for an address the kernel reported; None when unnamed.
    pub fn to_host(&self, addr: &SockAddr) -> Option<Addr> {
        if let Some(path) = addr.as_pathname() {
            if self.is_abstract_file(addr) {
                let file = path.file_name()?.as_bytes();
                return UnixName::new(true, &decode_abstract(file)?).map(Addr::Unix);
            }
            let shown = match path.strip_prefix(&self.root) {
                Ok(rest) => Path::new("/").join(rest),
                // Not one of this host's: show the kernel's own (it cannot be reached by name).
                Err(_) => path.to_path_buf(),
            };
            return UnixName::new(false, shown.as_os_str().as_bytes()).map(Addr::Unix);
        }
        if let Some(name) = addr.as_abstract_namespace() {
            return UnixName::new(true, name).map(Addr::Unix);
        }
        None
    }

    /// The kernel's path for a host's path, checked so that it stays in the host's
    /// directory and fits sun_path.
    fn path_in_root(&self, path: &[u8]) -> Result<Vec<u8>, CallFailure> {
        if path.contains(&0) {
            // A C path ends at its first NUL: what follows could never reach the kernel.
            return Err(CallFailure::code(libc::EINVAL));
        }
        let text = Path::new(std::ffi::OsStr::from_bytes(path));
        let mut full = self.root.clone();
        for part in text.components() {
            match part {
                std::path::Component::RootDir | std::path::Component::CurDir => {}
                std::path::Component::Normal(p) => full.push(p),
                std::path::Component::ParentDir => {
                    return Err(CallFailure::sandbox(
                        libc::EACCES,
                        Message::new(
                            "`..` is not allowed in a socket path here: each host sees only its \
                             own files, from /, and `..` could climb out of them. Write the path \
                             without it.",
                            "这里的套接字路径不允许出现 `..`：每台主机只能看到从 / 开始的自己的\
                             文件，而 `..` 可能爬出去。请写不带它的路径。",
                        ),
                    ));
                }
                std::path::Component::Prefix(_) => {
                    return Err(CallFailure::code(libc::EINVAL));
                }
            }
        }
        // "/" is the host's directory itself, and a trailing slash stays, for the kernel to
        // answer them as it would (a directory is in use, is no socket, cannot be unlinked).
        let mut bytes = full.as_os_str().as_bytes().to_vec();
        if path.ends_with(b"/") && !bytes.ends_with(b"/") {
            bytes.push(b'/');
        }
        if bytes.len() > UNIX_NAME_MAX {
            let room = UNIX_NAME_MAX.saturating_sub(self.root.as_os_str().len());
            return Err(CallFailure::sandbox(
                libc::ENAMETOOLONG,
                Message::new(
                    format!(
                        "sun_path holds {UNIX_NAME_MAX} bytes, and host {}'s files live in a \
                         directory of the server: paths here can be at most {room} bytes long.",
                        self.host
                    ),
                    format!(
                        "sun_path 只能容纳 {UNIX_NAME_MAX} 字节，而主机 {} 的文件位于服务器的\
                         一个目录中：这里的路径最长 {room} 字节。",
                        self.host
                    ),
                ),
            ));
        }
        // Nothing in the host's directory may be a symbolic link: the server makes none, but
        // a link would take the kernel's path resolution out of the directory.
        let mut walk = self.root.clone();
        let parents: Vec<_> = Path::new(std::ffi::OsStr::from_bytes(&bytes))
            .strip_prefix(&self.root)
            .map(|rest| rest.components().collect())
            .unwrap_or_default();
        for part in parents {
            walk.push(part);
            match std::fs::symlink_metadata(&walk) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(CallFailure::sandbox(
                        libc::ELOOP,
                        Message::new(
                            "A symbolic link in a socket path could lead out of the host's \
                             files; the sandbox does not follow it.",
                            "套接字路径中的符号链接可能指向主机文件之外；沙箱不会跟随它。",
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(bytes)
    }
}

/// An abstract name as a file name: a letter for the socket's type (the kernel keeps a name
/// per type: a stream and a datagram socket may both hold `@x`), `=`, then the name, every
/// byte but letters, digits, `.`, `_` and `-` written `%XX` (an abstract name may hold `/`,
/// NUL, or nothing at all).
fn encode_abstract(name: &[u8], ty: SockType) -> String {
    let mut file = String::from(match ty {
        SockType::Stream => "s=",
        SockType::Dgram | SockType::Raw => "d=",
        SockType::Seqpacket => "q=",
    });
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            file.push(char::from(b));
        } else {
            file.push_str(&format!("%{b:02X}"));
        }
    }
    file
}

/// The abstract name a file name of [`encode_abstract`] stands for.
fn decode_abstract(file: &[u8]) -> Option<Vec<u8>> {
    let mut rest = file.get(1..)?.strip_prefix(b"=")?;
    let mut name = Vec::with_capacity(rest.len());
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            name.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            name.push(b);
            rest = tail;
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> UnixName {
        match text.parse::<Addr>().unwrap() {
            Addr::Unix(n) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_map_into_the_host_directory_and_back() {
        let mut session = SessionNames::new(true).unwrap();
        let a = session.add_host(HostId::A).unwrap();
        let b = session.add_host(HostId::B).unwrap();
        let ka = a
            .to_kernel(&name("/tmp/echo.sock"), SockType::Stream)
            .unwrap();
        let kb = b
            .to_kernel(&name("/tmp/echo.sock"), SockType::Stream)
            .unwrap();
        assert_ne!(ka.as_pathname(), kb.as_pathname());
        assert_eq!(a.to_host(&ka).unwrap().to_string(), "/tmp/echo.sock");
        // On a shared kernel an abstract name is a socket file beside the host's files.
        let abs = a.to_kernel(&name("@echo"), SockType::Stream).unwrap();
        assert!(abs.as_pathname().unwrap().ends_with("A@/s=echo"));
        assert!(a.is_abstract_file(&abs));
        assert_eq!(a.to_host(&abs).unwrap().to_string(), "@echo");
        let odd = a.to_kernel(&name("@a/b c"), SockType::Stream).unwrap();
        assert_eq!(a.to_host(&odd).unwrap().to_string(), "@a/b c");
        let empty = a.to_kernel(&name("@"), SockType::Stream).unwrap();
        assert_eq!(a.to_host(&empty).unwrap().to_string(), "@");
    }

    #[test]
    fn escapes_are_refused_by_the_sandbox() {
        let mut session = SessionNames::new(false).unwrap();
        let a = session.add_host(HostId::A).unwrap();
        let up = a
            .to_kernel(&name("/tmp/../../etc/x.sock"), SockType::Stream)
            .unwrap_err();
        assert!(up.sandbox && up.errno.code == libc::EACCES, "{up:?}");
        let long = format!("/tmp/{}", "x".repeat(95));
        let too_long = a.to_kernel(&name(&long), SockType::Stream).unwrap_err();
        assert!(too_long.sandbox && too_long.errno.code == libc::ENAMETOOLONG);
        // Abstract names are the kernel's per-namespace ones in netns mode: no prefix.
        let abs = a.to_kernel(&name("@echo"), SockType::Stream).unwrap();
        assert_eq!(abs.as_abstract_namespace().unwrap(), b"echo");
    }

    #[test]
    fn a_symbolic_link_on_the_way_is_not_followed() {
        let mut session = SessionNames::new(false).unwrap();
        let a = session.add_host(HostId::A).unwrap();
        // Nothing in the sandbox makes links; one put there by hand must still not lead out.
        std::os::unix::fs::symlink("/", a.root.join("out")).unwrap();
        let f = a
            .to_kernel(&name("/out/etc/x.sock"), SockType::Stream)
            .unwrap_err();
        assert!(f.sandbox && f.errno.code == libc::ELOOP, "{f:?}");
        let f = a.unlink(&name("/out")).unwrap_err();
        assert!(f.sandbox && f.errno.code == libc::ELOOP, "{f:?}");
    }

    #[test]
    fn the_session_directory_goes_with_the_session() {
        let mut session = SessionNames::new(false).unwrap();
        session.add_host(HostId::A).unwrap();
        let dir = session.dir.clone();
        assert!(dir.join("A/tmp").is_dir());
        drop(session);
        assert!(!dir.exists());
    }
}
