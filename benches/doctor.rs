//! Benchmark (not a test): `extnfs doctor` over 10,000 AIX diskless nodes and `extnfs status`,
//! against a server reached as a local directory (`transport = "local"`), without the lab.
//!
//! The cluster is `benches/sync`'s generated one (tables, NIM objects, the SN's files) under a
//! sysroot; `syncaixres` first puts it on the server directory (a healthy sync, exports as
//! Ganesha would load them), then doctor and status run in this process through the library
//! (the `extnfs` binary only parses arguments around the same calls, and has no `--sysroot`).
//! Prints each run's time as it ends, then the medians (5 runs each). Run with
//! `cargo bench --bench doctor`; `DOCTOR_BENCH_NODES` and `DOCTOR_BENCH_RUNS` change the
//! number of nodes and of runs.

#[allow(dead_code)]
#[path = "sync/cluster.rs"]
mod cluster;

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cluster::{ServiceNode, Shape};
use xcat_extnfs::config::Config;
use xcat_extnfs::doctor::{self, Context, Options};
use xcat_extnfs::nim::Nim;
use xcat_extnfs::sync::Sysroot;
use xcat_extnfs::xcat::{Db, Resolver, Source};

fn main() {
    let nodes: usize = std::env::var("DOCTOR_BENCH_NODES").map_or(10_000, |v| v.parse().unwrap());
    let runs: usize = std::env::var("DOCTOR_BENCH_RUNS").map_or(5, |v| v.parse().unwrap());
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("sn");
    let server_dir = dir.path().join("server");
    let db = dir.path().join("db");
    let lsnim = dir.path().join("lsnim.db");
    // The server answers at a loopback address other than 127.0.0.1, which is not one of this
    // host's addresses (a server that is this host is left to xCAT) but reaches it: its NFS
    // port is a listener of this process (below).
    let server = Ipv4Addr::new(127, 0, 0, 2);
    let spec = ServiceNode::new(0, nodes);
    let shape = Shape {
        nodes_per_sn: nodes,
        spot_files: 200,
        shared_root_files: 50,
        root_files: 3,
        paging_bytes: 1 << 20,
        full: true,
    };
    let specs = [spec];
    cluster::write_tables(&db, &specs).expect("tables");
    // The xCAT set-up doctor checks: the sync in prescripts-end, redirectps for NFS paging.
    std::fs::write(
        db.join("prescripts.csv"),
        "#node,begin,end,comments,disable\n\"aix\",,\"diskless:syncaixres|remove:syncaixres\",,\n",
    )
    .unwrap();
    std::fs::write(
        db.join("postscripts.csv"),
        "#node,postscripts,postbootscripts,comments,disable\n\"aix\",,\"redirectps\",,\n",
    )
    .unwrap();
    cluster::write_lsnim_db(&lsnim, &specs[0]).expect("NIM database");
    cluster::write_sn_tree(&root, &specs[0], &shape, server).expect("SN tree");
    std::fs::create_dir_all(&server_dir).unwrap();
    let config = dir.path().join("extnfs.toml");
    std::fs::write(
        &config,
        format!(
            "lock_dir = \"{lock}\"\nsyslog = false\n\n[server.nfs1]\ntransport = \"local\"\n\
             local_path = \"{server}\"\naddress = \"127.0.0.2\"\n\n[server.nfs1.exports]\n\
             kind = \"ganesha\"\nparts_dir = \"/etc/ganesha/xcat-extnfs-parts\"\nreload = [\"true\"]\n",
            lock = dir.path().display(),
            server = server_dir.display()
        ),
    )
    .unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/bin");
    let path = format!("{}:{}", fixtures.display(), std::env::var("PATH").unwrap());
    std::env::set_var("PATH", &path);
    std::env::set_var("LSNIM_DB", &lsnim);

    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_syncaixres"))
        .args(["--format", "json", "--sn", "sn1"])
        .args(["--nodes", &specs[0].group()])
        .arg("--db")
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .arg("--sysroot")
        .arg(&root)
        .env("ACTION", "diskless")
        .env_remove("NODES")
        .output()
        .expect("run syncaixres");
    let sync: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        out.status.success() && sync["skipped"].as_array().is_some_and(Vec::is_empty),
        "syncaixres: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "set-up: {nodes} nodes synced to the server directory in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // Ganesha's own configuration, including the one syncaixres wrote (relative: the local
    // transport reads it under the server directory).
    std::fs::write(
        server_dir.join("etc/ganesha/ganesha.conf"),
        "NFS_CORE_PARAM { Protocols = 3, 4; }\n%include \"xcat-extnfs.conf\"\n",
    )
    .unwrap();
    // Something answers on the NFS port (root only: 2049 is privileged); otherwise doctor
    // reports one reachability problem, which costs nothing.
    let _nfs = TcpListener::bind(("127.0.0.2", 2049)).ok();

    let config = Config::load(Some(&config)).expect("configuration");
    let tables = Db::new(Source::Dir(db.clone()));
    let resolver = Resolver::new(&tables);
    let nim = Nim::new(None);
    let sysroot = Sysroot::new(&root);
    let ctx = Context {
        resolver: &resolver,
        nim: &nim,
        config: &config,
        sysroot: &sysroot,
    };
    let names: Vec<String> = specs[0].nodes.iter().map(|n| n.name.clone()).collect();
    let opts = Options {
        nodes: Some(names),
        jobs: Some(4),
        host: "sn1".into(),
    };

    let mut doctor_times = Vec::new();
    let mut report = None;
    for i in 1..=runs {
        let start = Instant::now();
        let r = doctor::run(&ctx, &opts).expect("doctor");
        doctor_times.push(start.elapsed().as_secs_f64());
        println!("doctor run {i}: {:.2} s", start.elapsed().as_secs_f64());
        report = Some(r);
    }
    let report = report.unwrap();
    assert_eq!(report.nodes_checked, nodes);
    for p in &report.problems {
        println!(
            "doctor found: {} ({} nodes): {}",
            p.check,
            p.nodes.len(),
            p.message
        );
    }
    let mut status_times = Vec::new();
    for i in 1..=runs {
        let start = Instant::now();
        let s = xcat_extnfs::status::run(&ctx, "sn1").expect("status");
        status_times.push(start.elapsed().as_secs_f64());
        println!("status run {i}: {:.2} s", start.elapsed().as_secs_f64());
        assert_eq!(s.servers.len(), 1);
    }
    for (what, times) in [("doctor", &mut doctor_times), ("status", &mut status_times)] {
        times.sort_by(f64::total_cmp);
        println!(
            "{what}: {nodes} nodes: median {:.2} s (min {:.2}, max {:.2}) of {runs}",
            times[runs / 2],
            times[0],
            times[runs - 1]
        );
    }
}
