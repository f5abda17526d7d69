//! The fuzz targets: one per parser of outside input, each with valid samples to mutate and
//! a test running it (`fuzz::targets::<name>`).

use std::path::Path;
use std::sync::OnceLock;

use super::target::{linear, Target};
use crate::xcat::{self, Db, Resolver, Source, Table};

/// A small xCAT database the resolving parsers look values up in.
fn db() -> &'static Db {
    static DB: OnceLock<(tempfile::TempDir, Db)> = OnceLock::new();
    &DB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, text) in [
            (
                "nodelist",
                "#node,groups,status,comments,disable\n\"cn1\",\"lx,all\",,,\n\"cn12\",\"aix,all\",,,\n\"sn1\",\"service\",,,\n",
            ),
            (
                "noderes",
                "#node,nfsserver,xcatmaster,servicenode,comments,disable\n\"lx\",\"nfs1\",,,,\n\"aix\",\"|\\D+(\\d+)|nfs($1%2+1)|\",\"sn1\",,,\n",
            ),
            (
                "nodetype",
                "#node,os,arch,profile,provmethod,comments,disable\n\"cn1\",\"rhels8\",\"x86_64\",\"compute\",\"img\",,\n\"cn12\",\"AIX\",\"ppc64\",,\"71B\",,\n",
            ),
            ("site", "#key,value,comments,disable\n\"installdir\",\"/install\",,\n"),
        ] {
            std::fs::write(dir.path().join(format!("{name}.csv")), text).expect("a table");
        }
        let db = Db::new(Source::Dir(dir.path().to_path_buf()));
        (dir, db)
    })
    .1
}

/// The size of a value or error as text.
fn size<T: std::fmt::Debug>(v: &T) -> usize {
    format!("{v:?}").len()
}

const CSV: &[&str] = &[
    "#node,groups,status,comments,disable\n\"cn1\",\"lx,all\",,,\n\"cn2\",\"a \"\"b\"\"\nc\",,\"x\",\"1\"\n",
    "#key,value,comments,disable\n\"installdir\",\"/install\",,\n\"tftpdir\",\"/tftpboot\",,\n",
    "\u{feff}#image,file,options,comments,disable\n\"ALL\",\"/etc/mtab\",\"tmpfs,rw\",,\n\"img\",\"/var/\",\"persistent\",,\n",
];

const LITETREE: &[&str] = &[
    "#priority,image,directory,mntopts,comments,disable\n\"1.0\",\"ALL\",\"$noderes.nfsserver:/lite/$node\",\"soft\",,\n\"2\",\"img\",\"nfs1:/install/lite\",,,\n",
    "#priority,image,directory,comments,disable\n\"10\",\"lx\",\"/statelite/$nodetype.profile\",,\n",
];

const LITEFILE: &[&str] = &[
    "#image,file,options,comments,disable\n\"ALL\",\"/etc/mtab\",\"tmpfs,rw\",,\n\"img\",\"/var/\",\"persistent\",,\n\"lx\",\"/etc/hosts\",\"ro\",,\n",
    "#image,file,comments,disable\n\"img\",\"/etc/ntp.conf\",,\n",
];

const NODERANGE: &[&str] = &[
    "cn1,cn12",
    "all,-cn1",
    "cn[1-12],sn1",
    "(lx,aix)@all",
    "node001-node010,cn1+3",
    "/cn.*",
    "all-(cn1,sn1)",
    "cn[01-12]a[1-2]",
];

const REGEXATTR: &[&str] = &[
    "|\\D+(\\d+)|nfs($1%2+1)|",
    "/cn(\\d+)/sn$1/",
    "|(.*)|($1)-eth0|",
    "|node(\\d+)|sprintf(\"%03d\", $1+1)|",
    "|\\D+(\\d+)\\D+(\\d+)|r($1)n(($2-1)*10+1)|",
];

