//! Carrying out syncstatelite's plan on the sync engine: copies are rsync jobs of the shared
//! executor under the server's per-image lock (a tar stream first into an empty directory,
//! skipped when recorded unchanged: see [`copied`]), the statemnt and litetree steps run the
//! statelite server script; all on the one worker pool, each server resolved once.

use std::collections::BTreeSet;

use serde::Serialize;

use super::plan::{Step, StepKind};
use crate::exports::{ExportsError, Published, ServerLock};
use crate::process::CommandError;
use crate::rsync::Job;
use crate::scripts;
use crate::sync::copied;
use crate::sync::execute::{failure_cause, not_run, short, Executor as Engine};
use crate::sync::pool;
use crate::sync::servers::Server;
use crate::sync::step::StepResult as RsyncRun;
use crate::sync::tree::Fingerprint;

/// The server-side script (`mkdir`, `exist`, `isdir`).
pub const SERVER_SCRIPT: &str = scripts::STATELITE;

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
    /// Lines to report (litefile entries found nowhere, vanished files, ...).
    pub findings: Vec<String>,
    /// A copy skipped: neither tree was touched since the copy was last verified.
    pub unchanged: bool,
    /// A copy compared again under its lock: the differences left, or the error.
    #[serde(skip)]
    pub verified: Option<Result<u64, String>>,
    /// What the step covers for the exports: the paths the nodes may mount now.
    pub publish: Vec<Published>,
    pub seconds: f64,
}

impl StepResult {
    /// What to tell: the result, then each finding as a warning.
    pub fn lines(&self) -> Vec<String> {
        let head = format!(
            "{} {}: {} {}",
            self.server,
            self.label,
            if self.ok { "ok:" } else { "FAILED:" },
            self.detail
        );
        std::iter::once(head)
            .chain(self.findings.iter().map(|f| format!("warning: {f}")))
            .collect()
    }
}

/// Runs syncstatelite's steps on the sync engine.
pub struct Executor<'a> {
    /// The servers, this host's sysroot, the log, the rsync program and the pool's width.
    pub engine: Engine<'a>,
    /// Who holds an image lock, for another run's message.
    pub owner: String,
    /// Compare every copy in full, and again after it (`--verify`); otherwise a copy is
    /// compared again only when it changed something.
    pub compare_all: bool,
    /// Where verified copies are recorded, so that the next copy of a tree neither side has
    /// touched is skipped (see [`copied`]); `None` compares every copy in full.
    pub records: Option<Records>,
}

/// What the check before a whole-tree copy found.
enum Precheck {
    /// Neither side changed since the copy was last verified: the step's detail.
    Unchanged(String),
    /// Copy, and record this host's tree as fingerprinted here (if it could be).
    Copy(Option<Fingerprint>),
}

/// Where this host records its verified copies on each server.
#[derive(Clone, Debug)]
pub struct Records {
    /// `site.installdir`: the records go below it, beside the sync stamps.
    pub installdir: String,
    /// This host, whose tree a record fingerprints.
    pub sn: String,
}

/// The rsync job of a copy: exact (hard links, ACLs, extended attributes, holes, numeric
/// ids), `--delete` only inside `dest`; `files` limits it to those names at the top.
pub fn job(server: &Server, source: &str, dest: &str, delete: bool, files: &[String]) -> Job {
    let mut rules: Vec<String> = files.iter().map(|f| format!("+ /{f}")).collect();
    if !files.is_empty() {
        rules.push("- *".into());
    }
    Job {
        rules,
        delete,
        sparse: true,
        xattrs: true,
        compress: server.config.compress,
        rsh: server.remote.rsync_rsh(),
        rsync_path: Some(server.config.rsync_path.clone()),
        ..Job::new(source, server.remote.rsync_target(dest))
    }
}

