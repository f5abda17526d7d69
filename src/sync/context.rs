//! What a sync run is given: the action, the options, where it reads from (xCAT, NIM, the
//! configuration, the SN's files) and the errors that stop it before any change.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::nim::Nim;
use crate::remote::RemoteError;
use crate::xcat::{self, Resolver};

/// What xCAT asked for (`ACTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Action {
    /// `diskless`: bring the server up to date.
    #[serde(rename = "diskless")]
    Sync,
    /// `remove`: delete the nodes' own data from the server.
    #[serde(rename = "remove")]
    Remove,
}

impl Action {
    /// The action xCAT names `text`: `Err` with the text when syncaixres does nothing for it.
    pub fn parse(text: &str) -> Result<Action, String> {
        match text {
            "diskless" => Ok(Action::Sync),
            "remove" => Ok(Action::Remove),
            _ => Err(text.to_string()),
        }
    }

    /// The name xCAT gives the action.
    pub fn name(self) -> &'static str {
        match self {
            Action::Sync => "diskless",
            Action::Remove => "remove",
        }
    }
}

/// An error that stops the run before any change (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Xcat(#[from] xcat::Error),
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

impl SyncError {
    /// Every such error is found before any change: a usage or configuration error.
    pub fn exit_status(&self) -> i32 {
        crate::exit::USAGE
    }
}

impl From<xcat::TableError> for SyncError {
    fn from(e: xcat::TableError) -> SyncError {
        SyncError::Xcat(e.into())
    }
}

/// Whether a local directory exists and has anything in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirState {
    Missing,
    Empty,
    Full,
}

/// What planning needs to know about the SN's files.
pub trait Facts {
    fn dir(&self, path: &str) -> DirState;
    fn file(&self, path: &str) -> bool;
    /// The names in directory `path`, in no particular order; none when it cannot be read.
    fn names(&self, path: &str) -> Vec<String>;

    /// [`Facts::dir`] of each path, in order: the planner asks for a resource's node
    /// directories at once, so that a file system can answer them in parallel.
    fn dirs(&self, paths: &[String]) -> Vec<DirState> {
        paths.iter().map(|p| self.dir(p)).collect()
    }
}

/// The directory that stands for `/` when reading the SN's files (normally `/` itself).
#[derive(Clone, Debug)]
pub struct Sysroot(PathBuf);

impl Sysroot {
    pub fn new(root: &Path) -> Sysroot {
        Sysroot(root.to_path_buf())
    }

    /// The local path of an absolute path on the SN.
    pub fn local(&self, path: &str) -> PathBuf {
        self.0.join(path.trim_start_matches('/'))
    }
}

impl Facts for Sysroot {
    fn dir(&self, path: &str) -> DirState {
        match std::fs::read_dir(self.local(path)) {
            Err(_) => DirState::Missing,
            Ok(mut entries) => {
                if entries.next().is_some() {
                    DirState::Full
                } else {
                    DirState::Empty
                }
            }
        }
    }

    fn file(&self, path: &str) -> bool {
        self.local(path).is_file()
    }

    /// Thousands of node directories are listed in a few threads: each listing is a few
    /// system calls, and they dominate planning on a large SN.
    fn dirs(&self, paths: &[String]) -> Vec<DirState> {
        let parts = super::pool::per_chunk(paths, |part| {
            part.iter().map(|p| self.dir(p)).collect::<Vec<_>>()
        });
        parts.concat()
    }

    fn names(&self, path: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.local(path)) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// [`Facts`] that first use what an earlier stage of the run already read: a file it read
/// exists, and so every directory above it is there and not empty. Anything else is asked
/// of the inner facts. This spares the planner one directory listing or status call per
/// node whose files the redirect stage has just read.
pub struct Known<'a> {
    inner: &'a dyn Facts,
    files: HashSet<&'a str>,
    dirs: HashSet<&'a str>,
}

impl<'a> Known<'a> {
    /// `files` are paths on the SN that were read successfully during this run.
    pub fn new(inner: &'a dyn Facts, files: &'a [String]) -> Known<'a> {
        let mut dirs = HashSet::new();
        for f in files {
            // With `.` or `..` in the path, a textual parent may be an empty directory the
            // path only passes through: such paths say nothing about their parents.
            if f.split('/').any(|c| c == "." || c == "..") {
                continue;
            }
            let mut p = f.as_str();
            while let Some(i) = p.rfind('/') {
                p = &p[..i];
                // Ancestors are shared between files: stop at the first one already known.
                if p.is_empty() || !dirs.insert(p) {
                    break;
                }
            }
        }
        Known {
            inner,
            files: files.iter().map(String::as_str).collect(),
            dirs,
        }
    }
}

