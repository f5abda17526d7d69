//! Planning as pure data: which rsync runs, allocations and removals bring the server to this
//! SN's state. One step per resource and server, never per node; deletion only in this SN's scope.

use std::collections::BTreeMap;

use serde::Serialize;

use super::inventory::{NodeFailure, RootKind, Target};
use crate::config::{PagingMode, ServerConfig};
use crate::exports::Role;
use crate::remote::Remote;
use crate::rsync::Job;

/// Whether a local directory exists and has anything in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirState {
    Missing,
    Empty,
    Full,
}

/// What planning needs to know about the SN's files.
pub trait Facts {
    fn dir(&self, path: &str) -> DirState;
    fn file(&self, path: &str) -> bool;
}

/// One thing to do on a server.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub server: String,
    pub role: Role,
    /// The NIM resource, or `-` for removals.
    pub resource: String,
    /// The resource's directory (same path on SN and server).
    pub location: String,
    /// Short name for output: `spot 71Bcosi`.
    pub label: String,
    pub nodes: Vec<String>,
    pub kind: StepKind,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// An rsync run.
    Rsync(Job),
    /// Paging files created on the server as sparse files of the SN's sizes (no data copied).
    Allocate { dirs: Vec<String> },
    /// Per-node data deleted from the server.
    Remove { entries: Vec<RemoveEntry> },
    /// A resource that must not be synced, and why (the server's copy is kept).
    Refused { reason: String },
}

/// What kind of step a result comes from, without the step's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Rsync,
    Allocate,
    Remove,
    Refused,
}

impl StepKind {
    pub fn kind(&self) -> Kind {
        match self {
            StepKind::Rsync(_) => Kind::Rsync,
            StepKind::Allocate { .. } => Kind::Allocate,
            StepKind::Remove { .. } => Kind::Remove,
            StepKind::Refused { .. } => Kind::Refused,
        }
    }
}

/// Something removal deletes on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveEntry {
    /// A node's own directory.
    Dir(String),
    /// The files `<dir>/*.<suffix>` (a node's `.client_data` files).
    Files { dir: String, suffix: String },
}

/// Everything to do, and the nodes that cannot be done.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub failed: Vec<NodeFailure>,
}

/// The receiver's scratch directory for rsync: outside every synced tree, so that a
/// `--delete` run from another SN never removes this run's temporary files.
pub fn temp_dir(installdir: &str) -> String {
    format!("{}/.xcat-extnfs.tmp", installdir.trim_end_matches('/'))
}

struct Group<'a> {
    server: &'a str,
    location: &'a str,
    resource: &'a str,
    targets: Vec<&'a Target>,
}

/// Groups targets by server and resource directory, in a stable order.
fn groups<'a>(
    targets: &'a [Target],
    pick: impl Fn(&'a Target) -> Option<(&'a str, &'a str)>,
) -> Vec<Group<'a>> {
    let mut map: BTreeMap<(&str, &str), Group<'a>> = BTreeMap::new();
    for t in targets {
        if let Some((name, location)) = pick(t) {
            map.entry((t.server.as_str(), location))
                .or_insert_with(|| Group {
                    server: &t.server,
                    location,
                    resource: name,
                    targets: Vec::new(),
                })
                .targets
                .push(t);
        }
    }
    map.into_values().collect()
}

/// Plans a sync of `targets` (after their redirect edits).
pub fn plan_sync(
    targets: &[Target],
    facts: &dyn Facts,
    servers: &BTreeMap<String, ServerConfig>,
    remotes: &BTreeMap<String, Remote>,
    installdir: &str,
) -> Plan {
    let mut p = Planner {
        plan: Plan::default(),
        remotes,
        servers,
        temp: temp_dir(installdir),
    };
    for g in groups(targets, |t| Some((&t.spot.name, &t.spot.location))) {
        p.whole_tree(&g, facts, Role::Spot, "spot", Vec::new());
    }
    for g in groups(targets, |t| match &t.root {
        RootKind::Own(r) => Some((&r.name, &r.location)),
        RootKind::Shared(_) => None,
    }) {
        p.client_dirs(&g, facts, Role::Root, "root", |t| Some(&t.nim), false);
    }
    for g in groups(targets, |t| match &t.root {
        RootKind::Shared(r) => Some((&r.name, &r.location)),
        RootKind::Own(_) => None,
    }) {
        p.shared_root(&g, facts);
    }
    for g in groups(targets, |t| {
        t.paging
            .as_ref()
            .map(|r| (r.name.as_str(), r.location.as_str()))
    }) {
        match servers[g.server].paging {
            PagingMode::Off => {}
            PagingMode::Sync => {
                p.client_dirs(&g, facts, Role::Paging, "paging", |t| Some(&t.nim), false)
            }
            PagingMode::Allocate => p.allocate(&g, facts),
        }
    }
    for g in groups(targets, |t| {
        t.dump
            .as_ref()
            .map(|r| (r.name.as_str(), r.location.as_str()))
    }) {
        if servers[g.server].dump {
            p.client_dirs(&g, facts, Role::Dump, "dump", |t| Some(&t.nim), true);
        }
    }
    p.plan
}

