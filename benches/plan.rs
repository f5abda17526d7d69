//! Benchmark (not a test): `syncaixres --dry-run` planning 10,000 nodes from tables, without
//! the lab: the generated cluster of `benches/sync` (tables, NIM objects, the files planning
//! reads) under a `--sysroot`. Prints wall time (median of 7) and the peak resident memory of
//! the run, then the run's own per-stage times (`XCAT_EXTNFS_TIMING`).
//!
//! Run with `cargo bench --bench plan`; `PLAN_BENCH_NODES` changes the number of nodes,
//! `PLAN_BENCH_KEEP=1` keeps the generated tree (for profiling one run by hand).

#[allow(dead_code)]
#[path = "sync/cluster.rs"]
mod cluster;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cluster::{ServiceNode, Shape};

fn main() {
    let nodes: usize = std::env::var("PLAN_BENCH_NODES").map_or(10_000, |v| v.parse().unwrap());
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("sn");
    let db = dir.path().join("db");
    let lsnim = dir.path().join("lsnim.db");
    let server = Ipv4Addr::new(10, 1, 0, 1);
    let spec = ServiceNode::new(0, nodes);
    let shape = Shape {
        nodes_per_sn: nodes,
        spot_files: 1,
        shared_root_files: 1,
        root_files: 1,
        paging_bytes: 1 << 20,
        full: false,
    };
    let specs = [spec];
    cluster::write_tables(&db, &specs).expect("tables");
    cluster::write_lsnim_db(&lsnim, &specs[0]).expect("NIM database");
    cluster::write_sn_tree(&root, &specs[0], &shape, server).expect("SN tree");
    let config = cluster::write_config(&dir.path().join("extnfs.toml"), dir.path(), server, "sync");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/bin");
    let run = |timing: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncaixres"));
        cmd.args(["--dry-run", "--format", "json", "--sn", "sn1"])
            .args(["--nodes", &specs[0].group()])
            .arg("--db")
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .arg("--sysroot")
            .arg(&root)
            .env("LSNIM_DB", &lsnim)
            .env(
                "PATH",
                format!("{}:{}", fixtures.display(), std::env::var("PATH").unwrap()),
            )
            .env_remove("NODES")
            .env_remove("ACTION");
        if timing {
            cmd.env("XCAT_EXTNFS_TIMING", "1");
        }
        let start = Instant::now();
        let out = cmd.output().expect("run syncaixres");
        let seconds = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        for key in ["edits", "failed", "skipped"] {
            assert_eq!(report[key].as_array().map(Vec::len), Some(0), "{key}");
        }
        (seconds, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let mut times: Vec<f64> = (0..7).map(|_| run(false).0).collect();
    times.sort_by(f64::total_cmp);
    // SAFETY: getrusage fills the struct it is given.
    let peak_kb = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    println!(
        "plan: {nodes} nodes, --dry-run: median {:.1} ms (min {:.1}, max {:.1}); peak RSS {:.1} MB",
        times[3] * 1e3,
        times[0] * 1e3,
        times[6] * 1e3,
        peak_kb as f64 / 1024.0
    );
    let (_, stages) = run(true);
    print!("{stages}");
    if std::env::var_os("PLAN_BENCH_KEEP").is_some() {
        println!("kept: {}", dir.keep().display());
    }
}
