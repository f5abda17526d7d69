//! `syncaixres` end to end: the bundled example's two SNs, each in its own mount namespace, sync
//! over real ssh and rsync to an external server in its own network namespace.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    allocated, assert_same, assert_unreachable_at_start, copy_tree, digest, fixtures_path, root,
    CommandExt, CountingSsh, Finished, Host, Lab, Server, Sn, Tree,
};

pub(crate) const NFS: &str = "nfs1";
pub(crate) const SPOT: &str = "install/nim/spot/71Bcosi/usr";
pub(crate) const ROOT: &str = "install/nim/root/71Bcosi_root";
pub(crate) const SR: &str = "install/nim/shared_root/71Bsr_shared_root";
pub(crate) const COSI_PAGING: &str = "install/nim/paging/71Bcosi_paging";
const SR_PAGING: &str = "install/nim/paging/71Bsr_paging";
const PAGE: u64 = 64 << 20;
/// The exports as a Ganesha server's, kept in the server's private /etc/ganesha; no Ganesha
/// runs in these tests (exports.rs serves them for real), so the reload does nothing.
const EXPORTS: &str = "[server.nfs1.exports]\nkind = \"ganesha\"\n\
                       parts_dir = \"/etc/ganesha/xcat-extnfs-parts\"\nreload = [\"true\"]\n";
pub(crate) const GANESHA_CONF: &str = "etc/ganesha/xcat-extnfs.conf";

/// The example cluster in a lab: server `nfs1`, SNs `sn1` (short NIM names) and `sn2`
/// (`mkdsklsnode -n` names for its non-shared image).
pub(crate) struct Cluster<'l> {
    pub(crate) lab: &'l Lab,
    pub(crate) nfs: Server<'l>,
    sns: BTreeMap<&'static str, Sn<'l>>,
    pub(crate) db: PathBuf,
}

impl<'l> Cluster<'l> {
    pub(crate) fn new(lab: &'l Lab) -> Cluster<'l> {
        let nfs = lab.server(NFS);
        lab.hosts(&[
            (NFS, nfs.addr()),
            ("sn1", lab.sn_addr()),
            ("sn2", lab.sn_addr()),
        ]);
        let db = lab.dir().join("db");
        copy_tree(&root().join("examples/cluster/db"), &db);
        let mut sns = BTreeMap::new();
        for name in ["sn1", "sn2"] {
            let sn = lab.sn(name);
            let example = root().join("examples/cluster");
            copy_tree(&example.join("common"), sn.root());
            copy_tree(&example.join(name), sn.root());
            for dir in paging_dirs(name) {
                sn.sparse(format!("{dir}/swapnfs0"), PAGE);
            }
            // A set-uid program (git keeps no such bit) and a hard link in the SPOT, which
            // must stay what they are on the server.
            sn.set_mode(format!("{SPOT}/sbin/mount"), 0o4755);
            let ksh = sn.path(format!("{SPOT}/bin/ksh"));
            std::fs::hard_link(&ksh, sn.path(format!("{SPOT}/bin/rksh"))).unwrap();
            let config = format!(
                "syslog = false\nlog_file = \"{log}\"\nlock_dir = \"{lock}\"\n{EXPORTS}",
                log = lab.dir().join(format!("{name}.log")).display(),
                lock = sn.mkdir("lock").display(),
            );
            sn.write("extnfs.toml", config);
            sns.insert(name, sn);
        }
        Cluster { lab, nfs, sns, db }
    }

    pub(crate) fn sn(&self, name: &str) -> &Sn<'l> {
        &self.sns[name]
    }

    /// `syncaixres` on an SN as xCAT runs it: `NODES`, `ACTION`, tabdump-free `--db`, with the
    /// SN's configuration file.
    pub(crate) fn syncaixres(&self, sn: &str, nodes: &str, action: &str) -> Command {
        let mut cmd = self.syncaixres_unconfigured(sn, nodes, action);
        cmd.arg("--config").arg(self.sn(sn).path("extnfs.toml"));
        cmd
    }

    /// `syncaixres` as [`Cluster::syncaixres`] runs it, without a configuration file.
    fn syncaixres_unconfigured(&self, sn: &str, nodes: &str, action: &str) -> Command {
        let s = self.sn(sn);
        let mut cmd = s.command(env!("CARGO_BIN_EXE_syncaixres"));
        cmd.args(["--db", &self.db.display().to_string()])
            .env("NODES", nodes)
            .env("ACTION", action)
            .env("RSYNC_RSH", self.lab.rsync_rsh())
            .env("LSNIM_DB", s.path("lsnim.db"))
            .env("PATH", fixtures_path());
        cmd
    }

