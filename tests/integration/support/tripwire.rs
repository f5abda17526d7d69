//! Seeded SIGKILL points for a run of `syncaixres`: the Nth start of lsnim, ssh or rsync, or the
//! Nth file event of the SN's edits, on the process alone or on its whole process group.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::exec::poll_until;
use super::fixtures::{fixtures_bin, root};

/// What a kill point counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A start of NIM's lsnim (planning).
    Lsnim,
    /// A start of ssh: the shared connection, server-side scripts (prepare, verification,
    /// exports) and the transport of each rsync.
    Ssh,
    /// A start of the local rsync (the copies).
    Rsync,
    /// A file created in, or renamed into, a directory the SN edits (`.info`, `filesystems`,
    /// `hosts`, `/etc/exports`).
    Edit,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Lsnim => "lsnim",
            Event::Ssh => "ssh",
            Event::Rsync => "rsync",
            Event::Edit => "edit",
        }
    }
}

/// Where a run is killed: at the `at`th `event`, `delay_ms` later; `group` kills the whole
/// process group (the run and its rsync and ssh children), else the run alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillPoint {
    pub event: Event,
    pub at: u32,
    pub delay_ms: u32,
    pub group: bool,
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} #{} +{}ms ({})",
            self.event.name(),
            self.at,
            self.delay_ms,
            if self.group {
                "process group"
            } else {
                "process"
            }
        )
    }
}

/// The wrappers of one lab, and the record of what they saw.
pub struct Tripwire {
    dir: PathBuf,
    bin: PathBuf,
    rsync: PathBuf,
    script: PathBuf,
}

impl Tripwire {
    /// Wrappers under `dir`: `bin/lsnim` (in front of the test stand-in) and `rsync`; the
    /// local rsync is slowed to `bwlimit` KiB/s so that a copy lasts long enough to be cut.
    pub fn new(dir: &Path, bwlimit: u32) -> Tripwire {
        let script = root().join("tests/integration/fixtures/crash/tripwire.sh");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).expect("create the tripwire directory");
        let lsnim = format!(
            "#!/bin/sh\nexec {} lsnim {} \"$@\"\n",
            script.display(),
            fixtures_bin().join("lsnim").display()
        );
        executable(&bin.join("lsnim"), &lsnim);
        let rsync = dir.join("rsync");
        let text = format!(
            "#!/bin/sh\nexec {} rsync rsync --bwlimit={bwlimit} \"$@\"\n",
            script.display()
        );
        executable(&rsync, &text);
        let tripwire = Tripwire {
            dir: dir.to_path_buf(),
            bin,
            rsync,
            script,
        };
        tripwire.reset();
        tripwire
    }

    /// Forgets the counts, events and firing of the previous run.
    pub fn reset(&self) {
        for name in ["lsnim.count", "ssh.count", "rsync.count", "events", "fired"] {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
    }

    /// Sets up `cmd` (a syncaixres of the lab) to go through the wrappers, unarmed. `rsh` is
    /// the lab's `RSYNC_RSH`.
    pub fn wire(&self, cmd: &mut Command, rsh: &str) {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            format!("{}:{}:{path}", self.bin.display(), fixtures_bin().display()),
        )
        .env("TRIPWIRE_DIR", &self.dir)
        .env("RSYNC_RSH", format!("{} ssh {rsh}", self.script.display()))
        .arg("--rsync")
        .arg(&self.rsync);
    }

    /// Arms a [`Tripwire::wire`]d command for `point` (edit points are armed by
    /// [`EditWatch`] instead).
    pub fn arm(&self, cmd: &mut Command, point: &KillPoint) {
        if point.event != Event::Edit {
            cmd.env("TRIPWIRE_KIND", point.event.name())
                .env("TRIPWIRE_AT", point.at.to_string())
                .env("TRIPWIRE_DELAY_MS", point.delay_ms.to_string())
                .env(
                    "TRIPWIRE_SCOPE",
                    if point.group { "group" } else { "process" },
                );
        }
    }

    /// What the wrapper that fired wrote (`KIND N pid P ...`), if one did.
    pub fn fired(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("fired")).ok()
    }

    /// Every start the wrappers saw, one line each.
    pub fn events(&self) -> String {
        std::fs::read_to_string(self.dir.join("events")).unwrap_or_default()
    }

    /// How many starts of `event` the wrappers saw.
    pub fn count(&self, event: Event) -> u32 {
        std::fs::read_to_string(self.dir.join(format!("{}.count", event.name())))
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a wrapper");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make a wrapper executable");
}

