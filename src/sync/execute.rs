//! Running a plan: each server made ready once, then rsync runs and server-side scripts on
//! one worker pool, every command, status, statistic and stderr logged; then the verification.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::context::Sysroot;
use super::pool;
use super::servers::{Server, Servers};
use super::step::{Done, Need, RemoveEntry, Step, StepKind, StepResult, Verification};
use crate::process::{Cmd, CommandError};
use crate::remote::{connection_failure, Remote};
use crate::rsync::{self, Verdict};
use crate::scripts::{self, FileReport};
use crate::syslog::Syslog;

/// How many differences of one verification are logged (the count is always reported).
const DIFFERENCES_LOGGED: usize = 20;

/// What the executor tells as it goes (for a person at a terminal).
pub enum Progress<'a> {
    Started(&'a Step),
    /// The `n`th of `total` steps finished.
    Finished {
        n: usize,
        total: usize,
        result: &'a StepResult,
    },
}

/// What running a plan gave: every step with its result, in the plan's order, and the
/// servers that could not be reached (their steps were not run).
pub struct Execution<'p> {
    pub done: Vec<Done<'p>>,
    pub down: BTreeMap<String, String>,
}

/// Servers found unreachable during a run, with ssh's words: none is tried again, so a
/// server that hangs costs one timeout, not one per remaining step, verification and
/// exports.
/// Clones share one record, so that every executor of a run knows the same dead servers.
#[derive(Clone, Debug, Default)]
pub struct DeadServers(Arc<Mutex<BTreeMap<String, String>>>);

impl DeadServers {
    /// Marks `server` dead with `cause` (the first cause is kept).
    pub fn mark(&self, server: &str, cause: &str) {
        self.lock()
            .entry(server.to_string())
            .or_insert_with(|| cause.to_string());
    }

    /// Why `server` was found dead, if it was.
    pub fn cause(&self, server: &str) -> Option<String> {
        self.lock().get(server).cloned()
    }

    /// Every dead server and its cause.
    pub fn all(&self) -> BTreeMap<String, String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a step, a verification or the exports of a dead server report instead of running.
pub fn not_run(cause: &str) -> String {
    format!("not run: the server was found unreachable earlier in this run ({cause})")
}

/// Runs steps against their servers.
#[derive(Clone)]
pub struct Executor<'a> {
    pub servers: &'a Servers,
    pub sysroot: &'a Sysroot,
    pub syslog: &'a Syslog,
    /// The local rsync program.
    pub rsync: String,
    pub jobs: usize,
    /// Told of each step as it starts and ends.
    pub progress: Option<&'a (dyn Fn(Progress<'_>) + Sync)>,
    /// Servers found unreachable so far.
    pub dead: DeadServers,
}