impl Facts for Known<'_> {
    fn dir(&self, path: &str) -> DirState {
        if self.dirs.contains(path) {
            DirState::Full
        } else {
            self.inner.dir(path)
        }
    }

    fn file(&self, path: &str) -> bool {
        self.files.contains(path) || self.inner.file(path)
    }

    fn names(&self, path: &str) -> Vec<String> {
        self.inner.names(path)
    }

    /// The paths not known from the files read are asked of the inner facts in one batch.
    fn dirs(&self, paths: &[String]) -> Vec<DirState> {
        let unknown: Vec<String> = paths
            .iter()
            .filter(|p| !self.dirs.contains(p.as_str()))
            .cloned()
            .collect();
        let mut asked = self.inner.dirs(&unknown).into_iter();
        paths
            .iter()
            .map(|p| match self.dirs.contains(p.as_str()) {
                true => DirState::Full,
                false => asked.next().unwrap_or(DirState::Missing),
            })
            .collect()
    }
}

/// Where a run reads from.
pub struct Context<'a> {
    pub resolver: &'a Resolver<'a>,
    pub nim: &'a Nim,
    pub config: &'a Config,
    pub sysroot: &'a Sysroot,
}

/// This host's name as xCAT knows its SNs (the short host name), which names its part of the
/// server's exports.
pub fn this_host() -> String {
    crate::process::Cmd::new("hostname")
        .run_checked()
        .ok()
        .map(|o| o.stdout.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| short_name(&h).to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The short host name (before the first dot), which NIM uses.
pub fn short_name(node: &str) -> &str {
    node.split('.').next().unwrap_or(node)
}

/// How a run is asked to behave.
#[derive(Clone, Debug)]
pub struct Options {
    pub action: Action,
    pub nodes: Vec<String>,
    pub dry_run: bool,
    /// Compare every synced scope again, also those the sync found unchanged.
    pub verify: bool,
    pub jobs: Option<usize>,
    /// The local rsync program.
    pub rsync: String,
    /// Progress lines on stderr.
    pub progress: bool,
    /// This SN's name, for its part of the server's exports.
    pub sn: String,
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Facts that record what they were asked.
    struct Asked(RefCell<Vec<String>>);

    impl Facts for Asked {
        fn dir(&self, path: &str) -> DirState {
            self.0.borrow_mut().push(format!("dir {path}"));
            DirState::Empty
        }

        fn file(&self, path: &str) -> bool {
            self.0.borrow_mut().push(format!("file {path}"));
            false
        }

        fn names(&self, path: &str) -> Vec<String> {
            self.0.borrow_mut().push(format!("names {path}"));
            Vec::new()
        }
    }

    #[test]
    fn files_read_answer_for_themselves_and_their_directories_only() {
        let inner = Asked(RefCell::new(Vec::new()));
        let read = [
            "/install/nim/root/r1/cn1/etc/filesystems".to_string(),
            "/install/nim/root/r1/cn2/etc/filesystems".to_string(),
            "/install/nim/sr/etc/.client_data/hosts.cn3".to_string(),
            "/tftpboot/../cn4/x".to_string(),
        ];
        let known = Known::new(&inner, &read);
        assert_eq!(known.dir("/install/nim/root/r1/cn1"), DirState::Full);
        assert_eq!(known.dir("/install/nim/root/r1/cn2/etc"), DirState::Full);
        assert_eq!(known.dir("/install/nim/root/r1"), DirState::Full);
        assert!(known.file("/install/nim/sr/etc/.client_data/hosts.cn3"));
        assert!(inner.0.borrow().is_empty());
        // Not read: asked of the file system, whatever the name looks like.
        assert_eq!(known.dir("/install/nim/root/r1/cn5"), DirState::Empty);
        assert_eq!(known.dir("/install/nim/root/r1/cn"), DirState::Empty);
        assert!(!known.file("/install/nim/root/r1/cn1/etc"));
        assert!(!known.file("/install/nim/sr/etc/.client_data/filesystems.cn3"));
        // A path through `..` says nothing about the directories it names.
        assert_eq!(known.dir("/tftpboot"), DirState::Empty);
        assert_eq!(known.dir("/tftpboot/.."), DirState::Empty);
        assert_eq!(
            *inner.0.borrow(),
            [
                "dir /install/nim/root/r1/cn5",
                "dir /install/nim/root/r1/cn",
                "file /install/nim/root/r1/cn1/etc",
                "file /install/nim/sr/etc/.client_data/filesystems.cn3",
                "dir /tftpboot",
                "dir /tftpboot/..",
            ]
        );
        inner.0.borrow_mut().clear();
        let batch = [
            "/install/nim/root/r1/cn1",
            "/x/a",
            "/install/nim/root/r1",
            "/x/b",
        ];
        let batch: Vec<String> = batch.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            known.dirs(&batch),
            [
                DirState::Full,
                DirState::Empty,
                DirState::Full,
                DirState::Empty
            ]
        );
        assert_eq!(*inner.0.borrow(), ["dir /x/a", "dir /x/b"]);
    }
}
