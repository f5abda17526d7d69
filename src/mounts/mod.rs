//! What each node mounts over NFS, computed from xCAT's tables (and NIM for AIX) exactly as
//! xCAT and the node's boot scripts compute it; shared by `extnfs mounts` and the sync tools.
//!
//! Linux statelite (reference statelite.md §2-§4): the image (`rootimg`, unless RAMdisk), the
//! persistent `statemnt`, each `litetree` directory with a server, in that order. AIX: `root`
//! or `shared_root`, `spot`, then `statemnt` and `litetree` for statelite nodes, then
//! `paging` and `dump`. Servers are named as the tables name them, never resolved here.

pub mod aix;
pub mod linux;
pub mod lite;
mod model;
pub mod statemnt;

use serde::Serialize;

use crate::nim::Nim;
use crate::xcat::{self, Resolver};

pub use linux::LinuxImage;
pub use lite::{LiteFile, LiteTree};
pub use model::{Access, Kind, Mount};
pub use statemnt::Statemnt;

/// The node's operating system, from `nodetype.os`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Aix,
}

/// Everything one node mounts, and the statelite facts the mounts come from.
#[derive(Clone, Debug, Serialize)]
pub struct NodeMounts {
    pub node: String,
    pub os: Os,
    pub image: String,
    /// In the order the node mounts them.
    pub mounts: Vec<Mount>,
    /// What the node will do that an admin should know (tmpfs statemnt, RAMdisk download...).
    pub notes: Vec<String>,
    /// A Linux statelite image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linux: Option<LinuxImage>,
    /// R4 for Linux, the NIM server for AIX.
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statemnt: Option<Statemnt>,
    pub litetree: Vec<LiteTree>,
    pub litefile: Vec<LiteFile>,
}

/// A node whose mounts cannot be computed.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub node: String,
    pub message: String,
}

/// The mounts of a set of nodes, in the order asked.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Model {
    pub nodes: Vec<NodeMounts>,
    pub failed: Vec<Failure>,
}

impl Model {
    /// One line per node and mount: `<node>: <kind> <server>:<path> <ro|rw>`.
    pub fn lines(&self) -> Vec<String> {
        self.nodes
            .iter()
            .flat_map(|n| {
                n.mounts
                    .iter()
                    .map(move |m| format!("{}: {}", n.node, m.line()))
            })
            .collect()
    }

    /// The lines for stderr: each node's notes (`<node>: note: ...`) when `notes`, then
    /// each node that could not be computed (`<node>: error: ...`).
    pub fn problem_lines(&self, notes: bool) -> Vec<String> {
        let notes = self.nodes.iter().filter(|_| notes).flat_map(|n| {
            n.notes
                .iter()
                .map(move |note| format!("{}: note: {note}", n.node))
        });
        let failed = self
            .failed
            .iter()
            .map(|f| format!("{}: error: {}", f.node, f.message));
        notes.chain(failed).collect()
    }
}

/// How to compute.
#[derive(Default)]
pub struct Options<'a> {
    /// The image from nodeset's `osimage=<img>`, for every Linux node.
    pub image: Option<String>,
    /// NIM, for AIX nodes; without it an AIX node fails.
    pub nim: Option<&'a Nim>,
}

/// Computes what each node mounts. Table-level problems are an error; a node that cannot be
/// computed is a [`Failure`] and the others go on.
pub fn gather(
    resolver: &Resolver<'_>,
    nodes: &[String],
    opts: &Options<'_>,
) -> Result<Model, xcat::Error> {
    let mut model = Model::default();
    let lite = LiteTables::load(resolver)?;
    for node in nodes {
        let os = resolver.attr(node, "nodetype", "os")?;
        let result = match os.as_deref() {
            Some(os) if os.eq_ignore_ascii_case("aix") => aix_node(resolver, node, opts, &lite),
            _ => linux_node(resolver, node, opts, &lite),
        };
        match result {
            Ok(n) => model.nodes.push(n),
            Err(message) => model.failed.push(Failure {
                node: node.clone(),
                message,
            }),
        }
    }
    Ok(model)
}

/// The statelite tables, each optional (a site without statelite has none).
struct LiteTables {
    statelite: bool,
    litetree: Option<std::sync::Arc<xcat::Table>>,
    litefile: Option<std::sync::Arc<xcat::Table>>,
}

impl LiteTables {
    fn load(resolver: &Resolver<'_>) -> Result<LiteTables, xcat::TableError> {
        let db = resolver.db();
        Ok(LiteTables {
            statelite: db.optional_table("statelite")?.is_some(),
            litetree: db.optional_table("litetree")?,
            litefile: db.optional_table("litefile")?,
        })
    }

    /// `statelite.statemnt` and `statelite.mntopts` of a node.
    fn row(
        &self,
        r: &Resolver<'_>,
        node: &str,
    ) -> Result<Option<(String, Option<String>)>, String> {
        if !self.statelite {
            return Ok(None);
        }
        let v = r
            .attrs(node, "statelite", &["statemnt", "mntopts"])
            .map_err(|e| e.to_string())?;
        Ok(v[0].clone().map(|s| (s, v[1].clone())))
    }

    fn litetree(
        &self,
        r: &Resolver<'_>,
        node: &str,
        image: &str,
        groups: Option<&str>,
    ) -> Result<Vec<LiteTree>, String> {
        match &self.litetree {
            None => Ok(Vec::new()),
            Some(t) => lite::litetree(t, node, image, groups, r).map_err(|e| e.to_string()),
        }
    }

    fn litefile(
        &self,
        image: &str,
        groups: Option<&str>,
        aix: bool,
    ) -> Result<Vec<LiteFile>, String> {
        match &self.litefile {
            None => Ok(Vec::new()),
            Some(t) => lite::litefile(t, image, groups, aix).map_err(|e| e.to_string()),
        }
    }
}