    pub(crate) fn sync(&self, sn: &str) -> Finished {
        self.syncaixres(sn, sn_nodes(sn), "diskless").run_bounded()
    }
}

pub(crate) fn sn_nodes(sn: &str) -> &'static str {
    match sn {
        "sn1" => "cn001,cn002,cn003,cn004,cn010",
        _ => "cn005,cn006,cn007,cn008",
    }
}

fn paging_dirs(sn: &str) -> Vec<String> {
    let names: &[&str] = match sn {
        "sn1" => &[
            "71Bcosi_paging/cn001",
            "71Bcosi_paging/cn002",
            "71Bsr_paging/cn003",
            "71Bsr_paging/cn004",
        ],
        _ => &[
            "71Bcosi_paging/cn005_71Bcosi",
            "71Bcosi_paging/cn006_71Bcosi",
            "71Bsr_paging/cn007",
            "71Bsr_paging/cn008",
        ],
    };
    names
        .iter()
        .map(|n| format!("install/nim/paging/{n}"))
        .collect()
}

#[test]
fn first_sync_copies_everything_and_a_resync_copies_nothing() {
    let lab = Lab::new("sync-first");
    let c = Cluster::new(&lab);
    let sn = c.sn("sn1");
    let first = c.sync("sn1");
    first.assert_success();
    assert!(
        first
            .stdout
            .contains("cn010: skipped: noderes.nfsserver is <xcatmaster>"),
        "{first}"
    );
    assert!(
        first
            .stdout
            .contains("verified: 4 of 4 synced scope(s) match the server"),
        "{first}"
    );

    assert_same(&sn.path(SPOT), &c.nfs.path(SPOT));
    for node in ["cn001", "cn002"] {
        assert_same(
            &sn.path(format!("{ROOT}/{node}")),
            &c.nfs.path(format!("{ROOT}/{node}")),
        );
    }
    assert_same(
        &sn.path(format!("{SR}/etc/.client_data")),
        &c.nfs.path(format!("{SR}/etc/.client_data")),
    );
    let link = std::fs::read_link(c.nfs.path(format!("{SPOT}/bin/sh"))).unwrap();
    assert_eq!(link, Path::new("ksh"));
    let setuid = std::fs::metadata(c.nfs.path(format!("{SPOT}/sbin/mount"))).unwrap();
    assert_eq!(setuid.permissions().mode() & 0o7777, 0o4755);

    // Sparse paging: the server's copies take about what the SN's take.
    for dir in paging_dirs("sn1") {
        let file = c.nfs.path(format!("{dir}/swapnfs0"));
        assert_eq!(std::fs::metadata(&file).unwrap().len(), PAGE);
    }
    let (on_sn, on_server) = (
        allocated(&sn.path("install/nim/paging")),
        allocated(&c.nfs.path("install/nim/paging")),
    );
    assert!(
        on_server <= on_sn * 11 / 10 + 64 * 1024,
        "server {on_server} B, SN {on_sn} B"
    );

    // The mount redirection, then a rerun: no edit, nothing sent, every scope verified.
    let fs = std::fs::read_to_string(sn.path(format!("{ROOT}/cn001/etc/filesystems"))).unwrap();
    assert_eq!(fs.matches("nodename\t= nfs1").count(), 2, "{fs}");
    let info = std::fs::read_to_string(sn.path("tftpboot/10.1.1.1.info")).unwrap();
    assert!(
        info.contains(&format!(
            "export SPOT={NFS}:/install/nim/spot/71Bcosi/usr\n"
        )),
        "{info}"
    );
    let server_ip = c.nfs.addr().to_string();
    assert!(info.contains(&format!(" {server_ip}:{NFS} \"")), "{info}");
    let hosts =
        std::fs::read_to_string(sn.path(format!("{SR}/etc/.client_data/hosts.cn003"))).unwrap();
    assert!(hosts.ends_with(&format!("{server_ip} {NFS}\n")), "{hosts}");

    // Every rsync command line, its exit status and statistics are in the log file.
    let log = std::fs::read_to_string(lab.dir().join("sn1.log")).unwrap();
    assert!(
        log.contains("nfs1: spot 71Bcosi: rsync -a -H --numeric-ids"),
        "{log}"
    );
    assert!(
        log.contains("nfs1: spot 71Bcosi: rsync exit 0 (success); files "),
        "{log}"
    );
    assert!(log.contains("local4.info: cn010: skipped"), "{log}");

    let exports = std::fs::read_to_string(c.nfs.path(GANESHA_CONF)).unwrap();
    assert!(
        exports.contains("Path = \"/install/nim/root/71Bcosi_root/cn001\";"),
        "{exports}"
    );
    assert!(exports.contains("Clients = 10.1.1.1;"), "{exports}");
    assert!(
        first.stdout.contains("exports: server nfs1 (ganesha)"),
        "{first}"
    );

    let second = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .arg("--verify")
        .run_bounded();
    second.assert_success();
    assert!(!second.stdout.contains("edited"), "{second}");
    assert!(second.stdout.contains(", 0 file(s) updated, "), "{second}");
    assert_eq!(
        second.stdout.matches("verified, no differences").count(),
        4,
        "{second}"
    );
    let hosts_again =
        std::fs::read_to_string(sn.path(format!("{SR}/etc/.client_data/hosts.cn003"))).unwrap();
    assert_eq!(hosts, hosts_again, "the hosts entry is added once");
}

