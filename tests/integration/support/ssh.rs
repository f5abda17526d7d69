//! OpenSSH for the lab: keys, the servers' sshd configuration, and the client configuration
//! with pinned host keys that SN commands use through `ssh -F` and `RSYNC_RSH`.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use super::exec::CommandExt;

/// Creates an ed25519 key pair at `path` and `path.pub`; returns the public key as
/// `ssh-ed25519 BASE64`, without the comment.
pub fn keygen(path: &Path, comment: &str) -> String {
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .run_bounded()
        .assert_success();
    let public = std::fs::read_to_string(path.with_extension("pub")).expect("read public key");
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Files of one server's sshd, all in the lab.
pub struct SshdFiles<'a> {
    pub host_key: &'a Path,
    pub authorized_keys: &'a Path,
    pub pid_file: &'a Path,
}

/// `sshd_config` for a server that listens on `addr` only and lets the lab's key in as root.
pub fn sshd_config(addr: Ipv4Addr, files: &SshdFiles) -> String {
    format!(
        "ListenAddress {addr}\n\
         HostKey {}\n\
         AuthorizedKeysFile {}\n\
         PidFile {}\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         UseDNS no\n\
         StrictModes no\n\
         ClientAliveInterval 2\n\
         ClientAliveCountMax 3\n",
        files.host_key.display(),
        files.authorized_keys.display(),
        files.pid_file.display(),
    )
}

/// One server as the ssh client knows it.
#[derive(Clone, Debug)]
pub struct KnownServer {
    pub alias: String,
    pub addr: Ipv4Addr,
    pub host_key: String,
}

/// The `known_hosts` lines: each server's key under its alias and its address.
pub fn known_hosts(servers: &[KnownServer]) -> String {
    servers.iter().fold(String::new(), |mut text, s| {
        let _ = writeln!(text, "{},{} {}", s.alias, s.addr, s.host_key);
        text
    })
}

/// The client configuration: a `Host` block per server (reachable by alias or address),
/// strict host key checking against `known_hosts`, no prompts, bounded connection attempts.
pub fn client_config(servers: &[KnownServer], identity: &Path, known_hosts: &Path) -> String {
    servers.iter().fold(String::new(), |mut text, s| {
        let _ = write!(
            text,
            "Host {alias} {addr}\n\
             \x20 HostName {addr}\n\
             \x20 User root\n\
             \x20 IdentityFile {identity}\n\
             \x20 IdentitiesOnly yes\n\
             \x20 UserKnownHostsFile {known}\n\
             \x20 GlobalKnownHostsFile /dev/null\n\
             \x20 StrictHostKeyChecking yes\n\
             \x20 UpdateHostKeys no\n\
             \x20 BatchMode yes\n\
             \x20 ConnectTimeout 5\n\
             \x20 ServerAliveInterval 2\n\
             \x20 ServerAliveCountMax 3\n",
            alias = s.alias,
            addr = s.addr,
            identity = identity.display(),
            known = known_hosts.display(),
        );
        text
    })
}
