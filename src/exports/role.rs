//! What a published resource is to the nodes that mount it ([`Role`], deciding the access NIM
//! or xCAT would have given) and a path the sync put on the server ([`Published`]).

use serde::{Deserialize, Serialize};

use super::model::{Access, ClientAccess, Squash};

/// What a resource is to the nodes that mount it; decides the access NIM would have given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A NIM SPOT (the nodes' `/usr`): read-only.
    Spot,
    /// One node's own root directory (non-shared_root).
    Root,
    /// A shared_root tree.
    SharedRoot,
    /// One node's paging directory.
    Paging,
    /// One node's dump directory.
    Dump,
    /// A Linux statelite image, litetree or statemnt directory.
    Statelite,
    /// A Linux statelite image's `rootimg` (NFS root): read-only, root allowed.
    Rootimg,
    /// A statelite node's persistent directory: read-write, root allowed.
    Statemnt,
    /// A litetree directory: read-only, root allowed.
    Litetree,
    /// An AIX statelite node's persistent directory: as [`Role::Statemnt`], for AIX clients.
    AixStatemnt,
    /// A litetree directory of AIX statelite nodes: as [`Role::Litetree`], for AIX clients.
    AixLitetree,
}

impl Role {
    /// The name the configuration and part files use.
    pub fn name(self) -> &'static str {
        match self {
            Role::Spot => "spot",
            Role::Root => "root",
            Role::SharedRoot => "shared_root",
            Role::Paging => "paging",
            Role::Dump => "dump",
            Role::Statelite => "statelite",
            Role::Rootimg => "rootimg",
            Role::Statemnt => "statemnt",
            Role::Litetree => "litetree",
            Role::AixStatemnt => "aix_statemnt",
            Role::AixLitetree => "aix_litetree",
        }
    }

    /// Whether the nodes mounting it are AIX (whose NFS client uses unprivileged ports).
    pub fn is_aix(self) -> bool {
        !matches!(
            self,
            Role::Statelite | Role::Rootimg | Role::Statemnt | Role::Litetree
        )
    }

    /// Whether the export comes from xCAT's statelite tables (syncstatelite's part), never
    /// from the service node's own exports, which do not hold these paths.
    pub fn from_statelite_tables(self) -> bool {
        matches!(
            self,
            Role::Rootimg | Role::Statemnt | Role::Litetree | Role::AixStatemnt | Role::AixLitetree
        )
    }

    /// The role of a statelite directory for the nodes' operating system: AIX clients need
    /// `insecure` on a Linux server, Linux clients do not. The grant is per client, so a
    /// directory shared by both gets `insecure` for the AIX nodes only.
    pub fn statelite(self, aix: bool) -> Role {
        match (self, aix) {
            (Role::Statemnt | Role::AixStatemnt, true) => Role::AixStatemnt,
            (Role::Statemnt | Role::AixStatemnt, false) => Role::Statemnt,
            (Role::Litetree | Role::AixLitetree, true) => Role::AixLitetree,
            (Role::Litetree | Role::AixLitetree, false) => Role::Litetree,
            (other, _) => other,
        }
    }

    /// The access NIM (or xCAT for statelite) gives the nodes: SPOT and shared_root are
    /// mounted read-only, everything else read-write; root is always allowed.
    pub fn default_access(self) -> ClientAccess {
        let access = match self {
            Role::Spot | Role::SharedRoot | Role::Rootimg | Role::Litetree | Role::AixLitetree => {
                Access::Ro
            }
            _ => Access::Rw,
        };
        let mut grant = ClientAccess::new(access, Squash::None);
        // Linux statelite clients use privileged ports; AIX clients get `insecure` when
        // the part is finished (Role::is_aix).
        grant.insecure = !self.from_statelite_tables();
        grant
    }
}

/// A path the sync put on the server and the nodes (host names) that mount it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub path: String,
    pub role: Role,
    pub clients: Vec<String>,
}
