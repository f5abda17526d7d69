//! The plan against the example cluster's Linux statelite nodes, with made-up host facts.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::mounts;
use crate::xcat::{Db, Resolver, Source};

/// Directories and files this host has, and its mount points.
#[derive(Default)]
struct Fake {
    dirs: BTreeSet<String>,
    files: BTreeSet<String>,
    mounts: Vec<String>,
    nfs_install: bool,
}

impl Facts for Fake {
    fn dir(&self, path: &str) -> DirState {
        match self.dirs.contains(path) {
            true => DirState::Full,
            false => DirState::Missing,
        }
    }
    fn file(&self, path: &str) -> bool {
        self.files.contains(path)
    }
    fn mounts_inside(&self, path: &str) -> Vec<String> {
        self.mounts
            .iter()
            .filter(|m| m.starts_with(&format!("{path}/")))
            .cloned()
            .collect()
    }
    fn same_files(&self, path: &str, _server: &str) -> bool {
        self.nfs_install && path.starts_with("/install/")
    }
}

const IMG: &str = "/install/netboot/rhels8.6/x86_64/compute";
const RAM: &str = "/install/netboot/rhels8.6/x86_64/ramdisk";

fn good() -> Fake {
    let mut f = Fake::default();
    let root = format!("{IMG}/rootimg");
    f.dirs.extend([
        root.clone(),
        format!("{root}/.statelite"),
        format!("{root}/.default"),
    ]);
    f.dirs.insert("/install/litetree/site".into());
    f.files.insert(format!("{root}/etc/init.d/statelite"));
    f.files.insert(format!("{RAM}/rootimg-statelite.gz"));
    f
}

fn model() -> mounts::Model {
    let db = Db::new(Source::Dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/db"),
    ));
    let r = Resolver::new(&db);
    let nodes: Vec<String> = ["ln001", "ln002", "ln003", "ln004"]
        .map(String::from)
        .to_vec();
    mounts::gather(&r, &nodes, &mounts::Options::default()).unwrap()
}

fn plan_for(m: &mounts::Model, facts: &Fake) -> Plan {
    let targets: Vec<Target<'_>> = m
        .nodes
        .iter()
        .map(|n| Target {
            node: n,
            server: "nfs1".into(),
        })
        .collect();
    plan(&targets, facts, &|a, b| a == b)
}

fn by_label(p: &Plan) -> BTreeMap<String, &Step> {
    p.steps.iter().map(|s| (s.label.clone(), s)).collect()
}