const ARITH: &[&str] = &[
    "($1%2+1)",
    "(($2-1)*10+1)",
    "(sprintf(\"%05x\", $1*3))",
    "($1/0)",
    "(-($1<<2)|1)",
];

const SUBVARS: &[&str] = &[
    "$noderes.nfsserver:/lite/state/$nodetype.profile",
    "nfs1:/state",
    "/statelite/$node",
    "$node$nodetype.os:/x",
    "#CMD=hostname#:/x",
    "$nodetype.arch/$noderes.xcatmaster/",
];

const LSPS: &[&str] = &[
    "#Psname:Hostname:Filename:Size:Used:Active:Auto:Type:Chksum\nhd6:sn1:/dev/hd6:512MB:1:yes:yes:lv:0\npaging00:sn1:/dev/paging00:1024MB:0:no:no:lv:0\n",
    "#Psname:Hostname:Filename:Size:Used:Active:Auto:Type\nswapnfs:cn1:/install/nim/paging/p/cn1/swapnfs:64MB:1:yes:yes:nfs\n",
    "hd6:sn1:/dev/hd6:512MB:1:yes:yes:lv:0\n",
];

const FILESYSTEMS: &[&str] = &[
    "/:\n\tnodename\t= sn01\n\tdev\t\t= /install/nim/root/71B_root/cn001\n\tvfs\t\t= nfs\n\n/usr:\n        nodename        = sn01\n        dev             = /install/nim/spot/71B/usr\n\n/home:\n\tnodename = sn01\n\tdev = /home\n",
    "/:\r\n  nodename = sn1  \r\n/usr:\r\n  nodename=sn1\r\n",
];

const INFO: &[&str] = &[
    "export NIM_NAME=cn001\nexport NIM_CONFIGURATION=diskless\nexport SPOT=sn1:/install/nim/spot/71Bcosi/usr\nexport ROOT=sn1:/install/nim/root/71Bcosi_root/cn001\nexport DUMP=sn1:/install/nim/dump/71Bcosi_dump/cn001\nexport NIM_HOSTS=\" 10.0.0.5:cn001 10.0.0.1:sn1 \"\n",
];

const HOSTS: &[&str] = &[
    "127.0.0.1 localhost\n10.0.0.1 sn1 sn1.cluster # the SN\n10.0.0.9 nfs1\n",
    "::1 localhost\n# 10.0.0.9 nfs1\n10.0.0.9\tother",
];

const CONFIG: &[&str] = &[
    "[defaults]\njobs = 4\n\n[server.nfs1]\ntransport = \"ssh\"\nssh_host = \"root@nfs1\"\naddress = \"10.0.0.9\"\n\n[server.nfs1.exports]\napply = true\nkind = \"linux\"\nfile = \"/etc/exports.d/xcat.exports\"\n",
    "[server.gpfs]\ntransport = \"local\"\nlocal_path = \"/gpfs/ext/\"\n[server.gpfs.exports]\nkind = \"ganesha\"\nreload = [\"systemctl\", \"reload\", \"nfs-ganesha\"]\n",
    "",
];

const LSNIM: &[&str] = &[
    "71Bcosi:\n   class         = resources\n   type          = spot\n   server        = master\n   location      = /install/nim/spot/71Bcosi/usr\n   Rstate        = ready for use\n",
    "sn1: cn1:\n   class = machines\n   type = diskless\n   spot = 71Bcosi\n   root = 71Bcosi_root\n",
];

const EXPORTS: &[&str] = &[
    "/install/nim/spot/71Bcosi/usr -ro,root=cn1:cn2,sec=sys\n/install/nim/root/71Bcosi_root/cn1 -rw,root=cn1,access=cn1\n",
    "/install/postscripts *(ro,no_root_squash,sync)\n\"/install/my dir\" 10.0.0.0/24(rw,fsid=1) cn1(ro)\n/home -rw\n",
    "# comment\n/install \\\n  cn[1-3](rw)\n",
];

