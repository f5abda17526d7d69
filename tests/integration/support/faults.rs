//! Faults the lab injects: a server's packets silently dropped, its file system full, its sshd
//! stopped or refusing the lab's key; and an ssh that logs every call, to count connections.
//!
//! A server's link going down is [`Server::cut_network`]. The lab's ssh client configuration
//! (see `ssh.rs`) gives up a connection attempt after 5 s and an open connection after 3
//! unanswered probes 2 s apart: with the formula of `remote::HUNG_SERVER_SECONDS`
//! (connect timeout + probes x interval + the interval before the first probe) a server that
//! stops answering holds a lab run for at most [`LAB_HUNG_SERVER_SECONDS`].

use std::path::PathBuf;
use std::time::Duration;

use super::exec::{wait_until, CommandExt, Daemon, Finished};
use super::host::Host;
use super::lab::Lab;
use super::net::{accepts, ip};
use super::server::Server;
use super::ssh::keygen;

/// The lab's bound for a server that stops answering: 5 + 3 x 2 + 2 seconds.
pub const LAB_HUNG_SERVER_SECONDS: u64 = 5 + 3 * 2 + 2;

const SSH_PORT: u16 = 22;
const START_LIMIT: Duration = Duration::from_secs(10);
/// Where the server's /install is mounted when its space is limited (in its own /run).
const LIMITED: &str = "/run/lab-limited-install";

impl Server<'_> {
    /// Silent packet loss: from now on everything the server sends to the SNs' address
    /// vanishes (a blackhole route in its namespace). Nothing is refused: new connections
    /// hang until ssh's connect timeout, open ones until its keep-alive probes give up.
    pub fn black_hole(&self) {
        let sn = format!("{}/32", self.lab.sn_addr());
        ip(&["-n", self.netns(), "route", "add", "blackhole", &sn]);
    }

    /// Undoes [`Server::black_hole`]; returns once sshd answers again.
    pub fn end_black_hole(&self) {
        let sn = format!("{}/32", self.lab.sn_addr());
        ip(&["-n", self.netns(), "route", "del", "blackhole", &sn]);
        let what = format!("{} to answer again", self.name());
        wait_until(&what, START_LIMIT, || accepts(self.addr(), SSH_PORT));
    }

    /// The test machine's path of `rel` as the server itself sees it (through its mount
    /// namespace): needed once [`Server::limit_space`] has put a file system over /install.
    pub fn live_path(&self, rel: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/{rel}", self.anchor.pid()))
    }

    /// Gives the server's /install a file system of its own (a tmpfs, inside the server's
    /// mount namespace only) holding what /install holds now, with `free` bytes left: a copy
    /// that needs more fills it. Read the server's files through [`Server::live_path`].
    pub fn limit_space(&self, free: u64) {
        let script = format!(
            "set -e\nmkdir -p {LIMITED}\nmount -t tmpfs -o size=1g lab-limited {LIMITED}\n\
             cp -a /install/. {LIMITED}/\nused=$(df -B1 --output=used {LIMITED} | tail -n 1)\n\
             mount -o remount,size=$((used + {free})) {LIMITED}\nmount --bind {LIMITED} /install\n"
        );
        self.in_mount_namespace(&script);
    }

    /// Lets the file system of [`Server::limit_space`] grow to 1 GiB: space was freed.
    pub fn free_space(&self) {
        self.in_mount_namespace(&format!("mount -o remount,size=1g {LIMITED}\n"));
    }

    /// Free bytes of the server's /install, as its `df` says.
    pub fn free_bytes(&self) -> u64 {
        let out = self
            .command("df")
            .args(["-B1", "--output=avail", "/install"])
            .run_bounded();
        out.assert_success();
        let last = out.stdout.lines().last().unwrap_or_default().trim();
        last.parse()
            .unwrap_or_else(|_| panic!("df printed no number: {out}"))
    }

    /// Runs a sh script as root in the server's mount namespace.
    fn in_mount_namespace(&self, script: &str) {
        std::process::Command::new("nsenter")
            .arg("-t")
            .arg(self.anchor.pid().to_string())
            .args(["-m", "--", "sh", "-c", script])
            .run_bounded()
            .assert_success();
    }

    /// Stops sshd (SIGTERM): connections are refused. Sessions already open stay.
    pub fn stop_sshd(&mut self) {
        self.sshd.as_mut().expect("sshd was started").stop();
        let what = format!("sshd of {} to stop listening", self.name());
        wait_until(&what, START_LIMIT, || !accepts(self.addr(), SSH_PORT));
    }

    /// Starts sshd again as it was (same host key and configuration); returns once it
    /// accepts connections. Its log goes on in the same file.
    pub fn start_sshd_again(&mut self) {
        let log = self
            .sshd
            .as_ref()
            .expect("sshd was started")
            .log()
            .to_path_buf();
        let sshd = which::which("sshd").expect("sshd is a lab prerequisite");
        let mut command = self.command(sshd);
        command
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.state.join("sshd_config"));
        let daemon = Daemon::spawn("sshd", &mut command, &log);
        self.sshd = Some(self.await_listener(daemon, SSH_PORT));
    }
}