/// Kills a run at its `at`th file event in the watched directories (inotify: IN_CREATE and
/// IN_MOVED_TO, so the temporary file of an edit and its rename each count once).
pub struct EditWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(u32, bool)>>,
}

impl EditWatch {
    /// Starts watching `dirs`; fires on the `at`th event (never when `at` is 0, which counts
    /// only). The pid is set with [`EditWatch::target`] once the run has started.
    pub fn start(dirs: &[PathBuf], point: Option<KillPoint>) -> (EditWatch, Target) {
        // SAFETY: inotify_init1 takes flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        for dir in dirs {
            let mut c = dir.as_os_str().as_bytes().to_vec();
            c.push(0);
            // SAFETY: `c` is a NUL-terminated path that outlives the call.
            let wd = unsafe {
                libc::inotify_add_watch(fd, c.as_ptr().cast(), libc::IN_CREATE | libc::IN_MOVED_TO)
            };
            assert!(
                wd >= 0,
                "inotify_add_watch {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let target = Target(Arc::new(std::sync::atomic::AtomicU32::new(0)));
        let (stop2, target2) = (stop.clone(), target.clone());
        let point = point.filter(|p| p.event == Event::Edit);
        let thread = std::thread::spawn(move || watch(fd, point, &stop2, &target2));
        (
            EditWatch {
                stop,
                thread: Some(thread),
            },
            target,
        )
    }

    /// Stops watching; returns the events counted and whether it fired.
    pub fn finish(mut self) -> (u32, bool) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .expect("finished once")
            .join()
            .expect("the watch thread")
    }
}

impl Drop for EditWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The pid (and process group) an [`EditWatch`] kills.
#[derive(Clone)]
pub struct Target(Arc<std::sync::atomic::AtomicU32>);

impl Target {
    pub fn set(&self, pid: u32) {
        self.0.store(pid, Ordering::SeqCst);
    }
}

fn watch(fd: i32, point: Option<KillPoint>, stop: &AtomicBool, target: &Target) -> (u32, bool) {
    let mut seen = 0u32;
    let mut fired = false;
    let mut buf = vec![0u8; 64 * 1024];
    let header = std::mem::size_of::<libc::inotify_event>();
    while !stop.load(Ordering::SeqCst) {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 5) };
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        let mut off = 0usize;
        while off + header <= n as usize {
            // SAFETY: the kernel wrote a whole event at `off`; read it unaligned.
            let event: libc::inotify_event =
                unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
            off += header + event.len as usize;
            seen += 1;
            if let Some(p) = point {
                if !fired && seen == p.at {
                    fired = true;
                    let pid = target.0.load(Ordering::SeqCst);
                    if p.delay_ms > 0 {
                        std::thread::sleep(Duration::from_millis(p.delay_ms.into()));
                    }
                    if pid > 0 {
                        let victim = if p.group { -(pid as i32) } else { pid as i32 };
                        // SAFETY: kill(2) has no memory-safety preconditions.
                        unsafe { libc::kill(victim, libc::SIGKILL) };
                    }
                }
            }
        }
    }
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    (seen, fired)
}

/// Waits until no process is left in process group `group` (a killed run's orphans finishing).
#[track_caller]
pub fn wait_for_group(group: u32, limit: Duration) {
    let gone = poll_until(limit, || {
        // SAFETY: kill(2) with signal 0 only checks for existence.
        let alive = unsafe { libc::kill(-(group as i32), 0) == 0 };
        !alive
    });
    if !gone {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(-(group as i32), libc::SIGKILL) };
        panic!("process group {group} still had processes after {limit:?}");
    }
}
