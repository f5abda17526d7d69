//! What a syncaixres run tells the admin: one short line per action (xCAT shows them with the
//! command's output), a summary, and the whole plan and results as JSON on request.

use std::collections::BTreeMap;

use serde::Serialize;

use super::context::{Action, Sysroot};
use super::execute::Progress;
use super::exports_step::Outcome;
use super::lite::Lite;
use super::redirect::Edit;
use super::step::{
    Kind, NodeFailure, Plan, RemoveEntry, Skipped, StepKind, StepResult, Verification,
};
use crate::rsync::Job;
use crate::sshmux::Link;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Human,
    Json,
}

/// Everything a run did or would do, built from the stages' outputs.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub action: Action,
    pub dry_run: bool,
    pub nodes: Vec<String>,
    pub skipped: Vec<Skipped>,
    pub failed: Vec<NodeFailure>,
    pub edits: Vec<Edit>,
    pub plan: Plan,
    pub results: Vec<StepResult>,
    pub verification: Vec<Verification>,
    /// How each ssh server was reached: connections opened, shared or not.
    pub ssh: Vec<Link>,
    /// What publishing the exports said, one line per server.
    pub exports: Vec<String>,
    /// Servers whose exports could not be applied.
    pub exports_failed: Vec<String>,
    /// Nodes left out of a server's exports (nobody knows their address).
    pub exports_failed_nodes: Vec<NodeFailure>,
    /// AIX statelite: statemnt and litetree steps, the shared_roots' tables.
    pub statelite: Lite,
    pub seconds: f64,
}

/// The stages' outputs a report is built from.
pub struct Stages<'a> {
    pub action: Action,
    pub dry_run: bool,
    pub nodes: &'a [String],
    pub skipped: &'a [Skipped],
    /// Nodes that failed before planning (inventory, redirect edits).
    pub failed: &'a [NodeFailure],
    pub edits: &'a [Edit],
    pub plan: &'a Plan,
    pub ssh: &'a [Link],
    pub results: Vec<StepResult>,
    pub verification: Vec<Verification>,
    pub exports: &'a [Outcome],
    pub statelite: Lite,
}

impl Report {
    /// The report of a run that took `seconds`.
    pub fn new(s: Stages<'_>, seconds: f64) -> Report {
        Report {
            action: s.action,
            dry_run: s.dry_run,
            nodes: s.nodes.to_vec(),
            skipped: s.skipped.to_vec(),
            failed: s.failed.to_vec(),
            edits: s.edits.to_vec(),
            plan: s.plan.clone(),
            results: s.results,
            verification: s.verification,
            ssh: s.ssh.to_vec(),
            exports: s.exports.iter().map(|o| o.line.clone()).collect(),
            exports_failed: s
                .exports
                .iter()
                .filter(|o| o.failed)
                .map(|o| o.server.clone())
                .collect(),
            exports_failed_nodes: s
                .exports
                .iter()
                .flat_map(|o| {
                    o.failed_clients.iter().map(|c| NodeFailure {
                        node: c.client.clone(),
                        message: format!("exports on {}: {}", o.server, c.why),
                    })
                })
                .collect(),
            statelite: s.statelite,
            seconds,
        }
    }
}

impl Report {
    /// Nodes with at least one failure, with their messages (a failed step by its label; its
    /// line says why).
    pub fn failed_nodes(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let failures = self.failed.iter().chain(&self.plan.failed);
        for f in failures.chain(&self.exports_failed_nodes) {
            out.entry(&f.node).or_default().push(&f.message);
        }
        for r in &self.results {
            if r.error.is_some() {
                for n in &r.nodes {
                    out.entry(n).or_default().push(&r.label);
                }
            }
        }
        for (node, message) in self.statelite.failures() {
            out.entry(node).or_default().push(message);
        }
        out
    }

