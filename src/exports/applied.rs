//! The exports an NFS server has actually applied, as its own tool or state shows them (each
//! kind reads and parses its own in `kinds`), and what one client may do on a path by them.
//!
//! Doctor compares each mount of each node with this, not with the file this project wrote:
//! a server that failed to reload, or an admin's edit, shows here.

use std::collections::HashMap;
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

/// The frames' bodies one after the other, each on lines of its own (a file without a final
/// newline does not run into the next one).
pub(crate) fn bodies(frames: &[(String, String)]) -> String {
    let bodies: Vec<&str> = frames.iter().map(|(_, b)| b.as_str()).collect();
    bodies.join("\n")
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
    /// may not mount it at all. Builds an [`AppliedIndex`] each call: to ask about many
    /// mounts, build one with [`Applied::index`] and ask it.
    pub fn grant(&self, path: &str, who: &Who<'_>) -> Option<&ClientAccess> {
        self.index().grant(path, who)
    }

    /// The exports indexed for [`AppliedIndex::grant`]: built once per server, it answers
    /// each mount by a few map look-ups instead of scanning every export and client.
    pub fn index(&self) -> AppliedIndex<'_> {
        let mut by_path: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, e) in self.exports.iter().enumerate() {
            // The export chosen among those of one directory: the longest path as written
            // (`/a/` over `/a`), the last of equals, as a scan taking the maximum would.
            let key = (e.path.len(), i);
            by_path
                .entry(e.path.trim_end_matches('/'))
                .and_modify(|k| *k = (*k).max(key))
                .or_insert(key);
        }
        AppliedIndex {
            by_path,
            clients: self.exports.iter().map(ClientIndex::new).collect(),
        }
    }
}

/// [`Applied`] indexed: exports by directory, and each export's host clients by lower-case
/// name and by address, so a mount costs look-ups, not a scan of 10,000 clients.
#[derive(Debug)]
pub struct AppliedIndex<'a> {
    /// Per directory (trailing `/` removed): `(path length as written, position)` of the
    /// export that wins among those of that directory.
    by_path: HashMap<&'a str, (usize, usize)>,
    /// Per export, in the order of `Applied::exports`.
    clients: Vec<ClientIndex<'a>>,
}

