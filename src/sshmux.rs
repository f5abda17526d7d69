//! One ssh connection per server and run: an OpenSSH master on a private control socket that
//! every rsync and remote command of the run shares, closed at the end and on every failure path.
//!
//! Whether the ssh that `RSYNC_RSH` names can share a connection is detected, never assumed:
//! `ssh -G` must accept the options and keep our control path (a wrapper that is not OpenSSH,
//! or an `RSYNC_RSH` that sets its own `ControlPath`, fails that), the master must start, and
//! `ssh -O check` must find it. Anything else leaves the server on separate connections, with a
//! note saying why. The master is started with a short `ControlPersist`, so even a run killed
//! with SIGKILL (which runs no destructor) leaves it for at most that long; the private
//! directory of such a run stays behind in `$TMPDIR`, empty of live sockets.
//!
//! Every ssh command of ours here is bounded in time ([`Limits`]): a master that keeps its
//! connection but stops serving its socket is known to happen (`ssh -O check` then waits for
//! ever), and a server can accept a connection and never finish authenticating it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::remote::{connection_failure, master_log, resolved_value, Remote};

/// How long an idle master outlives its last client. Clients follow each other within a run;
/// should a gap ever be longer, ssh falls back to a connection of its own (`ControlMaster=no`).
const PERSIST_SECONDS: u32 = 30;

/// Control socket paths must fit `sun_path` (104 bytes on AIX and BSD) with the 17 characters
/// ssh appends while binding; a longer `$TMPDIR` is not used.
const MAX_DIR_LEN: usize = 64;

/// How long each of our ssh commands may take before it is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    /// `ssh -G` (connects nowhere) and `ssh -O check|exit` (a local socket to our own
    /// master): each answers in milliseconds, so a master that has not answered in this time
    /// is taken as wedged.
    control: Duration,
    /// The master's start, connection and authentication: the longest a run waits for a
    /// server that does not answer ([`crate::remote::HUNG_SERVER_SECONDS`]). ssh's own
    /// `ConnectTimeout` covers the connection and key exchange, not a server that stops
    /// answering during authentication.
    start: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            control: Duration::from_secs(10),
            start: Duration::from_secs(crate::remote::HUNG_SERVER_SECONDS),
        }
    }
}

/// How one server is reached during a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub server: String,
    /// All commands share one connection.
    pub shared: bool,
    /// ssh connections the run opened to the server: 1 when shared; `None` when each command
    /// opened its own (one per rsync or remote command).
    pub connections: Option<u32>,
    /// Commands run on the server over ssh in this run, rsync not counted; known at its end
    /// (see [`crate::remote::Remote::commands_run`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commands: Option<usize>,
    /// Why the connection is not shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// ssh's words when the master could not reach the server at all (refused, timed out,
    /// key refused): the server is unreachable for the run, and nothing connects to it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
}

impl Link {
    /// The line a run logs for this server: at its start how it is reached, at its end (with
    /// [`Link::commands`] known) also how many remote commands it ran.
    pub fn line(&self) -> String {
        if self.unreachable.is_some() {
            return format!(
                "{}: no ssh connection: the server could not be reached",
                self.server
            );
        }
        let how = match (&self.note, self.connections) {
            (None, Some(n)) => format!(
                "{}: {n} ssh connection, shared by every command of this run",
                self.server
            ),
            (note, _) => format!(
                "{}: one ssh connection per command: {}",
                self.server,
                note.as_deref().unwrap_or("connection sharing is off")
            ),
        };
        match self.commands {
            Some(n) => format!("{how}; {n} remote command(s) besides rsync"),
            None => how,
        }
    }
}

struct Master {
    server: String,
    /// The ssh words up to (not including) the host, as the remote builds them.
    ssh: Vec<String>,
    host: String,
    socket: PathBuf,
    /// The master's process, as `ssh -O check` names it: the one to terminate should it not
    /// answer `ssh -O exit`.
    pid: Option<u32>,
}

/// The shared connections of one run; [`Multiplexer::close`] (or dropping it) closes them and
/// removes the private directory.
pub struct Multiplexer {
    dir: Option<tempfile::TempDir>,
    masters: Vec<Master>,
    links: Vec<Link>,
    limits: Limits,
}

