//! `extnfs nodels` on the bundled example database, read from a dumpxCATdb directory and
//! through a `tabdump` on PATH, with xCAT's output forms and its errors.

use crate::support::{example_db, fixtures_bin, Run};

#[test]
fn lists_nodes_of_a_noderange_sorted() {
    Run::extnfs([
        "nodels",
        "--db",
        &example_db(),
        "cn003,sn1nodes,-cn002,cn001",
    ])
    .success()
    .stdout("cn001\ncn003\ncn004\ncn010\n");
}

#[test]
fn one_attribute_is_terse_like_xcat() {
    Run::extnfs([
        "nodels",
        "--db",
        &example_db(),
        "cn001,cn010",
        "noderes.nfsserver",
    ])
    .success()
    .stdout("cn001: nfs1\ncn010: <xcatmaster>\n");
}

#[test]
fn several_attributes_are_labelled_and_unset_is_empty() {
    Run::extnfs([
        "nodels",
        "--db",
        &example_db(),
        "cn003",
        "nodetype.provmethod",
        "nodetype.profile",
        "noderes.servicenode",
    ])
    .success()
    .stdout(
        "cn003: nodetype.provmethod: \n\
         cn003: nodetype.profile: 71Bsr\n\
         cn003: noderes.servicenode: sn1\n",
    );
    Run::extnfs(["nodels", "-H", "--db", &example_db(), "cn005", "hosts.ip"])
        .success()
        .stdout("cn005: hosts.ip: 10.1.1.5\n");
}

#[test]
fn reads_through_tabdump_on_path() {
    Run::extnfs(["nodels", "sn2nodes@cosi", "groups"])
        .path_first(&fixtures_bin())
        .env("TABDUMP_DB", example_db())
        .success()
        .stdout("cn005: compute,aix,cosi,sn2nodes\ncn006: compute,aix,cosi,sn2nodes\n");
}

#[test]
fn tabdump_failure_is_reported_with_its_stderr() {
    Run::extnfs(["nodels", "all"])
        .path_first(&fixtures_bin())
        .env("TABDUMP_DB", example_db())
        .env("TABDUMP_FAIL", "1")
        .code(2)
        .stderr_has("Connection refused");
}

#[test]
fn bad_input_is_a_clear_error_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(example_db()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let db = dir.path().to_str().unwrap().to_string();
    Run::extnfs(["nodels", "--db", &db, "cn001,cn404,rack9"])
        .code(2)
        .stderr_has("invalid nodes and/or groups in noderange: cn404,rack9");
    Run::extnfs(["nodels", "--db", &db, "cn001", "noderes.nfsservr"])
        .code(2)
        .stderr_has("table noderes has no column `nfsservr`");
    Run::extnfs(["nodels", "--db", &db, "cn001", "nodehm.mgt"])
        .code(2)
        .stderr_has("table nodehm does not exist");
    std::fs::write(
        dir.path().join("noderes.csv"),
        "#node,nfsserver,comments,disable\n\"aix\",\"|cn(\\d+|x|\",,\n",
    )
    .unwrap();
    Run::extnfs(["nodels", "--db", &db, "cn001", "noderes.nfsserver"])
        .code(2)
        .stderr_has("node cn001: noderes.nfsserver = `|cn(\\d+|x|`: pattern");
    std::fs::write(
        dir.path().join("noderes.csv"),
        "#node,nfsserver,comments,disable\n\"aix\",\"nfs1\",\"unclosed,\n",
    )
    .unwrap();
    Run::extnfs(["nodels", "--db", &db, "cn001", "noderes.nfsserver"])
        .code(2)
        .stderr_has("noderes.csv): line 2: quoted value is never closed");
}
