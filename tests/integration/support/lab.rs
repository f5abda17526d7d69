//! The lab: one test's private world of NFS servers, service nodes and NFS clients, built from
//! network and mount namespaces, and torn down (processes, namespaces, links, files) on drop.

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tempfile::TempDir;

use super::client::Client;
use super::exec::log_tail;
use super::net::{ip, remove_with_prefix, Slot};
use super::server::Server;
use super::sn::Sn;
use super::ssh::{self, KnownServer};

/// Programs every lab needs, with the Debian package that has them.
const LAB_TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("mount", "mount"),
    ("hostname", "hostname"),
    ("sshd", "openssh-server"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
    ("rsync", "rsync"),
];

/// Panics, naming each missing program and its package, unless all of `tools` are in `PATH`.
#[track_caller]
pub fn require(purpose: &str, tools: &[(&str, &str)]) {
    let missing: Vec<String> = tools
        .iter()
        .filter(|(program, _)| which::which(program).is_err())
        .map(|(program, package)| format!("{program} (package {package})"))
        .collect();
    assert!(
        missing.is_empty(),
        "{purpose} needs these programs, not found in PATH: {}; install them as .ci/run does",
        missing.join(", ")
    );
}

/// One test's lab. Create hosts with [`Lab::server`], [`Lab::sn`] and [`Lab::client`]; they
/// borrow the lab, so they are gone before it is.
///
/// Network: the lab owns 10.250.N.0/24 (see [`Slot`]); a bridge in the root namespace holds
/// 10.250.N.1, the address SN commands connect from, and servers get 10.250.N.2 and up.
/// Files: everything lives in a temporary directory, [`Lab::dir`].
pub struct Lab {
    name: String,
    dir: TempDir,
    slot: Slot,
    identity: PathBuf,
    /// Servers, for the ssh client configuration.
    servers: Mutex<Vec<KnownServer>>,
    /// Host names and addresses taken so far.
    hosts: Mutex<Vec<(String, Option<Ipv4Addr>)>>,
    servers_started: AtomicUsize,
    clients_created: AtomicUsize,
}

