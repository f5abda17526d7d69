//! `syncaixres`: xCAT end prescript of `mkdsklsnode`/`rmdsklsnode` that keeps AIX diskless
//! resources on the external NFS server named by `noderes.nfsserver`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use xcat_extnfs::cli::{self, EXIT_STATUS_HELP};
use xcat_extnfs::config::Config;
use xcat_extnfs::lock::RunLock;
use xcat_extnfs::nim::Nim;
use xcat_extnfs::sync::report::Format;
use xcat_extnfs::sync::{self, Context, Options, Sysroot};
use xcat_extnfs::syslog::{self, Syslog};
use xcat_extnfs::xcat::{Db, Resolver};

/// Copy AIX diskless resources (SPOT, root or shared_root, paging) of this service node's
/// nodes to their external NFS server, and redirect the nodes' mounts to it.
///
/// Under xCAT (prescripts-end=diskless:syncaixres|remove:syncaixres) the nodes come from
/// NODES and the action from ACTION: diskless syncs, remove deletes the nodes' own data from
/// the server, anything else does nothing.
#[derive(Parser)]
#[command(name = "syncaixres", version, after_help = EXIT_STATUS_HELP)]
struct Args {
    #[command(flatten)]
    run: cli::PrescriptArgs,
}

fn main() -> ExitCode {
    match run(Args::parse().run) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            println!("syncaixres: error: {err:#}");
            ExitCode::from(cli::exit_status(err.chain()) as u8)
        }
    }
}

fn run(args: cli::PrescriptArgs) -> anyhow::Result<i32> {
    let action = match args.action() {
        Ok(action) => action,
        Err(other) => {
            println!("syncaixres: nothing to do for action {other}");
            return Ok(xcat_extnfs::exit::SUCCESS);
        }
    };
    args.check()?;
    let config = Config::load(args.config.as_deref())?;
    let syslog = || {
        Syslog::new(
            "xcat.syncaixres",
            config.logger.clone(),
            config.log_file.clone(),
        )
    };
    syslog::route_log(syslog(), "syncaixres: ", syslog::Output::Stdout);
    // Thousands of lines at scale: batched, one `logger` per batch.
    let syslog = syslog().batched();
    let db = Db::open(args.db.as_deref());
    let resolver = Resolver::new(&db);
    let nodes = args.nodes(&resolver)?;
    let _lock = match args.dry_run {
        true => None,
        false => Some(
            RunLock::acquire(&config.lock_dir, "xcat-extnfs-syncaixres", |pid| {
                let who = pid.map_or("another run".into(), |p| format!("the run with pid {p}"));
                println!("syncaixres: waiting for {who} on this service node to finish");
            })
            .context("cannot take the run lock")?,
        ),
    };
    let (nim, sysroot) = (Nim::new(None), Sysroot::new(&args.sysroot));
    let ctx = Context {
        resolver: &resolver,
        nim: &nim,
        config: &config,
        sysroot: &sysroot,
    };
    let human = args.format == Format::Human;
    let opts = Options {
        action,
        nodes,
        dry_run: args.dry_run,
        verify: args.verify,
        jobs: args.jobs.map(usize::from),
        rsync: args.rsync.clone(),
        progress: std::io::stderr().is_terminal() && human,
        sn: args.sn.clone().unwrap_or_else(sync::this_host),
    };
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
