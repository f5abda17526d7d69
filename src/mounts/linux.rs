//! A Linux node's image as nodeset computes it: the image name (R1), statelite or not (R2),
//! rootimgdir (R3), the image server (R4) and the NFS image directory P (R5).

use serde::Serialize;

use crate::nim::is_under;
use crate::xcat::{Resolver, Table};

/// The distribution family, which decides the boot form and the `noderes.nfsdir` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// anaconda.pm: RHEL and its rebuilds, Fedora.
    RedHat,
    /// sles.pm.
    Sles,
    /// debian.pm: Debian, Ubuntu.
    Debian,
}

impl Family {
    /// The family of `osimage.osvers` (`rhels8.6`, `sles15.4`, `ubuntu22.04`, ...); names
    /// that match none are handled by anaconda.pm.
    pub fn of(osvers: &str) -> Family {
        let v = osvers.to_ascii_lowercase();
        if v.starts_with("sle") {
            Family::Sles
        } else if v.starts_with("ubuntu") || v.starts_with("debian") {
            Family::Debian
        } else {
            Family::RedHat
        }
    }
}

/// Whether the image boots with dracut (A:164-180): RHEL family ≥ 6, Fedora ≥ 12. SLES
/// decides by a file on the nodeset host; it is treated as legacy here, whose NFSv3 mount is
/// the stricter need.
pub fn dracut(osvers: &str) -> bool {
    let v = osvers.to_ascii_lowercase();
    let major = |prefix: &str| -> Option<u32> {
        let rest = v.strip_prefix(prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    for (prefix, min) in [
        ("fedora", 12),
        ("rhels", 6),
        ("rhel", 6),
        ("rhelhpc", 6),
        ("centos", 6),
        ("alma", 6),
        ("rocky", 6),
        ("ol", 6),
        ("sl", 6),
    ] {
        if let Some(n) = major(prefix) {
            return n >= min;
        }
    }
    false
}

/// A Linux image as one node boots it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinuxImage {
    pub name: String,
    pub osvers: String,
    pub osarch: String,
    pub profile: String,
    pub family: Family,
    /// `osimage.groups`, one literal value for litetree/litefile selection.
    pub groups: Option<String>,
    /// R3: where nodeset finds the image on its host.
    pub rootimgdir: String,
    /// R5: where the node mounts it from (`P`; the node mounts `P/rootimg`).
    pub nfs_dir: String,
    /// `osimage.rootfstype=ramdisk`: the image is downloaded over HTTP, no NFS root.
    pub ramdisk: bool,
    pub dracut: bool,
}

/// An image that cannot be used for a node.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}")]
    Message(String),
    #[error(transparent)]
    Table(#[from] crate::xcat::TableError),
    #[error(transparent)]
    Resolve(#[from] crate::xcat::ResolveError),
}

fn msg(text: String) -> ImageError {
    ImageError::Message(text)
}

/// R1: the node's image: `osimage=<img>` from nodeset when given, else `nodetype.provmethod`,
/// else (empty, `install`, `netboot` or `statelite`) `<os>-<arch>-statelite-<profile>`.
pub fn image_name(
    resolver: &Resolver<'_>,
    node: &str,
    chosen: Option<&str>,
) -> Result<String, ImageError> {
    if let Some(image) = chosen {
        return Ok(image.to_string());
    }
    let v = resolver.attrs(node, "nodetype", &["provmethod", "os", "arch", "profile"])?;
    match v[0].as_deref() {
        Some(p) if !matches!(p, "install" | "netboot" | "statelite") => Ok(p.to_string()),
        _ => match (&v[1], &v[2], &v[3]) {
            (Some(os), Some(arch), Some(profile)) => {
                Ok(format!("{os}-{arch}-statelite-{profile}"))
            }
            _ => Err(msg(
                "no image: nodetype.provmethod names none and nodetype.os, arch and profile are not all set"
                    .into(),
            )),
        },
    }
}

/// A row's value by column name, `None` when the column does not exist or is empty.
pub fn cell<'t>(table: &'t Table, row: usize, column: &str) -> Option<&'t str> {
    table
        .has_column(column)
        .then(|| table.column(column).ok())
        .flatten()
        .and_then(|c| table.value(row, c))
}

