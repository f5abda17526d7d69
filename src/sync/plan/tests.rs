use std::collections::BTreeSet;

use super::*;
use crate::config::Config;
use crate::sync::inventory::Resource;

/// The SN's files, as planning sees them.
#[derive(Default)]
struct Files {
    full: BTreeSet<String>,
    empty: BTreeSet<String>,
    files: BTreeSet<String>,
}

impl Facts for Files {
    fn dir(&self, path: &str) -> DirState {
        if self.full.contains(path) {
            DirState::Full
        } else if self.empty.contains(path) {
            DirState::Empty
        } else {
            DirState::Missing
        }
    }
    fn file(&self, path: &str) -> bool {
        self.files.contains(path)
    }
    fn names(&self, path: &str) -> Vec<String> {
        let prefix = format!("{path}/");
        let all = self.full.iter().chain(&self.empty).chain(&self.files);
        all.filter_map(|p| p.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(String::from)
            .collect()
    }
}

const SPOT: &str = "/install/nim/spot/71Bcosi/usr";
const ROOT: &str = "/install/nim/root/71Bcosi_root";
const SR: &str = "/install/nim/shared_root/71Bsr_shared_root";
const PAGING: &str = "/install/nim/paging/71Bcosi_paging";

fn res(name: &str, location: &str) -> Resource {
    Resource {
        name: name.into(),
        location: location.into(),
    }
}

fn target(node: &str, shared: bool) -> Target {
    Target {
        node: node.into(),
        nim: node.into(),
        image: if shared { "71Bsr" } else { "71Bcosi" }.into(),
        server: "nfs1".into(),
        ip: None,
        spot: res("71Bcosi", SPOT),
        root: if shared {
            RootKind::Shared(res("71Bsr_shared_root", SR))
        } else {
            RootKind::Own(res("71Bcosi_root", ROOT))
        },
        paging: Some(res("71Bcosi_paging", PAGING)),
        dump: None,
    }
}

fn complete(nodes: &[&str]) -> Files {
    let mut f = Files::default();
    f.full.extend([SPOT.to_string(), SR.to_string()]);
    for n in nodes {
        f.full.insert(format!("{ROOT}/{n}"));
        f.full.insert(format!("{PAGING}/{n}"));
        f.files.insert(format!("{SR}/etc/.client_data/hosts.{n}"));
    }
    f
}

/// The one server nfs1 as `config` sets it, reached over `ssh`.
fn servers(config: &Config) -> Servers {
    let config = config.server("nfs1");
    let server = Server {
        name: "nfs1".into(),
        remote: crate::remote::Remote::with_rsh(&config, Some("ssh")).unwrap(),
        address: crate::sync::servers::ServerAddress {
            host: "nfs1".into(),
            ip: "10.0.0.1".into(),
        },
        config,
    };
    [("nfs1".to_string(), server)].into()
}

fn plan(targets: &[Target], files: &Files, config: &str) -> Plan {
    let config = Config::parse(config, std::path::Path::new("t")).unwrap();
    plan_sync(targets, files, &servers(&config), "/install")
}

fn rsync(step: &Step) -> &Job {
    match &step.kind {
        StepKind::Rsync(j) => j,
        other => panic!("not an rsync step: {other:?}"),
    }
}

#[test]
fn one_step_per_resource_whatever_the_node_count() {
    let nodes: Vec<String> = (1..=500).map(|i| format!("cn{i:03}")).collect();
    let names: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let targets: Vec<Target> = names.iter().map(|n| target(n, false)).collect();
    let p = plan(&targets, &complete(&names), "");
    let labels: Vec<&str> = p.steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["spot 71Bcosi", "root 71Bcosi_root", "paging 71Bcosi_paging"]
    );
    assert!(p.failed.is_empty());
    let root = rsync(&p.steps[1]);
    // The nodes' directories as a list rsync looks up, no rule per node (see `Job::only`).
    assert!(root.rules.is_empty(), "{:?}", root.rules);
    let only = root.only.as_deref().unwrap();
    assert_eq!(only.len(), 500);
    assert_eq!((&*only[0], &*only[499]), ("cn001/", "cn500/"));
    assert!(root.delete);
}

