//! `syncstatelite` end to end: a Linux statelite cluster of two SNs (mount namespaces) sharing
//! one external server (its own network namespace) over real ssh and rsync, and NFS-Ganesha
//! serving the merged exports to libnfs clients at the nodes' addresses.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    allocated, assert_same, copy_tree, digest, CommandExt, Finished, Host, Lab, Server, Sn, Tree,
};

const NFS: &str = "nfs1";
const COMPUTE: &str = "rhels8.6-x86_64-statelite-compute";
const RAMDISK: &str = "rhels8.6-x86_64-statelite-ramdisk";
/// The NFS-root image of ln001-ln003, from both SNs.
const COMPUTE_DIR: &str = "install/netboot/rhels8.6/x86_64/compute";
/// The image of ln005, which noderes.nfsdir maps to another directory on the server.
const GPU_DIR: &str = "install/netboot/rhels8.6/x86_64/gpu";
const GPU_MAPPED: &str = "install/ha/netboot/rhels8.6/x86_64/gpu";
const RAMDISK_DIR: &str = "install/netboot/rhels8.6/x86_64/ramdisk";
const SPARSE: u64 = 32 << 20;
/// The exports as a Ganesha server's, kept in the server's private /etc/ganesha; the tests
/// start Ganesha themselves once the runs are over.
const GANESHA: &str = "[server.nfs1.exports]\nkind = \"ganesha\"\n\
                       parts_dir = \"/etc/ganesha/xcat-extnfs-parts\"\nreload = [\"true\"]\n";
const GANESHA_CONF: &str = "etc/ganesha/xcat-extnfs.conf";
/// The same server as a kernel NFS server (no knfsd runs: the rendering is checked).
const KNFSD: &str = "[server.nfs1.exports]\nkind = \"linux\"\n\
                     parts_dir = \"/etc/exports.d/xcat-extnfs-parts\"\nreload = [\"true\"]\n";
const KNFSD_FILE: &str = "etc/exports.d/xcat-extnfs.exports";
/// Linux statelite nodes' addresses (hosts.csv), inside the lab clients' range.
const LN001: &str = "10.250.131.1";
const OUTSIDER: &str = "10.250.131.99";