impl Lab {
    /// Creates an empty lab. Panics unless running as root with every program a lab needs.
    pub fn new(name: &str) -> Lab {
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "lab {name}: network and mount namespaces need root (effective uid is {euid})"
        );
        require(&format!("lab {name}"), LAB_TOOLS);
        let dir = tempfile::Builder::new()
            .prefix(&format!("xcat-lab-{name}-"))
            .tempdir()
            .expect("create the lab directory");
        let identity = dir.path().join("ssh/id_ed25519");
        let lab = Lab {
            name: name.to_string(),
            identity,
            slot: Slot::reserve(dir.path()),
            dir,
            servers: Mutex::new(Vec::new()),
            hosts: Mutex::new(Vec::new()),
            servers_started: AtomicUsize::new(0),
            clients_created: AtomicUsize::new(0),
        };
        lab.set_up();
        lab
    }

    /// The parts that can fail, once `lab` exists to clean up after them.
    fn set_up(&self) {
        std::fs::create_dir_all(self.dir().join("ssh")).expect("create the ssh directory");
        let public = ssh::keygen(&self.identity, &format!("lab-{}", self.name));
        std::fs::write(self.authorized_keys(), format!("{public}\n"))
            .expect("write authorized_keys");
        self.hosts(&[]);
        self.write_ssh_client_files(&[]);
        let bridge = self.bridge();
        let gateway = format!("{}/24", self.sn_addr());
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&["addr", "add", &gateway, "dev", &bridge]);
        ip(&["link", "set", &bridge, "up"]);
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lab's temporary directory: one subdirectory per host, plus `ssh`, `hosts` and `state`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The start of every network namespace and interface name of this lab, e.g. `xlab007`.
    pub fn prefix(&self) -> String {
        self.slot.prefix()
    }

    /// The address of the root namespace on the lab network, the source of SN connections.
    pub fn sn_addr(&self) -> Ipv4Addr {
        self.slot.host(1)
    }

    /// The hosts file that servers and SNs see as `/etc/hosts`.
    pub fn hosts_file(&self) -> PathBuf {
        self.dir().join("hosts")
    }

    /// Writes the hosts file: localhost, then one line per `(name, address)`.
    pub fn hosts(&self, entries: &[(&str, Ipv4Addr)]) {
        let mut text = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        for (name, addr) in entries {
            text.push_str(&format!("{addr}\t{name}\n"));
        }
        std::fs::write(self.hosts_file(), text).expect("write the hosts file");
    }

    /// The ssh client configuration: every server by its name (and address), as root, with
    /// the lab's key and the server's pinned host key.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir().join("ssh/config")
    }

    /// The value for `RSYNC_RSH`: `ssh -F <ssh_config>`.
    pub fn rsync_rsh(&self) -> String {
        format!("ssh -F {}", self.ssh_config().display())
    }

    /// `ssh -F <ssh_config> <host>`: add the remote command as arguments.
    pub fn ssh(&self, host: &str) -> Command {
        let mut command = Command::new("ssh");
        command.arg("-F").arg(self.ssh_config()).arg(host);
        command
    }

    /// Starts an NFS server host; see [`Server`].
    pub fn server(&self, name: &str) -> Server<'_> {
        Server::start(self, name)
    }

    /// Creates a service node; see [`Sn`].
    pub fn sn(&self, name: &str) -> Sn<'_> {
        Sn::create(self, name)
    }

    /// Creates an NFS client with address `addr`, which must lie in 10.250.128.0/17; see
    /// [`Client`].
    pub fn client(&self, name: &str, addr: &str) -> Client<'_> {
        Client::create(self, name, addr)
    }

    // Helpers for the hosts.

    pub(super) fn slot(&self) -> &Slot {
        &self.slot
    }

    /// Numbers servers 0, 1, ... in the order they start.
    pub(super) fn next_server(&self) -> usize {
        self.servers_started.fetch_add(1, Ordering::SeqCst)
    }

    /// Numbers clients 0, 1, ... in the order they are created.
    pub(super) fn next_client(&self) -> usize {
        self.clients_created.fetch_add(1, Ordering::SeqCst)
    }

    pub(super) fn bridge(&self) -> String {
        format!("{}br", self.prefix())
    }

    /// The network namespace of host `name`.
    pub(super) fn netns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix())
    }

    /// `nsenter --net=...`: runs what follows in host `name`'s network namespace.
    pub(super) fn enter_netns(&self, name: &str) -> Vec<OsString> {
        let netns = format!("--net=/run/netns/{}", self.netns(name));
        vec!["nsenter".into(), netns.into(), "--".into()]
    }

    /// Where the harness keeps host `name`'s configuration, logs and scratch space.
    pub(super) fn state_dir(&self, name: &str) -> PathBuf {
        let dir = self.dir().join("state").join(name);
        std::fs::create_dir_all(&dir).expect("create a state directory");
        dir
    }

    pub(super) fn authorized_keys(&self) -> PathBuf {
        self.dir().join("ssh/authorized_keys")
    }

    /// Reserves a host name (and address), panicking on an invalid or duplicate one.
    pub(super) fn claim(&self, name: &str, addr: Option<Ipv4Addr>) {
        let valid = name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        assert!(
            valid,
            "host name {name:?}: use up to 32 of a-z, 0-9 and -, starting with a letter"
        );
        let mut hosts = self.hosts.lock().expect("hosts lock");
        for (taken, taken_addr) in hosts.iter() {
            assert_ne!(taken, name, "lab {} has a host {name} already", self.name);
            assert!(
                addr.is_none() || *taken_addr != addr,
                "{name}: address {addr:?} is taken by {taken}"
            );
        }
        hosts.push((name.to_string(), addr));
    }

    /// Adds a server to the ssh client configuration.
    pub(super) fn add_known_server(&self, server: KnownServer) {
        let mut servers = self.servers.lock().expect("servers lock");
        servers.push(server);
        self.write_ssh_client_files(&servers);
    }

    fn write_ssh_client_files(&self, servers: &[KnownServer]) {
        let known_hosts = self.dir().join("ssh/known_hosts");
        let config = ssh::client_config(servers, &self.identity, &known_hosts);
        std::fs::write(&known_hosts, ssh::known_hosts(servers)).expect("write known_hosts");
        std::fs::write(self.ssh_config(), config).expect("write the ssh config");
    }

    /// Prints the end of every log of the lab, to explain a failing test: the hosts' daemons'
    /// (under `state/<host>`) and the runs' own (`log_file`, in the lab's directory).
    fn print_logs(&self) {
        let hosts = std::fs::read_dir(self.dir().join("state"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|host| host.path());
        let logs = hosts
            .chain([self.dir().to_path_buf()])
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flat_map(|files| files.flatten().map(|file| file.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "log"));
        for log in logs {
            eprintln!("--- end of {} ---\n{}", log.display(), log_tail(&log, 20));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_logs();
        }
        // The hosts cleaned up after themselves; this removes the bridge and anything a
        // host could not remove because its setup failed half-way.
        remove_with_prefix(&self.prefix());
    }
}
