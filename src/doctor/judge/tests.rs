//! Doctor's judgement on fixtures: the example cluster's tables (its Linux statelite nodes
//! ln001-ln004), made-up AIX nodes and steps, and servers that answer from a map.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::*;
use crate::config::Config;
use crate::mounts::{Model, Mount};
use crate::statelite::facts::Facts;
use crate::sync::context::DirState;
use crate::sync::inventory::{Resource, RootKind};
use crate::sync::step::StepKind;
use crate::xcat::{Db, Resolver, Source};

const COMPUTE: &str = "/install/netboot/rhels8.6/x86_64/compute/rootimg";

fn model() -> Model {
    let db = Db::new(Source::Dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/db"),
    ));
    let r = Resolver::new(&db);
    let nodes: Vec<String> = ["ln001", "ln002", "ln003", "ln004"]
        .map(String::from)
        .to_vec();
    mounts::gather(&r, &nodes, &mounts::Options::default()).unwrap()
}

fn node<'m>(m: &'m Model, name: &str) -> &'m NodeMounts {
    m.nodes.iter().find(|n| n.node == name).unwrap()
}

/// A server that has the files of `sizes` (anything else is missing), or cannot be read.
#[derive(Default)]
struct Server {
    sizes: BTreeMap<String, String>,
    applied: Option<Applied>,
    down: bool,
    asked: Mutex<usize>,
}

impl ServerReads for Server {
    fn applied(&self, _server: &str) -> Result<Applied, String> {
        self.applied
            .clone()
            .ok_or_else(|| "exportfs: not found".into())
    }
    fn sizes(&self, _server: &str, paths: &[String]) -> Result<BTreeMap<String, String>, String> {
        *self.asked.lock().unwrap() += 1;
        if self.down {
            return Err("ssh: connection refused".into());
        }
        Ok(paths
            .iter()
            .map(|p| {
                let v = self.sizes.get(p).cloned().unwrap_or("missing".into());
                (p.clone(), v)
            })
            .collect())
    }
}

impl Server {
    fn with(files: &[(&str, &str)]) -> Server {
        Server {
            sizes: files
                .iter()
                .map(|(p, s)| (p.to_string(), s.to_string()))
                .collect(),
            ..Server::default()
        }
    }
}

