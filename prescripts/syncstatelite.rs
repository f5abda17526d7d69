//! `syncstatelite`: xCAT end prescript of `nodeset` that keeps Linux statelite images,
//! statemnt and litetree directories on the external NFS server named by `noderes.nfsserver`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use xcat_extnfs::cli::{self, EXIT_STATUS_HELP};
use xcat_extnfs::config::Config;
use xcat_extnfs::exit;
use xcat_extnfs::lock::RunLock;
use xcat_extnfs::statelite::{self, action, facts::HostFacts, Context, Options};
use xcat_extnfs::sync::report::Format;
use xcat_extnfs::sync::{self, Sysroot};
use xcat_extnfs::syslog::{self, Syslog};
use xcat_extnfs::xcat::{Db, Resolver};

/// Copy Linux statelite images (NFS root or RAMdisk) of this host's nodes to their external
/// NFS server, create their statemnt directories, copy or check their litetree directories,
/// check litefile sources, and export it all to the nodes.
///
/// Under xCAT (prescripts-end=syncstatelite) the nodes come from NODES and the action from
/// ACTION: it acts when a comma piece of ACTION is `osimage` or `osimage=<image>`, and does
/// nothing for any other action.
#[derive(Parser)]
#[command(name = "syncstatelite", version, after_help = EXIT_STATUS_HELP)]
struct Args {
    #[command(flatten)]
    run: cli::PrescriptArgs,
}

fn main() -> ExitCode {
    match run(Args::parse().run) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            println!("syncstatelite: error: {err:#}");
            ExitCode::from(cli::exit_status(err.chain()) as u8)
        }
    }
}

fn run(args: cli::PrescriptArgs) -> anyhow::Result<i32> {
    let image = match action::parse(&args.action_or("osimage")) {
        action::Action::Sync { image } => image,
        action::Action::Other(other) => {
            println!("syncstatelite: nothing to do for action {other}");
            return Ok(exit::SUCCESS);
        }
    };
    args.check()?;
    let config = Config::load(args.config.as_deref())?;
    let syslog = || {
        Syslog::new(
            "xcat.syncstatelite",
            config.logger.clone(),
            config.log_file.clone(),
        )
    };
    syslog::route_log(syslog(), "syncstatelite: ", syslog::Output::Stdout);
    let syslog = syslog().batched();
    let db = Db::open(args.db.as_deref());
    let resolver = Resolver::new(&db);
    let nodes = args.nodes(&resolver)?;
    let _lock = match args.dry_run {
        true => None,
        false => Some(
            RunLock::acquire(&config.lock_dir, "xcat-extnfs-syncstatelite", |pid| {
                let who = pid.map_or("another run".into(), |p| format!("the run with pid {p}"));
                println!("syncstatelite: waiting for {who} on this host to finish");
            })
            .context("cannot take the run lock")?,
        ),
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
