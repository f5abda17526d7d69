//! syncstatelite's plan as pure data: per image and server one copy of the image (or of the
//! RAMdisk files), statemnt directories to create, litetree copies or checks, litefile checks,
//! refusals with their reason, findings, and the paths to export to which nodes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::facts::Facts;
use crate::exports::{Published, Role};
use crate::mounts::{lite, NodeMounts, Os};
use crate::sync::context::DirState;

/// What the node needs in its image to boot past the initrd (PP:35-51, SL:823-998).
pub const BOOT_NEEDS: [(&str, bool); 3] = [
    ("/.statelite", true),
    ("/etc/init.d/statelite", false),
    ("/.default", true),
];

/// The RAMdisk image and its optional metadata, in `<rootimgdir>/`.
pub const RAMDISK_FILES: [&str; 2] = ["rootimg-statelite.gz", "rootimg-statelite.gz.metainfo"];

/// A node to put on its external server: its mounts, and the server (`noderes.nfsserver`).
#[derive(Clone, Debug)]
pub struct Target<'m> {
    pub node: &'m NodeMounts,
    pub server: String,
}

/// One thing to do on a server.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub server: String,
    /// Short name for output: `rootimg rhels8-...`, `statemnt`, `litetree /x`.
    pub label: String,
    pub nodes: Vec<String>,
    pub kind: StepKind,
    /// What the nodes mount from it once the step succeeded.
    pub publish: Vec<Published>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// rsync `source/` (this host) to `dest/` (server), under the server lock `lock`;
    /// `files` limits it to those names at the top (RAMdisk), `delete` only inside `dest`.
    Copy {
        source: String,
        dest: String,
        delete: bool,
        files: Vec<String>,
        lock: String,
    },
    /// This host reads the server's own files: nothing to copy.
    SameFiles { path: String },
    /// Directories created when missing, never touched below.
    Mkdir { dirs: Vec<String> },
    /// Directories that must exist on the server.
    Check { dirs: Vec<String> },
    /// litefile entries that want a litetree copy: reported when no candidate exists.
    Litefile { checks: Vec<LitefileCheck> },
    /// Not done, and why; the server's copy is kept.
    Refused { reason: String },
}

/// A litefile entry of one node's image and where the node would look for it.
#[derive(Clone, Debug, Serialize)]
pub struct LitefileCheck {
    pub image: String,
    pub node: String,
    pub file: String,
    pub options: String,
    /// `<litetree dir><file>` on the server, in priority order.
    pub candidates: Vec<String>,
}

/// Something an admin must know, per node or image; `failure` marks what makes the run fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub subject: String,
    pub message: String,
    pub failure: bool,
}

