//! `extnfs status`: a quick table per external server and image of this host's nodes: how
//! many there are, present or missing on the server, left different by the last sync, when
//! each SN last synced (the stamps [`crate::sync::stamp`]), and whether the exports are current.
//!
//! Fast by design: per server one listing of the nodes' paths, one read of the stamps and one
//! dry run of the exports, no comparison of contents (that is `extnfs doctor`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::doctor::{self, Context, DoctorError};
use crate::mounts::{self, Kind};
use crate::scripts;
use crate::sync::servers::{NodeServerError, ServerBook};
use crate::sync::stamp::{self, Stamp};

/// One image on one server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageStatus {
    pub image: String,
    pub nodes: usize,
    /// Nodes whose paths are all on the server.
    pub present: usize,
    /// Nodes with a path missing on the server.
    pub missing: Vec<String>,
    /// Nodes the last sync of their SN left failed or different.
    pub differing: Vec<String>,
    /// Each SN's last sync of the image: SN and time (UTC).
    pub last_sync: Vec<(String, String)>,
}

/// One server.
#[derive(Clone, Debug, Serialize)]
pub struct ServerStatus {
    pub server: String,
    /// `up to date`, `out of date`, or why it cannot be told.
    pub exports: String,
    pub images: Vec<ImageStatus>,
    /// Why the server could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole table.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub servers: Vec<ServerStatus>,
}

impl Status {
    /// 0 when everything is present, in sync and exported; 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        let bad = self.servers.iter().any(|s| {
            s.error.is_some()
                || s.exports != "up to date"
                || s.images
                    .iter()
                    .any(|i| !i.missing.is_empty() || !i.differing.is_empty())
        });
        match bad {
            true => crate::exit::FAILURE,
            false => crate::exit::SUCCESS,
        }
    }

    /// The human table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<12} {:<24} {:>6} {:>8} {:>8} {:>10}  {}\n",
            "SERVER", "IMAGE", "NODES", "IN SYNC", "MISSING", "DIFFERING", "LAST SYNC"
        );
        for s in &self.servers {
            if let Some(e) = &s.error {
                out.push_str(&format!("{:<12} cannot be read: {e}\n", s.server));
            }
            for i in &s.images {
                let last: Vec<String> = i
                    .last_sync
                    .iter()
                    .map(|(sn, t)| format!("{sn} {t}"))
                    .collect();
                let in_sync = i.present.saturating_sub(i.differing.len());
                out.push_str(&format!(
                    "{:<12} {:<24} {:>6} {:>8} {:>8} {:>10}  {}\n",
                    s.server,
                    i.image,
                    i.nodes,
                    in_sync,
                    i.missing.len(),
                    i.differing.len(),
                    match last.is_empty() {
                        true => "never".to_string(),
                        false => last.join(", "),
                    }
                ));
            }
            out.push_str(&format!("{:<12} exports {}\n", s.server, s.exports));
        }
        out
    }
}

/// Per image, its nodes with their paths on the server.
type Images = BTreeMap<String, Vec<(String, Vec<String>)>>;

/// Builds the table for the nodes this host serves (`host`).
pub fn run(ctx: &Context<'_>, host: &str) -> Result<Status, DoctorError> {
    let r = ctx.resolver;
    let nodes = doctor::served_nodes(r, host)?;
    let model = mounts::gather(
        r,
        &nodes,
        &mounts::Options {
            image: None,
            nim: Some(ctx.nim),
        },
    )?;
    let mut book = ServerBook::default();
    let mut groups: BTreeMap<String, Images> = BTreeMap::new();
    for n in &model.nodes {
        let server = match book.for_node(ctx.config, r, &n.node) {
            Ok(s) => s.name.clone(),
            Err(NodeServerError::Stop(e)) => return Err(e.into()),
            Err(_) => continue,
        };
        let paths = n
            .mounts
            .iter()
            .filter(|m| m.server == server && !matches!(m.kind, Kind::Dump | Kind::Statemnt))
            .map(|m| m.path.clone())
            .collect();
        groups
            .entry(server)
            .or_default()
            .entry(n.image.clone())
            .or_default()
            .push((n.node.clone(), paths));
    }
    let installdir = r.db().installdir()?;
    let mut servers = Vec::new();
    for (name, images) in groups {
        let Some(server) = book.servers.get(&name) else {
            continue;
        };
        let remote = &server.remote;
        let mut status = ServerStatus {
            server: name.clone(),
            exports: String::new(),
            images: Vec::new(),
            error: None,
        };
        let stamps = match stamp::read(remote, &installdir) {
            Ok(s) => s,
            Err(e) => {
                status.error = Some(e);
                status.exports = "unknown".into();
                servers.push(status);
                continue;
            }
        };
        // Each path once: every node of an image names the same SPOT and shared_root.
        let all: std::collections::BTreeSet<&String> = images
            .values()
            .flatten()
            .flat_map(|(_, p)| p.iter())
            .collect();
        let input: String = all
            .iter()
            .map(|p| format!("{}\n", remote.path(p)))
            .collect();
        let listing = remote
            .script(scripts::MISSING, &[] as &[&str])
            .stdin_bytes(input)
            .run_checked()
            .map(|o| o.stdout)
            .unwrap_or_else(|e| {
                status.error = Some(e.to_string());
                String::new()
            });
        let missing: std::collections::BTreeSet<&str> = listing
            .lines()
            .filter_map(|l| l.strip_prefix("missing "))
            .collect();
        for (image, nodes) in &images {
            status
                .images
                .push(image_status(image, nodes, &stamps, &|p| {
                    missing.contains(remote.path(p).as_str())
                }));
        }
        status.exports =
            match crate::exports::apply_for_server(remote, &server.config.exports, None, true) {
                Ok(r) if !r.file_changed => "up to date".into(),
                Ok(_) => format!("out of date (extnfs exports apply --server {name})"),
                Err(e) => format!("unknown: {e}"),
            };
        servers.push(status);
    }
    Ok(Status { servers })
}

