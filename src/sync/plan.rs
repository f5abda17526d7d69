//! Planning as pure data: which rsync runs, allocations and removals bring the server to this
//! SN's state. One step per resource and server, never per node; deletion only in this SN's scope.

use std::collections::{BTreeMap, HashSet};

use super::context::{DirState, Facts};
use super::inventory::{RootKind, Target};
use super::servers::{Server, Servers};
use super::step::{temp_dir, Need, NodeFailure, Plan, RemoveEntry, Step, StepKind};
use crate::config::PagingMode;
use crate::exports::{Published, Role};
use crate::rsync::Job;

struct Group<'a> {
    server: &'a Server,
    location: &'a str,
    resource: &'a str,
    targets: Vec<&'a Target>,
}

/// Groups targets by server and resource directory, in a stable order (targets come from
/// the inventory, which resolved each one's server).
fn groups<'a>(
    targets: &'a [Target],
    servers: &'a Servers,
    pick: impl Fn(&'a Target) -> Option<(&'a str, &'a str)>,
) -> Vec<Group<'a>> {
    let mut map: BTreeMap<(&str, &str), Group<'a>> = BTreeMap::new();
    for t in targets {
        let Some(server) = servers.get(&t.server) else {
            continue;
        };
        if let Some((name, location)) = pick(t) {
            map.entry((t.server.as_str(), location))
                .or_insert_with(|| Group {
                    server,
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
    servers: &Servers,
    installdir: &str,
) -> Plan {
    let mut p = Planner {
        plan: Plan::default(),
        temp: temp_dir(installdir),
    };
    for g in groups(targets, servers, |t| Some((&t.spot.name, &t.spot.location))) {
        p.whole_tree(&g, facts, Role::Spot, "spot", Vec::new(), Vec::new());
    }
    for g in groups(targets, servers, |t| match &t.root {
        RootKind::Own(r) => Some((&r.name, &r.location)),
        RootKind::Shared(_) => None,
    }) {
        p.client_dirs(&g, facts, Role::Root, "root", false);
    }
    for g in groups(targets, servers, |t| match &t.root {
        RootKind::Shared(r) => Some((&r.name, &r.location)),
        RootKind::Own(_) => None,
    }) {
        p.shared_root(&g, facts);
    }
    for g in groups(targets, servers, |t| {
        t.paging
            .as_ref()
            .map(|r| (r.name.as_str(), r.location.as_str()))
    }) {
        match g.server.config.paging {
            PagingMode::Off => {}
            PagingMode::Sync => p.client_dirs(&g, facts, Role::Paging, "paging", false),
            PagingMode::Allocate => p.allocate(&g, facts),
        }
    }
    for g in groups(targets, servers, |t| {
        t.dump
            .as_ref()
            .map(|r| (r.name.as_str(), r.location.as_str()))
    }) {
        if g.server.config.dump {
            p.client_dirs(&g, facts, Role::Dump, "dump", true);
        }
    }
    p.plan
}

/// Plans the removal of `targets`' per-node data (after rmdsklsnode). Both possible NIM
/// client names are removed: the NIM objects are already gone and cannot say which was used.
pub fn plan_remove(targets: &[Target], servers: &Servers) -> Plan {
    let mut by_server: BTreeMap<&str, (Vec<RemoveEntry>, Vec<String>)> = BTreeMap::new();
    for t in targets {
        let Some(server) = servers.get(&t.server) else {
            continue;
        };
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
            if let (Some(d), true) = (&t.dump, server.config.dump) {
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
                covers: Vec::new(),
                needs: Vec::new(),
            }
        })
        .collect();
    Plan {
        steps,
        failed: Vec::new(),
    }
}

struct Planner {
    plan: Plan,
    temp: String,
}

impl Planner {
    fn job(&self, server: &Server, location: &str, rules: Vec<String>, delete: bool) -> Job {
        let (remote, config) = (&server.remote, &server.config);
        Job {
            rules,
            delete,
            compress: config.compress,
            temp_dir: Some(remote.path(&self.temp)),
            rsh: remote.rsync_rsh(),
            rsync_path: Some(config.rsync_path.clone()),
            ..Job::new(location, remote.rsync_target(location))
        }
    }

    fn step(
        &mut self,
        g: &Group<'_>,
        role: Role,
        kind_name: &str,
        nodes: Vec<String>,
        kind: StepKind,
        covers: Vec<Published>,
    ) {
        self.plan.steps.push(Step {
            server: g.server.name.clone(),
            role,
            resource: g.resource.to_string(),
            location: g.location.to_string(),
            label: format!("{kind_name} {}", g.resource),
            nodes,
            kind,
            // What the step covers must still be here once it ran; see `Step::needs`.
            needs: covers
                .iter()
                .map(|c| Need {
                    path: c.path.clone(),
                    nodes: c.clients.clone(),
                })
                .collect(),
            covers,
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
    /// `needs`: paths below the tree the copy is also for (see `Step::needs`).
    fn whole_tree(
        &mut self,
        g: &Group<'_>,
        facts: &dyn Facts,
        role: Role,
        kind: &str,
        rules: Vec<String>,
        needs: Vec<Need>,
    ) {
        let nodes = Self::nodes(g);
        match facts.dir(g.location) {
            DirState::Full => {
                let job = self.job(g.server, g.location, rules, true);
                let covers = vec![Published {
                    path: g.location.to_string(),
                    role,
                    clients: nodes.clone(),
                }];
                self.step(g, role, kind, nodes, StepKind::Rsync(job), covers);
                if let Some(step) = self.plan.steps.last_mut() {
                    step.needs.extend(needs);
                }
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
                self.step(
                    g,
                    role,
                    kind,
                    nodes,
                    StepKind::Refused { reason },
                    Vec::new(),
                );
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
        empty_is_fine: bool,
    ) {
        let mut only = Vec::new();
        let mut nodes = Vec::new();
        let mut covers = Vec::new();
        let (paths, states) = node_dirs(g, facts);
        for ((t, path), state) in g.targets.iter().zip(paths).zip(states) {
            match state {
                DirState::Full => {
                    only.push(format!("{}/", t.nim));
                    nodes.push(t.node.clone());
                    covers.push(client_dir(g, t, role));
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
        let paging = role == Role::Paging;
        // Only the listed directories are copied, deletion inside them only: other SNs'
        // nodes' directories beside them are never touched, and a directory that vanishes
        // from this SN after planning (NIM removing the client while the sync runs) is passed
        // over, not deleted from the server; only a removal deletes a node's copy.
        let mut job = self.job(g.server, g.location, Vec::new(), !paging);
        job.only = Some(only);
        if paging {
            // Holes kept; a file of the right size is left alone, since a node may be paging
            // to it; no --inplace, so a failed copy never leaves a half-written file.
            job.sparse = true;
            job.size_only = true;
        }
        self.step(g, role, kind, nodes, StepKind::Rsync(job), covers);
    }

    /// The shared_root tree with `--delete` but for its `.client_data` files, then this SN's
    /// nodes' own `.client_data` files (`*.<nim>`) as a list of their own (see `Job::only`):
    /// one step with an include rule per node would test every file of the tree against every
    /// node's rule. Other SNs' files are neither copied nor deleted, and neither is a file that
    /// vanishes from this SN after planning (NIM removing a client while the sync runs): only
    /// a removal deletes a node's files.
    fn shared_root(&mut self, g: &Group<'_>, facts: &dyn Facts) {
        let client_data = format!("{}/etc/.client_data", g.location);
        let mut needs = Vec::new();
        let mut nodes = Vec::new();
        let mut nims = HashSet::new();
        for t in &g.targets {
            let hosts = format!("{client_data}/hosts.{}", t.nim);
            if facts.file(&hosts) {
                needs.push(Need {
                    path: hosts,
                    nodes: vec![t.node.clone()],
                });
                nodes.push(t.node.clone());
                nims.insert(t.nim.as_str());
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
        let mut rules = vec![
            "- /etc/.client_data/*".to_string(),
            "- /etc/.client_data_bkup/".to_string(),
        ];
        let mut images: Vec<&str> = g.targets.iter().map(|t| t.image.as_str()).collect();
        images.sort();
        images.dedup();
        for image in images {
            // sharedinstall=sns backups: <shared_root>/<SN>_<image>/, one per SN.
            rules.push(format!("- /*_{}/", escape(image)));
        }
        self.whole_tree(g, facts, Role::SharedRoot, "shared_root", rules, Vec::new());
        let tree_refused = self
            .plan
            .steps
            .last()
            .is_some_and(|s| matches!(s.kind, StepKind::Refused { .. }));
        if tree_refused || nodes.is_empty() {
            return;
        }
        let mut only: Vec<String> = facts
            .names(&client_data)
            .into_iter()
            .filter(|name| client_of(name).any(|nim| nims.contains(nim)))
            .map(|name| format!("etc/.client_data/{name}"))
            .collect();
        only.sort();
        if only.is_empty() {
            // Each node has its hosts file, so an empty list means the directory could not be
            // listed: the nodes fail here, rather than a step that would copy nothing and
            // report success.
            for node in &nodes {
                self.fail(
                    node,
                    format!(
                        "shared_root {}: {client_data} cannot be listed on this SN; its files are not synced",
                        g.resource
                    ),
                );
            }
            return;
        }
        let mut job = self.job(g.server, g.location, Vec::new(), false);
        job.only = Some(only);
        self.step(
            g,
            Role::SharedRoot,
            "client_data",
            nodes,
            StepKind::Rsync(job),
            Vec::new(),
        );
        if let Some(step) = self.plan.steps.last_mut() {
            step.needs = needs;
        }
    }

    fn allocate(&mut self, g: &Group<'_>, facts: &dyn Facts) {
        let mut dirs = Vec::new();
        let mut nodes = Vec::new();
        let mut covers = Vec::new();
        let (paths, states) = node_dirs(g, facts);
        for ((t, path), state) in g.targets.iter().zip(paths).zip(states) {
            if state == DirState::Full {
                dirs.push(path);
                nodes.push(t.node.clone());
                covers.push(client_dir(g, t, Role::Paging));
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
                covers,
            );
        }
    }
}

/// The group's nodes' own directories below its resource, and the state of each, asked at
/// once.
fn node_dirs(g: &Group<'_>, facts: &dyn Facts) -> (Vec<String>, Vec<DirState>) {
    let paths: Vec<String> = (g.targets.iter())
        .map(|t| format!("{}/{}", g.location, t.nim))
        .collect();
    let states = facts.dirs(&paths);
    (paths, states)
}

/// A node's own directory below a group's resource, as its exports entry.
fn client_dir(g: &Group<'_>, t: &Target, role: Role) -> Published {
    Published {
        path: format!("{}/{}", g.location, t.nim),
        role,
        clients: vec![t.node.clone()],
    }
}

/// The NIM client names a `.client_data` file name can be for: what follows each of its dots
/// (`resolv.conf.cn001` is for `cn001` or `conf.cn001`; client names may hold dots too).
fn client_of(file: &str) -> impl Iterator<Item = &str> {
    file.match_indices('.').map(move |(i, _)| &file[i + 1..])
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
