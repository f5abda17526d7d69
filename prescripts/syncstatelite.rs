//! `syncstatelite`: xCAT end prescript of `nodeset` that keeps Linux statelite images,
//! statemnt and litetree directories on the external NFS server named by `noderes.nfsserver`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use xcat_extnfs::config::Config;
use xcat_extnfs::exit;
use xcat_extnfs::statelite::{self, action, facts::HostFacts, Context, Options};
use xcat_extnfs::sync::report::Format;
use xcat_extnfs::sync::{self, Sysroot};
use xcat_extnfs::syslog::Syslog;
use xcat_extnfs::xcat::{Db, Resolver};

/// Copy Linux statelite images (NFS root or RAMdisk) of this host's nodes to their external
/// NFS server, create their statemnt directories, copy or check their litetree directories,
/// check litefile sources, and export it all to the nodes.
///
/// Under xCAT (prescripts-end=syncstatelite) the nodes come from NODES and the action from
/// ACTION: it acts when a comma piece of ACTION is `osimage` or `osimage=<image>`, and does
/// nothing for any other action.
///
/// Exit status: 0 all done; 1 some node or step failed; 2 usage or configuration error found
/// before any change.
#[derive(Parser)]
#[command(name = "syncstatelite", version)]
struct Args {
    /// The nodes (an xCAT noderange); default: the NODES environment variable.
    #[arg(long, value_name = "NODERANGE")]
    nodes: Option<String>,
    /// nodeset's action (`osimage`, `osimage=<image>`); default: ACTION, else `osimage`.
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Compare every copy again after the sync, and report each.
    #[arg(long)]
    verify: bool,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Steps at once (default: from the configuration, else 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Configuration file (default: $XCAT_EXTNFS_CONFIG, else /etc/xcat/extnfs.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Treat DIR as this host's / when reading its files.
    #[arg(long, value_name = "DIR", default_value = "/")]
    sysroot: PathBuf,
    /// The rsync program on this host.
    #[arg(long, value_name = "PATH", default_value = "rsync")]
    rsync: String,
    /// This host's name, which names its part of the server's exports (default: the short
    /// host name).
    #[arg(long, value_name = "NAME")]
    sn: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            println!("syncstatelite: error: {err:#}");
            ExitCode::from(exit::USAGE as u8)
        }
    }
}

fn run(args: Args) -> anyhow::Result<i32> {
    let action_text = args
        .action
        .clone()
        .or_else(|| std::env::var("ACTION").ok().filter(|a| !a.is_empty()))
        .unwrap_or_else(|| "osimage".into());
    let image = match action::parse(&action_text) {
        action::Action::Sync { image } => image,
        action::Action::Other(other) => {
            println!("syncstatelite: nothing to do for action {other}");
            return Ok(exit::SUCCESS);
        }
    };
    if !args.sysroot.is_dir() {
        anyhow::bail!("--sysroot {}: no such directory", args.sysroot.display());
    }
    let config = Config::load(args.config.as_deref())?;
    let syslog = Syslog::new(
        "xcat.syncstatelite",
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
            "xcat-extnfs-syncstatelite",
            |pid| {
                let who = pid.map_or_else(
                    || "another run".to_string(),
                    |p| format!("the run with pid {p}"),
                );
                println!("syncstatelite: waiting for {who} on this host to finish");
            },
        )
        .context("cannot take the run lock")?;
        Some(lock)
    };
    let sysroot = Sysroot::new(&args.sysroot);
    let facts = HostFacts::new(&sysroot);
    let ctx = Context {
        resolver: &resolver,
        config: &config,
        sysroot: &sysroot,
        facts: &facts,
    };
    let opts = Options {
        nodes,
        image,
        dry_run: args.dry_run,
        verify: args.verify,
        jobs: args.jobs.map(usize::from),
        rsync: args.rsync.clone(),
        sn: args.sn.clone().unwrap_or_else(sync::this_host),
    };
    let human = args.format == Format::Human;
    let report = statelite::run(&ctx, &opts, &syslog, &mut |line| {
        if human {
            println!("syncstatelite: {line}");
        }
    })?;
    syslog.flush();
    if !human {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(report.exit_code())
}
