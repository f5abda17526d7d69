//! The lab's network: one /24 of 10.250.0.0/17 per lab, reserved with a lock so that concurrent
//! labs (threads of one test process, or several processes) never share addresses or names.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::exec::{poll_until, send_signal, CommandExt, Finished};

/// Where the per-slot lock files live (created on first use; never deleted, see [`Slot`]).
const LOCK_DIR: &str = "/run/xcat-extnfs-lab";
/// Labs take 10.250.0.0/24 to 10.250.127.0/24; 10.250.128.0/17 is left to NFS clients.
const SLOTS: usize = 128;
const IP_LIMIT: Duration = Duration::from_secs(10);

/// Labs created by this process so far: spreads concurrent labs over different slots.
static LABS_STARTED: AtomicUsize = AtomicUsize::new(0);

/// One lab's share of the network: the subnet 10.250.N.0/24 and every network namespace and
/// interface whose name starts with `xlabNNN`.
///
/// The slot is held by an exclusive `flock` on `LOCK_DIR/NNN.lock`, which the kernel releases
/// when the holder exits in any way; the file names the lab's directory while it is held.
/// Names and a directory of a slot whose lock is free are therefore leftovers of a killed test,
/// and the next lab removes them. Lock files are never deleted: deleting one while another
/// process waits on it would let two labs hold the same slot.
#[derive(Debug)]
pub struct Slot {
    number: u8,
    lock: File,
}

impl Slot {
    /// Reserves a free slot whose subnet nothing on this machine uses, trying slots in turn
    /// from one chosen by the process id and a counter, for the lab in directory `dir`.
    pub fn reserve(dir: &Path) -> Slot {
        std::fs::create_dir_all(LOCK_DIR)
            .unwrap_or_else(|e| panic!("cannot create {LOCK_DIR}: {e}"));
        remove_leftovers();
        let in_use = addresses_in_use();
        let start = std::process::id() as usize * 7 + LABS_STARTED.fetch_add(1, Ordering::SeqCst);
        let mut slot = (0..SLOTS)
            .map(|i| u8::try_from((start + i) % SLOTS).expect("slot below 256"))
            .filter_map(|number| {
                let lock = try_lock(number)?;
                Some(Slot { number, lock })
            })
            .find(|slot| !in_use.iter().any(|net| net.overlaps(&slot.subnet())))
            .unwrap_or_else(|| {
                panic!("no free lab subnet in 10.250.0.0/17: all {SLOTS} are locked or in use")
            });
        slot.lock
            .set_len(0)
            .and_then(|()| slot.lock.write_all(dir.as_os_str().as_bytes()))
            .expect("record the lab directory");
        slot
    }

    /// The prefix of every namespace and interface name of this lab, e.g. `xlab007`.
    pub fn prefix(&self) -> String {
        prefix(self.number)
    }

    pub fn subnet(&self) -> Net {
        Net {
            addr: Ipv4Addr::new(10, 250, self.number, 0),
            len: 24,
        }
    }

    /// Host `n` of the lab's subnet: 1 is the root namespace's bridge, servers follow.
    pub fn host(&self, n: usize) -> Ipv4Addr {
        let n = u8::try_from(n)
            .ok()
            .filter(|n| (1..255).contains(n))
            .expect("at most 253 servers in one lab");
        Ipv4Addr::new(10, 250, self.number, n)
    }
}

fn prefix(number: u8) -> String {
    format!("xlab{number:03}")
}

/// The slot a lab name belongs to: 7 for `xlab007-nfs1` or `xlab007br`.
fn slot_of(name: &str) -> Option<u8> {
    let digits = name.strip_prefix("xlab")?.get(..3)?;
    let number = digits.parse().ok()?;
    has_prefix(name, &prefix(number)).then_some(number)
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The lab has removed its directory; say so before the lock goes.
        let _ = self.lock.set_len(0);
    }
}

/// Removes the namespaces, interfaces and directories of slots that no live lab holds.
fn remove_leftovers() {
    let mut names = netns_names();
    names.extend(link_names());
    let named: Vec<u8> = names.iter().filter_map(|name| slot_of(name)).collect();
    for number in (0..SLOTS).filter_map(|n| u8::try_from(n).ok()) {
        let path = lock_path(number);
        let has_dir = std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 0);
        if !has_dir && !named.contains(&number) {
            continue;
        }
        let Some(lock) = try_lock(number) else {
            continue;
        };
        remove_with_prefix(&prefix(number));
        if let Ok(dir) = std::fs::read_to_string(&path) {
            remove_lab_dir(Path::new(&dir));
        }
        let _ = lock.set_len(0);
    }
}

