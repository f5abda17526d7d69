//! An external NFS server host of the lab: its own network and mount namespaces, sshd for the
//! SNs' rsync, and on request NFS-Ganesha serving NFSv4 to the lab's clients.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::exec::{log_tail, poll_until, wait_until, Daemon};
use super::files::copy_tree;
use super::fixtures::server_bin;
use super::host::{Host, MountPlan, Tree};
use super::lab::{require, Lab};
use super::net::{accepts, delete_link, delete_netns, ip, netns_pids};
use super::ssh::{self, KnownServer, SshdFiles};

const SSH_PORT: u16 = 22;
const NFS_PORT: u16 = 2049;
const START_LIMIT: Duration = Duration::from_secs(10);

/// Programs a Ganesha test needs, with their Debian packages.
const GANESHA_TOOLS: &[(&str, &str)] = &[("ganesha.nfsd", "nfs-ganesha, nfs-ganesha-vfs")];

/// An NFS server host. Its tree ([`Tree`]) holds `install` (its `/install`), `etc/ganesha`
/// and `etc/exports.d`; `/etc/hosts` is the lab's hosts file. Anything else it writes below
/// `/etc` or `/var/lib` lands in a private scratch layer; root's home is `root`, empty at first. `/usr/local/sbin` holds the stand-in
/// for the kernel NFS server's `exportfs` (fixtures/server-bin), which the lab does not run. Its `/run` is `run` of its tree, which starts with
/// only `run/sshd`. sshd listens on [`Server::addr`], port 22.
pub struct Server<'l> {
    pub(super) lab: &'l Lab,
    name: String,
    index: usize,
    addr: Ipv4Addr,
    netns: String,
    /// The root namespace's end of the server's link to the lab bridge.
    veth: String,
    root: PathBuf,
    pub(super) state: PathBuf,
    /// `sleep infinity` inside the server's namespaces, which keeps the mount namespace.
    pub(super) anchor: Daemon,
    pub(super) sshd: Option<Daemon>,
}

