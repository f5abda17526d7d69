//! The ways to put the SNs' NIM resources on the server that the benchmark compares: syncaixres,
//! the wiki's rsync commands, one rsync per node, and tar over ssh; run inside each SN.

use std::fmt::Write as _;
use std::fs;
use std::process::Command;

use crate::cluster::{Image, Node, CLIENT_DATA, ROOT, SERVER, SHARED_ROOT, SPOT};
use crate::support::{fixtures_bin, Host, Sn};
use crate::Bench;

/// Transfers at once, for syncaixres (its default) and the per-node loop alike.
pub const JOBS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// syncaixres with `paging = "sync"` (the default) or `"allocate"`.
    Syncaixres { allocate: bool },
    /// The xCAT wiki's procedure for an external NFS server, `-S` added to its paging command.
    Documented,
    /// The SPOT and the shared tree once per SN, then one rsync per node, `JOBS` at a time
    /// (measured on the first `Bench::per_node_subset` nodes of each SN, scaled to all).
    PerNode,
    /// `tar -cS | ssh tar -x` of each SN's whole `/install/nim`: the full-copy baseline.
    Tar,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Syncaixres { allocate: false },
        Method::Syncaixres { allocate: true },
        Method::Documented,
        Method::PerNode,
        Method::Tar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Syncaixres { allocate: false } => "syncaixres",
            Method::Syncaixres { allocate: true } => "syncaixres, paging=allocate",
            Method::Documented => "documented commands",
            Method::PerNode => "one rsync per node",
            Method::Tar => "tar over ssh",
        }
    }

    /// Whether a resync means anything (a full copy copies everything every time).
    pub fn resyncs(self) -> bool {
        self != Method::Tar
    }

    /// The commands that sync SN number `index` of the bench, to run inside that SN one after
    /// the other, each with the factor its measurement is scaled by.
    pub fn parts(self, bench: &Bench<'_>, index: usize) -> Vec<Part> {
        let (sn, spec) = &bench.sns[index];
        let whole = |command| {
            vec![Part {
                command,
                scale: 1.0,
            }]
        };
        match self {
            Method::Syncaixres { allocate } => {
                let config = if allocate {
                    &bench.config_allocate
                } else {
                    &bench.config_sync
                };
                let mut cmd = in_sn(bench, sn, &spec.name, &bench.syncaixres);
                cmd.arg("--nodes")
                    .arg(spec.group())
                    .arg("--db")
                    .arg(&bench.db)
                    .arg("--config")
                    .arg(config)
                    .args(["--format", "json"]);
                whole(cmd)
            }
            Method::Documented => whole(shell(bench, sn, &spec.name, &documented(index == 0))),
            Method::PerNode => {
                let trees = format!(
                    "rsync -aH --numeric-ids --delete /{SPOT}/ {SERVER}:/{SPOT}/\n\
                     rsync -aH --numeric-ids --delete '--exclude=/etc/.client_data/*' \
                     /{SHARED_ROOT}/ {SERVER}:/{SHARED_ROOT}/\n"
                );
                let nodes = &spec.nodes[..bench.per_node_subset.min(spec.nodes.len())];
                let jobs = bench.dir.join(format!("{}.rsync-per-node", spec.name));
                fs::write(&jobs, per_node_jobs(bench, nodes)).expect("write the per-node jobs");
                let each = format!("xargs -P {JOBS} -L 1 rsync <'{}'\n", jobs.display());
                vec![
                    Part {
                        command: shell(bench, sn, &spec.name, &trees),
                        scale: 1.0,
                    },
                    Part {
                        command: shell(bench, sn, &spec.name, &each),
                        scale: spec.nodes.len() as f64 / nodes.len() as f64,
                    },
                ]
            }
            Method::Tar => whole(shell(
                bench,
                sn,
                &spec.name,
                &format!("tar -C /install -cSf - nim | $RSYNC_RSH {SERVER} tar -C /install -xf -"),
            )),
        }
    }

    /// The nodes whose data this method puts on the server (per-node: the measured subset).
    pub fn synced(self, bench: &Bench<'_>) -> Vec<(usize, usize)> {
        bench
            .sns
            .iter()
            .enumerate()
            .flat_map(|(i, (_, spec))| {
                let count = match self {
                    Method::PerNode => bench.per_node_subset.min(spec.nodes.len()),
                    _ => spec.nodes.len(),
                };
                (0..count).map(move |k| (i, k))
            })
            .collect()
    }
}

