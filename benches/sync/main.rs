//! Benchmark (not a test): syncaixres against the wiki's rsync commands, one rsync per node and
//! tar over ssh, on a generated cluster of 2 SNs × 500 AIX diskless nodes in the namespace lab.
//!
//! Needs root. Run with `cargo bench --bench sync`; BENCHMARKS.md has the setup and the results.
//! Smaller trials: `SYNC_BENCH_NODES` (per SN, default 500), `SYNC_BENCH_RUNS` (default 3),
//! `SYNC_BENCH_PLAN_NODES` (default 10000), `SYNC_BENCH_METHODS` (comma-separated numbers of
//! [`Method::ALL`], from 1; default all), `SYNC_BENCH_REPORTS` (a directory to keep each
//! syncaixres run's JSON report in).
//! `cargo bench --bench sync -- rootimg` runs only the Linux statelite rootimg scenario
//! (`rootimg.rs`).

#[path = "../../tests/integration/support/mod.rs"]
mod support;

mod cluster;
mod measure;
mod methods;
mod report;
mod rootimg;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use cluster::{ServiceNode, Shape, SERVER};
use measure::{Meter, Sample};
use methods::{in_sn, Method};
use report::{MethodResult, PagingUsage, PlanResult, PlanRun};
use support::{CommandExt, Host, Lab, Server, Sn, Tree};

/// The longest any single SN command may take (an initial sync of 500 nodes' paging files).
const LIMIT: Duration = Duration::from_secs(1800);
/// Paging files the wiki's paging command is run on as written (without `-S`).
const WIKI_PAGING_SAMPLE: usize = 4;
/// Nodes per SN whose roots change before each "changed" resync (10 in all).
const CHANGED_PER_SN: usize = 5;

/// What to run, from the environment.
struct Settings {
    nodes_per_sn: usize,
    runs: usize,
    plan_nodes: usize,
    /// Nodes per SN the one-rsync-per-node loop is measured on.
    per_node_subset: usize,
    methods: Vec<Method>,
}

impl Settings {
    fn from_env() -> Settings {
        let number = |var: &str, default: usize| {
            std::env::var(var).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{var}={v} is not a number"))
            })
        };
        let methods = match std::env::var("SYNC_BENCH_METHODS") {
            Ok(list) => list
                .split(',')
                .filter(|i| !i.trim().is_empty())
                .map(|i| {
                    let i: usize = i.trim().parse().expect("SYNC_BENCH_METHODS: numbers");
                    Method::ALL[i - 1]
                })
                .collect(),
            Err(_) => Method::ALL.to_vec(),
        };
        Settings {
            nodes_per_sn: number("SYNC_BENCH_NODES", 500),
            runs: number("SYNC_BENCH_RUNS", 3).max(1),
            plan_nodes: number("SYNC_BENCH_PLAN_NODES", 10_000),
            per_node_subset: number("SYNC_BENCH_PER_NODE", 50).max(CHANGED_PER_SN),
            methods,
        }
    }
}

/// The generated cluster in the lab, and how to run things in it.
pub struct Bench<'l> {
    /// The bench's own files in the lab: tables, NIM databases, configurations, ssh wrapper.
    pub dir: PathBuf,
    pub server: &'l Server<'l>,
    pub sns: Vec<(Sn<'l>, ServiceNode)>,
    pub shape: Shape,
    /// Nodes per SN the one-rsync-per-node loop is measured on.
    pub per_node_subset: usize,
    /// `RSYNC_RSH`: the counting ssh with the lab's client configuration.
    pub rsh: String,
    pub db: PathBuf,
    pub syncaixres: PathBuf,
    pub config_sync: PathBuf,
    pub config_allocate: PathBuf,
    pub meter: Meter,
}