#[test]
fn with_no_configuration_the_exports_name_the_addresses_of_nodes_the_server_cannot_resolve() {
    let lab = Lab::new("sync-names");
    let c = Cluster::new(&lab);
    let sn = c.sn("sn1");
    // NIM's exports name the nodes as the SN knows them; the server's /etc/hosts (the lab's)
    // knows nfs1, sn1 and sn2 only, xCAT's hosts table gives the nodes 10.1.1.N.
    let named = (1..=4).fold(sn.read("etc/exports"), |text, n| {
        text.replace(&format!("10.1.1.{n}"), &format!("cn00{n}"))
    });
    assert!(named.contains("access=cn001:cn002:cn003:cn004"), "{named}");
    sn.write("etc/exports", named);
    c.nfs.run(&["getent", "hosts", "cn001"]).assert_failure();
    sn.run(&["test", "!", "-e", "/etc/xcat/extnfs.toml"])
        .assert_success();

    let run = c
        .syncaixres_unconfigured("sn1", sn_nodes("sn1"), "diskless")
        .run_bounded();
    run.assert_success();
    assert!(
        run.stdout.contains(
            "warning: server nfs1 does not resolve cn001-cn004 (4 client name(s)); their exports \
             name their addresses instead (xCAT's hosts table: 4)"
        ),
        "{run}"
    );
    let exports = c.nfs.read("etc/exports.d/xcat-extnfs.exports");
    for n in 1..=4 {
        let spot = format!("\t10.1.1.{n}(ro,sync,no_subtree_check,insecure,no_root_squash)");
        assert!(exports.contains(&spot), "{exports}");
    }
    assert!(
        exports.contains("/install/nim/root/71Bcosi_root/cn001 10.1.1.1(rw,"),
        "{exports}"
    );
    assert!(
        !exports.contains(" cn00") && !exports.contains("\tcn00"),
        "no client is named: {exports}"
    );
    assert_eq!(
        c.nfs.read("run/exportfs.log"),
        "exportfs -ra: status 0\n",
        "the server made the exports live once"
    );
}