/// One command of a method, and the factor its measurement is scaled by (the per-node loop
/// runs on a subset of the nodes and is extrapolated linearly).
pub struct Part {
    pub command: Command,
    pub scale: f64,
}

/// `bash -o pipefail -e -c SCRIPT` inside the SN, with the bench's environment.
fn shell(bench: &Bench<'_>, sn: &Sn<'_>, name: &str, script: &str) -> Command {
    let mut cmd = in_sn(bench, sn, name, "bash");
    cmd.args(["-o", "pipefail", "-e", "-c", script]);
    cmd
}

/// The wiki's commands, in its order: SPOT and shared_root from the first SN only, the rest
/// from every SN. Its paging command gets `-S`: as written it would allocate every paging file
/// in full (64 GiB here), more than this machine's disk holds.
fn documented(first: bool) -> String {
    let paging = |image: Image| {
        let dir = image.paging();
        format!("rsync -azS /{dir} {SERVER}:/install/nim/paging/\n")
    };
    let mut script = String::new();
    if first {
        let _ = writeln!(
            script,
            "rsync -az --delete /{SPOT} {SERVER}:/install/nim/spot/71Bcosi/"
        );
    }
    let _ = writeln!(
        script,
        "rsync -az --delete /{ROOT} {SERVER}:/install/nim/root/"
    );
    if first {
        let _ = writeln!(
            script,
            "rsync -az --delete /{SHARED_ROOT} {SERVER}:/install/nim/shared_root/"
        );
    }
    let _ = writeln!(
        script,
        "rsync -az --delete /{CLIENT_DATA} {SERVER}:/{SHARED_ROOT}/etc/"
    );
    script.push_str(&paging(Image::Own));
    script.push_str(&paging(Image::Shared));
    script
}

/// One line of rsync arguments per node: its root directory (with deletion inside it) or its
/// `.client_data` files, and its paging directory, placed on the server with `--relative`.
fn per_node_jobs(bench: &Bench<'_>, nodes: &[Node]) -> String {
    // `/install/nim/./root/...`: with -R, the part after `./` is the path below the target.
    let relative =
        |path: &str| format!("/install/nim/./{}", path.trim_start_matches("install/nim/"));
    let mut lines = String::new();
    for n in nodes {
        let own = match n.image {
            Image::Own => format!("--delete {}", relative(&format!("{ROOT}/{}", n.name))),
            Image::Shared => n
                .own_files(&bench.shape)
                .iter()
                .map(|f| relative(f))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let _ = writeln!(
            lines,
            "-aHSR --numeric-ids {own} {} {SERVER}:/install/nim/",
            relative(&n.paging_dir())
        );
    }
    lines
}

/// Runs `program` in `sn` with the bench's environment: the counting ssh, the tests' NIM and
/// xCAT stand-ins first in `PATH`, and the SN's NIM database.
pub fn in_sn(
    bench: &Bench<'_>,
    sn: &Sn<'_>,
    name: &str,
    program: impl AsRef<std::ffi::OsStr>,
) -> Command {
    let mut cmd = sn.command(program);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("RSYNC_RSH", &bench.rsh)
        .env("PATH", format!("{}:{path}", fixtures_bin().display()))
        .env("LSNIM_DB", bench.lsnim_db(name))
        .env("LSNIM_LOG", bench.dir.join("lsnim.log"));
    for var in ["NODES", "ACTION", "XCAT_EXTNFS_CONFIG"] {
        cmd.env_remove(var);
    }
    cmd
}