/// The problems as (check, nodes) pairs and the fixes, in the report's order.
fn found(f: Findings) -> Vec<(String, Vec<String>, String, String)> {
    f.problems()
        .into_iter()
        .map(|p| (p.check, p.nodes, p.message, p.fix))
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn configs(kind: &str) -> BTreeMap<String, ServerConfig> {
    let text = format!("[server.nfs1.exports]\nkind = \"{kind}\"\n");
    let config = Config::parse(&text, std::path::Path::new("extnfs.toml")).unwrap();
    BTreeMap::from([("nfs1".to_string(), config.server("nfs1"))])
}

#[test]
fn needs_follow_the_mount_and_the_server_kind() {
    let root = Mount::new(
        Kind::Root,
        "nfs1",
        "/r/cn001",
        mounts::Access::Rw,
        true,
        true,
    );
    assert_eq!(needs(&root, ServerKind::Linux), (Access::Rw, true, true));
    assert_eq!(needs(&root, ServerKind::Ganesha), (Access::Rw, true, false));
    let spot = Mount::new(Kind::Spot, "nfs1", "/s/usr", mounts::Access::Ro, true, true);
    assert_eq!(needs(&spot, ServerKind::Linux), (Access::Ro, false, true));
    let lite = Mount::new(
        Kind::Litetree,
        "nfs1",
        "/l",
        mounts::Access::Ro,
        true,
        false,
    );
    assert_eq!(needs(&lite, ServerKind::Linux), (Access::Ro, false, false));
}

#[test]
fn each_shortfall_of_a_grant_is_its_own_problem() {
    let statemnt = Mount::new(
        Kind::Statemnt,
        "nfs1",
        "/install/nodedata",
        mounts::Access::Rw,
        true,
        false,
    );
    let rw = ClientAccess::new(Access::Rw, Squash::None);
    let ro = ClientAccess::new(Access::Ro, Squash::None);
    let squashed = ClientAccess::new(Access::Rw, Squash::Root);
    let k = ServerKind::Ganesha;
    assert_eq!(export_problem(&statemnt, k, Some(&rw)), None);
    assert!(export_problem(&statemnt, k, Some(&ro))
        .unwrap()
        .contains("read-only"));
    assert!(export_problem(&statemnt, k, Some(&squashed))
        .unwrap()
        .contains("squashes root"));
    assert!(export_problem(&statemnt, k, None)
        .unwrap()
        .contains("not exported"));
    // An AIX client of a Linux knfsd needs `insecure`; Ganesha accepts its ports anyway.
    let root = Mount::new(
        Kind::Root,
        "nfs1",
        "/r/cn001",
        mounts::Access::Rw,
        true,
        true,
    );
    assert!(export_problem(&root, ServerKind::Linux, Some(&rw))
        .unwrap()
        .contains("insecure"));
    let mut insecure = rw.clone();
    insecure.insecure = true;
    assert_eq!(
        export_problem(&root, ServerKind::Linux, Some(&insecure)),
        None
    );
    assert_eq!(export_problem(&root, ServerKind::Ganesha, Some(&rw)), None);
    // The paging, rootimg and litetree mounts: rw+root, ro, ro.
    let paging = Mount::new(
        Kind::Paging,
        "nfs1",
        "/p/cn001",
        mounts::Access::Rw,
        true,
        true,
    );
    assert!(export_problem(&paging, k, Some(&squashed)).is_some());
    let rootimg = Mount::new(
        Kind::Rootimg,
        "nfs1",
        COMPUTE,
        mounts::Access::Ro,
        true,
        false,
    );
    assert_eq!(export_problem(&rootimg, k, Some(&ro)), None);
    assert_eq!(
        export_problem(
            &rootimg,
            k,
            Some(&ClientAccess::new(Access::Ro, Squash::Root))
        ),
        None
    );
}

#[test]
fn a_statemnt_exported_read_only_to_one_node_names_that_node_only() {
    let m = model();
    let on = BTreeMap::from([(
        "nfs1".to_string(),
        vec![node(&m, "ln001"), node(&m, "ln002")],
    )]);
    let conf = |statemnt_ln001: &str| {
        format!(
            "EXPORT {{ Export_Id = 1; Path = /install/nodedata; Access_Type = None;\n\
             CLIENT {{ Clients = 10.1.2.1; Access_Type = {statemnt_ln001}; Squash = No_Root_Squash; }}\n\
             CLIENT {{ Clients = 10.1.2.0/24; Access_Type = RW; Squash = No_Root_Squash; }} }}\n\
             EXPORT {{ Export_Id = 2; Path = /install; Access_Type = RO; Squash = No_Root_Squash; }}\n"
        )
    };
    let ip_of = |n: &str| {
        format!("10.1.2.{}", n[2..].parse::<u8>().unwrap())
            .parse()
            .ok()
    };
    let same = |a: &str, b: &str| a == b;
    let run = |applied: Result<Applied, String>| {
        let mut f = Findings::default();
        let applied = BTreeMap::from([("nfs1".to_string(), applied)]);
        exports(&on, &configs("ganesha"), &applied, &ip_of, &same, &mut f);
        found(f)
    };
    assert_eq!(
        run(Ok(crate::exports::parse_applied(
            ServerKind::Ganesha,
            &conf("RW")
        ))),
        vec![]
    );
    let got = run(Ok(crate::exports::parse_applied(
        ServerKind::Ganesha,
        &conf("RO"),
    )));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        (got[0].0.as_str(), &got[0].1),
        ("exports", &names(&["ln001"]))
    );
    assert!(got[0].2.starts_with("statemnt on nfs1: "), "{}", got[0].2);
    assert!(got[0].2.contains("read-only"), "{}", got[0].2);
    assert_eq!(
        got[0].3,
        "extnfs exports apply --server nfs1 (on the nodes' SN)"
    );
    // Nothing readable: every node of the server, once.
    let got = run(Err("no such file".into()));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, names(&["ln001", "ln002"]));
}