const GANESHA: &[&str] = &[
    "EXPORT {\n    Export_Id = 101;\n    Path = \"/install/nim/spot/71B/usr\";\n    Pseudo = \"/install/nim/spot/71B/usr\";\n    CLIENT { Clients = cn1, 10.0.0.2; Access_Type = RO; }\n}\n",
    "EXPORT{Export_Id=7;Path=/a;}\nEXPORT {\n  Path = \"/b\";\n  Export_Id = 65535;\n}\n# Export_Id = 3;\n",
];

const APPLIED_LINUX: &[&str] = &[
    "/install/nim/root/r/cn001\tcn001(rw,no_root_squash,insecure,sync)\n/install/spot\t10.0.0.0/8(ro)\n",
    "/install/nim/root/a/very/long/path\n\t\tcn001.cluster(rw,wdelay,no_root_squash,insecure)\n/x  \t*(ro)\n",
];

const APPLIED_AIX: &[&str] = &[
    "/install/nim/spot/71B/usr -ro,root=cn1:cn2,sec=sys\n/install/nim/root/71B_root/cn1 -rw,root=cn1,access=cn1\n",
];

const APPLIED_GANESHA: &[&str] = &[
    "NFS_CORE_PARAM { Protocols = 4; }\nEXPORT {\n  Export_Id = 101;\n  Path = \"/install/statemnt\";\n  Access_Type = None; # none unless listed\n  Squash = Root_Squash;\n  FSAL { Name = VFS; }\n  CLIENT { Clients = lcn001, 10.1.0.0/16; Access_Type = RW; Squash = No_Root_Squash; }\n}\nEXPORT { Export_Id = 102; Path = /install/img/rootimg; Access_Type = RO; }\n",
];

const APPLIED_CES: &[&str] = &[
    "mmnfs:nfsexports:HEADER:version:reserved:reserved:Path:Delegations:Clients:Access_Type:Protocols:Transports:Squash:\nmmnfs:nfsexports:0:1:::/gpfs/install/nim/root/r/cn001:NONE:cn001:RW:3%2C4:TCP:NO_ROOT_SQUASH:\nmmnfs:nfsexports:0:1:::/gpfs/install/spot:NONE:10.0.0.0%2F8:RO:3%2C4:TCP:ROOT_SQUASH:\n",
];

const RSH: &[&str] = &[
    "ssh -F '/a b/cfg' -o \"X=\\\"y\\\"\"",
    "ssh -i /root/.ssh/id_rsa -o ConnectTimeout=5",
];

const RSYNC_OUT: &[&str] = &[
    ">f+++++++++ a/b\ncd+++++++++ a/\n*deleting   old\n\nNumber of files: 3 (reg: 2, dir: 1)\nNumber of regular files transferred: 2\nNumber of deleted files: 1\nTotal bytes sent: 1,234\nTotal bytes received: 56\n",
];

const SCRIPT_OUT: &[&str] = &["created /install/p/cn1/a\nremoved /install/x\ndiffers /install/p/cn2/b\nerror /install/c: No space\n"];

fn tabdump(text: &str) -> usize {
    size(&xcat::tabdump::parse(text)) + size(&Table::parse("nodelist", "fuzz", text))
}

fn noderange(text: &str) -> usize {
    let Ok(nodes) = Resolver::new(db()).nodelist() else {
        return 0;
    };
    let mut first = text.splitn(2, '\n');
    let range = first.next().unwrap_or("");
    let exclude = first.next().map(str::to_string);
    let a = xcat::Expander::new(&nodes, None)
        .with_limit(NAMES)
        .expand(text);
    let b = xcat::Expander::new(&nodes, exclude)
        .with_limit(NAMES)
        .expand(range);
    let count = |r: &Result<Vec<String>, _>| match r {
        Ok(v) => v.iter().map(String::len).sum(),
        Err(e) => size(e),
    };
    count(&a) + count(&b)
}