impl Executor<'_> {
    /// ssh's words when `e`, a command to `server`, failed because the server could not be
    /// reached or the connection died; the server is then dead for the rest of the run.
    pub fn connection_lost(&self, server: &str, e: &CommandError) -> Option<String> {
        let cause = failure_cause(&self.servers.get(server)?.remote, e)?;
        self.dead.mark(server, &cause);
        Some(cause)
    }

    /// This executor without its progress output, sharing its record of dead servers.
    pub fn without_progress(&self) -> Self {
        Executor {
            progress: None,
            ..self.clone()
        }
    }

    /// Prepares the servers, runs the steps of the reachable ones and fails the others'.
    /// The paging allocations of one server run together, in one remote command.
    pub fn execute<'p>(&self, steps: &'p [Step], temp_dir: &str) -> Execution<'p> {
        let down = self.prepare(steps, temp_dir);
        let finished = AtomicUsize::new(0);
        let total = steps
            .iter()
            .filter(|s| !down.contains_key(&s.server))
            .count();
        let units = units(steps);
        let results = pool::map(&units, self.jobs, |unit| {
            let unit: Vec<&Step> = unit.iter().map(|&i| &steps[i]).collect();
            if down.contains_key(&unit[0].server) {
                return unit
                    .iter()
                    .map(|step| StepResult {
                        error: Some("not run: the server could not be reached".into()),
                        ..StepResult::of(step)
                    })
                    .collect();
            }
            let results = match unit[0].kind {
                StepKind::Allocate { .. } => self.run_allocations(&unit),
                _ => vec![self.run_step(unit[0])],
            };
            if let Some(progress) = self.progress {
                for result in &results {
                    let n = finished.fetch_add(1, Ordering::SeqCst) + 1;
                    progress(Progress::Finished { n, total, result });
                }
            }
            results
        });
        let mut slots: Vec<Option<StepResult>> = vec![None; steps.len()];
        for (unit, results) in units.iter().zip(results) {
            for (&i, result) in unit.iter().zip(results) {
                slots[i] = Some(result);
            }
        }
        let done = steps
            .iter()
            .zip(slots)
            .map(|(step, result)| Done {
                step,
                result: result.unwrap_or_else(|| StepResult::of(step)),
            })
            .collect();
        let mut down = down;
        for (server, cause) in self.dead.all() {
            down.entry(server)
                .or_insert_with(|| format!("connection lost: {cause}"));
        }
        Execution { done, down }
    }

    /// Makes the servers ready, one command each: rsync's scratch directory and the parents
    /// of every destination (rsync creates only the last component). A destination that
    /// several copies of the run go into (a shared_root tree and its nodes' `.client_data`
    /// files) is made here too: copies running at once would race to create it, and rsync
    /// fails the one that loses (`mkdir ... failed: File exists`). A server that cannot be
    /// reached is returned with the reason.
    fn prepare(&self, steps: &[Step], temp_dir: &str) -> BTreeMap<String, String> {
        let mut dirs: BTreeMap<&str, (&Server, BTreeSet<String>)> = BTreeMap::new();
        let mut destinations: BTreeSet<(&str, &str)> = BTreeSet::new();
        let mut down = BTreeMap::new();
        for s in steps {
            let Some(server) = self.servers.get(&s.server) else {
                down.insert(s.server.clone(), "not a server of this run".to_string());
                continue;
            };
            let remote = &server.remote;
            let (_, set) = dirs.entry(&s.server).or_insert((server, BTreeSet::new()));
            set.insert(remote.path(temp_dir));
            if matches!(s.kind, StepKind::Rsync(_)) {
                if let Some((parent, _)) =
                    s.location.rsplit_once('/').filter(|(p, _)| !p.is_empty())
                {
                    set.insert(remote.path(parent));
                }
                if !destinations.insert((&s.server, &s.location)) {
                    set.insert(remote.path(&s.location));
                }
            }
        }
        for (name, (server, set)) in dirs {
            // Found dead already (its shared connection could not start): not tried again.
            if let Some(cause) = self.dead.cause(name) {
                down.insert(
                    name.to_string(),
                    format!("cannot reach the server: {cause}"),
                );
                continue;
            }
            let mut argv = vec!["mkdir".to_string(), "-p".to_string()];
            argv.extend(set);
            let cmd = server.remote.command(&argv);
            self.syslog.info(&format!("{name}: {}", cmd.display()));
            if let Err(e) = cmd.run_checked() {
                // The whole command and stderr go to syslog; the admin gets one line.
                self.syslog.err(&format!("{name}: {e}"));
                let reason = match self.connection_lost(name, &e) {
                    Some(cause) => format!("cannot reach the server: {cause}"),
                    None => format!("cannot prepare the server: {}", short(&e)),
                };
                down.insert(name.to_string(), reason);
            }
        }
        down
    }

    fn run_step(&self, step: &Step) -> StepResult {
        if let Some(progress) = self.progress {
            progress(Progress::Started(step));
        }
        let start = Instant::now();
        let mut r = StepResult::of(step);
        if let Some(cause) = self.dead.cause(&step.server) {
            r.error = Some(not_run(&cause));
            return r;
        }
        match (&step.kind, self.servers.get(&step.server)) {
            (StepKind::Refused { reason }, _) => r.error = Some(reason.clone()),
            (_, None) => r.error = Some("not a server of this run".into()),
            (StepKind::Rsync(job), Some(_)) => {
                self.rsync(step, job, false, &mut r);
                self.check_vanished(step, &mut r);
            }
            (StepKind::Allocate { .. }, Some(server)) => {
                self.allocate(server, &[step], std::slice::from_mut(&mut r))
            }
            (StepKind::Remove { entries }, Some(server)) => {
                self.remove(server, step, entries, &mut r)
            }
        }
        r.ok = r.error.is_none();
        r.seconds = start.elapsed().as_secs_f64();
        r
    }

    /// Runs the paging allocations `steps` of one server together; one result per step.
    fn run_allocations(&self, steps: &[&Step]) -> Vec<StepResult> {
        if let Some(progress) = self.progress {
            for step in steps {
                progress(Progress::Started(step));
            }
        }
        let start = Instant::now();
        let mut results: Vec<StepResult> = steps.iter().map(|s| StepResult::of(s)).collect();
        let name = &steps[0].server;
        let error = match (self.dead.cause(name), self.servers.get(name)) {
            (Some(cause), _) => Some(not_run(&cause)),
            (None, None) => Some("not a server of this run".to_string()),
            (None, Some(server)) => {
                self.allocate(server, steps, &mut results);
                None
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        for r in &mut results {
            if r.error.is_none() {
                r.error = error.clone();
            }
            r.ok = r.error.is_none();
            r.seconds = seconds;
        }
        results
    }

    /// Fails a copy whose sources ([`Step::needs`]) vanished from this host while it ran
    /// (NIM removing a client): the server's copy was kept (see the plan's `P` rules), and
    /// their nodes are not reported synced; the step's other nodes were copied.
    fn check_vanished(&self, step: &Step, r: &mut StepResult) {
        if r.error.is_some() {
            return;
        }
        let gone: Vec<&Need> = step
            .needs
            .iter()
            .filter(|n| self.sysroot.local(&n.path).symlink_metadata().is_err())
            .collect();
        if gone.is_empty() {
            return;
        }
        let paths: Vec<&str> = gone.iter().map(|n| n.path.as_str()).collect();
        r.error = Some(format!(
            "{} vanished on this SN during the copy; the server's copy was kept as it was",
            paths.join(" ")
        ));
        r.nodes
            .retain(|node| gone.iter().any(|n| n.nodes.contains(node)));
        r.vanished_only = true;
    }

    /// Runs one rsync of `step`; with `dry_run` it only compares.
    fn rsync(&self, step: &Step, job: &rsync::Job, dry_run: bool, r: &mut StepResult) {
        let tag = format!("{}: {}", step.server, step.label);
        self.run_rsync(&step.server, &tag, job, dry_run, r)
    }

    /// Runs one rsync job (its source a path of this host, read under the sysroot), logging
    /// under `tag` its command, exit status, statistics and stderr; `r` gets the statistics,
    /// the changes and the warning or error. With `dry_run` it only compares.
    /// A server found dead is not tried; a copy that finds it dead marks it so.
    pub fn run_rsync(
        &self,
        server: &str,
        tag: &str,
        job: &rsync::Job,
        dry_run: bool,
        r: &mut StepResult,
    ) {
        if let Some(cause) = self.dead.cause(server) {
            r.error = Some(not_run(&cause));
            return;
        }
        let mut job = job.clone();
        job.source = self.sysroot.local(&job.source).display().to_string();
        let lists = match job.write_lists() {
            Ok(f) => f,
            Err(e) => {
                r.error = Some(format!("cannot write the rsync filter and file lists: {e}"));
                return;
            }
        };
        let cmd = job.command(&self.rsync, lists.lists(), dry_run);
        self.syslog.info(&format!("{tag}: {}", cmd.display()));
        let out = match cmd.run() {
            Ok(out) => out,
            Err(e) => {
                self.syslog.err(&format!("{tag}: {e}"));
                r.error = Some(e.to_string());
                return;
            }
        };
        let code = out.code_or_signal();
        let (stats, changes) = rsync::parse_output(&out.stdout);
        r.stats = stats;
        let changes: Vec<&String> = changes
            .iter()
            .filter(|c| !rsync::is_dir_time_only(c))
            .collect();
        r.changes = changes.len();
        if dry_run {
            r.items = changes.iter().map(|c| item_name(c)).collect();
            // What differs, rsync's own words, for whoever reads a failed verification.
            for c in changes.iter().take(DIFFERENCES_LOGGED) {
                self.syslog.info(&format!("{tag}: differs: {c}"));
            }
        }
        self.syslog.info(&format!(
            "{tag}: rsync exit {code} ({}); files {} transferred {} deleted {} bytes sent {} received {}",
            rsync::meaning(code),
            r.stats.files,
            r.stats.transferred,
            r.stats.deleted,
            r.stats.bytes_sent,
            r.stats.bytes_received
        ));
        if !out.stderr.trim().is_empty() {
            self.syslog.log(
                if code == 0 {
                    crate::syslog::Level::Warning
                } else {
                    crate::syslog::Level::Err
                },
                &format!("{tag}: rsync stderr:\n{}", out.stderr.trim_end()),
            );
        }
        match rsync::verdict(code) {
            Verdict::Ok => {}
            Verdict::Vanished => {
                r.warning = Some(format!(
                    "some source files vanished while copying (rsync exit {code})"
                ))
            }
            Verdict::Failed => match self.servers.get(server).map_or_else(
                || connection_failure(&out.stderr),
                |s| s.remote.connection_lost(Some(code), &out.stderr),
            ) {
                Some(cause) => {
                    self.dead.mark(server, &cause);
                    r.error = Some(format!("connection lost: {cause} (rsync exit {code})"));
                }
                None => {
                    r.error = Some(format!(
                        "rsync exited with status {code} ({}){}",
                        rsync::meaning(code),
                        stderr_tail(&out.stderr)
                    ))
                }
            },
        }
    }

    /// Creates missing paging files on the server as sparse files of the SN's sizes: the
    /// paging steps `steps` of `server` in one run of the allocation script, each step's
    /// files a resource of their own, so that each outcome goes to its own step's result.
    fn allocate(&self, server: &Server, steps: &[&Step], results: &mut [StepResult]) {
        let remote = &server.remote;
        let mut resources = Vec::new();
        let mut asked = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let StepKind::Allocate { dirs } = &step.kind else {
                continue;
            };
            match wanted_files(self.sysroot, remote, dirs) {
                Ok(files) => {
                    resources.push(files);
                    asked.push(i);
                }
                Err(e) => results[i].error = Some(e),
            }
        }
        if asked.is_empty() {
            return;
        }
        let tag = format!("{}: paging", server.name);
        let names: Vec<String> = asked
            .iter()
            .enumerate()
            .map(|(n, &i)| format!("resource {n} is {}", steps[i].label))
            .collect();
        let cmd = remote
            .script(scripts::ALLOCATE, &[] as &[&str])
            .stdin_bytes(scripts::allocation_input(resources));
        self.syslog
            .info(&format!("{tag}: {} ({})", cmd.display(), names.join(", ")));
        let out = match cmd.run() {
            Ok(out) => out,
            Err(e) => {
                self.syslog.err(&format!("{tag}: {e}"));
                for &i in &asked {
                    results[i].error = Some(short(&e));
                }
                return;
            }
        };
        for line in out.stdout.lines() {
            self.syslog.info(&format!("{tag}: {line}"));
        }
        let lost = match out.success() {
            true => None,
            false => {
                let e = cmd.failed(out.clone());
                self.syslog.err(&format!("{tag}: {e}"));
                let lost = remote.connection_lost(out.code, &out.stderr);
                if let Some(cause) = &lost {
                    self.dead.mark(&server.name, cause);
                }
                Some((lost, short(&e)))
            }
        };
        let reports = scripts::allocation_reports(&out.stdout, asked.len());
        for (&i, report) in asked.iter().zip(reports) {
            let r = &mut results[i];
            match (report, &lost) {
                (Some(report), _) => file_report(report, &out.stderr, r),
                (None, Some((Some(cause), _))) => {
                    r.error = Some(format!("connection lost: {cause}"))
                }
                (None, Some((None, failure))) => r.error = Some(failure.clone()),
                (None, None) => {
                    r.error = Some(format!(
                        "the server's allocation script did not finish this resource{}",
                        stderr_tail(&out.stderr)
                    ))
                }
            }
        }
    }

    fn remove(&self, server: &Server, step: &Step, entries: &[RemoveEntry], r: &mut StepResult) {
        let remote = &server.remote;
        let mut input = String::new();
        for e in entries {
            match e {
                RemoveEntry::Dir(d) => input.push_str(&format!("dir {}\n", remote.path(d))),
                RemoveEntry::Files { dir, suffix } => {
                    input.push_str(&format!("files {} {suffix}\n", remote.path(dir)))
                }
            }
        }
        let cmd = remote
            .script(scripts::REMOVE, &[] as &[&str])
            .stdin_bytes(input);
        self.remote_script(step, &cmd, r);
    }

    /// Runs one of our server-side scripts; it reports `created`/`removed`/`differs`/`error`
    /// lines, one per file.
    fn remote_script(&self, step: &Step, cmd: &Cmd, r: &mut StepResult) {
        if !self.servers.contains_key(&step.server) {
            r.error = Some("not a server of this run".into());
            return;
        }
        let tag = format!("{}: {}", step.server, step.label);
        self.syslog.info(&format!("{tag}: {}", cmd.display()));
        let out = match cmd.run_checked() {
            Ok(o) => o,
            Err(e) => {
                self.syslog.err(&format!("{tag}: {e}"));
                r.error = Some(match self.connection_lost(&step.server, &e) {
                    Some(cause) => format!("connection lost: {cause}"),
                    None => short(&e),
                });
                return;
            }
        };
        for line in out.stdout.lines() {
            self.syslog.info(&format!("{tag}: {line}"));
        }
        file_report(FileReport::parse(&out.stdout), &out.stderr, r);
    }

    /// Compares the synced scopes again with `rsync -n`; steps that changed nothing were
    /// themselves a full comparison and are counted as zero without another run, unless
    /// `always` asks for one.
    pub fn verify(&self, done: &[Done<'_>], always: bool) -> Vec<Verification> {
        let todo: Vec<&Done<'_>> = done
            .iter()
            .filter(|d| matches!(d.step.kind, StepKind::Rsync(_)) && d.result.ok)
            .collect();
        pool::map(&todo, self.jobs, |d| {
            if let Some(cause) = self.dead.cause(&d.step.server) {
                Verification {
                    server: d.step.server.clone(),
                    label: d.step.label.clone(),
                    differences: None,
                    error: Some(not_run(&cause)),
                    items: Vec::new(),
                }
            } else if d.result.changes == 0 && !always {
                Verification {
                    server: d.step.server.clone(),
                    label: d.step.label.clone(),
                    differences: Some(0),
                    error: None,
                    items: Vec::new(),
                }
            } else {
                self.compare(d.step)
            }
        })
    }

    fn compare(&self, step: &Step) -> Verification {
        let StepKind::Rsync(job) = &step.kind else {
            unreachable!("only rsync steps are compared")
        };
        let mut r = StepResult::default();
        self.rsync(step, job, true, &mut r);
        Verification {
            server: step.server.clone(),
            label: step.label.clone(),
            differences: r.error.is_none().then_some(r.changes),
            error: r.error,
            items: r.items,
        }
    }
}

/// The plan's steps in units of work for the pool, as step indices: each step alone, but the
/// paging allocations of one server together (at the place of its first).
fn units(steps: &[Step]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut allocations: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        if !matches!(step.kind, StepKind::Allocate { .. }) {
            units.push(vec![i]);
            continue;
        }
        match allocations.get(step.server.as_str()) {
            Some(&unit) => units[unit].push(i),
            None => {
                allocations.insert(&step.server, units.len());
                units.push(vec![i]);
            }
        }
    }
    units
}

