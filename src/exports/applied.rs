//! The exports an NFS server has actually applied, as its own tool or state shows them (each
//! kind reads and parses its own in `kinds`), and what one client may do on a path by them.
//!
//! Doctor compares each mount of each node with this, not with the file this project wrote:
//! a server that failed to reload, or an admin's edit, shows here.

use std::net::IpAddr;

use crate::exports::local::SnExports;
use crate::exports::model::{Access, Client, ClientAccess, Export, Squash};
use crate::remote::Remote;
use crate::scripts;

/// The exports a server applies.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub exports: Vec<Export>,
    /// Lines or blocks that could not be understood, with why (they grant nothing here).
    pub unreadable: Vec<String>,
}

/// Runs the reading script ([`scripts::APPLIED`]) on the server for `kind` with `extra`
/// arguments; returns its frames (`name`, `body`). `Err` says why nothing could be read.
pub(crate) fn query(
    remote: &Remote,
    kind: &str,
    extra: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let mark = format!("--extnfs-applied-{:x}", std::process::id());
    let mut args = vec![kind, mark.as_str()];
    args.extend_from_slice(extra);
    let out = remote
        .script(scripts::APPLIED, &args)
        .run_checked()
        .map_err(|e| e.to_string())?;
    scripts::frames(&out.stdout, &mark)
}

/// The frames' bodies one after the other.
pub(crate) fn bodies(frames: &[(String, String)]) -> String {
    frames.iter().map(|(_, b)| b.as_str()).collect()
}

pub(crate) fn from_exports_text(text: &str, label: &str) -> Applied {
    let parsed = SnExports::parse(label, text);
    Applied {
        exports: parsed.entries.into_iter().map(|e| e.export).collect(),
        unreadable: parsed
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.source, p.message))
            .collect(),
    }
}

/// Who a node is to a server's client lists: its names (as given and short) and its address.
#[derive(Clone, Debug)]
pub struct Who<'a> {
    pub names: Vec<&'a str>,
    pub ip: Option<IpAddr>,
}

impl Applied {
    /// What the client may do on `path`: by the export of `path` or of the nearest directory
    /// above it, from the first (most specific) client entry that matches it. `None`: it
    /// may not mount it at all.
    pub fn grant(&self, path: &str, who: &Who<'_>) -> Option<&ClientAccess> {
        let path = path.trim_end_matches('/');
        let export = self
            .exports
            .iter()
            .filter(|e| within(path, &e.path))
            .max_by_key(|e| e.path.len())?;
        export
            .clients
            .iter()
            .find(|(c, _)| matches(c, who))
            .map(|(_, g)| g)
    }
}

fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// Whether a client entry names the node. A netgroup cannot be looked into from here and
/// counts as not naming it.
fn matches(client: &Client, who: &Who<'_>) -> bool {
    let named = |h: &str| {
        who.names.iter().any(|n| {
            n.eq_ignore_ascii_case(h) || n.split('.').next().unwrap_or(n).eq_ignore_ascii_case(h)
        }) || who.ip.is_some_and(|ip| h.parse::<IpAddr>() == Ok(ip))
    };
    match client {
        Client::Everyone => true,
        Client::Host(h) => named(h),
        Client::Network { addr, prefix } => match (who.ip, addr.parse::<IpAddr>()) {
            (Some(IpAddr::V4(ip)), Ok(IpAddr::V4(net))) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net) & mask
            }
            (Some(IpAddr::V6(ip)), Ok(IpAddr::V6(net))) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        },
        Client::Pattern(p) => who.names.iter().any(|n| glob(p, n)),
        Client::Netgroup(_) => false,
    }
}

/// `*` and `?` wildcards, without case.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(&p, &n)
}

pub(crate) fn grant(access: Access, squash: Squash, insecure: bool) -> ClientAccess {
    let mut g = ClientAccess::new(access, squash);
    g.insecure = insecure;
    g
}

/// Adds the first grant of a client (the first matching CLIENT block wins in Ganesha).
pub(crate) fn add_client(
    export: &mut Export,
    text: &str,
    access: Access,
    squash: Squash,
    insecure: bool,
) {
    if text.is_empty() {
        return;
    }
    if let Ok(client) = Client::parse(text) {
        export
            .clients
            .entry(client)
            .or_insert_with(|| grant(access, squash, insecure));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who<'a>(name: &'a str, ip: &str) -> Who<'a> {
        Who {
            names: vec![name],
            ip: ip.parse().ok(),
        }
    }

    #[test]
    fn grants_follow_the_nearest_export_and_the_first_matching_client() {
        let mut root = Export::new("/install/nim/root");
        root.clients.insert(
            Client::parse("10.1.0.0/16").unwrap(),
            ClientAccess::new(Access::Rw, Squash::None),
        );
        let mut spot = Export::new("/install/nim/spot");
        spot.clients.insert(
            Client::parse("cn00?").unwrap(),
            ClientAccess::new(Access::Ro, Squash::Root),
        );
        let a = Applied {
            exports: vec![root, spot],
            unreadable: Vec::new(),
        };
        let g = a
            .grant("/install/nim/root/r/cn001/", &who("cn001", "10.1.1.1"))
            .unwrap();
        assert_eq!((g.access, g.squash), (Access::Rw, Squash::None));
        assert!(a
            .grant("/install/nim/root", &who("cn001", "10.2.1.1"))
            .is_none());
        assert!(a
            .grant("/install/nim/rootx", &who("cn001", "10.1.1.1"))
            .is_none());
        let g = a.grant("/install/nim/spot/usr", &who("CN003", "")).unwrap();
        assert_eq!(g.access, Access::Ro);
        assert!(a.grant("/install/nim/spot", &who("cn0010", "")).is_none());
    }
}
