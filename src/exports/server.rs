//! The external server's side, through `Remote`: the lock a run holds, reading the parts and
//! the current configuration, atomic installs with a backup to restore, name checks.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::error::ExportsError;
use super::merge::Part;
use crate::process::{Cmd, Output};
use crate::remote::Remote;
use crate::scripts;

/// The server's lock, held until dropped.
pub struct Lock {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Lock {
    /// Waits (up to `timeout` seconds, on the server) for the lock directory `lock`.
    pub fn acquire(
        remote: &Remote,
        lock: &str,
        timeout: u64,
        owner: &str,
    ) -> Result<Lock, ExportsError> {
        let path = remote.path(lock);
        let cmd = remote.script(scripts::LOCK, &[path.as_str(), &timeout.to_string(), owner]);
        let mut child = Command::new(cmd.program())
            .args(cmd.arguments())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| spawn_error(remote, &cmd, source))?;
        cmd.started();
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            match line.trim_end() {
                "locked" => return Ok(Lock { child, stdin }),
                text => {
                    if let Some(owner) = text.strip_prefix("waiting ") {
                        log::warn!("{}", waiting(remote.name(), lock, timeout, owner));
                    }
                }
            }
            line.clear();
        }
        drop(stdin);
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let code = child.wait().ok().and_then(|s| s.code());
        if code == Some(scripts::LOCK_BUSY) {
            return Err(ExportsError::Busy {
                server: remote.name().to_string(),
                lock: lock.to_string(),
                seconds: timeout,
                owner: stderr.trim().to_string(),
            });
        }
        let out = Output {
            code,
            stdout: line,
            stderr,
        };
        Err(ExportsError::remote(
            remote.name(),
            "taking the exports lock",
            cmd.failed(out),
        ))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The line logged (once) when another run holds the lock.
fn waiting(server: &str, lock: &str, timeout: u64, owner: &str) -> String {
    let held = match owner.trim() {
        "" => String::new(),
        owner => format!(", held by {owner}"),
    };
    format!("server {server}: waiting up to {timeout} s for the exports lock {lock}{held}")
}

fn spawn_error(remote: &Remote, cmd: &Cmd, source: std::io::Error) -> ExportsError {
    let err = crate::process::CommandError::Spawn {
        command: cmd.display(),
        source,
    };
    ExportsError::remote(remote.name(), "taking the exports lock", err)
}

/// The configuration file as it is on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Current {
    pub text: String,
    /// `cksum` of the file, to notice a change between reading and writing.
    pub cksum: String,
}

/// The parts and the configuration on the server.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub parts: BTreeMap<String, Part>,
    /// Each part's file text, to write nothing when a part is unchanged.
    pub raw_parts: BTreeMap<String, String>,
    pub current: Option<Current>,
}

/// Reads every part in `parts_dir` and the configuration `file`.
pub fn read_state(remote: &Remote, parts_dir: &str, file: &str) -> Result<State, ExportsError> {
    let mark = marker();
    let cmd = remote.script(
        scripts::READ,
        &[
            remote.path(parts_dir).as_str(),
            remote.path(file).as_str(),
            &mark,
        ],
    );
    let out = cmd
        .run_checked()
        .map_err(|e| ExportsError::remote(remote.name(), "reading the exports state", e))?;
    let frames = scripts::frames(&out.stdout, &mark)
        .map_err(|m| ExportsError::server_file(remote.name(), parts_dir, m))?;
    let mut state = State::default();
    for (header, body) in frames {
        match header.split_once(' ') {
            Some(("part", name)) => add_part(&mut state, remote, parts_dir, name, body)?,
            Some(("file", cksum)) => {
                state.current = Some(Current {
                    text: body,
                    cksum: cksum.to_string(),
                })
            }
            _ => {
                return Err(ExportsError::server_file(
                    remote.name(),
                    parts_dir,
                    "unexpected output",
                ))
            }
        }
    }
    Ok(state)
}

