//! Carrying out a plan: rsync under the server's per-image lock, the statemnt and litetree
//! scripts, results per step. Thin on purpose: steps in, results out, nothing decided here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use super::plan::{Step, StepKind};
use crate::exports::{Published, ServerLock};
use crate::process::Cmd;
use crate::remote::Remote;
use crate::rsync::{self, Verdict};
use crate::syslog::Syslog;

/// The server-side script (`mkdir`, `exist`).
pub const SERVER_SCRIPT: &str = include_str!("server.sh");

/// Seconds to wait for another run's copy of the same image.
const LOCK_WAIT: u64 = 3600;

/// What one step did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StepResult {
    pub server: String,
    pub label: String,
    pub nodes: Vec<String>,
    pub ok: bool,
    /// Files and directories changed on the server (rsync's itemised changes, created dirs).
    pub changed: u64,
    pub detail: String,
    /// Lines to report (litefile entries found nowhere, ...).
    pub findings: Vec<String>,
    /// What may be exported now.
    pub publish: Vec<Published>,
    pub seconds: f64,
}

/// Runs steps against their servers.
pub struct Executor<'a> {
    pub remotes: &'a std::collections::BTreeMap<String, Remote>,
    /// Local path of an absolute path on this host.
    pub local: &'a (dyn Fn(&str) -> String + Sync),
    pub syslog: &'a Syslog,
    pub rsync: String,
    pub jobs: usize,
    /// Who holds the lock, for another run's message.
    pub owner: String,
}

