//! A service node of the lab: a file tree of its own (`/install`, `/tftpboot`, `/etc/exports`,
//! `/etc/hosts`) that each of its commands sees in a fresh private mount namespace.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::host::{Host, MountPlan, Tree};
use super::lab::Lab;

/// A service node. It shares the machine's network (it connects to servers from
/// [`Lab::sn_addr`]) and process table, but not its files: each [`Host::command`] runs in a new
/// mount and UTS namespace with the SN's tree bound in and its host name set, so several SNs'
/// commands can run at the same time, each seeing its own `/install`.
///
/// Tree: `install`, `tftpboot`, `etc/exports` (empty at first) and, if the test writes one,
/// `etc/hosts`; without it the SN sees the lab's hosts file.
pub struct Sn<'l> {
    lab: &'l Lab,
    name: String,
    root: PathBuf,
    scratch: PathBuf,
}

impl<'l> Sn<'l> {
    pub(super) fn create(lab: &'l Lab, name: &str) -> Sn<'l> {
        lab.claim(name, None);
        let sn = Sn {
            lab,
            name: name.to_string(),
            root: lab.dir().join(name),
            scratch: lab.state_dir(name).join("scratch"),
        };
        sn.mkdir("install");
        sn.mkdir("tftpboot");
        sn.write("etc/exports", "");
        sn
    }

    /// The test machine's path of the SN's `/install`.
    pub fn install_dir(&self) -> PathBuf {
        self.path("install")
    }

    fn mount_plan(&self) -> MountPlan {
        let own_hosts = self.path("etc/hosts");
        let hosts = if own_hosts.exists() {
            own_hosts
        } else {
            self.lab.hosts_file()
        };
        MountPlan::new(&self.name, self.scratch.clone())
            .bind(self.path("install"), "/install")
            .bind(self.path("tftpboot"), "/tftpboot")
            .bind(hosts, "/etc/hosts")
            .bind(self.path("etc/exports"), "/etc/exports")
    }
}

impl Host for Sn<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    /// `unshare -m -u` with the SN's tree bound in; `program` and the arguments added to the
    /// command are passed through unchanged as separate words.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        self.mount_plan().command(&[], program)
    }
}

impl Tree for Sn<'_> {
    fn root(&self) -> &Path {
        &self.root
    }
}