fn add_part(
    state: &mut State,
    remote: &Remote,
    parts_dir: &str,
    name: &str,
    text: String,
) -> Result<(), ExportsError> {
    let file = format!("{parts_dir}/{name}");
    let bad = |m: String| ExportsError::server_file(remote.name(), &file, m);
    let part = Part::from_json(&text).map_err(|m| {
        bad(format!(
            "not a usable part ({m}); remove it or rerun extnfs on its service node"
        ))
    })?;
    if name.strip_suffix(".json") != Some(part.sn.as_str()) {
        return Err(bad(format!("it holds the part of `{}`", part.sn)));
    }
    state.raw_parts.insert(part.sn.clone(), text);
    state.parts.insert(part.sn.clone(), part);
    Ok(())
}

/// A line start no file can contain: the time and our pid.
fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("--extnfs-{nanos:x}-{:x}", std::process::id())
}

/// What an install expects to replace.
pub enum Expect<'a> {
    /// Whatever is there.
    Any,
    /// The file as read (`None`: no file).
    Read(Option<&'a Current>),
}

/// Writes `content` to the server file `path` atomically, keeping the old one for [`restore`].
pub fn install(
    remote: &Remote,
    path: &str,
    content: &str,
    expect: Expect<'_>,
) -> Result<(), ExportsError> {
    let want = match expect {
        Expect::Any => "any",
        Expect::Read(Some(c)) => c.cksum.as_str(),
        Expect::Read(None) => "absent",
    };
    let cmd = remote
        .script(scripts::INSTALL, &[remote.path(path).as_str(), want])
        .stdin_bytes(content);
    match cmd.run() {
        Ok(out) if out.success() => Ok(()),
        Ok(out) if out.code == Some(scripts::INSTALL_CHANGED) => Err(ExportsError::server_file(
            remote.name(),
            path,
            "it changed while this run was computing it (rerun)",
        )),
        Ok(out) => Err(ExportsError::remote(
            remote.name(),
            &format!("writing {path}"),
            cmd.failed(out),
        )),
        Err(e) => Err(ExportsError::remote(
            remote.name(),
            &format!("writing {path}"),
            e,
        )),
    }
}

/// Moves the server file `path` aside (restorable with [`restore`]).
pub fn remove(remote: &Remote, path: &str) -> Result<(), ExportsError> {
    run_on_path(remote, scripts::MOVE_ASIDE, path, "removing")
}

/// Puts back what [`install`] or [`remove`] replaced.
pub fn restore(remote: &Remote, path: &str) -> Result<(), ExportsError> {
    run_on_path(remote, scripts::RESTORE, path, "restoring")
}

/// Runs one of our scripts with the server file `path` as `$1`.
fn run_on_path(remote: &Remote, script: &str, path: &str, step: &str) -> Result<(), ExportsError> {
    remote
        .script(script, &[remote.path(path)])
        .run_checked()
        .map(drop)
        .map_err(|e| ExportsError::remote(remote.name(), &format!("{step} {path}"), e))
}

/// The names among `names` that the server cannot resolve. They go over in chunks: the
/// remote shell receives the command as one argument, which Linux caps at 128 KiB.
pub fn unresolvable(remote: &Remote, names: &[String]) -> Result<Vec<String>, ExportsError> {
    let mut bad = Vec::new();
    for chunk in names.chunks(NAMES_PER_CHECK) {
        let out = remote
            .script(scripts::NAMES, chunk)
            .run_checked()
            .map_err(|e| ExportsError::remote(remote.name(), "checking client names", e))?;
        bad.extend(out.stdout.lines().map(str::to_string));
    }
    Ok(bad)
}

