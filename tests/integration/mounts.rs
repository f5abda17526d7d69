//! `extnfs mounts` on the bundled example: Linux statelite nodes (NFS root and RAMdisk) beside
//! AIX diskless nodes, one line per node and mount, and bad input reported per node.

use crate::support::{example_db, fixtures_bin, root, Run};

#[test]
fn linux_statelite_nodes_in_noderange_order_and_mount_order() {
    let mut run = Run::extnfs(["mounts", "--db", &example_db(), "ln004,ln001"]).success();
    assert_eq!(
        run.stdout_text(),
        "ln001: rootimg nfs1:/install/netboot/rhels8.6/x86_64/compute/rootimg ro\n\
         ln001: statemnt nfs1:/install/nodedata rw\n\
         ln001: litetree nfs1:/install/litetree/site ro\n\
         ln001: litetree nfs1:/install/litetree/nodes/ln001 ro\n\
         ln004: statemnt nfs1:/install/nodedata rw\n\
         ln004: litetree nfs1:/install/litetree/nodes/ln004 ro\n\
         ln004: litetree nfs1:/install/litetree/ramdisk ro\n"
    );
    assert!(run.stderr_text().contains("ln004: note: RAMdisk image"));
}

#[test]
fn aix_nodes_from_nim_beside_linux_ones_and_json() {
    let lsnim = root().join("examples/cluster/sn1/lsnim.db");
    Run::extnfs(["mounts", "--db", &example_db(), "cn003,ln002"])
        .path_first(&fixtures_bin())
        .env("LSNIM_DB", &lsnim)
        .success()
        .stdout(
            "cn003: shared_root nfs1:/install/nim/shared_root/71Bsr_shared_root ro\n\
             cn003: spot nfs1:/install/nim/spot/71Bcosi/usr ro\n\
             cn003: paging nfs1:/install/nim/paging/71Bsr_paging/cn003 rw\n\
             ln002: rootimg nfs1:/install/netboot/rhels8.6/x86_64/compute/rootimg ro\n\
             ln002: statemnt nfs1:/install/nodedata rw\n\
             ln002: litetree nfs1:/install/litetree/site ro\n\
             ln002: litetree nfs1:/install/litetree/nodes/ln002 ro\n",
        );
    let mut run =
        Run::extnfs(["mounts", "--db", &example_db(), "--format", "json", "ln001"]).success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout_text()).unwrap();
    let node = &v["nodes"][0];
    assert_eq!(node["mounts"][0]["kind"], "rootimg");
    assert_eq!(node["mounts"][0]["root"], true);
    assert_eq!(node["statemnt"]["node_dir"], "/install/nodedata/ln001");
    assert!(node["litefile"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "/etc/mtab" && f["options"] == "link"));
}

#[test]
fn a_bad_node_fails_with_its_table_and_value_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(example_db()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let sl = "#node,image,statemnt,mntopts,comments,disable\n\
              \"linux\",,\"$noderes.nfsserver:/install/nodedata\",,,\n\
              \"ln002\",,\"nfs1:/d/#CMD=hostname#/$node\",,,\n";
    std::fs::write(dir.path().join("statelite.csv"), sl).unwrap();
    let db = dir.path().display().to_string();
    let mut run = Run::extnfs(["mounts", "--db", &db, "ln001,ln002"]).code(1);
    assert!(run.stdout_text().starts_with("ln001: rootimg "));
    let err = run.stderr_text();
    assert!(
        err.contains("ln002: error: statelite.statemnt: `nfs1:/d/#CMD=hostname#/$node`")
            && err.contains("not evaluated"),
        "{err}"
    );
}
