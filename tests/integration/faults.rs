//! The lab fault suite: a server's link cut or its packets dropped in the middle of a large
//! SPOT transfer, its file system full, its sshd stopped or refusing the key, a client
//! directory removed by NIM during a sync, a shared connection's master that stops answering
//! its control socket. Each case checks the line that tells the admin
//! (server and cause, no command), the exit status, that the server's previous good copy is
//! whole (no temporary file under a final name, nothing of another SN's deleted), that the
//! SN's files are whole, and that the next run converges (exit 0, verify clean).
//!
//! Bounds: the lab's ssh configuration gives up on a silent server within
//! [`LAB_HUNG_SERVER_SECONDS`] (13 s; the built-in options' bound is
//! `remote::HUNG_SERVER_SECONDS`, 105 s). A run hit by a hung server must end within that
//! bound plus [`SLACK`] for the rest of its work on a loaded machine; a run that tried the
//! dead server again is caught apart from the time, by counting its ssh calls
//! ([`CountingSsh`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{
    assert_unreachable_at_start, copy_tree, digest, one_line, poll_until, CommandExt, CountingSsh,
    Finished, Lab, Running, Tree, LAB_HUNG_SERVER_SECONDS,
};
use crate::syncaixres::{
    executable, random_bytes, sn_nodes, Cluster, GANESHA_CONF, ROOT, SPOT, SR,
};

/// The large SPOT file: 12 MiB sent at 1 MiB/s, so the fault lands mid-transfer.
const BIG: usize = 12 << 20;
const BIG_FILE: &str = "lib/big.a";
/// rsync's scratch directory on the server (`sync::step::temp_dir`).
const TEMP: &str = "install/.xcat-extnfs.tmp";
/// What a run may take beyond the lab's hung-server bound: its other work (verification,
/// report, closing the connection) on a loaded machine (measured runs ended 9-10 s after the
/// fault). Another connection attempt is caught apart from this (the ssh calls are counted).
const SLACK: Duration = Duration::from_secs(10);

/// The server's synced trees (`install/nim`) and the content of the large file, read at
/// `root` (the server's tree, or its [`crate::support::Server::live_path`]).
#[derive(Debug, PartialEq, Eq)]
struct ServerCopy {
    tree: BTreeMap<String, String>,
    big: Option<Vec<u8>>,
}

impl ServerCopy {
    fn at(install: &Path) -> ServerCopy {
        ServerCopy {
            tree: digest(&install.join("nim")),
            big: std::fs::read(install.join("nim/spot/71Bcosi/usr").join(BIG_FILE)).ok(),
        }
    }
}

/// The SN's files a run may edit (the nodes' `.info`, mount tables and hosts files).
fn sn_files(c: &Cluster<'_>, sn: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let sn = c.sn(sn);
    (digest(&sn.path("install")), digest(&sn.path("tftpboot")))
}

/// A `--rsync` that sends at 1 MiB/s.
fn throttled(c: &Cluster<'_>) -> PathBuf {
    executable(
        c.sn("sn1"),
        "slow-rsync",
        "#!/bin/sh\nexec rsync --bwlimit=1024 \"$@\"\n",
    )
}

/// Starts `cmd` (a sync of sn1) throttled and returns once the large file is arriving on the
/// server (its temporary file holds at least 1 MiB): the fault then lands mid-transfer.
fn start_mid_transfer(c: &Cluster<'_>, mut cmd: Command, extra: &[&str]) -> Running {
    cmd.arg("--rsync").arg(throttled(c)).args(extra);
    let running = cmd.spawn_bounded();
    let temp = c.nfs.path(TEMP);
    let arriving = poll_until(Duration::from_secs(30), || {
        std::fs::read_dir(&temp).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.metadata().is_ok_and(|m| m.len() >= 1 << 20))
        })
    });
    assert!(arriving, "the large file never started arriving in {TEMP}");
    running
}