/// Names per remote check: well below the argument limit for host names of 63 characters.
const NAMES_PER_CHECK: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local_for_tests as local;

    #[test]
    fn install_restore_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        install(&r, "/etc/x/f.conf", "one\n", Expect::Read(None)).unwrap();
        let state = read_state(&r, "/parts", "/etc/x/f.conf").unwrap();
        let current = state.current.clone().unwrap();
        assert_eq!(current.text, "one\n");
        assert!(state.parts.is_empty());
        let stale = Current {
            text: String::new(),
            cksum: "0 0".into(),
        };
        let err = install(&r, "/etc/x/f.conf", "x", Expect::Read(Some(&stale))).unwrap_err();
        assert!(err.to_string().contains("changed while"), "{err}");
        install(&r, "/etc/x/f.conf", "two", Expect::Read(Some(&current))).unwrap();
        let path = dir.path().join("etc/x/f.conf");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        restore(&r, "/etc/x/f.conf").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        remove(&r, "/etc/x/f.conf").unwrap();
        assert!(!path.exists());
        restore(&r, "/etc/x/f.conf").unwrap();
        assert!(path.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("etc/x"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("extnfs-new"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_part_under_the_wrong_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        let part = Part {
            format: super::super::merge::PART_FORMAT,
            sn: "sn2".into(),
            published: Vec::new(),
            exports: Vec::new(),
        };
        install(&r, "/p/sn1.json", &part.to_json(), Expect::Any).unwrap();
        let err = read_state(&r, "/p", "/none").unwrap_err().to_string();
        assert!(err.contains("sn1.json") && err.contains("sn2"), "{err}");
    }

    #[test]
    fn the_lock_is_exclusive_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        let held = Lock::acquire(&r, "/p/.lock", 5, "test one").unwrap();
        assert!(dir.path().join("p/.lock/pid").exists());
        let err = Lock::acquire(&r, "/p/.lock", 1, "test two").err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("still held") && text.contains("test one"),
            "{text}"
        );
        drop(held);
        assert!(!dir.path().join("p/.lock").exists());
        let again = Lock::acquire(&r, "/p/.lock", 1, "test three").unwrap();
        drop(again);
    }

    #[test]
    fn a_waiting_run_says_once_whom_it_waits_for() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        let _held = Lock::acquire(&r, "/p/.lock", 5, "test one").unwrap();
        let path = r.path("/p/.lock");
        let out = r
            .script(scripts::LOCK, &[path.as_str(), "2", "test two"])
            .run()
            .unwrap();
        assert_eq!(out.code, Some(scripts::LOCK_BUSY), "{out:?}");
        let waits: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(waits.len(), 1, "{out:?}");
        assert!(waits[0].starts_with("waiting test one on "), "{out:?}");
        let line = waiting("nfs1", "/p/.lock", 300, "test one on sn1 since 12:00");
        assert_eq!(
            line,
            "server nfs1: waiting up to 300 s for the exports lock /p/.lock, held by test one on \
             sn1 since 12:00"
        );
    }

    #[test]
    fn a_lock_that_never_got_its_pid_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        // A holder killed between its mkdir and writing its pid, on another host.
        let lock = dir.path().join("p/.lock");
        std::fs::create_dir_all(&lock).unwrap();
        std::fs::write(lock.join("host"), "elsewhere\n").unwrap();
        let path = r.path("/p/.lock");
        let taken = r
            .script(scripts::LOCK, &[path.as_str(), "1", "taker", "0"])
            .run()
            .unwrap();
        assert_eq!(taken.code, Some(0), "{taken:?}");
        assert!(taken.stdout.ends_with("locked\n"), "{taken:?}");
        // The same lock with a pid (a live holder elsewhere) is waited for, not taken.
        std::fs::create_dir_all(&lock).unwrap();
        std::fs::write(lock.join("host"), "elsewhere\n").unwrap();
        std::fs::write(lock.join("pid"), "1\n").unwrap();
        std::fs::write(lock.join("owner"), "other on elsewhere\n").unwrap();
        let busy = r
            .script(scripts::LOCK, &[path.as_str(), "1", "taker", "0"])
            .run()
            .unwrap();
        assert_eq!(busy.code, Some(scripts::LOCK_BUSY), "{busy:?}");
        assert!(busy.stderr.contains("other on elsewhere"), "{busy:?}");
        assert!(!dir.path().join("p/.lock.break").exists());
    }

    #[test]
    fn a_lock_left_by_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        let lock = dir.path().join("p/.lock");
        std::fs::create_dir_all(&lock).unwrap();
        let host = Cmd::new("uname").arg("-n").run_checked().unwrap().stdout;
        std::fs::write(lock.join("host"), host).unwrap();
        let mut dead = Command::new("true").spawn().unwrap();
        dead.wait().unwrap();
        std::fs::write(lock.join("pid"), format!("{}\n", dead.id())).unwrap();
        drop(Lock::acquire(&r, "/p/.lock", 1, "taker").unwrap());
    }

    #[test]
    fn names_are_checked_on_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let r = local(dir.path());
        let names = vec!["localhost".to_string(), "no-such-host.invalid".to_string()];
        assert_eq!(unresolvable(&r, &names).unwrap(), ["no-such-host.invalid"]);
        assert!(unresolvable(&r, &[]).unwrap().is_empty());
    }
}
