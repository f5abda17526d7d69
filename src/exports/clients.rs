//! How an SN's part names its host clients on the server: a name the server resolves stays a
//! name, the others become the node's address (xCAT's `hosts` table, else this SN's resolver).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::merge::Part;
use super::model::Client;
use crate::xcat::noderange::compact;

/// Where a client's address was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressOrigin {
    /// `hosts.ip` of the node in the xCAT database.
    HostsTable,
    /// This SN's name resolver.
    Resolver,
}

/// The address to name a client by when its name cannot be used.
pub trait ClientAddresses {
    /// The address of the host `name`, and where it was found; `None` when nobody knows it.
    fn address(&self, name: &str) -> Option<(IpAddr, AddressOrigin)>;
}

/// This host's resolver alone, for a caller without the xCAT tables.
pub struct ResolverOnly;

impl ClientAddresses for ResolverOnly {
    fn address(&self, name: &str) -> Option<(IpAddr, AddressOrigin)> {
        crate::host::primary_address(name).map(|ip| (ip, AddressOrigin::Resolver))
    }
}

/// A client left out of the exports: its node failed, the other clients kept theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub client: String,
    pub why: String,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.client, self.why)
    }
}

/// What naming the clients did to a part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Naming {
    /// Names now written as an address, with the address and where it was found.
    pub replaced: BTreeMap<String, (IpAddr, AddressOrigin)>,
    /// Names nobody knows an address for: left out of every export of the part.
    pub unknown: Vec<String>,
    /// Exports left with no client, dropped from the part.
    pub emptied: Vec<String>,
}

/// The host names (not addresses) among the clients of `part`.
pub fn host_names(part: &Part) -> BTreeSet<String> {
    part.exports
        .iter()
        .flat_map(|e| e.export.clients.keys())
        .filter_map(|c| match c {
            Client::Host(h) if h.parse::<IpAddr>().is_err() => Some(h.clone()),
            _ => None,
        })
        .collect()
}

/// Writes each client of `part` named in `names` as its address from `book`; a name without
/// one is left out (its node fails, the other clients keep their exports).
pub fn to_addresses(
    part: &mut Part,
    names: &BTreeSet<String>,
    book: &dyn ClientAddresses,
) -> Naming {
    let mut naming = Naming::default();
    let mut unknown = BTreeSet::new();
    for name in names {
        match book.address(name) {
            Some(found) => {
                naming.replaced.insert(name.clone(), found);
            }
            None => {
                unknown.insert(name.clone());
            }
        }
    }
    for pe in &mut part.exports {
        for name in names {
            let Some(grant) = pe.export.clients.remove(&Client::Host(name.clone())) else {
                continue;
            };
            if let Some((ip, _)) = naming.replaced.get(name) {
                pe.export.grant(Client::Host(ip.to_string()), grant);
            }
        }
    }
    part.exports.retain(|pe| {
        let keep = !pe.export.clients.is_empty();
        if !keep {
            naming.emptied.push(pe.export.path.clone());
        }
        keep
    });
    naming.unknown = unknown.into_iter().collect();
    naming
}

impl Naming {
    /// The one note about names the server does not resolve (`None` if none was replaced):
    /// the names as a noderange, and where their addresses came from.
    pub fn note(&self, server: &str) -> Option<String> {
        if self.replaced.is_empty() {
            return None;
        }
        let names: Vec<&str> = self.replaced.keys().map(String::as_str).collect();
        let count = |o| self.replaced.values().filter(|(_, x)| *x == o).count();
        let origins: Vec<String> = [
            (AddressOrigin::HostsTable, "xCAT's hosts table"),
            (AddressOrigin::Resolver, "this SN's resolver"),
        ]
        .into_iter()
        .filter(|(o, _)| count(*o) > 0)
        .map(|(o, what)| format!("{what}: {}", count(o)))
        .collect();
        Some(format!(
            "server {server} does not resolve {} ({} client name(s)); their exports name \
             their addresses instead ({})",
            compact(&names),
            names.len(),
            origins.join(", ")
        ))
    }

