//! What each node needs on its external server: its nfsserver, image, NIM resources and
//! client name, read from xCAT, NIM and the service node's own files. Nothing is changed here.

use serde::Serialize;

use super::context::{short_name, Context, SyncError};
use super::servers::{node_address, NodeServerError, ServerBook, Servers};
pub use super::step::{NodeFailure, Skipped};
use crate::host;
use crate::nim::NimError;
use crate::xcat;

/// A NIM resource and its directory (the same path on the SN and on the server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub name: String,
    pub location: String,
}

/// Where a node's `/` comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "resource")]
pub enum RootKind {
    /// A `root` resource: the node's own `<location>/<nim>/`.
    Own(Resource),
    /// A `shared_root` resource: one tree, per-node files in `etc/.client_data/`.
    Shared(Resource),
}

impl RootKind {
    pub fn resource(&self) -> &Resource {
        match self {
            RootKind::Own(r) | RootKind::Shared(r) => r,
        }
    }
}

/// A node to put on an external server.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub node: String,
    /// The NIM client name: the short node name, or `<node>_<image>` (mkdsklsnode -n).
    pub nim: String,
    pub image: String,
    /// `noderes.nfsserver` as resolved for this node.
    pub server: String,
    /// The node's IP address, when known (names the `.info` file).
    pub ip: Option<String>,
    pub spot: Resource,
    pub root: RootKind,
    pub paging: Option<Resource>,
    pub dump: Option<Resource>,
}

/// Everything gathered for a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inventory {
    pub targets: Vec<Target>,
    pub skipped: Vec<Skipped>,
    pub failed: Vec<NodeFailure>,
    /// The targets' servers, each resolved once.
    #[serde(skip)]
    pub servers: Servers,
}

/// The node-level problems of gathering; table-level problems abort the run instead.
enum NodeError {
    Skip(String),
    Fail(String),
    /// Not the node's problem: the run stops (a usage or configuration error).
    Stop(SyncError),
}

impl From<NimError> for NodeError {
    fn from(e: NimError) -> NodeError {
        NodeError::Fail(e.to_string())
    }
}

/// Gathers what `nodes` need. With `for_removal`, NIM clients are no longer expected to
/// exist, so both possible client names are kept.
pub fn gather(
    ctx: &Context<'_>,
    nodes: &[String],
    for_removal: bool,
) -> Result<Inventory, SyncError> {
    let installdir = ctx.resolver.db().installdir()?;
    let mut book = ServerBook::default();
    let mut inv = Inventory::default();
    for node in nodes {
        match target(ctx, node, &installdir, &mut book) {
            Ok(mut t) => {
                if for_removal {
                    t.nim = short_name(node).to_string();
                }
                inv.targets.push(t)
            }
            Err(NodeError::Skip(reason)) => inv.skipped.push(Skipped {
                node: node.clone(),
                reason,
            }),
            Err(NodeError::Fail(message)) => inv.failed.push(NodeFailure {
                node: node.clone(),
                message,
            }),
            Err(NodeError::Stop(e)) => return Err(e),
        }
    }
    if !for_removal {
        let mut kept = Vec::new();
        for mut t in std::mem::take(&mut inv.targets) {
            match client_name(ctx, &t) {
                Ok(nim) => {
                    t.nim = nim;
                    kept.push(t);
                }
                Err(message) => inv.failed.push(NodeFailure {
                    node: t.node.clone(),
                    message,
                }),
            }
        }
        inv.targets = kept;
    }
    inv.servers = book.servers;
    Ok(inv)
}

