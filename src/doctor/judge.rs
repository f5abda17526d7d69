//! Doctor's judgement: from the facts gathered (this host's files and tables, and what the
//! servers answer through [`ServerReads`]) to problems, each given to the nodes it concerns.
//!
//! Nothing here runs a command or opens a connection, so every check is tested on fixtures;
//! The checks module gathers the facts, and the reads module asks the servers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::findings::Findings;
use crate::config::{PagingMode, ServerConfig};
use crate::exports::{Access, Applied, ClientAccess, Role, ServerKind, Squash, Who};
use crate::mounts::{self, Kind, NodeMounts, Os};
use crate::statelite;
use crate::sync::inventory::Target;
use crate::sync::step::Step;

pub const SYNCAIXRES: &str = "syncaixres --nodes {nodes}";
pub const SYNCSTATELITE: &str = "syncstatelite --nodes {nodes}";

/// What doctor asks of an external server (by its `noderes.nfsserver` name), one call per
/// server; paths are as the nodes mount them.
pub trait ServerReads: Sync {
    /// The exports the server applies, as its kind shows them.
    fn applied(&self, server: &str) -> Result<Applied, String>;
    /// For each path asked: its size in bytes if it is a file, else `dir` (a directory with
    /// something in it), `empty` (an empty directory) or `missing`.
    fn sizes(&self, server: &str, paths: &[String]) -> Result<BTreeMap<String, String>, String>;
}

/// What a mount needs from the export: the access, root kept, unprivileged ports.
pub fn needs(m: &mounts::Mount, kind: ServerKind) -> (Access, bool, bool) {
    let access = match m.access {
        mounts::Access::Ro => Access::Ro,
        mounts::Access::Rw => Access::Rw,
    };
    let root = m.root && access == Access::Rw;
    (access, root, m.aix_client && kind == ServerKind::Linux)
}

/// What is wrong with the grant a server gives a node for a mount (`None`: nothing).
pub fn export_problem(
    m: &mounts::Mount,
    kind: ServerKind,
    grant: Option<&ClientAccess>,
) -> Option<&'static str> {
    let (access, root, insecure) = needs(m, kind);
    match grant {
        None => Some("is not exported to the node: it cannot mount it"),
        Some(g) if g.access < access => {
            Some("is exported read-only to the node, which needs read-write")
        }
        Some(g) if root && g.squash != Squash::None => {
            Some("squashes root for the node, which writes as root")
        }
        Some(g) if insecure && !g.insecure => {
            Some("is exported without insecure: an AIX client's unprivileged ports are refused")
        }
        Some(_) => None,
    }
}

/// Every mount of every node against the exports its server applies (`applied`, one read
/// per server). `ip_of` gives a node's address; `same` says whether two names are one host.
pub fn exports(
    on: &BTreeMap<String, Vec<&NodeMounts>>,
    configs: &BTreeMap<String, ServerConfig>,
    applied: &BTreeMap<String, Result<Applied, String>>,
    ip_of: &dyn Fn(&str) -> Option<IpAddr>,
    same: &dyn Fn(&str, &str) -> bool,
    f: &mut Findings,
) {
    for (server, read) in applied {
        let Some(config) = configs.get(server) else {
            continue;
        };
        let nodes = on.get(server).map(Vec::as_slice).unwrap_or_default();
        let fix = format!("extnfs exports apply --server {server} (on the nodes' SN)");
        let applied = match read {
            Ok(a) => a,
            Err(e) => {
                f.add(
                    "exports",
                    format!(
                        "the exports {server} applies cannot be read ({} server): {e}",
                        config.exports.kind
                    ),
                    fix,
                    nodes.iter().map(|n| n.node.clone()),
                );
                continue;
            }
        };
        let kind = config.exports.kind;
        let applied = applied.index();
        for n in nodes {
            let who = Who {
                names: vec![n.node.as_str()],
                ip: ip_of(&n.node),
            };
            for m in n.mounts.iter().filter(|m| same(&m.server, server)) {
                if m.kind == Kind::Dump && !config.dump {
                    continue;
                }
                if m.kind == Kind::Paging && config.paging == PagingMode::Off {
                    continue;
                }
                if let Some(p) = export_problem(m, kind, applied.grant(&m.path, &who)) {
                    f.add(
                        "exports",
                        format!("{} on {server}: the path {p}", m.kind.name()),
                        fix.clone(),
                        [n.node.clone()],
                    );
                }
            }
        }
    }
}

