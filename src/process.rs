//! Running child processes: argument vectors only (never a local shell), captured output,
//! and errors that carry the child's stderr so nothing a child says is discarded.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A command line built from separate arguments.
#[derive(Clone, Debug)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    dir: Option<std::path::PathBuf>,
    /// Counts the runs of this command that started (see [`Cmd::tally`]).
    tally: Option<Arc<AtomicUsize>>,
}

/// What a finished child printed, and how it ended.
#[derive(Clone, Debug, Default)]
pub struct Output {
    /// Exit code; `None` when the child was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The exit code, with a signal death reported as -1.
    pub fn code_or_signal(&self) -> i32 {
        self.code.unwrap_or(-1)
    }
}

/// A child process that could not be started or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("`{command}` {}{}", describe_status(*code), framed(stderr))]
    Failed {
        command: String,
        code: Option<i32>,
        stdout: String,
        stderr: String,
    },
}

impl CommandError {
    /// The exit code of a failed child (-1 for a signal, `None` if it never started).
    pub fn code(&self) -> Option<i32> {
        match self {
            CommandError::Spawn { .. } => None,
            CommandError::Failed { code, .. } => Some(code.unwrap_or(-1)),
        }
    }
}

fn describe_status(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exited with status {c}"),
        None => "was killed by a signal".to_string(),
    }
}

