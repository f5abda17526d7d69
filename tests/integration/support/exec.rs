//! Child processes for the lab, always bounded in time: one-shot commands that are killed when
//! they overrun, long-running daemons that are stopped when dropped, and polling with a deadline.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a command may take unless the caller says otherwise.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);
/// How long a daemon may take to exit after SIGTERM before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(5);
/// Pause between two looks at something that is not ready yet.
const POLL: Duration = Duration::from_millis(10);

/// What a finished command printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code; `None` when a signal ended the command.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics, showing everything the command printed, unless it exited with status 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panics, showing everything the command printed, if it exited with status 0.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.success(),
            "command succeeded but should have failed: {self}"
        );
        self
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` ended with {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// Running a [`Command`] to its end within a time limit.
pub trait CommandExt {
    /// Runs with stdin empty and output captured; kills the command and panics if it is still
    /// running after `limit`.
    fn run_within(&mut self, limit: Duration) -> Finished;

    /// [`CommandExt::run_within`] with [`COMMAND_LIMIT`].
    fn run_bounded(&mut self) -> Finished {
        self.run_within(COMMAND_LIMIT)
    }

    /// Starts the command (stdin empty, output captured) for [`Running::finish`] to collect,
    /// so that several commands can run at the same moment.
    fn spawn_bounded(&mut self) -> Running;
}

/// A started command; [`Running::finish`] waits for it within [`COMMAND_LIMIT`].
pub struct Running {
    command: String,
    child: std::process::Child,
    stdout: std::fs::File,
    stderr: std::fs::File,
}

impl Running {
    /// The process id of the command.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn finish(&mut self) -> Finished {
        let Some(status) = wait_for_exit(&mut self.child, COMMAND_LIMIT) else {
            let clone = |f: &File| f.try_clone().expect("clone captured output");
            let (out, err) = (clone(&self.stdout), clone(&self.stderr));
            overran(&self.command, COMMAND_LIMIT, &mut self.child, out, err);
        };
        Finished {
            command: self.command.clone(),
            status,
            stdout: read_all(self.stdout.try_clone().expect("clone stdout file")),
            stderr: read_all(self.stderr.try_clone().expect("clone stderr file")),
        }
    }
}

impl CommandExt for Command {
    fn run_within(&mut self, limit: Duration) -> Finished {
        let mut running = self.spawn_bounded();
        let Some(status) = wait_for_exit(&mut running.child, limit) else {
            let (out, err) = (running.stdout, running.stderr);
            overran(&running.command, limit, &mut running.child, out, err);
        };
        Finished {
            command: running.command,
            status,
            stdout: read_all(running.stdout),
            stderr: read_all(running.stderr),
        }
    }

    fn spawn_bounded(&mut self) -> Running {
        let command = describe(self);
        // Files rather than pipes: a grandchild that keeps the output open cannot block us.
        let stdout = tempfile::tempfile().expect("temporary file for stdout");
        let stderr = tempfile::tempfile().expect("temporary file for stderr");
        let child = self
            .stdin(Stdio::null())
            .stdout(stdout.try_clone().expect("clone stdout file"))
            .stderr(stderr.try_clone().expect("clone stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        Running {
            command,
            child,
            stdout,
            stderr,
        }
    }
}

/// A command line as a shell would need it typed, for messages.
pub fn describe(command: &Command) -> String {
    let words = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy);
    xcat_extnfs::process::quote_words(words)
}

/// Polls `ready` until it returns true; panics naming `what` when `limit` runs out first.
#[track_caller]
pub fn wait_until(what: &str, limit: Duration, ready: impl FnMut() -> bool) {
    assert!(
        poll_until(limit, ready),
        "timed out after {limit:?} waiting for {what}"
    );
}

/// Polls `ready` until it returns true (then true) or `limit` runs out (then false).
pub fn poll_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(POLL);
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(POLL);
    }
}

/// Kills a command that overran its limit and panics with what it printed so far and the
/// processes running at that moment (what a hang waits on shows there, not in the output).
fn overran(command: &str, limit: Duration, child: &mut Child, stdout: File, stderr: File) -> ! {
    let processes = Command::new("ps")
        .args(["-e", "--forest", "-o", "pid,ppid,etime,stat,wchan:20,args"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("(ps could not run: {e})\n"));
    kill_and_reap(child);
    panic!(
        "`{command}` did not finish within {limit:?} and was killed (pid {})\n\
         --- stdout so far ---\n{}--- stderr so far ---\n{}--- processes when it was killed ---\n{}",
        child.id(),
        read_all(stdout),
        read_all(stderr),
        processes
    );
}

fn kill_and_reap(child: &mut Child) {
    // Fails only when the child has already exited, which is what we want anyway.
    let _ = child.kill();
    let _ = child.wait();
}

fn read_all(mut file: File) -> String {
    let mut bytes = Vec::new();
    file.rewind().expect("rewind captured output");
    file.read_to_end(&mut bytes).expect("read captured output");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sends `signal` to `pid`; false when no such process exists any more.
pub fn send_signal(pid: u32, signal: libc::c_int) -> bool {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// A long-running process of the lab (a namespace anchor, sshd, Ganesha): its output goes to a
/// log file, and it is stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Daemon {
    what: String,
    child: Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `command` with its stdout and stderr appended to `log`.
    pub fn spawn(what: &str, command: &mut Command, log: &Path) -> Daemon {
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open log {}: {e}", log.display()));
        let child = command
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("clone log file"))
            .stderr(output)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} (`{}`): {e}", describe(command)));
        Daemon {
            what: what.to_string(),
            child,
            log: log.to_path_buf(),
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file its output goes to.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Panics with the end of its log if it has exited.
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("wait for daemon") {
            self.exited = Some(status);
            panic!(
                "{} exited ({status}); end of {}:\n{}",
                self.what,
                self.log.display(),
                log_tail(&self.log, 30)
            );
        }
    }

    /// Sends a signal, e.g. `libc::SIGHUP`.
    pub fn signal(&self, signal: libc::c_int) {
        if self.exited.is_none() {
            send_signal(self.pid(), signal);
        }
    }

    /// SIGTERM, then SIGKILL if it is still running after a few seconds; reaps it. Idempotent.
    pub fn stop(&mut self) {
        if self.exited.is_some() {
            return;
        }
        self.signal(libc::SIGTERM);
        let status = match wait_for_exit(&mut self.child, STOP_LIMIT) {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                self.child.wait().expect("reap killed daemon")
            }
        };
        self.exited = Some(status);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `lines` lines of a text file, or a note that it cannot be read.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
