//! One NFS mount a node makes ([`Mount`]): what it is to the node, where it comes from, and
//! the access the server must grant for it.

use serde::Serialize;

/// What a mount is to the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Rootimg,
    Statemnt,
    Litetree,
    Spot,
    Root,
    SharedRoot,
    Paging,
    Dump,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rootimg => "rootimg",
            Kind::Statemnt => "statemnt",
            Kind::Litetree => "litetree",
            Kind::Spot => "spot",
            Kind::Root => "root",
            Kind::SharedRoot => "shared_root",
            Kind::Paging => "paging",
            Kind::Dump => "dump",
        }
    }
}

/// Read-only or read-write, as the node mounts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Ro,
    Rw,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Ro => "ro",
            Access::Rw => "rw",
        }
    }
}

/// One NFS mount a node makes, and what the server must grant for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub kind: Kind,
    /// As the tables name it (`noderes.nfsserver`, a statemnt or litetree server part, ...).
    pub server: String,
    pub path: String,
    pub access: Access,
    /// Root on the node must keep uid 0 (`no_root_squash`).
    pub root: bool,
    /// The NFS version the node insists on, when it does.
    pub nfsvers: Option<u8>,
    /// The client is AIX (unprivileged source ports: `insecure` on a Linux server).
    pub aix_client: bool,
    /// Mount options from the tables (statelite.mntopts; litetree.mntopts on AIX).
    pub options: Option<String>,
}

impl Mount {
    pub fn new(
        kind: Kind,
        server: &str,
        path: &str,
        access: Access,
        root: bool,
        aix: bool,
    ) -> Mount {
        Mount {
            kind,
            server: server.to_string(),
            path: path.to_string(),
            access,
            root,
            nfsvers: None,
            aix_client: aix,
            options: None,
        }
    }

    /// `<kind> <server>:<path> <ro|rw>`.
    pub fn line(&self) -> String {
        format!(
            "{} {}:{} {}",
            self.kind.name(),
            self.server,
            self.path,
            self.access.name()
        )
    }
}