#[test]
fn aix_statelite_statemnt_and_litetree_are_made_and_exported_insecure() {
    let lab = Lab::new("sync-aixlite");
    let c = Cluster::new(&lab);
    let sn = c.sn("sn1");
    // cn003 (shared_root 71Bsr) is an AIX statelite node; the litefile rows are AIX's.
    let statelite = std::fs::read_to_string(c.db.join("statelite.csv")).unwrap();
    std::fs::write(
        c.db.join("statelite.csv"),
        format!("{statelite}\"cn003\",,\"$noderes.nfsserver:/install/aixdata\",,,\n"),
    )
    .unwrap();
    std::fs::write(
        c.db.join("litefile.csv"),
        "#image,file,options,comments,disable\n\"71Bsr\",\"/etc/hosts\",\"ro\",,\n",
    )
    .unwrap();
    // Its litetree (the blank-image row: $noderes.nfsserver:/install/litetree/nodes/$node)
    // is kept on the server by the admin.
    c.nfs.write(
        "install/litetree/nodes/cn003/etc/hosts",
        "10.1.0.250 nfs1\n",
    );
    // The tables mkdsklsnode left in the shared_root: cn004's names its SN's address.
    let nfs_ip = c.nfs.addr().to_string();
    sn.write(
        format!("{SR}/statelite.table"),
        format!("cn003|{nfs_ip}|/install/aixdata\ncn004|10.1.0.1|/install/aixdata\nnot a row\n"),
    );
    sn.write(
        format!("{SR}/litetree.table"),
        format!("cn003|{nfs_ip}|/install/litetree/nodes/cn003\n"),
    );
    // A Linux server, whose exports(5) file says `insecure` per client.
    let config = format!(
        "syslog = false\nlog_file = \"{log}\"\nlock_dir = \"{lock}\"\n\
         [server.nfs1.exports]\nkind = \"linux\"\nfile = \"/etc/exports.d/xcat-extnfs.exports\"\n\
         parts_dir = \"/etc/xcat-extnfs-parts\"\nreload = [\"true\"]\n",
        log = lab.dir().join("sn1.log").display(),
        lock = sn.path("lock").display(),
    );
    sn.write("extnfs.toml", config);

    let first = c.sync("sn1");
    first.assert_success();
    assert!(
        first
            .stdout
            .contains("nfs1 statemnt: ok: created /install/aixdata"),
        "{first}"
    );
    assert!(
        first
            .stdout
            .contains("nfs1 litetree check: ok: 1 present on nfs1"),
        "{first}"
    );
    assert!(
        first.stdout.contains(&format!(
            "cn004: warning: /{SR}/statelite.table line 2: its statemnt /install/aixdata is mounted from 10.1.0.1, not from its nfsserver nfs1 ({nfs_ip})"
        )),
        "{first}"
    );
    assert!(
        first.stdout.contains(&format!(
            "/{SR}/statelite.table: warning: line 3 is not a table row, ignored: `not a row`"
        )),
        "{first}"
    );
    assert!(!first.stdout.contains("cn003: warning"), "{first}");
    let statemnt = c.nfs.path("install/aixdata");
    let meta = std::fs::metadata(&statemnt).unwrap();
    assert_eq!(
        (
            meta.is_dir(),
            meta.permissions().mode() & 0o7777,
            meta.uid()
        ),
        (true, 0o755, 0)
    );

    let exports = std::fs::read_to_string(c.nfs.path("etc/exports.d/xcat-extnfs.exports")).unwrap();
    let entry = |path: &str| {
        exports
            .lines()
            .find(|l| l.starts_with(&format!("{path} ")))
            .unwrap_or_else(|| panic!("{path} not exported:\n{exports}"))
            .to_string()
    };
    let state = entry("/install/aixdata");
    assert!(
        state.contains("cn003(rw,") || state.contains("10.1.1.3(rw,"),
        "{state}"
    );
    for opt in ["no_root_squash", "insecure"] {
        assert!(state.contains(opt), "{state}");
    }
    let tree = entry("/install/litetree/nodes/cn003");
    assert!(tree.contains("(ro,") && tree.contains("insecure"), "{tree}");

    // The node writes its persistent files; a rerun leaves them as they are.
    c.nfs
        .write("install/aixdata/cn003/etc/basecust", "ODM of cn003\n");
    c.nfs.set_mode("install/aixdata/cn003", 0o700);
    let second = c.sync("sn1");
    second.assert_success();
    assert!(
        second
            .stdout
            .contains("nfs1 statemnt: ok: 1 directorie(s) present, nothing below them touched"),
        "{second}"
    );
    assert_eq!(
        std::fs::read_to_string(c.nfs.path("install/aixdata/cn003/etc/basecust")).unwrap(),
        "ODM of cn003\n"
    );
    let node_dir = std::fs::metadata(c.nfs.path("install/aixdata/cn003")).unwrap();
    assert_eq!(node_dir.permissions().mode() & 0o7777, 0o700);
    let again = std::fs::read_to_string(c.nfs.path("etc/exports.d/xcat-extnfs.exports")).unwrap();
    assert_eq!(again, exports, "a rerun changes no export");
}

