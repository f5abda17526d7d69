//! Running a plan: rsync runs, allocations and removals on each server, at most `jobs` at once,
//! every command, status, statistic and stderr logged; then the dry-run verification.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use super::plan::{Kind, RemoveEntry, Step, StepKind};
use super::Sysroot;
use crate::process::Cmd;
use crate::remote::Remote;
use crate::rsync::{self, Stats, Verdict};
use crate::syslog::Syslog;

/// How one step ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StepResult {
    pub server: String,
    pub label: String,
    pub kind: Kind,
    pub nodes: Vec<String>,
    pub ok: bool,
    pub stats: Stats,
    /// Items rsync changed (or files created/removed).
    pub changes: usize,
    /// A problem that did not fail the step (vanished files, a paging file left as it was).
    pub warning: Option<String>,
    pub error: Option<String>,
    pub seconds: f64,
}

/// What the dry-run comparison found for one step.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    pub server: String,
    pub label: String,
    /// Differences left; `None` when the comparison itself failed.
    pub differences: Option<usize>,
    pub error: Option<String>,
}

/// Runs steps against their servers.
pub struct Executor<'a> {
    pub remotes: &'a BTreeMap<String, Remote>,
    pub sysroot: &'a Sysroot,
    pub syslog: &'a Syslog,
    /// The local rsync program.
    pub rsync: String,
    pub jobs: usize,
    /// Show per-step progress on stderr (a person at a terminal).
    pub progress: bool,
}

impl Executor<'_> {
    /// Makes the servers ready, one command each: rsync's scratch directory and the parents
    /// of every destination (rsync creates only the last component). A server that cannot
    /// be reached is returned with the reason.
    pub fn prepare(&self, steps: &[Step], temp_dir: &str) -> BTreeMap<String, String> {
        let mut dirs: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
        for s in steps {
            let remote = &self.remotes[&s.server];
            let set = dirs.entry(&s.server).or_default();
            set.insert(remote.path(temp_dir));
            if matches!(s.kind, StepKind::Rsync(_)) {
                if let Some((parent, _)) =
                    s.location.rsplit_once('/').filter(|(p, _)| !p.is_empty())
                {
                    set.insert(remote.path(parent));
                }
            }
        }
        let mut down = BTreeMap::new();
        for (server, set) in dirs {
            let remote = &self.remotes[server];
            let mut argv = vec!["mkdir".to_string(), "-p".to_string()];
            argv.extend(set);
            let cmd = remote.command(&argv);
            self.syslog.info(&format!("{server}: {}", cmd.display()));
            if let Err(e) = cmd.run_checked() {
                self.syslog.err(&format!("{server}: {e}"));
                down.insert(
                    server.to_string(),
                    format!("cannot reach or prepare the server: {e}"),
                );
            }
        }
        down
    }

    /// Runs the steps, at most `jobs` at a time; results come back in step order.
    pub fn run(&self, steps: &[Step]) -> Vec<StepResult> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<StepResult>>> = Mutex::new(vec![None; steps.len()]);
        let done = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.clamp(1, steps.len().max(1)) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(step) = steps.get(i) else { break };
                    if self.progress {
                        eprintln!("  {}: {}: started", step.server, step.label);
                    }
                    let r = self.run_step(step);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if self.progress {
                        eprintln!(
                            "  [{n}/{}] {}: {}: {}",
                            steps.len(),
                            r.server,
                            r.label,
                            progress_line(&r)
                        );
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.expect("every step ran"))
            .collect()
    }

    fn run_step(&self, step: &Step) -> StepResult {
        let start = Instant::now();
        let mut r = StepResult {
            server: step.server.clone(),
            label: step.label.clone(),
            nodes: step.nodes.clone(),
            ..StepResult::default()
        };
        r.kind = step.kind.kind();
        match &step.kind {
            StepKind::Rsync(job) => self.rsync(step, job, false, &mut r),
            StepKind::Allocate { dirs } => self.allocate(step, dirs, &mut r),
            StepKind::Remove { entries } => self.remove(step, entries, &mut r),
            StepKind::Refused { reason } => r.error = Some(reason.clone()),
        }
        r.ok = r.error.is_none();
        r.seconds = start.elapsed().as_secs_f64();
        r
    }

    /// Runs one rsync; with `dry_run` it only compares.
    fn rsync(&self, step: &Step, job: &rsync::Job, dry_run: bool, r: &mut StepResult) {
        let mut job = job.clone();
        job.source = self.sysroot.local(&job.source).display().to_string();
        let rules = match write_rules(&job.rules) {
            Ok(f) => f,
            Err(e) => {
                r.error = Some(format!("cannot write the rsync filter file: {e}"));
                return;
            }
        };
        let cmd = job.command(&self.rsync, Some(rules.path()), dry_run);
        let tag = format!("{}: {}", step.server, step.label);
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
        r.changes = changes
            .iter()
            .filter(|c| !rsync::is_dir_time_only(c))
            .count();
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
            Verdict::Failed => {
                r.error = Some(format!(
                    "rsync exited with status {code} ({}){}",
                    rsync::meaning(code),
                    stderr_tail(&out.stderr)
                ))
            }
        }
    }

    /// Creates missing paging files on the server as sparse files of the SN's sizes.
    fn allocate(&self, step: &Step, dirs: &[String], r: &mut StepResult) {
        let remote = &self.remotes[&step.server];
        let mut input = String::new();
        for dir in dirs {
            let files = match local_files(&self.sysroot.local(dir)) {
                Ok(f) => f,
                Err(e) => {
                    r.error = Some(format!("cannot list {dir}: {e}"));
                    return;
                }
            };
            for (rel, meta) in files {
                use std::os::unix::fs::MetadataExt;
                let path = remote.path(&format!("{dir}/{rel}"));
                input.push_str(&format!(
                    "{} {:o} {} {} {path}\n",
                    meta.len(),
                    meta.mode() & 0o7777,
                    meta.uid(),
                    meta.gid()
                ));
            }
        }
        let cmd = remote
            .script(ALLOCATE_SCRIPT, &[] as &[&str])
            .stdin_bytes(input);
        self.remote_script(step, &cmd, r);
    }

    fn remove(&self, step: &Step, entries: &[RemoveEntry], r: &mut StepResult) {
        let remote = &self.remotes[&step.server];
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
            .script(REMOVE_SCRIPT, &[] as &[&str])
            .stdin_bytes(input);
        self.remote_script(step, &cmd, r);
    }

    /// Runs one of our server-side scripts; it reports `created`/`removed`/`differs`/`error`
    /// lines, one per file.
    fn remote_script(&self, step: &Step, cmd: &Cmd, r: &mut StepResult) {
        let tag = format!("{}: {}", step.server, step.label);
        self.syslog.info(&format!("{tag}: {}", cmd.display()));
        let out = match cmd.run_checked() {
            Ok(o) => o,
            Err(e) => {
                self.syslog.err(&format!("{tag}: {e}"));
                r.error = Some(e.to_string());
                return;
            }
        };
        let mut differs = Vec::new();
        let mut errors = Vec::new();
        for line in out.stdout.lines() {
            self.syslog.info(&format!("{tag}: {line}"));
            match line.split_once(' ') {
                Some(("created" | "removed", _)) => r.changes += 1,
                Some(("differs", rest)) => differs.push(rest.to_string()),
                Some(("error", rest)) => errors.push(rest.to_string()),
                _ => {}
            }
        }
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
                stderr_tail(&out.stderr)
            ));
        }
    }

    /// Compares the synced scopes again with `rsync -n`; steps that changed nothing were
    /// themselves a full comparison and are counted as zero without another run, unless
    /// `always` asks for one.
    pub fn verify(
        &self,
        steps: &[Step],
        results: &[StepResult],
        always: bool,
    ) -> Vec<Verification> {
        let todo: Vec<(usize, &Step)> = steps
            .iter()
            .enumerate()
            .filter(|(i, s)| matches!(s.kind, StepKind::Rsync(_)) && results[*i].ok)
            .collect();
        let out: Mutex<Vec<(usize, Verification)>> = Mutex::new(Vec::new());
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.clamp(1, todo.len().max(1)) {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(i, step)) = todo.get(k) else { break };
                    let v = if results[i].changes == 0 && !always {
                        Verification {
                            server: step.server.clone(),
                            label: step.label.clone(),
                            differences: Some(0),
                            error: None,
                        }
                    } else {
                        self.compare(step)
                    };
                    out.lock().unwrap_or_else(|e| e.into_inner()).push((i, v));
                });
            }
        });
        let mut v = out.into_inner().unwrap_or_else(|e| e.into_inner());
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, v)| v).collect()
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
        }
    }
}