/// The tables: ln001, ln002, ln005 on sn1; ln003, ln004 (RAMdisk) on sn2; all with nfsserver
/// nfs1. `extra` rows are appended to the named tables.
fn tables(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut t: BTreeMap<String, String> = BTreeMap::new();
    t.insert(
        "site".into(),
        "#key,value,comments,disable\n\"master\",\"mn01\",,\n\"installdir\",\"/install\",,\n\
         \"tftpdir\",\"/tftpboot\",,\n"
            .into(),
    );
    t.insert(
        "nodelist".into(),
        "#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable\n\
         \"ln001\",\"linux,lite,lsn1\",,,,,,,,,,,\n\
         \"ln002\",\"linux,lite,lsn1\",,,,,,,,,,,\n\
         \"ln003\",\"linux,lite,lsn2\",,,,,,,,,,,\n\
         \"ln004\",\"linux,literam,lsn2\",,,,,,,,,,,\n\
         \"ln005\",\"linux,gpu,mapped,lsn1\",,,,,,,,,,,\n"
            .into(),
    );
    t.insert(
        "noderes".into(),
        "#node,servicenode,netboot,tftpserver,tftpdir,nfsserver,monserver,nfsdir,installnic,primarynic,discoverynics,cmdinterface,xcatmaster,current_osimage,next_osimage,nimserver,routenames,nameservers,proxydhcp,syslog,comments,disable\n\
         \"linux\",,,,,\"nfs1\",,,,,,,,,,,,,,,,\n\
         \"mapped\",,,,,,,\"/install/ha\",,,,,,,,,,,,,,\n\
         \"lsn1\",\"sn1\",,,,,,,,,,,\"sn1\",,,,,,,,,\n\
         \"lsn2\",\"sn2\",,,,,,,,,,,\"sn2\",,,,,,,,,\n"
            .into(),
    );
    t.insert(
        "nodetype".into(),
        format!(
            "#node,os,arch,profile,provmethod,supportedarchs,nodetype,comments,disable\n\
             \"lite\",\"rhels8.6\",\"x86_64\",\"compute\",\"{COMPUTE}\",,,,\n\
             \"literam\",\"rhels8.6\",\"x86_64\",\"compute\",\"{RAMDISK}\",,,,\n\
             \"gpu\",\"rhels8.6\",\"x86_64\",\"gpu\",\"rhels8.6-x86_64-statelite-gpu\",,,,\n"
        ),
    );
    t.insert(
        "osimage".into(),
        "#imagename,groups,profile,imagetype,description,provmethod,rootfstype,nfsrootopts,osdistroname,osupdatename,cfmdir,osname,osvers,osarch,synclists,postscripts,postbootscripts,serverrole,isdeletable,kitcomponents,environvar,comments,disable\n"
            .to_string()
            + &osimage_row(COMPUTE, "lite8", "compute", "nfs")
            + &osimage_row(RAMDISK, "", "compute", "ramdisk")
            + &osimage_row("rhels8.6-x86_64-statelite-gpu", "", "gpu", "nfs"),
    );
    t.insert(
        "linuximage".into(),
        "#imagename,template,boottarget,addkcmdline,pkglist,pkgdir,otherpkglist,otherpkgdir,exlist,postinstall,rootimgdir,kerneldir,nodebootif,otherifce,netdrivers,kernelver,krpmver,permission,dump,crashkernelsize,partitionfile,driverupdatesrc,comments,disable\n"
            .to_string()
            + &linuximage_row(COMPUTE, &format!("/{COMPUTE_DIR}"))
            + &linuximage_row(RAMDISK, &format!("/{RAMDISK_DIR}"))
            // No rootimgdir: the default, /install/netboot/<osvers>/<osarch>/<profile>.
            + &linuximage_row("rhels8.6-x86_64-statelite-gpu", ""),
    );
    t.insert(
        "statelite".into(),
        "#node,image,statemnt,mntopts,comments,disable\n\
         \"linux\",,\"$noderes.nfsserver:/install/nodedata\",,,\n\
         \"ln005\",,\"$noderes.nfsserver:/install/gpudata\",,,\n"
            .into(),
    );
    t.insert(
        "litetree".into(),
        format!(
            "#priority,image,directory,mntopts,comments,disable\n\
             \"10\",\"{RAMDISK}\",\"nfs1:/install/litetree/ramdisk\",,,\n\
             \"1\",\"lite8\",\"nfs1:/install/litetree/site\",,,\n\
             \"2\",,\"$noderes.nfsserver:/install/litetree/nodes/$node\",,,\n\
             \"5\",\"ALL\",\"sn1:/install/litetree/onsn\",,,\n"
        ),
    );
    t.insert(
        "litefile".into(),
        format!(
            "#image,file,options,comments,disable\n\
             \"ALL\",\"/etc/hosts\",\"ro\",,\n\
             \"ALL\",\"/tmp/\",,,\n\
             \"ALL\",\"/var/log/\",\"persistent\",,\n\
             \"ALL\",\"/etc/ssh/\",\"link,persistent\",,\n\
             \"ALL\",\"/var/cache/\",\"localdisk\",,\n\
             \"ALL\",\"/etc/resolv.conf\",\"tmpfs\",,\n\
             \"ALL\",\"/etc/adjtime\",\"rw\",,\n\
             \"ALL\",\"/etc/ntp.conf\",\"tempfs\",,\n\
             \"ALL\",\"/etc/fstab\",\"link\",,\n\
             \"ALL\",\"/var/lib/misc/\",\"tmpfs,rw\",,\n\
             \"ALL\",\"/etc/issue\",\"link,con\",,\n\
             \"lite8\",\"/etc/chrony.conf\",\"link,ro\",,\n\
             \"{COMPUTE}\",\"/etc/motd\",\"con\",,\n"
        ),
    );
    t.insert(
        "hosts".into(),
        "#node,ip,hostnames,otherinterfaces,comments,disable\n\
         \"linux\",\"|ln(\\d+)|10.250.131.($1+0)|\",,,,\n"
            .into(),
    );
    for (table, row) in extra {
        let text = t
            .get_mut(*table)
            .unwrap_or_else(|| panic!("no table {table}"));
        text.push_str(row);
        text.push('\n');
    }
    t
}

fn osimage_row(name: &str, groups: &str, profile: &str, rootfstype: &str) -> String {
    format!(
        "\"{name}\",\"{groups}\",\"{profile}\",\"linux\",,\"statelite\",\"{rootfstype}\",,,,,\"Linux\",\"rhels8.6\",\"x86_64\",,,,,,,,,\n"
    )
}

fn linuximage_row(name: &str, rootimgdir: &str) -> String {
    format!("\"{name}\",,,,,,,,,,\"{rootimgdir}\",,,,,,,,,,,,,\n")
}

/// The lab: server `nfs1`, SNs `sn1` and `sn2` with the same images (as xCAT's prsync leaves
/// them), the server already holding the nodes' persistent data and per-node litetrees.
pub(crate) struct Cluster<'l> {
    lab: &'l Lab,
    pub(crate) nfs: Server<'l>,
    sns: BTreeMap<&'static str, Sn<'l>>,
    db: PathBuf,
}