#[test]
fn allocate_mode_creates_sparse_paging_files_without_copying_data() {
    let lab = Lab::new("sync-alloc");
    let c = Cluster::new(&lab);
    let sn = c.sn("sn1");
    let config = std::fs::read_to_string(sn.path("extnfs.toml")).unwrap();
    sn.write(
        "extnfs.toml",
        format!("{config}[server.nfs1]\npaging = \"allocate\"\n"),
    );
    // Real data in one SN file: it must not travel.
    sn.write(format!("{COSI_PAGING}/cn001/swapnfs0"), vec![7u8; 1 << 20]);
    sn.sparse(format!("{COSI_PAGING}/cn001/swapnfs0"), PAGE);
    sn.set_mode(format!("{COSI_PAGING}/cn001/swapnfs0"), 0o600);
    let out = c.sync("sn1");
    out.assert_success();
    assert!(
        out.stdout
            .contains("paging 71Bcosi_paging: 2 file(s) created"),
        "{out}"
    );
    for dir in paging_dirs("sn1") {
        let file = c.nfs.path(format!("{dir}/swapnfs0"));
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(meta.len(), PAGE, "{dir}");
        assert!(
            meta.blocks() * 512 <= 64 * 1024,
            "{dir}: {} blocks",
            meta.blocks()
        );
    }
    let cn001 = std::fs::metadata(c.nfs.path(format!("{COSI_PAGING}/cn001/swapnfs0"))).unwrap();
    assert_eq!(cn001.permissions().mode() & 0o777, 0o600);
    assert!(
        std::fs::read(c.nfs.path(format!("{COSI_PAGING}/cn001/swapnfs0")))
            .unwrap()
            .iter()
            .all(|b| *b == 0)
    );

    // A file of another size on the server is in use by a node: left alone, with a warning.
    std::fs::OpenOptions::new()
        .write(true)
        .open(c.nfs.path(format!("{SR_PAGING}/cn003/swapnfs0")))
        .unwrap()
        .set_len(PAGE / 2)
        .unwrap();
    let again = c.sync("sn1");
    again.assert_success();
    assert!(
        again
            .stdout
            .contains("paging 71Bcosi_paging: 0 file(s) created"),
        "{again}"
    );
    assert!(
        again
            .stdout
            .contains("1 paging file(s) on the server have another size"),
        "{again}"
    );
    let kept = std::fs::metadata(c.nfs.path(format!("{SR_PAGING}/cn003/swapnfs0"))).unwrap();
    assert_eq!(kept.len(), PAGE / 2);
}

