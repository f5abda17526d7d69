//! `syncaixres`: keeps AIX diskless images (SPOT, root or shared_root with `.client_data`,
//! paging, dump) of this SN's nodes on their external NFS server, and removes them on request.
//!
//! A run gathers ([`inventory`]), completes the mount redirection ([`redirect`]), plans as
//! pure data ([`plan`]), executes ([`execute`]) and reports ([`report`]).

pub mod execute;
mod exports_step;
pub mod inventory;
pub mod plan;
pub mod redirect;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::{Config, ServerConfig};
use crate::nim::Nim;
use crate::remote::{Remote, RemoteError};
use crate::syslog::Syslog;
use crate::xcat::{self, Resolver};

use plan::{DirState, Facts};
use report::Report;

/// What xCAT asked for (`ACTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `diskless`: bring the server up to date.
    Sync,
    /// `remove`: delete the nodes' own data from the server.
    Remove,
}

/// An error that stops the run before any change (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Xcat(#[from] xcat::Error),
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

impl From<xcat::TableError> for SyncError {
    fn from(e: xcat::TableError) -> SyncError {
        SyncError::Xcat(e.into())
    }
}

/// The directory that stands for `/` when reading the SN's files (normally `/` itself).
#[derive(Clone, Debug)]
pub struct Sysroot(PathBuf);

impl Sysroot {
    pub fn new(root: &Path) -> Sysroot {
        Sysroot(root.to_path_buf())
    }

    /// The local path of an absolute path on the SN.
    pub fn local(&self, path: &str) -> PathBuf {
        self.0.join(path.trim_start_matches('/'))
    }
}

impl Facts for Sysroot {
    fn dir(&self, path: &str) -> DirState {
        match std::fs::read_dir(self.local(path)) {
            Err(_) => DirState::Missing,
            Ok(mut entries) => {
                if entries.next().is_some() {
                    DirState::Full
                } else {
                    DirState::Empty
                }
            }
        }
    }

    fn file(&self, path: &str) -> bool {
        self.local(path).is_file()
    }
}

/// Where a run reads from.
pub struct Context<'a> {
    pub resolver: &'a Resolver<'a>,
    pub nim: &'a Nim,
    pub config: &'a Config,
    pub sysroot: &'a Sysroot,
}