/// The copies compared again (those that changed something, every one with
/// `compare_all`): each with its number of differences or the error.
pub fn verifications<'s>(
    steps: &'s [Step],
    results: &[StepResult],
) -> Vec<(&'s Step, Result<u64, String>)> {
    steps
        .iter()
        .zip(results)
        .filter_map(|(s, r)| Some((s, r.verified.clone()?)))
        .collect()
}

impl Executor<'_> {
    /// Runs the steps on the pool; results in step order. The litefile checks run last:
    /// they look for files in the litetree directories the other steps copy.
    pub fn run(&self, steps: &[Step]) -> Vec<StepResult> {
        let is_check = |s: &Step| matches!(s.kind, StepKind::Litefile { .. });
        let (checks, others): (Vec<usize>, Vec<usize>) =
            (0..steps.len()).partition(|&i| is_check(&steps[i]));
        let mut results: Vec<Option<StepResult>> = vec![None; steps.len()];
        for phase in [others, checks] {
            let done = pool::map(&phase, self.engine.jobs, |&i| self.step(&steps[i]));
            for (i, r) in phase.into_iter().zip(done) {
                results[i] = Some(r);
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every step ran in one of the phases"))
            .collect()
    }

    /// The rsync job of a copy step, `None` for other steps or an unknown server.
    pub fn job_of(&self, step: &Step) -> Option<Job> {
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
        let server = self.engine.servers.get(&step.server)?;
        Some(job(server, source, dest, *delete, files))
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
        let touches_server = !matches!(
            step.kind,
            StepKind::Refused { .. } | StepKind::SameFiles { .. }
        );
        let dead = self.engine.dead.cause(&step.server);
        let outcome = match (&step.kind, self.engine.servers.get(&step.server)) {
            // A server found unreachable earlier in the run is not connected to again.
            (_, _) if touches_server && dead.is_some() => {
                Err(not_run(dead.as_deref().unwrap_or_default()))
            }
            (StepKind::Refused { reason }, _) => Err(format!("refused: {reason}")),
            (StepKind::SameFiles { path }, _) => Ok(format!(
                "{path}: this host reads the server's own files, nothing to copy"
            )),
            (_, None) => Err("not a server of this run".into()),
            (StepKind::Copy { dest, lock, .. }, Some(server)) => {
                self.copy(server, step, dest, lock, &mut r)
            }
            (StepKind::Mkdir { dirs }, Some(server)) => self.mkdir(server, dirs, &mut r),
            (StepKind::Check { dirs }, Some(server)) => self.check(server, dirs, &mut r),
            (StepKind::Litefile { checks }, Some(server)) => self.litefile(server, checks, &mut r),
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
        self.engine.syslog.info(&format!(
            "{} {}: {} {}",
            r.server,
            r.label,
            if r.ok { "ok" } else { "FAILED" },
            r.detail
        ));
        r
    }

    /// One copy under the image lock on the server, so concurrent runs never copy the same
    /// image over each other (the second finds nothing left to do). A whole tree recorded
    /// as verified, untouched on both sides since, is not compared at all (unless
    /// `compare_all`); one going into an empty directory is streamed by tar before rsync
    /// compares it; a copy that changed something is compared again before the lock goes,
    /// and one that leaves nothing different is recorded.
    fn copy(
        &self,
        server: &Server,
        step: &Step,
        dest: &str,
        lock: &str,
        r: &mut StepResult,
    ) -> Result<String, String> {
        let remote = &server.remote;
        let job = self.job_of(step).ok_or("not a copy")?;
        let key = copied::key(&job, dest);
        let record = self.record_of(&job, dest);
        let source = match &record {
            Some(record) => match self.precheck(server, step, &job, dest, &key, record)? {
                Precheck::Unchanged(detail) => {
                    r.unchanged = true;
                    return Ok(detail);
                }
                Precheck::Copy(fp) => fp,
            },
            None => None,
        };
        let _lock =
            ServerLock::acquire(remote, lock, LOCK_WAIT, &self.owner).map_err(|e| match &e {
                ExportsError::Remote { source, .. } if failure_cause(remote, source).is_some() => {
                    self.lost(&step.server, source)
                }
                _ => format!("cannot take the image lock {lock}: {e}"),
            })?;
        let begun = copied::begin(remote, record.as_deref(), dest)
            .map_err(|e| self.lost(&step.server, &e))?;
        // An empty destination of a whole tree gets a tar stream first; rsync then compares.
        let streamed = match (&source, begun.empty && begun.gnu_tar) {
            (Some(fp), true) => self.stream(server, step, &job, dest, fp, r)?,
            _ => 0,
        };
        let mut run = RsyncRun::default();
        let tag = format!("{}: {}", step.server, step.label);
        self.engine
            .run_rsync(&step.server, &tag, &job, false, &mut run);
        let mended = run.changes as u64;
        r.changed = streamed + mended;
        r.findings.extend(run.warning);
        if let Some(e) = run.error {
            return Err(e);
        }
        let rsync = format!(
            "{mended} change(s), {} transferred, {} deleted",
            run.stats.transferred, run.stats.deleted
        );
        let what = match streamed {
            0 => rsync,
            _ => format!(
                "{} change(s): {streamed} entries by a tar stream into the empty directory, then rsync: {rsync}",
                r.changed
            ),
        };
        let mut detail = format!("{} -> {}:{dest}: {what}", job.source, remote.name());
        // rsync finding nothing to change is a comparison already.
        if mended > 0 || self.compare_all {
            r.verified = self.verify(step);
        }
        let equal = mended == 0 || matches!(r.verified, Some(Ok(0)));
        if let (Some(record), Some(fp), true) = (&record, &source, equal) {
            if let Some(why) = self.record(server, step, record, dest, &key, fp) {
                detail.push_str(&format!("; not recorded: {why}"));
            }
        }
        Ok(detail)
    }

    /// Before a whole-tree copy: this host's tree is fingerprinted while the server reads the
    /// copy's record. A lost connection fails the step; any other failure only means the
    /// copy is compared in full (said in syslog).
    fn precheck(
        &self,
        server: &Server,
        step: &Step,
        job: &Job,
        dest: &str,
        key: &str,
        record: &str,
    ) -> Result<Precheck, String> {
        let local = self.engine.sysroot.local(&job.source);
        let (here, there) = copied::both(&server.remote, record, dest, &local);
        let found = match there {
            Ok(found) => found,
            Err(e) => {
                let line = self.lost(&step.server, &e);
                if self.engine.dead.cause(&step.server).is_some() {
                    return Err(line);
                }
                self.note(step, &format!("cannot read the copy record: {line}"));
                None
            }
        };
        let fp = match here {
            Ok(fp) => fp,
            Err(e) => {
                self.note(step, &format!("cannot fingerprint {}: {e}", job.source));
                return Ok(Precheck::Copy(None));
            }
        };
        let Some(found) = found.filter(|_| !self.compare_all) else {
            return Ok(Precheck::Copy(Some(fp)));
        };
        match found.judge(key, &fp) {
            Ok(()) => Ok(Precheck::Unchanged(format!(
                "unchanged since {} verified it at {} ({} entries, untouched on both sides by their change times): nothing compared",
                found.sn,
                crate::sync::stamp::utc(found.time),
                fp.entries
            ))),
            Err(why) => {
                self.note(step, &format!("compared in full: {why}"));
                Ok(Precheck::Copy(Some(fp)))
            }
        }
    }

    /// Streams the tree by tar into its empty destination: the entries streamed, 0 when the
    /// stream failed (a warning; rsync copies instead). A lost connection fails the step.
    fn stream(
        &self,
        server: &Server,
        step: &Step,
        job: &Job,
        dest: &str,
        source: &Fingerprint,
        r: &mut StepResult,
    ) -> Result<u64, String> {
        let local = self.engine.sysroot.local(&job.source);
        match copied::tar_stream(&server.remote, &local, dest) {
            Ok(()) => Ok(source.entries),
            Err(e) => {
                let line = self.lost(&step.server, &e);
                if self.engine.dead.cause(&step.server).is_some() {
                    return Err(line);
                }
                r.findings.push(format!(
                    "the tar stream into the empty {dest} failed, rsync copied instead: {line}"
                ));
                Ok(0)
            }
        }
    }

    /// The record of a whole-tree copy (a RAMdisk copy is two files: always compared).
    fn record_of(&self, job: &Job, dest: &str) -> Option<String> {
        let records = self.records.as_ref()?;
        let whole = job.rules.is_empty() && job.only.is_none();
        whole.then(|| copied::path(&records.installdir, dest, &records.sn))
    }

    /// Records a verified copy: `None` when recorded, else why not.
    fn record(
        &self,
        server: &Server,
        step: &Step,
        record: &str,
        dest: &str,
        key: &str,
        source: &Fingerprint,
    ) -> Option<String> {
        if !source.settled() {
            return Some("changed here in the last 2 s, the next run compares in full".into());
        }
        let sn = &self.records.as_ref()?.sn;
        match copied::record(&server.remote, record, dest, sn, key, source) {
            Ok(None) => None,
            Ok(Some(why)) => Some(why),
            Err(e) => Some(self.lost(&step.server, &e)),
        }
    }

    /// A line for syslog about one step.
    fn note(&self, step: &Step, line: &str) {
        self.engine
            .syslog
            .info(&format!("{} {}: {line}", step.server, step.label));
    }

    /// The plan as text: each step, with the rsync command (and filter) of each copy.
    pub fn plan_lines(&self, plan: &super::plan::Plan) -> Vec<String> {
        let mut out = Vec::new();
        for s in &plan.steps {
            let mut filter = Vec::new();
            let what = match &s.kind {
                StepKind::Copy { lock, dest, .. } => match self.job_of(s) {
                    Some(mut job) => {
                        if let (Some(record), false) =
                            (self.record_of(&job, dest), self.compare_all)
                        {
                            filter.push(format!("    not even compared if neither side changed since the copy recorded in {record}"));
                            filter.push("    into an empty directory: a tar stream first (GNU tar on both sides), then this rsync".into());
                        }
                        let local = self.engine.sysroot.local(&job.source);
                        job.source = local.display().to_string();
                        let (command, rules) = job.shown(&self.engine.rsync);
                        filter.extend(rules);
                        format!("would copy under lock {lock}: {command}")
                    }
                    None => "not a server of this run".into(),
                },
                StepKind::SameFiles { path } => {
                    format!("{path}: this host reads the server's own files, nothing to copy")
                }
                StepKind::Mkdir { dirs } => {
                    format!("would create when missing: {}", dirs.join(" "))
                }
                StepKind::Check { dirs } => format!("would check present: {}", dirs.join(" ")),
                StepKind::Litefile { checks } => {
                    format!("would check {} litefile source(s)", checks.len())
                }
                StepKind::Refused { reason } => format!("refused: {reason}"),
            };
            out.push(format!("{} {}: {what}", s.server, s.label));
            out.extend(filter);
        }
        out
    }

    /// Compares a copy again without changing anything: the number of differences.
    pub fn verify(&self, step: &Step) -> Option<Result<u64, String>> {
        let job = self.job_of(step)?;
        let mut run = RsyncRun::default();
        let tag = format!("{}: {}", step.server, step.label);
        self.engine
            .run_rsync(&step.server, &tag, &job, true, &mut run);
        Some(match run.error {
            Some(e) => Err(e),
            None => Ok(run.changes as u64),
        })
    }

    /// Runs the server script's `mode` on `paths` (as server paths); its standard output.
    fn script(&self, server: &Server, mode: &str, paths: &[String]) -> Result<String, String> {
        let mut args = vec![mode.to_string()];
        args.extend(paths.iter().cloned());
        let out = server
            .remote
            .script(SERVER_SCRIPT, &args)
            .run_checked()
            .map_err(|e| self.lost(&server.name, &e))?;
        Ok(out.stdout)
    }

    /// A failed server command in one line; one that could not reach the server marks it
    /// dead for the rest of the run and says so with ssh's words. The whole command (a remote
    /// script is long) and its stderr go to syslog, as syncaixres does.
    fn lost(&self, server: &str, e: &CommandError) -> String {
        self.engine.syslog.err(&format!("{server}: {e}"));
        match self.engine.connection_lost(server, e) {
            Some(cause) => format!("connection lost: {cause}"),
            None => short(e),
        }
    }

    fn mkdir(
        &self,
        server: &Server,
        dirs: &[String],
        r: &mut StepResult,
    ) -> Result<String, String> {
        let remote_dirs: Vec<String> = dirs.iter().map(|d| server.remote.path(d)).collect();
        let out = self.script(server, "mkdir", &remote_dirs)?;
        // The script speaks of the paths it was given (below local_path for a locally
        // mounted server); say the server's own.
        let made: std::collections::BTreeSet<&str> = scripts::created(&out).into_iter().collect();
        let created: Vec<&str> = dirs
            .iter()
            .zip(&remote_dirs)
            .filter(|(_, given)| made.contains(given.as_str()))
            .map(|(d, _)| d.as_str())
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

    /// The paths the server script's `mode` lists (given and returned as server paths).
    fn listed(
        &self,
        server: &Server,
        mode: &str,
        paths: &[String],
    ) -> Result<BTreeSet<String>, String> {
        if paths.is_empty() {
            return Ok(BTreeSet::new());
        }
        let remote_paths: Vec<String> = paths.iter().map(|p| server.remote.path(p)).collect();
        let out = self.script(server, mode, &remote_paths)?;
        let found: BTreeSet<&String> = scripts::listed(&out, &remote_paths).into_iter().collect();
        Ok(paths
            .iter()
            .zip(&remote_paths)
            .filter(|(_, rp)| found.contains(rp))
            .map(|(p, _)| p.clone())
            .collect())
    }

    fn check(
        &self,
        server: &Server,
        dirs: &[String],
        r: &mut StepResult,
    ) -> Result<String, String> {
        let name = server.remote.name();
        let found = self.listed(server, "isdir", dirs)?;
        let missing: Vec<&str> = dirs
            .iter()
            .filter(|d| !found.contains(*d))
            .map(String::as_str)
            .collect();
        r.publish.retain(|p| found.contains(&p.path));
        match missing.is_empty() {
            true => Ok(format!("{} present on {name}", dirs.len())),
            false => Err(format!(
                "missing on {name} and not on this host to copy: {}",
                missing.join(" ")
            )),
        }
    }

    /// litefile entries whose candidates all are missing, reported once per image and entry.
    fn litefile(
        &self,
        server: &Server,
        checks: &[super::plan::LitefileCheck],
        r: &mut StepResult,
    ) -> Result<String, String> {
        let all: Vec<String> = checks.iter().flat_map(|c| c.candidates.clone()).collect();
        let found = self.listed(server, "exist", &all)?;
        let mut missing = std::collections::BTreeMap::<(&str, &str, &str), usize>::new();
        for c in checks {
            if !c.candidates.iter().any(|p| found.contains(p)) {
                *missing.entry((&c.image, &c.file, &c.options)).or_default() += 1;
            }
        }
        for ((image, file, options), count) in &missing {
            r.findings.push(format!(
                "image {image}: litefile {file} ({options}) is in no litetree directory on {}: {count} node(s) get the image's .default copy",
                server.name
            ));
        }
        Ok(format!(
            "{} entr(ies) checked, {} found nowhere",
            checks.len(),
            missing.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::remote::{fake_ssh, Remote};
    use crate::sync::context::Sysroot;
    use crate::sync::servers::Servers;
    use crate::syslog::Syslog;

    #[test]
    fn a_failed_server_script_is_one_line_and_its_whole_command_goes_to_syslog() {
        let dir = tempfile::tempdir().unwrap();
        let body = "echo 'mkdir: cannot create directory: Read-only file system' >&2\nexit 1\n";
        let config = Config::default().server("nfs1");
        let remote = Remote::with_rsh(&config, Some(&fake_ssh(dir.path(), body))).unwrap();
        let servers: Servers = [("nfs1".into(), Server::nfs1(remote, config))].into();
        let (sysroot, log) = (Sysroot::new(dir.path()), dir.path().join("syslog"));
        let syslog = Syslog::new("syncstatelite", None, Some(log.clone()));
        let executor = Executor {
            engine: Engine::for_tests(&servers, &sysroot, &syslog, 1),
            owner: "sn1".into(),
            compare_all: false,
            records: None,
        };
        let paths = ["/install/nodedata".to_string()];
        let line = (executor.script(&servers["nfs1"], "mkdir", &paths)).unwrap_err();
        assert_eq!(
            line,
            "exit status 1: mkdir: cannot create directory: Read-only file system"
        );
        syslog.flush();
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            logged.contains("nfs1: `") && logged.contains("/install/nodedata"),
            "{logged}"
        );
        assert_eq!(executor.engine.dead.cause("nfs1"), None);
    }

    /// An ssh that runs every command on this host, as a server would, except that the
    /// server's tar refuses its options (an old tar, a tar without ACL support).
    const LOCAL_SSH_OLD_TAR: &str = "\
while [ $# -gt 1 ]; do
    case $1 in
    -o | -F | -p | -l | -i | -S) shift 2 ;;
    -*) shift ;;
    *) break ;;
    esac
done
shift
case $* in
'tar -C'*) echo 'tar: unrecognized option --acls' >&2; exit 2 ;;
esac
exec sh -c \"$*\"
";

    #[test]
    fn a_failed_tar_stream_is_a_warning_and_rsync_copies_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let image = root.join("sn/img/rootimg");
        std::fs::create_dir_all(image.join("etc")).unwrap();
        std::fs::write(image.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        let dest = root.join("srv/img/rootimg").display().to_string();
        let config = Config::default().server("nfs1");
        let rsh = fake_ssh(root, LOCAL_SSH_OLD_TAR);
        let remote = Remote::with_rsh(&config, Some(&rsh)).unwrap();
        let servers: Servers = [("nfs1".into(), Server::nfs1(remote, config))].into();
        let (sysroot, syslog) = (Sysroot::new(&root.join("sn")), Syslog::new("t", None, None));
        let executor = Executor {
            engine: Engine::for_tests(&servers, &sysroot, &syslog, 1),
            owner: "sn1".into(),
            compare_all: false,
            records: Some(Records {
                installdir: root.join("srv").display().to_string(),
                sn: "sn1".into(),
            }),
        };
        let step = Step {
            server: "nfs1".into(),
            label: "rootimg img".into(),
            nodes: vec!["ln001".into()],
            kind: StepKind::Copy {
                source: "/img/rootimg".into(),
                dest: dest.clone(),
                delete: true,
                files: Vec::new(),
                lock: format!("{dest}.extnfs-lock"),
            },
            publish: Vec::new(),
        };
        let r = &executor.run(std::slice::from_ref(&step))[0];
        assert!(r.ok, "{r:?}");
        assert_eq!(
            r.findings,
            [format!(
                "the tar stream into the empty {dest} failed, rsync copied instead: exit status 2: tar: unrecognized option --acls"
            )]
        );
        assert!(!r.detail.contains("tar stream"), "{}", r.detail);
        assert_eq!(
            std::fs::read_to_string(format!("{dest}/etc/hosts")).unwrap(),
            "127.0.0.1 localhost\n"
        );
        assert_eq!(r.verified, Some(Ok(0)), "rsync's copy is compared again");
    }
}