/// Server-side: stdin lines `size mode uid gid path`; a missing file is created as a hole of
/// that size under a temporary name and renamed into place; an existing one is only compared.
/// `dd ... seek=` makes a sparse file on Linux and AIX alike (AIX has no truncate).
const ALLOCATE_SCRIPT: &str = r#"
while read -r size mode uid gid path; do
    if [ -e "$path" ]; then
        have=$(ls -ln "$path" | awk '{print $5}')
        [ "$have" = "$size" ] || echo "differs $path ($have bytes, SN has $size)"
        continue
    fi
    dir=${path%/*}
    tmp="$dir/.xcat-extnfs.$$"
    if mkdir -p "$dir" && dd if=/dev/null of="$tmp" bs=1 count=0 seek="$size" 2>/dev/null &&
        chmod "$mode" "$tmp" && chown "$uid:$gid" "$tmp" && mv -f "$tmp" "$path"; then
        echo "created $path"
    else
        rm -f "$tmp"
        echo "error $path"
    fi
done
"#;

/// Server-side: stdin lines `dir PATH` (a node's directory) or `files DIR SUFFIX` (the files
/// `DIR/*.SUFFIX`); paths come from the plan, never from a shell word split.
const REMOVE_SCRIPT: &str = r#"
while read -r kind a b; do
    case $kind in
    dir)
        if [ -e "$a" ]; then
            if rm -rf -- "$a"; then echo "removed $a"; else echo "error $a"; fi
        fi ;;
    files)
        for f in "$a"/*."$b"; do
            [ -e "$f" ] || continue
            if rm -f -- "$f"; then echo "removed $f"; else echo "error $f"; fi
        done ;;
    esac
done
"#;

fn write_rules(rules: &[String]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("xcat-extnfs-rules.")
        .tempfile()?;
    for rule in rules {
        writeln!(f, "{rule}")?;
    }
    f.flush()?;
    Ok(f)
}

/// Regular files below a directory, as paths relative to it.
fn local_files(dir: &std::path::Path) -> std::io::Result<Vec<(String, std::fs::Metadata)>> {
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

/// The last lines of a child's stderr, for a one-line summary (the full text is in syslog).
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(3)..];
    format!(": {}", tail.join(" | "))
}

/// A compact progress line for a finished step.
pub fn progress_line(r: &StepResult) -> String {
    if let Some(e) = &r.error {
        return format!("FAILED: {e}");
    }
    format!(
        "{} files checked, {} updated, {} deleted, {} sent, {:.1} s",
        r.stats.files,
        r.stats.transferred,
        r.stats.deleted,
        crate::sync::report::bytes(r.stats.bytes_sent),
        r.seconds
    )
}