impl Multiplexer {
    /// A multiplexer that shares nothing (dry runs, local servers only).
    pub fn none() -> Multiplexer {
        Multiplexer {
            dir: None,
            masters: Vec::new(),
            links: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Opens one master per ssh server and points each remote at it; remotes whose ssh cannot
    /// share a connection are left as they are, with a note in [`Multiplexer::links`].
    pub fn start<'r>(remotes: impl IntoIterator<Item = &'r mut Remote>) -> Multiplexer {
        Multiplexer::start_within(remotes, Limits::default())
    }

    /// [`Multiplexer::start`] with other time limits for its ssh commands.
    fn start_within<'r>(
        remotes: impl IntoIterator<Item = &'r mut Remote>,
        limits: Limits,
    ) -> Multiplexer {
        let mut mux = Multiplexer::none();
        mux.limits = limits;
        for remote in remotes {
            let Some((ssh, host)) = remote.ssh_words() else {
                continue;
            };
            let server = remote.name().to_string();
            let link = match mux.open(&server, ssh, host) {
                Ok(socket) => {
                    remote.share_connection(Some(socket));
                    Link {
                        server,
                        shared: true,
                        connections: Some(1),
                        commands: None,
                        note: None,
                        unreachable: None,
                    }
                }
                Err(NotShared { note, unreachable }) => Link {
                    server,
                    shared: false,
                    connections: None,
                    commands: None,
                    note: Some(note),
                    unreachable,
                },
            };
            mux.links.push(link);
        }
        mux
    }

    /// Each ssh server of the run and how it was reached.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    fn private_dir(&mut self) -> Result<&Path, String> {
        if self.dir.is_none() {
            let tmp = std::env::temp_dir();
            let base = match tmp.as_os_str().len() <= MAX_DIR_LEN {
                true => tmp,
                false => PathBuf::from("/tmp"),
            };
            // tempfile creates the directory with mode 0700.
            let dir = tempfile::Builder::new()
                .prefix("extnfs-ssh.")
                .tempdir_in(&base)
                .map_err(|e| {
                    format!(
                        "cannot create a private directory in {}: {e}",
                        base.display()
                    )
                })?;
            self.dir = Some(dir);
        }
        Ok(self.dir.as_ref().map(|d| d.path()).unwrap_or(Path::new("")))
    }

    fn open(&mut self, server: &str, ssh: Vec<String>, host: String) -> Result<PathBuf, NotShared> {
        let index = self.masters.len() + self.links.len();
        let dir = self.private_dir()?.to_path_buf();
        let socket = dir.join(index.to_string());
        let errors = dir.join(format!("{index}.err"));
        let socket_text = socket.to_string_lossy().into_owned();
        // Detect, without connecting, that this ssh takes the options and keeps our socket.
        let limits = self.limits;
        let probe = run(
            &probe_args(&ssh, &host, &socket_text),
            &errors,
            limits.control,
        )?;
        if !probe.ok {
            return Err(NotShared::from(format!(
                "the ssh in RSYNC_RSH cannot share connections (ssh -G: {})",
                probe.message
            )));
        }
        if !effective_control_path(&probe.stdout, &socket_text) {
            return Err("RSYNC_RSH sets its own ControlPath".to_string().into());
        }
        // The master logs to a file of its own for as long as it runs (ssh -f sends its
        // stderr to /dev/null): when the server stops answering, the master says so there
        // (see `Remote::connection_lost`).
        let log = master_log(&socket);
        let started = run(
            &master_args(&ssh, &host, &socket_text, &log),
            &errors,
            limits.start,
        )?;
        if started.overran {
            // Killed before it went to the background (ssh -f forks once authenticated): no
            // master is left. A server this slow is not tried again in this run.
            let _ = std::fs::remove_file(&socket);
            let _ = std::fs::remove_file(&log);
            let cause = format!(
                "ssh did not finish connecting within {} s",
                limits.start.as_secs()
            );
            return Err(NotShared {
                note: format!("the shared connection did not start ({cause})"),
                unreachable: Some(cause),
            });
        }
        if !started.ok {
            let logged = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = std::fs::remove_file(&socket);
            let _ = std::fs::remove_file(&log);
            let said = format!("{}\n{logged}", started.stderr);
            // What ssh said, to its stderr or (with -E) to the log.
            let message = match logged.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(line) => format!("{}; {}", started.message, line.trim()),
                None => started.message,
            };
            // ssh's own words for a server it could not reach: the run pays this one
            // timeout, not another for the first command that would connect on its own.
            return Err(NotShared {
                note: format!("the shared connection did not start ({message})"),
                unreachable: connection_failure(&said),
            });
        }
        let mut master = Master {
            server: server.to_string(),
            ssh,
            host,
            socket,
            pid: None,
        };
        let checked = run(&control_args(&master, "check"), &errors, limits.control)?;
        if !checked.ok {
            // A master that does not answer can neither be asked to exit nor be named (its
            // pid comes with the check's answer): it is left as it is, and its socket goes
            // with the private directory, so nothing of this run reaches it.
            if !checked.overran {
                exit_master(&master, &errors, limits.control);
            }
            return Err(format!("ssh -O check failed ({})", checked.message).into());
        }
        master.pid = master_pid(&checked.stderr);
        self.masters.push(master);
        Ok(PathBuf::from(socket_text))
    }

    /// [`Multiplexer::close`], each problem a warning (in the output and syslog).
    pub fn close_warning(&mut self) {
        for problem in self.close() {
            log::warn!("{problem}");
        }
    }

    /// Closes every master (`ssh -O exit`) and removes the private directory. Errors are
    /// returned as lines to log; closing twice does nothing.
    pub fn close(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(dir) = &self.dir {
            let errors = dir.path().join("exit.err");
            for m in self.masters.drain(..) {
                if let Some(problem) = exit_master(&m, &errors, self.limits.control) {
                    problems.push(format!("{}: {problem}", m.server));
                }
            }
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.close() {
                problems.push(format!("cannot remove the ssh control directory: {e}"));
            }
        }
        problems
    }
}

