//! The external NFS servers of a run, each resolved once: its configuration, the way to reach
//! it and the address its nodes are told. Every later stage looks servers up here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::config::{Config, ServerConfig};
use crate::host;
use crate::remote::{Remote, RemoteError};
use crate::xcat::{self, Resolver};

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

/// Why a node has no external server to put its files on.
#[derive(Debug)]
pub enum NodeServerError {
    /// Not this run's business (no `noderes.nfsserver`, or it is this host): left alone.
    Skip(String),
    /// The node fails, the others go on.
    Fail(String),
    /// The way to reach servers is misconfigured: the run stops before any change.
    Stop(RemoteError),
}

/// The servers of a run as its nodes name them, each resolved once (an unresolvable one
/// fails each of its nodes with the same message).
pub struct ServerBook {
    pub servers: Servers,
    unresolvable: BTreeMap<String, String>,
    local: BTreeSet<IpAddr>,
}

impl Default for ServerBook {
    fn default() -> ServerBook {
        ServerBook {
            servers: Servers::new(),
            unresolvable: BTreeMap::new(),
            local: host::local_addresses(),
        }
    }
}

impl ServerBook {
    /// The external server of `node` (`noderes.nfsserver`): unset or `<xcatmaster>` means
    /// its SN serves it; a server that is this host is left to xCAT.
    pub fn for_node(
        &mut self,
        config: &Config,
        resolver: &Resolver<'_>,
        node: &str,
    ) -> Result<&Server, NodeServerError> {
        let server = resolver
            .attr(node, "noderes", "nfsserver")
            .map_err(|e| match e {
                xcat::ResolveError::Table(t) => NodeServerError::Fail(t.to_string()),
                other => NodeServerError::Fail(other.to_string()),
            })?;
        let server = match server.as_deref() {
            None => {
                return Err(NodeServerError::Skip(
                    "noderes.nfsserver is not set (served by its SN)".into(),
                ))
            }
            Some("<xcatmaster>") => {
                return Err(NodeServerError::Skip(
                    "noderes.nfsserver is <xcatmaster> (served by its SN)".into(),
                ))
            }
            Some(s) => s.to_string(),
        };
        host::validate_hostname(&server)
            .map_err(|e| NodeServerError::Fail(format!("noderes.nfsserver: {e}")))?;
        if let Some(message) = self.unresolvable.get(&server) {
            return Err(NodeServerError::Fail(message.clone()));
        }
        if !self.servers.contains_key(&server) {
            match Server::resolve(config, &server) {
                Ok(s) => {
                    self.servers.insert(server.clone(), s);
                }
                Err(ServerProblem::Remote(e)) => return Err(NodeServerError::Stop(e)),
                Err(ServerProblem::Unresolvable(message)) => {
                    self.unresolvable.insert(server, message.clone());
                    return Err(NodeServerError::Fail(message));
                }
            }
        }
        let found = self.servers.get(&server);
        let Some(found) = found else {
            return Err(NodeServerError::Fail(format!(
                "server {server} is not resolved"
            )));
        };
        let ip = found
            .address
            .ip
            .parse::<IpAddr>()
            .map_err(|_| NodeServerError::Fail(format!("bad address {}", found.address.ip)))?;
        if self.local.contains(&ip) {
            return Err(NodeServerError::Skip(format!(
                "nfsserver {server} is this host"
            )));
        }
        Ok(found)
    }
}

/// The node's address from `hosts.ip` in the xCAT database, when it holds a valid one. The
/// name resolver is not asked: through a files resolver one lookup per node reads the whole
/// `/etc/hosts` each time.
pub fn node_address(resolver: &Resolver<'_>, node: &str) -> Option<String> {
    let has_hosts = resolver
        .db()
        .optional_table("hosts")
        .ok()
        .flatten()
        .is_some();
    if !has_hosts {
        return None;
    }
    resolver
        .attr(node, "hosts", "ip")
        .ok()
        .flatten()
        .filter(|ip| ip.parse::<IpAddr>().is_ok())
}
