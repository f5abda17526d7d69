//! The mount redirection mkdsklsnode makes for an external NFS server, checked and completed:
//! `nodename` of `/` and `/usr`, the server's hosts entry, and `SPOT`/`ROOT`/`NIM_HOSTS` in `.info`.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

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
    /// The files read (paths on the SN): they exist, so their directories are not empty,
    /// which the planner needs to know and need not ask the file system again.
    pub read: Vec<String>,
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
    let Planned {
        edits,
        mut failed,
        read,
    } = plan_all(sysroot, tftpdir, targets, servers);
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
    Redirected {
        edits,
        failed,
        read,
    }
}

/// The edits the targets need; nodes whose files are missing or malformed fail.
pub fn plan(
    sysroot: &Sysroot,
    tftpdir: &str,
    targets: &[Target],
    servers: &Servers,
) -> (Vec<Edit>, Vec<NodeFailure>) {
    let planned = plan_all(sysroot, tftpdir, targets, servers);
    (planned.edits, planned.failed)
}

/// What [`plan`] finds, with the files it read.
struct Planned {
    edits: Vec<Edit>,
    failed: Vec<NodeFailure>,
    read: Vec<String>,
}

/// Reads the targets' files in a few threads (each node's files are its own; the work is
/// two or three small files per node, mostly system calls), the results in target order.
fn plan_all(sysroot: &Sysroot, tftpdir: &str, targets: &[Target], servers: &Servers) -> Planned {
    let parts = super::pool::per_chunk(targets, |part| plan_part(sysroot, tftpdir, part, servers));
    let mut planned = Planned {
        edits: Vec::new(),
        failed: Vec::new(),
        read: Vec::with_capacity(targets.len() * 3),
    };
    for mut p in parts {
        planned.edits.append(&mut p.edits);
        planned.failed.append(&mut p.failed);
        planned.read.append(&mut p.read);
    }
    planned
}

fn plan_part(sysroot: &Sysroot, tftpdir: &str, targets: &[Target], servers: &Servers) -> Planned {
    let mut planned = Planned {
        edits: Vec::new(),
        failed: Vec::new(),
        read: Vec::with_capacity(targets.len() * 3),
    };
    let mut buf = Vec::new();
    for t in targets {
        let edits_of = match servers.get(&t.server) {
            Some(server) => node_edits(sysroot, tftpdir, t, &server.address, &mut buf),
            None => Err(format!("server {} is not resolved", t.server)),
        };
        match edits_of {
            Ok((mut e, read)) => {
                planned.edits.append(&mut e);
                planned.read.extend(read);
            }
            Err(message) => planned.failed.push(NodeFailure {
                node: t.node.clone(),
                message,
            }),
        }
    }
    planned
}

/// A node's edits and the files read to find them.
fn node_edits(
    sysroot: &Sysroot,
    tftpdir: &str,
    t: &Target,
    server: &ServerAddress,
    buf: &mut Vec<u8>,
) -> Result<(Vec<Edit>, Vec<String>), String> {
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
    let text = read(sysroot, &fs_path, buf)?;
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
    let mut read_files = vec![fs_path];
    if server.host != server.ip {
        let text = read(sysroot, &hosts_path, buf)?;
        if let Some(content) = hosts::ensure_entry(&text, &server.ip, &server.host) {
            edits.push(edit(
                t,
                &hosts_path,
                format!("added {} {}", server.ip, server.host),
                content,
            ));
        }
        read_files.push(hosts_path);
    }
    if matches!(t.root, RootKind::Own(_)) {
        let (path, text) = info_file(sysroot, tftpdir, t, buf)?;
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
        read_files.push(path);
    }
    Ok((edits, read_files))
}

fn edit(t: &Target, path: &str, what: String, content: String) -> Edit {
    Edit {
        node: t.node.clone(),
        path: path.to_string(),
        what,
        content,
    }
}