/// The next runs converge: a sync succeeds, and a verifying run finds no difference.
#[track_caller]
fn converges(c: &Cluster<'_>, sn: &str) {
    c.sync(sn).assert_success();
    let verify = c
        .syncaixres(sn, sn_nodes(sn), "diskless")
        .arg("--verify")
        .run_bounded();
    verify.assert_success();
    assert!(!verify.stdout.contains("VERIFY FAILED"), "{verify}");
    assert!(
        verify.stdout.contains("verified, no differences"),
        "{verify}"
    );
}

/// The first sync of sn1 with the large file in its SPOT, then a new version of the file:
/// returns the server's good copy.
fn synced_with_a_large_spot(c: &Cluster<'_>) -> ServerCopy {
    let sn = c.sn("sn1");
    sn.write(format!("{SPOT}/{BIG_FILE}"), random_bytes(BIG, 1));
    c.sync("sn1").assert_success();
    let good = ServerCopy::at(&c.nfs.path("install"));
    assert_eq!(good.big.as_ref().map(Vec::len), Some(BIG));
    sn.write(format!("{SPOT}/{BIG_FILE}"), random_bytes(BIG, 2));
    good
}

/// What a hung or cut server must leave, whatever cut it: the SPOT step failed in one line
/// naming the server and ssh's cause, no new connection was tried (later steps, verification
/// and exports not run), the good copy and the SN's files whole.
#[track_caller]
fn assert_lost_mid_transfer(
    c: &Cluster<'_>,
    out: &Finished,
    good: &ServerCopy,
    sn_before: &(BTreeMap<String, String>, BTreeMap<String, String>),
) {
    assert_eq!(out.code(), Some(1), "{out}");
    // The server's line, once, with ssh's words; the step's says the same.
    let line = one_line(out, "nfs1: FAILED: connection lost: ");
    assert!(line.contains("not responding"), "{line}\n{out}");
    assert_eq!(
        out.stdout
            .matches("nfs1: FAILED: connection lost: ")
            .count(),
        1,
        "{out}"
    );
    one_line(out, "nfs1: spot 71Bcosi: FAILED: connection lost: ");
    assert!(
        out.stdout.contains(
            "exports: nfs1: exports not run: the server was found unreachable earlier in this run"
        ),
        "{out}"
    );
    assert_eq!(&ServerCopy::at(&c.nfs.path("install")), good);
    assert_eq!(&sn_files(c, "sn1"), sn_before);
}

#[test]
fn link_down_during_a_large_spot_transfer() {
    let lab = Lab::new("fault-link");
    let c = Cluster::new(&lab);
    let good = synced_with_a_large_spot(&c);
    let sn_before = sn_files(&c, "sn1");

    let ssh = CountingSsh::new(&lab);
    let mut cmd = c.syncaixres("sn1", sn_nodes("sn1"), "diskless");
    cmd.env("RSYNC_RSH", ssh.rsync_rsh());
    let mut run = start_mid_transfer(&c, cmd, &[]);
    let cut = Instant::now();
    let before = ssh.connections().len();
    c.nfs.cut_network();
    let out = run.finish();
    let took = cut.elapsed();
    c.nfs.restore_network();
    eprintln!("link down mid-transfer: the run ended {took:?} after the cut");
    assert!(
        took < Duration::from_secs(LAB_HUNG_SERVER_SECONDS) + SLACK,
        "{took:?}: {out}"
    );
    assert_lost_mid_transfer(&c, &out, &good, &sn_before);
    assert_eq!(
        ssh.connections().len(),
        before,
        "no connection was tried after the cut: {:?}\n{out}",
        ssh.calls()
    );

    converges(&c, "sn1");
    assert_eq!(
        ServerCopy::at(&c.nfs.path("install")).big,
        Some(random_bytes(BIG, 2))
    );
}