/// The name limit of the fuzzed expanders: the real one is a million, which takes seconds
/// per input in a debug build; the paths that enforce it are the same.
const NAMES: usize = 20_000;

/// Noderanges generate names: up to the expander's limit (checked after each atom, so at
/// most twice it) per expansion, none longer than the input plus a number; the target
/// expands twice.
fn noderange_output(n: usize) -> usize {
    linear(n) + 2 * 2 * (NAMES + 1) * (n + 24)
}

fn regexattr(text: &str) -> usize {
    size(&xcat::regexattr::transform("cn12", text)) + size(&xcat::regexattr::transform("", text))
}

fn arith(text: &str) -> usize {
    use xcat::arith::{eval, parse, sprintf, Value};
    let mut out = match parse(text) {
        Ok(e) => size(&eval(&e, &[Some("cn12"), Some("12"), None], text)),
        Err(e) => size(&e),
    };
    out += size(&sprintf(text, &[Value::Int(-12), Value::Str("cn1".into())]));
    out
}

fn subvars(text: &str) -> usize {
    use xcat::subvars::{self, Kind};
    let r = Resolver::new(db());
    size(&subvars::subvars(text, "cn1", Kind::Dir, &r))
        + size(&subvars::subvars(text, "cn12", Kind::Server, &r))
        + size(&subvars::statemnt(text, "cn1", &r))
        + size(&subvars::litetree_directory(text, "cn12", &r))
}

fn statemnt(text: &str) -> usize {
    use crate::mounts::statemnt;
    let r = Resolver::new(db());
    size(&statemnt::linux(text, Some("soft"), "cn1", &r))
        + size(&statemnt::aix(text, None, "cn12", &r))
}

fn litetree(text: &str) -> usize {
    let Ok(table) = Table::parse("litetree", "fuzz", text) else {
        return 0;
    };
    let r = Resolver::new(db());
    size(&crate::mounts::lite::litetree(
        &table,
        "cn1",
        "img",
        Some("lx,all"),
        &r,
    ))
}

fn litefile(text: &str) -> usize {
    let Ok(table) = Table::parse("litefile", "fuzz", text) else {
        return 0;
    };
    size(&crate::mounts::lite::litefile(
        &table,
        "img",
        Some("lx"),
        false,
    )) + size(&crate::mounts::lite::litefile(&table, "71B", None, true))
}

fn lsps(text: &str) -> usize {
    size(&crate::aix::lsps::parse(text))
}

fn filesystems(text: &str) -> usize {
    size(&crate::aix::filesystems::redirect(text, "nfs1"))
}

fn info(text: &str) -> usize {
    size(&crate::aix::info::redirect(text, "nfs1", "10.0.0.9"))
}

fn hosts(text: &str) -> usize {
    size(&crate::aix::hosts::ensure_entry(text, "10.0.0.9", "nfs1"))
}

fn config(text: &str) -> usize {
    match crate::config::Config::parse(text, Path::new("fuzz.toml")) {
        Ok(c) => {
            let names: Vec<String> = c.server_names().map(str::to_string).collect();
            names
                .iter()
                .map(|n| {
                    let s = c.server(n);
                    size(&s) + size(&crate::remote::Remote::with_rsh(&s, None))
                })
                .sum::<usize>()
                + size(&c.server("other"))
        }
        Err(e) => size(&e),
    }
}

fn lsnim(text: &str) -> usize {
    let o = crate::nim::parse_stanza("71Bcosi", text);
    size(&o) + size(&o.attr("location")) + size(&crate::nim::is_under(text, "/install"))
}

fn exports(text: &str) -> usize {
    let e = crate::exports::SnExports::parse("/etc/exports", text);
    size(&e) + size(&e.at("/install")) + size(&e.below("/install"))
}

fn ganesha_ids(text: &str) -> usize {
    size(&crate::exports::kinds::ganesha::previous_ids(text))
}