/// `<tftpdir>/<ip>.info` (aixinstall) or `<tftpdir>/<node>.info` (PPCboot), whichever exists,
/// and its text. The address is `hosts.ip`; the resolver is asked only when neither file is
/// found that way. Each candidate is opened straight away (one `stat` less per node); only an
/// open that fails for another reason than absence asks whether it is a file at all.
fn info_file(
    sysroot: &Sysroot,
    tftpdir: &str,
    t: &Target,
    buf: &mut Vec<u8>,
) -> Result<(String, String), String> {
    let dir = tftpdir.trim_end_matches('/');
    let by_ip = |ip: &str| format!("{dir}/{ip}.info");
    let mut candidates: Vec<String> = t.ip.iter().map(|ip| by_ip(ip)).collect();
    candidates.push(format!("{dir}/{}.info", t.node));
    let mut open = |path: &str| -> Result<Option<String>, String> {
        let local = sysroot.local(path);
        match read_text(&local, buf) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound || !local.is_file() => Ok(None),
            Err(e) => Err(format!("cannot read {path}: {e}")),
        }
    };
    for c in &candidates {
        if let Some(text) = open(c)? {
            return Ok((c.clone(), text));
        }
    }
    if let Some(ip) = crate::host::primary_address(&t.node) {
        let path = by_ip(&ip.to_string());
        if let Some(text) = open(&path)? {
            return Ok((path, text));
        }
        candidates.push(path);
    }
    Err(format!(
        "no NIM info file ({}) on this SN",
        candidates.join(" or ")
    ))
}

fn read(sysroot: &Sysroot, path: &str, buf: &mut Vec<u8>) -> Result<String, String> {
    read_text(&sysroot.local(path), buf).map_err(|e| format!("cannot read {path}: {e}"))
}

/// A small file's text (invalid UTF-8 replaced), read through `buf`, which is reused from file
/// to file: `std::fs::read` asks for each file's size first, one system call more per file,
/// and planning reads two or three files per node.
fn read_text(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    if buf.len() < 16 * 1024 {
        buf.resize(16 * 1024, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

/// Writes an edit atomically (see [`crate::atomic`]): a crash leaves the old or the new file.
pub fn apply(sysroot: &Sysroot, edit: &Edit) -> std::io::Result<()> {
    crate::atomic::replace(&sysroot.local(&edit.path), edit.content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::inventory::Resource;

    fn target(i: usize) -> Target {
        let res = |name: &str| Resource {
            name: name.into(),
            location: format!("/install/nim/{name}"),
        };
        Target {
            node: format!("cn{i:04}"),
            nim: format!("cn{i:04}"),
            image: "71Bcosi".into(),
            server: if i.is_multiple_of(2) { "nfs1" } else { "nfs2" }.into(),
            ip: None,
            spot: res("spot"),
            root: RootKind::Own(res("root")),
            paging: None,
            dump: None,
        }
    }

    #[test]
    fn the_info_file_by_address_wins_and_a_directory_of_its_name_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let (sysroot, buf) = (Sysroot::new(dir.path()), &mut Vec::new());
        let tftp = dir.path().join("tftpboot");
        std::fs::create_dir_all(tftp.join("10.9.0.7.info")).unwrap();
        let mut t = target(7);
        t.ip = Some("10.9.0.7".into());
        let err = info_file(&sysroot, "/tftpboot/", &t, buf).unwrap_err();
        assert!(
            err.contains("/tftpboot/10.9.0.7.info or /tftpboot/cn0007.info"),
            "{err}"
        );
        std::fs::write(tftp.join("cn0007.info"), "by name\n").unwrap();
        let found = info_file(&sysroot, "/tftpboot", &t, buf).unwrap();
        assert_eq!(found, ("/tftpboot/cn0007.info".into(), "by name\n".into()));
        std::fs::remove_dir(tftp.join("10.9.0.7.info")).unwrap();
        std::fs::write(tftp.join("10.9.0.7.info"), "by address\n").unwrap();
        let found = info_file(&sysroot, "/tftpboot", &t, buf).unwrap();
        assert_eq!(
            found,
            ("/tftpboot/10.9.0.7.info".into(), "by address\n".into())
        );
    }

    #[test]
    fn many_nodes_are_read_in_parallel_and_reported_in_their_order() {
        // Enough targets for the parallel path; their server is not resolved, so each fails.
        let targets: Vec<Target> = (0..crate::sync::pool::PARALLEL_FROM + 77)
            .map(target)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (edits, failed) = plan(
            &Sysroot::new(dir.path()),
            "/tftpboot",
            &targets,
            &Servers::new(),
        );
        assert!(edits.is_empty());
        let got: Vec<(&str, &str)> = failed
            .iter()
            .map(|f| (f.node.as_str(), f.message.as_str()))
            .collect();
        let want: Vec<(&str, String)> = targets
            .iter()
            .map(|t| {
                (
                    t.node.as_str(),
                    format!("server {} is not resolved", t.server),
                )
            })
            .collect();
        let want: Vec<(&str, &str)> = want.iter().map(|(n, m)| (*n, m.as_str())).collect();
        assert_eq!(got, want);
    }
}
