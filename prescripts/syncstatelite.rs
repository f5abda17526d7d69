//! `syncstatelite`: xCAT end prescript of `nodeset` that keeps Linux statelite images,
//! statemnt and litetree directories on the external NFS server named by `noderes.nfsserver`.

use std::process::ExitCode;

use clap::Parser;
use xcat_extnfs::cli::{self, Prescript, EXIT_STATUS_HELP};
use xcat_extnfs::exit;
use xcat_extnfs::statelite::{self, action, facts::HostFacts, Context, Options};
use xcat_extnfs::sync;
use xcat_extnfs::xcat::Resolver;

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
    cli::exit("syncstatelite", run(Args::parse().run))
}

fn run(args: cli::PrescriptArgs) -> anyhow::Result<i32> {
    let image = match action::parse(&args.action_or("osimage")) {
        action::Action::Sync { image } => image,
        action::Action::Other(other) => {
            println!("syncstatelite: nothing to do for action {other}");
            return Ok(exit::SUCCESS);
        }
    };
    let p = Prescript::setup("syncstatelite", &args)?;
    let resolver = Resolver::new(&p.db);
    let nodes = args.nodes(&resolver)?;
    let _lock = p.lock(args.dry_run, "host")?;
    let facts = HostFacts::new(&p.sysroot);
    let ctx = Context {
        resolver: &resolver,
        config: &p.config,
        sysroot: &p.sysroot,
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
    let report = statelite::run(&ctx, &opts, &p.syslog, &mut p.say())?;
    p.syslog.flush();
    p.finish(&report)?;
    Ok(report.exit_code())
}
