//! What each node needs on its external server: its nfsserver, image, NIM resources and
//! client name, read from xCAT, NIM and the service node's own files. Nothing is changed here.

use std::collections::HashMap;

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
    let mut images = Images::new();
    let mut inv = Inventory::default();
    let nim = ctx.nim;
    std::thread::scope(|scope| {
        let mut listing = None;
        for node in nodes {
            match target(ctx, node, &installdir, &mut book, &mut images) {
                Ok(mut t) => {
                    if for_removal {
                        t.nim = short_name(node).to_string();
                    } else if listing.is_none() {
                        // The client names are needed below: NIM's client listing (two
                        // `lsnim` runs) goes on while the other nodes are gathered.
                        listing = Some(scope.spawn(move || nim.list_machines_now()));
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
        Ok(())
    })?;
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

/// An image's NIM resources with their locations, as [`image_parts`] finds them.
#[derive(Clone)]
struct ImageParts {
    spot: Resource,
    root: RootKind,
    paging: Option<Resource>,
    dump: Option<Resource>,
}

/// [`image_parts`] of each image, found once per run rather than once per node: thousands of
/// nodes share a handful of images, and each finding reads the `nimimage` row and asks NIM
/// for three or four locations.
struct Images(HashMap<String, Result<ImageParts, String>>);

impl Images {
    fn new() -> Images {
        Images(HashMap::new())
    }

    fn parts(
        &mut self,
        ctx: &Context<'_>,
        image: &str,
        installdir: &str,
    ) -> Result<ImageParts, NodeError> {
        if !self.0.contains_key(image) {
            // Only node failures come out of `image_parts`; they are the same for every node
            // of the image.
            let found = image_parts(ctx, image, installdir).map_err(|e| match e {
                NodeError::Fail(m) | NodeError::Skip(m) => m,
                NodeError::Stop(e) => e.to_string(),
            });
            self.0.insert(image.to_string(), found);
        }
        self.0[image].clone().map_err(NodeError::Fail)
    }
}

fn target(
    ctx: &Context<'_>,
    node: &str,
    installdir: &str,
    book: &mut ServerBook,
    images: &mut Images,
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
    let ImageParts {
        spot,
        root,
        paging,
        dump,
    } = images.parts(ctx, &image, installdir)?;
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

/// The resources of `image` and their locations.
fn image_parts(ctx: &Context<'_>, image: &str, installdir: &str) -> Result<ImageParts, NodeError> {
    let (spot, root, shared_root, paging, dump) = image_resources(ctx, image)?;
    let nim = ctx.nim;
    // A shared_root wins over a root: its name, and whether it is the shared one.
    let root = match (shared_root, root) {
        (Some(sr), _) => Some((sr, true)),
        (None, root) => root.map(|r| (r, false)),
    };
    // The resources used below, asked of NIM at once.
    let root_name = root.as_ref().map(|(name, _)| name);
    let used = [Some(&spot), root_name, paging.as_ref(), dump.as_ref()];
    nim.prefetch(
        &used
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let spot = Resource {
        location: nim.location(&spot, "spot", installdir)?,
        name: spot,
    };
    let Some((name, shared)) = root else {
        return Err(NodeError::Fail(format!(
            "nimimage {image} names neither a root nor a shared_root resource"
        )));
    };
    let kind = if shared { "shared_root" } else { "root" };
    let resource = Resource {
        location: nim.location(&name, kind, installdir)?,
        name,
    };
    let root = match shared {
        true => RootKind::Shared(resource),
        false => RootKind::Own(resource),
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
    Ok(ImageParts {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::nim::Nim;
    use crate::sync::context::Sysroot;
    use crate::xcat::{Db, Resolver};

    /// A stand-in `lsnim -l` that knows one SPOT, one root and one shared_root, says nothing
    /// else exists, and logs the names it is asked for to `asked` beside it.
    fn lsnim(dir: &Path) -> String {
        let path = dir.join("lsnim");
        std::fs::write(
            &path,
            "#!/bin/sh\necho \"$2\" >> \"$(dirname \"$0\")/asked\"\ncase \"$2\" in\n\
             spot1) printf 'spot1:\\n   type = spot\\n   location = /install/nim/spot/spot1/usr\\n' ;;\n\
             root1) printf 'root1:\\n   type = root\\n   location = /install/nim/root/root1\\n' ;;\n\
             sr1) printf 'sr1:\\n   type = shared_root\\n   location = /install/nim/shared_root/sr1\\n' ;;\n\
             *) echo \"0042-053 lsnim: there is no NIM object named \\\"$2\\\"\" >&2; exit 1 ;;\n\
             esac\n",
        )
        .unwrap();
        crate::nim::tests::make_executable(&path);
        path.display().to_string()
    }

    /// The tests' images: img1 (spot1, root1), img2 (its root does not exist), both (a root
    /// and a shared_root), none (neither).
    const NIMIMAGE: &str = "#imagename,spot,root,shared_root,paging,comments,disable\n\
        \"img1\",\"spot1\",\"root1\",,,,\n\
        \"img2\",\"spot1\",\"root2\",,,,\n\
        \"both\",\"spot1\",\"root1\",\"sr1\",,,\n\
        \"none\",\"spot1\",,,,,\n";

    /// Runs `test` with the images above and the stand-in `lsnim` in `dir`.
    fn with_context(dir: &Path, test: impl FnOnce(&Context<'_>)) {
        let (_db_dir, db) = Db::with_tables(&[("nimimage", NIMIMAGE)]);
        let resolver = Resolver::new(&db);
        let (config, sysroot) = (Config::default(), Sysroot::new(dir));
        let nim = Nim::new(Some(&lsnim(dir)));
        test(&Context {
            resolver: &resolver,
            nim: &nim,
            config: &config,
            sysroot: &sysroot,
        })
    }

    #[test]
    fn an_image_is_looked_up_once_and_its_failure_is_every_nodes_failure() {
        let dir = tempfile::tempdir().unwrap();
        with_context(dir.path(), |ctx| {
            let mut images = Images::new();
            let parts = images.parts(ctx, "img1", "/install").ok().unwrap();
            assert_eq!(parts.spot.location, "/install/nim/spot/spot1/usr");
            assert_eq!(
                parts.root,
                RootKind::Own(Resource {
                    name: "root1".into(),
                    location: "/install/nim/root/root1".into()
                })
            );
            let Err(NodeError::Fail(failure)) = images.parts(ctx, "img2", "/install") else {
                panic!("img2's root does not exist");
            };
            assert!(failure.contains("root2"), "{failure}");
            // Asked again with NIM gone: both answers come from the first lookups.
            let broken = Nim::new(Some("/nonexistent/lsnim"));
            let ctx = &Context {
                nim: &broken,
                ..*ctx
            };
            assert!(image_parts(ctx, "img1", "/install").is_err());
            let again = images.parts(ctx, "img1", "/install").ok().unwrap();
            assert_eq!(again.spot, parts.spot);
            assert_eq!(again.root, parts.root);
            let Err(NodeError::Fail(again)) = images.parts(ctx, "img2", "/install") else {
                panic!("img2 still fails");
            };
            assert_eq!(again, failure);
            assert_eq!(images.0.len(), 2);
        });
    }

    #[test]
    fn a_shared_root_wins_over_a_root_and_an_image_needs_one_of_them() {
        let dir = tempfile::tempdir().unwrap();
        with_context(dir.path(), |ctx| {
            let parts = image_parts(ctx, "both", "/install").ok().unwrap();
            assert_eq!(
                parts.root,
                RootKind::Shared(Resource {
                    name: "sr1".into(),
                    location: "/install/nim/shared_root/sr1".into()
                })
            );
            let asked = std::fs::read_to_string(dir.path().join("asked")).unwrap();
            // (An empty line is `make_executable` trying the stand-in without arguments.)
            let mut asked: Vec<&str> = asked.lines().filter(|l| !l.is_empty()).collect();
            asked.sort_unstable();
            assert_eq!(
                asked,
                ["spot1", "sr1"],
                "the root it does not use is not asked"
            );
            let Err(NodeError::Fail(failure)) = image_parts(ctx, "none", "/install") else {
                panic!("an image without a root is refused");
            };
            assert_eq!(
                failure,
                "nimimage none names neither a root nor a shared_root resource"
            );
        });
    }
}
