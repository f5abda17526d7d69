//! `syncstatelite`: puts this host's Linux statelite nodes' image, statemnt and litetree
//! directories on their external NFS server, checks litefile sources, and exports them.
//!
//! A run computes the nodes' mounts ([`crate::mounts`]), plans as pure data ([`plan`]),
//! executes ([`execute`]) and reports ([`Report`]); the exports go through the merged-exports
//! machinery as this host's statelite part.

pub mod action;
pub mod execute;
pub mod facts;
pub mod plan;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::config::{Config, ServerConfig};
use crate::exports::{self, Part, Published, SnExports};
use crate::mounts::{self, Os};
use crate::remote::{Remote, RemoteError};
use crate::sync::inventory::{NodeFailure, Skipped};
use crate::sync::Sysroot;
use crate::syslog::Syslog;
use crate::xcat::{self, Resolver};

use execute::{Executor, StepResult};
use plan::{Finding, Plan, Target};

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
    let local = crate::host::local_addresses();
    let mut targets = Vec::new();
    for n in &model.nodes {
        let skip = |reason: String| Skipped {
            node: n.node.clone(),
            reason,
        };
        let nfsserver = r
            .attr(&n.node, "noderes", "nfsserver")
            .map_err(xcat::Error::from)?
            .filter(|s| s != "<xcatmaster>");
        let skipped = if n.os == Os::Aix {
            Some(skip("AIX node: syncaixres keeps its resources".into()))
        } else if n.linux.is_none() {
            Some(skip(n.notes.first().cloned().unwrap_or_default()))
        } else if let Some(server) = nfsserver {
            if let Err(e) = crate::host::validate_hostname(&server) {
                report.failed.push(NodeFailure {
                    node: n.node.clone(),
                    message: format!("noderes.nfsserver: {e}"),
                });
                continue;
            }
            let is_here = ctx.config.server(&server).address.is_none()
                && crate::host::resolve(&server)
                    .iter()
                    .any(|a| local.contains(a));
            if is_here {
                Some(skip(format!("nfsserver {server} is this host")))
            } else {
                targets.push(Target { node: n, server });
                None
            }
        } else {
            Some(skip(
                "noderes.nfsserver is not set (served by its SN)".into(),
            ))
        };
        if let Some(s) = skipped {
            say(format!("{}: skipped: {}", s.node, s.reason));
            report.skipped.push(s);
        }
    }
    for f in &report.failed {
        say(format!("{}: FAILED: {}", f.node, f.message));
    }

    let mut servers: BTreeMap<String, ServerConfig> = BTreeMap::new();
    let mut remotes: BTreeMap<String, Remote> = BTreeMap::new();
    for t in &targets {
        if !servers.contains_key(&t.server) {
            let config = ctx.config.server(&t.server);
            remotes.insert(t.server.clone(), Remote::new(&config)?);
            servers.insert(t.server.clone(), config);
        }
    }
    report.plan = plan::plan(&targets, ctx.facts, &|a, b| crate::host::same_host(a, b));
    for f in &report.plan.findings {
        say(finding_line(f));
    }
    let sysroot = ctx.sysroot.clone();
    let local_path = move |p: &str| sysroot.local(p).to_string_lossy().into_owned();
    let executor = Executor {
        remotes: &remotes,
        local: &local_path,
        syslog,
        rsync: opts.rsync.clone(),
        jobs: opts
            .jobs
            .or_else(|| servers.values().map(|s| s.jobs).max())
            .unwrap_or(4),
        owner: format!("syncstatelite on {} (pid {})", opts.sn, std::process::id()),
    };
    if opts.dry_run {
        for line in plan_lines(&report.plan, &executor) {
            say(line);
        }
    } else {
        syslog.flush();
        report.results = executor.run(&report.plan.steps);
        for res in &report.results {
            say(format!(
                "{} {}: {} {}",
                res.server,
                res.label,
                if res.ok { "ok:" } else { "FAILED:" },
                res.detail
            ));
            for f in &res.findings {
                say(format!("warning: {f}"));
            }
        }
        for (step, res) in report.plan.steps.iter().zip(&report.results) {
            if res.ok && (opts.verify || res.changed > 0) {
                if let Some(v) = executor.verify(step) {
                    if opts.verify || !matches!(v, Ok(0)) {
                        say(format!("verify {} {}: {:?}", step.server, step.label, v));
                    }
                    report.verification.push((step.label.clone(), v));
                }
            }
        }
    }
    publish(ctx, opts, &servers, &remotes, &mut report);
    for line in &report.exports {
        say(format!("exports: {line}"));
    }
    report.seconds = start.elapsed().as_secs_f64();
    say(report.summary());
    Ok(report)
}

