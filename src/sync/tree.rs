//! A tree's fingerprint on this host: every entry's name, type, inode, links, size, mode,
//! owner and modification and change times, hashed; equal fingerprints mean nothing was touched.
//!
//! The change time (ctime) is what makes this safe to skip a copy on: the kernel sets it on
//! every change of content, mode, owner, links, ACLs or extended attributes, and no program
//! can set it back. Its clock ticks coarsely (milliseconds, or a second on old file
//! systems), so a tree changed in the last seconds is not [`Fingerprint::settled`].

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// How recent a change makes a fingerprint unsafe to rely on: a later change in the same
/// tick of the file system's clock would leave the same change time.
const SETTLE: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 of the entries, in hexadecimal.
    pub digest: String,
    /// Entries in the tree, its top included.
    pub entries: u64,
    /// The newest change time in the tree (seconds since the epoch).
    pub newest_change: i64,
    /// When the walk started.
    pub taken: SystemTime,
}

impl Fingerprint {
    /// Whether every change in the tree is older than [`SETTLE`] before the walk started, so
    /// that no later change can share a change time with one that was seen.
    pub fn settled(&self) -> bool {
        let taken = self
            .taken
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.newest_change < taken - SETTLE.as_secs() as i64
    }
}

/// The fingerprint of the tree at `root` (not following symbolic links). Entries are taken
/// in name order, so two walks of an untouched tree agree whatever order the directory
/// gives them in. Any entry that cannot be read fails the whole fingerprint.
pub fn fingerprint(root: &Path) -> io::Result<Fingerprint> {
    let taken = SystemTime::now();
    let mut walk = Walk {
        hash: Sha256::new(),
        entries: 0,
        newest_change: i64::MIN,
    };
    let meta = std::fs::symlink_metadata(root)?;
    walk.entry(b"", &meta);
    if meta.is_dir() {
        walk.dir(root, &mut Vec::new())?;
    }
    let digest = walk.hash.finalize();
    Ok(Fingerprint {
        digest: hex(&digest),
        entries: walk.entries,
        newest_change: walk.newest_change,
        taken,
    })
}

/// Bytes in lowercase hexadecimal, as `sha256sum` prints a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Walk {
    hash: Sha256,
    entries: u64,
    newest_change: i64,
}

impl Walk {
    /// One entry: its path below the root, then its fixed-width attributes, so that no two
    /// different entries hash the same bytes.
    fn entry(&mut self, rel: &[u8], m: &std::fs::Metadata) {
        self.hash.update((rel.len() as u64).to_le_bytes());
        self.hash.update(rel);
        for n in [
            u64::from(m.mode()),
            m.ino(),
            m.nlink(),
            m.size(),
            u64::from(m.uid()),
            u64::from(m.gid()),
            m.mtime() as u64,
            m.mtime_nsec() as u64,
            m.ctime() as u64,
            m.ctime_nsec() as u64,
        ] {
            self.hash.update(n.to_le_bytes());
        }
        self.entries += 1;
        self.newest_change = self.newest_change.max(m.ctime());
    }

    /// The entries below `dir` (`rel` its path below the root), depth first in name order.
    fn dir(&mut self, dir: &Path, rel: &mut Vec<u8>) -> io::Result<()> {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let meta = std::fs::symlink_metadata(&path)?;
            let len = rel.len();
            rel.push(b'/');
            rel.extend_from_slice(name.as_bytes());
            self.entry(rel, &meta);
            if meta.is_dir() {
                self.dir(&path, rel)?;
            }
            rel.truncate(len);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        std::fs::write(dir.path().join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        std::fs::write(dir.path().join("etc/ssh/key"), "secret\n").unwrap();
        std::os::unix::fs::symlink("etc", dir.path().join("conf")).unwrap();
        dir
    }

    #[test]
    fn an_untouched_tree_keeps_its_fingerprint_and_any_change_moves_it() {
        let dir = tree();
        let first = fingerprint(dir.path()).unwrap();
        assert_eq!(first.entries, 6);
        assert_eq!(first.digest.len(), 64);
        assert_eq!(fingerprint(dir.path()).unwrap().digest, first.digest);
        let key = dir.path().join("etc/ssh/key");
        let changes: [&dyn Fn(); 4] = [
            // A mode change alone: the change time moves, nothing else may.
            &|| std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap(),
            // Same size, same content length: the change time again.
            &|| std::fs::write(&key, "SECRET\n").unwrap(),
            &|| std::fs::hard_link(&key, dir.path().join("etc/key2")).unwrap(),
            &|| std::fs::remove_file(dir.path().join("etc/key2")).unwrap(),
        ];
        let mut seen = vec![first.digest];
        for change in changes {
            // Past the coarsest clock tick of the file system's change times.
            std::thread::sleep(Duration::from_millis(20));
            change();
            let now = fingerprint(dir.path()).unwrap().digest;
            assert!(!seen.contains(&now), "a change left an old fingerprint");
            seen.push(now);
        }
    }

    #[test]
    fn a_fresh_change_is_not_settled_and_a_missing_tree_is_an_error() {
        let dir = tree();
        let fresh = fingerprint(dir.path()).unwrap();
        assert!(!fresh.settled(), "a tree made just now counts as settled");
        let old = Fingerprint {
            taken: fresh.taken + SETTLE + Duration::from_secs(1),
            ..fresh
        };
        assert!(old.settled());
        assert!(fingerprint(&dir.path().join("nothing")).is_err());
    }
}
