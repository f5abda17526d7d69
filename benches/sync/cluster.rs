//! The generated cluster: xCAT tables, NIM objects and each SN's `/install` and `/tftpboot` as
//! mkdsklsnode leaves them for nodes whose `noderes.nfsserver` is the external server.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The external NFS server, as `noderes.nfsserver` names it.
pub const SERVER: &str = "nfs1";
/// The SPOT both images use (paths are relative to a host's tree, i.e. without the leading `/`).
pub const SPOT: &str = "install/nim/spot/71Bcosi/usr";
/// The non-shared root resource: one directory per node below it.
pub const ROOT: &str = "install/nim/root/71Bcosi_root";
/// The shared_root resource: one tree, per-node files in `etc/.client_data`.
pub const SHARED_ROOT: &str = "install/nim/shared_root/71Bsr_shared_root";
pub const CLIENT_DATA: &str = "install/nim/shared_root/71Bsr_shared_root/etc/.client_data";
/// The per-node files NIM keeps in `.client_data` for a shared_root client (`<name>.<node>`).
const CLIENT_FILES: [&str; 5] = [
    "filesystems",
    "hosts",
    "swapspaces",
    "niminfo",
    "resolv.conf",
];
/// The file of each paging directory.
pub const PAGING_FILE: &str = "swapnfs0";
/// Modification time of everything that is identical on all SNs (SPOT, shared_root): as if
/// copied from the management node with times kept.
const SHARED_MTIME: u64 = 1_700_000_000;

/// The two diskless images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// `71Bcosi`: a root directory per node.
    Own,
    /// `71Bsr`: the shared_root with per-node `.client_data` files.
    Shared,
}

impl Image {
    pub fn name(self) -> &'static str {
        match self {
            Image::Own => "71Bcosi",
            Image::Shared => "71Bsr",
        }
    }

    /// The paging resource's directory.
    pub fn paging(self) -> String {
        format!("install/nim/paging/{}_paging", self.name())
    }

    fn group(self) -> &'static str {
        match self {
            Image::Own => "cosi",
            Image::Shared => "sr",
        }
    }
}

/// A diskless node; odd numbers boot the non-shared root image, even ones the shared_root.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub number: usize,
    pub image: Image,
}

impl Node {
    pub fn new(number: usize) -> Node {
        Node {
            name: format!("cn{number:05}"),
            number,
            image: if number % 2 == 1 {
                Image::Own
            } else {
                Image::Shared
            },
        }
    }

    /// 10.1.0.2 for cn00001: 250 nodes per /24.
    pub fn ip(&self) -> Ipv4Addr {
        let third = u8::try_from(self.number / 250).expect("at most 63,999 nodes");
        Ipv4Addr::new(10, 1, third, (self.number % 250 + 1) as u8)
    }

    /// The node's own data (root directory or `.client_data` files), relative to a host's tree;
    /// its `filesystems` and `hosts` files first.
    pub fn own_files(&self, shape: &Shape) -> Vec<String> {
        match self.image {
            Image::Own => root_files(shape.root_files)
                .iter()
                .map(|f| format!("{ROOT}/{}/{f}", self.name))
                .collect(),
            Image::Shared => CLIENT_FILES
                .iter()
                .map(|f| format!("{CLIENT_DATA}/{f}.{}", self.name))
                .collect(),
        }
    }

    /// The node's paging directory, relative to a host's tree.
    pub fn paging_dir(&self) -> String {
        format!("{}/{}", self.image.paging(), self.name)
    }

    /// The node's paging file, relative to a host's tree.
    pub fn paging_file(&self) -> String {
        format!("{}/{PAGING_FILE}", self.paging_dir())
    }
}

/// A service node and the nodes it serves.
#[derive(Clone, Debug)]
pub struct ServiceNode {
    pub name: String,
    pub address: Ipv4Addr,
    pub nodes: Vec<Node>,
}

impl ServiceNode {
    /// SN number `index` (from 0) of SNs with `per_sn` nodes each.
    pub fn new(index: usize, per_sn: usize) -> ServiceNode {
        ServiceNode {
            name: format!("sn{}", index + 1),
            address: Ipv4Addr::new(10, 1, 255, (index + 1) as u8),
            nodes: (index * per_sn + 1..=(index + 1) * per_sn)
                .map(Node::new)
                .collect(),
        }
    }

    /// The xCAT group of its nodes.
    pub fn group(&self) -> String {
        format!("{}nodes", self.name)
    }
}