impl<'a> AppliedIndex<'a> {
    /// The same answer as [`Applied::grant`]: the export of the nearest directory at or above
    /// `path` (found by walking up its directories), then the first client entry that
    /// matches, in the export's order.
    pub fn grant(&self, path: &str, who: &Who<'_>) -> Option<&'a ClientAccess> {
        let path = path.trim_end_matches('/');
        // An export of `/` (an empty directory here) is above every path.
        let mut best = self.by_path.get("").copied();
        let above = path.match_indices('/').map(|(i, _)| &path[..i]);
        for dir in above.chain([path]) {
            if let Some(&k) = self.by_path.get(dir) {
                best = best.max(Some(k));
            }
        }
        let (_, export) = best?;
        self.clients[export].first_match(who)
    }
}

/// One export's client entries, with the positions of its host entries by name and address.
#[derive(Debug)]
struct ClientIndex<'a> {
    /// The entries in match order (the order of `Export::clients`).
    entries: Vec<&'a ClientAccess>,
    /// Lower-case host name (or address as written) -> first position with it.
    by_name: HashMap<String, usize>,
    /// Address of a host entry that is one -> first position with it.
    by_ip: HashMap<IpAddr, usize>,
    /// Positions of the other entries (networks, netgroups, patterns, everyone), ascending,
    /// matched one by one as before.
    others: Vec<(usize, &'a Client)>,
}

impl<'a> ClientIndex<'a> {
    fn new(export: &'a Export) -> ClientIndex<'a> {
        let mut index = ClientIndex {
            entries: Vec::with_capacity(export.clients.len()),
            by_name: HashMap::new(),
            by_ip: HashMap::new(),
            others: Vec::new(),
        };
        for (pos, (client, access)) in export.clients.iter().enumerate() {
            index.entries.push(access);
            match client {
                Client::Host(h) => {
                    index.by_name.entry(h.to_ascii_lowercase()).or_insert(pos);
                    if let Ok(ip) = h.parse::<IpAddr>() {
                        index.by_ip.entry(ip).or_insert(pos);
                    }
                }
                _ => index.others.push((pos, client)),
            }
        }
        index
    }

    /// The grant of the first entry that matches `who` ([`matches`]). Host entries sort
    /// before the others in `Export::clients`, but this does not rely on it: it takes the
    /// lowest position among the host entries found and the first other entry that matches.
    fn first_match(&self, who: &Who<'_>) -> Option<&'a ClientAccess> {
        let mut first = usize::MAX;
        for n in &who.names {
            let short = n.split('.').next().unwrap_or(n);
            for name in [*n, short] {
                if let Some(&pos) = self.by_name.get(&name.to_ascii_lowercase()) {
                    first = first.min(pos);
                }
            }
        }
        if let Some(pos) = who.ip.and_then(|ip| self.by_ip.get(&ip)) {
            first = first.min(*pos);
        }
        if let Some(&(pos, _)) = self
            .others
            .iter()
            .take_while(|(pos, _)| *pos < first)
            .find(|(_, c)| matches(c, who))
        {
            first = pos;
        }
        self.entries.get(first).copied()
    }
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

/// A node known by one name and an address (none when `ip` does not parse), as the tests
/// of every kind's grants ask for it.
#[cfg(test)]
pub(crate) fn who<'a>(name: &'a str, ip: &str) -> Who<'a> {
    Who {
        names: vec![name],
        ip: ip.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The linear scan `grant` was before the index: the oracle the index must agree with.
    fn scanned_grant<'a>(a: &'a Applied, path: &str, who: &Who<'_>) -> Option<&'a ClientAccess> {
        let path = path.trim_end_matches('/');
        let export = a
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

    fn within(path: &str, dir: &str) -> bool {
        let dir = dir.trim_end_matches('/');
        dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
    }

    /// Paths from a few components, with doubled and trailing slashes.
    fn path() -> impl Strategy<Value = String> {
        let part = prop::sample::select(vec!["", "a", "b", "ab", "install", "nim", "spot"]);
        (prop::collection::vec(part, 0..4), any::<bool>()).prop_map(|(parts, trailing)| {
            let mut p = format!("/{}", parts.join("/"));
            if trailing {
                p.push('/');
            }
            p
        })
    }

    /// Clients of every kind, among them hosts that differ only by case, short and long
    /// names, addresses spelled two ways, and patterns and networks that match them.
    fn client() -> impl Strategy<Value = Client> {
        let host = prop::sample::select(vec![
            "cn1",
            "CN1",
            "cn1.example",
            "Cn1.Example",
            "cn2",
            "cn2.other",
            "10.0.0.1",
            "10.0.0.2",
            "fd00::1",
            "fd00:0::1",
        ]);
        let pattern = prop::sample::select(vec!["cn*", "CN?", "cn?.example", "*.other", "x*"]);
        let net = prop::sample::select(vec![
            ("10.0.0.0", 8u8),
            ("10.0.0.2", 32),
            ("10.1.0.0", 16),
            ("fd00::", 64),
            ("0.0.0.0", 0),
        ]);
        let group = prop::sample::select(vec!["nodes", "cn1"]);
        prop_oneof![
            host.prop_map(|h| Client::Host(h.to_string())),
            pattern.prop_map(|p| Client::Pattern(p.to_string())),
            net.prop_map(|(a, p)| Client::Network {
                addr: a.to_string(),
                prefix: p
            }),
            group.prop_map(|g| Client::Netgroup(g.to_string())),
            Just(Client::Everyone),
        ]
    }

    fn applied() -> impl Strategy<Value = Applied> {
        let access = prop::sample::select(vec![Access::Ro, Access::Rw]);
        let squash = prop::sample::select(vec![Squash::None, Squash::Root, Squash::All]);
        let grant = (access, squash, any::<bool>()).prop_map(|(a, s, i)| grant(a, s, i));
        let clients = prop::collection::btree_map(client(), grant, 0..8);
        let export = (path(), clients).prop_map(|(path, clients)| {
            let mut e = Export::new(&path);
            e.clients = clients;
            e
        });
        prop::collection::vec(export, 0..6).prop_map(|exports| Applied {
            exports,
            unreadable: Vec::new(),
        })
    }

    fn names() -> impl Strategy<Value = Vec<&'static str>> {
        let name = prop::sample::select(vec![
            "cn1",
            "CN1.EXAMPLE",
            "cn1.example",
            "cn2.other",
            "cn2",
            "x1",
            "10.0.0.1",
            "",
        ]);
        prop::collection::vec(name, 0..3)
    }

    fn ip() -> impl Strategy<Value = Option<IpAddr>> {
        prop::sample::select(vec![
            None,
            Some("10.0.0.1"),
            Some("10.0.0.2"),
            Some("10.1.2.3"),
            Some("fd00::1"),
            Some("192.168.0.1"),
        ])
        .prop_map(|ip| ip.map(|ip| ip.parse().unwrap()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_index_grants_what_the_scan_grants(
            a in applied(),
            paths in prop::collection::vec(path(), 1..6),
            names in names(),
            ip in ip(),
        ) {
            let index = a.index();
            let who = Who { names, ip };
            for p in &paths {
                let indexed = index.grant(p, &who).map(|g| g as *const ClientAccess);
                let scanned = scanned_grant(&a, p, &who).map(|g| g as *const ClientAccess);
                prop_assert_eq!(indexed, scanned, "path {:?}", p);
            }
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
