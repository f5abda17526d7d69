//! Benchmark (not a test): resolve `noderes.nfsserver` and `nodetype.provmethod` for 10,000
//! nodes in 100 groups whose values are regular expressions, from a generated dumpxCATdb
//! directory. Prints wall time (median of 5) and peak resident memory.
//!
//! Run with `cargo bench --bench resolve`.

use std::fmt::Write as _;
use std::time::Instant;

use xcat_extnfs::xcat::{Db, Resolver};

const NODES: usize = 10_000;
const GROUPS: usize = 100;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_tables(dir.path());
    let mut times = Vec::new();
    let mut checksum = 0usize;
    for _ in 0..5 {
        let start = Instant::now();
        let db = Db::open(Some(dir.path()));
        let resolver = Resolver::new(&db);
        let nodes = resolver.noderange("all").expect("noderange");
        for node in &nodes {
            let server = resolver
                .attr(node, "noderes", "nfsserver")
                .expect("nfsserver");
            let image = resolver
                .attr(node, "nodetype", "provmethod")
                .expect("provmethod");
            checksum += server.map_or(0, |s| s.len()) + image.map_or(0, |s| s.len());
        }
        assert_eq!(nodes.len(), NODES);
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "resolve: {NODES} nodes, {GROUPS} groups, regex values: median {:.1} ms (min {:.1}, max {:.1}); peak RSS {} (checksum {checksum})",
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[4].as_secs_f64() * 1e3,
        peak_rss()
    );
}

fn write_tables(dir: &std::path::Path) {
    let mut nodelist = String::from("#node,groups,status,comments,disable\n");
    for i in 0..NODES {
        let _ = writeln!(nodelist, "\"cn{i:05}\",\"g{:03},all\",,,", i % GROUPS);
    }
    let mut noderes = String::from("#node,servicenode,nfsserver,xcatmaster,comments,disable\n");
    let mut nodetype = String::from("#node,os,arch,profile,provmethod,comments,disable\n");
    for g in 0..GROUPS {
        let _ = writeln!(
            noderes,
            "\"g{g:03}\",\"sn{g}\",\"|cn(\\d+)|nfs(sprintf('%02d',$1%4+1))|\",\"sn{g}\",,"
        );
        let _ = writeln!(
            nodetype,
            "\"g{g:03}\",\"AIX\",\"ppc64\",,\"/cn(\\d)/71Bcosi/\",,"
        );
    }
    noderes.push_str("\"all\",,\"nfs-default\",,,\n");
    std::fs::write(dir.join("nodelist.csv"), nodelist).unwrap();
    std::fs::write(dir.join("noderes.csv"), noderes).unwrap();
    std::fs::write(dir.join("nodetype.csv"), nodetype).unwrap();
    std::fs::write(dir.join("site.csv"), "#key,value,comments,disable\n").unwrap();
}

/// Peak resident set size from /proc (Linux; this benchmark runs on the build machine).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