#[test]
fn silent_packet_loss_mid_transfer_ends_within_the_bound_and_tries_the_server_no_more() {
    let lab = Lab::new("fault-hole");
    let c = Cluster::new(&lab);
    let good = synced_with_a_large_spot(&c);
    let sn_before = sn_files(&c, "sn1");
    let ssh = CountingSsh::new(&lab);

    // One job: the SPOT goes first, the other steps wait for it and find the server dead.
    let mut cmd = c.syncaixres("sn1", sn_nodes("sn1"), "diskless");
    cmd.env("RSYNC_RSH", ssh.rsync_rsh());
    let mut run = start_mid_transfer(&c, cmd, &["--jobs", "1"]);
    let lost = Instant::now();
    let before = ssh.connections().len();
    c.nfs.black_hole();
    let out = run.finish();
    let took = lost.elapsed();
    c.nfs.end_black_hole();
    eprintln!("black hole mid-transfer: the run ended {took:?} after the loss began");
    assert!(
        took < Duration::from_secs(LAB_HUNG_SERVER_SECONDS) + SLACK,
        "{took:?}: {out}"
    );
    assert_lost_mid_transfer(&c, &out, &good, &sn_before);
    let not_run = out
        .stdout
        .matches("FAILED: not run: the server was found unreachable earlier in this run")
        .count();
    assert_eq!(not_run, 5, "the other steps are reported not run: {out}");
    assert_eq!(
        ssh.connections().len(),
        before,
        "no connection was tried after the loss: {:?}\n{out}",
        ssh.calls()
    );

    converges(&c, "sn1");
}

#[test]
fn sshd_stopped_fails_in_one_line_after_one_connection_attempt() {
    let lab = Lab::new("fault-sshd");
    let mut c = Cluster::new(&lab);
    c.sync("sn1").assert_success();
    let good = ServerCopy::at(&c.nfs.path("install"));
    let sn_before = sn_files(&c, "sn1");
    let ssh = CountingSsh::new(&lab);

    c.nfs.stop_sshd();
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .env("RSYNC_RSH", ssh.rsync_rsh())
        .run_bounded();
    c.nfs.start_sshd_again();
    let addr = c.nfs.addr();
    assert_unreachable_at_start(
        &out,
        &ssh,
        &format!("ssh: connect to host {addr} port 22: Connection refused"),
    );
    assert_eq!(ServerCopy::at(&c.nfs.path("install")), good);
    assert_eq!(sn_files(&c, "sn1"), sn_before);
    converges(&c, "sn1");
}

#[test]
fn a_refused_key_fails_in_one_line_after_one_connection_attempt() {
    let lab = Lab::new("fault-key");
    let c = Cluster::new(&lab);
    c.sync("sn1").assert_success();
    let good = ServerCopy::at(&c.nfs.path("install"));
    let sn_before = sn_files(&c, "sn1");
    let ssh = CountingSsh::new(&lab);

    lab.refuse_key();
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .env("RSYNC_RSH", ssh.rsync_rsh())
        .run_bounded();
    lab.accept_key_again();
    assert_unreachable_at_start(&out, &ssh, "Permission denied (publickey");
    assert_eq!(ServerCopy::at(&c.nfs.path("install")), good);
    assert_eq!(sn_files(&c, "sn1"), sn_before);
    converges(&c, "sn1");
}