#[test]
fn two_sns_syncing_at_the_same_moment_keep_each_others_nodes() {
    let lab = Lab::new("sync-two");
    let c = Cluster::new(&lab);
    // A SPOT large enough that both runs write it at the same time.
    for i in 0..1500 {
        c.sn("sn1").write(
            format!("{SPOT}/share/f{:02}/{i}", i % 37),
            format!("file {i}\n"),
        );
    }
    // The same SPOT on both SNs, mtimes included, as xCAT's prsync (-a) leaves it.
    copy_tree(&c.sn("sn1").path(SPOT), &c.sn("sn2").path(SPOT));
    // sn2 copies its paging files (holes kept) where sn1 allocates them.
    let config = std::fs::read_to_string(c.sn("sn2").path("extnfs.toml")).unwrap();
    c.sn("sn2").write(
        "extnfs.toml",
        format!("{config}[server.nfs1]\npaging = \"sync\"\n"),
    );
    for round in 0..2 {
        let mut one = c
            .syncaixres("sn1", sn_nodes("sn1"), "diskless")
            .spawn_bounded();
        let mut two = c
            .syncaixres("sn2", sn_nodes("sn2"), "diskless")
            .spawn_bounded();
        let (a, b) = (one.finish(), two.finish());
        a.assert_success();
        b.assert_success();
        assert!(a.stdout.contains("0 failed"), "round {round}: {a}");
        assert!(b.stdout.contains("0 failed"), "round {round}: {b}");
    }
    assert_same(&c.sn("sn1").path(SPOT), &c.nfs.path(SPOT));
    for (sn, nim) in [
        ("sn1", "cn001"),
        ("sn1", "cn002"),
        ("sn2", "cn005_71Bcosi"),
        ("sn2", "cn006_71Bcosi"),
    ] {
        assert_same(
            &c.sn(sn).path(format!("{ROOT}/{nim}")),
            &c.nfs.path(format!("{ROOT}/{nim}")),
        );
    }
    let client_data: Vec<String> = std::fs::read_dir(c.nfs.path(format!("{SR}/etc/.client_data")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let expected: Vec<String> = ["filesystems", "hosts"]
        .iter()
        .flat_map(|f| ["cn003", "cn004", "cn007", "cn008"].map(|n| format!("{f}.{n}")))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(client_data, expected);
    for sn in ["sn1", "sn2"] {
        for dir in paging_dirs(sn) {
            let file = c.nfs.path(format!("{dir}/swapnfs0"));
            let meta = std::fs::metadata(&file).unwrap();
            assert_eq!(meta.len(), PAGE, "{dir}");
            // Holes kept either way: the server's copy takes what the SN's takes.
            let on_sn = std::fs::metadata(c.sn(sn).path(format!("{dir}/swapnfs0"))).unwrap();
            assert!(
                meta.blocks() <= on_sn.blocks() * 11 / 10 + 128,
                "{dir}: {} blocks on the server, {} on the SN",
                meta.blocks(),
                on_sn.blocks()
            );
        }
    }
}

#[test]
fn removal_deletes_only_the_removed_nodes() {
    let lab = Lab::new("sync-remove");
    let c = Cluster::new(&lab);
    c.sync("sn1").assert_success();
    c.sync("sn2").assert_success();
    // rmdsklsnode has deallocated them: NIM no longer exports anything to cn005 and cn007.
    let exports = c.sn("sn2").path("etc/exports");
    let text = std::fs::read_to_string(&exports).unwrap();
    let kept: Vec<String> = text
        .lines()
        .filter(|l| !l.contains("10.1.1.5,") && !l.contains("10.1.1.7,"))
        .map(|l| {
            l.replace("10.1.1.5:", "")
                .replace(":10.1.1.7", "")
                .replace("10.1.1.7:", "")
        })
        .collect();
    std::fs::write(&exports, kept.join("\n") + "\n").unwrap();
    let out = c.syncaixres("sn2", "cn005,cn007", "remove").run_bounded();
    out.assert_success();
    assert!(
        out.stdout
            .contains("nfs1: remove 2 node(s): 5 item(s) removed"),
        "{out}"
    );
    for gone in [
        format!("{ROOT}/cn005_71Bcosi"),
        format!("{COSI_PAGING}/cn005_71Bcosi"),
        format!("{SR}/etc/.client_data/hosts.cn007"),
        format!("{SR}/etc/.client_data/filesystems.cn007"),
        format!("{SR_PAGING}/cn007"),
    ] {
        assert!(!c.nfs.path(&gone).exists(), "{gone} is still on the server");
    }
    for kept in [
        format!("{ROOT}/cn006_71Bcosi/etc/hosts"),
        format!("{ROOT}/cn001/etc/hosts"),
        format!("{SR}/etc/.client_data/hosts.cn008"),
        format!("{SR}/etc/.client_data/hosts.cn003"),
        format!("{SR_PAGING}/cn004/swapnfs0"),
        format!("{SPOT}/bin/ksh"),
    ] {
        assert!(c.nfs.path(&kept).exists(), "{kept} was removed");
    }
    let conf = std::fs::read_to_string(c.nfs.path(GANESHA_CONF)).unwrap();
    assert!(!conf.contains("cn005_71Bcosi;"), "{conf}");
    assert!(
        !conf.contains("10.1.1.5") && !conf.contains("10.1.1.7"),
        "{conf}"
    );
    for client in ["10.1.1.1", "10.1.1.4", "10.1.1.6", "10.1.1.8"] {
        assert!(conf.contains(client), "{client} lost its exports: {conf}");
    }
}

#[test]
fn other_actions_do_nothing() {
    let lab = Lab::new("sync-action");
    let c = Cluster::new(&lab);
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "standalone")
        .run_bounded();
    out.assert_success();
    assert_eq!(
        out.stdout,
        "syncaixres: nothing to do for action standalone\n"
    );
    assert!(!c.nfs.path("install/nim").exists());
}

#[test]
fn dry_run_changes_nothing_here_or_there() {
    let lab = Lab::new("sync-dry");
    let c = Cluster::new(&lab);
    let before = (digest(c.sn("sn1").root()), digest(c.nfs.root()));
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .arg("--dry-run")
        .run_bounded();
    out.assert_success();
    assert!(
        out.stdout
            .contains("cn001: would edit /tftpboot/10.1.1.1.info"),
        "{out}"
    );
    assert!(out.stdout.contains("    only: cn001/ cn002/\n"), "{out}");
    assert_eq!((digest(c.sn("sn1").root()), digest(c.nfs.root())), before);

    let json = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .args(["--dry-run", "--format", "json"])
        .run_bounded();
    json.assert_success();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["plan"]["steps"].as_array().unwrap().len(), 6);
    assert_eq!(report["skipped"][0]["node"], "cn010");
}

#[test]
fn an_empty_source_never_wipes_the_servers_copy() {
    let lab = Lab::new("sync-empty");
    let c = Cluster::new(&lab);
    c.sync("sn1").assert_success();
    let good = digest(&c.nfs.path(SPOT));
    // sn2's SPOT is emptied (a failed NIM operation), and a client directory vanishes.
    let spot = c.sn("sn2").path(SPOT);
    std::fs::remove_dir_all(&spot).unwrap();
    std::fs::create_dir(&spot).unwrap();
    std::fs::remove_dir_all(c.sn("sn2").path(format!("{COSI_PAGING}/cn006_71Bcosi"))).unwrap();
    let out = c.sync("sn2");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout.contains(
            "spot 71Bcosi: FAILED: /install/nim/spot/71Bcosi/usr is empty on this SN; not synced"
        ),
        "{out}"
    );
    assert!(out.stdout.contains("cn006: FAILED:"), "{out}");
    assert_eq!(digest(&c.nfs.path(SPOT)), good);
    // The other resources still went through.
    assert!(c
        .nfs
        .path(format!("{ROOT}/cn005_71Bcosi/etc/hosts"))
        .exists());
}