impl Lab {
    /// Every server of the lab refuses the lab's key from now on: their authorized_keys
    /// holds another key only.
    pub fn refuse_key(&self) {
        let other = self.dir().join("ssh/other_ed25519");
        if !other.exists() {
            let public = keygen(&other, "not-the-lab");
            std::fs::write(other.with_extension("authorized"), format!("{public}\n"))
                .expect("write the other key's line");
        }
        std::fs::copy(other.with_extension("authorized"), self.authorized_keys())
            .expect("replace authorized_keys");
    }

    /// Undoes [`Lab::refuse_key`].
    pub fn accept_key_again(&self) {
        let public = std::fs::read_to_string(self.dir().join("ssh/id_ed25519.pub"))
            .expect("read the lab's public key");
        std::fs::write(self.authorized_keys(), public).expect("restore authorized_keys");
    }
}

/// An `ssh` to put in `RSYNC_RSH` that logs the arguments of each call, then runs the real
/// ssh with them. It is named `ssh`, so the code under test takes it for OpenSSH.
pub struct CountingSsh {
    program: PathBuf,
    log: PathBuf,
    config: PathBuf,
}

impl CountingSsh {
    pub fn new(lab: &Lab) -> CountingSsh {
        CountingSsh::stalling(lab, None)
    }

    /// A counting ssh that, asked `ssh -O <control>`, never answers (it sleeps ten minutes),
    /// as a master that keeps its connection but stops serving its socket; every other call
    /// goes to the real ssh.
    pub fn stalling(lab: &Lab, control: Option<&str>) -> CountingSsh {
        let dir = lab.dir().join("counting-ssh");
        std::fs::create_dir_all(&dir).expect("create the counting ssh's directory");
        let real = which::which("ssh").expect("ssh is a lab prerequisite");
        let program = dir.join("ssh");
        let log = dir.join("calls");
        let stall = match control {
            Some(c) => format!(
                "o=\nfor a; do [ \"$o\" = -O ] && [ \"$a\" = {c} ] && exec sleep 600; o=$a; done\n"
            ),
            None => String::new(),
        };
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{log}'\n{stall}exec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display()
        );
        std::fs::write(&program, script).expect("write the counting ssh");
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&program, mode).expect("chmod the counting ssh");
        CountingSsh {
            program,
            log,
            config: lab.ssh_config(),
        }
    }

    /// The value for `RSYNC_RSH`.
    pub fn rsync_rsh(&self) -> String {
        format!("{} -F {}", self.program.display(), self.config.display())
    }

    /// The arguments of every call so far.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Calls that may open a connection to a server: all but `ssh -G` (which prints the
    /// configuration) and `ssh -O` (which talks to a running master).
    pub fn connections(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| !c.split(' ').any(|w| w == "-G" || w == "-O"))
            .collect()
    }

    /// Forgets the calls so far.
    pub fn reset(&self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The line starting with `start` (after the program's name), which names the server and
/// the cause: it must not show a command or a script.
#[track_caller]
pub fn one_line<'o>(out: &'o Finished, start: &str) -> &'o str {
    let line = out
        .stdout
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, rest)| rest))
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting `{start}`: {out}"));
    for command in ["sh -c", "rsync -a", "mkdir -p", "--rsh", "ControlPath"] {
        assert!(
            !line.contains(command),
            "the line shows a command: {line}\n{out}"
        );
    }
    line
}

/// A server that cannot be reached at the start: one line naming it and ssh's cause, one
/// connection attempt (the shared connection's), every step and the exports not run.
#[track_caller]
pub fn assert_unreachable_at_start(out: &Finished, ssh: &CountingSsh, cause: &str) {
    assert_eq!(out.code(), Some(1), "{out}");
    let line = one_line(out, "nfs1: FAILED: cannot reach the server: ");
    assert!(line.contains(cause), "{line}");
    assert_eq!(
        out.stdout.matches("cannot reach the server").count(),
        1,
        "{out}"
    );
    assert_eq!(
        out.stdout
            .matches("FAILED: not run: the server could not be reached")
            .count(),
        6,
        "{out}"
    );
    assert!(
        out.stdout
            .contains("exports: nfs1: exports not run: the server was found unreachable"),
        "{out}"
    );
    let connections = ssh.connections();
    assert_eq!(
        connections.len(),
        1,
        "one connection attempt: {connections:?}"
    );
    assert!(
        connections[0].contains("ControlMaster=yes"),
        "{connections:?}"
    );
}