#[test]
fn one_image_copy_for_all_its_nodes_ramdisk_files_statemnt_and_litetrees() {
    let m = model();
    let p = plan_for(&m, &good());
    let steps = by_label(&p);
    let img = steps["rootimg rhels8.6-x86_64-statelite-compute"];
    assert_eq!(img.nodes, ["ln001", "ln002", "ln003"]);
    match &img.kind {
        StepKind::Copy {
            source,
            dest,
            delete,
            lock,
            ..
        } => {
            assert_eq!(source, &format!("{IMG}/rootimg"));
            assert_eq!(dest, &format!("{IMG}/rootimg"));
            assert!(*delete);
            assert_eq!(lock, &format!("{IMG}.extnfs-lock"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(img.publish[0].role, Role::Rootimg);
    match &steps["ramdisk rhels8.6-x86_64-statelite-ramdisk"].kind {
        StepKind::Copy {
            files,
            delete,
            dest,
            ..
        } => {
            assert_eq!(files, &["rootimg-statelite.gz"]);
            assert!(!*delete);
            assert_eq!(dest, RAM);
        }
        other => panic!("{other:?}"),
    }
    match &steps["statemnt"].kind {
        StepKind::Mkdir { dirs } => assert_eq!(dirs, &["/install/nodedata"]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        steps["litetree /install/litetree/site"].kind,
        StepKind::Copy { .. }
    ));
    match &steps["litetree check"].kind {
        StepKind::Check { dirs } => assert_eq!(dirs.len(), 5, "{dirs:?}"),
        other => panic!("{other:?}"),
    }
    assert!(p.findings.iter().all(|f| !f.failure), "{:?}", p.findings);
}

#[test]
fn each_refusal_names_its_reason() {
    let m = model();
    let reason = |f: &Fake| -> String {
        let p = plan_for(&m, f);
        match &by_label(&p)["rootimg rhels8.6-x86_64-statelite-compute"].kind {
            StepKind::Refused { reason } => {
                assert!(p.findings.iter().any(|x| x.failure && x.subject == "ln001"));
                reason.clone()
            }
            other => panic!("{other:?}"),
        }
    };
    assert!(reason(&Fake::default()).contains("does not exist"));
    let mut f = good();
    f.mounts.push(format!("{IMG}/rootimg/proc"));
    assert!(reason(&f).contains("mounted inside"));
    let mut f = good();
    f.files.clear();
    f.dirs.remove(&format!("{IMG}/rootimg/.default"));
    let r = reason(&f);
    assert!(
        r.contains("/etc/init.d/statelite") && r.contains("/.default") && r.contains("shell"),
        "{r}"
    );
    let p = plan_for(&m, &f);
    assert!(matches!(
        by_label(&p)["ramdisk rhels8.6-x86_64-statelite-ramdisk"].kind,
        StepKind::Refused { .. }
    ));
}

#[test]
fn same_files_skip_the_copy_but_not_the_checks() {
    let m = model();
    let mut f = good();
    f.nfs_install = true;
    let p = plan_for(&m, &f);
    let steps = by_label(&p);
    assert!(matches!(
        steps["rootimg rhels8.6-x86_64-statelite-compute"].kind,
        StepKind::SameFiles { .. }
    ));
    assert!(matches!(steps["statemnt"].kind, StepKind::Mkdir { .. }));
    assert!(matches!(
        steps["litefile check"].kind,
        StepKind::Litefile { .. }
    ));
}

#[test]
fn litefile_checks_look_in_the_nodes_litetrees_in_priority_order() {
    let m = model();
    let p = plan_for(&m, &good());
    let StepKind::Litefile { checks } = &by_label(&p)["litefile check"].kind else {
        panic!()
    };
    let c = checks
        .iter()
        .find(|c| c.node == "ln001" && c.file == "/etc/hosts")
        .unwrap();
    assert_eq!(
        c.candidates,
        [
            "/install/litetree/site/etc/hosts",
            "/install/litetree/nodes/ln001/etc/hosts"
        ]
    );
    // /etc/motd (con) is only for the compute image.
    assert!(checks
        .iter()
        .all(|c| !(c.node == "ln004" && c.file == "/etc/motd")));
}

#[test]
fn the_lite_part_alone_gives_aix_nodes_their_own_roles() {
    let m = model();
    let mut aix = m.nodes[0].clone();
    aix.node = "cn003".into();
    aix.os = crate::mounts::Os::Aix;
    aix.linux = None;
    let nodes = [m.nodes[0].clone(), aix];
    let targets: Vec<Target<'_>> = nodes
        .iter()
        .map(|n| Target {
            node: n,
            server: "nfs1".into(),
        })
        .collect();
    let p = plan_lite(&targets, &good(), &|a, b| a == b);
    assert!(
        p.steps.iter().all(|s| !s.label.starts_with("rootimg")),
        "no image in the lite part: {:?}",
        p.steps
    );
    let steps = by_label(&p);
    let statemnt = steps["statemnt"];
    assert_eq!(statemnt.nodes, ["cn003", "ln001"]);
    let roles: Vec<(Role, Vec<String>)> = statemnt
        .publish
        .iter()
        .map(|p| (p.role, p.clients.clone()))
        .collect();
    assert_eq!(
        roles,
        [
            (Role::Statemnt, vec!["ln001".to_string()]),
            (Role::AixStatemnt, vec!["cn003".to_string()])
        ]
    );
    let site = steps["litetree /install/litetree/site"];
    let roles: BTreeSet<Role> = site.publish.iter().map(|p| p.role).collect();
    assert_eq!(roles, BTreeSet::from([Role::Litetree, Role::AixLitetree]));
    let f = Finding {
        subject: "cn003".into(),
        message: "m".into(),
        failure: false,
    };
    assert_eq!(f.line(), "cn003: warning: m");
}