#[test]
fn linux_redirection_names_the_image_server_and_each_mount_elsewhere() {
    let m = model();
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let mut f = Findings::default();
    linux_redirection(node(&m, "ln001"), "nfs1", &same, &mut f);
    assert_eq!(found(f), vec![]);
    let mut ln002 = node(&m, "ln002").clone();
    ln002.server = "sn1".into();
    let litetree = ln002
        .mounts
        .iter_mut()
        .find(|m| m.kind == Kind::Litetree)
        .unwrap();
    litetree.server = "sn1".into();
    let mut f = Findings::default();
    linux_redirection(&ln002, "nfs1", &same, &mut f);
    let got = found(f);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got
        .iter()
        .all(|p| p.0 == "redirection" && p.1 == names(&["ln002"])));
    assert!(got
        .iter()
        .any(|p| p.2.contains("kernel command line names sn1")
            && p.3 == "chdef -t node -o ln002 nfsserver=nfs1, then nodeset ln002 osimage"));
    assert!(got.iter().any(
        |p| p.2.starts_with("litetree is mounted from sn1") && p.3.contains("tabedit litetree")
    ));
}

#[test]
fn statelite_findings_go_to_their_node_or_to_every_node_of_their_image() {
    let m = model();
    let nodes: Vec<&NodeMounts> = m.nodes.iter().collect();
    let image = node(&m, "ln001").image.clone();
    assert_eq!(statelite_subjects("ln002", &nodes), names(&["ln002"]));
    assert_eq!(
        statelite_subjects(&image, &nodes),
        names(&["ln001", "ln002", "ln003"])
    );
    assert!(statelite_subjects("unknown", &nodes).is_empty());
    let findings = [
        statelite::plan::Finding {
            subject: image,
            message: "rootimg lacks /.statelite".into(),
            failure: true,
        },
        statelite::plan::Finding {
            subject: "ln004".into(),
            message: "RAMdisk".into(),
            failure: false,
        },
    ];
    let mut f = Findings::default();
    statelite_findings(&findings, &nodes, &mut f);
    let got = found(f);
    assert_eq!(got[0].1, names(&["ln004"]));
    assert_eq!(got[1].1, names(&["ln001", "ln002", "ln003"]));
    assert_eq!(got[1].3, "syncstatelite --nodes ln001-ln003");
}

/// This host has nothing: the plan's litetree steps become checks on the server.
struct NoFiles;