impl<'l> Cluster<'l> {
    pub(crate) fn new(lab: &'l Lab, extra: &[(&str, &str)]) -> Cluster<'l> {
        let nfs = lab.server(NFS);
        lab.hosts(&[
            (NFS, nfs.addr()),
            ("sn1", lab.sn_addr()),
            ("sn2", lab.sn_addr()),
        ]);
        let db = lab.dir().join("db");
        std::fs::create_dir_all(&db).unwrap();
        for (table, text) in tables(extra) {
            std::fs::write(db.join(format!("{table}.csv")), text).unwrap();
        }
        let mut sns = BTreeMap::new();
        let sn1 = lab.sn("sn1");
        rootimg(&sn1, COMPUTE_DIR);
        rootimg(&sn1, GPU_DIR);
        sn1.write(
            format!("{RAMDISK_DIR}/rootimg-statelite.gz"),
            b"\x1f\x8b ramdisk cpio",
        );
        sn1.write(
            format!("{RAMDISK_DIR}/rootimg-statelite.gz.metainfo"),
            "imgurl=http://nfs1/install/netboot/rhels8.6/x86_64/ramdisk/rootimg-statelite.gz\n",
        );
        // packimage's tree stays behind the RAMdisk archive: never copied.
        sn1.write(format!("{RAMDISK_DIR}/rootimg/etc/hosts"), "tree\n");
        sn1.write("install/litetree/site/etc/hosts", "127.0.0.1 site\n");
        sn1.write("install/litetree/site/etc/motd", "site motd\n");
        sn1.write("install/litetree/ramdisk/etc/hosts", "127.0.0.1 ramdisk\n");
        let sn2 = lab.sn("sn2");
        copy_tree(&sn1.path("install"), &sn2.path("install"));
        for (name, sn) in [("sn1", sn1), ("sn2", sn2)] {
            let config = format!(
                "syslog = false\nlog_file = \"{log}\"\nlock_dir = \"{lock}\"\n{GANESHA}",
                log = lab.dir().join(format!("{name}.log")).display(),
                lock = sn.mkdir("lock").display(),
            );
            sn.write("extnfs.toml", config);
            sns.insert(name, sn);
        }
        for node in ["ln001", "ln002", "ln003", "ln004", "ln005"] {
            nfs.write(
                format!("install/litetree/nodes/{node}/etc/issue"),
                format!("{node}\n"),
            );
        }
        nfs.write(
            "install/nodedata/ln001/var/log/messages",
            "kept across boots\n",
        );
        nfs.mkdir("install/nodedata/ln001/etc/ssh");
        nfs.set_mode("install/nodedata/ln001", 0o700);
        Cluster { lab, nfs, sns, db }
    }

    fn sn(&self, name: &str) -> &Sn<'l> {
        &self.sns[name]
    }

    /// `syncstatelite` on an SN as nodeset's end prescript runs it: NODES, ACTION.
    pub(crate) fn syncstatelite(&self, sn: &str, nodes: &str) -> Command {
        self.prefixed(sn, nodes, &[])
    }

    /// The same, with `prefix` (a program and its arguments) run first in the SN's namespace,
    /// ending in `exec "$@"`.
    fn prefixed(&self, sn: &str, nodes: &str, prefix: &[&str]) -> Command {
        let s = self.sn(sn);
        let mut cmd = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = s.command(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_syncstatelite"));
                c
            }
            None => s.command(env!("CARGO_BIN_EXE_syncstatelite")),
        };
        cmd.args(["--db", &self.db.display().to_string()])
            .arg("--config")
            .arg(s.path("extnfs.toml"))
            .env("NODES", nodes)
            .env("ACTION", "osimage")
            .env("RSYNC_RSH", self.lab.rsync_rsh());
        cmd
    }

    pub(crate) fn sync(&self, sn: &str) -> Finished {
        self.syncstatelite(sn, sn_nodes(sn)).run_bounded()
    }
}

pub(crate) fn sn_nodes(sn: &str) -> &'static str {
    match sn {
        "sn1" => "ln001,ln002,ln005",
        _ => "ln003,ln004",
    }
}

/// A statelite image as liteimg leaves it: what the node needs to boot, a root-only file,
/// hard links, a set-uid program, a file with an extended attribute, a sparse file, and
/// enough files that two runs overlap.
fn rootimg(sn: &Sn<'_>, dir: &str) {
    let r = format!("{dir}/rootimg");
    sn.mkdir(format!("{r}/.statelite"));
    sn.write(format!("{r}/.default/etc/hosts"), "127.0.0.1 default\n");
    sn.write(format!("{r}/etc/init.d/statelite"), "#!/bin/sh\n");
    sn.set_mode(format!("{r}/etc/init.d/statelite"), 0o755);
    sn.write(format!("{r}/etc/shadow"), "root:!:19000::::::\n");
    sn.set_mode(format!("{r}/etc/shadow"), 0o600);
    sn.write(format!("{r}/usr/bin/busybox"), "busybox\n");
    sn.hard_link(format!("{r}/usr/bin/ls"), format!("{r}/usr/bin/busybox"));
    sn.hard_link(format!("{r}/usr/bin/cat"), format!("{r}/usr/bin/busybox"));
    sn.symlink(format!("{r}/bin"), "usr/bin");
    sn.write(format!("{r}/usr/bin/passwd"), "passwd\n");
    sn.set_mode(format!("{r}/usr/bin/passwd"), 0o4755);
    sn.write(format!("{r}/usr/bin/ping"), "ping\n");
    set_xattr(
        &sn.path(format!("{r}/usr/bin/ping")),
        "user.extnfs.test",
        b"cap_net_raw+p",
    );
    sn.sparse(format!("{r}/var/lib/sparse.img"), SPARSE);
    sn.write(format!("{r}/home/user/file"), "owned by 1000\n");
    sn.set_owner(format!("{r}/home/user/file"), 1000, 1000);
    sn.mkdir(format!("{r}/proc"));
    for i in 0..1500 {
        sn.write(
            format!("{r}/usr/share/f{:02}/{i}", i % 37),
            format!("file {i}\n"),
        );
    }
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    // SAFETY: both strings are NUL-terminated and live across the call; value is a valid
    // buffer of its length.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        rc,
        0,
        "setxattr {name} on {}: {} (the test needs a file system with user extended attributes)",
        path.display(),
        std::io::Error::last_os_error()
    );
}

fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: as in set_xattr; buf is writable for its length.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| {
        buf.truncate(len as usize);
        buf
    })
}

/// Each file's content, mode, owner and modification and change times: a run that writes
/// nothing leaves it equal. Directories are left out: the image lock is made and removed
/// beside each image.
fn files_and_times(dir: &Path) -> BTreeMap<String, String> {
    let mut out = digest(dir);
    out.retain(|_, v| !v.starts_with("dir"));
    for (rel, v) in out.iter_mut() {
        let m = std::fs::symlink_metadata(dir.join(rel)).unwrap();
        v.push_str(&format!(
            " mtime {}.{} ctime {}.{}",
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        ));
    }
    out
}

/// The number in `<what>: ok: ... N change(s)` of a run's output.
fn changes(out: &Finished, what: &str) -> u64 {
    let prefix = format!("{NFS} {what}: ok: ");
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("syncstatelite: ")?.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line\n{out}"));
    let before = line
        .split(" change(s)")
        .next()
        .unwrap_or_else(|| panic!("no change count in {line}"));
    let n = before.rsplit(' ').next().unwrap();
    n.parse()
        .unwrap_or_else(|_| panic!("change count {n:?} in {line}"))
}

#[test]
fn two_sns_at_once_copy_each_image_once_and_nodes_read_and_write_through_ganesha() {
    let lab = Lab::new("lite-two");
    let c = Cluster::new(&lab, &[]);
    let messages = c.nfs.path("install/nodedata/ln001/var/log/messages");
    let kept = std::fs::metadata(&messages).unwrap();

    let mut one = c.syncstatelite("sn1", sn_nodes("sn1")).spawn_bounded();
    let mut two = c.syncstatelite("sn2", sn_nodes("sn2")).spawn_bounded();
    let (a, b) = (one.finish(), two.finish());
    a.assert_success();
    b.assert_success();
    for out in [&a, &b] {
        assert!(out.stdout.contains(" 0 failed; "), "{out}");
        assert!(!out.stdout.contains("NIM's default"), "{out}");
    }

    // One copy of the shared image: whichever run took the image lock first copied it, the
    // other found it up to date. The lock is gone.
    let label = format!("rootimg {COMPUTE}");
    let mut copies = [changes(&a, &label), changes(&b, &label)];
    copies.sort();
    assert_eq!(copies[0], 0, "{a}\n{b}");
    assert!(copies[1] > 1500, "{a}\n{b}");
    assert!(!c.nfs.exists(format!("{COMPUTE_DIR}.extnfs-lock")));

    // The image exactly: hard links, set-uid, owners, the extended attribute, holes.
    let sn1 = c.sn("sn1");
    let (src, dst) = (
        sn1.path(format!("{COMPUTE_DIR}/rootimg")),
        c.nfs.path(format!("{COMPUTE_DIR}/rootimg")),
    );
    assert_same(&src, &dst);
    let ls = std::fs::metadata(dst.join("usr/bin/ls")).unwrap();
    assert_eq!(
        ls.ino(),
        std::fs::metadata(dst.join("usr/bin/cat")).unwrap().ino()
    );
    assert_eq!(
        std::fs::metadata(dst.join("usr/bin/passwd"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o4755
    );
    assert_eq!(
        get_xattr(&dst.join("usr/bin/ping"), "user.extnfs.test").as_deref(),
        Some(&b"cap_net_raw+p"[..])
    );
    let sparse = std::fs::metadata(dst.join("var/lib/sparse.img")).unwrap();
    assert_eq!(sparse.len(), SPARSE);
    assert!(
        sparse.blocks() * 512 <= 64 * 1024,
        "{} blocks",
        sparse.blocks()
    );
    assert!(allocated(&dst) < SPARSE / 4);

    // The nfsdir image lives where its nodes mount it; the RAMdisk files without their tree.
    assert_same(
        &sn1.path(format!("{GPU_DIR}/rootimg")),
        &c.nfs.path(format!("{GPU_MAPPED}/rootimg")),
    );
    assert!(!c.nfs.exists(GPU_DIR));
    for f in ["rootimg-statelite.gz", "rootimg-statelite.gz.metainfo"] {
        assert_eq!(
            std::fs::read(c.nfs.path(format!("{RAMDISK_DIR}/{f}"))).unwrap(),
            std::fs::read(sn1.path(format!("{RAMDISK_DIR}/{f}"))).unwrap()
        );
    }
    assert!(!c.nfs.exists(format!("{RAMDISK_DIR}/rootimg")));

    // statemnt: created when missing (root, 0755); what the nodes keep there untouched.
    let gpudata = std::fs::metadata(c.nfs.path("install/gpudata")).unwrap();
    assert_eq!((gpudata.uid(), gpudata.mode() & 0o7777), (0, 0o755));
    let after = std::fs::metadata(&messages).unwrap();
    assert_eq!(
        (after.mtime(), after.mtime_nsec(), after.ino()),
        (kept.mtime(), kept.mtime_nsec(), kept.ino())
    );
    assert_eq!(
        c.nfs.read("install/nodedata/ln001/var/log/messages"),
        "kept across boots\n"
    );
    assert_eq!(
        std::fs::metadata(c.nfs.path("install/nodedata/ln001"))
            .unwrap()
            .mode()
            & 0o7777,
        0o700
    );

    // litetree: copied from the SN (its master copy) or checked on the server; one on an
    // SN is not highly available; litefile entries found in no litetree are reported.
    assert_eq!(c.nfs.read("install/litetree/site/etc/motd"), "site motd\n");
    assert_eq!(
        c.nfs.read("install/litetree/ramdisk/etc/hosts"),
        "127.0.0.1 ramdisk\n"
    );
    assert!(
        a.stdout.contains("ln001: warning: litetree sn1:/install/litetree/onsn is not on the external server: not highly available"),
        "{a}"
    );
    assert!(
        a.stdout.contains(&format!(
            "warning: image {COMPUTE}: litefile /etc/chrony.conf (link,ro) is in no litetree directory on {NFS}"
        )),
        "{a}"
    );
    // Found in the site litetree copied by this very run; the gpu image has no such tree.
    for found in ["/etc/motd (con)", "/etc/hosts (ro)"] {
        assert!(
            !a.stdout.contains(&format!(
                "image {COMPUTE}: litefile {found} is in no litetree"
            )),
            "{a}"
        );
    }
    assert!(
        a.stdout.contains(
            "image rhels8.6-x86_64-statelite-gpu: litefile /etc/hosts (ro) is in no litetree directory"
        ),
        "{a}"
    );

    // Every node's mounts are exported, to its address only, in the Ganesha dialect: the
    // image and litetrees read-only, statemnt read-write, root not squashed.
    let conf = c.nfs.read(GANESHA_CONF);
    for (path, access, clients) in [
        (
            format!("/{COMPUTE_DIR}/rootimg"),
            "RO",
            "10.250.131.1, 10.250.131.2, 10.250.131.3",
        ),
        (format!("/{GPU_MAPPED}/rootimg"), "RO", "10.250.131.5"),
        (
            "/install/nodedata".to_string(),
            "RW",
            "10.250.131.1, 10.250.131.2, 10.250.131.3, 10.250.131.4",
        ),
        ("/install/gpudata".to_string(), "RW", "10.250.131.5"),
        (
            "/install/litetree/site".to_string(),
            "RO",
            "10.250.131.1, 10.250.131.2, 10.250.131.3",
        ),
        (
            "/install/litetree/nodes/ln004".to_string(),
            "RO",
            "10.250.131.4",
        ),
        (
            "/install/litetree/ramdisk".to_string(),
            "RO",
            "10.250.131.4",
        ),
    ] {
        let block = ganesha_block(&conf, &path);
        assert!(
            block.contains(&format!("Clients = {clients};"))
                && block.contains(&format!("Access_Type = {access};"))
                && block.contains("Squash = No_Root_Squash;"),
            "{path}:\n{block}"
        );
    }
    assert!(
        !conf.contains(&format!("Path = \"/{RAMDISK_DIR}")),
        "{conf}"
    );
    assert!(!conf.contains("onsn"), "{conf}");

    // A real client at ln001's address reads a root-only file of the image and writes into
    // its statemnt directory as root; another address gets nothing.
    let _ganesha = c
        .nfs
        .start_ganesha(&format!("%include \"/{GANESHA_CONF}\"\n"));
    let ln001 = lab.client("ln001", LN001);
    let outsider = lab.client("outsider", OUTSIDER);
    let shadow = format!("/{COMPUTE_DIR}/rootimg/etc/shadow");
    assert_eq!(
        ln001.nfs_cat(&c.nfs, &shadow).assert_success().stdout,
        "root:!:19000::::::\n"
    );
    let local = lab.dir().join("ssh-host-key");
    std::fs::write(&local, "written by ln001\n").unwrap();
    ln001
        .nfs_write(
            &c.nfs,
            &local,
            "/install/nodedata/ln001/etc/ssh/ssh_host_key",
        )
        .assert_success();
    let written = c.nfs.path("install/nodedata/ln001/etc/ssh/ssh_host_key");
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        "written by ln001\n"
    );
    assert_eq!(
        std::fs::metadata(&written).unwrap().uid(),
        0,
        "root is not squashed"
    );
    ln001
        .nfs_write(&c.nfs, &local, &format!("/{COMPUTE_DIR}/rootimg/etc/evil"))
        .assert_failure();
    assert!(!c.nfs.exists(format!("{COMPUTE_DIR}/rootimg/etc/evil")));
    outsider.nfs_cat(&c.nfs, &shadow).assert_failure();
    outsider
        .nfs_write(&c.nfs, &local, "/install/nodedata/outsider")
        .assert_failure();
}

/// The EXPORT block whose Path is `path`.
fn ganesha_block(conf: &str, path: &str) -> String {
    let start = conf
        .find(&format!("Path = \"{path}\";"))
        .unwrap_or_else(|| panic!("no export of {path}:\n{conf}"));
    let from = conf[..start].rfind("EXPORT {").unwrap();
    let len = conf[from..].find("\n}\n").unwrap();
    conf[from..from + len].to_string()
}

#[test]
fn a_rerun_writes_nothing_and_a_dry_run_changes_nothing() {
    let lab = Lab::new("lite-again");
    let c = Cluster::new(&lab, &[]);
    let sn1 = c.sn("sn1");

    let before = (digest(sn1.root()), digest(c.nfs.root()));
    let dry = c
        .syncstatelite("sn1", sn_nodes("sn1"))
        .arg("--dry-run")
        .run_bounded();
    dry.assert_success();
    let copy = format!(
        "{NFS} rootimg {COMPUTE}: would copy under lock /{COMPUTE_DIR}.extnfs-lock: rsync "
    );
    let line = dry
        .stdout
        .lines()
        .find(|l| l.contains(&copy))
        .unwrap_or_else(|| panic!("no line with `{copy}`:\n{dry}"));
    assert!(
        dry.stdout.contains(
            "    not even compared if neither side changed since the copy recorded in /install/.xcat-extnfs/copies/"
        ),
        "{dry}"
    );
    // Exact: hard links, ACLs, extended attributes, holes, numeric ids; deletion inside.
    for flag in ["-a", "-H", "-A", "-X", "-S", "--numeric-ids", "--delete"] {
        assert!(line.split(' ').any(|w| w == flag), "{flag} missing: {line}");
    }
    assert!(
        dry.stdout
            .contains("would create when missing: /install/gpudata /install/nodedata"),
        "{dry}"
    );
    assert!(dry.stdout.contains("(dry run: none made)"), "{dry}");
    assert_eq!((digest(sn1.root()), digest(c.nfs.root())), before);
    let json = c
        .syncstatelite("sn1", sn_nodes("sn1"))
        .args(["--dry-run", "--format", "json"])
        .run_bounded();
    json.assert_success();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert!(report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["kind"]["copy"]["dest"] == format!("/{GPU_MAPPED}/rootimg")));
    assert_eq!((digest(sn1.root()), digest(c.nfs.root())), before);

    c.sync("sn1").assert_success();
    // Every run leaves its stamp (when this SN last synced) and may record its verified
    // copies; nothing else may change.
    let stamps = "install/.xcat-extnfs/stamps/";
    let unstamped = |files: BTreeMap<String, String>| -> BTreeMap<String, String> {
        files
            .into_iter()
            .filter(|(path, _)| !path.starts_with("install/.xcat-extnfs/"))
            .collect()
    };
    let server = unstamped(files_and_times(c.nfs.root()));
    assert!(
        std::fs::read_dir(c.nfs.path(stamps)).is_ok_and(|mut d| d.next().is_some()),
        "no sync stamp on the server"
    );
    let again = c
        .syncstatelite("sn1", sn_nodes("sn1"))
        .arg("--verify")
        .run_bounded();
    again.assert_success();
    assert!(
        again.stdout.contains("; 0 change(s) on the server;"),
        "{again}"
    );
    assert!(again.stdout.contains("Ok(0)"), "{again}");
    assert!(!again.stdout.contains("Ok(1"), "{again}");
    assert_eq!(
        unstamped(files_and_times(c.nfs.root())),
        server,
        "the rerun wrote on the server"
    );
}

