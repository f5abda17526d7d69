//! NFS exports on the external server (in progress): per-server settings live here so the
//! configuration file can name them.

use serde::{Deserialize, Serialize};

/// The `[server.NAME.exports]` table of the configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportsSettings {}

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
}

/// A path the sync put on the server and the nodes (host names) that mount it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub path: String,
    pub role: Role,
    pub clients: Vec<String>,
}
