//! The benchmark's output: the machine and versions, one Markdown table row per method and
//! scenario (medians), paging space, completeness, the planning time and the targets' ratios.

use std::process::Command;

use crate::measure::{bytes, median, span, Sample};
use crate::methods::{Method, JOBS};
use crate::support::CommandExt;
use crate::Bench;

/// Everything measured for one method.
pub struct MethodResult {
    pub method: Method,
    pub initial: Vec<Sample>,
    pub unchanged: Vec<Sample>,
    pub changed: Vec<Sample>,
    pub paging: PagingUsage,
    /// Nodes whose data is complete on the server after the last run.
    pub complete: usize,
    /// Nodes the method was run for.
    pub synced: usize,
}

/// What was timed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Initial,
    Unchanged,
    Changed,
}

impl Scenario {
    const ALL: [Scenario; 3] = [Scenario::Initial, Scenario::Unchanged, Scenario::Changed];

    fn name(self) -> &'static str {
        match self {
            Scenario::Initial => "initial sync",
            Scenario::Unchanged => "resync, nothing changed",
            Scenario::Changed => "resync, 10 roots changed",
        }
    }
}

impl MethodResult {
    /// A result with nothing measured yet, for `synced` nodes.
    pub fn new(method: Method, synced: usize) -> MethodResult {
        MethodResult {
            method,
            initial: Vec::new(),
            unchanged: Vec::new(),
            changed: Vec::new(),
            paging: PagingUsage::default(),
            complete: 0,
            synced,
        }
    }

    pub fn samples(&self, scenario: Scenario) -> &[Sample] {
        match scenario {
            Scenario::Initial => &self.initial,
            Scenario::Unchanged => &self.unchanged,
            Scenario::Changed => &self.changed,
        }
    }
}

/// Disk space of the paging files (with their directories), in bytes.
#[derive(Default)]
pub struct PagingUsage {
    /// Paging files (one per node) counted.
    pub files: usize,
    pub server: u64,
    pub sn: u64,
    /// Sum of the file sizes on the server.
    pub apparent: u64,
}

/// Planning alone, and what its per-node lookups cost on their own.
pub struct PlanResult {
    /// The first SN's nodes, then the large SN's.
    pub runs: Vec<PlanRun>,
    /// Entering an SN's namespaces, included in each run's time.
    pub namespace: f64,
    /// Resolving all of the large SN's node names through its hosts file, in one process.
    pub hosts_lookup: f64,
}

pub struct PlanRun {
    pub nodes: usize,
    pub seconds: f64,
    pub lsnim_calls: usize,
}

pub fn print(
    bench: &Bench<'_>,
    runs: usize,
    results: &[MethodResult],
    wiki_paging: &PagingUsage,
    plan: &PlanResult,
) {
    let shape = &bench.shape;
    println!("## Machine\n");
    for line in machine() {
        println!("- {line}");
    }
    println!(
        "\n## Cluster\n\n{} SNs × {} nodes (odd: non-shared root, even: shared_root); SPOT {} files, \
         shared_root {} files, {} files per node root, 5 `.client_data` files per shared_root node, \
         one sparse paging file of {} per node; {JOBS} transfers at once; median of {runs} run(s), the methods taking turns in each. \
         One rsync per node: its node loop is measured on the first {} nodes of each SN and scaled \
         linearly to all (times, ssh connections and bytes).\n",
        bench.sns.len(),
        shape.nodes_per_sn,
        shape.spot_files,
        shape.shared_root_files,
        shape.root_files,
        bytes(shape.paging_bytes),
        bench.per_node_subset,
    );
    println!("## Results\n");
    println!("| Scenario | Method | Wall time | runs (min–max) | ssh connections | bytes to server | bytes from server |");
    println!("|---|---|---:|---|---:|---:|---:|");
    for scenario in Scenario::ALL {
        for r in results.iter().filter(|r| !r.samples(scenario).is_empty()) {
            let samples = r.samples(scenario);
            let m = median(samples);
            println!(
                "| {} | {} | {:.2} s | {} | {} | {} | {} |",
                scenario.name(),
                r.method.name(),
                m.seconds,
                span(samples),
                m.ssh,
                bytes(m.bytes_in),
                bytes(m.bytes_out)
            );
        }
    }
    println!(
        "\n## Paging space (after the first initial sync) and completeness (after the last run)\n"
    );
    println!("| Method | paging on server | paging on SNs | server / SN | apparent size | nodes complete on server |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in results {
        let p = &r.paging;
        println!(
            "| {} | {} | {} | {:.2} | {} | {} / {} |",
            r.method.name(),
            bytes(p.server),
            bytes(p.sn),
            p.server as f64 / p.sn.max(1) as f64,
            bytes(p.apparent),
            r.complete,
            r.synced
        );
    }
    println!(
        "\nThe wiki's paging command as written (`rsync -az`, no `-S`), on {} paging files: \
         {} on the server for {} on the SN ({:.0}×; apparent size {}).",
        wiki_paging.files,
        bytes(wiki_paging.server),
        bytes(wiki_paging.sn),
        wiki_paging.server as f64 / wiki_paging.sn.max(1) as f64,
        bytes(wiki_paging.apparent)
    );
    println!("\n## Planning (`--dry-run`, from tables)\n");
    println!("| Nodes | Wall time | lsnim calls |");
    println!("|---:|---:|---:|");
    for run in &plan.runs {
        println!(
            "| {} | {:.2} s | {} |",
            run.nodes, run.seconds, run.lsnim_calls
        );
    }
    println!(
        "\nEntering the SN's namespaces: {:.3} s per run (included). Resolving all {} node \
         names through a hosts file of that many lines (`getent ahostsv4`, one process): {:.2} s.\n",
        plan.namespace,
        plan.runs.last().map_or(0, |r| r.nodes),
        plan.hosts_lookup
    );
    print_targets(results, plan);
}