impl Facts for NoFiles {
    fn dir(&self, _: &str) -> DirState {
        DirState::Missing
    }
    fn file(&self, _: &str) -> bool {
        false
    }
    fn mounts_inside(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn same_files(&self, _: &str, _: &str) -> bool {
        false
    }
}

fn litefile_checks(m: &Model) -> Vec<statelite::plan::LitefileCheck> {
    let targets: Vec<statelite::plan::Target<'_>> = m
        .nodes
        .iter()
        .map(|n| statelite::plan::Target {
            node: n,
            server: "nfs1".into(),
        })
        .collect();
    let plan = statelite::plan::plan_lite(&targets, &NoFiles, &|a, b| a == b);
    plan.steps
        .into_iter()
        .find_map(|s| match s.kind {
            statelite::plan::StepKind::Litefile { checks } => Some(checks),
            _ => None,
        })
        .unwrap()
}

#[test]
fn an_ro_litefile_entry_in_no_litetree_names_exactly_the_nodes_of_its_entry() {
    let m = model();
    let nodes: Vec<&NodeMounts> = m.nodes.iter().collect();
    let checks = litefile_checks(&m);
    let mut server = Server::with(&[
        ("/install/litetree/site/etc/hosts", "20"),
        ("/install/litetree/site/etc/chrony.conf", "40"),
        ("/install/litetree/site/etc/motd", "9"),
        ("/install/litetree/ramdisk/etc/hosts", "20"),
    ]);
    let run = |server: &Server| {
        let mut f = Findings::default();
        litefile("nfs1", &checks, &nodes, server, &mut f);
        found(f)
    };
    assert_eq!(run(&server), vec![]);
    assert_eq!(*server.asked.lock().unwrap(), 1, "one listing per server");
    // The site's copy gone: every node whose image's group (lite8) has the entry.
    server
        .sizes
        .remove("/install/litetree/site/etc/chrony.conf");
    let got = run(&server);
    assert_eq!(got.len(), 1, "{got:#?}");
    let (check, who, message, fix) = &got[0];
    assert_eq!(
        (check.as_str(), who),
        ("statelite", &names(&["ln001", "ln002", "ln003"]))
    );
    assert!(message.starts_with("litefile /etc/chrony.conf (link,ro) of image rhels8.6-x86_64-statelite-compute is in no litetree directory on nfs1"), "{message}");
    assert!(
        fix.starts_with("chtab -d image=lite8,file=/etc/chrony.conf litefile "),
        "{fix}"
    );
    // A node's own litetree holds it: that node is no longer concerned; an empty directory
    // holds nothing, as for the node.
    server.sizes.insert(
        "/install/litetree/nodes/ln003/etc/chrony.conf".into(),
        "40".into(),
    );
    server.sizes.insert(
        "/install/litetree/nodes/ln002/etc/chrony.conf".into(),
        "empty".into(),
    );
    assert_eq!(run(&server)[0].1, names(&["ln001", "ln002"]));
    // An entry of every image (ALL /etc/hosts, ro) missing for the RAMdisk image only.
    server.sizes.remove("/install/litetree/ramdisk/etc/hosts");
    let got = run(&server);
    let hosts: Vec<_> = got.iter().filter(|p| p.2.contains("/etc/hosts")).collect();
    assert_eq!(hosts.len(), 1, "{got:#?}");
    assert_eq!(hosts[0].1, names(&["ln004"]));
    assert!(hosts[0]
        .3
        .starts_with("chtab -d image=ALL,file=/etc/hosts litefile "));
    // The server cannot be listed: every node with an entry to check, once.
    server.down = true;
    let got = run(&server);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, names(&["ln001", "ln002", "ln003", "ln004"]));
}

#[test]
fn boot_needs_are_checked_once_per_path_and_given_to_the_image_s_nodes() {
    let m = model();
    let targets: Vec<statelite::plan::Target<'_>> = m
        .nodes
        .iter()
        .map(|n| statelite::plan::Target {
            node: n,
            server: "nfs1".into(),
        })
        .collect();
    let good = [
        (format!("{COMPUTE}/.statelite"), "empty"),
        (format!("{COMPUTE}/etc/init.d/statelite"), "120"),
        (format!("{COMPUTE}/.default"), "dir"),
    ];
    let server = |files: &[(String, &str)]| {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, s)| (p.as_str(), *s)).collect();
        Server::with(&files)
    };
    let run = |server: &Server| {
        let mut f = Findings::default();
        boot_needs(&targets, server, &mut f);
        found(f)
    };
    let s = server(&good);
    assert_eq!(run(&s), vec![]);
    assert_eq!(*s.asked.lock().unwrap(), 1);
    let mut bad = good.clone();
    bad[1].1 = "missing";
    bad[2].1 = "12"; // a file where the directory should be
    let got = run(&server(&bad));
    assert_eq!(got.len(), 2, "{got:#?}");
    for p in &got {
        // ln004 boots a RAMdisk: no NFS root.
        assert_eq!(p.1, names(&["ln001", "ln002", "ln003"]));
        assert_eq!(p.3, "syncstatelite --nodes ln001-ln003");
    }
}