/// The osimage row of `image`; `Ok(None)` when it is not a statelite image (R2), with the
/// provisioning method it has.
pub fn image(
    resolver: &Resolver<'_>,
    image: &str,
    nfsdir: Option<&str>,
) -> Result<Result<LinuxImage, String>, ImageError> {
    let db = resolver.db();
    let osimage = db.table("osimage")?;
    let row = osimage
        .find(osimage.column("imagename")?, image)
        .ok_or_else(|| msg(format!("image {image} has no row in the osimage table")))?;
    let get = |c: &str| cell(&osimage, row, c).map(str::to_string);
    let provmethod = get("provmethod");
    if provmethod.as_deref() != Some("statelite") {
        return Ok(Err(format!(
            "image {image} is not statelite (osimage.provmethod = {})",
            provmethod.as_deref().unwrap_or("unset")
        )));
    }
    let need = |c: &str| get(c).ok_or_else(|| msg(format!("osimage {image}: {c} is not set")));
    let (osvers, osarch, profile) = (need("osvers")?, need("osarch")?, need("profile")?);
    let linuximage = db.table("linuximage")?;
    let lrow = linuximage
        .find(linuximage.column("imagename")?, image)
        .ok_or_else(|| {
            msg(format!(
                "osimage {image} has no row in the linuximage table"
            ))
        })?;
    let installdir = db.installdir()?;
    let suffix = format!("netboot/{osvers}/{osarch}/{profile}");
    let rootimgdir = match cell(&linuximage, lrow, "rootimgdir") {
        Some(dir) => dir.trim_end_matches('/').to_string(),
        None => format!("{}/{suffix}", installdir.trim_end_matches('/')),
    };
    if !is_under(&rootimgdir, &installdir) {
        return Err(msg(format!(
            "linuximage {image}: rootimgdir `{rootimgdir}` is not under site.installdir {installdir}"
        )));
    }
    let family = Family::of(&osvers);
    // T7: debian.pm's rootfstype test is always true, so Debian/Ubuntu boot NFS root.
    let ramdisk = get("rootfstype").as_deref() == Some("ramdisk") && family != Family::Debian;
    Ok(Ok(LinuxImage {
        name: image.to_string(),
        nfs_dir: nfs_dir(&rootimgdir, nfsdir, family, &suffix),
        dracut: family == Family::RedHat && dracut(&osvers),
        osvers,
        osarch,
        profile,
        family,
        groups: get("groups"),
        rootimgdir,
        ramdisk,
    }))
}

/// R5: `P` is rootimgdir unless `noderes.nfsdir` is set; then `<nfsdir>/netboot/<osvers>/
/// <osarch>/<profile>` (a custom rootimgdir ignored), except that anaconda and debian take a
/// value starting `//` as the path itself, minus one `/` (A:623-637, DEB:1447-1458).
pub fn nfs_dir(rootimgdir: &str, nfsdir: Option<&str>, family: Family, suffix: &str) -> String {
    match nfsdir {
        None => rootimgdir.to_string(),
        Some(d) if d.starts_with("//") && family != Family::Sles => d[1..].to_string(),
        Some(d) => format!("{d}/{suffix}"),
    }
}

/// R4: the image server as the tables name it: `noderes.nfsserver`, `noderes.tftpserver`
/// (each unless the literal `<xcatmaster>`), `noderes.xcatmaster`, else `!myipfn!` (the
/// address of the nodeset host facing the node).
pub fn image_server(resolver: &Resolver<'_>, node: &str) -> Result<String, ImageError> {
    let v = resolver.attrs(node, "noderes", &["nfsserver", "tftpserver", "xcatmaster"])?;
    let pick = |v: &Option<String>| v.clone().filter(|s| s != "<xcatmaster>");
    Ok(pick(&v[0])
        .or_else(|| pick(&v[1]))
        .or_else(|| v[2].clone())
        .unwrap_or_else(|| "!myipfn!".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r5_nfsdir_forms() {
        let sfx = "netboot/rhels8/x86_64/compute";
        let rid = "/install/custom/img";
        assert_eq!(nfs_dir(rid, None, Family::RedHat, sfx), rid);
        // Set: the suffix, and the custom rootimgdir ignored.
        assert_eq!(
            nfs_dir(rid, Some("/gpfs/xcat"), Family::RedHat, sfx),
            "/gpfs/xcat/netboot/rhels8/x86_64/compute"
        );
        // `//`: as is minus one slash on anaconda and debian, suffixed on SLES.
        assert_eq!(
            nfs_dir(rid, Some("//gpfs/img"), Family::RedHat, sfx),
            "/gpfs/img"
        );
        assert_eq!(
            nfs_dir(rid, Some("//gpfs/img"), Family::Debian, sfx),
            "/gpfs/img"
        );
        assert_eq!(
            nfs_dir(rid, Some("//gpfs/img"), Family::Sles, sfx),
            "//gpfs/img/netboot/rhels8/x86_64/compute"
        );
    }

    #[test]
    fn dracut_by_distribution_and_version() {
        assert!(dracut("rhels8.6") && dracut("rocky9.2") && dracut("fedora12"));
        assert!(!dracut("rhels5.9") && !dracut("fedora11") && !dracut("sles15.4"));
        assert_eq!(Family::of("sles12.5"), Family::Sles);
        assert_eq!(Family::of("ubuntu22.04"), Family::Debian);
        assert_eq!(Family::of("alma8"), Family::RedHat);
    }
}
