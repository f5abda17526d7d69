//! Benchmark scenario `rootimg`: syncstatelite's initial sync of a Linux statelite NFS-root
//! image of about 60,000 files against `tar | ssh` of the same tree, and its no-op resync.
//!
//! Run with `cargo bench --bench sync -- rootimg` (root). `ROOTIMG_BENCH_FILES` (default
//! 60000) and `SYNC_BENCH_RUNS` (default 3) make smaller trials.
//!
//! `cargo bench --bench sync -- rootimg split` asks instead whether one tree copies faster as
//! several parallel rsyncs (fpsync's way): one rsync of the same image against 2 and 4 rsyncs
//! splitting it by second-level directory, each an initial sync then a no-op resync.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cluster::{self, SERVER};
use crate::measure::{self, bytes, Meter, Sample};
use crate::support::{assert_same, CommandExt, Host, Lab, Server, Sn, Tree};

/// The command-line word that selects this scenario.
pub const FILTER: &str = "rootimg";
const SN: &str = "sn1";
const IMAGE: &str = "rhels8.6-x86_64-statelite-compute";
/// The image's `linuximage.rootimgdir`, the same path on the SN and on the server.
const IMAGE_DIR: &str = "install/netboot/rhels8.6/x86_64/compute";
/// The statelite nodes of the SN.
const NODES: [&str; 4] = ["ln001", "ln002", "ln003", "ln004"];
const LIMIT: Duration = Duration::from_secs(3600);

/// Whether the benchmark's arguments ask for this scenario only.
pub fn selected() -> bool {
    std::env::args().skip(1).any(|a| a == FILTER)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Initial,
    Tar,
    Resync,
    /// A no-op resync without the record of the last verified copy: compared in full.
    Compare,
    /// tar as exact as syncstatelite's copy: numeric owners, ACLs, extended attributes.
    TarExact,
}

impl Method {
    /// The order each round runs them in: the resyncs follow the initial sync, whose copy
    /// (and statemnt directory) they find on the server, and syncstatelite's copy is the one
    /// compared with the SN's tree at the end.
    const ALL: [Method; 5] = [
        Method::Tar,
        Method::TarExact,
        Method::Initial,
        Method::Resync,
        Method::Compare,
    ];

    fn name(self) -> &'static str {
        match self {
            Method::Initial => "syncstatelite, initial sync",
            Method::Tar => "tar over ssh",
            Method::TarExact => "tar over ssh, exact (--numeric-owner --acls --xattrs)",
            Method::Resync => "syncstatelite, no-op resync",
            Method::Compare => "syncstatelite, no-op resync compared in full",
        }
    }
}

struct Scenario<'l> {
    server: &'l Server<'l>,
    sn: Sn<'l>,
    rsh: String,
    db: PathBuf,
    config: PathBuf,
    meter: Meter,
}

/// What the generated image holds.
#[derive(Default)]
struct ImageStats {
    files: usize,
    hard_links: usize,
    symlinks: usize,
    sparse: usize,
    data: u64,
}

/// Whether the benchmark's arguments ask for the split comparison.
fn split_selected() -> bool {
    std::env::args().skip(1).any(|a| a == "split")
}

pub fn main() {
    let files: usize = std::env::var("ROOTIMG_BENCH_FILES").map_or(60_000, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("ROOTIMG_BENCH_FILES={v} is not a number"))
    });
    let runs: usize = std::env::var("SYNC_BENCH_RUNS").map_or(3, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("SYNC_BENCH_RUNS={v} is not a number"))
    });
    let lab = Lab::new("bench-rootimg");
    let server = lab.server(SERVER);
    crate::plain_remote_shell(&server);
    let started = Instant::now();
    let scenario = Scenario::set_up(&lab, &server);
    let stats = write_rootimg(&scenario.sn, files);
    // A tree changed in the last 2 s is never recorded as copied (see syncstatelite(1)): the
    // no-op resync would compare in full after a small tree made just now.
    std::thread::sleep(Duration::from_secs(3));
    eprintln!(
        "generated a rootimg of {} files ({}) in {:.1} s",
        stats.files,
        bytes(stats.data),
        started.elapsed().as_secs_f64()
    );
    if split_selected() {
        return split(&scenario, &stats, runs, started);
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); Method::ALL.len()];
    let mut loads = Vec::new();
    for round in 0..runs.max(1) {
        loads.push(load_average());
        for (i, method) in Method::ALL.into_iter().enumerate() {
            match method {
                Method::Tar | Method::TarExact | Method::Initial => scenario.wipe_server(),
                Method::Resync => {}
                Method::Compare => scenario.forget_copies(),
            }
            // Each method starts with nothing of the previous one left to write back: the
            // disk's write-back, not the method, set tar's pace before (10 to 56 s).
            flush();
            let s = scenario.sync(method);
            eprintln!(
                "   {}: round {}: {:.2} s, {} ssh, load {}",
                method.name(),
                round + 1,
                s.seconds,
                s.ssh,
                load_average()
            );
            samples[i].push(s);
        }
    }
    loads.push(load_average());
    assert_same(
        &scenario.sn.path(format!("{IMAGE_DIR}/rootimg")),
        &server.path(format!("{IMAGE_DIR}/rootimg")),
    );
    print(&stats, &samples, &loads);
    eprintln!("total {:.0} s", started.elapsed().as_secs_f64());
}

