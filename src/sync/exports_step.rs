//! After the copies: what each server now holds for this SN's nodes, published as this SN's
//! part of the server's exports (see [`crate::exports`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::context::Sysroot;
use super::execute::failure_cause;
use super::servers::Servers;
use super::step::Done;
use crate::exports::{self, ClientAddresses, LeftOut, Published, SnExports};

/// What publishing did on one server: its line, and whether it failed.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub server: String,
    pub line: String,
    pub failed: bool,
    /// Clients left out of the exports (nobody knows their address): their nodes failed,
    /// the server's other exports were applied.
    pub failed_clients: Vec<LeftOut>,
}

/// Per server with at least one step done, the paths that its successful steps cover (see
/// [`super::step::Step::covers`]); of a copy that failed only for the nodes whose sources
/// vanished, what it covers for its other nodes. After a removal the list is empty:
/// publishing it refreshes the part from the SN's exports, which no longer name the removed
/// nodes.
pub fn published(done: &[Done<'_>]) -> BTreeMap<String, Vec<Published>> {
    let mut out = by_server(
        done.iter()
            .filter(|d| d.result.ok)
            .map(|d| (d.step.server.as_str(), d.step.covers.as_slice())),
    );
    for d in done.iter().filter(|d| d.result.vanished_only) {
        let failed = &d.result.nodes;
        for c in &d.step.covers {
            let clients: Vec<String> = c
                .clients
                .iter()
                .filter(|n| !failed.contains(n))
                .cloned()
                .collect();
            if !clients.is_empty() {
                out.entry(d.step.server.clone())
                    .or_default()
                    .push(Published {
                        clients,
                        ..c.clone()
                    });
            }
        }
    }
    out
}

/// The covered paths of successful steps, given as `(server, covers)`, gathered per server.
pub fn by_server<'a>(
    covered: impl IntoIterator<Item = (&'a str, &'a [Published])>,
) -> BTreeMap<String, Vec<Published>> {
    let mut out: BTreeMap<String, Vec<Published>> = BTreeMap::new();
    for (server, covers) in covered {
        out.entry(server.to_string())
            .or_default()
            .extend(covers.iter().cloned());
    }
    out
}

/// Publishes this SN's part (named `part`, from its exports under `sysroot`) with the
/// `paths` of each server that applies exports; one outcome per such server. `addresses`
/// gives the nodes' addresses for clients a server cannot name. With `dry_run` each
/// outcome says what would change.
pub fn publish_all(
    servers: &Servers,
    part: &str,
    sysroot: &Sysroot,
    paths: &BTreeMap<String, Vec<Published>>,
    addresses: &dyn ClientAddresses,
    dry_run: bool,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (name, paths) in paths {
        let Some(server) = servers.get(name).filter(|s| s.config.exports.apply) else {
            continue;
        };
        let result = SnExports::read_under(&sysroot.local("/")).and_then(|local| {
            exports::publish(
                &server.remote,
                &server.config.exports,
                part,
                paths,
                &local,
                addresses,
                dry_run,
            )
        });
        out.push(match result {
            Ok(report) => Outcome {
                server: name.clone(),
                line: report.to_string(),
                failed: false,
                failed_clients: report.failed_clients.clone(),
            },
            Err(e) => {
                // A lost connection is told in ssh's words, not with the command and its
                // script (those go to the log).
                let lost = e
                    .command_error()
                    .and_then(|c| failure_cause(&server.remote, c));
                let line = match lost {
                    Some(cause) => {
                        log::error!("{name}: exports: {e}");
                        format!("{name}: FAILED: connection lost: {cause}")
                    }
                    None => format!("{name}: FAILED: {e}"),
                };
                Outcome {
                    server: name.clone(),
                    line,
                    failed: true,
                    failed_clients: Vec::new(),
                }
            }
        });
    }
    out
}