#[test]
fn spot_is_whole_tree_with_delete_and_temp_dir_outside() {
    let p = plan(&[target("cn001", false)], &complete(&["cn001"]), "");
    let spot = rsync(&p.steps[0]);
    assert!(spot.delete && spot.rules.is_empty());
    assert_eq!(spot.source, SPOT);
    assert_eq!(spot.dest, format!("nfs1:{SPOT}"));
    assert_eq!(spot.temp_dir.as_deref(), Some("/install/.xcat-extnfs.tmp"));
    assert!(!spot
        .temp_dir
        .as_deref()
        .unwrap()
        .starts_with("/install/nim/"));
}

#[test]
fn missing_or_empty_sources_are_never_synced_with_delete() {
    let mut files = complete(&["cn001", "cn002"]);
    files.full.remove(SPOT);
    files.empty.insert(SPOT.to_string());
    files.full.remove(&format!("{ROOT}/cn002"));
    let p = plan(
        &[target("cn001", false), target("cn002", false)],
        &files,
        "",
    );
    assert!(matches!(&p.steps[0].kind, StepKind::Refused { reason } if reason.contains("empty")));
    let root = rsync(&p.steps[1]);
    // cn002's directory is not listed, so the server's copy is not touched.
    assert_eq!(root.only.as_deref().unwrap(), ["cn001/"]);
    let failed: Vec<&str> = p.failed.iter().map(|f| f.node.as_str()).collect();
    assert_eq!(failed, ["cn001", "cn002", "cn002"]);
}

#[test]
fn shared_root_protects_other_sns_client_data() {
    let mut files = complete(&["cn003", "cn004"]);
    for other in ["resolv.conf.cn003", "hosts.cn099", "hosts.xcn003"] {
        files.files.insert(format!("{SR}/etc/.client_data/{other}"));
    }
    let p = plan(&[target("cn003", true), target("cn004", true)], &files, "");
    let sr = p.steps.iter().find(|s| s.role == Role::SharedRoot).unwrap();
    let job = rsync(sr);
    assert!(job.delete && job.only.is_none());
    assert_eq!(
        job.rules,
        [
            "- /etc/.client_data/*",
            "- /etc/.client_data_bkup/",
            "- /*_71Bsr/",
        ]
    );
    let need = |path: String, nodes: &[&str]| crate::sync::step::Need {
        path,
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
    };
    assert_eq!(sr.needs, [need(SR.to_string(), &["cn003", "cn004"])]);
    // The nodes' own files, listed, another SN's left out, without deletion.
    let cd = p
        .steps
        .iter()
        .find(|s| s.label == "client_data 71Bsr_shared_root");
    let cd = cd.expect("a client_data step");
    let job = rsync(cd);
    assert!(!job.delete && job.rules.is_empty());
    assert_eq!(
        job.only.as_deref().unwrap(),
        [
            "etc/.client_data/hosts.cn003",
            "etc/.client_data/hosts.cn004",
            "etc/.client_data/resolv.conf.cn003",
        ]
    );
    assert_eq!(
        cd.needs,
        [
            need(format!("{SR}/etc/.client_data/hosts.cn003"), &["cn003"]),
            need(format!("{SR}/etc/.client_data/hosts.cn004"), &["cn004"]),
        ]
    );
    assert!(cd.covers.is_empty(), "the tree's step publishes the export");
}

#[test]
fn client_files_that_cannot_be_listed_fail_their_nodes_and_copy_nothing() {
    /// The hosts files are there, but the directory listing comes back empty.
    struct Unlisted(Files);
    impl Facts for Unlisted {
        fn dir(&self, path: &str) -> DirState {
            self.0.dir(path)
        }
        fn file(&self, path: &str) -> bool {
            self.0.file(path)
        }
        fn names(&self, _: &str) -> Vec<String> {
            Vec::new()
        }
    }
    let files = Unlisted(complete(&["cn003"]));
    let config = Config::parse("", std::path::Path::new("t")).unwrap();
    let p = plan_sync(
        &[target("cn003", true)],
        &files,
        &servers(&config),
        "/install",
    );
    assert!(p.steps.iter().all(|s| !s.label.starts_with("client_data")));
    let failed: Vec<(&str, &str)> = p
        .failed
        .iter()
        .map(|f| (f.node.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].1.contains("cannot be listed"), "{failed:?}");
}

#[test]
fn client_files_are_told_by_what_follows_a_dot() {
    let names: Vec<&str> = client_of("resolv.conf.cn003").collect();
    assert_eq!(names, ["conf.cn003", "cn003"]);
    assert_eq!(client_of("nodot").count(), 0);
}