fn print_targets(results: &[MethodResult], plan: &PlanResult) {
    let find = |m: Method| results.iter().find(|r| r.method == m);
    let secs = |r: Option<&MethodResult>, scenario: Scenario| {
        r.map(|r| r.samples(scenario))
            .filter(|s| !s.is_empty())
            .map(|s| median(s).seconds)
    };
    let ours = find(Method::Syncaixres { allocate: false });
    let allocate = find(Method::Syncaixres { allocate: true });
    let documented = find(Method::Documented);
    let per_node = find(Method::PerNode);
    let tar = find(Method::Tar);
    println!("## Targets\n");
    let line = |what: &str, value: Option<f64>, limit: f64, at_most: bool| match value {
        Some(v) => {
            let met = if at_most { v <= limit } else { v >= limit };
            println!(
                "- {what}: {v:.2} (target {} {limit}): {}",
                if at_most { "≤" } else { "≥" },
                if met { "met" } else { "MISSED" }
            );
        }
        None => println!("- {what}: not measured"),
    };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let (initial, unchanged) = (Scenario::Initial, Scenario::Unchanged);
    line(
        "resync unchanged, syncaixres / documented",
        ratio(secs(ours, unchanged), secs(documented, unchanged)),
        1.5,
        true,
    );
    line(
        "resync unchanged, one rsync per node / syncaixres",
        ratio(secs(per_node, unchanged), secs(ours, unchanged)),
        10.0,
        false,
    );
    line(
        "initial sync, syncaixres / tar",
        ratio(secs(ours, initial), secs(tar, initial)),
        1.3,
        true,
    );
    line(
        "initial sync, syncaixres paging=allocate / tar",
        ratio(secs(allocate, initial), secs(tar, initial)),
        1.3,
        true,
    );
    for r in [ours, allocate].into_iter().flatten() {
        line(
            &format!("paging space server / SN, {}", r.method.name()),
            Some(r.paging.server as f64 / r.paging.sn.max(1) as f64),
            1.1,
            true,
        );
    }
    if let Some(run) = plan.runs.last() {
        line(
            &format!("dry-run planning of {} nodes, seconds", run.nodes),
            Some(run.seconds),
            1.0,
            true,
        );
    }
}

/// The machine and the versions of the programs measured.
fn machine() -> Vec<String> {
    let first_line = |program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).run_bounded();
        let text = if out.stdout.trim().is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        text.lines().next().unwrap_or("").trim().to_string()
    };
    let proc_field = |file: &str, key: &str| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    vec![
        format!("{} × {}", cpus, proc_field("/proc/cpuinfo", "model name")),
        format!("memory {}", proc_field("/proc/meminfo", "MemTotal")),
        format!("kernel {}", first_line("uname", &["-sr"])),
        format!(
            "file system of the lab: {}",
            first_line(
                "sh",
                &["-c", "df -T \"${TMPDIR:-/tmp}\" | awk 'NR==2 {print $2}'"]
            )
        ),
        first_line("rsync", &["--version"]),
        first_line("ssh", &["-V"]),
        first_line("tar", &["--version"]),
        format!(
            "syncaixres {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            first_line(
                "git",
                &[
                    "-C",
                    env!("CARGO_MANIFEST_DIR"),
                    "rev-parse",
                    "--short",
                    "HEAD"
                ]
            )
        ),
    ]
}