/// The line of a run's output about `what` (`rootimg <image>`) on the server.
fn step_line<'o>(out: &'o Finished, what: &str) -> &'o str {
    let prefix = format!("syncstatelite: {NFS} {what}: ");
    out.stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line\n{out}"))
}

#[test]
fn an_untouched_image_is_not_compared_again_and_a_touch_on_either_side_is_repaired() {
    let lab = Lab::new("lite-unchanged");
    let c = Cluster::new(&lab, &[]);
    let sn1 = c.sn("sn1");
    let what = format!("rootimg {COMPUTE}");
    let unchanged = "ok: unchanged since sn1 verified it at ";
    let image = format!("{COMPUTE_DIR}/rootimg");
    // A tree changed in the last 2 s is not recorded: a later change in the same tick of the
    // file system's clock would go unseen.
    let settle = || std::thread::sleep(std::time::Duration::from_secs(3));
    settle();

    let first = c.sync("sn1");
    first.assert_success();
    let line = step_line(&first, &what);
    assert!(
        line.contains("change(s)") && !line.contains("not recorded"),
        "{first}"
    );
    // The empty server directory got a tar stream, exact to the last attribute: rsync, which
    // compares hard links, ACLs, extended attributes, holes and owners, found nothing to mend.
    assert!(
        line.contains(" entries by a tar stream into the empty directory, then rsync: 0 change(s)"),
        "{first}"
    );
    let server = files_and_times(&c.nfs.path(&image));

    // Untouched on both sides: skipped, and the server's copy left as it was.
    let again = c.sync("sn1");
    again.assert_success();
    assert!(step_line(&again, &what).contains(unchanged), "{again}");
    assert_eq!(files_and_times(&c.nfs.path(&image)), server);
    let json = c
        .syncstatelite("sn1", sn_nodes("sn1"))
        .args(["--format", "json"])
        .run_bounded();
    json.assert_success();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    let result = |label: &str| {
        results
            .iter()
            .find(|r| r["label"] == label)
            .unwrap_or_else(|| panic!("no result {label}: {json}"))
    };
    assert_eq!(result(&what)["unchanged"], true);
    assert_eq!(result(&what)["changed"], 0);
    // A RAMdisk copy is two files: compared every time.
    let sn2 = c.sync("sn2");
    sn2.assert_success();
    assert!(
        !step_line(&sn2, &format!("ramdisk {RAMDISK}")).contains("unchanged"),
        "{sn2}"
    );

    // The server's copy touched: found and repaired.
    let busybox = format!("{image}/usr/bin/busybox");
    c.nfs.write(&busybox, "BUSYBOX\n");
    let repaired = c.sync("sn1");
    repaired.assert_success();
    assert!(
        !step_line(&repaired, &what).contains("unchanged"),
        "{repaired}"
    );
    assert_eq!(
        std::fs::read_to_string(c.nfs.path(&busybox)).unwrap(),
        "busybox\n",
        "{repaired}"
    );
    assert!(step_line(&c.sync("sn1"), &what).contains(unchanged));

    // This host's image touched (a mode alone): copied, then recorded once settled.
    sn1.set_mode(format!("{image}/etc/shadow"), 0o640);
    settle();
    let copied = c.sync("sn1");
    copied.assert_success();
    assert_eq!(changes(&copied, &what), 1, "{copied}");
    let mode = std::fs::metadata(c.nfs.path(format!("{image}/etc/shadow")))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
    assert!(step_line(&c.sync("sn1"), &what).contains(unchanged));

    // --verify compares in full, and again after.
    let verify = c
        .syncstatelite("sn1", sn_nodes("sn1"))
        .arg("--verify")
        .run_bounded();
    verify.assert_success();
    assert!(!step_line(&verify, &what).contains("unchanged"), "{verify}");
    assert!(
        verify
            .stdout
            .contains(&format!("verify {NFS} {what}: Ok(0)")),
        "{verify}"
    );
}

