//! An NFS client node of the lab: a network namespace with an address of the test's choosing,
//! linked straight to servers so that they see that address, and the libnfs command line tools.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use super::exec::{CommandExt, Finished};
use super::host::Host;
use super::lab::{require, Lab};
use super::net::{delete_netns, ip, Net};
use super::server::Server;

/// Programs a client needs, with their Debian package.
const CLIENT_TOOLS: &[(&str, &str)] = &[
    ("nfs-ls", "libnfs-utils"),
    ("nfs-cat", "libnfs-utils"),
    ("nfs-cp", "libnfs-utils"),
];
/// Where client addresses must lie: outside every lab's own subnet.
const CLIENT_NET: Net = Net {
    addr: Ipv4Addr::new(10, 250, 128, 0),
    len: 17,
};
const NFS_LIMIT: Duration = Duration::from_secs(30);

/// An NFS client (a compute node). It reaches a server over a veth pair of its own into the
/// server's network namespace, made on first use (or with [`Client::link`]), so the server sees
/// requests from the client's address.
pub struct Client<'l> {
    name: String,
    addr: Ipv4Addr,
    netns: String,
    index: usize,
    /// Network namespaces of the servers it is linked to.
    linked: Mutex<Vec<String>>,
    lab: &'l Lab,
}

impl<'l> Client<'l> {
    pub(super) fn create(lab: &'l Lab, name: &str, addr: &str) -> Client<'l> {
        require(&format!("client {name}"), CLIENT_TOOLS);
        let addr: Ipv4Addr = addr
            .parse()
            .unwrap_or_else(|e| panic!("client {name}: address {addr:?}: {e}"));
        assert!(
            CLIENT_NET.contains(addr),
            "client {name}: address {addr} is outside 10.250.128.0/17, the range for lab clients"
        );
        lab.claim(name, Some(addr));
        let client = Client {
            name: name.to_string(),
            addr,
            netns: lab.netns(name),
            index: lab.next_client(),
            linked: Mutex::new(Vec::new()),
            lab,
        };
        let netns = client.netns.as_str();
        ip(&["netns", "add", netns]);
        ip(&["-n", netns, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            netns,
            "addr",
            "add",
            &format!("{addr}/32"),
            "dev",
            "lo",
        ]);
        client
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The name of its network namespace.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// Makes `server` reachable (idempotent): a veth pair between the two namespaces with a
    /// host route at each end, the client's address as the source.
    pub fn link(&self, server: &Server) {
        let mut linked = self.linked.lock().expect("links lock");
        if linked.iter().any(|netns| netns == server.netns()) {
            return;
        }
        let (client_ns, server_ns) = (self.netns.as_str(), server.netns());
        let client_end = format!("s{}", server.index());
        let server_end = format!("c{}", self.index);
        let (client_addr, server_addr) = (self.addr.to_string(), server.addr().to_string());
        ip(&[
            "-n",
            server_ns,
            "link",
            "add",
            &server_end,
            "type",
            "veth",
            "peer",
            "name",
            &client_end,
            "netns",
            client_ns,
        ]);
        ip(&["-n", server_ns, "link", "set", &server_end, "up"]);
        ip(&[
            "-n",
            server_ns,
            "route",
            "add",
            &client_addr,
            "dev",
            &server_end,
        ]);
        ip(&["-n", client_ns, "link", "set", &client_end, "up"]);
        ip(&[
            "-n",
            client_ns,
            "route",
            "add",
            &server_addr,
            "dev",
            &client_end,
            "src",
            &client_addr,
        ]);
        linked.push(server.netns().to_string());
    }

    /// `nfs://SERVER/path?version=4`; `path` starts with `/`.
    pub fn nfs_url(&self, server: &Server, path: &str) -> String {
        assert!(path.starts_with('/'), "NFS path {path:?} must be absolute");
        format!("nfs://{}{path}?version=4", server.addr())
    }

    /// Lists `path` on `server` over NFSv4 with libnfs's `nfs-ls`.
    pub fn nfs_ls(&self, server: &Server, path: &str) -> Finished {
        self.nfs_tool("nfs-ls", server, path)
    }

    /// Reads the file `path` on `server` over NFSv4 with libnfs's `nfs-cat`.
    pub fn nfs_cat(&self, server: &Server, path: &str) -> Finished {
        self.nfs_tool("nfs-cat", server, path)
    }

    /// Writes the machine's file `local` as the file `path` on `server` over NFSv4 with
    /// libnfs's `nfs-cp`, as root (uid 0 unless the export squashes it).
    pub fn nfs_write(&self, server: &Server, local: &std::path::Path, path: &str) -> Finished {
        self.link(server);
        let url = self.nfs_url(server, path);
        self.command("nfs-cp")
            .arg(local)
            .arg(url)
            .run_within(NFS_LIMIT)
    }

    fn nfs_tool(&self, tool: &str, server: &Server, path: &str) -> Finished {
        self.link(server);
        let url = self.nfs_url(server, path);
        self.command(tool).arg(url).run_within(NFS_LIMIT)
    }
}

impl Host for Client<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    /// `nsenter` into the client's network namespace (files are the machine's).
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut words = self.lab.enter_netns(&self.name).into_iter();
        let mut command = Command::new(words.next().expect("nsenter"));
        command.args(words).arg(program);
        command
    }
}

impl Drop for Client<'_> {
    fn drop(&mut self) {
        // Its links into servers go with it.
        delete_netns(&self.netns);
    }
}