/// Frames a child's stderr below an error line, as ripgrep does, so it reads apart from our text.
fn framed(stderr: &str) -> String {
    let text = stderr.trim_end();
    if text.is_empty() {
        return String::new();
    }
    let rule = "-".repeat(20);
    format!("\n{rule} stderr {rule}\n{text}\n{}", "-".repeat(47))
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            dir: None,
            tally: None,
        }
    }

    /// Adds one to `counter` each time this command starts (a run that could not start the
    /// program is not counted).
    pub fn tally(mut self, counter: Arc<AtomicUsize>) -> Cmd {
        self.tally = Some(counter);
        self
    }

    /// Counts one start of this command, for a caller that spawned it itself from
    /// [`Cmd::program`] and [`Cmd::arguments`].
    pub fn started(&self) {
        if let Some(t) = &self.tally {
            t.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn stdin_bytes(mut self, input: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(input.into());
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn program(&self) -> &OsStr {
        &self.program
    }

    pub fn arguments(&self) -> &[OsString] {
        &self.args
    }

    /// The command as a shell would need it typed: for logs and `--dry-run` output.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(self.args.iter())
            .map(|a| quote(&a.to_string_lossy()).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn expression(&self) -> duct::Expression {
        let mut expr = duct::cmd(&self.program, &self.args)
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        for (k, v) in &self.env {
            expr = expr.env(k, v);
        }
        if let Some(dir) = &self.dir {
            expr = expr.dir(dir);
        }
        match &self.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        }
    }

    /// Runs to completion; a non-zero exit is not an error here (see [`Cmd::run_checked`]).
    pub fn run(&self) -> Result<Output, CommandError> {
        let out = self
            .expression()
            .run()
            .map_err(|source| CommandError::Spawn {
                command: self.display(),
                source,
            })?;
        self.started();
        Ok(out.into())
    }

    /// Runs to completion; any exit but 0 is a [`CommandError::Failed`] carrying stderr.
    pub fn run_checked(&self) -> Result<Output, CommandError> {
        let out = self.run()?;
        if out.success() {
            Ok(out)
        } else {
            Err(self.failed(out))
        }
    }

    /// Turns an unsuccessful [`Output`] of this command into an error.
    pub fn failed(&self, out: Output) -> CommandError {
        CommandError::Failed {
            command: self.display(),
            code: out.code,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

/// Waits for `child` at most `limit`, pausing 1, 2 and 4 ms between looks, then 5 ms (a quick
/// command, such as `ssh -O check` in a few ms, is made slower by at most one pause): its exit
/// status, or `None` when it was still running and has been killed.
pub fn wait_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> io::Result<Option<std::process::ExitStatus>> {
    let until = std::time::Instant::now() + limit;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = std::time::Instant::now();
        if now >= until {
            // One that ended since `try_wait` counts as overrun; kill then fails, wait reaps it.
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(pause.min(until - now));
        pause = (pause * 2).min(std::time::Duration::from_millis(5));
    }
}

/// Runs `left | right`: `left`'s standard output into `right`'s standard input, neither
/// through a shell, both stderr captured. When both fail, `right`'s failure is the error: a
/// writer mostly fails because its reader went away.
pub fn pipe(left: &Cmd, right: &Cmd) -> Result<(), CommandError> {
    use std::process::{Child, Command, Stdio};
    let spawn = |c: &Cmd, stdin: Stdio| -> Result<Child, CommandError> {
        let mut cmd = Command::new(&c.program);
        cmd.args(&c.args)
            .envs(c.env.iter().map(|(k, v)| (k, v)))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &c.dir {
            cmd.current_dir(dir);
        }
        let child = cmd.spawn().map_err(|source| CommandError::Spawn {
            command: c.display(),
            source,
        })?;
        c.started();
        Ok(child)
    };
    let mut writer = spawn(left, Stdio::null())?;
    let stream = writer.stdout.take().expect("the writer's output is piped");
    let reader = match spawn(right, Stdio::from(stream)) {
        Ok(r) => r,
        Err(e) => {
            // Nothing reads: the writer must not be left behind.
            let _ = writer.kill();
            let _ = writer.wait();
            return Err(e);
        }
    };
    let (written, read) = std::thread::scope(|s| {
        let read = s.spawn(|| reader.wait_with_output());
        (writer.wait_with_output(), read.join())
    });
    let read = read.unwrap_or_else(|p| std::panic::resume_unwind(p));
    let output = |r: io::Result<std::process::Output>, c: &Cmd| {
        r.map(Output::from).map_err(|source| CommandError::Spawn {
            command: c.display(),
            source,
        })
    };
    let (written, read) = (output(written, left)?, output(read, right)?);
    match (read.success(), written.success()) {
        (false, _) => Err(right.failed(read)),
        (true, false) => Err(left.failed(written)),
        (true, true) => Ok(()),
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Quotes one word for a POSIX shell (sh, ksh, bash): unchanged when it holds only safe
/// characters, otherwise single-quoted with embedded `'` written as `'\''`.
pub fn quote(word: &str) -> std::borrow::Cow<'_, str> {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if safe {
        std::borrow::Cow::Borrowed(word)
    } else {
        std::borrow::Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

/// Joins words into one shell command line, each quoted with [`quote`].
pub fn quote_words<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|w| quote(w.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finds a program: an absolute or relative path is taken as given, a bare name is looked up
/// on `PATH`, so test fixtures and admins can put their own `lsnim`/`tabdump` first.
pub fn find_program(name: &str) -> Result<std::path::PathBuf, CommandError> {
    if name.contains('/') {
        return Ok(std::path::PathBuf::from(name));
    }
    which::which(name).map_err(|e| CommandError::Spawn {
        command: name.to_string(),
        source: io::Error::new(io::ErrorKind::NotFound, format!("{e} (searched PATH)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_plain_words_alone() {
        assert_eq!(quote("/install/nim/spot"), "/install/nim/spot");
        assert_eq!(quote("cn001"), "cn001");
    }

    #[test]
    fn quote_protects_shell_characters() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote_words(["ls", "-l", "x;y"]), "ls -l 'x;y'");
    }

    #[test]
    fn failed_command_shows_stderr() {
        let cmd = Cmd::new("sh").args(["-c", "echo boom >&2; exit 3"]);
        let err = cmd.run_checked().unwrap_err();
        assert_eq!(err.code(), Some(3));
        let text = err.to_string();
        assert!(text.contains("exited with status 3"), "{text}");
        assert!(text.contains("boom"), "{text}");
    }

    #[test]
    fn a_child_past_its_limit_is_killed_and_one_within_it_reports_its_status() {
        let sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let waited = wait_within(sleeper, std::time::Duration::from_millis(200)).unwrap();
        assert_eq!(waited, None);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let quick = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let waited = wait_within(quick, std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(waited.and_then(|s| s.code()), Some(3));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = Cmd::new("/nonexistent/program").run().unwrap_err();
        assert!(matches!(err, CommandError::Spawn { .. }));
    }

    #[test]
    fn stdin_and_env_reach_the_child() {
        let out = Cmd::new("sh")
            .args(["-c", "cat; printf %s \"$X\""])
            .env("X", "42")
            .stdin_bytes("in-")
            .run_checked()
            .unwrap();
        assert_eq!(out.stdout, "in-42");
    }

    #[test]
    fn a_pipe_carries_the_stream_and_names_the_side_that_failed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let writer = Cmd::new("sh").args(["-c", "seq 1 100000"]);
        let reader = Cmd::new("sh")
            .args(["-c", "wc -l > \"$1\"", "sh"])
            .arg(&out);
        pipe(&writer, &reader).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "100000");

        // The reader failing first: its error, with its stderr, though the writer died too.
        let refusing = Cmd::new("sh").args(["-c", "echo 'no space left' >&2; exit 2"]);
        let err = pipe(&writer, &refusing).unwrap_err();
        assert_eq!(err.code(), Some(2), "{err}");
        assert!(err.to_string().contains("no space left"), "{err}");
        // The writer failing alone.
        let failing = Cmd::new("sh").args(["-c", "echo 'cannot read' >&2; exit 5"]);
        let err = pipe(&failing, &reader).unwrap_err();
        assert_eq!(err.code(), Some(5), "{err}");
        assert!(err.to_string().contains("cannot read"), "{err}");
        // A reader that cannot start: the writer is not left running.
        let err = pipe(&writer, &Cmd::new("/nonexistent/program")).unwrap_err();
        assert!(matches!(err, CommandError::Spawn { .. }));
    }
}