/// A shared connection's master that keeps its connection but stops serving its socket, so
/// that `ssh -O check` or `ssh -O exit` never answers: the run waits for it 10 s
/// (`sshmux::Limits`), not for ever. An unanswered check leaves the server on separate
/// connections; an unanswered exit gets the master terminated by its pid. Both runs succeed.
#[test]
fn a_master_that_stops_answering_its_socket_costs_a_bounded_wait() {
    const CONTROL: Duration = Duration::from_secs(10);
    // The rest of such a run on a loaded machine: 1-2 s alone, up to 11.5 s (one connection
    // per command) beside two other runs of the fault module, 4 threads each.
    const REST: Duration = Duration::from_secs(30);
    let lab = Lab::new("fault-mux");
    let c = Cluster::new(&lab);
    c.sync("sn1").assert_success();

    // A sync whose `ssh -O <control>` never answers: it succeeds, having waited the limit.
    let stalled = |control: &str| {
        let ssh = CountingSsh::stalling(&lab, Some(control));
        let started = Instant::now();
        let out = c
            .syncaixres("sn1", sn_nodes("sn1"), "diskless")
            .env("RSYNC_RSH", ssh.rsync_rsh())
            .run_bounded();
        let took = started.elapsed();
        eprintln!("an unanswered ssh -O {control}: the run took {took:?}");
        out.assert_success();
        assert!(took >= CONTROL && took < CONTROL + REST, "{took:?}: {out}");
        out
    };

    let out = stalled("exit");
    let line = one_line(
        &out,
        "warning: nfs1: the shared ssh connection did not answer ssh -O exit within 10 s; \
         its master (pid ",
    );
    assert!(line.ends_with(") was sent SIGTERM"), "{line}");
    let pid = line
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    // Ended: gone, or a zombie nobody here reaps.
    let ended = poll_until(Duration::from_secs(5), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        matches!(
            stat.rsplit_once(") ").map(|(_, r)| &r[..1]),
            None | Some("Z")
        )
    });
    assert!(ended, "the master {pid} still runs");

    let out = stalled("check");
    assert!(
        out.stdout.contains(
            "nfs1: one ssh connection per command: ssh -O check failed (no answer within 10 s)"
        ),
        "{out}"
    );
    converges(&c, "sn1");
}

#[test]
fn syncstatelite_tries_an_unreachable_server_once_and_publishes_nothing() {
    use crate::syncstatelite::{sn_nodes as lite_nodes, Cluster as Lite};
    let lab = Lab::new("fault-lite");
    let c = Lite::new(&lab, &[]);
    c.sync("sn1").assert_success();
    let good = digest(&c.nfs.path("install"));
    let exports = std::fs::read(c.nfs.path(GANESHA_CONF)).unwrap();
    let ssh = CountingSsh::new(&lab);

    lab.refuse_key();
    let out = c
        .syncstatelite("sn1", lite_nodes("sn1"))
        .env("RSYNC_RSH", ssh.rsync_rsh())
        .run_bounded();
    lab.accept_key_again();
    assert_eq!(out.code(), Some(1), "{out}");
    let connections = ssh.connections();
    assert_eq!(
        connections.len(),
        1,
        "one connection attempt: {connections:?}\n{out}"
    );
    assert!(
        out.stdout
            .contains("nfs1: no ssh connection: the server could not be reached"),
        "{out}"
    );
    let failed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("FAILED"))
        .collect();
    assert!(!failed.is_empty(), "{out}");
    for line in &failed {
        assert!(
            line.contains("not run: the server was found unreachable earlier in this run (")
                && line.contains("Permission denied (publickey"),
            "{line}\n{out}"
        );
    }
    assert!(
        out.stdout.contains(
            "exports: nfs1: exports not run: the server was found unreachable earlier in this run"
        ),
        "{out}"
    );
    assert_eq!(digest(&c.nfs.path("install")), good);
    assert_eq!(std::fs::read(c.nfs.path(GANESHA_CONF)).unwrap(), exports);
    c.sync("sn1").assert_success();
}