fn linux_node(
    r: &Resolver<'_>,
    node: &str,
    opts: &Options<'_>,
    lite: &LiteTables,
) -> Result<NodeMounts, String> {
    let e = |e: linux::ImageError| e.to_string();
    let name = linux::image_name(r, node, opts.image.as_deref()).map_err(e)?;
    let nfsdir = r
        .attr(node, "noderes", "nfsdir")
        .map_err(|e| e.to_string())?;
    let server = linux::image_server(r, node).map_err(e)?;
    let mut n = NodeMounts {
        node: node.to_string(),
        os: Os::Linux,
        image: name.clone(),
        mounts: Vec::new(),
        notes: Vec::new(),
        linux: None,
        server: server.clone(),
        statemnt: None,
        litetree: Vec::new(),
        litefile: Vec::new(),
    };
    let image = match linux::image(r, &name, nfsdir.as_deref()).map_err(e)? {
        Ok(image) => image,
        Err(why) => {
            n.notes.push(format!("{why}: no NFS mounts"));
            return Ok(n);
        }
    };
    if image.ramdisk {
        n.notes.push(format!(
            "RAMdisk image: downloads {}/rootimg-statelite.gz over HTTP from {server}",
            image.rootimgdir
        ));
    } else {
        let mut m = Mount::new(
            Kind::Rootimg,
            &server,
            &format!("{}/rootimg", image.nfs_dir),
            Access::Ro,
            true,
            false,
        );
        m.nfsvers = (!image.dracut).then_some(3);
        n.mounts.push(m);
    }
    let prefix = |what: &str, e: String| format!("{what}: {e}");
    match lite.row(r, node)? {
        None => n.notes.push(
            "no statelite row: no statemnt, persistent files live in memory (lost at reboot)"
                .into(),
        ),
        Some((value, mntopts)) => {
            let s = statemnt::linux(&value, mntopts.as_deref(), node, r)
                .map_err(|e| prefix("statelite.statemnt", e.to_string()))?;
            if let Some(host) = s.server.as_deref() {
                let mut m = Mount::new(Kind::Statemnt, host, &s.dir, Access::Rw, true, false);
                m.options = s.mntopts.clone();
                n.mounts.push(m);
            }
            if let Some(p) = &s.problem {
                n.notes.push(format!("statemnt: {p}"));
            }
            n.statemnt = Some(s);
        }
    }
    n.litetree = lite.litetree(r, node, &name, image.groups.as_deref())?;
    for t in &n.litetree {
        match &t.server {
            Some(host) => {
                let mut m = Mount::new(Kind::Litetree, host, &t.dir, Access::Ro, true, false);
                m.nfsvers = Some(3);
                n.mounts.push(m);
            }
            None => n.notes.push(format!(
                "litetree priority {} ({}) has no server: never mounted",
                t.priority, t.value
            )),
        }
    }
    n.litefile = lite.litefile(&name, image.groups.as_deref(), false)?;
    n.linux = Some(image);
    Ok(n)
}

fn aix_node(
    r: &Resolver<'_>,
    node: &str,
    opts: &Options<'_>,
    lite: &LiteTables,
) -> Result<NodeMounts, String> {
    let nim = opts
        .nim
        .ok_or("an AIX node: its NIM resources are not known here")?;
    let v = r
        .attrs(node, "noderes", &["nfsserver", "xcatmaster"])
        .map_err(|e| e.to_string())?;
    let server = v[0]
        .clone()
        .filter(|s| s != "<xcatmaster>")
        .or_else(|| v[1].clone())
        .or(r.db().site("master").map_err(|e| e.to_string())?)
        .ok_or("no server: noderes.nfsserver, noderes.xcatmaster and site.master are unset")?;
    let nim_mounts = aix::mounts(r, nim, node, &server)?;
    let mut n = NodeMounts {
        node: node.to_string(),
        os: Os::Aix,
        image: nim_mounts.image.clone(),
        mounts: nim_mounts.first,
        notes: Vec::new(),
        linux: None,
        server,
        statemnt: None,
        litetree: Vec::new(),
        litefile: Vec::new(),
    };
    if let Some((value, mntopts)) = lite.row(r, node)? {
        let s = statemnt::aix(&value, mntopts.as_deref(), node, r)
            .map_err(|e| format!("statelite.statemnt: {e}"))?;
        if let Some(host) = s.server.as_deref() {
            let mut m = Mount::new(Kind::Statemnt, host, &s.dir, Access::Rw, true, true);
            m.options = s.mntopts.clone();
            n.mounts.push(m);
        }
        if let Some(p) = &s.problem {
            n.notes.push(format!("statemnt: {p}"));
        }
        n.statemnt = Some(s);
        let groups = aix_groups(r, &n.image);
        n.litetree = lite.litetree(r, node, &n.image, groups.as_deref())?;
        for t in &n.litetree {
            if let Some(host) = &t.server {
                let mut m = Mount::new(Kind::Litetree, host, &t.dir, Access::Ro, true, true);
                m.options = t.mntopts.clone();
                n.mounts.push(m);
            }
        }
        n.litefile = lite.litefile(&n.image, groups.as_deref(), true)?;
    }
    n.mounts.extend(nim_mounts.last);
    Ok(n)
}

/// `osimage.groups` of an AIX image, when it has an osimage row.
fn aix_groups(r: &Resolver<'_>, image: &str) -> Option<String> {
    let t = r.db().optional_table("osimage").ok()??;
    let row = t.find(t.column("imagename").ok()?, image)?;
    linux::cell(&t, row, "groups").map(str::to_string)
}

#[cfg(test)]
mod tests;
