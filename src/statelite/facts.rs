//! What planning needs to know about this host: its directories, and which file systems are
//! mounted where (a file system inside an image, or `/install` mounted from the server).

use crate::sync::context::{DirState, Facts as DirFacts, Sysroot};

/// A mounted file system, as `/proc/self/mountinfo` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
}

/// The facts of this host that the plan depends on.
pub trait Facts {
    fn dir(&self, path: &str) -> DirState;
    fn file(&self, path: &str) -> bool;
    /// Mount points strictly inside `path`.
    fn mounts_inside(&self, path: &str) -> Vec<String>;
    /// Whether `path` lies on an NFS mount from `server` (by name or address): source and
    /// destination are then the same files.
    fn same_files(&self, path: &str, server: &str) -> bool;
}

/// Parses `/proc/self/mountinfo` (proc(5)): mount point is field 5, file system type and
/// source follow the ` - ` separator; `\040`-style escapes decoded.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = unescape(left.split(' ').nth(4)?);
            let mut r = right.split(' ');
            let fstype = r.next()?.to_string();
            let source = unescape(r.next().unwrap_or(""));
            Some(MountEntry {
                mount_point,
                fstype,
                source,
            })
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// Mount points strictly inside `path`.
pub fn inside(entries: &[MountEntry], path: &str) -> Vec<String> {
    let path = path.trim_end_matches('/');
    entries
        .iter()
        .filter(|e| e.mount_point != path && within(&e.mount_point, path))
        .map(|e| e.mount_point.clone())
        .collect()
}

/// The entry `path` lies on: the last mounted of the longest matching mount points.
pub fn covering<'e>(entries: &'e [MountEntry], path: &str) -> Option<&'e MountEntry> {
    entries
        .iter()
        .filter(|e| within(path, &e.mount_point))
        .max_by_key(|e| e.mount_point.len())
}

/// Whether an NFS source `host:/path` comes from `server`, by name or resolved address.
pub fn from_server(entry: &MountEntry, server: &str) -> bool {
    if !entry.fstype.starts_with("nfs") {
        return false;
    }
    let Some((host, _)) = entry.source.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == server || crate::host::same_host(host, server)
}

/// This host's files under `sysroot`, and its mount table.
pub struct HostFacts<'a> {
    pub sysroot: &'a Sysroot,
    pub mounts: Vec<MountEntry>,
}

impl<'a> HostFacts<'a> {
    /// Reads the mount table of this process (Linux `/proc/self/mountinfo`; elsewhere none).
    pub fn new(sysroot: &'a Sysroot) -> HostFacts<'a> {
        HostFacts {
            sysroot,
            mounts: read_mountinfo(),
        }
    }

    fn local(&self, path: &str) -> String {
        self.sysroot.local(path).to_string_lossy().into_owned()
    }
}

#[cfg(target_os = "linux")]
fn read_mountinfo() -> Vec<MountEntry> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default()
}

#[cfg(not(target_os = "linux"))]
fn read_mountinfo() -> Vec<MountEntry> {
    Vec::new()
}

impl Facts for HostFacts<'_> {
    fn dir(&self, path: &str) -> DirState {
        DirFacts::dir(self.sysroot, path)
    }

    fn file(&self, path: &str) -> bool {
        DirFacts::file(self.sysroot, path)
    }

    fn mounts_inside(&self, path: &str) -> Vec<String> {
        inside(&self.mounts, &self.local(path))
    }

    fn same_files(&self, path: &str, server: &str) -> bool {
        covering(&self.mounts, &self.local(path)).is_some_and(|e| from_server(e, server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw
30 22 0:40 / /install rw - nfs4 nfs1:/install rw,vers=4.2
31 30 0:5 / /install/netboot/img/rootimg/proc rw - proc proc rw
32 22 8:1 /x /srv/my\\040dir rw - ext4 /dev/sda1 rw
";

    #[test]
    fn reads_mountinfo_and_finds_mounts_inside_and_the_covering_one() {
        let m = parse_mountinfo(INFO);
        assert_eq!(m.len(), 4);
        assert_eq!(m[3].mount_point, "/srv/my dir");
        assert_eq!(
            inside(&m, "/install/netboot/img/rootimg/"),
            ["/install/netboot/img/rootimg/proc"]
        );
        assert!(inside(&m, "/install/netboot/other").is_empty());
        let c = covering(&m, "/install/netboot/img").unwrap();
        assert_eq!(c.source, "nfs1:/install");
        assert!(from_server(c, "nfs1"));
        assert!(!from_server(covering(&m, "/srv").unwrap(), "nfs1"));
    }
}