/// Removes a dead lab's directory, if `dir` is one (a `xcat-lab-*` temporary directory).
fn remove_lab_dir(dir: &Path) {
    let is_lab_dir = dir.parent() == Some(std::env::temp_dir().as_path())
        && dir
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("xcat-lab-"));
    if is_lab_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn lock_path(number: u8) -> String {
    format!("{LOCK_DIR}/{number:03}.lock")
}

fn try_lock(number: u8) -> Option<File> {
    let path = lock_path(number);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    // SAFETY: flock(2) on a descriptor we own; no memory is involved.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    locked.then_some(file)
}

/// An IPv4 network, `addr/len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Net {
    /// Parses `a.b.c.d/len` or a bare address (a /32).
    pub fn parse(text: &str) -> Option<Net> {
        let (addr, len) = text.split_once('/').unwrap_or((text, "32"));
        let net = Net {
            addr: addr.parse().ok()?,
            len: len.parse().ok().filter(|len| *len <= 32)?,
        };
        Some(net)
    }

    fn mask(len: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = Net::mask(self.len);
        u32::from(addr) & mask == u32::from(self.addr) & mask
    }

    pub fn overlaps(&self, other: &Net) -> bool {
        let mask = Net::mask(self.len.min(other.len));
        u32::from(self.addr) & mask == u32::from(other.addr) & mask
    }
}

/// Addresses and routes of the root namespace (the default route aside), to avoid subnets that
/// something else on this machine uses.
fn addresses_in_use() -> Vec<Net> {
    let addrs = ip(&["-4", "-o", "addr", "show"]);
    let routes = ip(&["-4", "route", "show"]);
    let from_addrs = addrs.stdout.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "inet")?;
        Net::parse(words.next()?)
    });
    let from_routes = routes
        .stdout
        .lines()
        .filter_map(|line| Net::parse(line.split_whitespace().next()?));
    from_addrs
        .chain(from_routes)
        .filter(|net| net.len > 0)
        .collect()
}

/// Runs `ip ARGS` and panics with its stderr if it fails.
#[track_caller]
pub fn ip(args: &[&str]) -> Finished {
    let finished = Command::new("ip").args(args).run_within(IP_LIMIT);
    finished.assert_success();
    finished
}

/// Runs `ip ARGS` where a failure is an answer (the thing is gone already), not an error.
fn ip_quietly(args: &[&str]) -> Finished {
    Command::new("ip").args(args).run_within(IP_LIMIT)
}

/// Names of the network namespaces on this machine.
pub fn netns_names() -> Vec<String> {
    let list = ip_quietly(&["netns", "list"]);
    list.stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Names of the interfaces in the root network namespace.
pub fn link_names() -> Vec<String> {
    let list = ip_quietly(&["-o", "link", "show"]);
    list.stdout
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect()
}

/// Ids of the processes whose network namespace is `netns`.
pub fn netns_pids(netns: &str) -> Vec<u32> {
    let list = ip_quietly(&["netns", "pids", netns]);
    list.stdout
        .lines()
        .filter_map(|pid| pid.trim().parse().ok())
        .collect()
}

/// Kills every process inside `netns`, waits for them to go, and deletes the namespace.
pub fn delete_netns(netns: &str) {
    let pids = netns_pids(netns);
    for pid in &pids {
        send_signal(*pid, libc::SIGKILL);
    }
    let gone = poll_until(Duration::from_secs(5), || {
        pids.iter().all(|pid| !process_alive(*pid))
    });
    if !gone {
        eprintln!("warning: processes of network namespace {netns} survived SIGKILL");
    }
    ip_quietly(&["netns", "delete", netns]);
}

/// Deletes an interface of the root namespace if it exists (with a veth, its peer goes too).
pub fn delete_link(name: &str) {
    if link_names().iter().any(|link| link == name) {
        ip_quietly(&["link", "delete", name]);
    }
}

/// Removes every network namespace (with its processes) and interface named `prefix...`.
pub fn remove_with_prefix(prefix: &str) {
    let ours = |name: &String| has_prefix(name, prefix);
    for netns in netns_names().iter().filter(|n| ours(n)) {
        delete_netns(netns);
    }
    for link in link_names().iter().filter(|n| ours(n)) {
        delete_link(link);
    }
}

/// True if `name` belongs to the lab with this prefix (`xlab007-nfs1`, `xlab007br`, but not
/// `xlab0071`).
pub fn has_prefix(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// True while a process with this id exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "123 (sshd) S ...".
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// True once something accepts TCP connections on `addr:port`.
pub fn accepts(addr: Ipv4Addr, port: u16) -> bool {
    let target = SocketAddr::from((addr, port));
    TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_ok()
}
