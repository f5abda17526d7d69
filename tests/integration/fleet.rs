//! A lab cluster of up to six AIX service nodes on one external server: the bundled example's
//! sn1 and sn2, and sn3-sn6 made from sn1 with nodes, addresses and NIM answers of their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

use crate::support::states::State;
use crate::support::tripwire::Tripwire;
use crate::support::{copy_tree, fixtures_path, root, Host, Lab, Server, Sn, Tree};

pub(crate) const NFS: &str = "nfs1";
const PAGE: u64 = 64 << 20;
/// Ganesha exports kept in the server's private /etc/ganesha; nothing serves them here.
const EXPORTS: &str = "[server.nfs1.exports]\nkind = \"ganesha\"\n\
                       parts_dir = \"/etc/ganesha/xcat-extnfs-parts\"\nreload = [\"true\"]\n";
/// What of a server's tree a run may change.
pub(crate) const SERVER_PARTS: &[&str] = &["install", "etc"];
/// The server-side working directory of a run (its contents may be anything mid-run).
pub(crate) const SERVER_SCRATCH: &[&str] = &["install/.xcat-extnfs.tmp"];
/// The runs' records on the server (sync stamps): each run writes new ones.
pub(crate) const SERVER_RECORDS: &[&str] = &["install/.xcat-extnfs"];
/// What of an SN's tree a run may change: its files, not the harness's.
const SN_PARTS: &[&str] = &["install", "tftpboot", "etc"];

/// The fleet: the server, the SNs by name, the copy of the xCAT tables.
pub(crate) struct Fleet<'l> {
    pub(crate) lab: &'l Lab,
    pub(crate) nfs: Server<'l>,
    pub(crate) sns: BTreeMap<String, Sn<'l>>,
    pub(crate) db: PathBuf,
    pub(crate) tripwire: Tripwire,
}

impl<'l> Fleet<'l> {
    /// A server and SNs sn1..snN (`count` from 1 to 6).
    pub(crate) fn new(lab: &'l Lab, count: usize) -> Fleet<'l> {
        assert!((1..=6).contains(&count), "1 to 6 SNs");
        let nfs = lab.server(NFS);
        let names: Vec<String> = (1..=count).map(|k| format!("sn{k}")).collect();
        let mut hosts = vec![(NFS, nfs.addr())];
        hosts.extend(names.iter().map(|n| (n.as_str(), lab.sn_addr())));
        lab.hosts(&hosts);
        let db = lab.dir().join("db");
        copy_tree(&root().join("examples/cluster/db"), &db);
        let mut sns = BTreeMap::new();
        for (k, name) in (1..=count).zip(&names) {
            let sn = lab.sn(name);
            fill(&sn, k);
            if k > 2 {
                add_rows(&db, k);
            }
            let config = format!(
                "syslog = false\nlog_file = \"{log}\"\nlock_dir = \"{lock}\"\n{EXPORTS}",
                log = lab.dir().join(format!("{name}.log")).display(),
                lock = own_dir(lab, name).join("lock").display(),
            );
            std::fs::create_dir_all(own_dir(lab, name).join("lock")).unwrap();
            std::fs::write(own_dir(lab, name).join("extnfs.toml"), config).unwrap();
            sns.insert(name.clone(), sn);
        }
        let tripwire = Tripwire::new(&lab.dir().join("tripwire"), 8192);
        Fleet {
            lab,
            nfs,
            sns,
            db,
            tripwire,
        }
    }

    pub(crate) fn sn(&self, name: &str) -> &Sn<'l> {
        &self.sns[name]
    }