impl Drop for Multiplexer {
    fn drop(&mut self) {
        self.close_warning();
    }
}

/// Asks the master to exit and waits (up to 5 s) for its socket to go; a master that does not
/// answer in `limit` is terminated by its pid. `Some` says what failed.
fn exit_master(m: &Master, errors: &Path, limit: Duration) -> Option<String> {
    let outcome = run(&control_args(m, "exit"), errors, limit);
    if let (Ok(Ran { overran: true, .. }), Some(pid)) = (&outcome, m.pid) {
        if m.socket.exists() {
            // Only while its socket is there: the pid is still the master's.
            let sent = crate::process::Cmd::new("kill")
                .args(["-TERM", &pid.to_string()])
                .run();
            let what = match sent {
                Ok(out) if out.success() => match socket_gone(&m.socket, Duration::from_secs(5)) {
                    true => "was sent SIGTERM".to_string(),
                    false => "was sent SIGTERM and has not ended yet".to_string(),
                },
                Ok(out) => format!("could not be sent SIGTERM ({})", out.stderr.trim()),
                Err(e) => format!("could not be sent SIGTERM ({e})"),
            };
            return Some(format!(
                "the shared ssh connection did not answer ssh -O exit within {} s; its master \
                 (pid {pid}) {what}",
                limit.as_secs()
            ));
        }
    }
    let gone = socket_gone(&m.socket, Duration::from_secs(5));
    match (outcome, gone) {
        (_, true) => None,
        (Ok(Ran { message, .. }), false) => Some(format!(
            "the shared ssh connection did not close ({message})"
        )),
        (Err(e), false) => Some(e),
    }
}