#[test]
fn bad_names_and_locations_are_refused_before_anything_runs() {
    let lab = Lab::new("sync-bad");
    let c = Cluster::new(&lab);
    let noderes = c.db.join("noderes.csv");
    let text = std::fs::read_to_string(&noderes).unwrap();
    std::fs::write(
        &noderes,
        format!("{text}\"cn002\",,,,,\"nfs1;touch /tmp/x\",,,,,,,,,,,,,,,,\n"),
    )
    .unwrap();
    let nimdb = c.sn("sn1").path("lsnim.db");
    let nim = std::fs::read_to_string(&nimdb).unwrap();
    std::fs::write(
        &nimdb,
        nim.replace(
            "location    = /install/nim/shared_root/71Bsr_shared_root",
            "location    = /etc",
        ),
    )
    .unwrap();
    let out = c.sync("sn1");
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout.contains(
            "cn002: FAILED: noderes.nfsserver: `nfs1;touch /tmp/x` is not a valid host name"
        ),
        "{out}"
    );
    assert!(out.stdout.contains("cn003: FAILED: NIM resource `71Bsr_shared_root` is at /etc, which is not under site.installdir"), "{out}");
    assert!(
        c.nfs.path(format!("{ROOT}/cn001/etc/hosts")).exists(),
        "cn001 is still synced"
    );
    assert!(!c.nfs.path(format!("{ROOT}/cn002")).exists());
    assert!(!c.nfs.path("install/nim/shared_root").exists());

    // A --sysroot that does not exist is a usage error, not a failure of every node.
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .args(["--sysroot", "/nonexistent/sn1"])
        .run_bounded();
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stdout
            .contains("--sysroot /nonexistent/sn1: no such directory"),
        "{out}"
    );

    // A broken configuration is a usage error: status 2, nothing done.
    c.sn("sn1").write(
        "extnfs.toml",
        "[server.nfs1]\ntransport = \"carrier-pigeon\"\n",
    );
    let out = c.sync("sn1");
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stdout.contains("extnfs.toml"), "{out}");
}

#[test]
fn an_unreachable_server_fails_its_steps_and_publishes_nothing() {
    let lab = Lab::new("sync-down");
    let c = Cluster::new(&lab);
    let ssh = CountingSsh::new(&lab);
    c.nfs.cut_network();
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .env("RSYNC_RSH", ssh.rsync_rsh())
        .run_bounded();
    c.nfs.restore_network();
    // One line naming the server and ssh's cause, not the command and its script; one
    // connection attempt; every step not run.
    assert_unreachable_at_start(&out, &ssh, "ssh: connect to host");
    // Exports are reported not run, without another connection attempt.
    assert_eq!(out.stdout.matches("exports: ").count(), 1, "{out}");
    assert!(
        out.stdout
            .contains("exports: nfs1: exports not run: the server was found unreachable"),
        "{out}"
    );
    assert!(out.stdout.contains("0 node(s) synced"), "{out}");
    assert!(!c.nfs.path(GANESHA_CONF).exists());
    // Back on the network, the next run does it all.
    c.sync("sn1").assert_success();
}

#[test]
fn two_runs_on_one_sn_wait_for_each_other() {
    let lab = Lab::new("sync-lock");
    let c = Cluster::new(&lab);
    let slow = executable(
        c.sn("sn1"),
        "slow-rsync",
        "#!/bin/sh\nsleep 1\nexec rsync \"$@\"\n",
    );
    let run = || {
        let mut cmd = c.syncaixres("sn1", sn_nodes("sn1"), "diskless");
        cmd.arg("--rsync").arg(&slow).arg("--jobs").arg("1");
        cmd
    };
    let mut first = run().spawn_bounded();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let second = run().run_bounded();
    let first = first.finish();
    first.assert_success();
    second.assert_success();
    // Whichever took the lock first, the other waited for it (and said so).
    let waited = [&first, &second]
        .iter()
        .filter(|r| r.stdout.contains("waiting for the run with pid"))
        .count();
    assert_eq!(waited, 1, "{first}\n{second}");
}