/// A Linux statelite node's redirection: the image server on its kernel command line (R4)
/// and each of its mounts must be the external server `ext`.
pub fn linux_redirection(
    n: &NodeMounts,
    ext: &str,
    same: &dyn Fn(&str, &str) -> bool,
    f: &mut Findings,
) {
    if !same(&n.server, ext) {
        f.add(
            "redirection",
            format!("the kernel command line names {} as the image server, not {ext}: the node goes down with its SN", n.server),
            format!("chdef -t node -o {{nodes}} nfsserver={ext}, then nodeset {{nodes}} osimage"),
            [n.node.clone()],
        );
    }
    for m in n.mounts.iter().filter(|m| !same(&m.server, ext)) {
        let table = match m.kind {
            Kind::Statemnt => "statelite",
            _ => "litetree",
        };
        f.add(
            "redirection",
            format!(
                "{} is mounted from {}, not from the external server {ext}: the node goes down with it",
                m.kind.name(),
                m.server
            ),
            format!("point the {} entry of {{nodes}} at {ext} (tabedit {table})", m.kind.name()),
            [n.node.clone()],
        );
    }
}

/// The nodes a statelite finding concerns: its subject is a node, or an image (all its nodes).
pub fn statelite_subjects(subject: &str, nodes: &[&NodeMounts]) -> Vec<String> {
    match nodes.iter().any(|n| n.node == subject) {
        true => vec![subject.to_string()],
        false => nodes
            .iter()
            .filter(|n| n.image == subject)
            .map(|n| n.node.clone())
            .collect(),
    }
}

/// The statelite plan's findings (what this host's images and tables lack), each given to
/// its nodes.
pub fn statelite_findings(
    findings: &[statelite::plan::Finding],
    nodes: &[&NodeMounts],
    f: &mut Findings,
) {
    for finding in findings {
        f.add(
            "statelite",
            finding.message.clone(),
            SYNCSTATELITE.into(),
            statelite_subjects(&finding.subject, nodes),
        );
    }
}

/// litefile entries that want a litetree copy (`ro`, `link,ro`, `con`, `link,con`) and that
/// no litetree directory of the node holds on `server` (an empty directory counts as absent,
/// as for the node): the node then gets the image's `.default` copy, not the site's. Each is
/// given to exactly the nodes whose entry it is; the fix removes the entry as `chtab` spells
/// it (putting the file into a litetree directory clears it too).
pub fn litefile(
    server: &str,
    checks: &[statelite::plan::LitefileCheck],
    nodes: &[&NodeMounts],
    reads: &dyn ServerReads,
    f: &mut Findings,
) {
    let asked: BTreeSet<&String> = checks.iter().flat_map(|c| &c.candidates).collect();
    let asked: Vec<String> = asked.into_iter().cloned().collect();
    let sizes = match asked.is_empty() {
        true => BTreeMap::new(),
        false => match reads.sizes(server, &asked) {
            Ok(s) => s,
            Err(e) => {
                f.add(
                    "statelite",
                    format!("the litetree directories on {server} cannot be listed: {e}"),
                    SYNCSTATELITE.into(),
                    checks.iter().map(|c| c.node.clone()),
                );
                return;
            }
        },
    };
    let holds = |p: &String| sizes.get(p).is_some_and(|s| s != "missing" && s != "empty");
    let by_name: BTreeMap<&str, &NodeMounts> =
        nodes.iter().map(|n| (n.node.as_str(), *n)).collect();
    let row_of = |node: &str, file: &str| {
        by_name
            .get(node)
            .and_then(|n| n.litefile.iter().find(|l| l.path == file))
            .map(|l| l.from.clone())
            .unwrap_or_default()
    };
    for c in checks.iter().filter(|c| !c.candidates.iter().any(holds)) {
        let remove = remove_litefile_row(&row_of(&c.node, &c.file), &c.file);
        f.add(
            "statelite",
            format!(
                "litefile {file} ({options}) of image {image} is in no litetree directory on {server}: the node gets the image's .default copy instead",
                file = c.file,
                options = c.options,
                image = c.image,
            ),
            format!(
                "{remove} (or put {file} into a litetree directory of the node on {server})",
                file = c.file
            ),
            [c.node.clone()],
        );
    }
}

