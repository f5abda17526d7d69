//! Tests across the exports modules: golden renderings per server kind, properties of merging
//! and rendering, and whole runs against a server reached through a local directory.

mod golden;
mod mapping;
mod props;
mod publishing;
mod settings;

use std::net::IpAddr;

use super::merge::{build_part, Part, PartInput};
use super::{Published, Role, SnExports};

/// sn1's NIM exports: its SPOT, shared_root and two nodes' roots (and an unrelated line).
pub const SN1_EXPORTS: &str = "\
# NIM exports of sn1
/install/nim/spot/71Bcosi/usr -ro,root=cn001:cn002,access=cn001:cn002
/install/nim/root/71Bcosi_root/cn001 -root=cn001,access=cn001
/install/nim/root/71Bcosi_root/cn002 -root=cn002,access=cn002
/install/nim/shared_root/71Bsr_shared_root -vers=3:4,ro,root=cn001:cn002,access=cn001:cn002
/install/postscripts -vers=3:4,ro
";

/// sn2's: the same SPOT and shared_root for its node, its root, paging (no dump line).
pub const SN2_EXPORTS: &str = "\
/install/nim/spot/71Bcosi/usr -ro,root=cn101,access=cn101
/install/nim/root/71Bcosi_root/cn101 -sec=sys:krb5p,root=cn101,access=cn101
/install/nim/paging/71Bcosi_paging/cn101 -root=cn101,access=cn101,anon=0
/install/nim/shared_root/71Bsr_shared_root -vers=3:4,ro,root=cn101,access=cn101
";

/// sn3, a Linux SN serving statelite nodes.
pub const SN3_EXPORTS: &str = "\
/install/netboot/rhels9/x86_64/compute/rootimg *(ro,no_root_squash,sync,no_subtree_check,insecure)
/state 10.2.0.0/16(rw,no_root_squash,sync,no_subtree_check,insecure) @admins(rw,all_squash,anonuid=500)
";

pub const SPOT: &str = "/install/nim/spot/71Bcosi/usr";
pub const ROOTS: &str = "/install/nim/root/71Bcosi_root";
pub const SHARED: &str = "/install/nim/shared_root/71Bsr_shared_root";

pub fn published(path: &str, role: Role, clients: &[&str]) -> Published {
    Published {
        path: path.to_string(),
        role,
        clients: clients.iter().map(|c| c.to_string()).collect(),
    }
}

/// What the sync of each fixture SN publishes.
pub fn published_by(sn: &str) -> Vec<Published> {
    match sn {
        "sn1" => vec![
            published(SPOT, Role::Spot, &["cn001", "cn002"]),
            published(ROOTS, Role::Root, &["cn001", "cn002"]),
            published(SHARED, Role::SharedRoot, &["cn001", "cn002"]),
        ],
        "sn2" => vec![
            published(SPOT, Role::Spot, &["cn101"]),
            published(ROOTS, Role::Root, &["cn101"]),
            published(
                "/install/nim/paging/71Bcosi_paging/cn101",
                Role::Paging,
                &["cn101"],
            ),
            published(SHARED, Role::SharedRoot, &["cn101"]),
            published("/install/nim/dump/71Bdump/cn101", Role::Dump, &["cn101"]),
        ],
        _ => vec![
            published(
                "/install/netboot/rhels9/x86_64/compute/rootimg",
                Role::Statelite,
                &["ln01"],
            ),
            published("/state", Role::Statelite, &["ln01"]),
        ],
    }
}

/// Each fixture SN's exports file.
pub fn exports_of(sn: &str) -> &'static str {
    match sn {
        "sn1" => SN1_EXPORTS,
        "sn2" => SN2_EXPORTS,
        _ => SN3_EXPORTS,
    }
}

/// Node names and the addresses runs use for them (their "server" is this host, which
/// resolves no `cnNNN`).
const ADDRESSES: [(&str, &str); 4] = [
    ("cn001", "10.1.0.1"),
    ("cn002", "10.1.0.2"),
    ("cn101", "10.1.1.1"),
    ("ln01", "10.2.0.1"),
];

/// An exports text with every client name (after `=` or `:`) replaced by its address, or a
/// bare node name replaced; paths keep the node names.
pub fn with_addresses(text: &str) -> String {
    let mut out = text.to_string();
    for (name, ip) in ADDRESSES {
        if out == name {
            return ip.to_string();
        }
        out = out.replace(&format!("={name}"), &format!("={ip}"));
        out = out.replace(&format!(":{name}"), &format!(":{ip}"));
    }
    out
}

pub fn no_dns(_: &str) -> Vec<IpAddr> {
    Vec::new()
}

/// A fixture SN's part, built as `publish` builds it.
pub fn part_of(sn: &str) -> Part {
    let exports = SnExports::parse("/etc/exports", exports_of(sn));
    build_part(&PartInput {
        sn,
        previous: None,
        published: &published_by(sn),
        exports: &exports,
        resolver: &no_dns,
    })
    .unwrap()
    .part
}