/// What a server of `kind` applies, read back from its own tool or state (doctor, status).
fn applied(kind: crate::config::ServerKind, text: &str) -> usize {
    size(&crate::exports::parse_applied(kind, text))
}

fn applied_linux(text: &str) -> usize {
    applied(crate::config::ServerKind::Linux, text)
}

fn applied_aix(text: &str) -> usize {
    applied(crate::config::ServerKind::Aix, text)
}

fn applied_ganesha(text: &str) -> usize {
    applied(crate::config::ServerKind::Ganesha, text)
}

fn applied_ces(text: &str) -> usize {
    applied(crate::config::ServerKind::Ces, text)
}

fn rsh(text: &str) -> usize {
    size(&crate::remote::split_rsh(text))
}

fn rsync_output(text: &str) -> usize {
    size(&crate::rsync::parse_output(text))
}

fn script_output(text: &str) -> usize {
    size(&crate::scripts::FileReport::parse(text))
        + size(&crate::scripts::allocation_reports(text, 3))
}

/// A target whose output is bounded by [`linear`], as most parsers'.
const fn parser(
    name: &'static str,
    samples: &'static [&'static str],
    run: fn(&str) -> usize,
) -> Target {
    Target {
        name,
        samples,
        run,
        max_output: linear,
    }
}

/// Every fuzz target.
pub(crate) const TARGETS: &[Target] = &[
    parser("tabdump", CSV, tabdump),
    Target {
        max_output: noderange_output,
        ..parser("noderange", NODERANGE, noderange)
    },
    parser("regexattr", REGEXATTR, regexattr),
    parser("arith", ARITH, arith),
    parser("subvars", SUBVARS, subvars),
    parser("statemnt", SUBVARS, statemnt),
    parser("litetree", LITETREE, litetree),
    parser("litefile", LITEFILE, litefile),
    parser("lsps", LSPS, lsps),
    parser("filesystems", FILESYSTEMS, filesystems),
    parser("info", INFO, info),
    parser("hosts", HOSTS, hosts),
    parser("config", CONFIG, config),
    parser("lsnim", LSNIM, lsnim),
    parser("exports", EXPORTS, exports),
    parser("ganesha_ids", GANESHA, ganesha_ids),
    parser("applied_linux", APPLIED_LINUX, applied_linux),
    parser("applied_aix", APPLIED_AIX, applied_aix),
    parser("applied_ganesha", APPLIED_GANESHA, applied_ganesha),
    parser("applied_ces", APPLIED_CES, applied_ces),
    parser("rsh", RSH, rsh),
    parser("rsync_output", RSYNC_OUT, rsync_output),
    parser("script_output", SCRIPT_OUT, script_output),
];

/// Inputs that once failed a target, kept so they never fail again: (target, input).
pub(crate) const REGRESSIONS: &[(&str, &[u8])] = &[
    // A sprintf width too large for usize overflowed (a panic in debug builds) and a large
    // one allocated that many bytes.
    ("arith", b"sprintf(\"%099999999999999999999999d\", 1)"),
    ("arith", b"sprintf(\"%0999999999999d\", 1)"),
    ("regexattr", b"|(\\d+)|sprintf(\"%09999999999s\", $1)|"),
    // The first character of a noderange atom was cut as a byte: a panic on non-ASCII.
    ("noderange", "\u{feff})".as_bytes()),
    ("noderange", "é[1-2]".as_bytes()),
    // A range whose end holds a bracket: found slow by the 200000-input run.
    ("noderange", b"node001-node[1-3]010,cn1+3"),
    ("noderange", b"cn[655350yes1-12]a[1-212]a[1-212]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[112]a[1-2%]"),
    // The name limit held per atom only: many `+N` atoms generated millions of names.
    (
        "noderange",
        b"cn1+999990,cn2+999990,cn3+999990,cn4+999990,cn5+999990,cn6+999990",
    ),
];
