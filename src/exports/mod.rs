//! NFS exports on the external server (in progress): per-server settings live here so the
//! configuration file can name them.

use serde::{Deserialize, Serialize};

/// The `[server.NAME.exports]` table of the configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportsSettings {}
