//! `syncaixres`: keeps AIX diskless images (SPOT, root or shared_root with `.client_data`,
//! paging, dump) of this SN's nodes on their external NFS server, and removes them on request.
//!
//! A run is a line of stages, each taking the previous one's output and returning its own:
//! [`inventory`] (targets and their [`servers`], each resolved once, `RSYNC_RSH` included,
//! before any change) → [`redirect`] (the nodes' mount edits) → [`plan`] (pure data) →
//! [`execute`] (on one worker [`pool`]) → verification → [`exports_step`]; the [`report`] is
//! built from those outputs at the end.
//!
//! # The engine a second prescript reuses
//!
//! Only [`inventory`], [`redirect`] and [`plan`] know AIX. Another prescript
//! (syncstatelite, in the `statelite` module) brings its own inventory and planner and reuses the rest:
//!
//! 1. find each node's server with [`servers::ServerBook::for_node`], which resolves each
//!    once (a [`servers::NodeServerError::Stop`] is a usage error: stop before any change);
//! 2. plan [`step::Step`]s: an rsync [`crate::rsync::Job`], a server-side script
//!    ([`step::StepKind::Allocate`], [`step::StepKind::Remove`]) or a refusal, each with the
//!    `(path, role, nodes)` it [`covers`](step::Step::covers) for the exports;
//! 3. run them with [`execute::Executor::execute`] (servers prepared once, unreachable ones
//!    failed, one pool of `jobs` workers), then [`execute::Executor::verify`]; steps of its
//!    own run on [`pool::map`], their copies through [`execute::Executor::run_rsync`];
//! 4. publish with [`exports_step::published`] (or [`exports_step::by_server`] for steps of
//!    its own) and [`exports_step::publish_all`];
//! 5. report with [`report::Report::new`]; the binary takes its arguments from
//!    `PrescriptArgs` of the `cli` module and maps errors with its `exit_status`.

pub mod connections;
pub mod context;
pub mod copied;
pub mod execute;
pub mod exports_step;
pub mod inventory;
pub mod lite;
pub mod plan;
pub mod pool;
pub mod redirect;
pub mod report;
pub mod servers;
pub mod stamp;
pub mod step;
pub mod tree;

use std::time::Instant;

pub use context::{this_host, Action, Context, DirState, Facts, Options, SyncError, Sysroot};

use crate::syslog::Syslog;
use connections::{close_connections, share_connections};
use execute::Executor;
use report::{Report, Stages};
use step::{Done, Verification};

