//! Replacing a file so that a crash at any moment leaves the old content or the new one,
//! never a mix: a temporary file in the same directory, flushed, renamed over the original.
//!
//! A run killed between creating the temporary file and the rename (SIGKILL runs no
//! destructor) leaves it behind, inside a tree that is synced to the server: the next
//! replacement of the same file removes it. The temporary name says which file it was for
//! (`.NAME.xcat-extnfs.XXXXXX`), and callers hold the host's run lock, so any such file found
//! is a leftover, never another writer's.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` (which must exist) with `content`, keeping its mode and, as root, its owner.
pub fn replace(path: &Path, content: &[u8]) -> io::Result<()> {
    replace_with(path, |f| f.write_all(content))
}

/// As [`replace`], the new content written by `write`; if it fails, the temporary file is
/// removed and `path` is left as it was.
pub fn replace_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = temp_prefix(path);
    remove_leftovers(dir, &prefix);
    // Dropped on any error below, which deletes it.
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .rand_bytes(RAND_LEN)
        .tempfile_in(dir)?;
    write(tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    std::fs::set_permissions(tmp.path(), meta.permissions())?;
    {
        use std::os::unix::fs::MetadataExt;
        // Ownership can only be kept as root; a non-root run keeps its own.
        let _ = std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename itself reaches the disk with the directory (best effort: not every system
    // lets a directory be opened for this).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Random characters at the end of a temporary name.
const RAND_LEN: usize = 6;
/// File names longer than this get the short temporary prefix (names stay under NAME_MAX).
const NAMED_UP_TO: usize = 200;

/// `.NAME.xcat-extnfs.` for `path` named NAME.
fn temp_prefix(path: &Path) -> std::ffi::OsString {
    let mut prefix = std::ffi::OsString::from(".");
    if let Some(name) = path.file_name().filter(|n| n.len() <= NAMED_UP_TO) {
        prefix.push(name);
        prefix.push(".");
    }
    prefix.push("xcat-extnfs.");
    prefix
}

/// Removes the temporary files of a killed replacement: `prefix` and [`RAND_LEN`] letters or
/// digits. Best effort: one that cannot be removed is left for the next run.
fn remove_leftovers(dir: &Path, prefix: &std::ffi::OsStr) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = prefix.as_bytes();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.as_bytes().strip_prefix(prefix) else {
            continue;
        };
        let leftover = rest.len() == RAND_LEN && rest.iter().all(u8::is_ascii_alphanumeric);
        if leftover && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".xcat-extnfs."))
            .collect()
    }

    #[test]
    fn replaces_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failure_mid_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("filesystems");
        std::fs::write(&path, "/:\n\tnodename = sn1\n").unwrap();
        let err = replace_with(&path, |f| {
            f.write_all(b"/:\n\tnodena")?;
            Err(io::Error::other("No space left on device"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("No space"));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "/:\n\tnodename = sn1\n"
        );
        assert!(leftovers(dir.path()).is_empty(), "temporary file removed");
    }

    #[test]
    fn a_missing_file_is_an_error_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        assert!(replace(&path, b"x").is_err());
        assert!(!path.exists());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn the_next_replacement_removes_what_a_killed_one_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("filesystems");
        std::fs::write(&path, "old\n").unwrap();
        // What a run killed before its rename leaves, and files that are not its leftovers.
        let left = dir.path().join(".filesystems.xcat-extnfs.Ab3xYz");
        std::fs::write(&left, "/:\n\tnode").unwrap();
        let others = [
            ".filesystems.xcat-extnfs.keep-me",
            ".hosts.xcat-extnfs.Ab3xYz",
        ];
        for other in others {
            std::fs::write(dir.path().join(other), "x").unwrap();
        }
        replace(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mut left_now = leftovers(dir.path());
        left_now.sort();
        assert_eq!(left_now, others);
    }
}