impl Executor<'_> {
    /// Runs the steps, `jobs` at a time; results in step order. The litefile checks run
    /// last: they look for files in the litetree directories the other steps copy.
    pub fn run(&self, steps: &[Step]) -> Vec<StepResult> {
        let results: Mutex<Vec<Option<StepResult>>> = Mutex::new(vec![None; steps.len()]);
        let is_check = |s: &Step| matches!(s.kind, StepKind::Litefile { .. });
        for last in [false, true] {
            let phase: Vec<usize> = (0..steps.len())
                .filter(|&i| is_check(&steps[i]) == last)
                .collect();
            let next = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..self.jobs.max(1).min(phase.len()) {
                    scope.spawn(|| loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&i) = phase.get(n) else { break };
                        let r = self.step(&steps[i]);
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    });
                }
            });
        }
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.expect("every step ran"))
            .collect()
    }

    fn step(&self, step: &Step) -> StepResult {
        let start = std::time::Instant::now();
        let mut r = StepResult {
            server: step.server.clone(),
            label: step.label.clone(),
            nodes: step.nodes.clone(),
            publish: step.publish.clone(),
            ..StepResult::default()
        };
        let remote = &self.remotes[&step.server];
        let outcome = match &step.kind {
            StepKind::Refused { reason } => Err(format!("refused: {reason}")),
            StepKind::SameFiles { path } => Ok(format!(
                "{path}: this host reads the server's own files, nothing to copy"
            )),
            StepKind::Copy {
                source,
                dest,
                delete,
                files,
                lock,
            } => self.copy(remote, source, dest, *delete, files, lock, false, &mut r),
            StepKind::Mkdir { dirs } => self.mkdir(remote, dirs, &mut r),
            StepKind::Check { dirs } => self.check(remote, dirs, &mut r),
            StepKind::Litefile { checks } => {
                let all: Vec<String> = checks.iter().flat_map(|c| c.candidates.clone()).collect();
                self.exist(remote, &all).map(|found| {
                    let mut missing = std::collections::BTreeMap::<(String, String, String), usize>::new();
                    for c in checks {
                        if !c.candidates.iter().any(|p| found.contains(p)) {
                            *missing
                                .entry((c.image.clone(), c.file.clone(), c.options.clone()))
                                .or_default() += 1;
                        }
                    }
                    for ((image, file, options), count) in &missing {
                        r.findings.push(format!(
                            "image {image}: litefile {file} ({options}) is in no litetree directory on {}: {count} node(s) get the image's .default copy",
                            step.server
                        ));
                    }
                    format!("{} entr(ies) checked, {} found nowhere", checks.len(), missing.len())
                })
            }
        };
        match outcome {
            Ok(detail) => {
                r.ok = true;
                r.detail = detail;
            }
            Err(e) => {
                r.detail = e;
                if !matches!(step.kind, StepKind::Check { .. }) {
                    r.publish.clear();
                }
            }
        }
        r.seconds = start.elapsed().as_secs_f64();
        self.syslog.info(&format!(
            "{} {}: {} {}",
            r.server,
            r.label,
            if r.ok { "ok" } else { "FAILED" },
            r.detail
        ));
        r
    }

    /// The rsync command of a copy (`-n` with `dry_run`).
    pub fn rsync_command(
        &self,
        remote: &Remote,
        source: &str,
        dest: &str,
        delete: bool,
        files: &[String],
        dry_run: bool,
    ) -> Cmd {
        let mut cmd = Cmd::new(&self.rsync).args([
            "-a",
            "-H",
            "-A",
            "-X",
            "-S",
            "--numeric-ids",
            "-s",
            "--stats",
            "--out-format=%i %n%L",
        ]);
        if dry_run {
            cmd = cmd.arg("-n");
        }
        if delete {
            cmd = cmd.arg("--delete");
        }
        if let Some(rsh) = remote.rsync_rsh() {
            cmd = cmd.arg(format!("--rsh={rsh}"));
        }
        for f in files {
            cmd = cmd.arg(format!("--include=/{f}"));
        }
        if !files.is_empty() {
            cmd = cmd.arg("--exclude=*");
        }
        cmd.arg(format!("{}/", (self.local)(source).trim_end_matches('/')))
            .arg(format!(
                "{}/",
                remote.rsync_target(dest).trim_end_matches('/')
            ))
    }

    #[allow(clippy::too_many_arguments)]
    fn copy(
        &self,
        remote: &Remote,
        source: &str,
        dest: &str,
        delete: bool,
        files: &[String],
        lock: &str,
        dry_run: bool,
        r: &mut StepResult,
    ) -> Result<String, String> {
        let _lock = ServerLock::acquire(remote, lock, LOCK_WAIT, &self.owner)
            .map_err(|e| format!("cannot take the image lock {lock}: {e}"))?;
        // rsync creates only the last directory of the destination.
        let parent = dest
            .trim_end_matches('/')
            .rsplit_once('/')
            .map_or("/", |(p, _)| p);
        if !parent.is_empty() {
            let mk = remote.command(&["mkdir", "-p", &remote.path(parent)]);
            mk.run_checked().map_err(|e| e.to_string())?;
        }
        let cmd = self.rsync_command(remote, source, dest, delete, files, dry_run);
        self.syslog.info(&format!("running: {}", cmd.display()));
        let out = cmd.run().map_err(|e| e.to_string())?;
        let code = out.code_or_signal();
        let (stats, changes) = rsync::parse_output(&out.stdout);
        self.syslog.info(&format!(
            "rsync exit {code}: {} files, {} transferred, {} deleted",
            stats.files, stats.transferred, stats.deleted
        ));
        if !out.stderr.trim().is_empty() {
            self.syslog
                .warning(&format!("rsync stderr: {}", out.stderr.trim()));
        }
        r.changed = changes
            .iter()
            .filter(|c| !rsync::is_dir_time_only(c))
            .count() as u64;
        match rsync::verdict(code) {
            Verdict::Failed => Err(format!(
                "rsync exit {code} ({}): {}",
                rsync::meaning(code),
                out.stderr.trim()
            )),
            _ => Ok(format!(
                "{} -> {}:{dest}: {} change(s), {} transferred, {} deleted",
                source,
                remote.name(),
                r.changed,
                stats.transferred,
                stats.deleted
            )),
        }
    }

    /// Compares a copy again without changing anything: the number of differences.
    pub fn verify(&self, step: &Step) -> Option<Result<u64, String>> {
        let StepKind::Copy {
            source,
            dest,
            delete,
            files,
            ..
        } = &step.kind
        else {
            return None;
        };
        let remote = &self.remotes[&step.server];
        let cmd = self.rsync_command(remote, source, dest, *delete, files, true);
        Some(match cmd.run() {
            Err(e) => Err(e.to_string()),
            Ok(out) if rsync::verdict(out.code_or_signal()) == Verdict::Failed => Err(format!(
                "rsync -n exit {}: {}",
                out.code_or_signal(),
                out.stderr.trim()
            )),
            Ok(out) => Ok(rsync::parse_output(&out.stdout)
                .1
                .iter()
                .filter(|c| !rsync::is_dir_time_only(c))
                .count() as u64),
        })
    }

    fn script(&self, remote: &Remote, mode: &str, paths: &[String]) -> Result<String, String> {
        let mut args = vec![mode.to_string()];
        args.extend(paths.iter().map(|p| remote.path(p)));
        let out = remote
            .script(SERVER_SCRIPT, &args)
            .run_checked()
            .map_err(|e| e.to_string())?;
        Ok(out.stdout)
    }

    fn mkdir(
        &self,
        remote: &Remote,
        dirs: &[String],
        r: &mut StepResult,
    ) -> Result<String, String> {
        let out = self.script(remote, "mkdir", dirs)?;
        // The script speaks of the paths it was given (below local_path for a locally
        // mounted server); say the server's own.
        let made: std::collections::BTreeSet<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("created "))
            .collect();
        let created: Vec<&str> = dirs
            .iter()
            .filter(|d| made.contains(remote.path(d).as_str()))
            .map(String::as_str)
            .collect();
        r.changed = created.len() as u64;
        Ok(match created.is_empty() {
            true => format!(
                "{} directorie(s) present, nothing below them touched",
                dirs.len()
            ),
            false => format!("created {}", created.join(" ")),
        })
    }

    /// The given server paths that exist (as server paths).
    fn exist(
        &self,
        remote: &Remote,
        paths: &[String],
    ) -> Result<std::collections::BTreeSet<String>, String> {
        self.listed(remote, "exist", paths)
    }

    /// The paths the server script's `mode` lists.
    fn listed(
        &self,
        remote: &Remote,
        mode: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeSet<String>, String> {
        if paths.is_empty() {
            return Ok(Default::default());
        }
        let out = self.script(remote, mode, paths)?;
        let found: std::collections::BTreeSet<&str> = out.lines().collect();
        Ok(paths
            .iter()
            .filter(|p| found.contains(remote.path(p).as_str()))
            .cloned()
            .collect())
    }

    fn check(
        &self,
        remote: &Remote,
        dirs: &[String],
        r: &mut StepResult,
    ) -> Result<String, String> {
        let found = self.listed(remote, "isdir", dirs)?;
        let missing: Vec<&String> = dirs.iter().filter(|d| !found.contains(*d)).collect();
        r.publish.retain(|p| found.contains(&p.path));
        match missing.is_empty() {
            true => Ok(format!("{} present on {}", dirs.len(), remote.name())),
            false => Err(format!(
                "missing on {} and not on this host to copy: {}",
                remote.name(),
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }
}