#[test]
fn a_first_copy_cut_short_is_finished_by_rsync_not_streamed_over() {
    let lab = Lab::new("lite-cut");
    let c = Cluster::new(&lab, &[]);
    let what = format!("rootimg {COMPUTE}");
    let image = format!("{COMPUTE_DIR}/rootimg");
    // What a tar stream killed midway leaves: some files, the last one truncated, no record.
    c.nfs
        .write(format!("{image}/etc/hosts"), "127.0.0.1 default\n");
    c.nfs.write(format!("{image}/usr/bin/busybox"), "busy");

    let out = c.sync("sn1");
    out.assert_success();
    let line = step_line(&out, &what);
    assert!(!line.contains("tar stream"), "{out}");
    assert!(changes(&out, &what) > 1500, "{out}");
    assert_same(&c.sn("sn1").path(&image), &c.nfs.path(&image));
}

#[test]
fn each_refusal_names_its_node_and_the_others_go_on() {
    let lab = Lab::new("lite-bad");
    let bad = |n: &str, image: &str| {
        [
            ("nodelist", format!("\"{n}\",\"linux,bad,lsn1\",,,,,,,,,,,")),
            (
                "nodetype",
                format!("\"{n}\",\"rhels8.6\",\"x86_64\",\"compute\",\"{image}\",,,,"),
            ),
        ]
    };
    // One image per refusal; `img-badopt` and the unresolvable statemnt use the good image.
    let images: [(&str, &str, &str); 9] = [
        ("ln011", "img-missing", "/install/netboot/missing"),
        ("ln012", "img-empty", "/install/netboot/empty"),
        ("ln013", "img-mounted", "/install/netboot/mounted"),
        ("ln014", "img-nostatelite", "/install/netboot/nostatelite"),
        ("ln015", "img-noinit", "/install/netboot/noinit"),
        ("ln016", "img-nodefault", "/install/netboot/nodefault"),
        ("ln017", "img-outside", "/srv/images/outside"),
        (
            "ln018",
            "img-badopt",
            "/install/netboot/rhels8.6/x86_64/compute",
        ),
        ("ln019", COMPUTE, ""),
    ];
    let mut extra: Vec<(String, String)> = Vec::new();
    for (node, image, dir) in images {
        extra.extend(bad(node, image).map(|(t, r)| (t.to_string(), r)));
        if image != COMPUTE {
            extra.push((
                "osimage".into(),
                osimage_row(image, "", "compute", "nfs").trim_end().into(),
            ));
            extra.push((
                "linuximage".into(),
                linuximage_row(image, dir).trim_end().into(),
            ));
        }
    }
    extra.extend(bad("ln020", "img-nolinux").map(|(t, r)| (t.to_string(), r)));
    extra.push((
        "osimage".into(),
        osimage_row("img-nolinux", "", "compute", "nfs")
            .trim_end()
            .into(),
    ));
    extra.push((
        "litefile".into(),
        "\"img-badopt\",\"/etc/foo\",\"sticky\",,".into(),
    ));
    extra.push((
        "statelite".into(),
        "\"ln019\",,\"nfs1:/install/nodedata/#CMD=hostname#\",,,".into(),
    ));
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(t, r)| (t.as_str(), r.as_str()))
        .collect();
    let c = Cluster::new(&lab, &extra);
    let sn1 = c.sn("sn1");
    sn1.mkdir("install/netboot/empty/rootimg");
    rootimg(sn1, "install/netboot/mounted");
    for dir in ["nostatelite", "noinit", "nodefault"] {
        rootimg(sn1, &format!("install/netboot/{dir}"));
    }
    std::fs::remove_dir(sn1.path("install/netboot/nostatelite/rootimg/.statelite")).unwrap();
    std::fs::remove_file(sn1.path("install/netboot/noinit/rootimg/etc/init.d/statelite")).unwrap();
    std::fs::remove_dir_all(sn1.path("install/netboot/nodefault/rootimg/.default")).unwrap();
    // The same server as a kernel NFS server, to check that dialect too.
    let config = std::fs::read_to_string(sn1.path("extnfs.toml")).unwrap();
    sn1.write("extnfs.toml", config.replace(GANESHA, KNFSD));

    // A file system mounted inside an image (the SN's own mount namespace).
    let out = c
        .prefixed(
            "sn1",
            "ln001,ln011,ln012,ln013,ln014,ln015,ln016,ln017,ln018,ln019,ln020",
            &[
                "sh",
                "-c",
                "mount -t tmpfs lab-proc /install/netboot/mounted/rootimg/proc && exec \"$@\"",
                "mount-then",
            ],
        )
        .run_bounded();
    assert_eq!(out.code(), Some(1), "{out}");
    let failed = |node: &str, text: &str| {
        assert!(
            out.stdout.lines().any(
                |l| l.starts_with(&format!("syncstatelite: {node}: FAILED: ")) && l.contains(text)
            ),
            "{node}: no FAILED line with {text:?}\n{out}"
        );
    };
    failed(
        "ln011",
        "/install/netboot/missing/rootimg does not exist on this host",
    );
    failed(
        "ln012",
        "/install/netboot/empty/rootimg is empty on this host",
    );
    failed(
        "ln013",
        "file systems are mounted inside /install/netboot/mounted/rootimg (",
    );
    failed(
        "ln014",
        "lacks /.statelite: the node would drop to a shell at boot",
    );
    failed("ln015", "lacks /etc/init.d/statelite:");
    failed("ln016", "lacks /.default:");
    failed(
        "ln017",
        "rootimgdir `/srv/images/outside` is not under site.installdir /install",
    );
    failed(
        "ln018",
        "litefile image `img-badopt` file `/etc/foo`: unknown option `sticky`",
    );
    failed(
        "ln019",
        "statelite.statemnt: `nfs1:/install/nodedata/#CMD=hostname#`",
    );
    failed(
        "ln020",
        "osimage img-nolinux has no row in the linuximage table",
    );

    // Nothing of the refused images on the server; the good node went on.
    for dir in [
        "missing",
        "empty",
        "mounted",
        "nostatelite",
        "noinit",
        "nodefault",
    ] {
        assert!(!c.nfs.exists(format!("install/netboot/{dir}")), "{dir}");
    }
    assert!(!c.nfs.exists("srv"));
    assert_same(
        &sn1.path(format!("{COMPUTE_DIR}/rootimg")),
        &c.nfs.path(format!("{COMPUTE_DIR}/rootimg")),
    );
    // One line per export: an entry with several clients continues over lines.
    let exports = c.nfs.read(KNFSD_FILE).replace(" \\\n\t", " ");
    let line = |path: &str| {
        exports
            .lines()
            .find(|l| l.starts_with(&format!("{path} ")))
            .unwrap_or_else(|| panic!("no line for {path}:\n{exports}"))
            .to_string()
    };
    let rootimg_line = line(&format!("/{COMPUTE_DIR}/rootimg"));
    assert!(
        rootimg_line.contains(&format!("{LN001}(ro,")) && rootimg_line.contains("no_root_squash"),
        "{rootimg_line}"
    );
    assert!(!rootimg_line.contains("10.250.131.13"), "{rootimg_line}");
    let statemnt = line("/install/nodedata");
    assert!(
        statemnt.contains(&format!("{LN001}(rw,")) && statemnt.contains("no_root_squash"),
        "{statemnt}"
    );
    assert!(
        !exports.contains("insecure"),
        "Linux clients use privileged ports:\n{exports}"
    );
}
