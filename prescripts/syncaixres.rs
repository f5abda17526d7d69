//! `syncaixres`: xCAT end prescript of `mkdsklsnode`/`rmdsklsnode` that keeps AIX diskless
//! resources on the external NFS server named by `noderes.nfsserver`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use xcat_extnfs::cli::{self, Prescript, EXIT_STATUS_HELP};
use xcat_extnfs::nim::Nim;
use xcat_extnfs::sync::report::Format;
use xcat_extnfs::sync::{self, Action, Context, Options};
use xcat_extnfs::timing;
use xcat_extnfs::xcat::Resolver;

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
    cli::exit("syncaixres", run(Args::parse().run))
}

fn run(args: cli::PrescriptArgs) -> anyhow::Result<i32> {
    let action = match Action::parse(&args.action_or("diskless")) {
        Ok(action) => action,
        Err(other) => {
            println!("syncaixres: nothing to do for action {other}");
            return Ok(xcat_extnfs::exit::SUCCESS);
        }
    };
    timing::mark("start");
    let p = Prescript::setup("syncaixres", &args)?;
    let resolver = Resolver::new(&p.db);
    timing::mark("setup");
    let nodes = args.nodes(&resolver)?;
    timing::mark("noderange");
    let _lock = p.lock(args.dry_run, "service node")?;
    let nim = Nim::new(None);
    let ctx = Context {
        resolver: &resolver,
        nim: &nim,
        config: &p.config,
        sysroot: &p.sysroot,
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
    let report = sync::run(&ctx, &opts, &p.syslog, &mut p.say())?;
    timing::mark("run");
    p.finish(&report)?;
    timing::mark("output");
    Ok(report.exit_code())
}