/// An image's row from its nodes and paths, the server's stamps and what is missing.
fn image_status(
    image: &str,
    nodes: &[(String, Vec<String>)],
    stamps: &[Stamp],
    missing: &dyn Fn(&str) -> bool,
) -> ImageStatus {
    let mut s = ImageStatus {
        image: image.to_string(),
        nodes: nodes.len(),
        ..ImageStatus::default()
    };
    let last = last_stamps(image, stamps);
    for (node, paths) in nodes {
        if paths.iter().any(|p| missing(p)) {
            s.missing.push(node.clone());
        } else {
            s.present += 1;
            if last.get(node.as_str()).is_some_and(|&(_, failed)| failed) {
                s.differing.push(node.clone());
            }
        }
    }
    let mut last: Vec<&Stamp> = stamps.iter().filter(|st| st.image == image).collect();
    last.sort_by(|a, b| a.sn.cmp(&b.sn));
    s.last_sync = last
        .into_iter()
        .map(|st| (st.sn.clone(), stamp::utc(st.time)))
        .collect();
    s
}

/// Per node of `image`, the newest stamp naming it (its time) and whether that sync failed
/// the node or left it different: one pass over the stamps, not one per node.
fn last_stamps<'s>(image: &str, stamps: &'s [Stamp]) -> HashMap<&'s str, (u64, bool)> {
    let mut last: HashMap<&str, (u64, bool)> = HashMap::new();
    for st in stamps.iter().filter(|st| st.image == image) {
        let failed: HashSet<&str> = st.failed.iter().map(String::as_str).collect();
        for node in &st.nodes {
            let seen = last.entry(node).or_insert((st.time, false));
            if st.time >= seen.0 {
                *seen = (st.time, failed.contains(node.as_str()));
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_row_counts_present_missing_and_differing() {
        let nodes = vec![
            ("cn001".to_string(), vec!["/r/cn001".to_string()]),
            ("cn002".to_string(), vec!["/r/cn002".to_string()]),
            ("cn003".to_string(), vec!["/r/cn003".to_string()]),
        ];
        let stamps = vec![Stamp {
            sn: "sn1".into(),
            image: "img".into(),
            tool: "syncaixres".into(),
            time: 0,
            nodes: vec!["cn001".into(), "cn002".into(), "cn003".into()],
            failed: vec!["cn002".into()],
        }];
        let row = image_status("img", &nodes, &stamps, &|p| p == "/r/cn003");
        assert_eq!((row.nodes, row.present), (3, 2));
        assert_eq!(row.missing, ["cn003"]);
        assert_eq!(row.differing, ["cn002"]);
        assert_eq!(
            row.last_sync,
            [("sn1".to_string(), "1970-01-01 00:00:00 UTC".to_string())]
        );
        let status = Status {
            servers: vec![ServerStatus {
                server: "nfs1".into(),
                exports: "up to date".into(),
                images: vec![row],
                error: None,
            }],
        };
        let table = status.table();
        assert!(table.contains("nfs1         img"), "{table}");
        assert!(table.contains("sn1 1970-01-01"), "{table}");
        assert_eq!(status.exit_code(), 1);
    }

    #[test]
    fn the_newest_stamp_naming_a_node_decides() {
        let stamp = |sn: &str, time, failed: &[&str]| Stamp {
            sn: sn.into(),
            image: "img".into(),
            tool: "syncaixres".into(),
            time,
            nodes: vec!["cn001".into(), "cn002".into()],
            failed: failed.iter().map(|n| n.to_string()).collect(),
        };
        let mut other = stamp("sn3", 9, &["cn001"]);
        other.image = "other".into();
        // sn1 failed both at 5; sn2 synced cn001 well at 7, failed cn002 at 7 again.
        let stamps = [
            stamp("sn2", 7, &["cn002"]),
            stamp("sn1", 5, &["cn001", "cn002"]),
            other,
        ];
        let last = last_stamps("img", &stamps);
        assert_eq!(last["cn001"], (7, false));
        assert_eq!(last["cn002"], (7, true));
        let nodes = vec![
            ("cn001".to_string(), vec!["/r/cn001".to_string()]),
            ("cn002".to_string(), vec!["/r/cn002".to_string()]),
        ];
        let row = image_status("img", &nodes, &stamps, &|_| false);
        assert_eq!(row.differing, ["cn002"]);
    }
}
