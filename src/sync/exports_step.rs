//! After the copies: what each server now holds for this SN's nodes, published as this SN's
//! part of the server's exports (see [`crate::exports`]).

use std::collections::BTreeMap;

use super::plan::StepKind;
use super::report::Report;
use super::Sysroot;
use crate::config::ServerConfig;
use crate::exports::{self, Published, Role, SnExports};
use crate::remote::Remote;

/// Per server with at least one step done, the paths whose steps succeeded and the nodes
/// that mount them: shared trees (SPOT, shared_root) once with all their nodes, client
/// directories one per node. After a removal the list is empty: publishing it refreshes the
/// part from the SN's exports, which no longer name the removed nodes.
pub fn published(report: &Report) -> BTreeMap<String, Vec<Published>> {
    let mut out: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    for (step, result) in report.plan.steps.iter().zip(&report.results) {
        if !result.ok {
            continue;
        }
        let list = out.entry(step.server.clone()).or_default();
        match (&step.kind, step.role) {
            (StepKind::Remove { .. }, _) | (StepKind::Refused { .. }, _) => {}
            (_, Role::Spot | Role::SharedRoot) => list.push(Published {
                path: step.location.clone(),
                role: step.role,
                clients: step.nodes.clone(),
            }),
            (StepKind::Rsync(_) | StepKind::Allocate { .. }, role) => {
                for target in report_targets(report, &step.nodes) {
                    list.push(Published {
                        path: format!("{}/{}", step.location, target.1),
                        role,
                        clients: vec![target.0.to_string()],
                    });
                }
            }
        }
    }
    out
}

/// `(node, NIM client name)` of the given nodes, from the redirect edits' view of the run.
fn report_targets<'r>(report: &'r Report, nodes: &'r [String]) -> Vec<(&'r str, &'r str)> {
    nodes
        .iter()
        .map(|n| {
            let nim = report
                .nim_names
                .get(n)
                .map(String::as_str)
                .unwrap_or(n.as_str());
            (n.as_str(), nim)
        })
        .collect()
}

/// Publishes to one server; the line to show, or the failure to show.
pub fn publish(
    remote: &Remote,
    config: &ServerConfig,
    sn: &str,
    sysroot: &Sysroot,
    paths: &[Published],
) -> Result<String, String> {
    let local = SnExports::read_under(&sysroot.local("/"))
        .map_err(|e| format!("{}: FAILED: {e}", config.name))?;
    exports::publish(remote, &config.exports, sn, paths, &local, false)
        .map(|r| r.to_string())
        .map_err(|e| format!("{}: FAILED: {e}", config.name))
}