/// How big the generated data is.
#[derive(Clone, Debug)]
pub struct Shape {
    pub nodes_per_sn: usize,
    pub spot_files: usize,
    pub shared_root_files: usize,
    /// Files in each node's own root directory.
    pub root_files: usize,
    pub paging_bytes: u64,
    /// Whole trees (SPOT, shared_root, roots); otherwise only the files planning reads.
    pub full: bool,
}

/// Writes the dumpxCATdb directory for all `sns`.
pub fn write_tables(db: &Path, sns: &[ServiceNode]) -> io::Result<()> {
    fs::create_dir_all(db)?;
    let mut nodelist = String::from("#node,groups,status,comments,disable\n");
    let mut noderes = String::from("#node,servicenode,nfsserver,xcatmaster,comments,disable\n");
    nodelist.push_str("\"mn01\",\"mgmt\",,,\n");
    for sn in sns {
        let _ = writeln!(nodelist, "\"{}\",\"service\",,,", sn.name);
        let _ = writeln!(
            noderes,
            "\"{}\",\"{sn}\",,\"{sn}\",,",
            sn.group(),
            sn = sn.name
        );
        for n in &sn.nodes {
            let _ = writeln!(
                nodelist,
                "\"{}\",\"compute,aix,{},{}\",,,",
                n.name,
                n.image.group(),
                sn.group()
            );
        }
    }
    let _ = writeln!(
        noderes,
        "\"aix\",,\"{SERVER}\",,\"external HA NFS server\","
    );
    let mut hosts = String::from("#node,ip,hostnames,otherinterfaces,comments,disable\n");
    for n in sns.iter().flat_map(|sn| &sn.nodes) {
        let _ = writeln!(hosts, "\"{}\",\"{}\",,,,", n.name, n.ip());
    }
    fs::write(db.join("hosts.csv"), hosts)?;
    fs::write(db.join("nodelist.csv"), nodelist)?;
    fs::write(db.join("noderes.csv"), noderes)?;
    fs::write(
        db.join("nodetype.csv"),
        "#node,os,arch,profile,provmethod,comments,disable\n\
         \"cosi\",\"AIX\",\"ppc64\",,\"71Bcosi\",,\n\
         \"sr\",\"AIX\",\"ppc64\",,\"71Bsr\",,\n",
    )?;
    fs::write(
        db.join("nimimage.csv"),
        "#imagename,nimtype,lpp_source,spot,root,dump,paging,shared_root,comments,disable\n\
         \"71Bcosi\",\"diskless\",\"71B_lpp_source\",\"71Bcosi\",\"71Bcosi_root\",,\"71Bcosi_paging\",,,\n\
         \"71Bsr\",\"diskless\",\"71B_lpp_source\",\"71Bcosi\",,,\"71Bsr_paging\",\"71Bsr_shared_root\",,\n",
    )?;
    fs::write(
        db.join("site.csv"),
        "#key,value,comments,disable\n\"master\",\"mn01\",,\n\"installdir\",\"/install\",,\n\
         \"tftpdir\",\"/tftpboot\",,\n\"domain\",\"cluster.example\",,\n\"nimprime\",\"mn01\",,\n",
    )
}

/// Writes one SN's NIM database for the tests' lsnim stand-in (`lsnim -l` stanzas): the
/// resources and the SN's nodes.
pub fn write_lsnim_db(path: &Path, sn: &ServiceNode) -> io::Result<()> {
    let mut text = String::new();
    let resources = [
        ("71Bcosi", "spot", format!("/{SPOT}"), ""),
        ("71Bcosi_root", "root", format!("/{ROOT}"), ""),
        (
            "71Bcosi_paging",
            "paging",
            format!("/{}", Image::Own.paging()),
            "",
        ),
        (
            "71Bsr_shared_root",
            "shared_root",
            format!("/{SHARED_ROOT}"),
            "   spot        = 71Bcosi\n",
        ),
        (
            "71Bsr_paging",
            "paging",
            format!("/{}", Image::Shared.paging()),
            "",
        ),
    ];
    for (name, kind, location, extra) in resources {
        let _ = write!(
            text,
            "{name}:\n   class       = resources\n   type        = {kind}\n   \
             Rstate      = ready for use\n   location    = {location}\n{extra}   \
             server      = master\n\n"
        );
    }
    for n in &sn.nodes {
        let root = match n.image {
            Image::Own => "   root           = 71Bcosi_root\n",
            Image::Shared => "   shared_root    = 71Bsr_shared_root\n",
        };
        let _ = write!(
            text,
            "{}:\n   class          = machines\n   type           = diskless\n   \
             platform       = chrp\n   spot           = 71Bcosi\n{root}   \
             paging         = {}_paging\n\n",
            n.name,
            n.image.name()
        );
    }
    fs::write(path, text)
}