/// The paging files below `dirs` on this host (read under `sysroot`), as the allocation
/// script wants them on the server.
fn wanted_files(
    sysroot: &Sysroot,
    remote: &Remote,
    dirs: &[String],
) -> Result<Vec<scripts::Allocation>, String> {
    use std::os::unix::fs::MetadataExt;
    let mut wanted = Vec::new();
    for dir in dirs {
        let files =
            local_files(&sysroot.local(dir)).map_err(|e| format!("cannot list {dir}: {e}"))?;
        for (rel, meta) in files {
            wanted.push(scripts::Allocation {
                size: meta.len(),
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                path: remote.path(&format!("{dir}/{rel}")),
            });
        }
    }
    Ok(wanted)
}

/// A server-side script's per-file report (`stderr` its standard error) in a step's result:
/// the files changed, a warning for paging files left as they were, an error for failures.
fn file_report(report: FileReport, stderr: &str, r: &mut StepResult) {
    let FileReport {
        changed,
        differs,
        errors,
    } = report;
    r.changes += changed;
    if !differs.is_empty() {
        r.warning = Some(format!(
            "{} paging file(s) on the server have another size and were left as they are (a node may be paging to them): {}",
            differs.len(),
            differs.join(", ")
        ));
    }
    if !errors.is_empty() {
        r.error = Some(format!(
            "failed on the server: {}{}",
            errors.join(", "),
            stderr_tail(stderr)
        ));
    }
}