impl<'l> Bench<'l> {
    fn set_up(
        lab: &'l Lab,
        server: &'l Server<'l>,
        shape: Shape,
        per_node_subset: usize,
    ) -> Bench<'l> {
        let dir = lab.dir().join("bench");
        fs::create_dir_all(&dir).expect("create the bench directory");
        let specs: Vec<ServiceNode> = (0..2)
            .map(|i| ServiceNode::new(i, shape.nodes_per_sn))
            .collect();
        fs::write(lab.hosts_file(), cluster::hosts_file(server.addr(), &specs))
            .expect("write the hosts file");
        let db = dir.join("db");
        cluster::write_tables(&db, &specs).expect("write the xCAT tables");
        let mut sns = Vec::new();
        for spec in specs {
            let sn = lab.sn(&spec.name);
            cluster::write_lsnim_db(&dir.join(format!("{}.lsnim.db", spec.name)), &spec)
                .expect("write the NIM database");
            cluster::write_sn_tree(sn.root(), &spec, &shape, server.addr())
                .expect("write the SN's tree");
            sns.push((sn, spec));
        }
        let meter = Meter::new(dir.join("ssh.log"), server.netns());
        let wrapper = dir.join("ssh");
        meter.write_ssh_wrapper(&wrapper);
        let config = |paging: &str| {
            let path = dir.join(format!("extnfs-{paging}.toml"));
            cluster::write_config(&path, &dir, server.addr(), paging)
        };
        Bench {
            rsh: format!("{} -F {}", wrapper.display(), lab.ssh_config().display()),
            db,
            syncaixres: PathBuf::from(env!("CARGO_BIN_EXE_syncaixres")),
            config_sync: config("sync"),
            config_allocate: config("allocate"),
            dir,
            server,
            sns,
            shape,
            per_node_subset,
            meter,
        }
    }

    /// SN `name`'s NIM database, for the tests' lsnim stand-in.
    pub fn lsnim_db(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.lsnim.db"))
    }

    /// Each SN's part, one SN after the other as an admin (or mkdsklsnode per SN) runs them,
    /// measured command by command.
    fn sync(&self, method: Method) -> Sample {
        let mut total = Sample::default();
        for i in 0..self.sns.len() {
            for mut part in method.parts(self, i) {
                let mut finished = None;
                let sample = self
                    .meter
                    .measure(|| finished = Some(part.command.run_within(LIMIT)));
                let out = finished.expect("the command ran");
                out.assert_success();
                if let Method::Syncaixres { .. } = method {
                    let report: serde_json::Value =
                        serde_json::from_str(&out.stdout).expect("syncaixres --format json");
                    assert_eq!(report["edits"].as_array().map(Vec::len), Some(0), "{out}");
                    if let Some(dir) = std::env::var_os("SYNC_BENCH_REPORTS") {
                        let n = fs::read_dir(&dir).map_or(0, |d| d.count());
                        let name = format!("{n:03}-{}.json", self.sns[i].1.name);
                        fs::write(PathBuf::from(dir).join(name), &out.stdout)
                            .expect("keep the syncaixres report");
                    }
                }
                total = total.plus_scaled(sample, part.scale);
            }
        }
        total
    }

    /// Empties the server's `/install` down to the directory structure the wiki requires, and
    /// its exports.
    fn wipe_server(&self) {
        let install = self.server.install_dir();
        empty_dir(&install);
        empty_dir(&self.server.path(cluster::GANESHA_DIR));
        for dir in ["spot/71Bcosi", "root", "shared_root", "paging"] {
            fs::create_dir_all(install.join("nim").join(dir)).expect("create the structure");
        }
    }

    /// Gives one of each SN's first nodes' own files new content: 10 nodes changed in all.
    fn change_roots(&self, round: usize) {
        for (sn, spec) in &self.sns {
            for n in spec.nodes.iter().take(CHANGED_PER_SN) {
                let files = n.own_files(&self.shape);
                let file = files.last().expect("every node has files");
                let seed = (round * 100_000 + n.number) as u64;
                sn.write(file, cluster::content(300 + round % 7, seed));
            }
        }
    }

    /// Of the nodes `method` syncs, those whose own files are on the server with the SN's
    /// content, and whose paging file has the SN's size.
    fn complete_nodes(&self, method: Method) -> usize {
        let server = self.server;
        method
            .synced(self)
            .into_iter()
            .map(|(i, k)| (&self.sns[i].0, &self.sns[i].1.nodes[k]))
            .filter(|(sn, n)| {
                let same = |f: &String| {
                    fs::read(server.path(f)).is_ok_and(|b| Some(b) == fs::read(sn.path(f)).ok())
                };
                let paging = fs::metadata(server.path(n.paging_file())).map(|m| m.len());
                n.own_files(&self.shape).iter().all(same)
                    && paging.is_ok_and(|len| len == self.shape.paging_bytes)
            })
            .count()
    }

    /// Disk space of the paging directories of the nodes `method` syncs, on the server and on
    /// the SNs.
    fn paging_usage(&self, method: Method) -> PagingUsage {
        let dirs: Vec<String> = method
            .synced(self)
            .into_iter()
            .map(|(i, k)| self.sns[i].1.nodes[k].paging_dir())
            .collect();
        let on_server: Vec<PathBuf> = dirs.iter().map(|d| self.server.path(d)).collect();
        let on_sns: Vec<PathBuf> = method
            .synced(self)
            .into_iter()
            .zip(&dirs)
            .map(|((i, _), d)| self.sns[i].0.path(d))
            .collect();
        PagingUsage {
            files: dirs.len(),
            server: measure::disk_usage(&on_server, false),
            sn: measure::disk_usage(&on_sns, false),
            apparent: measure::disk_usage(&on_server, true),
        }
    }

    /// The wiki's paging command exactly as written (`rsync -az`, no `-S`) for the first
    /// `count` nodes of the first SN, into a scratch directory of the server: the space their
    /// paging files take there.
    fn wiki_paging_as_written(&self, count: usize) -> PagingUsage {
        const SCRATCH: &str = "install/wiki-paging";
        let (sn, spec) = &self.sns[0];
        let nodes = &spec.nodes[..count.min(spec.nodes.len())];
        let sources: Vec<String> = nodes
            .iter()
            .map(|n| format!("/{}", n.paging_dir()))
            .collect();
        let mut cmd = in_sn(self, sn, &spec.name, "rsync");
        cmd.arg("-az")
            .args(&sources)
            .arg(format!("{SERVER}:/{SCRATCH}/"))
            .run_within(LIMIT)
            .assert_success();
        let copied: Vec<PathBuf> = nodes
            .iter()
            .map(|n| self.server.path(SCRATCH).join(&n.name))
            .collect();
        let originals: Vec<PathBuf> = nodes.iter().map(|n| sn.path(n.paging_dir())).collect();
        let usage = PagingUsage {
            files: nodes.len(),
            server: measure::disk_usage(&copied, false),
            sn: measure::disk_usage(&originals, false),
            apparent: measure::disk_usage(&copied, true),
        };
        fs::remove_dir_all(self.server.path(SCRATCH)).expect("remove the scratch copy");
        usage
    }

    /// `runs` rounds; in each, every method in turn syncs onto an empty server, then resyncs
    /// with nothing changed and with 10 roots changed. Interleaving the methods spreads this
    /// machine's slow drifts over all of them alike.
    fn run_methods(&self, methods: &[Method], runs: usize) -> Vec<MethodResult> {
        let mut results: Vec<MethodResult> = methods
            .iter()
            .map(|&m| MethodResult::new(m, m.synced(self).len()))
            .collect();
        for round in 0..runs {
            for r in &mut results {
                let method = r.method;
                let timed = |what: &str| {
                    let s = self.sync(method);
                    eprintln!(
                        "   {}: {what} {}: {:.2} s, {} ssh",
                        method.name(),
                        round + 1,
                        s.seconds,
                        s.ssh
                    );
                    s
                };
                self.wipe_server();
                r.initial.push(timed("initial"));
                if round == 0 {
                    r.paging = self.paging_usage(method);
                }
                if method.resyncs() {
                    r.unchanged.push(timed("unchanged"));
                    self.change_roots(round);
                    r.changed.push(timed("10 changed"));
                }
                if round + 1 == runs {
                    r.complete = self.complete_nodes(method);
                }
            }
        }
        results
    }

    /// `syncaixres --dry-run --format json` for SN `sn`'s nodes with the tables in `db`.
    fn dry_run(&self, sn: &Sn<'_>, spec: &ServiceNode, db: &std::path::Path) -> Command {
        let mut cmd = in_sn(self, sn, &spec.name, &self.syncaixres);
        cmd.args(["--dry-run", "--format", "json", "--nodes", &spec.group()])
            .arg("--db")
            .arg(db)
            .arg("--config")
            .arg(&self.config_sync);
        cmd
    }

    /// Runs a dry run `runs` times: its median time and lsnim calls. Every node must be
    /// planned with no file to edit, which also checks that the generated cluster is what
    /// syncaixres expects.
    fn time_dry_run(
        &self,
        sn: &Sn<'_>,
        spec: &ServiceNode,
        db: &std::path::Path,
        runs: usize,
    ) -> PlanRun {
        let lsnim_log = self.dir.join("lsnim.log");
        let lsnim_calls = || fs::read_to_string(&lsnim_log).map_or(0, |t| t.lines().count());
        let mut calls = 0;
        let seconds = median_seconds(runs, || {
            let before = lsnim_calls();
            let out = self.dry_run(sn, spec, db).run_within(LIMIT);
            out.assert_success();
            let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
            for key in ["edits", "failed", "skipped"] {
                assert_eq!(
                    report[key].as_array().map(Vec::len),
                    Some(0),
                    "{key}: {out}"
                );
            }
            calls = lsnim_calls() - before;
        });
        PlanRun {
            nodes: spec.nodes.len(),
            seconds,
            lsnim_calls: calls,
        }
    }
}

