//! What the binaries share: the prescript arguments with xCAT's `NODES`/`ACTION` fallbacks,
//! and the mapping of every library error to the documented exit status ([`crate::exit`]).

use std::path::PathBuf;

use crate::exit;
use crate::sync::report::Format;
use crate::sync::Action;
use crate::xcat::Resolver;

/// The exit statuses, for `--help` texts.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  everything done
  1  some node, resource, step or server failed; the rest was done
  2  usage or configuration error, found before any change";

/// A usage or configuration error the binaries find themselves (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The arguments of a prescript that syncs this SN's nodes to their external NFS server.
#[derive(Clone, Debug, clap::Args)]
pub struct PrescriptArgs {
    /// The nodes (an xCAT noderange); default: the NODES environment variable.
    #[arg(long, value_name = "NODERANGE")]
    pub nodes: Option<String>,
    /// diskless (sync) or remove; default: the ACTION environment variable, else diskless.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Print the plan (edits and transfers) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Compare every synced scope again after the sync, and report each.
    #[arg(long)]
    pub verify: bool,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Transfers at once (default: from the configuration, else 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Configuration file (default: $XCAT_EXTNFS_CONFIG, else /etc/xcat/extnfs.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Treat DIR as this SN's / when reading its files (to run against a copy of an SN).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub sysroot: PathBuf,
    /// The rsync program on this host.
    #[arg(long, value_name = "PATH", default_value = "rsync")]
    pub rsync: String,
    /// This service node's name, which names its part of the server's exports
    /// (default: the short host name).
    #[arg(long, value_name = "NAME")]
    pub sn: Option<String>,
}

impl PrescriptArgs {
    /// The action asked for (`--action`, else `ACTION`, else diskless): `Err` with its name
    /// when it is one this prescript does nothing for.
    pub fn action(&self) -> Result<Action, String> {
        let text = self
            .action
            .clone()
            .or_else(|| std::env::var("ACTION").ok().filter(|a| !a.is_empty()))
            .unwrap_or_else(|| "diskless".into());
        match text.as_str() {
            "diskless" => Ok(Action::Sync),
            "remove" => Ok(Action::Remove),
            _ => Err(text),
        }
    }

    /// The nodes: `--nodes` expanded as a noderange, else xCAT's comma list in `NODES`.
    pub fn nodes(&self, resolver: &Resolver<'_>) -> Result<Vec<String>, UsageError> {
        let env = std::env::var("NODES").ok().filter(|n| !n.is_empty());
        match (&self.nodes, env) {
            (Some(range), _) => resolver
                .noderange(range)
                .map_err(|e| UsageError(e.to_string())),
            (None, Some(list)) => Ok(list
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()),
            (None, None) => Err(UsageError(
                "no nodes: give --nodes NODERANGE or set NODES".into(),
            )),
        }
    }

    /// Checks what can be checked before anything is read.
    pub fn check(&self) -> Result<(), UsageError> {
        if !self.sysroot.is_dir() {
            return Err(UsageError(format!(
                "--sysroot {}: no such directory",
                self.sysroot.display()
            )));
        }
        Ok(())
    }
}

/// The documented exit status for an error and its sources: 2 for what is found before any
/// change (usage, configuration, tables, `RSYNC_RSH`), 1 for anything that failed on the way.
pub fn exit_status<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> i32 {
    for e in chain {
        if let Some(e) = e.downcast_ref::<crate::exports::ExportsError>() {
            return e.exit_status();
        }
        if let Some(e) = e.downcast_ref::<crate::install::InstallError>() {
            return if e.is_usage() {
                exit::USAGE
            } else {
                exit::FAILURE
            };
        }
        let usage = e.is::<UsageError>()
            || e.is::<crate::sync::SyncError>()
            || e.is::<crate::config::ConfigError>()
            || e.is::<crate::remote::RemoteError>()
            || e.is::<crate::xcat::Error>()
            || e.is::<crate::host::InvalidHostName>()
            || e.is::<crate::lock::LockError>()
            || e.is::<clap::Error>();
        if usage {
            return exit::USAGE;
        }
    }
    exit::FAILURE
}