fn target(node: &str, nim: &str, shared: bool) -> Target {
    let res = |name: &str, location: &str| Resource {
        name: name.into(),
        location: location.into(),
    };
    Target {
        node: node.into(),
        nim: nim.into(),
        image: "71B".into(),
        server: "nfs1".into(),
        ip: None,
        spot: res("71Bspot", "/install/nim/spot/71B"),
        root: match shared {
            true => RootKind::Shared(res("71Bsr", "/install/nim/shared_root/71Bsr")),
            false => RootKind::Own(res("71Broot", "/install/nim/root/71Broot")),
        },
        paging: None,
        dump: None,
    }
}

fn step(role: Role, nodes: &[&str]) -> Step {
    Step {
        server: "nfs1".into(),
        role,
        resource: "r".into(),
        location: "/install/nim/x".into(),
        label: "x".into(),
        nodes: names(nodes),
        kind: StepKind::Allocate { dirs: Vec::new() },
        covers: Vec::new(),
        needs: Vec::new(),
    }
}

#[test]
fn content_differences_are_given_to_the_nodes_whose_files_they_are() {
    let targets = [
        target("cn001", "cn001", false),
        target("cn002", "cn002_71B", false),
        target("cn003", "cn003", true),
        target("cn004", "cn004", true),
    ];
    let items = |list: &[&str]| names(list);
    let set = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let root = step(Role::Root, &["cn001", "cn002"]);
    assert_eq!(
        content_owners(
            &root,
            &items(&["./", "cn002_71B/etc/filesystems"]),
            &targets
        ),
        set(&["cn002"])
    );
    // Something outside any node's directory concerns them all.
    assert_eq!(
        content_owners(&root, &items(&["stray"]), &targets),
        set(&["cn001", "cn002"])
    );
    let sr = step(Role::SharedRoot, &["cn003", "cn004"]);
    assert_eq!(
        content_owners(&sr, &items(&["etc/.client_data/hosts.cn004"]), &targets),
        set(&["cn004"])
    );
    assert_eq!(
        content_owners(&sr, &items(&["usr/lib/x"]), &targets),
        set(&["cn003", "cn004"])
    );
    let spot = step(Role::Spot, &["cn001", "cn002", "cn003", "cn004"]);
    assert_eq!(
        content_owners(&spot, &items(&["bin/ksh"]), &targets).len(),
        4
    );
    assert!(content_owners(&spot, &items(&["./"]), &targets).is_empty());
}

#[test]
fn paging_files_must_exist_on_the_server_with_the_sn_s_size() {
    let file = |node: &str, size: u64| PagingFile {
        path: format!("/install/nim/paging/71B_paging/{node}/swapnfs0"),
        size,
        node: node.into(),
    };
    let wanted = BTreeMap::from([(
        "nfs1".to_string(),
        vec![
            file("cn001", 64),
            file("cn002", 64),
            file("cn003", 64),
            file("cn004", 64),
        ],
    )]);
    let mut server = Server::with(&[
        ("/install/nim/paging/71B_paging/cn001/swapnfs0", "64"),
        ("/install/nim/paging/71B_paging/cn003/swapnfs0", "32"),
        ("/install/nim/paging/71B_paging/cn004/swapnfs0", "dir"),
    ]);
    let run = |server: &Server| {
        let mut f = Findings::default();
        paging(&wanted, server, &mut f);
        found(f)
    };
    let got = run(&server);
    assert_eq!(got.len(), 3, "{got:#?}");
    let by_node: BTreeMap<&str, &str> = got
        .iter()
        .map(|p| (p.1[0].as_str(), p.2.as_str()))
        .collect();
    assert!(by_node["cn002"].starts_with("a paging file is missing"));
    assert!(by_node["cn003"].contains("another size"));
    assert!(by_node["cn004"].contains("directory"));
    assert!(got
        .iter()
        .all(|p| p.0 == "paging" && p.3.starts_with("syncaixres --nodes ")));
    assert_eq!(*server.asked.lock().unwrap(), 1);
    server.down = true;
    let got = run(&server);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, names(&["cn001", "cn002", "cn003", "cn004"]));
}