#[test]
fn the_servers_file_system_full_during_a_copy() {
    let lab = Lab::new("fault-full");
    let c = Cluster::new(&lab);
    let sn = c.sn("sn1");
    let big = format!("{ROOT}/cn001/var/adm/big");
    sn.write(&big, random_bytes(6 << 20, 1));
    c.sync("sn1").assert_success();
    // Another SN's files on the server, which nothing of sn1's run may touch.
    c.sync("sn2").assert_success();

    // 2 MiB left: the new 6 MiB version cannot be written beside the old one.
    c.nfs.limit_space(2 << 20);
    let live = c.nfs.live_path("install");
    let good = ServerCopy::at(&live);
    assert!(c.nfs.free_bytes() < 3 << 20);
    sn.write(&big, random_bytes(6 << 20, 2));
    let sn_before = sn_files(&c, "sn1");
    let out = c.sync("sn1");
    assert_eq!(out.code(), Some(1), "{out}");
    let line = one_line(&out, "nfs1: root 71Bcosi_root: FAILED: ");
    assert!(line.contains("No space left on device"), "{line}");
    assert_eq!(ServerCopy::at(&live), good, "the good copy is whole");
    assert_eq!(
        std::fs::read(live.join(&big["install/".len()..])).unwrap(),
        random_bytes(6 << 20, 1)
    );
    assert_eq!(sn_files(&c, "sn1"), sn_before);

    c.nfs.free_space();
    converges(&c, "sn1");
    assert_eq!(
        std::fs::read(live.join(&big["install/".len()..])).unwrap(),
        random_bytes(6 << 20, 2)
    );
    // sn2's nodes are all still there.
    let sn2 = c.sync("sn2");
    sn2.assert_success();
    assert!(sn2.stdout.contains(", 0 file(s) updated, "), "{sn2}");
}

#[test]
fn a_client_directory_removed_by_nim_during_a_sync() {
    let lab = Lab::new("fault-nim");
    let c = Cluster::new(&lab);
    c.sync("sn1").assert_success();
    c.sync("sn2").assert_success();
    let good = ServerCopy::at(&c.nfs.path("install"));
    let sn = c.sn("sn1");
    // cn002's own root directory, and the client files of cn003 (a shared_root client).
    let cn002 = format!("{ROOT}/cn002");
    let client_data = format!("{SR}/etc/.client_data");
    let saved = lab.dir().join("nim-saved");
    std::fs::create_dir(&saved).unwrap();
    copy_tree(&sn.path(&cn002), &saved.join("cn002"));
    copy_tree(&sn.path(&client_data), &saved.join("client_data"));
    sn.write(format!("{ROOT}/cn001/etc/motd"), "new\n");
    let tftpboot = digest(&sn.path("tftpboot"));

    // NIM removes them once the run has planned, just as the copy of their resource starts.
    let nim = executable(
        sn,
        "nim-rsync",
        &format!(
            "#!/bin/sh\ncopy=1\nfor a; do [ \"$a\" = -n ] && copy=; done\n\
             case \"$copy $*\" in\n\
             1*/{ROOT}/*) rm -rf /{cn002} ;;\n\
             1*/{SR}/*) rm -f /{client_data}/*.cn003 ;;\n\
             esac\nexec rsync \"$@\"\n"
        ),
    );
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .arg("--rsync")
        .arg(&nim)
        .run_bounded();
    assert!(!sn.exists(&cn002), "the wrapper removed it");
    assert!(!sn.exists(format!("{client_data}/hosts.cn003")));
    assert_eq!(out.code(), Some(1), "{out}");
    let line = one_line(&out, "nfs1: root 71Bcosi_root: FAILED: ");
    assert!(
        line.contains(&format!(
            "/{cn002} vanished on this SN during the copy; the server's copy was kept"
        )),
        "{line}"
    );
    let line = one_line(&out, "nfs1: client_data 71Bsr_shared_root: FAILED: ");
    assert!(
        line.contains(&format!("/{client_data}/hosts.cn003 vanished on this SN")),
        "{line}"
    );
    // cn002's and cn003's copies (and sn2's nodes) whole on the server; cn001's new file
    // arrived.
    let mut now = ServerCopy::at(&c.nfs.path("install"));
    assert!(now
        .tree
        .remove("root/71Bcosi_root/cn001/etc/motd")
        .is_some());
    assert_eq!(now, good, "{out}");
    assert_eq!(digest(&sn.path("tftpboot")), tftpboot);

    // NIM puts them back (mkdsklsnode again): the next run converges.
    copy_tree(&saved.join("cn002"), &sn.path(&cn002));
    copy_tree(&saved.join("client_data"), &sn.path(&client_data));
    converges(&c, "sn1");
}