/// Plans the removal of `targets`' per-node data (after rmdsklsnode). Both possible NIM
/// client names are removed: the NIM objects are already gone and cannot say which was used.
pub fn plan_remove(targets: &[Target], servers: &BTreeMap<String, ServerConfig>) -> Plan {
    let mut by_server: BTreeMap<&str, (Vec<RemoveEntry>, Vec<String>)> = BTreeMap::new();
    for t in targets {
        let (entries, nodes) = by_server.entry(&t.server).or_default();
        nodes.push(t.node.clone());
        let names = [t.nim.clone(), format!("{}_{}", t.nim, t.image)];
        for name in &names {
            match &t.root {
                RootKind::Own(r) => {
                    entries.push(RemoveEntry::Dir(format!("{}/{name}", r.location)))
                }
                RootKind::Shared(r) => entries.push(RemoveEntry::Files {
                    dir: format!("{}/etc/.client_data", r.location),
                    suffix: name.clone(),
                }),
            }
            if let Some(p) = &t.paging {
                entries.push(RemoveEntry::Dir(format!("{}/{name}", p.location)));
            }
            if let (Some(d), true) = (&t.dump, servers[&t.server].dump) {
                entries.push(RemoveEntry::Dir(format!("{}/{name}", d.location)));
            }
        }
    }
    let steps = by_server
        .into_iter()
        .map(|(server, (mut entries, nodes))| {
            entries.dedup();
            Step {
                server: server.to_string(),
                role: Role::Root,
                resource: "-".into(),
                location: "-".into(),
                label: format!("remove {} node(s)", nodes.len()),
                nodes,
                kind: StepKind::Remove { entries },
            }
        })
        .collect();
    Plan {
        steps,
        failed: Vec::new(),
    }
}

struct Planner<'a> {
    plan: Plan,
    remotes: &'a BTreeMap<String, Remote>,
    servers: &'a BTreeMap<String, ServerConfig>,
    temp: String,
}