/// The item an itemized change (`%i %n%L`) names: after the flags, without a link target.
fn item_name(change: &str) -> String {
    let name = change.split_once(' ').map_or("", |(_, n)| n).trim_start();
    name.split(" -> ").next().unwrap_or(name).to_string()
}

/// Regular files below a directory, as paths relative to it.
pub(crate) fn local_files(
    dir: &std::path::Path,
) -> std::io::Result<Vec<(String, std::fs::Metadata)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push((entry.path(), rel));
            } else if meta.is_file() {
                out.push((rel, meta));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// ssh's words when a command to `remote` failed because the server could not be reached
/// or the connection died (see [`Remote::connection_lost`]).
pub fn failure_cause(remote: &Remote, e: &CommandError) -> Option<String> {
    match e {
        CommandError::Failed { stderr, code, .. } => remote.connection_lost(*code, stderr),
        CommandError::Spawn { .. } => None,
    }
}

/// A failed command in one line without the command itself (which syslog has): its status
/// and the last lines of its stderr.
pub fn short(e: &CommandError) -> String {
    match e {
        CommandError::Spawn { source, .. } => format!("cannot start the command: {source}"),
        CommandError::Failed { code, stderr, .. } => {
            let status = match code {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            };
            format!("{status}{}", stderr_tail(stderr))
        }
    }
}

/// The last lines of a child's stderr, for a one-line summary (the full text is in syslog).
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(3)..];
    format!(": {}", tail.join(" | "))
}

