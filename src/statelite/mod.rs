//! `syncstatelite`: puts this host's Linux statelite nodes' image, statemnt and litetree
//! directories on their external NFS server, checks litefile sources, and exports them.
//!
//! A run computes the nodes' mounts ([`crate::mounts`]), finds each node's server through
//! the sync engine's [`ServerBook`] (each resolved once, `RSYNC_RSH` included, before any
//! change), plans as pure data ([`plan`]), executes on the engine ([`execute`]: its rsync
//! runs, its pool) and reports ([`Report`]); the exports go through
//! [`exports_step::publish_all`] as this host's statelite part.

pub mod action;
pub mod execute;
pub mod facts;
pub mod plan;

use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::exports::Published;
use crate::mounts::{self, Os};
use crate::remote::RemoteError;
use crate::sync::connections::{close_connections, share_connections};
use crate::sync::context::Sysroot;
use crate::sync::execute::{not_run, DeadServers};
use crate::sync::exports_step;
use crate::sync::inventory::{NodeFailure, Skipped};
use crate::sync::servers::{NodeAddresses, NodeServerError, ServerBook, Servers};
use crate::sync::stamp;
use crate::syslog::Syslog;
use crate::xcat::{self, Resolver};

use execute::{Executor, Records, StepResult};
use plan::{Plan, Target};

/// An error that stops the run before any change (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum StateliteError {
    #[error(transparent)]
    Xcat(#[from] xcat::Error),
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

/// How a run is asked to behave.
#[derive(Clone, Debug)]
pub struct Options {
    pub nodes: Vec<String>,
    /// `osimage=<image>` from nodeset.
    pub image: Option<String>,
    pub dry_run: bool,
    pub verify: bool,
    pub jobs: Option<usize>,
    pub rsync: String,
    /// This host's name; its statelite exports part is `<sn>.statelite`.
    pub sn: String,
}

/// Where a run reads from.
pub struct Context<'a> {
    pub resolver: &'a Resolver<'a>,
    pub config: &'a Config,
    pub sysroot: &'a Sysroot,
    pub facts: &'a dyn facts::Facts,
}

/// Everything a run did or would do.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub nodes: Vec<String>,
    pub skipped: Vec<Skipped>,
    pub failed: Vec<NodeFailure>,
    pub plan: Plan,
    pub results: Vec<StepResult>,
    /// Copies compared again: label and differences (or the error).
    pub verification: Vec<(String, Result<u64, String>)>,
    /// How each ssh server was reached: connections opened, shared or not.
    pub ssh: Vec<crate::sshmux::Link>,
    pub exports: Vec<String>,
    pub exports_failed: Vec<String>,
    pub seconds: f64,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        let bad = !self.failed.is_empty()
            || self.plan.findings.iter().any(|f| f.failure)
            || self.results.iter().any(|r| !r.ok)
            || self.verification.iter().any(|(_, v)| !matches!(v, Ok(0)))
            || !self.exports_failed.is_empty();
        match bad {
            true => crate::exit::FAILURE,
            false => crate::exit::SUCCESS,
        }
    }

    pub fn summary(&self) -> String {
        let changed: u64 = self.results.iter().map(|r| r.changed).sum();
        format!(
            "{} node(s): {} skipped, {} failed; {} step(s), {} failed; {changed} change(s) on the server{}; {:.1}s",
            self.nodes.len(),
            self.skipped.len(),
            self.failed.len(),
            self.plan.steps.len(),
            self.results.iter().filter(|r| !r.ok).count(),
            if self.dry_run { " (dry run: none made)" } else { "" },
            self.seconds
        )
    }
}

/// The part name of this host's statelite exports, beside its NIM part `<sn>`.
pub fn part_name(sn: &str) -> String {
    format!("{sn}.statelite")
}

