//! What a sync run is given: the action, the options, where it reads from (xCAT, NIM, the
//! configuration, the SN's files) and the errors that stop it before any change.

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
