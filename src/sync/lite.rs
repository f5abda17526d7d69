//! AIX statelite in syncaixres: for nodes with a `statelite` row, syncstatelite's statemnt and
//! litetree steps (planned and run by [`crate::statelite`]), and the shared_roots' tables checked.
//!
//! The statemnt directory is created on the server when missing and nothing below it is ever
//! touched; litetree directories are copied from this SN or checked on the server; both are
//! exported with the AIX roles (root allowed, `insecure`). `mkdsklsnode` freezes each server as
//! an address into `statelite.table` and `litetree.table` at the top of the shared_root
//! (statelite.md §6): a row naming another address than the node's nfsserver is reported, since
//! the node mounts from there whatever the tables say now.

use std::collections::BTreeMap;

use serde::Serialize;

use super::context::{Context, SyncError};
use super::execute::Executor as Engine;
use super::inventory::{RootKind, Target};
use super::servers::{Server, Servers};
use super::step::{NodeFailure, Verification};
use crate::aix::litetables;
use crate::exports::Published;
use crate::host;
use crate::mounts::{self, Os};
use crate::statelite::execute::{self, Executor, StepResult};
use crate::statelite::facts::HostFacts;
use crate::statelite::plan::{self, Finding, Plan};

/// The statelite part of a syncaixres run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Lite {
    /// Nodes whose statelite rows cannot be used, and why.
    pub failed: Vec<NodeFailure>,
    pub plan: Plan,
    pub results: Vec<StepResult>,
    /// What the shared_roots' statelite tables say that an admin must know.
    pub tables: Vec<Finding>,
}

impl Lite {
    /// Per node, what failed: its statelite rows, a refusal, a step (by its label).
    pub fn failures(&self) -> Vec<(&str, &str)> {
        let rows = self
            .failed
            .iter()
            .map(|f| (f.node.as_str(), f.message.as_str()));
        let refused = self
            .plan
            .findings
            .iter()
            .filter(|f| f.failure)
            .map(|f| (f.subject.as_str(), f.message.as_str()));
        let steps = self
            .results
            .iter()
            .filter(|r| !r.ok)
            .flat_map(|r| r.nodes.iter().map(|n| (n.as_str(), r.label.as_str())));
        rows.chain(refused).chain(steps).collect()
    }

    /// What succeeded steps made available, per server, for the exports; clients as node
    /// names, which the exports keep where the server resolves them and otherwise write as
    /// the nodes' addresses (see the `clients` setting of `exports`).
    pub fn published(&self) -> BTreeMap<String, Vec<Published>> {
        super::exports_step::by_server(
            self.results
                .iter()
                .map(|r| (r.server.as_str(), r.publish.as_slice())),
        )
    }
}

/// Plans the statelite part for `targets` (after the NIM plan): their mounts as xCAT computes
/// them, the steps for the AIX nodes with a statelite row, and the shared_roots' tables read.
pub fn plan(ctx: &Context<'_>, targets: &[Target], servers: &Servers) -> Result<Lite, SyncError> {
    let nodes = with_statelite_row(ctx, targets)?;
    let model = mounts::gather(
        ctx.resolver,
        &nodes,
        &mounts::Options {
            image: None,
            nim: Some(ctx.nim),
        },
    )?;
    let mut lite = Lite::default();
    for f in &model.failed {
        // A node xCAT does not see as AIX is not an AIX statelite node.
        let os = ctx.resolver.attr(&f.node, "nodetype", "os").ok().flatten();
        if os.is_some_and(|os| os.eq_ignore_ascii_case("aix")) {
            lite.failed.push(NodeFailure {
                node: f.node.clone(),
                message: format!("statelite: {}", f.message),
            });
        }
    }
    let server_of: BTreeMap<&str, &str> = targets
        .iter()
        .map(|t| (t.node.as_str(), t.server.as_str()))
        .collect();
    let lite_targets: Vec<plan::Target<'_>> = model
        .nodes
        .iter()
        .filter(|n| n.os == Os::Aix && n.statemnt.is_some())
        .filter_map(|n| {
            Some(plan::Target {
                node: n,
                server: server_of.get(n.node.as_str())?.to_string(),
            })
        })
        .collect();
    let facts = HostFacts::new(ctx.sysroot);
    lite.plan = plan::plan_lite(&lite_targets, &facts, &|a, b| host::same_host(a, b));
    lite.tables = tables(ctx, targets, servers);
    Ok(lite)
}