/// Planning alone (`--dry-run`): for the first SN's nodes, then for `nodes` nodes of one more
/// SN (only the files planning reads), with what its per-node lookups cost on their own.
fn plan_benchmark(lab: &Lab, bench: &Bench<'_>, nodes: usize, runs: usize) -> PlanResult {
    eprintln!("== planning (--dry-run)");
    let (sn1, spec1) = &bench.sns[0];
    let sn_run = bench.time_dry_run(sn1, spec1, &bench.db, runs);
    let spec = ServiceNode::new(bench.sns.len(), nodes);
    let sn = lab.sn(&spec.name);
    let shape = Shape {
        full: false,
        ..bench.shape.clone()
    };
    let specs = [spec];
    let spec = &specs[0];
    sn.write(
        "etc/hosts",
        cluster::hosts_file(bench.server.addr(), &specs),
    );
    let db = bench.dir.join("db-plan");
    cluster::write_tables(&db, &specs).expect("write the xCAT tables");
    cluster::write_lsnim_db(&bench.lsnim_db(&spec.name), spec).expect("write the NIM database");
    cluster::write_sn_tree(sn.root(), spec, &shape, bench.server.addr())
        .expect("write the SN's tree");
    let big_run = bench.time_dry_run(&sn, spec, &db, runs);
    let namespace = median_seconds(runs, || {
        in_sn(bench, &sn, &spec.name, "true")
            .run_bounded()
            .assert_success();
    });
    // Resolving every node name through the SN's hosts file, in one process.
    let hosts_lookup = median_seconds(runs, || {
        in_sn(bench, &sn, &spec.name, "getent")
            .arg("ahostsv4")
            .args(spec.nodes.iter().map(|n| &n.name))
            .run_within(LIMIT)
            .assert_success();
    }) - namespace;
    PlanResult {
        runs: vec![sn_run, big_run],
        namespace,
        hosts_lookup,
    }
}