impl<'l> Server<'l> {
    pub(super) fn start(lab: &'l Lab, name: &str) -> Server<'l> {
        let index = lab.next_server();
        let addr = lab.slot().host(index + 2);
        lab.claim(name, Some(addr));
        let root = lab.dir().join(name);
        for dir in [
            "install",
            "etc/ganesha",
            "etc/exports.d",
            "run/sshd",
            "root",
        ] {
            std::fs::create_dir_all(root.join(dir)).expect("create the server's tree");
        }
        copy_tree(&server_bin(), &root.join("sbin"));
        let state = lab.state_dir(name);
        let mut server = Server {
            lab,
            name: name.to_string(),
            index,
            addr,
            netns: lab.netns(name),
            veth: format!("{}s{index}", lab.prefix()),
            anchor: start_anchor(lab, name, &root, &state),
            root,
            state,
            sshd: None,
        };
        server.connect();
        server.start_sshd();
        server
    }

    /// Joins the server's network namespace to the lab bridge.
    fn connect(&self) {
        let netns = self.netns.as_str();
        let cidr = format!("{}/24", self.addr);
        ip(&[
            "link", "add", &self.veth, "type", "veth", "peer", "name", "eth0", "netns", netns,
        ]);
        ip(&[
            "link",
            "set",
            &self.veth,
            "master",
            &self.lab.bridge(),
            "up",
        ]);
        ip(&["-n", netns, "addr", "add", &cidr, "dev", "eth0"]);
        ip(&["-n", netns, "link", "set", "eth0", "up"]);
        ip(&["-n", netns, "link", "set", "lo", "up"]);
    }

    fn start_sshd(&mut self) {
        let host_key = self.state.join("ssh_host_ed25519_key");
        let public = ssh::keygen(&host_key, &self.name);
        let config = self.state.join("sshd_config");
        let files = SshdFiles {
            host_key: &host_key,
            authorized_keys: &self.lab.authorized_keys(),
            pid_file: &self.state.join("sshd.pid"),
        };
        std::fs::write(&config, ssh::sshd_config(self.addr, &files)).expect("write sshd_config");
        // sshd re-executes itself, so it needs its absolute path.
        let sshd = which::which("sshd").expect("sshd is a lab prerequisite");
        let mut command = self.command(sshd);
        command.arg("-D").arg("-e").arg("-f").arg(&config);
        let daemon = Daemon::spawn("sshd", &mut command, &self.state.join("sshd.log"));
        self.sshd = Some(self.await_listener(daemon, SSH_PORT));
        self.lab.add_known_server(KnownServer {
            alias: self.name.clone(),
            addr: self.addr,
            host_key: public,
        });
    }

    /// Waits until `daemon` accepts connections on `port`; panics with its log if it exits.
    pub(super) fn await_listener(&self, mut daemon: Daemon, port: u16) -> Daemon {
        let what = format!("{} on {}:{port}", daemon.log().display(), self.addr);
        wait_until(&what, START_LIMIT, || {
            daemon.assert_running();
            accepts(self.addr, port)
        });
        daemon
    }

    /// The server's address on the lab network.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The test machine's path of the server's `/install`.
    pub fn install_dir(&self) -> PathBuf {
        self.path("install")
    }

    /// The name of its network namespace.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// ssh connections sshd has accepted so far (its `Accepted publickey` log lines).
    pub fn ssh_logins(&self) -> usize {
        let log = self.sshd.as_ref().expect("sshd runs").log();
        std::fs::read_to_string(log)
            .expect("read the sshd log")
            .matches("Accepted publickey")
            .count()
    }

    /// The ids of all processes in the server's network namespace.
    pub fn pids(&self) -> Vec<u32> {
        netns_pids(&self.netns)
    }

    /// Writes `/etc/ganesha/ganesha.conf` and starts Ganesha; returns once it accepts
    /// connections on port 2049. The configuration is what every lab server needs (NFSv4 only,
    /// on [`Server::addr`] only, no grace period, recovery state in the lab), then `exports`:
    /// typically EXPORT blocks, or `%include` of a file the code under test writes.
    pub fn start_ganesha(&self, exports: &str) -> Ganesha<'_> {
        require(&format!("server {}", self.name), GANESHA_TOOLS);
        self.write_ganesha_config(exports);
        let mut ganesha = Ganesha {
            server: self,
            daemon: None,
        };
        ganesha.start();
        ganesha
    }

    fn write_ganesha_config(&self, exports: &str) {
        let config = format!(
            "NFS_CORE_PARAM {{\n    Protocols = 4;\n    Bind_addr = {addr};\n    \
             Enable_NLM = false;\n    Enable_RQUOTA = false;\n}}\n\
             NFSV4 {{\n    Graceless = true;\n    RecoveryRoot = {recovery};\n}}\n\
             NFS_KRB5 {{\n    Active_krb5 = false;\n}}\n\n{exports}",
            addr = self.addr,
            recovery = self.state.join("ganesha-recovery").display(),
        );
        self.write("etc/ganesha/ganesha.conf", config);
    }

    /// Takes the server off the lab network (its link goes down): connections from SNs time
    /// out. Its links to NFS clients stay up.
    pub fn cut_network(&self) {
        ip(&["-n", &self.netns, "link", "set", "eth0", "down"]);
    }

    /// Undoes [`Server::cut_network`] and returns once sshd is reachable again.
    pub fn restore_network(&self) {
        ip(&["-n", &self.netns, "link", "set", "eth0", "up"]);
        // Forget the failed address resolutions of the outage instead of waiting them out.
        ip(&["neigh", "flush", "to", &self.addr.to_string()]);
        ip(&["-n", &self.netns, "neigh", "flush", "dev", "eth0"]);
        let what = format!("{} to be reachable again", self.name);
        wait_until(&what, START_LIMIT, || accepts(self.addr, SSH_PORT));
    }

    /// The position of this server in the lab, for names of its links.
    pub(super) fn index(&self) -> usize {
        self.index
    }
}

