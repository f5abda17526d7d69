//! The external NFS servers of a run, each resolved once: its configuration, the way to reach
//! it and the address its nodes are told. Every later stage looks servers up here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::config::{Config, ServerConfig};
use crate::exports::{AddressOrigin, ClientAddresses};
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

/// How many transfers or server reads a run makes at once: `--jobs` when given, else the
/// largest `jobs` among the run's servers, else 4.
pub fn jobs(given: Option<usize>, servers: &Servers) -> usize {
    given
        .or_else(|| servers.values().map(|s| s.config.jobs).max())
        .unwrap_or(4)
}

#[cfg(test)]
impl Server {
    /// The server `nfs1` at 10.0.0.9, reached through `remote`: the engine's unit tests' server.
    pub(crate) fn nfs1(remote: Remote, config: ServerConfig) -> Server {
        Server {
            name: "nfs1".into(),
            address: ServerAddress {
                host: "nfs1".into(),
                ip: "10.0.0.9".into(),
            },
            remote,
            config,
        }
    }
}

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
#[derive(Default)]
pub struct ServerBook {
    pub servers: Servers,
    unresolvable: BTreeMap<String, String>,
    /// This host's addresses, listed once a first server is resolved (not at all when every
    /// node is skipped before).
    local: Option<BTreeSet<IpAddr>>,
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
            // The first server's resolution (`ssh -G`) and this host's address listing (`ip`)
            // are two commands: they run at once.
            let resolved = std::thread::scope(|scope| {
                let listing = (self.local.is_none()).then(|| scope.spawn(host::local_addresses));
                let resolved = Server::resolve(config, &server);
                if let Some(listing) = listing {
                    let local = listing.join();
                    self.local = Some(local.unwrap_or_else(|p| std::panic::resume_unwind(p)));
                }
                resolved
            });
            match resolved {
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
        if (self.local.get_or_insert_with(host::local_addresses)).contains(&ip) {
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

/// The nodes' addresses for exports that cannot name them: `hosts.ip` of the node (the
/// client name as written, else its first label, for a name written with its domain), else
/// this host's resolver.
pub struct NodeAddresses<'r, 'db> {
    pub resolver: &'r Resolver<'db>,
}

impl ClientAddresses for NodeAddresses<'_, '_> {
    fn address(&self, name: &str) -> Option<(IpAddr, AddressOrigin)> {
        let short = name.split('.').next().filter(|s| *s != name);
        std::iter::once(name)
            .chain(short)
            .find_map(|n| node_address(self.resolver, n))
            .and_then(|ip| ip.parse().ok())
            .map(|ip| (ip, AddressOrigin::HostsTable))
            .or_else(|| host::primary_address(name).map(|ip| (ip, AddressOrigin::Resolver)))
    }
}

/// Why the servers of the nodes this host serves cannot be worked out.
#[derive(Debug, thiserror::Error)]
pub enum ServedError {
    #[error("cannot work out the servers of the nodes this host serves: {0}")]
    Tables(String),
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

/// The external servers of the nodes a host serves, and why some nodes gave none.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Server names as `noderes.nfsserver` gives them.
    pub servers: BTreeSet<String>,
    /// Servers that cannot be used, once each (e.g. an unresolvable name).
    pub notes: BTreeSet<String>,
}

/// The servers (`noderes.nfsserver`) of the nodes this host serves: nodes whose
/// `noderes.servicenode` (any SN of its list) or `noderes.xcatmaster` is this host by `is_me`;
/// with `every_node`, all nodes (for a run on the management node). Nodes their SN serves,
/// with no server, or whose server is this host are left out, as syncaixres leaves them.
pub fn servers_of_served_nodes(
    config: &Config,
    resolver: &Resolver<'_>,
    is_me: &dyn Fn(&str) -> bool,
    every_node: bool,
) -> Result<Served, ServedError> {
    let tables = |e: &dyn std::fmt::Display| ServedError::Tables(e.to_string());
    let nodelist = resolver.nodelist().map_err(|e| tables(&e))?;
    let mut book = ServerBook::default();
    let mut served = Served::default();
    for node in &nodelist.nodes {
        let v = resolver
            .attrs(node, "noderes", &["servicenode", "xcatmaster"])
            .map_err(|e| tables(&e))?;
        let (sns, master) = (v[0].as_deref().unwrap_or(""), v[1].as_deref());

        let mine = every_node
            || sns
                .split(',')
                .map(str::trim)
                .any(|s| !s.is_empty() && is_me(s))
            || master.is_some_and(is_me);
        if !mine {
            continue;
        }
        match book.for_node(config, resolver, node) {
            Ok(server) => {
                served.servers.insert(server.name.clone());
            }
            Err(NodeServerError::Skip(_)) => {}
            Err(NodeServerError::Fail(message)) => {
                served.notes.insert(message);
            }
            Err(NodeServerError::Stop(e)) => return Err(e.into()),
        }
    }
    Ok(served)
}

/// Whether a name from the tables is this host: its SN name or host name, or a name that
/// resolves to one of its addresses (xCAT's `is_me`); each name is resolved once.
pub struct ThisHost {
    names: Vec<String>,
    addresses: BTreeSet<IpAddr>,
    seen: std::cell::RefCell<BTreeMap<String, bool>>,
}

impl ThisHost {
    /// This host, also known as `names` (its SN name, its host name).
    pub fn new(names: &[&str]) -> ThisHost {
        ThisHost {
            names: names.iter().map(|n| n.to_string()).collect(),
            addresses: host::local_addresses(),
            seen: Default::default(),
        }
    }

    pub fn is(&self, name: &str) -> bool {
        if let Some(known) = self.seen.borrow().get(name) {
            return *known;
        }
        let short = name.split('.').next().unwrap_or(name);
        let me = self
            .names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(short))
            || host::resolve(name)
                .iter()
                .any(|ip| self.addresses.contains(ip));
        self.seen.borrow_mut().insert(name.to_string(), me);
        me
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcat::Db;

    #[test]
    fn jobs_are_the_option_else_the_largest_of_the_servers_else_four() {
        let config = crate::config::Config::default();
        let mut servers = Servers::new();
        assert_eq!(jobs(None, &servers), 4);
        for (name, n) in [("nfs1", 2), ("nfs2", 7)] {
            let mut c = config.server(name);
            c.jobs = n;
            let remote = Remote::with_rsh(&c, None).unwrap();
            let mut server = Server::nfs1(remote, c);
            server.name = name.into();
            servers.insert(name.into(), server);
        }
        assert_eq!(jobs(None, &servers), 7);
        assert_eq!(jobs(Some(1), &servers), 1);
    }

    #[test]
    fn node_addresses_come_from_the_hosts_table_then_the_resolver() {
        let (_dir, db) = Db::with_tables(&[
            (
                "nodelist",
                "#node,groups,comments,disable\n\"cn001\",\"compute\",,\n\"cn002\",\"compute\",,\n",
            ),
            (
                "hosts",
                "#node,ip,hostnames,comments,disable\n\"cn001\",\"10.1.1.1\",,,\n\"cn002\",\"bad\",,,\n",
            ),
        ]);
        let resolver = Resolver::new(&db);
        let book = NodeAddresses {
            resolver: &resolver,
        };
        let table = Some(("10.1.1.1".parse().unwrap(), AddressOrigin::HostsTable));
        assert_eq!(book.address("cn001"), table);
        assert_eq!(book.address("cn001.cluster.example"), table);
        let local = Some(("127.0.0.1".parse().unwrap(), AddressOrigin::Resolver));
        assert_eq!(book.address("localhost"), local);
        assert_eq!(
            book.address("cn002"),
            None,
            "an invalid hosts.ip is no address"
        );
        assert_eq!(book.address("cn404.invalid"), None);
    }

    /// sn1 serves cn001 (servicenode), cn002 (second of two SNs), cn003 (xcatmaster only),
    /// cn004 (its SN serves it) and cn005 (no server); sn2 serves cn006; cn007's server has
    /// no address.
    fn served(every_node: bool) -> Served {
        let (_dir, db) = Db::with_tables(&[
            (
                "nodelist",
                "#node,groups,comments,disable\n\"cn001\",\"a\",,\n\"cn002\",,,\n\"cn003\",,,\n\
             \"cn004\",\"a\",,\n\"cn005\",,,\n\"cn006\",\"a\",,\n\"cn007\",,,\n",
            ),
            (
                "noderes",
                "#node,servicenode,nfsserver,xcatmaster,comments,disable\n\
             \"cn002\",\"sn2, sn1\",\"nfs2\",,,\n\
             \"cn003\",,\"nfs1\",\"sn1\",,\n\
             \"cn004\",\"sn1\",\"<xcatmaster>\",,,\n\
             \"cn005\",\"sn1\",,,,\n\
             \"cn006\",\"sn2\",\"nfs3\",,,\n\
             \"cn007\",\"sn1\",\"nfs9.invalid\",,,\n\
             \"a\",\"sn1\",\"nfs1\",,,\n",
            ),
        ]);
        let config = Config::parse(
            "[server.nfs1]\naddress = \"203.0.113.1\"\n[server.nfs2]\naddress = \"203.0.113.2\"\n\
             [server.nfs3]\naddress = \"203.0.113.3\"\n",
            std::path::Path::new("t"),
        )
        .unwrap();
        let local = host::local_addresses();
        for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!local.contains(&ip), "{ip} is an address of this machine");
        }
        let resolver = Resolver::new(&db);
        servers_of_served_nodes(&config, &resolver, &|n| n == "sn1", every_node).unwrap()
    }

    #[test]
    fn a_server_that_is_this_host_skips_its_nodes_and_the_others_go_on() {
        let (_dir, db) = Db::with_tables(&[
            (
                "nodelist",
                "#node,groups,comments,disable\n\"cn001\",,,\n\"cn002\",,,\n\"cn003\",,,\n",
            ),
            (
                "noderes",
                "#node,nfsserver,comments,disable\n\"cn001\",\"me\",,\n\"cn002\",\"me\",,\n\
             \"cn003\",\"nfs1\",,\n",
            ),
        ]);
        let config = Config::parse(
            "[server.me]\naddress = \"127.0.0.1\"\n[server.nfs1]\naddress = \"203.0.113.1\"\n",
            std::path::Path::new("t"),
        )
        .unwrap();
        let resolver = Resolver::new(&db);
        let mut book = ServerBook::default();
        for node in ["cn001", "cn002"] {
            match book.for_node(&config, &resolver, node) {
                Err(NodeServerError::Skip(reason)) => {
                    assert_eq!(reason, "nfsserver me is this host")
                }
                Err(NodeServerError::Fail(m)) => panic!("{node}: {m}"),
                _ => panic!("{node} is not skipped"),
            }
        }
        let nfs1 = book
            .for_node(&config, &resolver, "cn003")
            .ok()
            .map(|s| &s.name);
        assert_eq!(nfs1.map(String::as_str), Some("nfs1"));
        assert_eq!(book.servers.len(), 2);
    }

    #[test]
    fn the_servers_of_the_nodes_this_host_serves() {
        let mine = served(false);
        assert_eq!(
            mine.servers.iter().collect::<Vec<_>>(),
            ["nfs1", "nfs2"],
            "{mine:?}"
        );
        assert_eq!(mine.notes.len(), 1, "{mine:?}");
        assert!(
            mine.notes.iter().all(|n| n.contains("nfs9.invalid")),
            "{mine:?}"
        );
        let all = served(true);
        assert_eq!(
            all.servers.iter().collect::<Vec<_>>(),
            ["nfs1", "nfs2", "nfs3"]
        );
    }

    #[test]
    fn this_host_by_name_or_address() {
        let me = ThisHost::new(&["sn1", "sn1host"]);
        assert!(me.is("sn1") && me.is("SN1HOST") && me.is("sn1.cluster.example"));
        assert!(me.is("127.0.0.1") && me.is("localhost"));
        assert!(!me.is("sn2.invalid"));
    }
}