impl Finding {
    /// `<subject>: FAILED|warning: <message>`.
    pub fn line(&self) -> String {
        let level = if self.failure { "FAILED" } else { "warning" };
        format!("{}: {level}: {}", self.subject, self.message)
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub findings: Vec<Finding>,
}

/// The server lock of one image directory: a sibling directory, since the image may be
/// served to nodes and must not hold anything else.
pub fn lock_for(dir: &str) -> String {
    format!("{}.extnfs-lock", dir.trim_end_matches('/'))
}

/// Plans the work for `targets`. `same_host` says whether two server names are one host.
pub fn plan(
    targets: &[Target<'_>],
    facts: &dyn Facts,
    same_host: &dyn Fn(&str, &str) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    images(targets, facts, &mut plan);
    let lite = plan_lite(targets, facts, same_host);
    plan.steps.extend(lite.steps);
    plan.findings.extend(lite.findings);
    plan
}

/// Plans the statemnt and litetree parts only (AIX statelite nodes, whose image is NIM's):
/// statemnt directories to create, litetree copies or checks, litefile checks. Their
/// exports take the role for each node's operating system ([`Role::statelite`]).
pub fn plan_lite(
    targets: &[Target<'_>],
    facts: &dyn Facts,
    same_host: &dyn Fn(&str, &str) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    statemnt(targets, same_host, &mut plan);
    litetree(targets, facts, same_host, &mut plan);
    plan
}

/// A node and whether it is AIX (its exports need `insecure`).
type Client = (String, bool);

fn client(t: &Target<'_>) -> Client {
    (t.node.node.clone(), t.node.os == Os::Aix)
}

fn names(clients: &[Client]) -> Vec<String> {
    let set: BTreeSet<&String> = clients.iter().map(|(n, _)| n).collect();
    set.into_iter().cloned().collect()
}

/// A path for its nodes, one entry per role their operating systems need.
fn published_for(path: &str, role: Role, clients: &[Client]) -> Vec<Published> {
    [false, true]
        .into_iter()
        .filter_map(|aix| {
            let nodes: Vec<String> = clients
                .iter()
                .filter(|(_, a)| *a == aix)
                .map(|(n, _)| n.clone())
                .collect();
            (!nodes.is_empty()).then(|| Published {
                path: path.to_string(),
                role: role.statelite(aix),
                clients: nodes,
            })
        })
        .collect()
}

fn nodes_of(ts: &[&Target<'_>]) -> Vec<String> {
    let set: BTreeSet<String> = ts.iter().map(|t| t.node.node.clone()).collect();
    set.into_iter().collect()
}

fn published(path: &str, role: Role, nodes: &[String]) -> Vec<Published> {
    vec![Published {
        path: path.to_string(),
        role,
        clients: nodes.to_vec(),
    }]
}

/// One copy per server and image directory P (NFS root) or rootimgdir (RAMdisk).
fn images(targets: &[Target<'_>], facts: &dyn Facts, plan: &mut Plan) {
    let mut groups: BTreeMap<(String, String, bool), Vec<&Target<'_>>> = BTreeMap::new();
    for t in targets {
        let Some(img) = &t.node.linux else { continue };
        let dir = match img.ramdisk {
            true => img.rootimgdir.clone(),
            false => img.nfs_dir.clone(),
        };
        groups
            .entry((t.server.clone(), dir, img.ramdisk))
            .or_default()
            .push(t);
    }
    for ((server, dir, ramdisk), ts) in groups {
        let nodes = nodes_of(&ts);
        let sources: BTreeSet<&str> = ts
            .iter()
            .filter_map(|t| t.node.linux.as_ref())
            .map(|i| i.rootimgdir.as_str())
            .collect();
        let names: BTreeSet<&str> = ts.iter().map(|t| t.node.image.as_str()).collect();
        let names: Vec<&str> = names.into_iter().collect();
        let label = format!(
            "{} {}",
            if ramdisk { "ramdisk" } else { "rootimg" },
            names.join(",")
        );
        let mut step = Step {
            server: server.clone(),
            label,
            nodes: nodes.clone(),
            kind: StepKind::Refused {
                reason: String::new(),
            },
            publish: Vec::new(),
        };
        step.kind = if sources.len() > 1 {
            StepKind::Refused {
                reason: format!(
                    "images {} come from different directories ({}) but nodes mount them all from {dir} (noderes.nfsdir): one would overwrite the other",
                    names.join(", "),
                    sources.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            }
        } else if ramdisk {
            ramdisk_kind(&dir, &server, facts)
        } else {
            let rootimgdir = sources.iter().next().copied().unwrap_or_default();
            step.publish = published(&format!("{dir}/rootimg"), Role::Rootimg, &nodes);
            rootimg_kind(rootimgdir, &dir, &server, facts)
        };
        if let StepKind::Refused { reason } = &step.kind {
            for n in &nodes {
                plan.findings.push(Finding {
                    subject: n.clone(),
                    message: format!("{}: refused: {reason}", step.label),
                    failure: true,
                });
            }
        }
        plan.steps.push(step);
    }
}

fn rootimg_kind(rootimgdir: &str, p: &str, server: &str, facts: &dyn Facts) -> StepKind {
    let source = format!("{rootimgdir}/rootimg");
    let refuse = |reason: String| StepKind::Refused { reason };
    match facts.dir(&source) {
        DirState::Missing => return refuse(format!("{source} does not exist on this host")),
        DirState::Empty => return refuse(format!("{source} is empty on this host")),
        DirState::Full => {}
    }
    let inside = facts.mounts_inside(&source);
    if !inside.is_empty() {
        return refuse(format!(
            "file systems are mounted inside {source} ({}): unmount them first, they are not part of the image",
            inside.join(", ")
        ));
    }
    let missing: Vec<&str> = BOOT_NEEDS
        .iter()
        .filter(|(p, is_dir)| {
            let path = format!("{source}{p}");
            match is_dir {
                true => facts.dir(&path) == DirState::Missing,
                false => !facts.file(&path),
            }
        })
        .map(|(p, _)| *p)
        .collect();
    if !missing.is_empty() {
        return refuse(format!(
            "{source} lacks {}: the node would drop to a shell at boot (run liteimg)",
            missing.join(", ")
        ));
    }
    let dest = format!("{p}/rootimg");
    if facts.same_files(&source, server) && source == dest {
        return StepKind::SameFiles { path: source };
    }
    StepKind::Copy {
        source,
        dest,
        delete: true,
        files: Vec::new(),
        lock: lock_for(p),
    }
}

fn ramdisk_kind(rootimgdir: &str, server: &str, facts: &dyn Facts) -> StepKind {
    let gz = format!("{rootimgdir}/{}", RAMDISK_FILES[0]);
    if !facts.file(&gz) {
        return StepKind::Refused {
            reason: format!("{gz} does not exist on this host (run liteimg, then packimage)"),
        };
    }
    if facts.same_files(rootimgdir, server) {
        return StepKind::SameFiles {
            path: rootimgdir.to_string(),
        };
    }
    let files = RAMDISK_FILES
        .iter()
        .filter(|f| facts.file(&format!("{rootimgdir}/{f}")))
        .map(|f| f.to_string())
        .collect();
    StepKind::Copy {
        source: rootimgdir.to_string(),
        dest: rootimgdir.to_string(),
        delete: false,
        files,
        lock: lock_for(rootimgdir),
    }
}

/// One mkdir step per server for the usable statemnt directories it serves; the problems of
/// the others reported per node.
fn statemnt(targets: &[Target<'_>], same_host: &dyn Fn(&str, &str) -> bool, plan: &mut Plan) {
    let mut dirs: BTreeMap<String, BTreeMap<String, Vec<Client>>> = BTreeMap::new();
    for t in targets {
        let n = t.node;
        let working = match &n.statemnt {
            None => {
                plan.findings.push(Finding {
                    subject: n.node.clone(),
                    message: "no statelite row: no statemnt, persistent files live in memory (lost at reboot)".into(),
                    failure: false,
                });
                false
            }
            Some(s) => {
                if let Some(p) = &s.problem {
                    plan.findings.push(Finding {
                        subject: n.node.clone(),
                        message: format!("statemnt: {p}"),
                        failure: false,
                    });
                }
                match (&s.server, s.usable) {
                    (Some(host), true) if same_host(host, &t.server) => {
                        dirs.entry(t.server.clone())
                            .or_default()
                            .entry(s.dir.clone())
                            .or_default()
                            .push(client(t));
                        true
                    }
                    (Some(host), true) => {
                        plan.findings.push(Finding {
                            subject: n.node.clone(),
                            message: format!(
                                "statemnt {host}:{} is served by {host}, not by the external server {}: not highly available",
                                s.dir, t.server
                            ),
                            failure: false,
                        });
                        true
                    }
                    _ => false,
                }
            }
        };
        if !working {
            let persistent: Vec<&str> = n
                .litefile
                .iter()
                .filter(|f| lite::is_persistent(&f.options))
                .map(|f| f.path.as_str())
                .collect();
            if !persistent.is_empty() {
                plan.findings.push(Finding {
                    subject: n.node.clone(),
                    message: format!(
                        "persistent litefile entries without a working statemnt: {}",
                        persistent.join(" ")
                    ),
                    failure: false,
                });
            }
        }
    }
    for (server, by_dir) in dirs {
        let all: Vec<Client> = by_dir.values().flatten().cloned().collect();
        plan.steps.push(Step {
            server,
            label: "statemnt".into(),
            nodes: names(&all),
            kind: StepKind::Mkdir {
                dirs: by_dir.keys().cloned().collect(),
            },
            publish: by_dir
                .iter()
                .flat_map(|(d, cs)| published_for(d, Role::Statemnt, cs))
                .collect(),
        });
    }
}

/// litetree directories on the external server: copied from this host (the master copy) or
/// checked there; others reported as not highly available; then litefile checks.
fn litetree(
    targets: &[Target<'_>],
    facts: &dyn Facts,
    same_host: &dyn Fn(&str, &str) -> bool,
    plan: &mut Plan,
) {
    let mut dirs: BTreeMap<(String, String), Vec<Client>> = BTreeMap::new();
    let mut checks: BTreeMap<String, Vec<LitefileCheck>> = BTreeMap::new();
    let mut elsewhere: BTreeSet<(String, String, String)> = BTreeSet::new();
    for t in targets {
        let n = t.node;
        let mut trees = Vec::new();
        for lt in &n.litetree {
            let Some(host) = &lt.server else { continue };
            if same_host(host, &t.server) {
                dirs.entry((t.server.clone(), lt.dir.clone()))
                    .or_default()
                    .push(client(t));
                trees.push(lt.dir.clone());
            } else {
                elsewhere.insert((n.node.clone(), host.clone(), lt.dir.clone()));
            }
        }
        for f in n
            .litefile
            .iter()
            .filter(|f| lite::wants_litetree(&f.options))
        {
            checks
                .entry(t.server.clone())
                .or_default()
                .push(LitefileCheck {
                    image: n.image.clone(),
                    node: n.node.clone(),
                    file: f.path.clone(),
                    options: f.options.clone(),
                    candidates: trees
                        .iter()
                        .map(|d| {
                            format!(
                                "{}{}",
                                d.trim_end_matches('/'),
                                f.path.trim_end_matches('/')
                            )
                        })
                        .collect(),
                });
        }
    }
    for (node, host, dir) in elsewhere {
        plan.findings.push(Finding {
            subject: node,
            message: format!(
                "litetree {host}:{dir} is not on the external server: not highly available"
            ),
            failure: false,
        });
    }
    let mut to_check: BTreeMap<String, BTreeMap<String, Vec<Client>>> = BTreeMap::new();
    for ((server, dir), clients) in dirs {
        let publish = published_for(&dir, Role::Litetree, &clients);
        let nodes = names(&clients);
        let kind = if facts.same_files(&dir, &server) {
            Some(StepKind::SameFiles { path: dir.clone() })
        } else if facts.dir(&dir) == DirState::Full {
            Some(StepKind::Copy {
                source: dir.clone(),
                dest: dir.clone(),
                delete: true,
                files: Vec::new(),
                lock: lock_for(&dir),
            })
        } else {
            None
        };
        match kind {
            Some(kind) => plan.steps.push(Step {
                server,
                label: format!("litetree {dir}"),
                nodes,
                kind,
                publish,
            }),
            None => {
                to_check.entry(server).or_default().insert(dir, clients);
            }
        }
    }
    for (server, by_dir) in to_check {
        let all: Vec<Client> = by_dir.values().flatten().cloned().collect();
        plan.steps.push(Step {
            server,
            label: "litetree check".into(),
            nodes: names(&all),
            kind: StepKind::Check {
                dirs: by_dir.keys().cloned().collect(),
            },
            publish: by_dir
                .iter()
                .flat_map(|(d, cs)| published_for(d, Role::Litetree, cs))
                .collect(),
        });
    }
    for (server, checks) in checks {
        let nodes: BTreeSet<String> = checks.iter().map(|c| c.node.clone()).collect();
        plan.steps.push(Step {
            server,
            label: "litefile check".into(),
            nodes: nodes.into_iter().collect(),
            kind: StepKind::Litefile { checks },
            publish: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests;