    /// The nodes of SN number `k` (1-6) that sync to the server.
    pub(crate) fn nodes(sn: &str) -> String {
        let k: usize = sn[2..].parse().expect("snN");
        match k {
            1 => "cn001,cn002,cn003,cn004,cn010".into(),
            2 => "cn005,cn006,cn007,cn008".into(),
            _ => (1..=4)
                .map(|i| format!("cn0{k}{i}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// `syncaixres` on `sn` as xCAT runs it for `NODES=nodes ACTION=diskless`, through the
    /// tripwire wrappers (unarmed; see [`Tripwire::arm`]), with a `TMPDIR` of the lab's.
    pub(crate) fn syncaixres(&self, sn: &str, nodes: &str) -> Command {
        let s = self.sn(sn);
        let mut cmd = s.command(env!("CARGO_BIN_EXE_syncaixres"));
        let tmp = own_dir(self.lab, sn).join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        cmd.args(["--db", &self.db.display().to_string()])
            .arg("--config")
            .arg(own_dir(self.lab, sn).join("extnfs.toml"))
            .env("NODES", nodes)
            .env("ACTION", "diskless")
            .env("LSNIM_DB", s.path("lsnim.db"))
            .env("TMPDIR", tmp)
            .env("PATH", fixtures_path());
        self.tripwire.wire(&mut cmd, &self.lab.rsync_rsh());
        cmd
    }

    /// The server's files a run may change.
    pub(crate) fn server_state(&self) -> State {
        State::of(self.nfs.root(), SERVER_PARTS, &[])
    }

    /// `sn`'s files a run may change.
    pub(crate) fn sn_state(&self, sn: &str) -> State {
        State::of(self.sn(sn).root(), SN_PARTS, &[])
    }

    /// Puts back the files of `sn` that a run edits (the `.info` files, the nodes'
    /// `filesystems` and `hosts`, `/etc/exports`) as NIM wrote them, so that the next run edits
    /// them again (as after a new mkdsklsnode).
    pub(crate) fn unedit(&self, sn: &str) {
        let k: usize = sn[2..].parse().unwrap();
        let s = self.sn(sn);
        let example = root().join("examples/cluster");
        let from = example.join(if k == 2 { "sn2" } else { "sn1" });
        let staged = self.lab.dir().join(format!("pristine-{sn}"));
        if !staged.exists() {
            copy_tree(&from, &staged);
            if k > 2 {
                rename_tree(&staged, k);
            }
            std::fs::remove_file(staged.join("lsnim.db")).unwrap();
        }
        copy_tree(&staged, s.root());
    }

    /// The directories whose files a run edits on `sn`, for [`crate::support::tripwire::EditWatch`].
    pub(crate) fn edited_dirs(&self, sn: &str) -> Vec<PathBuf> {
        let s = self.sn(sn);
        let mut dirs = vec![s.path("tftpboot"), s.path("etc")];
        let roots = s.path("install/nim/root/71Bcosi_root");
        if let Ok(nodes) = std::fs::read_dir(&roots) {
            dirs.extend(nodes.flatten().map(|n| n.path().join("etc")));
        }
        dirs.push(s.path("install/nim/shared_root/71Bsr_shared_root/etc/.client_data"));
        dirs.retain(|d| d.is_dir());
        dirs
    }
}

/// The harness's files for `sn` (configuration, lock and temporary directories).
fn own_dir(lab: &Lab, sn: &str) -> PathBuf {
    let dir = lab.dir().join("fleet").join(sn);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fills SN number `k`: the example's common files and sn1's (renamed for k > 2) or sn2's,
/// with sparse 64 MiB paging files.
fn fill(sn: &Sn<'_>, k: usize) {
    let example = root().join("examples/cluster");
    copy_tree(&example.join("common"), sn.root());
    if k <= 2 {
        copy_tree(&example.join(format!("sn{k}")), sn.root());
    } else {
        // sn1's own files renamed; the common ones (SPOT, shared_root) are the same on every SN.
        let staged = sn.root().with_extension("staged");
        copy_tree(&example.join("sn1"), &staged);
        rename_tree(&staged, k);
        copy_tree(&staged, sn.root());
        std::fs::remove_dir_all(&staged).unwrap();
    }
    let pages: Vec<String> = match k {
        1 => vec![
            "71Bcosi_paging/cn001",
            "71Bcosi_paging/cn002",
            "71Bsr_paging/cn003",
            "71Bsr_paging/cn004",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        2 => vec![
            "71Bcosi_paging/cn005_71Bcosi",
            "71Bcosi_paging/cn006_71Bcosi",
            "71Bsr_paging/cn007",
            "71Bsr_paging/cn008",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        _ => vec![
            format!("71Bcosi_paging/cn0{k}1"),
            format!("71Bcosi_paging/cn0{k}2"),
            format!("71Bsr_paging/cn0{k}3"),
            format!("71Bsr_paging/cn0{k}4"),
        ],
    };
    for p in pages {
        sn.sparse(format!("install/nim/paging/{p}/swapnfs0"), PAGE);
    }
}

/// sn1's words made SN number `k`'s: nodes cn001-cn004 become cn0k1-cn0k4, their addresses
/// 10.1.1.k1-k4, sn1 and its address 10.1.0.1 become snk and 10.1.0.k; in file names too.
fn renamer(k: usize) -> impl Fn(&str) -> String {
    let node = Regex::new(r"\bcn00([1-4])\b").unwrap();
    let addr = Regex::new(r"\b10\.1\.1\.([1-4])\b").unwrap();
    let sn = Regex::new(r"\bsn1\b").unwrap();
    let sn_addr = Regex::new(r"\b10\.1\.0\.1\b").unwrap();
    move |text: &str| {
        let t = node.replace_all(text, format!("cn0{k}$1").as_str());
        let t = addr.replace_all(&t, format!("10.1.1.{k}$1").as_str());
        let t = sn.replace_all(&t, format!("sn{k}").as_str());
        sn_addr
            .replace_all(&t, format!("10.1.0.{k}").as_str())
            .into_owned()
    }
}

fn rename_tree(dir: &Path, k: usize) {
    let rename = renamer(k);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let renamed = rename(&name);
            let path = if renamed != name {
                let to = d.join(&renamed);
                std::fs::rename(&path, &to).unwrap();
                to
            } else {
                path
            };
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                // Only files that change are written: the SPOT keeps the times of the
                // example's (the SNs' SPOTs stay identical).
                if let Ok(text) = std::fs::read_to_string(&path) {
                    let renamed = rename(&text);
                    if renamed != text {
                        std::fs::write(&path, renamed).unwrap();
                    }
                }
            }
        }
    }
}

/// The xCAT table rows of SN number `k` and its four nodes.
fn add_rows(db: &Path, k: usize) {
    let append = |table: &str, rows: String| {
        let path = db.join(format!("{table}.csv"));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}{rows}")).unwrap();
    };
    let mut nodes = format!("\"sn{k}\",\"service\",,,,,,,,,,,\n");
    for i in 1..=4 {
        let image = if i <= 2 { "cosi" } else { "sr" };
        nodes.push_str(&format!(
            "\"cn0{k}{i}\",\"compute,aix,{image},sn{k}nodes\",,,,,,,,,,,\n"
        ));
    }
    append("nodelist", nodes);
    append(
        "noderes",
        format!("\"sn{k}nodes\",\"sn{k}\",,,,,,,,,,,\"sn{k}\",,,,,,,,,\n"),
    );
    append("hosts", format!("\"sn{k}\",\"10.1.0.{k}\",,,,\n"));
}