/// Runs syncstatelite; `say` receives each line as it happens.
pub fn run(
    ctx: &Context<'_>,
    opts: &Options,
    syslog: &Syslog,
    say: &mut dyn FnMut(&str),
) -> Result<Report, StateliteError> {
    let start = Instant::now();
    let mut say = |line: String| {
        syslog.info(&line);
        say(&line);
    };
    let r = ctx.resolver;
    let model = mounts::gather(
        r,
        &opts.nodes,
        &mounts::Options {
            image: opts.image.clone(),
            nim: None,
        },
    )?;
    let mut report = Report {
        dry_run: opts.dry_run,
        nodes: opts.nodes.clone(),
        ..Report::default()
    };
    for f in &model.failed {
        report.failed.push(NodeFailure {
            node: f.node.clone(),
            message: f.message.clone(),
        });
    }
    let mut book = ServerBook::default();
    let mut targets = Vec::new();
    for n in &model.nodes {
        let skip = |reason: String| Skipped {
            node: n.node.clone(),
            reason,
        };
        let skipped = if n.os == Os::Aix {
            Some(skip("AIX node: syncaixres keeps its resources".into()))
        } else if n.linux.is_none() {
            Some(skip(n.notes.first().cloned().unwrap_or_default()))
        } else {
            match book.for_node(ctx.config, r, &n.node) {
                Ok(server) => {
                    targets.push(Target {
                        node: n,
                        server: server.name.clone(),
                    });
                    None
                }
                Err(NodeServerError::Skip(reason)) => Some(skip(reason)),
                Err(NodeServerError::Fail(message)) => {
                    report.failed.push(NodeFailure {
                        node: n.node.clone(),
                        message,
                    });
                    None
                }
                Err(NodeServerError::Stop(e)) => return Err(e.into()),
            }
        };
        if let Some(s) = skipped {
            say(format!("{}: skipped: {}", s.node, s.reason));
            report.skipped.push(s);
        }
    }
    for f in &report.failed {
        say(format!("{}: FAILED: {}", f.node, f.message));
    }
    let mut servers = book.servers;
    // Servers found unreachable, from the shared connections' start to the exports.
    let dead = DeadServers::default();
    let mut mux = share_connections(&mut servers, opts.dry_run, &dead, &mut say);
    report.ssh = mux.links().to_vec();

    report.plan = plan::plan(&targets, ctx.facts, &|a, b| crate::host::same_host(a, b));
    for f in &report.plan.findings {
        say(f.line());
    }
    let executor = Executor {
        engine: crate::sync::execute::Executor {
            servers: &servers,
            sysroot: ctx.sysroot,
            syslog,
            rsync: opts.rsync.clone(),
            jobs: crate::sync::servers::jobs(opts.jobs, &servers),
            progress: None,
            dead: dead.clone(),
        },
        owner: format!("syncstatelite on {} (pid {})", opts.sn, std::process::id()),
        compare_all: opts.verify,
        records: r.db().installdir().ok().map(|installdir| Records {
            installdir,
            sn: opts.sn.clone(),
        }),
    };
    if opts.dry_run {
        for line in executor.plan_lines(&report.plan) {
            say(line);
        }
    } else {
        syslog.flush();
        report.results = executor.run(&report.plan.steps);
        for res in &report.results {
            for line in res.lines() {
                say(line);
            }
        }
        for (step, v) in execute::verifications(&report.plan.steps, &report.results) {
            if opts.verify || !matches!(v, Ok(0)) {
                say(format!("verify {} {}: {:?}", step.server, step.label, v));
            }
            report.verification.push((step.label.clone(), v));
        }
    }
    publish(ctx, opts, &servers, &dead, &mut report);
    if !opts.dry_run {
        stamps(ctx, opts, &targets, &servers, &dead, &report, &mut say);
    }
    report.ssh = close_connections(&mut mux, &servers, &mut say);
    for line in &report.exports {
        say(format!("exports: {line}"));
    }
    report.seconds = start.elapsed().as_secs_f64();
    say(report.summary());
    Ok(report)
}

/// Leaves this host's stamp per server and image (see [`crate::sync::stamp`]).
fn stamps(
    ctx: &Context<'_>,
    opts: &Options,
    targets: &[Target<'_>],
    servers: &Servers,
    dead: &DeadServers,
    report: &Report,
    say: &mut dyn FnMut(String),
) {
    let failed: std::collections::BTreeSet<&str> = report
        .failed
        .iter()
        .map(|f| f.node.as_str())
        .chain(
            report
                .results
                .iter()
                .filter(|r| !r.ok)
                .flat_map(|r| r.nodes.iter().map(String::as_str)),
        )
        .collect();
    let Ok(installdir) = ctx.resolver.db().installdir() else {
        return;
    };
    let nodes = targets.iter().map(|t| {
        (
            t.server.as_str(),
            t.node.image.as_str(),
            t.node.node.as_str(),
        )
    });
    let all = stamp::of_run("syncstatelite", &opts.sn, nodes, &|n| failed.contains(n));
    for (name, stamps) in all {
        // Not connected to again once found unreachable.
        if dead.cause(&name).is_some() {
            continue;
        }
        if let Some(server) = servers.get(&name) {
            if let Err(e) = stamp::write(server, &installdir, &stamps) {
                say(format!("{name}: cannot write the sync stamps: {e}"));
            }
        }
    }
}

/// Publishes this host's statelite part on each server: what it published before (read back
/// from the server) and what the steps just made available. The part is kept apart from the
/// NIM part, whose paths this host's exports hold; these it never exports itself.
/// A server found unreachable during the run is not connected to again: its exports are
/// reported not run (and failed), as syncaixres reports them.
fn publish(
    ctx: &Context<'_>,
    opts: &Options,
    servers: &Servers,
    dead: &DeadServers,
    report: &mut Report,
) {
    let covered: Vec<(&str, &[Published])> = match opts.dry_run {
        true => report
            .plan
            .steps
            .iter()
            .map(|s| (s.server.as_str(), s.publish.as_slice()))
            .collect(),
        false => report
            .results
            .iter()
            .map(|r| (r.server.as_str(), r.publish.as_slice()))
            .collect(),
    };
    let mut paths = exports_step::by_server(covered);
    paths.retain(|_, new| !new.is_empty());
    let dead = dead.all();
    let unreachable: Vec<(String, String)> = paths
        .keys()
        .filter_map(|name| Some((name.clone(), dead.get(name)?.clone())))
        .collect();
    paths.retain(|name, _| !dead.contains_key(name));
    // The part's earlier paths and clients are kept by the exports themselves: a run for
    // some nodes keeps the others (see `exports::merge`).
    let part = part_name(&opts.sn);
    // Clients stay node names where the server resolves them, else become their addresses
    // (hosts.ip, else this host's resolver): see `exports` and its `clients` setting.
    let addresses = NodeAddresses {
        resolver: ctx.resolver,
    };
    let outcomes = exports_step::publish_all(
        servers,
        &part,
        ctx.sysroot,
        &paths,
        &addresses,
        opts.dry_run,
    );
    for o in outcomes {
        if o.failed {
            report.exports_failed.push(o.server.clone());
        }
        for c in &o.failed_clients {
            report.failed.push(NodeFailure {
                node: c.client.clone(),
                message: format!("exports on {}: {}", o.server, c.why),
            });
        }
        report.exports.push(o.line);
    }
    for (name, cause) in unreachable {
        if servers.get(&name).is_some_and(|s| s.config.exports.apply) {
            report.exports_failed.push(name.clone());
            report
                .exports
                .push(format!("{name}: exports {}", not_run(&cause)));
        }
    }
}