/// Writes one SN's tree below `root` (its `/`): SPOT, shared_root, the nodes' roots or
/// `.client_data` files, `.info` files and sparse paging files, already pointing at the server
/// at `server_ip` (what mkdsklsnode writes when `nfsserver` is set).
pub fn write_sn_tree(
    root: &Path,
    sn: &ServiceNode,
    shape: &Shape,
    server_ip: Ipv4Addr,
) -> io::Result<()> {
    let (spot_files, shared_files) = if shape.full {
        (shape.spot_files, shape.shared_root_files)
    } else {
        (1, 1)
    };
    let fixed = SystemTime::UNIX_EPOCH + Duration::from_secs(SHARED_MTIME);
    write_fixed_tree(&root.join(SPOT), spot_files, 8 << 10, 0x5907)?;
    set_times(&root.join(SPOT), fixed)?;
    write_fixed_tree(&root.join(SHARED_ROOT), shared_files, 4 << 10, 0x54a8)?;
    fs::create_dir_all(root.join(CLIENT_DATA))?;
    set_times(&root.join(SHARED_ROOT), fixed)?;
    let hosts = format!(
        "127.0.0.1 loopback localhost\n{} {}\n{server_ip} {SERVER}\n",
        sn.address, sn.name
    );
    for n in &sn.nodes {
        write_node(root, sn, n, shape, &hosts, server_ip)?;
    }
    write_file(&root.join("etc/exports"), exports(sn).as_bytes())
}

/// The SN's `/etc/exports` as NIM writes it: the SPOT and the shared_root for their nodes,
/// each node's root and paging directory for that node.
fn exports(sn: &ServiceNode) -> String {
    let list = |image: Option<Image>| {
        sn.nodes
            .iter()
            .filter(|n| image.is_none_or(|i| n.image == i))
            .map(|n| n.ip().to_string())
            .collect::<Vec<_>>()
            .join(":")
    };
    let all = list(None);
    let shared = list(Some(Image::Shared));
    let mut text = format!(
        "/{SPOT} -ro,root={all},access={all}\n/{SHARED_ROOT} -ro,root={shared},access={shared}\n"
    );
    for n in &sn.nodes {
        let ip = n.ip();
        if n.image == Image::Own {
            let _ = writeln!(text, "/{ROOT}/{} -root={ip},access={ip}", n.name);
        }
        let _ = writeln!(
            text,
            "/{}/{} -root={ip},access={ip}",
            n.image.paging(),
            n.name
        );
    }
    text
}

fn write_node(
    root: &Path,
    sn: &ServiceNode,
    n: &Node,
    shape: &Shape,
    hosts: &str,
    server_ip: Ipv4Addr,
) -> io::Result<()> {
    let files = n.own_files(shape);
    let root_dev = match n.image {
        Image::Own => format!("/{ROOT}/{}", n.name),
        Image::Shared => format!("/{SHARED_ROOT}"),
    };
    write_file(&root.join(&files[0]), filesystems(&root_dev).as_bytes())?;
    write_file(&root.join(&files[1]), hosts.as_bytes())?;
    if shape.full {
        for (i, rel) in files.iter().skip(2).enumerate() {
            let len = 200 + (n.number * 37 + i * 101) % 1800;
            write_file(&root.join(rel), &content(len, (n.number * 64 + i) as u64))?;
        }
    }
    if n.image == Image::Own {
        let info = format!(
            "export NIM_NAME={name}\nexport NIM_HOSTNAME={name}\nexport NIM_CONFIGURATION=diskless\n\
             export NIM_MASTER_HOSTNAME={sn}\nexport RC_CONFIG=rc.dd_boot\n\
             export SPOT={SERVER}:/{SPOT}\nexport ROOT={SERVER}:/{ROOT}/{name}\n\
             export NIM_HOSTS=\" {ip}:{name} {sn_ip}:{sn} {server_ip}:{SERVER} \"\n\
             export ROUTES=\" default:0:10.1.0.254 \"\n",
            name = n.name,
            sn = sn.name,
            sn_ip = sn.address,
            ip = n.ip(),
        );
        write_file(
            &root.join(format!("tftpboot/{}.info", n.ip())),
            info.as_bytes(),
        )?;
    }
    let paging = root.join(n.paging_file());
    fs::create_dir_all(paging.parent().expect("paging file has a directory"))?;
    fs::File::create(&paging)?.set_len(shape.paging_bytes)
}