#[test]
fn paging_keeps_holes_and_never_rewrites_files_in_use() {
    let p = plan(
        &[target("cn001", false)],
        &complete(&["cn001"]),
        "[defaults]\npaging = \"sync\"\n",
    );
    let paging = rsync(p.steps.iter().find(|s| s.role == Role::Paging).unwrap());
    assert!(paging.sparse && paging.size_only && !paging.delete);
    assert_eq!(paging.only.as_deref().unwrap(), ["cn001/"]);
    assert!(paging.rules.is_empty());
    // The default allocates.
    let p = plan(&[target("cn001", false)], &complete(&["cn001"]), "");
    let step = p.steps.iter().find(|s| s.role == Role::Paging).unwrap();
    assert!(
        matches!(&step.kind, StepKind::Allocate { dirs } if dirs == &[format!("{PAGING}/cn001")])
    );
    let p = plan(
        &[target("cn001", false)],
        &complete(&["cn001"]),
        "[defaults]\npaging = \"off\"\n",
    );
    assert!(p.steps.iter().all(|s| s.role != Role::Paging));
}

#[test]
fn dump_only_when_configured_and_empty_dumps_are_fine() {
    let mut t = target("cn001", false);
    t.dump = Some(res("71Bcosi_dump", "/install/nim/dump/71Bcosi_dump"));
    let mut files = complete(&["cn001"]);
    assert!(plan(&[t.clone()], &files, "")
        .steps
        .iter()
        .all(|s| s.role != Role::Dump));
    files
        .empty
        .insert("/install/nim/dump/71Bcosi_dump/cn001".into());
    let p = plan(&[t.clone()], &files, "[defaults]\ndump = true\n");
    assert!(p.steps.iter().all(|s| s.role != Role::Dump) && p.failed.is_empty());
    files
        .full
        .insert("/install/nim/dump/71Bcosi_dump/cn001".into());
    let p = plan(&[t], &files, "[defaults]\ndump = true\n");
    assert_eq!(
        rsync(p.steps.iter().find(|s| s.role == Role::Dump).unwrap())
            .only
            .as_deref()
            .unwrap(),
        ["cn001/"]
    );
}

#[test]
fn removal_covers_both_client_names_and_only_this_node() {
    let p = plan_remove(
        &[target("cn001", false), target("cn003", true)],
        &servers(&Config::default()),
    );
    let StepKind::Remove { entries } = &p.steps[0].kind else {
        panic!()
    };
    assert!(entries.contains(&RemoveEntry::Dir(format!("{ROOT}/cn001"))));
    assert!(entries.contains(&RemoveEntry::Dir(format!("{ROOT}/cn001_71Bcosi"))));
    assert!(entries.contains(&RemoveEntry::Files {
        dir: format!("{SR}/etc/.client_data"),
        suffix: "cn003".into()
    }));
    assert!(entries.contains(&RemoveEntry::Dir(format!("{PAGING}/cn003_71Bsr"))));
    assert!(entries.iter().all(|e| match e {
        RemoveEntry::Dir(d) =>
            d.ends_with("/cn001") || d.contains("/cn001_") || d.contains("/cn003"),
        RemoveEntry::Files { suffix, .. } => suffix.starts_with("cn003"),
    }));
}

#[test]
fn wildcards_in_names_are_escaped() {
    assert_eq!(escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
}

#[test]
fn steps_cover_the_paths_their_nodes_mount() {
    let p = plan(
        &[target("cn001", false), target("cn002", false)],
        &complete(&["cn001", "cn002"]),
        "",
    );
    let spot = p.steps.iter().find(|s| s.role == Role::Spot).unwrap();
    assert_eq!(
        spot.covers,
        [Published {
            path: SPOT.into(),
            role: Role::Spot,
            clients: vec!["cn001".into(), "cn002".into()],
        }]
    );
    let root = p.steps.iter().find(|s| s.role == Role::Root).unwrap();
    let paths: Vec<(&str, &[String])> = root
        .covers
        .iter()
        .map(|c| (c.path.as_str(), c.clients.as_slice()))
        .collect();
    assert_eq!(
        paths,
        [
            (format!("{ROOT}/cn001").as_str(), &["cn001".to_string()][..]),
            (format!("{ROOT}/cn002").as_str(), &["cn002".to_string()][..]),
        ]
    );
    let removal = plan_remove(&[target("cn001", false)], &servers(&Config::default()));
    assert!(removal.steps.iter().all(|s| s.covers.is_empty()));
}