/// This host's name as xCAT knows its SNs (the short host name), which names its part of the
/// server's exports.
pub fn this_host() -> String {
    crate::process::Cmd::new("hostname")
        .run_checked()
        .ok()
        .map(|o| o.stdout.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| inventory::short_name(&h).to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// How a run is asked to behave.
#[derive(Clone, Debug)]
pub struct Options {
    pub action: Action,
    pub nodes: Vec<String>,
    pub dry_run: bool,
    /// Compare every synced scope again, also those the sync found unchanged.
    pub verify: bool,
    pub jobs: Option<usize>,
    /// The local rsync program.
    pub rsync: String,
    /// Progress lines on stderr.
    pub progress: bool,
    /// This SN's name, for its part of the server's exports.
    pub sn: String,
}

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
    let inv = inventory::gather(ctx, &opts.nodes, removal)?;
    let mut report = Report {
        action: if removal { "remove" } else { "diskless" }.into(),
        dry_run: opts.dry_run,
        nodes: opts.nodes.clone(),
        skipped: inv.skipped.clone(),
        failed: inv.failed.clone(),
        ..Report::default()
    };
    for s in &inv.skipped {
        say(format!("{}: skipped: {}", s.node, s.reason));
    }
    if !removal {
        let tftpdir = db.tftpdir()?;
        redirect_mounts(ctx, opts, &tftpdir, &inv, &mut report, &mut say);
    }
    let failed: std::collections::BTreeSet<String> =
        report.failed.iter().map(|f| f.node.clone()).collect();
    let targets: Vec<inventory::Target> = inv
        .targets
        .into_iter()
        .filter(|t| !failed.contains(&t.node))
        .collect();
    report.nim_names = targets
        .iter()
        .map(|t| (t.node.clone(), t.nim.clone()))
        .collect();

    let mut servers: BTreeMap<String, ServerConfig> = BTreeMap::new();
    let mut remotes: BTreeMap<String, Remote> = BTreeMap::new();
    for t in &targets {
        if !servers.contains_key(&t.server) {
            let config = ctx.config.server(&t.server);
            remotes.insert(t.server.clone(), Remote::new(&config)?);
            servers.insert(t.server.clone(), config);
        }
    }
    report.plan = if removal {
        plan::plan_remove(&targets, &servers)
    } else {
        plan::plan_sync(&targets, ctx.sysroot, &servers, &remotes, &installdir)
    };

    if opts.dry_run {
        for line in report::plan_lines(&report.plan, &opts.rsync, ctx.sysroot) {
            say(line);
        }
    } else {
        let executor = execute::Executor {
            remotes: &remotes,
            sysroot: ctx.sysroot,
            syslog,
            rsync: opts.rsync.clone(),
            jobs: opts
                .jobs
                .or_else(|| servers.values().map(|s| s.jobs).max())
                .unwrap_or(4),
            progress: opts.progress,
        };
        syslog.flush();
        let (results, down) = execute_steps(&executor, &report.plan.steps, &installdir);
        for (server, reason) in &down {
            say(format!("{server}: FAILED: {reason}"));
        }
        report.results = results;
        for r in &report.results {
            say(report::result_line(r));
        }
        if !removal {
            verify(&executor, opts.verify, &mut report, &mut say);
        }
        syslog.flush();
        publish_exports(ctx, opts, &servers, &remotes, &mut report);
        for line in &report.exports {
            say(format!("exports: {line}"));
        }
    }
    for line in report.failure_lines() {
        say(line);
    }
    report.seconds = start.elapsed().as_secs_f64();
    say(report.summary());
    Ok(report)
}

/// Plans and (unless `--dry-run`) applies the redirect edits; nodes whose files cannot be
/// edited fail.
fn redirect_mounts(
    ctx: &Context<'_>,
    opts: &Options,
    tftpdir: &str,
    inv: &inventory::Inventory,
    report: &mut Report,
    say: &mut dyn FnMut(String),
) {
    let (edits, failed) = redirect::plan(ctx.sysroot, tftpdir, &inv.targets, &inv.servers);
    report.failed.extend(failed);
    for e in &edits {
        if opts.dry_run {
            say(format!("{}: would edit {} ({})", e.node, e.path, e.what));
        } else if let Err(err) = redirect::apply(ctx.sysroot, e) {
            report.failed.push(inventory::NodeFailure {
                node: e.node.clone(),
                message: format!("cannot write {}: {err}", e.path),
            });
        } else {
            say(format!("{}: edited {} ({})", e.node, e.path, e.what));
        }
    }
    report.edits = edits;
}

/// Prepares the servers, runs the steps of the reachable ones and fails the others' steps;
/// the results come back in step order, with the servers that could not be reached.
fn execute_steps(
    executor: &execute::Executor<'_>,
    steps: &[plan::Step],
    installdir: &str,
) -> (Vec<execute::StepResult>, BTreeMap<String, String>) {
    let down = executor.prepare(steps, &plan::temp_dir(installdir));
    let ready: Vec<plan::Step> = steps
        .iter()
        .filter(|s| !down.contains_key(&s.server))
        .cloned()
        .collect();
    let mut ran = executor.run(&ready).into_iter();
    let results = steps
        .iter()
        .map(|s| match down.get(&s.server) {
            Some(_) => execute::StepResult {
                server: s.server.clone(),
                label: s.label.clone(),
                kind: s.kind.kind(),
                nodes: s.nodes.clone(),
                error: Some("not run: the server could not be reached".into()),
                ..Default::default()
            },
            None => ran.next().expect("one result per step that ran"),
        })
        .collect();
    (results, down)
}

/// Compares the synced scopes again; each scope is reported with `--verify`, otherwise only
/// those left different, and a count.
fn verify(
    executor: &execute::Executor<'_>,
    always: bool,
    report: &mut Report,
    say: &mut dyn FnMut(String),
) {
    report.verification = executor.verify(&report.plan.steps, &report.results, always);
    for v in &report.verification {
        if always || v.differences != Some(0) {
            say(report::verification_line(v));
        }
    }
    if !always && !report.verification.is_empty() {
        let clean = report
            .verification
            .iter()
            .filter(|v| v.differences == Some(0))
            .count();
        say(format!(
            "verified: {clean} of {} synced scope(s) match the server",
            report.verification.len()
        ));
    }
}

/// Publishes this SN's exports part to every server that applies exports.
fn publish_exports(
    ctx: &Context<'_>,
    opts: &Options,
    servers: &BTreeMap<String, ServerConfig>,
    remotes: &BTreeMap<String, Remote>,
    report: &mut Report,
) {
    for (server, paths) in exports_step::published(report) {
        let config = &servers[&server];
        if !config.exports.apply {
            continue;
        }
        match exports_step::publish(&remotes[&server], config, &opts.sn, ctx.sysroot, &paths) {
            Ok(text) => report.exports.push(text),
            Err(text) => {
                report.exports_failed.push(server.clone());
                report.exports.push(text)
            }
        }
    }
}