    /// Whether anything failed or is left different on a server.
    pub fn has_failures(&self) -> bool {
        !self.failed_nodes().is_empty()
            || !self.exports_failed.is_empty()
            || self.results.iter().any(|r| !r.ok)
            || self.verification.iter().any(|v| v.differences != Some(0))
    }

    pub fn exit_code(&self) -> i32 {
        if self.has_failures() {
            crate::exit::FAILURE
        } else {
            crate::exit::SUCCESS
        }
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        // The NIM steps and the AIX statelite steps (statemnt, litetree) count alike.
        let lite = &self.statelite;
        let servers: std::collections::BTreeSet<&str> = self
            .plan
            .steps
            .iter()
            .map(|s| s.server.as_str())
            .chain(lite.plan.steps.iter().map(|s| s.server.as_str()))
            .collect();
        let failed = self.failed_nodes();
        let done = self.nodes.len()
            - self.skipped.len()
            - failed.len().min(self.nodes.len() - self.skipped.len());
        let verb = match (self.action, self.dry_run) {
            (_, true) => "planned",
            (Action::Remove, false) => "removed from",
            _ => "synced to",
        };
        let mut line = format!(
            "{done} node(s) {verb} {} server(s), {} skipped, {} failed; {} step(s)",
            servers.len(),
            self.skipped.len(),
            failed.len(),
            self.plan.steps.len() + lite.plan.steps.len()
        );
        if !self.dry_run {
            let sent: u64 = self.results.iter().map(|r| r.stats.bytes_sent).sum();
            let files: u64 = self
                .results
                .iter()
                .map(|r| r.stats.transferred)
                .sum::<u64>()
                + lite.results.iter().map(|r| r.changed).sum::<u64>();
            line.push_str(&format!(", {files} file(s) updated, {} sent", bytes(sent)));
            if !self.verification.is_empty() {
                let diffs: usize = self.verification.iter().filter_map(|v| v.differences).sum();
                line.push_str(&format!(", {diffs} difference(s) left"));
            }
        }
        line.push_str(&format!(" in {:.1} s", self.seconds));
        line
    }

    /// The failed nodes, one line each (for the end of the output).
    pub fn failure_lines(&self) -> Vec<String> {
        self.failed_nodes()
            .into_iter()
            .map(|(node, messages)| format!("{node}: FAILED: {}", messages.join("; ")))
            .collect()
    }
}

/// A planned step as one line (for `--dry-run`), with the command that would run.
pub fn plan_lines(plan: &Plan, rsync: &str, sysroot: &Sysroot) -> Vec<String> {
    let mut out = Vec::new();
    for s in &plan.steps {
        let head = format!("{}: {} ({} node(s))", s.server, s.label, s.nodes.len());
        match &s.kind {
            StepKind::Rsync(job) => {
                let (command, filter) = rsync_lines(job, rsync, sysroot);
                out.push(format!("{head}: {command}"));
                out.extend(filter);
            }
            StepKind::Allocate { dirs } => out.push(format!(
                "{head}: create sparse paging files of the SN's sizes in {}",
                dirs.join(" ")
            )),
            StepKind::Remove { entries } => {
                out.push(format!("{head}: delete on the server:"));
                for e in entries {
                    out.push(match e {
                        RemoveEntry::Dir(d) => format!("    {d}/"),
                        RemoveEntry::Files { dir, suffix } => {
                            format!("    {dir}/*.{suffix}")
                        }
                    });
                }
            }
            StepKind::Refused { reason } => out.push(format!("{head}: REFUSED: {reason}")),
        }
    }
    out
}

/// An rsync job as the dry run shows it: its command line (the source as read under
/// `sysroot`), and its filter rules and entries on lines of their own when it has any.
pub fn rsync_lines(job: &Job, rsync: &str, sysroot: &Sysroot) -> (String, Vec<String>) {
    let mut job = job.clone();
    job.source = sysroot.local(&job.source).display().to_string();
    job.shown(rsync)
}

