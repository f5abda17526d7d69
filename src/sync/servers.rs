//! The external NFS servers of a run, each resolved once: its configuration, the way to reach
//! it and the address its nodes are told. Every later stage looks servers up here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, ServerConfig};
use crate::host;
use crate::remote::{Remote, RemoteError};

/// How the nodes will name their server in the files mkdsklsnode edits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerAddress {
    pub host: String,
    pub ip: String,
}

/// One external NFS server as a run uses it.
#[derive(Clone, Debug)]
pub struct Server {
    /// The server as `noderes.nfsserver` names it.
    pub name: String,
    pub config: ServerConfig,
    pub remote: Remote,
    pub address: ServerAddress,
}

/// The servers of a run by name.
pub type Servers = BTreeMap<String, Server>;

/// Why a server cannot be used.
#[derive(Debug)]
pub enum ServerProblem {
    /// The way to reach servers is misconfigured (a usage error: the run stops).
    Remote(RemoteError),
    /// The server's address is unknown (its nodes fail).
    Unresolvable(String),
}

impl Server {
    /// Resolves `name` from the configuration: its settings, its remote access (`RSYNC_RSH`
    /// parsed here, before any change) and its address (the configured `address`, or the name
    /// resolved here; a server given as an address is used as both).
    pub fn resolve(config: &Config, name: &str) -> Result<Server, ServerProblem> {
        let config = config.server(name);
        let remote = Remote::new(&config).map_err(ServerProblem::Remote)?;
        let ip = match &config.address {
            Some(a) => a.clone(),
            None => match host::primary_address(name) {
                Some(ip) => ip.to_string(),
                None => return Err(ServerProblem::Unresolvable(format!(
                    "cannot resolve the nfsserver {name} (add it to /etc/hosts or set address in [server.{name}] of the configuration)"
                ))),
            },
        };
        Ok(Server {
            name: name.to_string(),
            address: ServerAddress {
                host: name.to_string(),
                ip,
            },
            config,
            remote,
        })
    }
}
