//! The mount redirection mkdsklsnode makes for an external NFS server, checked and completed:
//! `nodename` of `/` and `/usr`, the server's hosts entry, and `SPOT`/`ROOT`/`NIM_HOSTS` in `.info`.

use serde::Serialize;

use super::context::Sysroot;
use super::inventory::{RootKind, Target};
use super::servers::{ServerAddress, Servers};
use super::step::NodeFailure;
use crate::aix::{filesystems, hosts, info};

/// One file to rewrite.
#[derive(Clone, Debug, Serialize)]
pub struct Edit {
    pub node: String,
    /// The file, as a path on the SN.
    pub path: String,
    /// What changes, for the admin.
    pub what: String,
    /// The new content.
    #[serde(skip)]
    pub content: String,
}

/// What the redirect stage did: the edits (made, or with `--dry-run` planned) and the nodes
/// whose files could not be edited.
#[derive(Clone, Debug, Default)]
pub struct Redirected {
    pub edits: Vec<Edit>,
    pub failed: Vec<NodeFailure>,
}

/// Plans and (unless `dry_run`) applies the edits; `say` gets one line per file.
pub fn run(
    sysroot: &Sysroot,
    tftpdir: &str,
    targets: &[Target],
    servers: &Servers,
    dry_run: bool,
    say: &mut dyn FnMut(String),
) -> Redirected {
    let (edits, mut failed) = plan(sysroot, tftpdir, targets, servers);
    for e in &edits {
        if dry_run {
            say(format!("{}: would edit {} ({})", e.node, e.path, e.what));
        } else if let Err(err) = apply(sysroot, e) {
            failed.push(NodeFailure {
                node: e.node.clone(),
                message: format!("cannot write {}: {err}", e.path),
            });
        } else {
            say(format!("{}: edited {} ({})", e.node, e.path, e.what));
        }
    }
    Redirected { edits, failed }
}

/// The edits the targets need; nodes whose files are missing or malformed fail.
pub fn plan(
    sysroot: &Sysroot,
    tftpdir: &str,
    targets: &[Target],
    servers: &Servers,
) -> (Vec<Edit>, Vec<NodeFailure>) {
    let mut edits = Vec::new();
    let mut failed = Vec::new();
    for t in targets {
        let edits_of = match servers.get(&t.server) {
            Some(server) => node_edits(sysroot, tftpdir, t, &server.address),
            None => Err(format!("server {} is not resolved", t.server)),
        };
        match edits_of {
            Ok(mut e) => edits.append(&mut e),
            Err(message) => failed.push(NodeFailure {
                node: t.node.clone(),
                message,
            }),
        }
    }
    (edits, failed)
}

fn node_edits(
    sysroot: &Sysroot,
    tftpdir: &str,
    t: &Target,
    server: &ServerAddress,
) -> Result<Vec<Edit>, String> {
    let (fs_path, hosts_path) = match &t.root {
        RootKind::Own(r) => (
            format!("{}/{}/etc/filesystems", r.location, t.nim),
            format!("{}/{}/etc/hosts", r.location, t.nim),
        ),
        RootKind::Shared(r) => (
            format!("{}/etc/.client_data/filesystems.{}", r.location, t.nim),
            format!("{}/etc/.client_data/hosts.{}", r.location, t.nim),
        ),
    };
    let mut edits = Vec::new();
    let text = read(sysroot, &fs_path)?;
    if let Some(content) =
        filesystems::redirect(&text, &server.host).map_err(|e| format!("{fs_path}: {e}"))?
    {
        edits.push(edit(
            t,
            &fs_path,
            format!("/ and /usr mounted from {}", server.host),
            content,
        ));
    }
    // A server given by address has no name to add to the hosts file.
    if server.host != server.ip {
        let text = read(sysroot, &hosts_path)?;
        if let Some(content) = hosts::ensure_entry(&text, &server.ip, &server.host) {
            edits.push(edit(
                t,
                &hosts_path,
                format!("added {} {}", server.ip, server.host),
                content,
            ));
        }
    }
    if matches!(t.root, RootKind::Own(_)) {
        let path = info_file(sysroot, tftpdir, t)?;
        let text = read(sysroot, &path)?;
        if let Some(content) =
            info::redirect(&text, &server.host, &server.ip).map_err(|e| format!("{path}: {e}"))?
        {
            edits.push(edit(
                t,
                &path,
                format!("SPOT and ROOT from {}, NIM_HOSTS has it", server.host),
                content,
            ));
        }
    }
    Ok(edits)
}

fn edit(t: &Target, path: &str, what: String, content: String) -> Edit {
    Edit {
        node: t.node.clone(),
        path: path.to_string(),
        what,
        content,
    }
}

/// `<tftpdir>/<ip>.info` (aixinstall) or `<tftpdir>/<node>.info` (PPCboot), whichever exists.
/// The address is `hosts.ip`; the resolver is asked only when neither file is found that way.
fn info_file(sysroot: &Sysroot, tftpdir: &str, t: &Target) -> Result<String, String> {
    let dir = tftpdir.trim_end_matches('/');
    let by_ip = |ip: &str| format!("{dir}/{ip}.info");
    let mut candidates: Vec<String> = t.ip.iter().map(|ip| by_ip(ip)).collect();
    candidates.push(format!("{dir}/{}.info", t.node));
    if let Some(found) = candidates.iter().find(|c| sysroot.local(c).is_file()) {
        return Ok(found.clone());
    }
    if let Some(ip) = crate::host::primary_address(&t.node) {
        let path = by_ip(&ip.to_string());
        if sysroot.local(&path).is_file() {
            return Ok(path);
        }
        candidates.push(path);
    }
    Err(format!(
        "no NIM info file ({}) on this SN",
        candidates.join(" or ")
    ))
}

fn read(sysroot: &Sysroot, path: &str) -> Result<String, String> {
    std::fs::read(sysroot.local(path))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("cannot read {path}: {e}"))
}

/// Writes an edit atomically (see [`crate::atomic`]): a crash leaves the old or the new file.
pub fn apply(sysroot: &Sysroot, edit: &Edit) -> std::io::Result<()> {
    crate::atomic::replace(&sysroot.local(&edit.path), edit.content.as_bytes())
}