fn aix_node(m: &Model, name: &str, nfs_paging: bool) -> NodeMounts {
    let mut n = node(m, "ln001").clone();
    n.node = name.into();
    n.os = Os::Aix;
    n.linux = None;
    n.mounts = vec![Mount::new(
        Kind::Root,
        "nfs1",
        &format!("/install/nim/root/71Broot/{name}"),
        mounts::Access::Rw,
        true,
        true,
    )];
    if nfs_paging {
        n.mounts.push(Mount::new(
            Kind::Paging,
            "nfs1",
            &format!("/install/nim/paging/71B_paging/{name}"),
            mounts::Access::Rw,
            true,
            true,
        ));
    }
    n
}

#[test]
fn xcat_setup_wants_the_sync_script_and_redirectps_where_paging_is_on_nfs() {
    let m = model();
    let cn001 = aix_node(&m, "cn001", true);
    let cn002 = aix_node(&m, "cn002", true);
    let cn003 = aix_node(&m, "cn003", false);
    let cn009 = aix_node(&m, "cn009", true);
    let nodes = [
        &cn001,
        &cn002,
        &cn003,
        &cn009,
        node(&m, "ln001"),
        node(&m, "ln002"),
    ];
    // cn009 stays on its SN: not checked.
    let server_of: BTreeMap<&str, &str> = ["cn001", "cn002", "cn003", "ln001", "ln002"]
        .into_iter()
        .map(|n| (n, "nfs1"))
        .collect();
    let scripts_of = |node: &str| match node {
        "cn001" => NodeScripts {
            prescripts_end: "diskless:syncaixres|remove:syncaixres".into(),
            postscripts: "syslog,redirectps,,otherpkgs".into(),
        },
        "cn002" | "cn003" => NodeScripts {
            prescripts_end: "diskless:other".into(),
            postscripts: "syslog,,".into(),
        },
        "ln001" => NodeScripts {
            prescripts_end: "syncstatelite".into(),
            postscripts: String::new(),
        },
        _ => NodeScripts::default(),
    };
    let run = |configs: &BTreeMap<String, ServerConfig>| {
        let mut f = Findings::default();
        setup(&nodes, &server_of, configs, &scripts_of, &mut f);
        found(f)
    };
    let got = run(&configs("ganesha"));
    let by_fix: BTreeMap<&str, &Vec<String>> = got.iter().map(|p| (p.3.as_str(), &p.1)).collect();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.iter().all(|p| p.0 == "xcat-setup"));
    assert_eq!(
        by_fix["chdef -t node -o cn002-cn003 -p prescripts-end='diskless:syncaixres|remove:syncaixres'"],
        &names(&["cn002", "cn003"])
    );
    assert_eq!(
        by_fix["chdef -t node -o cn002 -p postscripts=redirectps"],
        &names(&["cn002"])
    );
    assert_eq!(
        by_fix["chdef -t node -o ln002 -p prescripts-end=syncstatelite"],
        &names(&["ln002"])
    );
    // Paging not synced to the server: it stays on the SN by design, redirectps is moot.
    let mut off = configs("ganesha");
    off.get_mut("nfs1").unwrap().paging = PagingMode::Off;
    assert!(run(&off).iter().all(|p| !p.3.contains("redirectps")));
}

#[test]
fn a_litefile_row_is_removed_with_both_keys_in_one_chtab_argument() {
    assert_eq!(
        remove_litefile_row("lite8", "/etc/chrony.conf"),
        "chtab -d image=lite8,file=/etc/chrony.conf litefile"
    );
    // Quoted for the shell the admin pastes it into.
    assert_eq!(
        remove_litefile_row("lite 8", "/etc/my file"),
        "chtab -d 'image=lite 8,file=/etc/my file' litefile"
    );
    // chtab would split these keys wrongly, or delete the rows of every image.
    for (image, file) in [
        ("", "/etc/motd"),
        ("lite8", "/etc/a,b"),
        ("lite8", "/etc/a=b"),
    ] {
        let fix = remove_litefile_row(image, file);
        assert!(fix.starts_with("tabedit litefile"), "{fix}");
        assert!(fix.contains(&format!("`{file}`")), "{fix}");
    }
}
