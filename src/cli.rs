//! What the binaries share: the prescript arguments with xCAT's `NODES`/`ACTION` fallbacks,
//! a prescript's set-up, and the mapping of every library error to its exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::config::{Config, ConfigError};
use crate::exit;
use crate::lock::{LockError, RunLock};
use crate::sync::report::Format;
use crate::sync::Sysroot;
use crate::syslog::{self, Syslog};
use crate::xcat::{Db, Resolver};

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
    /// The xCAT action (see above); default: the ACTION environment variable, else the
    /// prescript's sync action.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Compare every synced scope in full (syncstatelite: also trees recorded unchanged),
    /// and again after the sync; report each.
    #[arg(long)]
    pub verify: bool,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Transfers or steps at once (default: from the configuration, else 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Configuration file (default: $XCAT_EXTNFS_CONFIG, else /etc/xcat/extnfs.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Treat DIR as this host's / when reading its files (to run against a copy of it).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub sysroot: PathBuf,
    /// The rsync program on this host.
    #[arg(long, value_name = "PATH", default_value = "rsync")]
    pub rsync: String,
    /// This host's name, which names its part of the server's exports
    /// (default: the short host name).
    #[arg(long, value_name = "NAME")]
    pub sn: Option<String>,
}

impl PrescriptArgs {
    /// The action asked for: `--action`, else `ACTION`, else `default` (the prescript's own
    /// sync action); each prescript reads it its own way.
    pub fn action_or(&self, default: &str) -> String {
        self.action
            .clone()
            .or_else(|| std::env::var("ACTION").ok().filter(|a| !a.is_empty()))
            .unwrap_or_else(|| default.into())
    }

    /// The nodes: `--nodes` expanded as a noderange, else xCAT's comma list in `NODES`.
    pub fn nodes(&self, resolver: &Resolver<'_>) -> Result<Vec<String>, UsageError> {
        let env = match std::env::var("NODES") {
            Ok(list) => Some(list).filter(|n| !n.is_empty()),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(raw)) if self.nodes.is_none() => {
                return Err(UsageError(format!(
                    "NODES is not valid UTF-8 (`{}`): no node name has such bytes",
                    raw.to_string_lossy()
                )))
            }
            Err(std::env::VarError::NotUnicode(_)) => None,
        };
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

/// Why a prescript could not start (always before any change: exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    HostName(#[from] crate::host::InvalidHostName),
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// This host's exports cannot be read (its own exit status).
    #[error(transparent)]
    Exports(#[from] crate::exports::ExportsError),
    #[error("cannot take the run lock")]
    Lock(#[source] LockError),
}

impl SetupError {
    pub fn exit_status(&self) -> i32 {
        match self {
            SetupError::Exports(e) => e.exit_status(),
            _ => exit::USAGE,
        }
    }
}

/// One server `extnfs exports` works on: its remote access and exports settings.
pub struct ExportsServer {
    pub name: String,
    pub remote: crate::remote::Remote,
    pub settings: crate::exports::ExportsSettings,
}

/// What `extnfs exports` works on: its servers (`--server`, else those of the nodes this
/// host serves), this SN's exports with its name (none with `--no-local`), and the xCAT
/// tables that give the nodes' addresses.
pub struct ExportsTarget {
    pub servers: Vec<ExportsServer>,
    pub local: Option<crate::exports::SnExports>,
    pub sn: String,
    pub db: Db,
    /// Nodes whose server could not be used while working out the servers.
    pub notes: Vec<String>,
}

impl ExportsTarget {
    /// Loads the configuration and routes the log to stderr. The servers are `server`, else
    /// the `noderes.nfsserver` of the nodes this host serves (every node's with `no_local`,
    /// a run on the management node); this SN's exports are read under `sysroot` unless
    /// `no_local`.
    pub fn open(
        config: Option<&std::path::Path>,
        server: Option<&str>,
        no_local: bool,
        sysroot: &std::path::Path,
        sn: Option<String>,
        db: Option<&std::path::Path>,
    ) -> Result<ExportsTarget, SetupError> {
        let config = Config::load(config)?;
        let syslog = Syslog::new(
            "xcat.extnfs",
            config.logger.clone(),
            config.log_file.clone(),
        );
        syslog::route_log(syslog, "extnfs: ", syslog::Output::Stderr);
        let sn = sn.unwrap_or_else(crate::sync::this_host);
        let db = Db::open(db);
        let mut notes = Vec::new();
        let names: Vec<String> = match server {
            Some(s) => vec![s.to_string()],
            None => {
                let resolver = Resolver::new(&db);
                let host = crate::sync::this_host();
                let me = crate::sync::servers::ThisHost::new(&[&sn, &host]);
                let served = crate::sync::servers::servers_of_served_nodes(
                    &config,
                    &resolver,
                    &|name| me.is(name),
                    no_local,
                )
                .map_err(|e| UsageError(format!("{e}; name the server with --server")))?;
                notes.extend(served.notes);
                if served.servers.is_empty() {
                    let whose = match no_local {
                        true => "no node",
                        false => {
                            "none of the nodes this host serves (noderes.servicenode or \
                                  noderes.xcatmaster naming it)"
                        }
                    };
                    Err(UsageError(format!(
                        "no server found: {whose} has an external noderes.nfsserver; name the \
                         server with --server"
                    )))?;
                }
                served.servers.into_iter().collect()
            }
        };
        let mut servers = Vec::new();
        for name in names {
            crate::host::validate_hostname(&name)?;
            let server = config.server(&name);
            servers.push(ExportsServer {
                remote: crate::remote::Remote::new(&server)?,
                settings: server.exports,
                name,
            });
        }
        let local = match no_local {
            true => None,
            false => Some(crate::exports::SnExports::read_under(
                &Sysroot::new(sysroot).local("/"),
            )?),
        };
        Ok(ExportsTarget {
            servers,
            local,
            sn,
            db,
            notes,
        })
    }

    /// This SN's exports with its name, as the exports code takes them; the nodes'
    /// addresses come from `addresses`.
    pub fn local_sn<'a>(
        &'a self,
        addresses: &'a dyn crate::exports::ClientAddresses,
    ) -> Option<crate::exports::LocalSn<'a>> {
        self.local.as_ref().map(|exports| crate::exports::LocalSn {
            name: &self.sn,
            exports,
            addresses,
        })
    }
}

/// What a prescript run works with: its configuration, its log (the `log` facade routed to
/// it), the xCAT tables and this host's files.
pub struct Prescript {
    /// The binary's name: syslog tag `xcat.<name>`, output prefix, run lock name.
    pub name: &'static str,
    pub config: Config,
    /// Batched: thousands of lines at scale, one `logger` per batch.
    pub syslog: Syslog,
    pub db: Db,
    pub sysroot: Sysroot,
    pub format: Format,
}

impl Prescript {
    /// Checks the arguments, loads the configuration and routes the log, in that order.
    pub fn setup(name: &'static str, args: &PrescriptArgs) -> Result<Prescript, SetupError> {
        args.check()?;
        let config = Config::load(args.config.as_deref())?;
        let syslog = || {
            Syslog::new(
                &format!("xcat.{name}"),
                config.logger.clone(),
                config.log_file.clone(),
            )
        };
        syslog::route_log(syslog(), &format!("{name}: "), syslog::Output::Stdout);
        let syslog = syslog().batched();
        Ok(Prescript {
            name,
            syslog,
            db: Db::open(args.db.as_deref()),
            sysroot: Sysroot::new(&args.sysroot),
            format: args.format,
            config,
        })
    }

    /// The run lock of this host (none for a dry run, which changes nothing): a second run
    /// waits, saying for whom; `host` is what this host is to the admin.
    pub fn lock(&self, dry_run: bool, host: &str) -> Result<Option<RunLock>, SetupError> {
        if dry_run {
            return Ok(None);
        }
        let name = self.name;
        RunLock::acquire(
            &self.config.lock_dir,
            &format!("xcat-extnfs-{name}"),
            |pid| {
                let who = pid.map_or("another run".into(), |p| format!("the run with pid {p}"));
                println!("{name}: waiting for {who} on this {host} to finish");
            },
        )
        .map(Some)
        .map_err(SetupError::Lock)
    }

    /// Where a run's lines go: stdout with the prefix in human format, nowhere in JSON (the
    /// report says it all; syslog has every line either way).
    pub fn say(&self) -> impl FnMut(&str) + '_ {
        move |line| {
            if self.format == Format::Human {
                println!("{}: {line}", self.name);
            }
        }
    }

    /// Prints the report in JSON format (human format printed it line by line).
    pub fn finish(&self, report: &impl Serialize) -> Result<(), serde_json::Error> {
        if self.format == Format::Json {
            println!("{}", serde_json::to_string_pretty(report)?);
        }
        Ok(())
    }
}