fn finding_line(f: &Finding) -> String {
    let level = if f.failure { "FAILED" } else { "warning" };
    format!("{}: {level}: {}", f.subject, f.message)
}

/// The plan as text: each step, with the rsync command of each copy.
pub fn plan_lines(plan: &Plan, executor: &Executor<'_>) -> Vec<String> {
    use plan::StepKind;
    let mut out = Vec::new();
    for s in &plan.steps {
        let what = match &s.kind {
            StepKind::Copy {
                source,
                dest,
                delete,
                files,
                lock,
            } => {
                let cmd = executor.rsync_command(
                    &executor.remotes[&s.server],
                    source,
                    dest,
                    *delete,
                    files,
                    false,
                );
                format!("would copy under lock {lock}: {}", cmd.display())
            }
            StepKind::SameFiles { path } => {
                format!("{path}: this host reads the server's own files, nothing to copy")
            }
            StepKind::Mkdir { dirs } => format!("would create when missing: {}", dirs.join(" ")),
            StepKind::Check { dirs } => format!("would check present: {}", dirs.join(" ")),
            StepKind::Litefile { checks } => {
                format!("would check {} litefile source(s)", checks.len())
            }
            StepKind::Refused { reason } => format!("refused: {reason}"),
        };
        out.push(format!("{} {}: {what}", s.server, s.label));
    }
    out
}

/// Publishes this host's statelite part on each server: what it published before (read back
/// from the server) and what the steps just made available. The part is kept apart from the
/// NIM part, whose paths this host's exports hold; these it never exports itself.
fn publish(
    ctx: &Context<'_>,
    opts: &Options,
    servers: &BTreeMap<String, ServerConfig>,
    remotes: &BTreeMap<String, Remote>,
    report: &mut Report,
) {
    let mut fresh: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    if opts.dry_run {
        for s in &report.plan.steps {
            fresh
                .entry(s.server.clone())
                .or_default()
                .extend(s.publish.clone());
        }
    } else {
        for r in &report.results {
            fresh
                .entry(r.server.clone())
                .or_default()
                .extend(r.publish.clone());
        }
    }
    let part = part_name(&opts.sn);
    // Clients as addresses from hosts.ip where the database has them (the server need not
    // resolve the node names), else the names.
    let address = |node: &str| -> String {
        ctx.resolver
            .db()
            .optional_table("hosts")
            .ok()
            .flatten()
            .and_then(|_| ctx.resolver.attr(node, "hosts", "ip").ok().flatten())
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
            .unwrap_or_else(|| node.to_string())
    };
    for (server, mut new) in fresh {
        for p in &mut new {
            for c in &mut p.clients {
                *c = address(c);
            }
        }
        let config = &servers[&server];
        if !config.exports.apply || new.is_empty() {
            continue;
        }
        let remote = &remotes[&server];
        let all = with_previous(remote, &config.exports.parts_dir, &part, new);
        let result = SnExports::read_under(&ctx.sysroot.local("/"))
            .map_err(|e| e.to_string())
            .and_then(|local| {
                exports::publish(remote, &config.exports, &part, &all, &local, opts.dry_run)
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(r) => report.exports.push(r.to_string()),
            Err(e) => {
                report.exports_failed.push(server.clone());
                report.exports.push(format!("{server}: FAILED: {e}"));
            }
        }
    }
}

/// The paths this part published before, with the new ones added (clients merged): a run for
/// some nodes keeps the exports of the others.
fn with_previous(
    remote: &Remote,
    parts_dir: &str,
    part: &str,
    new: Vec<Published>,
) -> Vec<Published> {
    let path = remote.path(&format!("{}/{part}.json", parts_dir.trim_end_matches('/')));
    let previous = remote
        .command(&["cat", &path])
        .run()
        .ok()
        .filter(|o| o.success())
        .and_then(|o| Part::from_json(&o.stdout).ok())
        .map(|p| p.published)
        .unwrap_or_default();
    let mut by_path: BTreeMap<String, Published> = BTreeMap::new();
    for p in previous.into_iter().chain(new) {
        let key = p.path.trim_end_matches('/').to_string();
        match by_path.get_mut(&key) {
            Some(have) => {
                have.clients.extend(p.clients);
                have.clients.sort();
                have.clients.dedup();
                have.role = p.role;
            }
            None => {
                by_path.insert(key, p);
            }
        }
    }
    by_path.into_values().collect()
}