impl Planner<'_> {
    fn job(&self, server: &str, location: &str, rules: Vec<String>, delete: bool) -> Job {
        let remote = &self.remotes[server];
        let config = &self.servers[server];
        Job {
            source: location.to_string(),
            dest: remote.rsync_target(location),
            rules,
            delete,
            sparse: false,
            size_only: false,
            compress: config.compress,
            temp_dir: Some(remote.path(&self.temp)),
            rsh: remote.rsync_rsh(),
            rsync_path: Some(config.rsync_path.clone()),
        }
    }

    fn step(
        &mut self,
        g: &Group<'_>,
        role: Role,
        kind_name: &str,
        nodes: Vec<String>,
        kind: StepKind,
    ) {
        self.plan.steps.push(Step {
            server: g.server.to_string(),
            role,
            resource: g.resource.to_string(),
            location: g.location.to_string(),
            label: format!("{kind_name} {}", g.resource),
            nodes,
            kind,
        });
    }

    fn nodes(g: &Group<'_>) -> Vec<String> {
        g.targets.iter().map(|t| t.node.clone()).collect()
    }

    fn fail(&mut self, node: &str, message: String) {
        self.plan.failed.push(NodeFailure {
            node: node.to_string(),
            message,
        });
    }

    /// A tree every SN has whole (SPOT, shared_root): `--delete` over all of it, refused
    /// when the SN's copy is missing or empty, since that would wipe the server's copy.
    fn whole_tree(
        &mut self,
        g: &Group<'_>,
        facts: &dyn Facts,
        role: Role,
        kind: &str,
        rules: Vec<String>,
    ) {
        let nodes = Self::nodes(g);
        match facts.dir(g.location) {
            DirState::Full => {
                let job = self.job(g.server, g.location, rules, true);
                self.step(g, role, kind, nodes, StepKind::Rsync(job));
            }
            state => {
                let reason = format!(
                    "{} is {} on this SN; not synced (with --delete it would wipe the server's copy)",
                    g.location,
                    if state == DirState::Missing { "missing" } else { "empty" }
                );
                for n in &nodes {
                    self.fail(n, format!("{kind} {}: {reason}", g.resource));
                }
                self.step(g, role, kind, nodes, StepKind::Refused { reason });
            }
        }
    }

    /// Per-node directories below one resource: only this SN's nodes' directories, deletion
    /// inside them only; every other entry on the server is excluded and so protected.
    fn client_dirs(
        &mut self,
        g: &Group<'_>,
        facts: &dyn Facts,
        role: Role,
        kind: &str,
        name: impl Fn(&Target) -> Option<&String>,
        empty_is_fine: bool,
    ) {
        let mut rules = Vec::new();
        let mut nodes = Vec::new();
        for t in &g.targets {
            let Some(dir) = name(t) else { continue };
            let path = format!("{}/{dir}", g.location);
            match facts.dir(&path) {
                DirState::Full => {
                    rules.push(format!("+ /{}/", escape(dir)));
                    nodes.push(t.node.clone());
                }
                _ if empty_is_fine => {}
                state => self.fail(
                    &t.node,
                    format!(
                        "{kind} {}: {path} is {} on this SN; not synced (the server's copy is kept)",
                        g.resource,
                        if state == DirState::Missing { "missing" } else { "empty" }
                    ),
                ),
            }
        }
        if nodes.is_empty() {
            return;
        }
        rules.push("- /*".into());
        let paging = role == Role::Paging;
        let mut job = self.job(g.server, g.location, rules, !paging);
        if paging {
            // Holes kept; a file of the right size is left alone, since a node may be paging
            // to it; no --inplace, so a failed copy never leaves a half-written file.
            job.sparse = true;
            job.size_only = true;
        }
        self.step(g, role, kind, nodes, StepKind::Rsync(job));
    }

    /// The shared_root tree with `--delete`, other SNs' `.client_data` files protected and this
    /// SN's nodes' files (`*.<nim>`) included with deletion, in one run.
    fn shared_root(&mut self, g: &Group<'_>, facts: &dyn Facts) {
        let mut rules = Vec::new();
        for t in &g.targets {
            let hosts = format!("{}/etc/.client_data/hosts.{}", g.location, t.nim);
            if facts.file(&hosts) {
                rules.push(format!("+ /etc/.client_data/*.{}", escape(&t.nim)));
            } else {
                self.fail(
                    &t.node,
                    format!(
                        "shared_root {}: {hosts} is missing on this SN; its files are not synced",
                        g.resource
                    ),
                );
            }
        }
        rules.push("- /etc/.client_data/*".into());
        rules.push("- /etc/.client_data_bkup/".into());
        let mut images: Vec<&str> = g.targets.iter().map(|t| t.image.as_str()).collect();
        images.sort();
        images.dedup();
        for image in images {
            // sharedinstall=sns backups: <shared_root>/<SN>_<image>/, one per SN.
            rules.push(format!("- /*_{}/", escape(image)));
        }
        self.whole_tree(g, facts, Role::SharedRoot, "shared_root", rules);
    }

    fn allocate(&mut self, g: &Group<'_>, facts: &dyn Facts) {
        let mut dirs = Vec::new();
        let mut nodes = Vec::new();
        for t in &g.targets {
            let path = format!("{}/{}", g.location, t.nim);
            if facts.dir(&path) == DirState::Full {
                dirs.push(path);
                nodes.push(t.node.clone());
            } else {
                self.fail(
                    &t.node,
                    format!(
                        "paging {}: {path} is missing or empty on this SN",
                        g.resource
                    ),
                );
            }
        }
        if !nodes.is_empty() {
            self.step(
                g,
                Role::Paging,
                "paging",
                nodes,
                StepKind::Allocate { dirs },
            );
        }
    }
}

/// Escapes rsync wildcard characters so a name matches only itself.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
