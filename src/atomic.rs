//! Replacing a file so that a crash at any moment leaves the old content or the new one,
//! never a mix: a temporary file in the same directory, flushed, renamed over the original.

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
    // Dropped on any error below, which deletes it.
    let mut tmp = tempfile::Builder::new()
        .prefix(".xcat-extnfs.")
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".xcat-extnfs."))
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
}