fn target(
    ctx: &Context<'_>,
    node: &str,
    installdir: &str,
    book: &mut ServerBook,
) -> Result<Target, NodeError> {
    let r = ctx.resolver;
    let fail = |e: xcat::ResolveError| match e {
        xcat::ResolveError::Table(t) => NodeError::Fail(t.to_string()),
        other => NodeError::Fail(other.to_string()),
    };
    host::validate_hostname(node)
        .map_err(|e| NodeError::Fail(format!("in the node list (NODES or --nodes): {e}")))?;
    let server = match book.for_node(ctx.config, r, node) {
        Ok(server) => server.name.clone(),
        Err(NodeServerError::Skip(reason)) => return Err(NodeError::Skip(reason)),
        Err(NodeServerError::Fail(message)) => return Err(NodeError::Fail(message)),
        Err(NodeServerError::Stop(e)) => return Err(NodeError::Stop(e.into())),
    };
    let image = r
        .attr(node, "nodetype", "provmethod")
        .map_err(fail)?
        .or(r.attr(node, "nodetype", "profile").map_err(fail)?)
        .ok_or_else(|| {
            NodeError::Fail("no image: nodetype.provmethod and nodetype.profile are unset".into())
        })?;
    let (spot, root, shared_root, paging, dump) = image_resources(ctx, &image)?;
    let nim = ctx.nim;
    let spot = Resource {
        location: nim.location(&spot, "spot", installdir)?,
        name: spot,
    };
    let root = match (shared_root, root) {
        (Some(sr), _) => RootKind::Shared(Resource {
            location: nim.location(&sr, "shared_root", installdir)?,
            name: sr,
        }),
        (None, Some(root)) => RootKind::Own(Resource {
            location: nim.location(&root, "root", installdir)?,
            name: root,
        }),
        (None, None) => {
            return Err(NodeError::Fail(format!(
                "nimimage {image} names neither a root nor a shared_root resource"
            )))
        }
    };
    let paging = paging
        .map(|p| {
            nim.location(&p, "paging", installdir).map(|l| Resource {
                name: p,
                location: l,
            })
        })
        .transpose()?;
    let dump = dump
        .map(|d| {
            nim.location(&d, "dump", installdir).map(|l| Resource {
                name: d,
                location: l,
            })
        })
        .transpose()?;
    let ip = node_address(r, node);
    Ok(Target {
        node: node.to_string(),
        nim: short_name(node).to_string(),
        image,
        server,
        ip,
        spot,
        root,
        paging,
        dump,
    })
}

type ImageRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The resource names of an image's `nimimage` row.
fn image_resources(ctx: &Context<'_>, image: &str) -> Result<ImageRow, NodeError> {
    let db = ctx.resolver.db();
    let table = db
        .table("nimimage")
        .map_err(|e| NodeError::Fail(e.to_string()))?;
    let col = |c: &str| table.column(c).map_err(|e| NodeError::Fail(e.to_string()));
    let row = table.find(col("imagename")?, image).ok_or_else(|| {
        NodeError::Fail(format!("image {image} has no row in the nimimage table"))
    })?;
    let get = |c: &str| -> Result<Option<String>, NodeError> {
        if !table.has_column(c) {
            return Ok(None);
        }
        let value = table.value(row, col(c)?).map(str::to_string);
        // Refused here, naming the table, before any lsnim: see `nim::check_name`.
        if let Some(v) = &value {
            crate::nim::check_name(v).map_err(|why| {
                NodeError::Fail(format!(
                    "nimimage.{c} of image {image}: `{v}` is not a valid NIM object name: {why}"
                ))
            })?;
        }
        Ok(value)
    };
    let spot =
        get("spot")?.ok_or_else(|| NodeError::Fail(format!("nimimage {image} has no spot")))?;
    Ok((
        spot,
        get("root")?,
        get("shared_root")?,
        get("paging")?,
        get("dump")?,
    ))
}

/// The NIM client name that exists: `<node>_<image>` (made by `mkdsklsnode -n`) or the short
/// name; asked of NIM first, then looked for on disk.
fn client_name(ctx: &Context<'_>, t: &Target) -> Result<String, String> {
    let short = short_name(&t.node);
    let candidates = [format!("{short}_{}", t.image), short.to_string()];
    for c in &candidates {
        if ctx.nim.machine_exists(c).map_err(|e| e.to_string())? {
            return Ok(c.clone());
        }
    }
    for c in &candidates {
        let marker = match &t.root {
            RootKind::Own(r) => format!("{}/{c}", r.location),
            RootKind::Shared(r) => format!("{}/etc/.client_data/hosts.{c}", r.location),
        };
        if ctx.sysroot.local(&marker).exists() {
            return Ok(c.clone());
        }
    }
    Err(format!(
        "no NIM client {} or {} (lsnim -l), and no client files on this SN: was mkdsklsnode run for it here?",
        candidates[1], candidates[0]
    ))
}