/// How the admin removes the litefile row of `image` and `file`. `chtab -d` takes the keys
/// in one argument, `key=value` pairs joined by commas (a second argument would be read as
/// a table name, and the rows of every file of the image deleted); it splits that argument
/// at every `,` and a pair at its last `=`, so a row whose key it cannot spell, or whose
/// image is blank (deleting by `file=` alone would take the rows of every image), is left
/// to tabedit.
pub fn remove_litefile_row(image: &str, file: &str) -> String {
    let spellable = |v: &str| !v.is_empty() && !v.contains([',', '=']);
    match spellable(image) && spellable(file) {
        true => format!(
            "chtab -d {} litefile",
            crate::process::quote(&format!("image={image},file={file}"))
        ),
        false => format!("tabedit litefile, removing the row of image `{image}` and file `{file}`"),
    }
}

/// The nodes whose files an `rsync -n` comparison of one synced scope found different:
/// a node's own root by its top directory, a shared_root's `.client_data` file by its
/// suffix; a difference in a SPOT or anywhere else concerns every node of the scope.
pub fn content_owners(step: &Step, items: &[String], targets: &[Target]) -> BTreeSet<String> {
    let by_nim: BTreeMap<&str, &str> = targets
        .iter()
        .filter(|t| t.server == step.server)
        .map(|t| (t.nim.as_str(), t.node.as_str()))
        .collect();
    let mut nodes = BTreeSet::new();
    for item in items.iter().filter(|i| i.as_str() != "./") {
        let top = item.split('/').next().unwrap_or("");
        let owner = match step.role {
            // `<name>.<nim>`: the client's name after one of the dots.
            Role::SharedRoot => item.strip_prefix("etc/.client_data/").and_then(|file| {
                file.match_indices('.')
                    .find_map(|(i, _)| by_nim.get(&file[i + 1..]).copied())
            }),
            Role::Spot => None,
            _ => by_nim.get(top).copied(),
        };
        match owner {
            Some(n) => {
                nodes.insert(n.to_string());
            }
            None => nodes.extend(step.nodes.iter().cloned()),
        }
    }
    nodes
}

/// A paging file this SN has: where, its size, the node whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagingFile {
    pub path: String,
    pub size: u64,
    pub node: String,
}

/// Each paging file must exist on its server with this SN's size (one listing per server).
pub fn paging(
    wanted: &BTreeMap<String, Vec<PagingFile>>,
    reads: &dyn ServerReads,
    f: &mut Findings,
) {
    for (server, files) in wanted {
        let paths: Vec<String> = files.iter().map(|p| p.path.clone()).collect();
        let sizes = match reads.sizes(server, &paths) {
            Ok(s) => s,
            Err(e) => {
                f.add(
                    "paging",
                    format!("paging files on {server} cannot be listed: {e}"),
                    SYNCAIXRES.into(),
                    files.iter().map(|p| p.node.clone()),
                );
                continue;
            }
        };
        for file in files {
            let message = match sizes.get(&file.path).map(String::as_str) {
                Some(s) if s == file.size.to_string() => continue,
                Some("missing") | None => "a paging file is missing on the server",
                Some("dir") => "a paging file is a directory on the server",
                Some(_) => "a paging file on the server has another size than on this SN",
            };
            f.add(
                "paging",
                format!("{message}: the node's paging space cannot be created there (mkps fails)"),
                SYNCAIXRES.into(),
                [file.node.clone()],
            );
        }
    }
}