/// Whether `socket` is gone within `wait`, looked at every 50 ms.
fn socket_gone(socket: &Path, wait: Duration) -> bool {
    let until = Instant::now() + wait;
    loop {
        if !socket.exists() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The master's pid in `ssh -O check`'s answer, `Master running (pid=1234)`.
fn master_pid(stderr: &str) -> Option<u32> {
    let rest = &stderr[stderr.find("(pid=")? + "(pid=".len()..];
    rest[..rest.find(')')?].trim().parse().ok()
}

/// `ssh -G`: prints the configuration the options give, connects nowhere.
pub fn probe_args(ssh: &[String], host: &str, socket: &str) -> Vec<String> {
    let mut argv = ssh.to_vec();
    argv.extend(master_options(socket));
    argv.extend(["-G".to_string(), host.to_string()]);
    argv
}

/// The master: authenticates, goes to the background and serves clients until `-O exit`
/// (or [`PERSIST_SECONDS`] without a client).
/// Its messages go to `log` (`-E`).
pub fn master_args(ssh: &[String], host: &str, socket: &str, log: &Path) -> Vec<String> {
    let mut argv = ssh.to_vec();
    argv.extend(master_options(socket));
    argv.extend([
        "-E".to_string(),
        log.display().to_string(),
        "-N".to_string(),
        "-f".to_string(),
        host.to_string(),
    ]);
    argv
}

fn master_options(socket: &str) -> Vec<String> {
    [
        "ControlMaster=yes".to_string(),
        format!("ControlPath={socket}"),
        format!("ControlPersist={PERSIST_SECONDS}"),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_string(), o])
    .collect()
}

/// `ssh -O check|exit` against a master.
fn control_args(m: &Master, command: &str) -> Vec<String> {
    let mut argv = m.ssh.clone();
    argv.extend([
        "-o".to_string(),
        format!("ControlPath={}", m.socket.display()),
        "-O".to_string(),
        command.to_string(),
        m.host.clone(),
    ]);
    argv
}

/// Whether `ssh -G` output names `socket` as the control path (so no option of `RSYNC_RSH`
/// overrides ours).
pub fn effective_control_path(config: &str, socket: &str) -> bool {
    resolved_value(config, "controlpath") == Some(socket)
}

/// Why a server's connection is not shared.
struct NotShared {
    /// The note for [`Link::note`].
    note: String,
    /// ssh's words when the server could not be reached (see [`Link::unreachable`]).
    unreachable: Option<String>,
}

impl From<String> for NotShared {
    fn from(note: String) -> NotShared {
        NotShared {
            note,
            unreachable: None,
        }
    }
}

/// How one ssh command of ours ended.
struct Ran {
    ok: bool,
    /// Killed at its time limit.
    overran: bool,
    /// The exit status and the last line of stderr.
    message: String,
    stdout: String,
    stderr: String,
}

/// Runs `argv` with stdin and stdout detached from us (a backgrounded master must hold no pipe
/// of ours open), stderr in `errors` (removed afterwards); killed after `limit`.
fn run(argv: &[String], errors: &Path, limit: Duration) -> Result<Ran, String> {
    let err =
        File::create(errors).map_err(|e| format!("cannot write {}: {e}", errors.display()))?;
    let out_path = errors.with_extension("out");
    let out =
        File::create(&out_path).map_err(|e| format!("cannot write {}: {e}", out_path.display()))?;
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    let status = crate::process::wait_within(child, limit)
        .map_err(|e| format!("cannot wait for {}: {e}", argv[0]))?;
    let stderr = std::fs::read_to_string(errors).unwrap_or_default();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(errors);
    let _ = std::fs::remove_file(&out_path);
    let Some(status) = status else {
        return Ok(Ran {
            ok: false,
            overran: true,
            message: format!("no answer within {} s", limit.as_secs()),
            stdout,
            stderr,
        });
    };
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(match status.code() {
            Some(_) => "no message",
            None => "killed by a signal",
        })
        .trim()
        .to_string();
    let message = match status.code() {
        Some(c) if !status.success() => format!("exit {c}: {last}"),
        _ => last,
    };
    Ok(Ran {
        ok: status.success(),
        overran: false,
        message,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        ["ssh", "-F", "/etc/x cfg", "-o", "BatchMode=yes"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn master_runs_in_the_background_on_our_socket() {
        let argv = master_args(
            &words(),
            "nfs1",
            "/tmp/extnfs-ssh.a/0",
            Path::new("/tmp/extnfs-ssh.a/0.log"),
        );
        assert_eq!(argv[..5], words()[..]);
        assert_eq!(
            argv[5..],
            [
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPath=/tmp/extnfs-ssh.a/0",
                "-o",
                "ControlPersist=30",
                "-E",
                "/tmp/extnfs-ssh.a/0.log",
                "-N",
                "-f",
                "nfs1"
            ]
        );
        let probe = probe_args(&words(), "nfs1", "/s");
        assert_eq!(probe[probe.len() - 2..], ["-G", "nfs1"]);
    }

    #[test]
    fn control_commands_name_the_socket_and_the_host() {
        let m = Master {
            server: "nfs1".into(),
            ssh: words(),
            host: "nfs1.example".into(),
            socket: PathBuf::from("/tmp/extnfs-ssh.a/0"),
            pid: None,
        };
        let argv = control_args(&m, "exit");
        assert_eq!(
            argv[5..],
            [
                "-o",
                "ControlPath=/tmp/extnfs-ssh.a/0",
                "-O",
                "exit",
                "nfs1.example"
            ]
        );
    }

    #[test]
    fn an_rsh_with_its_own_control_path_is_detected() {
        let config = "user root\ncontrolmaster true\ncontrolpath /tmp/extnfs-ssh.a/0\n";
        assert!(effective_control_path(config, "/tmp/extnfs-ssh.a/0"));
        let theirs = "controlmaster auto\ncontrolpath /root/.ssh/cm-%C\n";
        assert!(!effective_control_path(theirs, "/tmp/extnfs-ssh.a/0"));
        assert!(!effective_control_path("", "/tmp/extnfs-ssh.a/0"));
    }

    /// An ssh that takes our options (`-G` prints our control path), then does what `master`
    /// says when asked to start a master (`-N`), `check` to `-O check`, `exit` to `-O exit`.
    fn scripted_ssh(dir: &Path, master: &str, check: &str, exit: &str) -> Remote {
        let body = format!(
            "for a; do case $a in ControlPath=*) p=${{a#ControlPath=}};; -G) g=1;; -N) n=1;; \
             check) c=1;; exit) x=1;; esac; done\n\
             if [ -n \"$g\" ]; then echo \"controlpath $p\"; exit 0; fi\n\
             if [ -n \"$n\" ]; then {master}; fi\n\
             if [ -n \"$c\" ]; then {check}; fi\n\
             if [ -n \"$x\" ]; then {exit}; fi\n\
             exit 1\n"
        );
        let rsh = crate::remote::fake_ssh(dir, &body);
        let config = crate::config::Config::default().server("nfs1");
        Remote::with_rsh(&config, Some(&rsh)).unwrap()
    }

    fn short(seconds: u64) -> Limits {
        Limits {
            control: Duration::from_secs(seconds),
            start: Duration::from_secs(seconds),
        }
    }

    /// Starts the connection with a scripted ssh whose master start or check never answers:
    /// the start must end soon after its 1 s limit.
    fn start_stalled(master: &str, check: &str) -> (tempfile::TempDir, Remote, Multiplexer) {
        let dir = tempfile::tempdir().unwrap();
        let mut remote = scripted_ssh(dir.path(), master, check, "exit 0");
        let started = Instant::now();
        let mux = Multiplexer::start_within([&mut remote], short(1));
        assert!(started.elapsed() < Duration::from_secs(10));
        (dir, remote, mux)
    }

    #[test]
    fn a_server_that_never_finishes_connecting_is_unreachable_after_the_limit() {
        let (_dir, remote, mut mux) = start_stalled("exec sleep 30", "exit 0");
        let link = &mux.links()[0];
        assert_eq!(
            link.unreachable.as_deref(),
            Some("ssh did not finish connecting within 1 s")
        );
        assert_eq!(
            link.line(),
            "nfs1: no ssh connection: the server could not be reached"
        );
        assert!(!remote.rsync_rsh().unwrap().contains("ControlPath"));
        assert!(mux.close().is_empty());
    }

    #[test]
    fn a_master_that_does_not_answer_its_check_leaves_the_server_on_separate_connections() {
        let (_dir, remote, mut mux) = start_stalled("exit 0", "exec sleep 30");
        let link = &mux.links()[0];
        assert_eq!(
            (link.shared, link.unreachable.as_deref()),
            (false, None),
            "{link:?}"
        );
        assert_eq!(
            link.note.as_deref(),
            Some("ssh -O check failed (no answer within 1 s)")
        );
        assert!(!remote.rsync_rsh().unwrap().contains("ControlPath"));
        assert!(mux.close().is_empty());
    }

    #[test]
    fn a_master_that_does_not_answer_its_exit_is_terminated_by_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("master.pid");
        // The master: holds the socket until SIGTERM, as ssh's master does.
        let master = format!(
            ": > \"$p\"; sh -c 'trap \"rm -f \\\"$0\\\"; exit 0\" TERM; \
             while :; do sleep 0.1; done' \"$p\" < /dev/null > /dev/null 2>&1 & \
             echo $! > {pid}; exit 0",
            pid = pid_file.display()
        );
        let check = format!(
            "echo \"Master running (pid=$(cat {pid}))\" >&2; exit 0",
            pid = pid_file.display()
        );
        let mut remote = scripted_ssh(dir.path(), &master, &check, "exec sleep 30");
        let mut mux = Multiplexer::start_within([&mut remote], short(1));
        assert!(mux.links()[0].shared, "{:?}", mux.links());
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(mux.masters[0].pid, Some(pid));
        let started = Instant::now();
        let problems = mux.close();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            problems,
            [format!(
                "nfs1: the shared ssh connection did not answer ssh -O exit within 1 s; \
                 its master (pid {pid}) was sent SIGTERM"
            )]
        );
        // Ended soon after (its trap removes the socket, then it exits): gone, or a zombie
        // that nobody reaps here (its parent, the fake ssh, is gone).
        let ended = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            matches!(
                stat.rsplit_once(") ").map(|(_, r)| &r[..1]),
                None | Some("Z")
            )
        };
        let until = Instant::now() + Duration::from_secs(5);
        while !ended() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(ended(), "the master {pid} still runs");
    }

    #[test]
    fn a_master_pid_that_cannot_be_signalled_is_said_so() {
        let dir = tempfile::tempdir().unwrap();
        // The check names a process that does not exist; the socket stays.
        let mut remote = scripted_ssh(
            dir.path(),
            ": > \"$p\"; exit 0",
            "echo 'Master running (pid=2147483646)' >&2; exit 0",
            "exec sleep 30",
        );
        let mut mux = Multiplexer::start_within([&mut remote], short(1));
        assert_eq!(mux.masters[0].pid, Some(2147483646));
        let problems = mux.close();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "nfs1: the shared ssh connection did not answer ssh -O exit within 1 s; \
                 its master (pid 2147483646) could not be sent SIGTERM ("
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn the_master_pid_is_read_from_the_check() {
        assert_eq!(master_pid("Master running (pid=4242)\n"), Some(4242));
        assert_eq!(master_pid("Master running\n"), None);
        assert_eq!(master_pid("(pid=x)"), None);
    }

    #[test]
    fn a_program_that_is_not_openssh_falls_back_with_a_note() {
        // `false` takes any arguments and fails, as a wrapper that cannot do `-G` does.
        let mut remote = crate::remote::Remote::with_rsh(
            &crate::config::Config::default().server("nfs1"),
            Some("false"),
        )
        .unwrap();
        let mut mux = Multiplexer::start([&mut remote]);
        let link = &mux.links()[0];
        assert!(!link.shared);
        assert_eq!(link.connections, None);
        assert!(link.note.as_deref().unwrap().contains("ssh -G"), "{link:?}");
        assert!(!remote.rsync_rsh().unwrap().contains("ControlPath"));
        let dir = mux.dir.as_ref().unwrap().path().to_path_buf();
        assert!(mux.close().is_empty());
        assert!(!dir.exists());
    }

    #[test]
    fn lines_say_how_a_server_is_reached() {
        let shared = Link {
            server: "nfs1".into(),
            shared: true,
            connections: Some(1),
            commands: None,
            note: None,
            unreachable: None,
        };
        assert_eq!(
            shared.line(),
            "nfs1: 1 ssh connection, shared by every command of this run"
        );
        let separate = Link {
            note: Some("RSYNC_RSH sets its own ControlPath".into()),
            shared: false,
            connections: None,
            ..shared.clone()
        };
        assert!(separate.line().contains("per command: RSYNC_RSH"));
        let counted = Link {
            commands: Some(4),
            ..shared
        };
        assert_eq!(
            counted.line(),
            "nfs1: 1 ssh connection, shared by every command of this run; \
             4 remote command(s) besides rsync"
        );
    }
}
