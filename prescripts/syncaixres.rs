//! `syncaixres`: xCAT end prescript of `mkdsklsnode`/`rmdsklsnode` that keeps AIX diskless
//! resources on the external NFS server named by `noderes.nfsserver`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use xcat_extnfs::config::Config;
use xcat_extnfs::exit;
use xcat_extnfs::nim::Nim;
use xcat_extnfs::sync::report::Format;
use xcat_extnfs::sync::{self, Action, Context, Options, Sysroot};
use xcat_extnfs::syslog::Syslog;
use xcat_extnfs::xcat::{Db, Resolver};

/// Copy AIX diskless resources (SPOT, root or shared_root, paging) of this service node's
/// nodes to their external NFS server, and redirect the nodes' mounts to it.
///
/// Under xCAT (prescripts-end=diskless:syncaixres|remove:syncaixres) the nodes come from
/// NODES and the action from ACTION: diskless syncs, remove deletes the nodes' own data from
/// the server, anything else does nothing.
///
/// Exit status: 0 all done; 1 some node or resource failed; 2 usage or configuration error
/// found before any change.
#[derive(Parser)]
#[command(name = "syncaixres", version)]
struct Args {
    /// The nodes (an xCAT noderange); default: the NODES environment variable.
    #[arg(long, value_name = "NODERANGE")]
    nodes: Option<String>,
    /// diskless (sync) or remove; default: the ACTION environment variable, else diskless.
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
    /// Print the plan (edits and transfers) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Compare every synced scope again after the sync, and report each.
    #[arg(long)]
    verify: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Transfers at once (default: from the configuration, else 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Configuration file (default: $XCAT_EXTNFS_CONFIG, else /etc/xcat/extnfs.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Treat DIR as this SN's / when reading its files (to run against a copy of an SN).
    #[arg(long, value_name = "DIR", default_value = "/")]
    sysroot: PathBuf,
    /// The rsync program on this host.
    #[arg(long, value_name = "PATH", default_value = "rsync")]
    rsync: String,
    /// This service node's name, which names its part of the server's exports
    /// (default: the short host name).
    #[arg(long, value_name = "NAME")]
    sn: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            println!("syncaixres: error: {err:#}");
            ExitCode::from(exit::USAGE as u8)
        }
    }
}

fn run(args: Args) -> anyhow::Result<i32> {
    let action_text = args
        .action
        .clone()
        .or_else(|| std::env::var("ACTION").ok().filter(|a| !a.is_empty()))
        .unwrap_or_else(|| "diskless".into());
    let action = match action_text.as_str() {
        "diskless" => Action::Sync,
        "remove" => Action::Remove,
        other => {
            println!("syncaixres: nothing to do for action {other}");
            return Ok(exit::SUCCESS);
        }
    };
    if !args.sysroot.is_dir() {
        anyhow::bail!("--sysroot {}: no such directory", args.sysroot.display());
    }
    let config = Config::load(args.config.as_deref())?;
    // Thousands of lines at scale: batched, one `logger` per batch.
    let syslog = Syslog::new(
        "xcat.syncaixres",
        config.logger.clone(),
        config.log_file.clone(),
    )
    .batched();
    let db = Db::open(args.db.as_deref());
    let resolver = Resolver::new(&db);
    let nodes = match (
        &args.nodes,
        std::env::var("NODES").ok().filter(|n| !n.is_empty()),
    ) {
        (Some(range), _) => resolver.noderange(range)?,
        (None, Some(list)) => list
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
        (None, None) => anyhow::bail!("no nodes: give --nodes NODERANGE or set NODES"),
    };
    let _lock = if args.dry_run {
        None
    } else {
        let lock = xcat_extnfs::lock::RunLock::acquire(
            &config.lock_dir,
            "xcat-extnfs-syncaixres",
            |pid| {
                let who = pid.map_or_else(
                    || "another run".to_string(),
                    |p| format!("the run with pid {p}"),
                );
                println!("syncaixres: waiting for {who} on this service node to finish");
            },
        )
        .context("cannot take the run lock")?;
        Some(lock)
    };
    let nim = Nim::new(None);
    let sysroot = Sysroot::new(&args.sysroot);
    let ctx = Context {
        resolver: &resolver,
        nim: &nim,
        config: &config,
        sysroot: &sysroot,
    };
    let opts = Options {
        action,
        nodes,
        dry_run: args.dry_run,
        verify: args.verify,
        jobs: args.jobs.map(usize::from),
        rsync: args.rsync.clone(),
        progress: std::io::stderr().is_terminal() && args.format == Format::Human,
        sn: args.sn.clone().unwrap_or_else(sync::this_host),
    };
    let human = args.format == Format::Human;
    let report = sync::run(&ctx, &opts, &syslog, &mut |line| {
        if human {
            println!("syncaixres: {line}");
        }
    })?;
    if !human {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(report.exit_code())
}