/// A node's `/etc/filesystems` with `/` and `/usr` mounted from the server.
fn filesystems(root_dev: &str) -> String {
    format!(
        "/:\n\tnodename\t= {SERVER}\n\tdev\t\t= {root_dev}\n\tvfs\t\t= nfs\n\tmount\t\t= automatic\n\
         \ttype\t\t= dd_boot\n\toptions\t\t= bg,hard,intr\n\n\
         /usr:\n\tnodename\t= {SERVER}\n\tdev\t\t= /{SPOT}\n\tvfs\t\t= nfs\n\tmount\t\t= automatic\n\
         \ttype\t\t= dd_boot\n\toptions\t\t= ro,bg,hard,intr\n\n\
         /proc:\n\tdev\t\t= /proc\n\tvol\t\t= /proc\n\tmount\t\t= true\n\tcheck\t\t= false\n\
         \tfree\t\t= false\n\tvfs\t\t= procfs\n"
    )
}

/// The files of a node's root directory: `etc/filesystems`, `etc/hosts`, then others.
pub fn root_files(count: usize) -> Vec<String> {
    const DIRS: [&str; 5] = ["etc", "etc/objrepos", "var/adm", "sbin", "home"];
    let mut files = vec!["etc/filesystems".to_string(), "etc/hosts".to_string()];
    files.extend((2..count).map(|i| format!("{}/f{i:02}", DIRS[i % DIRS.len()])));
    files
}

/// `count` files of about `mean` bytes in 100-file directories, the same on every SN.
fn write_fixed_tree(dir: &Path, count: usize, mean: usize, seed: u64) -> io::Result<()> {
    for i in 0..count {
        let len = (i * 7919 + seed as usize) % (2 * mean);
        let path = dir.join(format!("d{:03}/f{:03}", i / 100, i % 100));
        write_file(&path, &content(len, seed ^ i as u64))?;
    }
    Ok(())
}

/// Sets the modification time of `dir` and everything below it.
fn set_times(dir: &Path, time: SystemTime) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            set_times(&path, time)?;
        } else {
            fs::File::options()
                .write(true)
                .open(&path)?
                .set_modified(time)?;
        }
    }
    fs::File::open(dir)?.set_modified(time)
}

fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, data)
}

/// `len` bytes of hex digits from a xorshift generator: different per seed, and about as
/// compressible (2:1) as binaries.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"0123456789abcdef"[(x & 15) as usize]
        })
        .collect()
}

/// The hosts file lines (`address name`) for the server and every node of `sns`.
pub fn hosts_file(server_ip: Ipv4Addr, sns: &[ServiceNode]) -> String {
    let mut text = format!("127.0.0.1\tlocalhost\n{server_ip}\t{SERVER}\n");
    for sn in sns {
        let _ = writeln!(text, "{}\t{}", sn.address, sn.name);
        for n in &sn.nodes {
            let _ = writeln!(text, "{}\t{}", n.ip(), n.name);
        }
    }
    text
}

/// Where the server keeps the SNs' exports parts and the merged Ganesha exports (its private
/// `/etc/ganesha`; no Ganesha runs, so reloading is `true`, as in the end-to-end tests).
pub const GANESHA_DIR: &str = "etc/ganesha";

/// The syncaixres configuration for the server (ssh transport, `paging` mode, exports).
pub fn write_config(path: &Path, lock_dir: &Path, server_ip: Ipv4Addr, paging: &str) -> PathBuf {
    let text = format!(
        "lock_dir = \"{lock}\"\nsyslog = false\n\n[server.{SERVER}]\naddress = \"{server_ip}\"\n\
         paging = \"{paging}\"\n\n[server.{SERVER}.exports]\nkind = \"ganesha\"\n\
         parts_dir = \"/{GANESHA_DIR}/xcat-extnfs-parts\"\nreload = [\"true\"]\n",
        lock = lock_dir.display()
    );
    fs::write(path, text).expect("write the syncaixres configuration");
    path.to_path_buf()
}