#[test]
fn a_broken_transfer_leaves_the_servers_copy_whole() {
    let lab = Lab::new("sync-break");
    let c = Cluster::new(&lab);
    let sn = c.sn("sn1");
    let big = format!("{ROOT}/cn001/var/adm/big");
    sn.write(&big, random_bytes(6 << 20, 1));
    c.sync("sn1").assert_success();
    let old = std::fs::read(c.nfs.path(&big)).unwrap();

    // New content; the SN sends slowly and the server's rsync dies after one second (the
    // server failing in the middle of a file).
    sn.write(&big, random_bytes(6 << 20, 2));
    let slow = executable(
        sn,
        "slow-rsync",
        "#!/bin/sh\nexec rsync --bwlimit=2048 \"$@\"\n",
    );
    let dying = executable(
        sn,
        "dying-rsync",
        "#!/bin/sh\nexec timeout -s KILL 1 rsync \"$@\"\n",
    );
    let config = std::fs::read_to_string(sn.path("extnfs.toml")).unwrap();
    sn.write(
        "extnfs.toml",
        format!(
            "{config}[server.nfs1]\nrsync_path = \"{}\"\n",
            dying.display()
        ),
    );
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .arg("--rsync")
        .arg(&slow)
        .run_bounded();
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout
            .contains("root 71Bcosi_root: FAILED: rsync exited with status"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(c.nfs.path(&big)).unwrap(),
        old,
        "the old copy is intact"
    );
    let strays: Vec<String> = digest(&c.nfs.path(format!("{ROOT}/cn001/var/adm")))
        .into_keys()
        .collect();
    assert_eq!(strays, ["big"], "no temporary files in the synced tree");

    sn.write("extnfs.toml", config);
    c.sync("sn1").assert_success();
    assert_eq!(
        std::fs::read(c.nfs.path(&big)).unwrap(),
        std::fs::read(sn.path(&big)).unwrap()
    );
}

pub(crate) fn executable(sn: &Sn<'_>, rel: &str, text: &str) -> PathBuf {
    let path = sn.write(rel, text);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Incompressible bytes from a small deterministic generator.
pub(crate) fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Processes whose command line mentions `dir` (an ssh master on a control socket in it).
fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if line.contains(&needle) {
            found.push(line);
        }
    }
    found
}

#[test]
fn a_run_opens_one_ssh_connection_per_server_and_leaves_no_master_behind() {
    let lab = Lab::new("sync-mux");
    let c = Cluster::new(&lab);
    let tmp = lab.dir().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let run = |config: Option<&str>| {
        let sn = c.sn("sn1");
        let original = std::fs::read_to_string(sn.path("extnfs.toml")).unwrap();
        if let Some(extra) = config {
            sn.write("extnfs.toml", format!("{original}{extra}"));
        }
        let before = c.nfs.ssh_logins();
        let out = c
            .syncaixres("sn1", sn_nodes("sn1"), "diskless")
            .env("TMPDIR", &tmp)
            .args(["--format", "json"])
            .run_bounded();
        sn.write("extnfs.toml", original);
        let logins = c.nfs.ssh_logins() - before;
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
        assert!(left.is_empty(), "control directory left: {left:?}\n{out}");
        let procs = processes_mentioning(&tmp);
        assert!(procs.is_empty(), "still running: {procs:?}\n{out}");
        (out, logins)
    };
    // Initial sync: rsyncs, allocation, verification and exports over one connection. Its
    // remote commands besides rsync: the preparation, one allocation for both paging
    // resources, the exports' and the stamps'.
    let (out, logins) = run(None);
    out.assert_success();
    assert_eq!(logins, 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        json["ssh"],
        serde_json::json!([{"server": "nfs1", "shared": true, "connections": 1, "commands": 8}])
    );
    // A resync with nothing to do.
    let (out, logins) = run(None);
    out.assert_success();
    assert_eq!(logins, 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["ssh"][0]["commands"], 5, "{out}");
    // The run's last lines say it too.
    let out = c
        .syncaixres("sn1", sn_nodes("sn1"), "diskless")
        .env("TMPDIR", &tmp)
        .run_bounded();
    out.assert_success();
    assert!(
        out.stdout.contains(
            "syncaixres: nfs1: 1 ssh connection, shared by every command of this run; \
             5 remote command(s) besides rsync"
        ),
        "{out}"
    );
    // A run whose transfers fail on the server closes its connection all the same.
    let (out, logins) = run(Some("[server.nfs1]\nrsync_path = \"/nonexistent/rsync\"\n"));
    assert_eq!(out.code(), Some(1), "{out}");
    assert_eq!(logins, 1, "{out}");
}