    /// The clients left out, and why.
    pub fn failures(&self) -> Vec<LeftOut> {
        self.unknown
            .iter()
            .map(|n| LeftOut {
                client: n.clone(),
                why: "no address known for this client name (not in xCAT's hosts table, not \
                      resolved by this SN); its exports leave it out"
                    .to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::merge::{PartExport, PART_FORMAT};
    use crate::exports::model::{Access, ClientAccess, Export, Squash};
    use crate::exports::role::Role;

    struct Book;

    impl ClientAddresses for Book {
        fn address(&self, name: &str) -> Option<(IpAddr, AddressOrigin)> {
            match name {
                "cn001" => Some(("10.1.1.1".parse().unwrap(), AddressOrigin::HostsTable)),
                "cn002" => Some(("10.1.1.2".parse().unwrap(), AddressOrigin::HostsTable)),
                "cn003.site" => Some(("10.1.1.3".parse().unwrap(), AddressOrigin::Resolver)),
                _ => None,
            }
        }
    }

    fn grant(access: Access) -> ClientAccess {
        ClientAccess::new(access, Squash::None)
    }

    fn export(path: &str, clients: &[(&str, Access)]) -> PartExport {
        let mut export = Export::new(path);
        for (c, a) in clients {
            export.grant(Client::parse(c).unwrap(), grant(*a));
        }
        PartExport {
            role: Role::Spot,
            source: "/etc/exports line 1".into(),
            export,
        }
    }

    fn part(exports: Vec<PartExport>) -> Part {
        Part {
            format: PART_FORMAT,
            sn: "sn1".into(),
            published: Vec::new(),
            exports,
        }
    }

    fn clients(p: &Part, path: &str) -> Vec<String> {
        let e = p.exports.iter().find(|e| e.export.path == path).unwrap();
        e.export.clients.keys().map(|c| c.to_string()).collect()
    }

    #[test]
    fn names_become_addresses_and_unknown_ones_are_left_out_alone() {
        let mut p = part(vec![
            export(
                "/spot",
                &[
                    ("cn001", Access::Ro),
                    ("cn002", Access::Ro),
                    ("cn404", Access::Ro),
                    ("kept", Access::Ro),
                    ("10.9.9.9", Access::Ro),
                ],
            ),
            export("/root/cn404", &[("cn404", Access::Rw)]),
            export("/root/cn003", &[("cn003.site", Access::Rw)]),
        ]);
        assert_eq!(
            host_names(&p).into_iter().collect::<Vec<_>>(),
            ["cn001", "cn002", "cn003.site", "cn404", "kept"]
        );
        let names: BTreeSet<String> = ["cn001", "cn002", "cn003.site", "cn404"]
            .map(String::from)
            .into();
        let naming = to_addresses(&mut p, &names, &Book);
        assert_eq!(
            clients(&p, "/spot"),
            ["10.1.1.1", "10.1.1.2", "10.9.9.9", "kept"]
        );
        assert_eq!(clients(&p, "/root/cn003"), ["10.1.1.3"]);
        assert_eq!(naming.unknown, ["cn404"]);
        assert_eq!(naming.emptied, ["/root/cn404"]);
        assert_eq!(p.exports.len(), 2);
        let note = naming.note("nfs1").unwrap();
        assert_eq!(
            note,
            "server nfs1 does not resolve cn001-cn002,cn003.site (3 client name(s)); their \
             exports name their addresses instead (xCAT's hosts table: 2, this SN's resolver: 1)"
        );
        let failures = naming.failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].client, "cn404");
        assert!(failures[0]
            .to_string()
            .starts_with("cn404: no address known"));
    }

    #[test]
    fn a_name_and_its_address_granted_apart_keep_the_wider_grant() {
        let mut p = part(vec![export(
            "/spot",
            &[("cn001", Access::Rw), ("10.1.1.1", Access::Ro)],
        )]);
        let names: BTreeSet<String> = ["cn001".to_string()].into();
        let naming = to_addresses(&mut p, &names, &Book);
        assert!(naming.unknown.is_empty() && naming.emptied.is_empty());
        let e = &p.exports[0].export;
        assert_eq!(e.clients.len(), 1);
        assert_eq!(
            e.clients[&Client::Host("10.1.1.1".into())].access,
            Access::Rw
        );
    }

    #[test]
    fn nothing_replaced_is_no_note() {
        let mut p = part(vec![export("/spot", &[("cn001", Access::Ro)])]);
        let naming = to_addresses(&mut p, &BTreeSet::new(), &Book);
        assert_eq!(naming, Naming::default());
        assert_eq!(naming.note("nfs1"), None);
        assert_eq!(clients(&p, "/spot"), ["cn001"]);
    }
}