/// Runs syncaixres; `say` receives each short line as it happens.
pub fn run(
    ctx: &Context<'_>,
    opts: &Options,
    syslog: &Syslog,
    say: &mut dyn FnMut(&str),
) -> Result<Report, SyncError> {
    let start = Instant::now();
    let mut say = |line: String| {
        syslog.info(&line);
        say(&line);
    };
    let db = ctx.resolver.db();
    let installdir = db.installdir()?;
    let removal = opts.action == Action::Remove;
    crate::timing::mark("before inventory");
    let mut inv = inventory::gather(ctx, &opts.nodes, removal)?;
    crate::timing::mark("inventory");
    for s in &inv.skipped {
        say(format!("{}: skipped: {}", s.node, s.reason));
    }
    // Servers found unreachable, from the shared connections' start to the last step.
    let dead = execute::DeadServers::default();
    let mut mux = share_connections(&mut inv.servers, opts.dry_run, &dead, &mut say);
    let links = mux.links().to_vec();
    let redirected = match removal {
        true => redirect::Redirected::default(),
        false => {
            let tftpdir = db.tftpdir()?;
            let (sysroot, servers) = (ctx.sysroot, &inv.servers);
            redirect::run(
                sysroot,
                &tftpdir,
                &inv.targets,
                servers,
                opts.dry_run,
                &mut say,
            )
        }
    };
    crate::timing::mark("redirect");
    let mut failed = inv.failed.clone();
    failed.extend(redirected.failed.iter().cloned());
    let failed_nodes: std::collections::HashSet<&str> =
        failed.iter().map(|f| f.node.as_str()).collect();
    // Copied only when some of them failed: thousands would be cloned for nothing otherwise.
    let has_failed = |t: &inventory::Target| failed_nodes.contains(t.node.as_str());
    let targets: std::borrow::Cow<'_, [inventory::Target]> =
        match inv.targets.iter().any(has_failed) {
            true => (inv.targets.iter())
                .filter(|t| !has_failed(t))
                .cloned()
                .collect(),
            false => std::borrow::Cow::Borrowed(&inv.targets),
        };
    let plan = match removal {
        true => plan::plan_remove(&targets, &inv.servers),
        false => {
            let facts = context::Known::new(ctx.sysroot, &redirected.read);
            plan::plan_sync(&targets, &facts, &inv.servers, &installdir)
        }
    };
    // AIX statelite: the statemnt and litetree parts for nodes with a statelite row.
    let mut lite = match removal {
        true => lite::Lite::default(),
        false => lite::plan(ctx, &targets, &inv.servers)?,
    };
    for f in &lite.failed {
        say(format!("{}: FAILED: {}", f.node, f.message));
    }
    for f in lite.plan.findings.iter().chain(&lite.tables) {
        say(f.line());
    }
    crate::timing::mark("plan");
    let mut stages = Stages {
        action: opts.action,
        dry_run: opts.dry_run,
        nodes: &opts.nodes,
        skipped: &inv.skipped,
        failed: &failed,
        edits: &redirected.edits,
        plan: &plan,
        ssh: &links,
        results: Vec::new(),
        verification: Vec::new(),
        exports: &[],
        statelite: lite::Lite::default(),
    };
    let published;
    let mut down = std::collections::BTreeSet::new();
    if opts.dry_run {
        for line in report::plan_lines(&plan, &opts.rsync, ctx.sysroot) {
            say(line);
        }
        let engine = Executor {
            servers: &inv.servers,
            sysroot: ctx.sysroot,
            syslog,
            rsync: opts.rsync.clone(),
            jobs: 1,
            progress: None,
            dead: Default::default(),
        };
        for line in lite::plan_lines(&engine, &opts.sn, &lite) {
            say(line);
        }
    } else {
        let progress = |p: execute::Progress<'_>| eprintln!("{}", report::progress_line(&p));
        let executor = Executor {
            servers: &inv.servers,
            sysroot: ctx.sysroot,
            syslog,
            rsync: opts.rsync.clone(),
            jobs: servers::jobs(opts.jobs, &inv.servers),
            progress: opts.progress.then_some(&progress as _),
            dead: dead.clone(),
        };
        syslog.flush();
        let ran = executor.execute(&plan.steps, &step::temp_dir(&installdir));
        for (server, reason) in &ran.down {
            say(format!("{server}: FAILED: {reason}"));
            down.insert(server.clone());
        }
        for d in &ran.done {
            say(report::result_line(&d.result));
        }
        if !lite.plan.steps.is_empty() {
            lite::run(&executor, &opts.sn, &mut lite, opts.verify);
            for line in lite.results.iter().flat_map(|r| r.lines()) {
                say(line);
            }
        }
        if !removal {
            stages.verification = verify(&executor, &ran.done, opts.verify, &mut say);
            for v in lite::verifications(&lite) {
                if opts.verify || v.differences != Some(0) {
                    say(report::verification_line(&v));
                }
                stages.verification.push(v);
            }
        }
        syslog.flush();
        let mut paths = exports_step::published(&ran.done);
        for (server, covers) in lite.published() {
            paths.entry(server).or_default().extend(covers);
        }
        // A server found dead is not connected to again: its exports are reported not run.
        let dead = executor.dead.all();
        paths.retain(|server, _| !dead.contains_key(server));
        let addresses = servers::NodeAddresses {
            resolver: ctx.resolver,
        };
        let mut outcomes = exports_step::publish_all(
            &inv.servers,
            &opts.sn,
            ctx.sysroot,
            &paths,
            &addresses,
            false,
        );
        for (server, cause) in &dead {
            if inv
                .servers
                .get(server)
                .is_some_and(|s| s.config.exports.apply)
            {
                outcomes.push(exports_step::Outcome {
                    server: server.clone(),
                    line: format!("{server}: exports {}", execute::not_run(cause)),
                    failed: true,
                    failed_clients: Vec::new(),
                });
            }
        }
        published = outcomes;
        for o in &published {
            say(format!("exports: {}", o.line));
        }
        stages.exports = &published;
        stages.results = ran.done.into_iter().map(|d: Done<'_>| d.result).collect();
    }
    crate::timing::mark("plan lines or execution");
    stages.statelite = lite;
    let mut report = Report::new(stages, start.elapsed().as_secs_f64());
    if !opts.dry_run && !removal {
        let failed = report.failed_nodes();
        let nodes = inv
            .targets
            .iter()
            .filter(|t| !down.contains(&t.server) && dead.cause(&t.server).is_none())
            .map(|t| (t.server.as_str(), t.image.as_str(), t.node.as_str()));
        let stamps = stamp::of_run("syncaixres", &opts.sn, nodes, &|n| failed.contains_key(n));
        for (name, stamps) in stamps {
            if let Some(server) = inv.servers.get(&name) {
                if let Err(e) = stamp::write(server, &installdir, &stamps) {
                    say(format!("{name}: cannot write the sync stamps: {e}"));
                }
            }
        }
    }
    // The stamps above still use the shared connections.
    // The report's links again, now with the commands each server was sent.
    report.ssh = close_connections(&mut mux, &inv.servers, &mut say);
    crate::timing::mark("report");
    for line in report.failure_lines() {
        say(line);
    }
    say(report.summary());
    Ok(report)
}

/// Compares the synced scopes again; each scope is reported with `--verify`, otherwise only
/// those left different, and a count.
fn verify(
    executor: &Executor<'_>,
    done: &[Done<'_>],
    always: bool,
    say: &mut dyn FnMut(String),
) -> Vec<Verification> {
    let verification = executor.verify(done, always);
    for v in &verification {
        if always || v.differences != Some(0) {
            say(report::verification_line(v));
        }
    }
    if !always && !verification.is_empty() {
        let clean = verification
            .iter()
            .filter(|v| v.differences == Some(0))
            .count();
        say(format!(
            "verified: {clean} of {} synced scope(s) match the server",
            verification.len()
        ));
    }
    verification
}