/// Starts `sleep infinity` in a new mount namespace inside a new network namespace of host
/// `name`; returns it once the mounts are in place.
fn start_anchor(lab: &Lab, name: &str, root: &Path, state: &Path) -> Daemon {
    ip(&["netns", "add", &lab.netns(name)]);
    let plan = MountPlan::new(name, state.join("scratch"))
        .bind(root.join("install"), "/install")
        .bind(lab.hosts_file(), "/etc/hosts")
        .bind(root.join("etc/ganesha"), "/etc/ganesha")
        .bind(root.join("etc/exports.d"), "/etc/exports.d")
        .bind(root.join("sbin"), "/usr/local/sbin")
        // root's home is the server's own (empty): the shell sshd starts for each command
        // reads no start-up file of the machine's root (which may run slow or locking tools).
        .bind(root.join("root"), "/root")
        .private("/var/lib")
        // The server's /run is its own, as after a boot, holding only what the lab puts there:
        // sshd's privilege separation directory, which a service manager would create when
        // the service starts (never, on a machine where openssh-server was only installed);
        // and what Ganesha makes itself (/run/ganesha). Nothing the machine's services made
        // is seen, and nothing a server makes lands on the machine.
        .bind(root.join("run"), "/run");
    let mut command = plan.command(&lab.enter_netns(name), "sleep");
    command.arg("infinity");
    let mut anchor = Daemon::spawn("namespace setup", &mut command, &state.join("anchor.log"));
    let comm = format!("/proc/{}/comm", anchor.pid());
    wait_until("the server's mounts", START_LIMIT, || {
        anchor.assert_running();
        std::fs::read_to_string(&comm).is_ok_and(|name| name.trim() == "sleep")
    });
    anchor
}

impl Host for Server<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    /// `nsenter` into the server's mount, network and UTS namespaces.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command.arg("-t").arg(self.anchor.pid().to_string());
        command.args(["-m", "-n", "-u", "--"]).arg(program);
        command
    }
}

impl Tree for Server<'_> {
    fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Server<'_> {
    fn drop(&mut self) {
        if let Some(sshd) = self.sshd.as_mut() {
            sshd.stop();
        }
        // Also ends ssh sessions, the anchor and anything they started.
        delete_netns(&self.netns);
        self.anchor.stop();
        delete_link(&self.veth);
    }
}

/// A running NFS-Ganesha of a [`Server`]; stopped when dropped. Its log is
/// `state/<server>/ganesha.log` in the lab.
pub struct Ganesha<'s> {
    server: &'s Server<'s>,
    daemon: Option<Daemon>,
}

impl Ganesha<'_> {
    fn start(&mut self) {
        let server = self.server;
        let log = self.log_path();
        let mut command = server.command("ganesha.nfsd");
        command
            .args(["-F", "-f", "/etc/ganesha/ganesha.conf", "-L"])
            .arg(&log)
            .arg("-p")
            .arg(server.state.join("ganesha.pid"));
        let daemon = Daemon::spawn("ganesha.nfsd", &mut command, &log);
        self.daemon = Some(server.await_listener(daemon, NFS_PORT));
    }

    fn log_path(&self) -> PathBuf {
        self.server.state.join("ganesha.log")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.daemon.as_ref().expect("ganesha is running").pid()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Replaces the `exports` part of its configuration and reloads it.
    pub fn set_exports(&self, exports: &str) {
        self.server.write_ganesha_config(exports);
        self.reload();
    }

    /// Makes it re-read its configuration (SIGHUP) and returns once it has updated its exports.
    pub fn reload(&self) {
        const DONE: &str = "Reread exports complete";
        let before = self.log().matches(DONE).count();
        let daemon = self.daemon.as_ref().expect("ganesha is running");
        daemon.signal(libc::SIGHUP);
        let reloaded = poll_until(START_LIMIT, || self.log().matches(DONE).count() > before);
        assert!(
            reloaded,
            "ganesha did not reload within {START_LIMIT:?}; end of its log:\n{}",
            log_tail(&self.log_path(), 30)
        );
    }

    /// Stops and starts it again, with the configuration as it is now.
    pub fn restart(&mut self) {
        self.stop_daemon();
        self.start();
    }

    /// Stops it (SIGTERM, then SIGKILL if it lingers).
    pub fn stop(mut self) {
        self.stop_daemon();
    }

    fn stop_daemon(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
    }
}

impl Drop for Ganesha<'_> {
    fn drop(&mut self) {
        self.stop_daemon();
    }
}