#[cfg(test)]
impl<'a> Executor<'a> {
    /// The engine's unit tests' executor: the local rsync, no progress output, no server
    /// found dead yet.
    pub(crate) fn for_tests(
        servers: &'a Servers,
        sysroot: &'a Sysroot,
        syslog: &'a Syslog,
        jobs: usize,
    ) -> Self {
        Executor {
            servers,
            sysroot,
            syslog,
            rsync: "rsync".into(),
            jobs,
            progress: None,
            dead: DeadServers::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::exports::{Published, Role};
    use crate::remote::Remote;

    /// An ssh that lets the first command through (the preparation) and then answers as a
    /// server that stopped answering does; it counts its calls.
    fn dying_ssh(dir: &std::path::Path) -> String {
        crate::remote::fake_ssh(
            dir,
            "echo x >> {calls}\nif [ \"$(wc -l < {calls})\" -eq 1 ]; then exit 0; fi\n\
             echo 'Timeout, server nfs1 not responding.' >&2\nexit 255\n",
        )
    }

    /// An ssh that runs the command line it is given here, counting its calls.
    fn local_ssh(dir: &std::path::Path) -> String {
        crate::remote::fake_ssh(
            dir,
            "for line; do :; done\necho call >> {calls}\nexec sh -c \"$line\"\n",
        )
    }

    #[test]
    fn a_vanished_source_fails_its_nodes_only_and_the_others_are_published() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = Sysroot::new(dir.path());
        let sr = "/install/nim/shared_root/sr1";
        let hosts = |n: &str| format!("{sr}/etc/.client_data/hosts.{n}");
        std::fs::create_dir_all(sysroot.local(&format!("{sr}/etc/.client_data"))).unwrap();
        std::fs::write(sysroot.local(&hosts("cn1")), "").unwrap();
        std::fs::write(sysroot.local(&hosts("cn3")), "").unwrap();
        let config = Config::default().server("nfs1");
        let remote = Remote::with_rsh(&config, Some("false")).unwrap();
        let nodes: Vec<String> = ["cn1", "cn2", "cn3"].map(String::from).to_vec();
        let mut step = Step::spot_on_nfs1(&remote, "sr1");
        step.nodes = nodes.clone();
        step.covers = vec![Published {
            path: sr.into(),
            role: Role::SharedRoot,
            clients: nodes.clone(),
        }];
        step.needs = std::iter::once(Need {
            path: sr.into(),
            nodes: nodes.clone(),
        })
        .chain(nodes.iter().map(|n| Need {
            path: hosts(n),
            nodes: vec![n.clone()],
        }))
        .collect();
        let servers = Servers::new();
        let syslog = Syslog::disabled();
        let executor = Executor::for_tests(&servers, &sysroot, &syslog, 1);
        let mut r = StepResult::of(&step);
        executor.check_vanished(&step, &mut r);
        assert_eq!(
            r.error.as_deref(),
            Some(
                format!(
                    "{} vanished on this SN during the copy; the server's copy was kept as it was",
                    hosts("cn2")
                )
                .as_str()
            )
        );
        assert_eq!(
            (r.nodes.as_slice(), r.vanished_only),
            (&["cn2".to_string()][..], true)
        );
        let done = [Done {
            step: &step,
            result: r,
        }];
        let published = crate::sync::exports_step::published(&done);
        assert_eq!(published["nfs1"].len(), 1);
        assert_eq!(published["nfs1"][0].clients, ["cn1", "cn3"]);

        // The whole tree gone: every node failed, nothing published.
        std::fs::remove_dir_all(sysroot.local(sr)).unwrap();
        let mut r = StepResult::of(&step);
        executor.check_vanished(&step, &mut r);
        assert_eq!(r.nodes, nodes);
        let done = [Done {
            step: &step,
            result: r,
        }];
        assert!(crate::sync::exports_step::published(&done).is_empty());

        // A copy that failed otherwise is not narrowed.
        let mut r = StepResult::of(&step);
        r.error = Some("rsync failed".into());
        executor.check_vanished(&step, &mut r);
        assert_eq!((r.nodes, r.vanished_only), (nodes, false));
    }

    #[test]
    fn a_destination_two_copies_go_into_is_made_beforehand() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[server.nfs1]\ntransport = \"local\"\nlocal_path = \"{}\"\n",
            dir.path().display()
        );
        let config = Config::parse(&text, std::path::Path::new("t"))
            .unwrap()
            .server("nfs1");
        let remote = Remote::new(&config).unwrap();
        let servers: Servers = [("nfs1".to_string(), Server::nfs1(remote.clone(), config))].into();
        let sysroot = Sysroot::new(dir.path());
        let syslog = Syslog::disabled();
        let executor = Executor::for_tests(&servers, &sysroot, &syslog, 1);
        let mut files = Step::spot_on_nfs1(&remote, "sr");
        files.label = "client_data sr".into();
        let steps = [
            Step::spot_on_nfs1(&remote, "s1"),
            Step::spot_on_nfs1(&remote, "sr"),
            files,
        ];
        let down = executor.prepare(&steps, "/install/.xcat-extnfs.tmp");
        assert!(down.is_empty(), "{down:?}");
        let on_server = |p: &str| dir.path().join(p);
        assert!(on_server("install/nim/spot/sr").is_dir());
        // One copy into a directory: rsync makes it, as its parent is there.
        assert!(on_server("install/nim/spot").is_dir());
        assert!(!on_server("install/nim/spot/s1").exists());
    }

    #[test]
    fn a_servers_paging_allocations_run_in_one_command_each_reported_apart() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let rsh = local_ssh(dir);
        let config = Config::default().server("nfs1");
        let remote = Remote::with_rsh(&config, Some(&rsh)).unwrap();
        let server = Server::nfs1(remote.clone(), config);
        let servers: Servers = [("nfs1".to_string(), server)].into();
        // The server's paths are below `srv`, the SN's the same paths below `sn`.
        let srv = dir.join("srv").display().to_string();
        let sysroot = Sysroot::new(&dir.join("sn"));
        let paging = |resource: &str, node: &str| {
            let d = format!("{srv}/{resource}/{node}");
            let local = sysroot.local(&d);
            std::fs::create_dir_all(&local).unwrap();
            let f = local.join("paging");
            std::fs::write(&f, vec![0; 4096]).unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
            d
        };
        let step = |resource: &str, dirs: Vec<String>, nodes: &[&str]| Step {
            server: "nfs1".into(),
            role: Role::Paging,
            resource: resource.into(),
            location: format!("{srv}/{resource}"),
            label: format!("paging {resource}"),
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            kind: StepKind::Allocate { dirs },
            covers: Vec::new(),
            needs: Vec::new(),
        };
        let steps = vec![
            step(
                "p1",
                vec![paging("p1", "cn1"), paging("p1", "cn2")],
                &["cn1", "cn2"],
            ),
            step("dump", Vec::new(), &["cn9"]),
            step("p2", vec![paging("p2", "cn3")], &["cn3"]),
            step("p3", vec![paging("p3", "cn4")], &["cn4"]),
        ];
        let steps = {
            let mut steps = steps;
            steps[1].kind = StepKind::Refused {
                reason: "not this one".into(),
            };
            steps
        };
        // p2's directory cannot be made on the server: a file is in its way.
        std::fs::create_dir_all(format!("{srv}/p2")).unwrap();
        std::fs::write(format!("{srv}/p2/cn3"), b"").unwrap();
        assert_eq!(units(&steps), [vec![0, 2, 3], vec![1]]);
        let syslog = Syslog::disabled();
        let executor = Executor::for_tests(&servers, &sysroot, &syslog, 2);
        let ran = executor.execute(&steps, &format!("{srv}/.tmp"));
        let results: Vec<(&str, bool, usize, Option<&str>)> = ran
            .done
            .iter()
            .map(|d| {
                let r = &d.result;
                (r.label.as_str(), r.ok, r.changes, r.error.as_deref())
            })
            .collect();
        let blocked = format!("failed on the server: {srv}/p2/cn3/paging");
        assert_eq!(
            results,
            [
                ("paging p1", true, 2, None),
                ("paging dump", false, 0, Some("not this one")),
                ("paging p2", false, 0, Some(blocked.as_str())),
                ("paging p3", true, 1, None),
            ]
        );
        assert_eq!(
            std::fs::metadata(format!("{srv}/p3/cn4/paging"))
                .unwrap()
                .len(),
            4096
        );
        // The preparation and one allocation.
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
        assert_eq!(calls.lines().count(), 2, "{calls}");
        assert_eq!(remote.commands_run(), 2);
    }

    #[test]
    fn a_server_found_dead_is_not_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let rsh = dying_ssh(dir.path());
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let config = Config::default().server("nfs1");
        let remote = Remote::with_rsh(&config, Some(&rsh)).unwrap();
        let server = Server::nfs1(remote.clone(), config);
        let servers: Servers = [("nfs1".to_string(), server)].into();
        let steps: Vec<Step> = (1..=3)
            .map(|i| Step::spot_on_nfs1(&remote, &format!("spot{i}")))
            .collect();
        let sysroot = Sysroot::new(dir.path());
        let syslog = Syslog::disabled();
        let executor = Executor::for_tests(&servers, &sysroot, &syslog, 1);
        let ran = executor.execute(&steps, "/install/.xcat-extnfs.tmp");
        let errors: Vec<&str> = ran
            .done
            .iter()
            .map(|d| d.result.error.as_deref().unwrap())
            .collect();
        assert!(
            errors[0].starts_with("connection lost: Timeout, server nfs1 not responding."),
            "{errors:?}"
        );
        for e in &errors[1..] {
            assert!(
                e.starts_with("not run: the server was found unreachable"),
                "{e}"
            );
        }
        assert!(ran.down["nfs1"].contains("Timeout, server nfs1 not responding."));
        let done: Vec<Done<'_>> = ran
            .done
            .into_iter()
            .map(|mut d| {
                d.result.ok = true;
                d
            })
            .collect();
        let v = executor.verify(&done, true);
        assert!(v
            .iter()
            .all(|v| v.error.as_deref().unwrap().starts_with("not run")));
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(
            calls.lines().count(),
            2,
            "one preparation, one failed copy, then nothing"
        );
    }
}