/// The targets that may have statelite parts: those whose `statelite` row lookup finds a
/// value or fails (the failure is reported by the mounts model). A target without a row gets
/// only the NIM mounts the inventory has already checked, so computing its mounts again
/// (several attribute lookups per node) would find nothing new; without a `statelite` table
/// no target has one.
fn with_statelite_row(ctx: &Context<'_>, targets: &[Target]) -> Result<Vec<String>, SyncError> {
    let r = ctx.resolver;
    if r.db().optional_table("statelite")?.is_none() {
        return Ok(Vec::new());
    }
    Ok(targets
        .iter()
        .filter(|t| !matches!(r.attr(&t.node, "statelite", "statemnt"), Ok(None)))
        .map(|t| t.node.clone())
        .collect())
}

/// Runs the steps on the engine's servers and pool (after the NIM steps); `always` compares
/// every copy again, not only those that changed something.
pub fn run(engine: &Engine<'_>, sn: &str, lite: &mut Lite, always: bool) {
    let executor = executor(engine, sn, always);
    lite.results = executor.run(&lite.plan.steps);
}

/// The copies compared again by [`run`] (see [`execute::verifications`]), as the engine's
/// verifications.
pub fn verifications(lite: &Lite) -> Vec<Verification> {
    execute::verifications(&lite.plan.steps, &lite.results)
        .into_iter()
        .map(|(step, v)| Verification {
            server: step.server.clone(),
            label: step.label.clone(),
            differences: v.as_ref().ok().map(|n| *n as usize),
            error: v.err(),
            items: Vec::new(),
        })
        .collect()
}

/// The plan as text, for `--dry-run`.
pub fn plan_lines(engine: &Engine<'_>, sn: &str, lite: &Lite) -> Vec<String> {
    executor(engine, sn, false).plan_lines(&lite.plan)
}

/// AIX statelite's litetree copies are small: compared in full every run, not recorded.
fn executor<'a>(engine: &Engine<'a>, sn: &str, always: bool) -> Executor<'a> {
    Executor {
        engine: engine.without_progress(),
        owner: format!("syncaixres on {sn} (pid {})", std::process::id()),
        compare_all: always,
        records: None,
    }
}

/// The statelite tables of each shared_root of `targets`, checked for their nodes: a server
/// address other than the node's nfsserver, and lines that are no rows.
fn tables(ctx: &Context<'_>, targets: &[Target], servers: &Servers) -> Vec<Finding> {
    let mut by_root: BTreeMap<&str, Vec<&Target>> = BTreeMap::new();
    for t in targets {
        if let RootKind::Shared(r) = &t.root {
            by_root.entry(r.location.as_str()).or_default().push(t);
        }
    }
    let mut out = Vec::new();
    for (root, ts) in by_root {
        for (name, what) in [
            ("statelite.table", "statemnt"),
            ("litetree.table", "litetree"),
        ] {
            let path = format!("{}/{name}", root.trim_end_matches('/'));
            let Ok(text) = std::fs::read_to_string(ctx.sysroot.local(&path)) else {
                continue;
            };
            let table = litetables::parse(&text);
            for (line, raw) in &table.unknown {
                out.push(Finding {
                    subject: path.clone(),
                    message: format!("line {line} is not a table row, ignored: `{raw}`"),
                    failure: false,
                });
            }
            for t in &ts {
                let Some(server) = servers.get(&t.server) else {
                    continue;
                };
                for row in table.rows_of(&t.node) {
                    let Some(ip) = row.server.as_deref() else {
                        continue;
                    };
                    if !is_server(ip, server) {
                        out.push(Finding {
                            subject: t.node.clone(),
                            message: format!(
                                "{path} line {}: its {what} {} is mounted from {ip}, not from its nfsserver {} ({}): not highly available; run mkdsklsnode again once the statelite tables name $noderes.nfsserver",
                                row.line, row.dir, server.name, server.address.ip
                            ),
                            failure: false,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Whether the address in a table is the server's: the address its nodes are told, or one
/// its name resolves to here.
fn is_server(ip: &str, server: &Server) -> bool {
    ip == server.address.ip || host::same_host(ip, &server.name)
}
