//! An AIX diskless node's NFS mounts from xCAT and NIM: root or shared_root, SPOT, paging and
//! dump, by the resources of its `nimimage` row and their `lsnim` locations.

use crate::nim::Nim;
use crate::sync::context::short_name;
use crate::xcat::Resolver;

use super::linux::cell;
use super::model::{Access, Kind, Mount};

/// The NIM part of an AIX node's mounts, in the order it makes them: `/` (root or
/// shared_root), `/usr` (SPOT); then paging and dump, which come after the statelite mounts.
pub struct AixMounts {
    pub image: String,
    pub first: Vec<Mount>,
    pub last: Vec<Mount>,
}

/// The node's NIM mounts from `server`. NIM's client name is `<node>_<image>` after
/// `mkdsklsnode -n`, else the short name.
pub fn mounts(
    resolver: &Resolver<'_>,
    nim: &Nim,
    node: &str,
    server: &str,
) -> Result<AixMounts, String> {
    let r = |e: crate::xcat::ResolveError| e.to_string();
    let image = resolver
        .attr(node, "nodetype", "provmethod")
        .map_err(r)?
        .or(resolver.attr(node, "nodetype", "profile").map_err(r)?)
        .ok_or("no image: nodetype.provmethod and nodetype.profile are unset")?;
    let db = resolver.db();
    let installdir = db.installdir().map_err(|e| e.to_string())?;
    let table = db.table("nimimage").map_err(|e| e.to_string())?;
    let row = table
        .find(
            table.column("imagename").map_err(|e| e.to_string())?,
            &image,
        )
        .ok_or_else(|| format!("image {image} has no row in the nimimage table"))?;
    let res = |c: &str| cell(&table, row, c).map(str::to_string);
    let location = |name: &str, kind: &str| {
        nim.location(name, kind, &installdir)
            .map_err(|e| e.to_string())
    };
    let short = short_name(node);
    let named = format!("{short}_{image}");
    let client = match nim.machine_exists(&named).map_err(|e| e.to_string())? {
        true => named,
        false => short.to_string(),
    };
    let mount = |kind, path: String, access| Mount::new(kind, server, &path, access, true, true);
    let mut first = Vec::new();
    match (res("shared_root"), res("root")) {
        (Some(sr), _) => first.push(mount(
            Kind::SharedRoot,
            location(&sr, "shared_root")?,
            Access::Ro,
        )),
        (None, Some(root)) => first.push(mount(
            Kind::Root,
            format!("{}/{client}", location(&root, "root")?),
            Access::Rw,
        )),
        (None, None) => {
            return Err(format!(
                "nimimage {image} names neither a root nor a shared_root resource"
            ))
        }
    }
    let spot = res("spot").ok_or_else(|| format!("nimimage {image} has no spot"))?;
    first.push(mount(Kind::Spot, location(&spot, "spot")?, Access::Ro));
    let mut last = Vec::new();
    if let Some(p) = res("paging") {
        last.push(mount(
            Kind::Paging,
            format!("{}/{client}", location(&p, "paging")?),
            Access::Rw,
        ));
    }
    if let Some(d) = res("dump") {
        last.push(mount(
            Kind::Dump,
            format!("{}/{client}", location(&d, "dump")?),
            Access::Rw,
        ));
    }
    Ok(AixMounts { image, first, last })
}