/// Removes everything in `dir` but `dir` itself (which a namespace may have bound elsewhere).
fn empty_dir(dir: &std::path::Path) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        }
        .unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }
}

/// Makes root's `~/.bashrc` empty for the server's sshd sessions (inside its mount namespace
/// only): bash reads it for every command over ssh, and a build machine's (pyenv here) can
/// cost more than the connection itself; an NFS server's root has no such start-up. The lab
/// now gives the server a home of its own, so this only acts where that home has one.
fn plain_remote_shell(server: &Server<'_>) {
    if server.path("root/.bashrc").exists() {
        server
            .run(&["mount", "--bind", "/dev/null", "/root/.bashrc"])
            .assert_success();
    }
}

/// The median wall time of `runs` calls of `work`.
fn median_seconds(runs: usize, mut work: impl FnMut()) -> f64 {
    let times = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_secs_f64()
        })
        .collect();
    measure::median_of(times)
}

fn main() {
    if rootimg::selected() {
        return rootimg::main();
    }
    let settings = Settings::from_env();
    let shape = Shape {
        nodes_per_sn: settings.nodes_per_sn,
        spot_files: 20_000,
        shared_root_files: 1_000,
        root_files: 30,
        paging_bytes: 64 << 20,
        full: true,
    };
    let lab = Lab::new("bench");
    let server = lab.server(SERVER);
    plain_remote_shell(&server);
    let started = Instant::now();
    let bench = Bench::set_up(&lab, &server, shape, settings.per_node_subset);
    eprintln!(
        "generated {} nodes on {} SNs in {:.1} s",
        bench.sns.iter().map(|(_, s)| s.nodes.len()).sum::<usize>(),
        bench.sns.len(),
        started.elapsed().as_secs_f64()
    );
    for (sn, spec) in &bench.sns {
        bench.time_dry_run(sn, spec, &bench.db, 1);
    }
    let results = bench.run_methods(&settings.methods, settings.runs);
    let wiki_paging = bench.wiki_paging_as_written(WIKI_PAGING_SAMPLE);
    let plan = plan_benchmark(&lab, &bench, settings.plan_nodes, settings.runs);
    report::print(&bench, settings.runs, &results, &wiki_paging, &plan);
    eprintln!("total {:.0} s", started.elapsed().as_secs_f64());
}