/// The process's exit: the run's status, or the error printed with `name` and mapped by
/// [`exit_status`].
pub fn exit(name: &str, result: anyhow::Result<i32>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            println!("{name}: error: {err:#}");
            ExitCode::from(exit_status(err.chain()) as u8)
        }
    }
}

/// The exit status of `extnfs exports` from each server's, in turn: the worst of them, but 2
/// (found before any change) only when that holds of the whole run, so not when `applying`
/// reached a server (it succeeded or failed there: 0 or 1), which may have changed it.
pub fn exports_status(statuses: &[i32], applying: bool) -> i32 {
    let worst = statuses.iter().copied().max().unwrap_or(exit::SUCCESS);
    let reached = applying && statuses.iter().any(|s| *s != exit::USAGE);
    match worst {
        exit::USAGE if reached => exit::FAILURE,
        worst => worst,
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
        if let Some(e) = e.downcast_ref::<SetupError>() {
            return e.exit_status();
        }
        let usage = e.is::<UsageError>()
            || e.is::<crate::sync::SyncError>()
            || e.is::<crate::statelite::StateliteError>()
            || e.is::<crate::doctor::DoctorError>()
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

/// The arguments of `extnfs doctor`.
#[derive(Clone, Debug, clap::Args)]
pub struct DoctorArgs {
    /// The nodes (an xCAT noderange); default: the nodes this host serves.
    #[arg(long, value_name = "NODERANGE")]
    pub nodes: Option<String>,
    #[command(flatten)]
    pub common: CheckupArgs,
    /// Comparisons and server reads at once (default: from the configuration, else 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
}

/// The arguments of `extnfs status`.
#[derive(Clone, Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: CheckupArgs,
}

/// The arguments `extnfs doctor` and `extnfs status` share: where they read from, how they print.
#[derive(Clone, Debug, clap::Args)]
pub struct CheckupArgs {
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Configuration file (default: $XCAT_EXTNFS_CONFIG, else /etc/xcat/extnfs.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The report as text for the admin or as one JSON document.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

impl CheckupArgs {
    /// The configuration (its log routed to stderr) and the tables.
    fn open(&self) -> Result<(Config, Db), SetupError> {
        checkup_setup(self.config.as_deref(), self.db.as_deref())
    }
}

/// What `extnfs doctor` and `extnfs status` read: configuration (log routed to stderr), tables, NIM.
fn checkup_setup(
    config: Option<&std::path::Path>,
    db: Option<&std::path::Path>,
) -> Result<(Config, Db), SetupError> {
    let config = Config::load(config)?;
    let log = Syslog::new(
        "xcat.extnfs",
        config.logger.clone(),
        config.log_file.clone(),
    );
    syslog::route_log(log, "extnfs: ", syslog::Output::Stderr);
    Ok((config, Db::open(db)))
}

/// `extnfs doctor`: prints the report; 0 no problem, 1 problems.
pub fn doctor(args: &DoctorArgs) -> anyhow::Result<i32> {
    let (config, db) = args.common.open()?;
    let resolver = Resolver::new(&db);
    let nodes = match &args.nodes {
        Some(range) => Some(
            resolver
                .noderange(range)
                .map_err(|e| UsageError(e.to_string()))?,
        ),
        None => None,
    };
    let nim = crate::nim::Nim::new(None);
    let sysroot = Sysroot::new(std::path::Path::new("/"));
    let ctx = crate::doctor::Context {
        resolver: &resolver,
        nim: &nim,
        config: &config,
        sysroot: &sysroot,
    };
    let opts = crate::doctor::Options {
        nodes,
        jobs: args.jobs.map(usize::from),
        host: crate::sync::this_host(),
    };
    let report = crate::doctor::run(&ctx, &opts)?;
    print!("{}", report.render(args.common.format));
    Ok(report.exit_code())
}

/// `extnfs status`: prints the table; 0 all in order, 1 something missing, different or stale.
pub fn status(args: &StatusArgs) -> anyhow::Result<i32> {
    let (config, db) = args.common.open()?;
    let resolver = Resolver::new(&db);
    let nim = crate::nim::Nim::new(None);
    let sysroot = Sysroot::new(std::path::Path::new("/"));
    let ctx = crate::doctor::Context {
        resolver: &resolver,
        nim: &nim,
        config: &config,
        sysroot: &sysroot,
    };
    let status = crate::status::run(&ctx, &crate::sync::this_host())?;
    match args.common.format {
        Format::Human => print!("{}", status.table()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&status)?),
    }
    Ok(status.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Doctor {
        #[command(flatten)]
        args: DoctorArgs,
    }

    #[derive(Parser)]
    struct Status {
        #[command(flatten)]
        args: StatusArgs,
    }

    #[test]
    fn several_servers_exit_with_the_worst_status_that_holds_of_the_whole_run() {
        let (ok, failed, usage) = (exit::SUCCESS, exit::FAILURE, exit::USAGE);
        for applying in [false, true] {
            assert_eq!(exports_status(&[ok, ok], applying), ok);
            assert_eq!(exports_status(&[ok, failed, ok], applying), failed);
            assert_eq!(exports_status(&[usage, usage], applying), usage);
        }
        // Rendering changes nothing: a server's bad settings are a usage error of the run.
        assert_eq!(exports_status(&[ok, usage], false), usage);
        assert_eq!(exports_status(&[failed, usage], false), usage);
        // Applying changed (or tried to change) another server: not "before any change".
        assert_eq!(exports_status(&[ok, usage], true), failed);
        assert_eq!(exports_status(&[usage, failed], true), failed);
    }

    #[test]
    fn doctor_and_status_share_their_reading_and_printing_arguments() {
        let d = Doctor::try_parse_from([
            "doctor", "--nodes", "cn001", "--db", "db", "--config", "c.toml", "--format", "json",
            "--jobs", "2",
        ])
        .unwrap()
        .args;
        assert_eq!(d.common.db.as_deref(), Some(std::path::Path::new("db")));
        assert_eq!(
            d.common.config.as_deref(),
            Some(std::path::Path::new("c.toml"))
        );
        assert!(matches!(d.common.format, Format::Json));
        assert_eq!((d.nodes.as_deref(), d.jobs), (Some("cn001"), Some(2)));
        let s = Status::try_parse_from(["status"]).unwrap().args;
        assert!(s.common.db.is_none() && s.common.config.is_none());
        assert!(matches!(s.common.format, Format::Human));
        assert!(Status::try_parse_from(["status", "--jobs", "2"]).is_err());
    }
}
