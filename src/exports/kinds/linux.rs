//! Linux kernel NFS (also GPFS CNFS): our own exports(5) file in `/etc/exports.d`, made
//! live with `exportfs -ra`; optional stable `fsid=` values for CNFS.

use std::collections::{BTreeMap, BTreeSet};

use super::server_type::{RenderInput, Rendered, ServerType};
use crate::config::exports::{ExportsSettings, ServerKind};
use crate::exports::applied::{self, Applied};
use crate::exports::error::{ExportsError, Unsupported};
use crate::exports::merge::{header, Merged, MergedExport};
use crate::exports::model::{sec_names, Client, ClientAccess, Squash};

/// The Linux kind.
pub struct Linux;

impl ServerType for Linux {
    fn default_file(&self) -> &'static str {
        "/etc/exports.d/xcat-extnfs.exports"
    }

    fn default_reload(&self) -> Option<&'static [&'static str]> {
        Some(&["exportfs", "-ra"])
    }

    fn validate(&self, settings: &ExportsSettings) -> Result<(), String> {
        match settings.fsid {
            Some(b) if b == 0 || b >= 1 << 31 => {
                Err("fsid must be between 1 and 2147483647".into())
            }
            _ => Ok(()),
        }
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, ExportsError> {
        render(input.merged, input.settings.fsid)
    }

    fn parse_applied(&self, text: &str) -> Applied {
        parse_applied(text)
    }
}

