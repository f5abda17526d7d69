//! The per-host run lock: two runs on one service node never overlap. It is a kernel lock on a
//! file on local disk, so it goes away with the process, however the process ends.
//!
//! Where std has no file locking for the platform (it reports `Unsupported`; AIX may be one),
//! a pid file takes its place: a holder that no longer exists (`kill -0` fails) is stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open lock file {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

impl RunLock {
    /// Takes `<dir>/<name>.lock`, waiting for another holder to finish; `waiting` is called
    /// once with the holder's pid (as far as it is known) before the wait.
    pub fn acquire(
        dir: &Path,
        name: &str,
        waiting: impl FnOnce(Option<u32>),
    ) -> Result<RunLock, LockError> {
        let path = dir.join(format!("{name}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| LockError::Open {
                path: path.clone(),
                source,
            })?;
        let lock_err = |source| LockError::Lock {
            path: path.clone(),
            source,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                waiting(text.trim().parse().ok());
                file.lock().map_err(lock_err)?;
            }
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                drop(file);
                return pid_file_lock(&path, waiting);
            }
            Err(TryLockError::Error(e)) => return Err(lock_err(e)),
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = writeln!(file, "{}", std::process::id());
        Ok(RunLock { _file: file, path })
    }
}

/// The fallback lock: `<path>.pid` created exclusively, holding our pid.
fn pid_file_lock(path: &Path, waiting: impl FnOnce(Option<u32>)) -> Result<RunLock, LockError> {
    let pid_path = path.with_extension("pid");
    let mut waiting = Some(waiting);
    loop {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&pid_path)
        {
            Ok(mut file) => {
                let _ = writeln!(file, "{}", std::process::id());
                return Ok(RunLock {
                    _file: file,
                    path: pid_path,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder: Option<u32> = std::fs::read_to_string(&pid_path)
                    .ok()
                    .and_then(|t| t.trim().parse().ok());
                let alive = holder.is_some_and(|pid| {
                    crate::process::Cmd::new("kill")
                        .args(["-0", &pid.to_string()])
                        .run()
                        .is_ok_and(|o| o.success())
                });
                if !alive {
                    let _ = std::fs::remove_file(&pid_path);
                    continue;
                }
                if let Some(w) = waiting.take() {
                    w(holder);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Err(source) => {
                return Err(LockError::Open {
                    path: pid_path,
                    source,
                })
            }
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if self.path.extension().is_some_and(|e| e == "pid") {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_pid_files_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        std::fs::write(path.with_extension("pid"), "999999999\n").unwrap();
        let lock = pid_file_lock(&path, |_| panic!("a dead holder is not waited for")).unwrap();
        let text = std::fs::read_to_string(&lock.path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        drop(lock);
        assert!(!path.with_extension("pid").exists());
    }

    #[test]
    fn second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "t", |_| panic!("no wait expected")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let t = std::thread::spawn(move || {
            let _second = RunLock::acquire(&path, "t", |pid| tx.send(pid).unwrap()).unwrap();
        });
        let pid = rx.recv().unwrap();
        assert_eq!(pid, Some(std::process::id()));
        drop(first);
        t.join().unwrap();
    }
}