/// A step result as one line.
pub fn result_line(r: &StepResult) -> String {
    let mut line = format!("{}: {}: ", r.server, r.label);
    match (&r.error, r.kind) {
        (Some(e), _) => line.push_str(&format!("FAILED: {e}")),
        (None, Kind::Remove) => line.push_str(&format!("{} item(s) removed", r.changes)),
        (None, Kind::Allocate) => line.push_str(&format!("{} file(s) created", r.changes)),
        (None, _) => line.push_str(&format!(
            "{} checked, {} updated, {} deleted, {} sent",
            r.stats.files,
            r.stats.transferred,
            r.stats.deleted,
            bytes(r.stats.bytes_sent)
        )),
    }
    if let Some(w) = &r.warning {
        line.push_str(&format!("; warning: {w}"));
    }
    line
}

pub fn verification_line(v: &Verification) -> String {
    match (&v.differences, &v.error) {
        (Some(0), _) => format!("{}: {}: verified, no differences", v.server, v.label),
        (Some(n), _) => format!(
            "{}: {}: VERIFY FAILED: {n} difference(s) remain",
            v.server, v.label
        ),
        (None, e) => format!(
            "{}: {}: VERIFY FAILED: {}",
            v.server,
            v.label,
            e.as_deref().unwrap_or("comparison failed")
        ),
    }
}

/// A progress line (stderr, for a person at a terminal).
pub fn progress_line(p: &Progress<'_>) -> String {
    match p {
        Progress::Started(step) => format!("  {}: {}: started", step.server, step.label),
        Progress::Finished { n, total, result } => {
            let r = result;
            let what = match &r.error {
                Some(e) => format!("FAILED: {e}"),
                None => format!(
                    "{} files checked, {} updated, {} deleted, {} sent, {:.1} s",
                    r.stats.files,
                    r.stats.transferred,
                    r.stats.deleted,
                    bytes(r.stats.bytes_sent),
                    r.seconds
                ),
            };
            format!("  [{n}/{total}] {}: {}: {what}", r.server, r.label)
        }
    }
}

/// Bytes in binary units, one decimal.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::Role;

    fn step(server: &str) -> super::super::step::Step {
        super::super::step::Step {
            server: server.into(),
            role: Role::Spot,
            resource: "71B".into(),
            location: "/install/nim/spot/71B".into(),
            label: "spot 71B".into(),
            nodes: vec!["cn1".into()],
            kind: StepKind::Refused {
                reason: "planned only".into(),
            },
            covers: Vec::new(),
            needs: Vec::new(),
        }
    }

    fn lite_step(server: &str) -> crate::statelite::plan::Step {
        crate::statelite::plan::Step {
            server: server.into(),
            label: "statemnt".into(),
            nodes: vec!["cn1".into()],
            kind: crate::statelite::plan::StepKind::Mkdir {
                dirs: vec!["/install/statelite/cn1".into()],
            },
            publish: Vec::new(),
        }
    }

    #[test]
    fn the_summary_counts_the_statelite_steps_and_their_servers() {
        let nim = Plan {
            steps: vec![step("nfs1")],
            ..Plan::default()
        };
        let statelite = Lite {
            plan: crate::statelite::plan::Plan {
                steps: vec![lite_step("nfs1"), lite_step("nfs2")],
                findings: Vec::new(),
            },
            ..Lite::default()
        };
        let report = Report::new(
            Stages {
                action: Action::Sync,
                dry_run: true,
                nodes: &["cn1".to_string()],
                skipped: &[],
                failed: &[],
                edits: &[],
                plan: &nim,
                ssh: &[],
                results: Vec::new(),
                verification: Vec::new(),
                exports: &[],
                statelite,
            },
            0.5,
        );
        let line = report.summary();
        assert!(line.contains("planned 2 server(s)"), "{line}");
        assert!(line.contains("3 step(s)"), "{line}");
    }
}