impl<'l> Scenario<'l> {
    fn set_up(lab: &'l Lab, server: &'l Server<'l>) -> Scenario<'l> {
        let dir = lab.dir().join("bench");
        fs::create_dir_all(&dir).expect("create the bench directory");
        lab.hosts(&[(SERVER, server.addr()), (SN, lab.sn_addr())]);
        let db = dir.join("db");
        write_tables(&db);
        let meter = Meter::new(dir.join("ssh.log"), server.netns());
        let wrapper = dir.join("ssh");
        meter.write_ssh_wrapper(&wrapper);
        let config =
            cluster::write_config(&dir.join("extnfs.toml"), &dir, server.addr(), "allocate");
        Scenario {
            rsh: format!("{} -F {}", wrapper.display(), lab.ssh_config().display()),
            sn: lab.sn(SN),
            server,
            db,
            config,
            meter,
        }
    }

    /// One timed run of `method` in the SN.
    fn sync(&self, method: Method) -> Sample {
        let mut cmd = match method {
            Method::Tar | Method::TarExact => {
                let exact = match method {
                    Method::TarExact => "--numeric-owner --acls --xattrs '--xattrs-include=*'",
                    _ => "",
                };
                let mut c = self.sn.command("bash");
                c.args(["-o", "pipefail", "-e", "-c"]).arg(format!(
                    "tar -C /{IMAGE_DIR} -cSf - {exact} rootimg | $RSYNC_RSH {SERVER} tar -C /{IMAGE_DIR} -xpf - {exact}"
                ));
                c
            }
            Method::Initial | Method::Resync | Method::Compare => {
                let mut c = self.sn.command(env!("CARGO_BIN_EXE_syncstatelite"));
                c.args(["--nodes", &NODES.join(","), "--format", "json"])
                    .arg("--db")
                    .arg(&self.db)
                    .arg("--config")
                    .arg(&self.config);
                c
            }
        };
        cmd.env("RSYNC_RSH", &self.rsh);
        for var in ["NODES", "ACTION", "XCAT_EXTNFS_CONFIG"] {
            cmd.env_remove(var);
        }
        let mut finished = None;
        let sample = self
            .meter
            .measure(|| finished = Some(cmd.run_within(LIMIT)));
        let out = finished.expect("the command ran");
        out.assert_success();
        if !matches!(method, Method::Tar | Method::TarExact) {
            let report: serde_json::Value =
                serde_json::from_str(&out.stdout).expect("syncstatelite --format json");
            let changed: u64 = report["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter_map(|r| r["changed"].as_u64())
                .sum();
            if matches!(method, Method::Resync | Method::Compare) {
                assert_eq!(changed, 0, "a no-op resync changed the server: {out}");
            }
            let skipped = report["results"]
                .as_array()
                .expect("results")
                .iter()
                .any(|r| r["unchanged"] == true);
            assert_eq!(
                skipped,
                method == Method::Resync,
                "the copy record was not used as it should: {out}"
            );
            if let Some(keep) = std::env::var_os("SYNC_BENCH_REPORTS") {
                let n = fs::read_dir(&keep).map_or(0, |d| d.count());
                fs::write(
                    PathBuf::from(keep).join(format!("{n:03}-rootimg.json")),
                    &out.stdout,
                )
                .expect("keep the syncstatelite report");
            }
        }
        sample
    }

    /// Removes the records of verified copies: the next resync compares in full.
    fn forget_copies(&self) {
        let records = self.server.install_dir().join(".xcat-extnfs/copies");
        fs::remove_dir_all(&records).expect("remove the copy records");
    }

    /// Empties the server's `/install` and exports, leaving the image's directory (an empty
    /// server as the admin prepares it; tar needs the directory it extracts into).
    fn wipe_server(&self) {
        crate::empty_dir(&self.server.install_dir());
        let exports = self.server.path(cluster::GANESHA_DIR);
        fs::create_dir_all(&exports).expect("create the exports directory");
        crate::empty_dir(&exports);
        self.server.mkdir(IMAGE_DIR);
    }
}

/// xCAT's tables for the SN's nodes: one NFS-root statelite image, statemnt on the server,
/// a few litefile entries, nodes' addresses from a regular expression.
fn write_tables(db: &Path) {
    let nodes: String = NODES
        .iter()
        .map(|n| format!("\"{n}\",\"lite\",,,,,,,,,,,\n"))
        .collect();
    let tables = [
        ("site", "key,value,comments,disable\n\"master\",\"mn01\",,\n\"installdir\",\"/install\",,\n".to_string()),
        ("nodelist", format!("node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable\n{nodes}")),
        ("noderes", format!("node,servicenode,netboot,tftpserver,tftpdir,nfsserver,monserver,nfsdir,installnic,primarynic,discoverynics,cmdinterface,xcatmaster,current_osimage,next_osimage,nimserver,routenames,nameservers,proxydhcp,syslog,comments,disable\n\"lite\",\"{SN}\",,,,\"{SERVER}\",,,,,,,\"{SN}\",,,,,,,,,\n")),
        ("nodetype", format!("node,os,arch,profile,provmethod,supportedarchs,nodetype,comments,disable\n\"lite\",\"rhels8.6\",\"x86_64\",\"compute\",\"{IMAGE}\",,,,\n")),
        ("osimage", format!("imagename,groups,profile,imagetype,description,provmethod,rootfstype,nfsrootopts,osdistroname,osupdatename,cfmdir,osname,osvers,osarch,synclists,postscripts,postbootscripts,serverrole,isdeletable,kitcomponents,environvar,comments,disable\n\"{IMAGE}\",,\"compute\",\"linux\",,\"statelite\",\"nfs\",,,,,\"Linux\",\"rhels8.6\",\"x86_64\",,,,,,,,,\n")),
        ("linuximage", format!("imagename,template,boottarget,addkcmdline,pkglist,pkgdir,otherpkglist,otherpkgdir,exlist,postinstall,rootimgdir,kerneldir,nodebootif,otherifce,netdrivers,kernelver,krpmver,permission,dump,crashkernelsize,partitionfile,driverupdatesrc,comments,disable\n\"{IMAGE}\",,,,,,,,,,\"/{IMAGE_DIR}\",,,,,,,,,,,,,\n")),
        ("statelite", "node,image,statemnt,mntopts,comments,disable\n\"lite\",,\"$noderes.nfsserver:/install/nodedata\",,,\n".to_string()),
        ("litefile", "image,file,options,comments,disable\n\"ALL\",\"/tmp/\",,,\n\"ALL\",\"/var/log/\",\"persistent\",,\n\"ALL\",\"/etc/resolv.conf\",\"tmpfs\",,\n".to_string()),
        ("hosts", "node,ip,hostnames,otherinterfaces,comments,disable\n\"lite\",\"|ln(\\d+)|10.250.131.($1+0)|\",,,,\n".to_string()),
    ];
    fs::create_dir_all(db).expect("create the tables directory");
    for (table, text) in tables {
        fs::write(db.join(format!("{table}.csv")), format!("#{text}")).expect("write a table");
    }
}

/// The image as liteimg leaves it: what the node needs to boot, then `files` regular files
/// in a distribution's size mix (most under 4 KiB, a few up to 1 MiB and a few 8 MiB), one in
/// 200 a hard link, one in 50 a symbolic link, four sparse files of 64 MiB.
fn write_rootimg(sn: &Sn<'_>, files: usize) -> ImageStats {
    let r = format!("{IMAGE_DIR}/rootimg");
    sn.mkdir(format!("{r}/.statelite"));
    sn.mkdir(format!("{r}/proc"));
    let boot = [
        (".default/etc/hosts", "127.0.0.1 default\n", 0o644),
        ("etc/init.d/statelite", "#!/bin/sh\n", 0o755),
        ("etc/shadow", "root:!:19000::::::\n", 0o600),
    ];
    for (file, text, mode) in boot {
        sn.write(format!("{r}/{file}"), text);
        sn.set_mode(format!("{r}/{file}"), mode);
    }
    let mut stats = ImageStats::default();
    const TOP: [&str; 6] = [
        "usr/lib64",
        "usr/share",
        "usr/lib",
        "usr/bin",
        "etc",
        "var/lib",
    ];
    let mut previous: Option<String> = None;
    for i in 0..files {
        let top = TOP[i % TOP.len()];
        let path = format!("{r}/{top}/d{:03}/f{i:05}", i % 487);
        match (i % 200, i % 50, &previous) {
            (199, _, Some(p)) => {
                sn.hard_link(&path, p);
                stats.hard_links += 1;
            }
            (_, 49, Some(p)) => {
                let target = Path::new(p).strip_prefix(&r).expect("inside the image");
                sn.symlink(&path, Path::new("/").join(target));
                stats.symlinks += 1;
            }
            _ => {
                let len = file_size(i);
                sn.write(&path, cluster::content(len, i as u64));
                stats.files += 1;
                stats.data += len as u64;
                previous = Some(path);
            }
        }
    }
    for k in 0..4 {
        // A header, then holes up to 64 MiB.
        let path = sn.write(
            format!("{r}/var/lib/images/sparse{k}.img"),
            format!("header of sparse file {k}\n"),
        );
        fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(64 << 20))
            .expect("extend a sparse file");
        stats.sparse += 1;
    }
    stats
}

/// A size from a distribution's mix: 75% under 4 KiB, 22% 4–32 KiB, 3% 32 KiB–1 MiB, and
/// one file in 10,000 of 8 MiB.
fn file_size(i: usize) -> usize {
    let x = (i.wrapping_mul(2_654_435_761)) % 10_000;
    match x {
        0 => 8 << 20,
        1..=7_500 => x * 4096 / 7_500,
        7_501..=9_700 => 4096 + (x - 7_500) * (28 << 10) / 2_200,
        _ => (32 << 10) + (x - 9_700) * ((1 << 20) - (32 << 10)) / 300,
    }
}

/// The 1-minute load average, as `uptime` prints it.
/// Writes back every dirty page (sync(1)), untimed.
fn flush() {
    let status = std::process::Command::new("sync")
        .status()
        .expect("run sync");
    assert!(status.success(), "sync failed");
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn print(stats: &ImageStats, samples: &[Vec<Sample>], loads: &[String]) {
    println!(
        "\nrootimg: {} regular files ({} of data), {} hard links, {} symbolic links, {} sparse files of 64 MiB",
        stats.files,
        bytes(stats.data),
        stats.hard_links,
        stats.symlinks,
        stats.sparse
    );
    println!(
        "load average (1 min) before each round and at the end: {}",
        loads.join(", ")
    );
    println!("\n| Method | Wall time | min–max | ssh processes (shared connection: clients of one) | bytes to server | bytes from server |");
    println!("|---|---:|---|---:|---:|---:|");
    let medians: Vec<Sample> = samples.iter().map(|s| measure::median(s)).collect();
    for ((method, runs), m) in Method::ALL.iter().zip(samples).zip(&medians) {
        println!(
            "| {} | {:.2} s | {} | {} | {} | {} |",
            method.name(),
            m.seconds,
            measure::span(runs),
            m.ssh,
            bytes(m.bytes_in),
            bytes(m.bytes_out)
        );
    }
    let ratio = |a: usize, b: usize| medians[a].seconds / medians[b].seconds;
    let per_round = |a: usize, b: usize| {
        samples[a]
            .iter()
            .zip(&samples[b])
            .map(|(s, t)| format!("{:.2}", s.seconds / t.seconds))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\ninitial sync / tar: {:.2}× (target ≤ 1.0×); per round: {}",
        ratio(2, 0),
        per_round(2, 0)
    );
    println!(
        "initial sync / exact tar: {:.2}×; per round: {}",
        ratio(2, 1),
        per_round(2, 1)
    );
    println!(
        "no-op resync: {:.2} s (target < 1 s); compared in full: {:.2} s ({:.2}×)",
        medians[3].seconds,
        medians[4].seconds,
        ratio(3, 4)
    );
}

/// The image's tree by rsync: one process, or `jobs` at once each with a share of the
/// second-level entries (dealt in turn), after one non-recursive rsync of the top level that
/// makes the destination and the first-level directories (so the parallel ones never race to
/// create a directory).
fn rsync_script(jobs: usize) -> String {
    let (src, dest) = (
        format!("/{IMAGE_DIR}/rootimg/"),
        format!("{SERVER}:/{IMAGE_DIR}/rootimg/"),
    );
    let rsync = "rsync -aHS --numeric-ids --delete -e \"$RSYNC_RSH\"";
    if jobs < 2 {
        return format!("{rsync} {src} {dest}");
    }
    format!(
        r#"cd {src}
{rsync} --no-recursive --dirs ./ {dest}
lists=$(mktemp -d)
i=0
while IFS= read -r -d '' e; do
  printf '%s\0' "$e" >>"$lists/$((i % {jobs}))"
  i=$((i + 1))
done < <(find . -mindepth 2 -maxdepth 2 -print0)
pids=()
for l in "$lists"/*; do
  {rsync} --from0 --files-from="$l" -r ./ {dest} &
  pids+=($!)
done
for p in "${{pids[@]}}"; do wait "$p"; done
rm -r "$lists""#
    )
}

/// Regular files with more than one name below `dir`, and how many distinct files they are.
fn linked_files(dir: &Path) -> (usize, usize) {
    use std::os::unix::fs::MetadataExt;
    let (mut names, mut inodes) = (0, std::collections::BTreeSet::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("list a directory").flatten() {
            let m = e.path().symlink_metadata().expect("stat an entry");
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && m.nlink() > 1 {
                names += 1;
                inodes.insert(m.ino());
            }
        }
    }
    (names, inodes.len())
}

/// `rootimg split`: see the module's documentation.
fn split(scenario: &Scenario<'_>, stats: &ImageStats, runs: usize, started: Instant) {
    const JOBS: [usize; 3] = [1, 2, 4];
    let sn_image = scenario.sn.path(format!("{IMAGE_DIR}/rootimg"));
    let server_image = scenario.server.path(format!("{IMAGE_DIR}/rootimg"));
    let sn_links = linked_files(&sn_image);
    // [initial, resync] samples per width, and the hard-linked files the server ended with.
    let mut samples = vec![[Vec::new(), Vec::new()]; JOBS.len()];
    let mut links = vec![(0, 0); JOBS.len()];
    let mut loads = Vec::new();
    for round in 0..runs.max(1) {
        loads.push(load_average());
        for (i, jobs) in JOBS.into_iter().enumerate() {
            scenario.wipe_server();
            for (k, what) in ["initial sync", "no-op resync"].into_iter().enumerate() {
                let mut cmd = scenario.sn.command("bash");
                cmd.args(["-o", "pipefail", "-e", "-c", &rsync_script(jobs)])
                    .env("RSYNC_RSH", &scenario.rsh);
                let mut finished = None;
                let sample = (scenario.meter).measure(|| finished = Some(cmd.run_within(LIMIT)));
                finished.expect("the command ran").assert_success();
                eprintln!(
                    "   {jobs} rsync(s), {what}: round {}: {:.2} s, {} ssh",
                    round + 1,
                    sample.seconds,
                    sample.ssh
                );
                samples[i][k].push(sample);
            }
            links[i] = linked_files(&server_image);
            // The whole comparison reads every file: once per width, in the last round.
            if round + 1 == runs.max(1) && links[i] == sn_links {
                assert_same(&sn_image, &server_image);
            }
        }
    }
    loads.push(load_average());
    println!(
        "\nrootimg: {} regular files ({} of data), {} hard links ({} names of {} files)",
        stats.files,
        bytes(stats.data),
        stats.hard_links,
        sn_links.0,
        sn_links.1
    );
    println!(
        "load average (1 min) before each round and at the end: {}",
        loads.join(", ")
    );
    println!("\n| rsyncs at once | initial sync | min–max | no-op resync | min–max | ssh processes (each its own connection) | hard-linked names on the server (files) |");
    println!("|---:|---:|---|---:|---|---:|---|");
    for ((jobs, [initial, resync]), (names, files)) in JOBS.iter().zip(&samples).zip(&links) {
        let (a, b) = (measure::median(initial), measure::median(resync));
        println!(
            "| {jobs} | {:.2} s | {} | {:.2} s | {} | {} + {} | {names} ({files}) |",
            a.seconds,
            measure::span(initial),
            b.seconds,
            measure::span(resync),
            a.ssh,
            b.ssh
        );
    }
    let base = &samples[0];
    for (jobs, [initial, resync]) in JOBS.iter().zip(&samples).skip(1) {
        let ratio =
            |x: &[Sample], y: &[Sample]| measure::median(x).seconds / measure::median(y).seconds;
        println!(
            "{jobs} rsyncs / one: initial {:.2}×, no-op {:.2}×",
            ratio(initial, &base[0]),
            ratio(resync, &base[1])
        );
    }
    eprintln!("total {:.0} s", started.elapsed().as_secs_f64());
}