/// What a statelite node needs in its NFS root to boot past the initrd, on its server (one
/// existence check per server).
pub fn boot_needs(
    targets: &[statelite::plan::Target<'_>],
    reads: &dyn ServerReads,
    f: &mut Findings,
) {
    type Paths = BTreeMap<String, (bool, Vec<String>)>;
    let mut by_server: BTreeMap<&str, Paths> = BTreeMap::new();
    for t in targets {
        for m in t.node.mounts.iter().filter(|m| m.kind == Kind::Rootimg) {
            for (need, is_dir) in statelite::plan::BOOT_NEEDS {
                by_server
                    .entry(&t.server)
                    .or_default()
                    .entry(format!("{}{need}", m.path.trim_end_matches('/')))
                    .or_insert_with(|| (is_dir, Vec::new()))
                    .1
                    .push(t.node.node.clone());
            }
        }
    }
    for (server, paths) in by_server {
        let asked: Vec<String> = paths.keys().cloned().collect();
        let found = match reads.sizes(server, &asked) {
            Ok(found) => found,
            Err(e) => {
                f.add(
                    "statelite",
                    format!(
                        "what the statelite roots on {server} need to boot cannot be checked: {e}"
                    ),
                    SYNCSTATELITE.into(),
                    paths.into_values().flat_map(|(_, nodes)| nodes),
                );
                continue;
            }
        };
        for (path, (is_dir, nodes)) in paths {
            let there = match (found.get(&path).map(String::as_str), is_dir) {
                (Some("dir" | "empty"), true) => true,
                (Some("dir" | "empty" | "missing") | None, _) => false,
                (Some(_), is_dir) => !is_dir,
            };
            if !there {
                f.add(
                    "statelite",
                    format!("{path} is missing on {server}: a statelite node cannot boot past its initrd"),
                    SYNCSTATELITE.into(),
                    nodes,
                );
            }
        }
    }
}

/// The xCAT scripts of one node, as its tables give them.
#[derive(Clone, Debug, Default)]
pub struct NodeScripts {
    /// `prescripts.end`.
    pub prescripts_end: String,
    /// `postscripts.postscripts` and `postbootscripts`, the node's and xcatdefaults'.
    pub postscripts: String,
}

/// The xCAT set-up that keeps the server up to date and moves paging, for each node on an
/// external server (`server_of`): its sync script in prescripts-end, and `redirectps` in the
/// postscripts of an AIX node whose paging is on NFS (and synced to the server).
pub fn setup(
    nodes: &[&NodeMounts],
    server_of: &BTreeMap<&str, &str>,
    configs: &BTreeMap<String, ServerConfig>,
    scripts_of: &dyn Fn(&str) -> NodeScripts,
    f: &mut Findings,
) {
    for n in nodes {
        let Some(server) = server_of.get(n.node.as_str()) else {
            continue;
        };
        let (script, fix) = match (n.os, &n.linux) {
            (Os::Aix, _) => (
                "syncaixres",
                "chdef -t node -o {nodes} -p prescripts-end='diskless:syncaixres|remove:syncaixres'",
            ),
            (Os::Linux, Some(_)) => (
                "syncstatelite",
                "chdef -t node -o {nodes} -p prescripts-end=syncstatelite",
            ),
            _ => continue,
        };
        let scripts = scripts_of(&n.node);
        // `action:script,script|action:script` or a plain list.
        let listed = |list: &str, name: &str| list.split(['|', ',', ':']).any(|w| w.trim() == name);
        if !listed(&scripts.prescripts_end, script) {
            f.add(
                "xcat-setup",
                format!("{script} is not in the node's prescripts-end: the server's copy is not updated when the image changes"),
                fix.into(),
                [n.node.clone()],
            );
        }
        let nfs_paging = n.os == Os::Aix
            && n.mounts.iter().any(|m| m.kind == Kind::Paging)
            && configs
                .get(*server)
                .is_some_and(|c| c.paging != PagingMode::Off);
        if nfs_paging && !listed(&scripts.postscripts, "redirectps") {
            f.add(
                "xcat-setup",
                "redirectps is not in the node's postscripts: its NFS paging stays on its SN, and the node goes down with it".into(),
                "chdef -t node -o {nodes} -p postscripts=redirectps".into(),
                [n.node.clone()],
            );
        }
    }
}

#[cfg(test)]
mod tests;