/// The fsid of a path for a base: base + (FNV-1a of the base and the path, modulo 2^31).
/// It depends on nothing else, so every CNFS node computes the same value.
pub fn fsid(base: u32, path: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in base.to_le_bytes().iter().chain(path.as_bytes()) {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    base + (hash & 0x7fff_ffff)
}

/// Renders our exports(5) file: a header, then one entry per path in path order.
pub fn render(merged: &Merged, fsid_base: Option<u32>) -> Result<Rendered, ExportsError> {
    let fsids = assign_fsids(merged, fsid_base)?;
    let mut text = header(merged);
    let mut problems = Vec::new();
    let mut versioned = BTreeSet::new();
    for m in merged
        .exports
        .values()
        .filter(|m| !m.export.clients.is_empty())
    {
        versioned.extend(m.export.versions.iter().copied());
        match render_entry(m, fsids.get(&m.export.path).copied()) {
            Ok(entry) => text.push_str(&entry),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(ExportsError::Unsupported {
            kind: ServerKind::Linux,
            items: problems,
        });
    }
    let notes = match versioned.is_empty() {
        true => Vec::new(),
        false => vec![format!(
            "NFS versions ({}) are set server-wide on Linux (nfs.conf), not per export",
            versioned
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )],
    };
    Ok(Rendered {
        text,
        notes,
        ..Rendered::default()
    })
}

fn assign_fsids(merged: &Merged, base: Option<u32>) -> Result<BTreeMap<String, u32>, ExportsError> {
    let Some(base) = base else {
        return Ok(BTreeMap::new());
    };
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for path in merged.exports.keys() {
        let id = fsid(base, path);
        if let Some(first) = seen.insert(id, path) {
            return Err(ExportsError::FsidCollision {
                fsid: id,
                first: first.to_string(),
                second: path.clone(),
            });
        }
        out.insert(path.clone(), id);
    }
    Ok(out)
}

/// One path: on one line for one client, else one client per continuation line.
fn render_entry(m: &MergedExport, fsid: Option<u32>) -> Result<String, Vec<Unsupported>> {
    let mut specs = Vec::new();
    let mut problems = Vec::new();
    for (client, grant) in &m.export.clients {
        match client_options_text(m, client, grant, fsid) {
            Ok(opts) => specs.push(format!("{client}({opts})")),
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let path = &m.export.path;
    Ok(match specs.len() {
        1 => format!("{path} {}\n", specs[0]),
        _ => format!("{path} \\\n\t{}\n", specs.join(" \\\n\t")),
    })
}

/// `sec=` first (so that it covers the options after it), then access, the fixed server
/// options, `insecure`, the squash, `anonuid=` and `fsid=`.
fn client_options_text(
    m: &MergedExport,
    client: &Client,
    grant: &ClientAccess,
    fsid: Option<u32>,
) -> Result<String, Unsupported> {
    if let Some(refused) = m.refuse_common(client, grant, "Linux") {
        return Err(refused);
    }
    let mut opts = Vec::new();
    if !grant.default_sec() {
        opts.push(format!("sec={}", sec_names(&grant.sec, ":")));
    }
    opts.push(format!("{:?}", grant.access).to_lowercase());
    opts.extend(["sync", "no_subtree_check"].map(String::from));
    if grant.insecure {
        opts.push("insecure".into());
    }
    match grant.squash {
        Squash::None => opts.push("no_root_squash".into()),
        Squash::All => opts.push("all_squash".into()),
        Squash::Root => {}
    }
    match grant.anon_uid {
        Some(uid) if uid >= 0 => opts.push(format!("anonuid={uid}")),
        // AIX's default "nobody" is -2; Linux's default anonuid is its own nobody.
        Some(-2) | None => {}
        Some(uid) => {
            let why = "Linux has no negative uids";
            return Err(m.unsupported(Some(client), &format!("anon={uid}"), why));
        }
    }
    if let Some(id) = fsid {
        opts.push(format!("fsid={id}"));
    }
    Ok(opts.join(","))
}

/// The options that decide what a client may do; knfsd's table lists many more
/// (`wdelay`, `hide`, `secure_locks`, `no_pnfs`, `uuid=`...), which are dropped before parsing.
const DECISIVE: [&str; 10] = [
    "ro",
    "rw",
    "root_squash",
    "no_root_squash",
    "all_squash",
    "no_all_squash",
    "secure",
    "insecure",
    "anonuid",
    "sec",
];

/// knfsd's export table (`/var/lib/nfs/etab`: `path<TAB>client(options)`) or `exportfs -v`
/// (the same, except that a long path stands alone and its clients follow on indented lines).
pub fn parse_applied(text: &str) -> Applied {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let rewritten: Vec<String> = line.split_whitespace().map(decisive_only).collect();
        match (line.starts_with(char::is_whitespace), lines.last_mut()) {
            (true, Some(last)) => {
                last.push(' ');
                last.push_str(&rewritten.join(" "));
            }
            _ => lines.push(rewritten.join(" ")),
        }
    }
    applied::from_exports_text(&lines.join("\n"), "exports as knfsd applies them")
}

/// `client(opt,...)` with only the [`DECISIVE`] options; other words unchanged.
fn decisive_only(word: &str) -> String {
    let Some((client, rest)) = word.split_once('(') else {
        return word.to_string();
    };
    let opts: Vec<&str> = rest
        .trim_end_matches(')')
        .split(',')
        .filter(|o| DECISIVE.contains(&o.split('=').next().unwrap_or("")))
        .collect();
    format!("{client}({})", opts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::applied::who;
    use crate::exports::{Access, Squash};

    #[test]
    fn fsid_is_stable_and_depends_on_base_and_path() {
        let a = fsid(1000, "/install/nim/spot/71B/usr");
        assert_eq!(a, fsid(1000, "/install/nim/spot/71B/usr"));
        assert!((1000..1000 + (1 << 31)).contains(&a));
        assert_ne!(a, fsid(1000, "/install/nim/spot/71C/usr"));
        assert_ne!(a, fsid(2000, "/install/nim/spot/71B/usr") - 1000);
        // Pinned (FNV-1a of 01 00 00 00 2f 61, computed independently): changing it changes
        // every CNFS server's fsids.
        assert_eq!(fsid(1, "/a"), 1 + (0x6c82_6670 & 0x7fff_ffff));
    }

    #[test]
    fn knfsd_table_and_exportfs_v_with_wrapped_lines() {
        let etab = "/install/nim/root/r/cn001\tcn001(rw,sync,wdelay,hide,nocrossmnt,insecure,no_root_squash,no_all_squash,no_subtree_check,secure_locks,acl,no_pnfs,anonuid=65534,anongid=65534,sec=sys,rw,insecure,no_root_squash,no_all_squash)\n\
/install/nim/spot/s/usr\t10.0.0.0/8(ro,secure,root_squash)\n";
        let a = parse_applied(etab);
        assert!(a.unreadable.is_empty(), "{:?}", a.unreadable);
        let g = a
            .grant("/install/nim/root/r/cn001", &who("cn001", "10.0.0.1"))
            .unwrap();
        assert_eq!(
            (g.access, g.squash, g.insecure),
            (Access::Rw, Squash::None, true)
        );
        assert!(a
            .grant("/install/nim/root/r/cn001", &who("cn002", "10.0.0.2"))
            .is_none());
        let g = a
            .grant("/install/nim/spot/s/usr/lib", &who("cn002", "10.0.0.2"))
            .unwrap();
        assert_eq!(
            (g.access, g.squash, g.insecure),
            (Access::Ro, Squash::Root, false)
        );
        let v = "/install/nim/root/a/very/long/path\n\t\tcn001.cluster(rw,wdelay,no_root_squash,insecure)\n/x  \t*(ro)\n";
        let a = parse_applied(v);
        let g = a
            .grant(
                "/install/nim/root/a/very/long/path",
                &who("cn001.cluster", ""),
            )
            .unwrap();
        assert_eq!(g.access, Access::Rw);
        assert!(a.grant("/x", &who("any", "")).is_some());
    }
}
